/**
 * What API Gateway itself answers and logs for the platform's API: its own errors as JSON with the request id, and
 * one JSON access log line per request.
 */
import * as apigw from 'aws-cdk-lib/aws-apigateway';
import { gatewayErrorTemplate } from './api-templates';

/** Gateway responses (errors raised by API Gateway itself) and the status each answers with. */
const GATEWAY_RESPONSES: readonly [string, apigw.ResponseType, string | undefined][] = [
  ['BadRequestBody', apigw.ResponseType.BAD_REQUEST_BODY, '400'],
  ['BadRequestParameters', apigw.ResponseType.BAD_REQUEST_PARAMETERS, '400'],
  ['Unauthorized', apigw.ResponseType.UNAUTHORIZED, '401'],
  ['AccessDenied', apigw.ResponseType.ACCESS_DENIED, '403'],
  ['MissingAuthenticationToken', apigw.ResponseType.MISSING_AUTHENTICATION_TOKEN, '403'],
  ['WafFiltered', apigw.ResponseType.WAF_FILTERED, '403'],
  ['ResourceNotFound', apigw.ResponseType.RESOURCE_NOT_FOUND, '404'],
  ['RequestTooLarge', apigw.ResponseType.REQUEST_TOO_LARGE, '413'],
  ['UnsupportedMediaType', apigw.ResponseType.UNSUPPORTED_MEDIA_TYPE, '415'],
  ['Throttled', apigw.ResponseType.THROTTLED, '429'],
  ['QuotaExceeded', apigw.ResponseType.QUOTA_EXCEEDED, '429'],
  ['IntegrationTimeout', apigw.ResponseType.INTEGRATION_TIMEOUT, '504'],
  // The defaults keep the status API Gateway chose; they only make the body JSON with the request id.
  ['Default4xx', apigw.ResponseType.DEFAULT_4XX, undefined],
  ['Default5xx', apigw.ResponseType.DEFAULT_5XX, undefined],
];

/** Answers every gateway response of GATEWAY_RESPONSES with the JSON error body (gateway-error.vtl). */
export function addJsonGatewayResponses(api: apigw.RestApi): void {
  for (const [responseId, type, statusCode] of GATEWAY_RESPONSES) {
    api.addGatewayResponse(responseId, {
      type,
      statusCode,
      templates: { 'application/json': gatewayErrorTemplate() },
    });
  }
}

/** One JSON line per request: who, what, how it ended, and why when it failed. */
export function accessLogFormat(): apigw.AccessLogFormat {
  const field = apigw.AccessLogField;
  return apigw.AccessLogFormat.custom(
    JSON.stringify({
      requestId: field.contextRequestId(),
      extendedRequestId: field.contextExtendedRequestId(),
      requestTime: field.contextRequestTime(),
      ip: field.contextIdentitySourceIp(),
      userAgent: field.contextIdentityUserAgent(),
      caller: field.contextIdentityCaller(),
      user: field.contextIdentityUser(),
      principalId: field.contextAuthorizerPrincipalId(),
      httpMethod: field.contextHttpMethod(),
      resourcePath: field.contextResourcePath(),
      path: field.contextPath(),
      status: field.contextStatus(),
      protocol: field.contextProtocol(),
      responseLength: field.contextResponseLength(),
      responseLatency: field.contextResponseLatency(),
      integrationStatus: field.contextIntegrationStatus(),
      integrationLatency: field.contextIntegrationLatency(),
      errorType: field.contextErrorResponseType(),
      errorMessage: field.contextErrorMessage(),
      authorizerError: field.contextAuthorizerError(),
      wafStatus: field.contextWafStatus(),
      xrayTraceId: field.contextXrayTraceId(),
    }),
  );
}
