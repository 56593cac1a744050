/**
 * POST /v1/exports: parse (schema, whitelisted table and filters) -> record the job in DynamoDB and queue it on SQS ->
 * 202 { id, status, statusUrl }. The worker (export-worker) writes the CSV; GET /v1/exports/{id} reports progress.
 */
import type { APIGatewayProxyEvent, APIGatewayProxyResult } from 'aws-lambda';
import { ExportJobs } from '../api-shared/export-jobs';
import { exportRequestSchema } from '../api-shared/contract';
import { callerOf, json, logFailure, parseJsonBody, responseForError } from '../api-shared/http';
import { parseMartTables } from '../api-shared/marts';
import { DynamoDbDocumentClient } from '../shared/aws/dynamodb';
import { SqsClient } from '../shared/aws/sqs';
import { requireEnv } from '../shared/env';
import { logger, metrics, withLambdaContext } from '../shared/logger';
import { type CreateJobDependencies, createExportJob } from './create-job';
import { EXPORT_REQUEST_ENV } from './contract';

export function createHandler(deps: CreateJobDependencies) {
  return async (event: APIGatewayProxyEvent): Promise<APIGatewayProxyResult> => {
    const requestId = event.requestContext.requestId;
    try {
      const request = parseJsonBody(event, exportRequestSchema);
      const job = await createExportJob(deps, request, callerOf(event));
      logger.info('export job queued', { id: job.id, table: job.request.table, filters: job.request.filters.length });
      metrics.addMetric('ExportJobsQueued', 'Count', 1);
      return json(202, { id: job.id, status: job.status, statusUrl: `/v1/exports/${job.id}` });
    } catch (error) {
      logFailure('export request', error, requestId);
      return responseForError(error, requestId);
    } finally {
      metrics.publishStoredMetrics();
    }
  };
}

export const handler = withLambdaContext(
  createHandler({
    jobs: new ExportJobs(new DynamoDbDocumentClient(), requireEnv(EXPORT_REQUEST_ENV.exportsTable)),
    sqs: new SqsClient(),
    queueUrl: requireEnv(EXPORT_REQUEST_ENV.exportQueueUrl),
    tables: parseMartTables(requireEnv(EXPORT_REQUEST_ENV.martTables)),
    retentionDays: Number(requireEnv(EXPORT_REQUEST_ENV.exportRetentionDays)),
  }),
);
