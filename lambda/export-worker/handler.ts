/**
 * Export worker (SQS): parse each message -> write the CSV (process-job.ts) -> report the messages to redeliver.
 * Batch item failures mean one failing job never makes the others of the batch run again.
 */
import type { SQSBatchResponse, SQSEvent } from 'aws-lambda';
import { API_ENV } from '../api-shared/env';
import { ExportJobs, exportMessageSchema } from '../api-shared/export-jobs';
import { parseMartTables } from '../api-shared/marts';
import { DynamoDbDocumentClient } from '../shared/aws/dynamodb';
import { RdsDataClient } from '../shared/aws/rds-data';
import { S3Client } from '@aws-sdk/client-s3';
import { requireEnv } from '../shared/env';
import { martTargetFromEnv } from '../shared/mart-connection';
import { logger, metrics, withLambdaContext } from '../shared/logger';
import { DataApiExecutor } from '../shared/sql-data-api';
import { processJob, type WorkerDependencies } from './process-job';

export function createHandler(deps: WorkerDependencies) {
  return async (event: SQSEvent): Promise<SQSBatchResponse> => {
    const batchItemFailures: SQSBatchResponse['batchItemFailures'] = [];
    for (const record of event.Records) {
      let id: string;
      try {
        id = exportMessageSchema.parse(JSON.parse(record.body)).id;
      } catch (error) {
        // It can never succeed, but it is not dropped: failed until it lands in the DLQ, whose alarm gets it looked at.
        logger.error('malformed export message', { messageId: record.messageId, error: error as Error });
        batchItemFailures.push({ itemIdentifier: record.messageId });
        continue;
      }
      try {
        await processJob(deps, id, Number(record.attributes.ApproximateReceiveCount ?? '1'));
      } catch {
        batchItemFailures.push({ itemIdentifier: record.messageId });
      }
    }
    metrics.publishStoredMetrics();
    return { batchItemFailures };
  };
}

export const handler = withLambdaContext(
  createHandler({
    jobs: new ExportJobs(new DynamoDbDocumentClient(), requireEnv(API_ENV.exportsTable)),
    // The reader login: SELECT on mart.* is all it may do.
    executor: new DataApiExecutor(new RdsDataClient(), martTargetFromEnv()),
    tables: parseMartTables(requireEnv(API_ENV.martTables)),
    target: {
      s3: new S3Client(),
      bucket: requireEnv(API_ENV.artifactsBucket),
      kmsKeyArn: requireEnv(API_ENV.kmsKeyArn),
    },
    pageRows: Number(requireEnv(API_ENV.exportPageRows)),
  }),
);
