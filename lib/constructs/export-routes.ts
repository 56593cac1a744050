import { Duration } from 'aws-cdk-lib';
import * as apigw from 'aws-cdk-lib/aws-apigateway';
import * as lambdaEvents from 'aws-cdk-lib/aws-lambda-event-sources';
import { Construct } from 'constructs';
import type { DatasetConfig } from '../../config/schema';
import { EXPORTS_PREFIX, MAX_EXPORT_FILTERS, martTablesFromDatasets } from '../../lambda/api-shared/contract';
import { EXPORT_REQUEST_ENV } from '../../lambda/export-request/contract';
import { EXPORT_STATUS_ENV } from '../../lambda/export-status/contract';
import { EXPORT_WORKER_ENV } from '../../lambda/export-worker/contract';
import { API_ROUTES } from '../assets/api/routes';
import type { MartAccess } from '../stacks/data-mart-stack';
import { type ApiFunctionSettings, apiFunction } from './api-function';
import type { ExportJobsStore } from './export-jobs';
import type { AddRoute } from './ingestion-routes';
import { martReaderEnvironment } from './mart-routes';
import type { PlatformFunction } from './platform-function';
import type { ZoneBucket } from './zone-bucket';

export interface ExportRoutesProps extends ApiFunctionSettings {
  readonly api: apigw.RestApi;
  /** The `/v1` resource. */
  readonly parent: apigw.Resource;
  /** Every configured dataset: the mart-enabled ones are the exportable tables. */
  readonly datasets: readonly DatasetConfig[];
  /** The job table and queue (stateful: they stay in the stack, whose logical IDs they keep). */
  readonly jobs: ExportJobsStore;
  /** The artifacts bucket: each job writes `exports/<id>.csv` into it. */
  readonly artifacts: ZoneBucket;
  /** The data mart, read by the worker as its reader login. */
  readonly mart: MartAccess;
  /** Lifetime of the presigned download URL a finished job's status returns. */
  readonly downloadUrlExpiry: Duration;
  readonly validator: apigw.IRequestValidator;
  readonly addRoute: AddRoute;
}

/** Days an export job and its status are kept. */
export const EXPORT_RETENTION_DAYS = 7;
/** The worker's timeout; the job queue's visibility timeout must exceed it. */
export const EXPORT_WORKER_TIMEOUT = Duration.minutes(10);
const EXPORT_OBJECTS_REASON =
  'Export files under artifacts/exports/ only: each job writes or reads its own exports/<id>.csv';

/**
 * Export jobs: `POST /v1/exports` records a job in the table and queues it, the worker (SQS event source) writes the
 * mart table's rows as CSV to `artifacts/exports/<id>.csv`, and `GET /v1/exports/{id}` answers the job's status with
 * a presigned download URL once it is done.
 */
export class ExportRoutes extends Construct {
  readonly requestFunction: PlatformFunction;
  readonly statusFunction: PlatformFunction;
  readonly workerFunction: PlatformFunction;

  constructor(scope: Construct, id: string, props: ExportRoutesProps) {
    super(scope, id);
    const { key, logRetentionDays, removalPolicy, artifacts } = props;
    const settings = { key, logRetentionDays, removalPolicy };
    const { table, queue } = props.jobs;

    const request = apiFunction(this, 'ExportRequestFunction', {
      ...settings,
      handlerDir: 'export-request',
      environment: {
        [EXPORT_REQUEST_ENV.exportsTable]: table.tableName,
        [EXPORT_REQUEST_ENV.exportQueueUrl]: queue.queueUrl,
        [EXPORT_REQUEST_ENV.martTables]: JSON.stringify(martTablesFromDatasets(props.datasets)),
        [EXPORT_REQUEST_ENV.exportRetentionDays]: String(EXPORT_RETENTION_DAYS),
      },
    });
    table.grant(request, 'dynamodb:PutItem');
    queue.grant(request, 'sqs:SendMessage');
    // The job table and queue are encrypted with the platform key.
    key.grant(request, 'kms:Decrypt', 'kms:Encrypt', 'kms:GenerateDataKey');
    this.requestFunction = request;

    const status = apiFunction(this, 'ExportStatusFunction', {
      ...settings,
      handlerDir: 'export-status',
      environment: {
        [EXPORT_STATUS_ENV.exportsTable]: table.tableName,
        [EXPORT_STATUS_ENV.artifactsBucket]: artifacts.bucketName,
        [EXPORT_STATUS_ENV.urlExpirySeconds]: String(props.downloadUrlExpiry.toSeconds()),
      },
    });
    table.grant(status, 'dynamodb:GetItem');
    key.grant(status, 'kms:Decrypt');
    artifacts.grantRead(status, `${EXPORTS_PREFIX}*`, EXPORT_OBJECTS_REASON);
    this.statusFunction = status;

    const worker = apiFunction(this, 'ExportWorkerFunction', {
      ...settings,
      handlerDir: 'export-worker',
      environment: {
        ...martReaderEnvironment(props.mart, props.datasets),
        [EXPORT_WORKER_ENV.exportsTable]: table.tableName,
        [EXPORT_WORKER_ENV.artifactsBucket]: artifacts.bucketName,
        [EXPORT_WORKER_ENV.kmsKeyArn]: key.keyArn,
        // The Data API returns at most 1 MB per statement: 1000 rows leaves room for about 1 KB per row.
        [EXPORT_WORKER_ENV.exportPageRows]: '1000',
      },
      timeout: EXPORT_WORKER_TIMEOUT,
      memorySize: 512,
    });
    table.grant(worker, 'dynamodb:GetItem', 'dynamodb:UpdateItem');
    key.grant(worker, 'kms:Decrypt', 'kms:Encrypt', 'kms:GenerateDataKey');
    artifacts.grantWrite(worker, `${EXPORTS_PREFIX}*`, EXPORT_OBJECTS_REASON);
    props.mart.grantDataApi(worker, 'reader');
    worker.addEventSource(new lambdaEvents.SqsEventSource(queue, { batchSize: 1, reportBatchItemFailures: true }));
    this.workerFunction = worker;

    const exportModel = props.api.addModel('ExportRequest', {
      contentType: 'application/json',
      modelName: 'ExportRequest',
      schema: {
        schema: apigw.JsonSchemaVersion.DRAFT4,
        type: apigw.JsonSchemaType.OBJECT,
        required: ['table'],
        properties: {
          table: { type: apigw.JsonSchemaType.STRING, minLength: 1, maxLength: 64 },
          filters: { type: apigw.JsonSchemaType.ARRAY, maxItems: MAX_EXPORT_FILTERS },
          format: { type: apigw.JsonSchemaType.STRING, enum: ['csv'] },
        },
      },
    });
    const exportsResource = props.parent.addResource('exports');
    props.addRoute(exportsResource, new apigw.LambdaIntegration(request), API_ROUTES.requestExport, {
      requestValidator: props.validator,
      requestModels: { 'application/json': exportModel },
    });
    props.addRoute(exportsResource.addResource('{id}'), new apigw.LambdaIntegration(status), API_ROUTES.exportStatus, {
      requestValidator: props.validator,
      requestParameters: { 'method.request.path.id': true },
    });
  }
}
