/**
 * Export worker (SQS): parse each message -> write the CSV (process-job.ts) -> report the messages to redeliver.
 * Batch item failures mean one failing job never makes the others of the batch run again.
 */
import type { SQSBatchResponse, SQSEvent } from 'aws-lambda';
import { ExportJobs } from '../api-shared/export-jobs';
import { exportMessageSchema } from '../api-shared/contract';
import { parseMartTables } from '../api-shared/marts';
import { DynamoDbDocumentClient } from '../shared/aws/dynamodb';
import { RdsDataClient } from '../shared/aws/rds-data';
import { S3Client } from '@aws-sdk/client-s3';
import { requireEnv } from '../shared/env';
import { martTargetFromEnv } from '../shared/mart-connection';
import { logger, metrics, withLambdaContext } from '../shared/logger';
import { DataApiExecutor } from '../shared/sql-data-api';
import { processJob, type WorkerDependencies } from './process-job';
import { EXPORT_WORKER_ENV } from './contract';

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
    jobs: new ExportJobs(new DynamoDbDocumentClient(), requireEnv(EXPORT_WORKER_ENV.exportsTable)),
    // The reader login: SELECT on mart.* is all it may do.
    executor: new DataApiExecutor(new RdsDataClient(), martTargetFromEnv()),
    tables: parseMartTables(requireEnv(EXPORT_WORKER_ENV.martTables)),
    target: {
      s3: new S3Client(),
      bucket: requireEnv(EXPORT_WORKER_ENV.artifactsBucket),
      kmsKeyArn: requireEnv(EXPORT_WORKER_ENV.kmsKeyArn),
    },
    pageRows: Number(requireEnv(EXPORT_WORKER_ENV.exportPageRows)),
  }),
);
