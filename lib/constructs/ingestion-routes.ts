import type { RemovalPolicy } from 'aws-cdk-lib';
import * as apigw from 'aws-cdk-lib/aws-apigateway';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as kms from 'aws-cdk-lib/aws-kms';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import { Construct } from 'constructs';
import { API_ROUTES, type ApiRouteKey } from '../assets/api/routes';
import {
  DOCUMENT_CONTENT_TYPES,
  EVENT_CONTENT_TYPES,
  eventTemplates,
  FIREHOSE_LIMITS,
  objectTemplates,
  unknownDatasetTemplate,
} from './api-templates';
import { type EventBuffering, EventStreams } from './event-streams';
import { ResourceScopedPolicies } from './resource-scoped-policies';
import type { ZoneBucket } from './zone-bucket';

/** Adds the method of a route to `resource` (the stack keeps the route keys: routeThrottling, OpenAPI check). */
export type AddRoute = (
  resource: apigw.Resource,
  integration: apigw.Integration,
  route: ApiRouteKey,
  options: apigw.MethodOptions,
) => apigw.Method;

export interface IngestionRoutesProps {
  readonly api: apigw.RestApi;
  /** The `/v1` resource. */
  readonly parent: apigw.Resource;
  /** `<platformPrefix>-<env>`. */
  readonly prefix: string;
  /** Names of the configured datasets. */
  readonly datasets: readonly string[];
  /** The landing bucket, which the routes write to. */
  readonly landing: ZoneBucket;
  /** The platform key (landing objects, the event streams and their logs). */
  readonly key: kms.IKey;
  readonly validator: apigw.IRequestValidator;
  /** Context variable naming the caller, stored as object metadata (depends on the auth type). */
  readonly callerContextVariable: string;
  /** The function behind `POST /v1/datasets/{dataset}/uploads`; it is allowed to presign landing writes here. */
  readonly uploadUrlFunction: lambda.IFunction;
  readonly eventBuffering: EventBuffering;
  /** Retention of the event streams' delivery logs. */
  readonly logRetentionDays: number;
  readonly removalPolicy: RemovalPolicy;
  readonly addRoute: AddRoute;
}

/** A key segment the landing write role may never write: where the objects route sends unknown datasets. */
const UNKNOWN_DATASET_SEGMENT = '_unknown-dataset';

/**
 * The ingestion routes, shared by every dataset (`{dataset}` is a path parameter checked against the configured
 * datasets, so adding a dataset adds no API Gateway resource or method):
 * - `POST /v1/datasets/{dataset}/objects`: the body, as is, into `landing/<dataset>/ingest_date=<date>/` (S3
 *   integration, no Lambda);
 * - `POST /v1/datasets/{dataset}/events`: JSON object(s) or NDJSON into the dataset's Firehose stream (Firehose
 *   integration, no Lambda), which delivers NDJSON gzip objects into the same landing prefix;
 * - `POST /v1/datasets/{dataset}/uploads`: a presigned URL for files above the API's payload limit;
 * - anything else under `/v1/datasets/{dataset}`: a JSON 404.
 * An unknown dataset gets a JSON 404 naming the configured ones, and nothing is written anywhere.
 */
export class IngestionRoutes extends Construct {
  /** The role API Gateway writes landing objects with. */
  readonly landingWriteRole: iam.Role;
  /** The role API Gateway puts event records with. */
  readonly eventsWriteRole: iam.Role;
  readonly eventStreams: EventStreams;
  /** `s3:PutObject` on `landing/<dataset>/ingest_date=*` of every dataset (the objects role and the upload function). */
  readonly landingWrites: ResourceScopedPolicies;

