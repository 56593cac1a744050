/**
 * batch: the Lambda steps of stage B (one loop per dataset, lib/constructs/batch-stage.ts). parse -> decide or record
 * in audit (batches.ts) -> for a batch, write its manifest -> respond. See contract.ts for the actions.
 * A resuming Aurora surfaces as TransientError, which the state machine retries with backoff.
 */
import { MetricUnit } from '@aws-lambda-powertools/metrics';
import type { DatasetConfig } from '../../config/schema';
import { PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { RdsDataClient } from '../shared/aws/rds-data';
import { requireEnv } from '../shared/env';
import { InvalidInputError } from '../shared/errors';
import { parseEvent } from '../shared/parse-event';
import { bundledDatasets, bundledWithoutDatasets } from '../shared/datasets';
import { countPlatformEvent, logger, metrics, recordPlatformGauge, withLambdaContext } from '../shared/logger';
import { PLATFORM_METRICS, STAGE_B_METRICS } from '../shared/metrics-contract';
import { martTargetFromEnv } from '../shared/mart-connection';
import type { SqlExecutor } from '../shared/sql';
import { DataApiExecutor } from '../shared/sql-data-api';
import { batchTimings, oldestStagedAgeSeconds } from './batch-metrics';
import { acquire, acquireOutput, complete, fail } from './batches';
import {
  type AcquireOutput,
  BATCH_ENV,
  type BatchInput,
  type BatchSettings,
  type BatchWork,
  batchInputSchema,
  batchSettingsSchema,
  type CompleteOutput,
  type FailOutput,
  martBatchPrefix,
} from './contract';
import '../shared/zod-locale';

/** Where manifests are written (the S3 seam: tests pass a local S3). */
export interface ManifestStore {
  put(bucket: string, key: string, body: string): Promise<void>;
}

export interface BatchDependencies {
  readonly executor: SqlExecutor;
  readonly manifests: ManifestStore;
  readonly settings: BatchSettings;
  readonly datasets: ReadonlyMap<string, DatasetConfig>;
  readonly artifactsBucket: string;
  readonly curatedBucket: string;
  /** @default - the system clock */
  readonly now?: () => Date;
}

export type BatchOutput = AcquireOutput | CompleteOutput | FailOutput;

export function parseBatchInput(event: unknown): BatchInput {
  return parseEvent(batchInputSchema, event, {
    what: 'batch input',
    fix: 'send the shape of lambda/batch/contract.ts',
  });
}

export function createHandler(deps: BatchDependencies): (event: unknown) => Promise<BatchOutput> {
  const now = deps.now ?? (() => new Date());
  return async (event) => {
    const input = parseBatchInput(event);
    const dataset = deps.datasets.get(input.dataset);
    if (dataset === undefined) {
      throw new InvalidInputError(
        `Unknown dataset ${JSON.stringify(input.dataset)}. Fix: use one of ${[...deps.datasets.keys()].join(', ')}`,
      );
    }
    logger.appendKeys({ dataset: input.dataset, action: input.action, execution: input.executionName });
    metrics.addDimension('dataset', input.dataset);
    try {
      switch (input.action) {
        case 'acquire': {
          const request = { ...input, now: now(), artifactsBucket: deps.artifactsBucket };
          const decision = await acquire(deps.executor, request, deps.settings);
          let work: BatchWork | undefined;
          if (decision.batch) {
            const { batch } = decision;
            // Written before the job starts, on every attempt: the same document each time.
            await deps.manifests.put(deps.artifactsBucket, batch.manifestKey, `${JSON.stringify(batch.manifest)}\n`);
            const prefix = martBatchPrefix(dataset.name, batch.batchId);
            work = {
              batchId: batch.batchId,
              attempt: batch.attempt,
              runCount: batch.runCount,
              stagedBytes: batch.stagedBytes,
              manifestKey: batch.manifestKey,
              martEnabled: dataset.mart.enabled,
              glueArguments: {
                '--dataset': dataset.name,
                '--batch_id': batch.batchId,
                '--manifest_path': `s3://${deps.artifactsBucket}/${batch.manifestKey}`,
                '--mart_path': `s3://${deps.curatedBucket}/${prefix}`,
                '--dataset_config': JSON.stringify(dataset),
              },
              load: { dataset: dataset.name, batchId: batch.batchId, bucket: deps.curatedBucket, prefix },
            };
            metrics.addMetric(
              batch.attempt === 1 ? STAGE_B_METRICS.started : STAGE_B_METRICS.retried,
              MetricUnit.Count,
              1,
            );
            metrics.addMetric('BatchRuns', MetricUnit.Count, batch.runCount);
            metrics.addMetric('BatchStagedBytes', MetricUnit.Bytes, batch.stagedBytes);
          }
          if (decision.abandoned.length > 0) {
            logger.error('batches abandoned after every attempt failed: their runs are FAILED', {
              batches: decision.abandoned,
            });
            metrics.addMetric(STAGE_B_METRICS.abandoned, MetricUnit.Count, decision.abandoned.length);
          }
          // Freshness: the oldest STAGED run of the dataset, per dataset and platform-wide (the alarm's one series).
          const oldestAge = await oldestStagedAgeSeconds(deps.executor, dataset.name, now());
          metrics.addMetric(STAGE_B_METRICS.oldestStagedAge, MetricUnit.Seconds, oldestAge);
          recordPlatformGauge(PLATFORM_METRICS.oldestStagedAge, oldestAge, 'Seconds');
          logger.info('decided', {
            outcome: decision.outcome,
            reason: decision.reason,
            waitSeconds: decision.waitSeconds,
          });
          return acquireOutput(input, decision, work);
        }
        case 'complete': {
          const result = await complete(deps.executor, { ...input, now: now() }, deps.settings);
          logger.info('batch succeeded', { batchId: input.batchId, runs: result.runs });
          metrics.addMetric(STAGE_B_METRICS.succeeded, MetricUnit.Count, 1);
          const timings = result.runs > 0 ? await batchTimings(deps.executor, input.batchId) : undefined;
          if (timings) {
            metrics.addMetric(STAGE_B_METRICS.duration, MetricUnit.Seconds, timings.durationSeconds);
            metrics.addMetric(STAGE_B_METRICS.landingToMart, MetricUnit.Seconds, timings.landingToMartSeconds);
          }
          return result;
        }
        case 'fail': {
          const error = input.cause ? `${input.error}: ${input.cause}` : input.error;
          const result = await fail(deps.executor, { ...input, error, now: now() }, deps.settings);
          logger.error('batch failed', { error: input.error, cause: input.cause?.slice(0, 1000), ...result });
          metrics.addMetric(STAGE_B_METRICS.failed, MetricUnit.Count, 1);
          countPlatformEvent(PLATFORM_METRICS.batchesFailed);
          return result;
        }
      }
    } finally {
      metrics.publishStoredMetrics();
      logger.resetKeys();
    }
  };
}

/** The settings from the environment, with a message naming the variable when they are malformed. */
export function settingsFromEnvironment(env: NodeJS.ProcessEnv = process.env): BatchSettings {
  const text = requireEnv(BATCH_ENV.settings, env);
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch {
    throw new Error(`${BATCH_ENV.settings} is not JSON: ${text.slice(0, 200)}. Fix: redeploy the Orchestration stack`);
  }
  const parsed = batchSettingsSchema.safeParse(raw);
  if (!parsed.success) {
    throw new Error(
      `${BATCH_ENV.settings} is invalid (${parsed.error.issues.map((issue) => `${issue.path.join('.')}: ${issue.message}`).join('; ')}). Fix: redeploy the Orchestration stack`,
    );
  }
  return parsed.data;
}

/** The manifests in S3 (the artifacts bucket), as JSON. */
export function s3ManifestStore(s3: S3Client): ManifestStore {
  return {
    async put(bucket, key, body) {
      await s3.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: body, ContentType: 'application/json' }));
    },
  };
}

const datasets = bundledDatasets();

export const handler = withLambdaContext(
  datasets === undefined
    ? bundledWithoutDatasets('batch')
    : createHandler({
        executor: new DataApiExecutor(new RdsDataClient(), martTargetFromEnv()),
        manifests: s3ManifestStore(new S3Client()),
        settings: settingsFromEnvironment(),
        datasets,
        artifactsBucket: requireEnv(BATCH_ENV.artifactsBucket),
        curatedBucket: requireEnv(BATCH_ENV.curatedBucket),
      }),
);
