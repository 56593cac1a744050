/**
 * POST /v1/datasets/{dataset}/uploads: parse { contentType, contentLength, gzip? } -> presign a write-once PUT of that
 * size into landing -> 201 with the URL and the headers to send. For files above the API's 10 MB payload limit.
 */
import type { APIGatewayProxyEvent, APIGatewayProxyResult } from 'aws-lambda';
import * as z from 'zod/mini';
import { json, logFailure, parseJsonBody, responseForError } from '../api-shared/http';
import { S3Presigner } from '../shared/aws/s3-presign';
import { requireEnv } from '../shared/env';
import { logger, withLambdaContext } from '../shared/logger';
import '../shared/zod-locale';
import { UPLOAD_URL_ENV, uploadRequestSchema } from './contract';
import { type PresignDependencies, presignUpload } from './presign';

export function createHandler(deps: PresignDependencies) {
  return async (event: APIGatewayProxyEvent): Promise<APIGatewayProxyResult> => {
    const requestId = event.requestContext.requestId;
    try {
      const request = parseJsonBody(event, uploadRequestSchema);
      const ticket = await presignUpload(deps, datasetOf(event), request);
      logger.info('upload URL issued', { dataset: ticket.dataset, key: ticket.key });
      return json(201, ticket);
    } catch (error) {
      logFailure('upload URL', error, requestId);
      return responseForError(error, requestId);
    }
  };
}

/** The dataset of the route: one resource (`/v1/datasets/{dataset}/uploads`) serves every dataset. */
export function datasetOf(event: Pick<APIGatewayProxyEvent, 'pathParameters'>): string {
  return event.pathParameters?.dataset ?? '';
}

export const handler = withLambdaContext(
  createHandler({
    s3: new S3Presigner(),
    bucket: requireEnv(UPLOAD_URL_ENV.landingBucket),
    kmsKeyArn: requireEnv(UPLOAD_URL_ENV.kmsKeyArn),
    datasets: z.array(z.string()).parse(JSON.parse(requireEnv(UPLOAD_URL_ENV.datasets))),
    expirySeconds: Number(requireEnv(UPLOAD_URL_ENV.urlExpirySeconds)),
    maxBytes: positiveInteger(UPLOAD_URL_ENV.maxUploadBytes),
  }),
);

/** A whole number > 0 from the environment; anything else is a deployment bug and fails the cold start. */
function positiveInteger(name: string): number {
  const text = requireEnv(name);
  const value = Number(text);
  if (!Number.isSafeInteger(value) || value < 1) {
    throw new Error(
      `${name} must be a whole number of bytes > 0, got ${JSON.stringify(text)}. Fix: redeploy the Api stack`,
    );
  }
  return value;
}