  constructor(scope: Construct, id: string, props: IngestionRoutesProps) {
    super(scope, id);
    const { datasets, key, landing } = props;
    const datasetResource = props.parent.addResource('datasets').addResource('{dataset}');
    const landingObjects = (pattern: string) => landing.objectsArnIn(this, pattern);

    this.landingWriteRole = new iam.Role(this, 'LandingWriteRole', {
      assumedBy: new iam.ServicePrincipal('apigateway.amazonaws.com'),
      description: 'API Gateway writes ingested documents to landing/<dataset>/ingest_date=*/ and nothing else',
    });
    key.grant(this.landingWriteRole, 'kms:GenerateDataKey', 'kms:Encrypt');
    // The objects route sends unknown datasets here so that S3 refuses them; denied explicitly, whatever else allows
    // (a deny, which no grant writes).
    this.landingWriteRole.addToPolicy(
      new iam.PolicyStatement({
        sid: 'NeverWriteUnknownDatasets',
        effect: iam.Effect.DENY,
        actions: ['s3:PutObject'],
        resources: [landingObjects(`${UNKNOWN_DATASET_SEGMENT}/*`)],
      }),
    );
    key.grant(props.uploadUrlFunction, 'kms:GenerateDataKey');
    this.landingWrites = new ResourceScopedPolicies(this, 'LandingWrites', {
      roles: [this.landingWriteRole, props.uploadUrlFunction.role!],
      actions: ['s3:PutObject'],
      resources: datasets.map((dataset) => landingObjects(`${dataset}/ingest_date=*`)),
      wildcardReason: (resource) =>
        `Objects of one dataset under landing/${resource.split('/')[1]}/ingest_date=*/: each request names a new object`,
    });

    this.addObjectsRoute(datasetResource, props);
    this.addUploadsRoute(datasetResource, props);

    this.eventStreams = new EventStreams(this, 'EventStreams', {
      prefix: props.prefix,
      datasets,
      landing,
      key,
      buffering: props.eventBuffering,
      logRetentionDays: props.logRetentionDays,
      removalPolicy: props.removalPolicy,
    });
    this.eventsWriteRole = new iam.Role(this, 'EventsWriteRole', {
      assumedBy: new iam.ServicePrincipal('apigateway.amazonaws.com'),
      description: 'API Gateway puts event records into the datasets event streams and nothing else',
    });
    this.eventStreams.grantPutRecordBatch(this, 'EventsWrites', this.eventsWriteRole);
    this.addEventsRoute(datasetResource, props);

    this.addFallbackRoutes(datasetResource, props);
  }

  private addObjectsRoute(datasetResource: apigw.Resource, props: IngestionRoutesProps): void {
    const templates = objectTemplates(props.datasets);
    const integration = new apigw.AwsIntegration({
      service: 's3',
      integrationHttpMethod: 'PUT',
      path: `${props.landing.bucketName}/{dataset}/{partition}/{object}`,
      options: {
        credentialsRole: this.landingWriteRole,
        // A content type without a template is refused with 415 instead of being passed through.
        passthroughBehavior: apigw.PassthroughBehavior.NEVER,
        requestParameters: {
          // Placeholders: the request template overrides all three (dataset: a configured name or the unknown
          // segment, never the caller's text as is), partition: the ingest date, object: `<request id>.<ext>`.
          'integration.request.path.dataset': 'context.requestId',
          'integration.request.path.partition': 'context.requestId',
          'integration.request.path.object': 'context.requestId',
          'integration.request.header.Content-Type': 'method.request.header.Content-Type',
          'integration.request.header.x-amz-server-side-encryption': "'aws:kms'",
          'integration.request.header.x-amz-server-side-encryption-aws-kms-key-id': `'${props.key.keyArn}'`,
          'integration.request.header.x-amz-meta-request-id': 'context.requestId',
          'integration.request.header.x-amz-meta-request-time': 'context.requestTime',
          'integration.request.header.x-amz-meta-caller': props.callerContextVariable,
          'integration.request.header.x-amz-meta-content-type': 'method.request.header.Content-Type',
        },
        requestTemplates: Object.fromEntries(
          Object.keys(DOCUMENT_CONTENT_TYPES).map((contentType) => [contentType, templates.request]),
        ),
        integrationResponses: [
          {
            statusCode: '202',
            selectionPattern: '2\\d{2}',
            responseTemplates: { 'application/json': templates.accepted },
          },
          {
            statusCode: '400',
            selectionPattern: '400',
            responseTemplates: { 'application/json': templates.emptyBody },
          },
          {
            // The key of an unknown dataset (404), or a permission problem of the platform (the template: 500).
            statusCode: '404',
            selectionPattern: '403',
            responseTemplates: { 'application/json': templates.denied },
          },
          { statusCode: '500', responseTemplates: { 'application/json': templates.failed } },
        ],
      },
    });
    props.addRoute(datasetResource.addResource('objects'), integration, API_ROUTES.ingestObject, {
      requestValidator: props.validator,
      requestParameters: { 'method.request.path.dataset': true, 'method.request.header.Content-Type': true },
      methodResponses: jsonResponses(['202', '400', '404', '500']),
    });
  }

