/**
 * load-mart: the state machine's "load data mart" task. Parse the input -> list the batch's part files -> load them
 * into the dataset's mart table through the Data API (Aurora imports the files from S3 itself) -> counts.
 * Input, output and errors: ./contract.ts.
 */
import { MetricUnit } from '@aws-lambda-powertools/metrics';
import { martBatchPrefix } from '../batch/contract';
import { RdsDataClient } from '../shared/aws/rds-data';
import { S3Client } from '@aws-sdk/client-s3';
import { requireEnv } from '../shared/env';
import { InvalidInputError } from '../shared/errors';
import { parseEvent } from '../shared/parse-event';
import { logger, metrics, withLambdaContext } from '../shared/logger';
import { martTargetFromEnv } from '../shared/mart-connection';
import { MART_LOAD_METRICS } from '../shared/metrics-contract';
import { listPartKeys } from './part-files';
import { LOAD_MART_ENV, type LoadMartInput, type LoadMartOutput, loadMartInputSchema } from './contract';
import { loadBatch, type Stager } from './mart-loader';
import { s3ImportStager } from './s3-import';
import type { SqlExecutor } from '../shared/sql';
import { DataApiExecutor } from '../shared/sql-data-api';
import '../shared/zod-locale';

export interface LoadMartDependencies {
  readonly executor: SqlExecutor;
  readonly s3: S3Client;
  readonly region: string;
  /** dataset -> mart table */
  readonly martTables: Readonly<Record<string, string>>;
  /** How the staging table is filled from the listed part keys. @default - Aurora server-side import from S3 */
  readonly stagerFor?: (input: LoadMartInput, keys: string[]) => Stager;
}

export function createHandler(dependencies: LoadMartDependencies): (event: unknown) => Promise<LoadMartOutput> {
  const stagerFor =
    dependencies.stagerFor ??
    ((input: LoadMartInput, keys: string[]) =>
      s3ImportStager({ bucket: input.bucket, keys, region: dependencies.region }));

  return async (event) => {
    const input = parseEvent(loadMartInputSchema, event, {
      what: 'load-mart input',
      fix: 'pass { dataset, batchId, bucket, prefix: "_mart/<dataset>/batch_id=<batchId>/" }',
    });
    const table = dependencies.martTables[input.dataset];
    if (table === undefined) {
      throw new InvalidInputError(
        `Dataset ${JSON.stringify(input.dataset)} has no mart table (mart-enabled: ${Object.keys(dependencies.martTables).join(', ') || 'none'}). Fix: set "mart": { "enabled": true } in config/datasets/${input.dataset}.json and deploy, or skip the load step for it`,
      );
    }
    const expected = martBatchPrefix(input.dataset, input.batchId);
    if (input.prefix !== expected) {
      throw new InvalidInputError(
        `Prefix ${JSON.stringify(input.prefix)} is not the batch's folder ${expected}. Fix: pass the prefix the curate job wrote for this batch`,
      );
    }
    logger.appendKeys({ dataset: input.dataset, batchId: input.batchId });

    const keys = await listPartKeys(dependencies.s3, input.bucket, input.prefix);
    logger.info('Loading batch', { bucket: input.bucket, prefix: input.prefix, parts: keys.length, table });
    const result = await loadBatch(dependencies.executor, { ...input, table }, stagerFor(input, keys));

    metrics.addDimension('dataset', input.dataset);
    metrics.addMetric(MART_LOAD_METRICS.rowsInserted, MetricUnit.Count, result.rowsInserted);
    metrics.addMetric(MART_LOAD_METRICS.rowsUpdated, MetricUnit.Count, result.rowsUpdated);
    metrics.addMetric('MartRowsUnchanged', MetricUnit.Count, result.rowsUnchanged);
    metrics.publishStoredMetrics();
    logger.info('Loaded batch', { ...result });
    return { dataset: input.dataset, batchId: input.batchId, table, ...result };
  };
}

const martTables = JSON.parse(requireEnv(LOAD_MART_ENV.martTables)) as Record<string, string>;
export const handler = withLambdaContext(
  createHandler({
    // The loader login: INSERT/UPDATE on mart.* and audit.*, DELETE on mart.* (the integration test's cleanup), temp
    // tables, the aws_s3 import; no DDL, no TRUNCATE.
    executor: new DataApiExecutor(new RdsDataClient(), martTargetFromEnv()),
    s3: new S3Client(),
    region: requireEnv('AWS_REGION'),
    martTables,
  }),
);