  private addUploadsRoute(datasetResource: apigw.Resource, props: IngestionRoutesProps): void {
    const uploadModel = props.api.addModel('UploadRequest', {
      contentType: 'application/json',
      modelName: 'UploadRequest',
      schema: {
        schema: apigw.JsonSchemaVersion.DRAFT4,
        type: apigw.JsonSchemaType.OBJECT,
        required: ['contentType', 'contentLength'],
        properties: {
          contentType: { type: apigw.JsonSchemaType.STRING, enum: Object.keys(DOCUMENT_CONTENT_TYPES) },
          // No maximum here: the function's 400 names the configured limit (the gateway's would not).
          contentLength: { type: apigw.JsonSchemaType.INTEGER, minimum: 1 },
          gzip: { type: apigw.JsonSchemaType.BOOLEAN },
        },
      },
    });
    // The function checks the dataset itself (404 naming the configured ones) before presigning anything.
    props.addRoute(
      datasetResource.addResource('uploads'),
      new apigw.LambdaIntegration(props.uploadUrlFunction),
      API_ROUTES.requestUpload,
      {
        requestValidator: props.validator,
        requestParameters: { 'method.request.path.dataset': true },
        requestModels: { 'application/json': uploadModel },
      },
    );
  }

  private addEventsRoute(datasetResource: apigw.Resource, props: IngestionRoutesProps): void {
    const templates = eventTemplates(props.datasets, props.prefix);
    const eventsModel = props.api.addModel('EventsRequest', {
      contentType: 'application/json',
      modelName: 'EventsRequest',
      schema: {
        schema: apigw.JsonSchemaVersion.DRAFT4,
        title: 'One event object, or an array of event objects',
        // The array keywords apply to arrays only: an object passes them.
        type: [apigw.JsonSchemaType.OBJECT, apigw.JsonSchemaType.ARRAY],
        minItems: 1,
        maxItems: FIREHOSE_LIMITS.recordsPerRequest,
        items: { type: apigw.JsonSchemaType.OBJECT },
      },
    });
    const integration = new apigw.AwsIntegration({
      service: 'firehose',
      action: 'PutRecordBatch',
      integrationHttpMethod: 'POST',
      options: {
        credentialsRole: this.eventsWriteRole,
        passthroughBehavior: apigw.PassthroughBehavior.NEVER,
        requestParameters: { 'integration.request.header.Content-Type': "'application/x-amz-json-1.1'" },
        requestTemplates: { ...templates.requests },
        integrationResponses: [
          {
            statusCode: '202',
            selectionPattern: '2\\d{2}',
            responseTemplates: { 'application/json': templates.accepted },
          },
          {
            statusCode: '400',
            selectionPattern: '4\\d{2}',
            responseTemplates: { 'application/json': templates.refused },
          },
          { statusCode: '503', responseTemplates: { 'application/json': templates.failed } },
        ],
      },
    });
    props.addRoute(datasetResource.addResource('events'), integration, API_ROUTES.ingestEvents, {
      requestValidator: props.validator,
      requestParameters: { 'method.request.path.dataset': true, 'method.request.header.Content-Type': true },
      requestModels: { 'application/json': eventsModel },
      methodResponses: jsonResponses(['202', '207', '400', '404', '413', '500', '503']),
    });
  }

  /** Any other method or path under a dataset: a mock 404 (unknown dataset, or no such route of a known one). */
  private addFallbackRoutes(datasetResource: apigw.Resource, props: IngestionRoutesProps): void {
    const contentTypes = new Set<string>([...Object.keys(DOCUMENT_CONTENT_TYPES), ...EVENT_CONTENT_TYPES]);
    const notFound = new apigw.MockIntegration({
      passthroughBehavior: apigw.PassthroughBehavior.NEVER,
      requestTemplates: Object.fromEntries(
        [...contentTypes].map((contentType) => [contentType, '{"statusCode": 404}']),
      ),
      integrationResponses: [
        { statusCode: '404', responseTemplates: { 'application/json': unknownDatasetTemplate(props.datasets) } },
      ],
    });
    const options = { methodResponses: [{ statusCode: '404' }] };
    props.addRoute(datasetResource, notFound, API_ROUTES.datasetFallback, options);
    props.addRoute(datasetResource.addResource('{proxy+}'), notFound, API_ROUTES.datasetPathFallback, options);
  }
}

function jsonResponses(statusCodes: readonly string[]): apigw.MethodResponse[] {
  return statusCodes.map((statusCode) => ({
    statusCode,
    responseModels: { 'application/json': apigw.Model.EMPTY_MODEL },
  }));
}
