/**
 * validate: stage A of the data path. An SQS queue receives EventBridge's "Object Created" events of landing; each
 * message is one landed object: claim -> validate -> STAGED (or quarantined) -> its dataset's stage B loop is running
 * (stage-object.ts). Partial batch failures: a message that fails is reported and comes back after its visibility
 * timeout; after the queue's last receive it is dead-lettered (and alarmed), never dropped.
 *
 * The invocation's time is a budget: reading stops `etl.validation.timeBudgetMarginSeconds` before the function would
 * time out, and the file is quarantined with a reason instead of timing out (and coming back, to time out again).
 */
import type { Context, SQSBatchResponse, SQSEvent } from 'aws-lambda';
import { MetricUnit } from '@aws-lambda-powertools/metrics';
import { RdsDataClient } from '../shared/aws/rds-data';
import { S3Client } from '@aws-sdk/client-s3';
import { SfnClient } from '../shared/aws/sfn';
import { requireEnv } from '../shared/env';
import { bundledDatasets, bundledWithoutDatasets } from '../shared/datasets';
import { logger, metrics, withLambdaContext } from '../shared/logger';
import { STAGE_A_OBJECT_METRICS } from '../shared/metrics-contract';
import { martTargetFromEnv } from '../shared/mart-connection';
import { DataApiExecutor } from '../shared/sql-data-api';
import { parseValidationSettings, VALIDATE_ENV, VALIDATION_DEFAULTS } from './contract';
import { S3ObjectStore } from './object-store';
import { type StageObjectDependencies, type StageObjectOutcome, stageObject } from './stage-object';
import { createValidator } from './validate-object';

/** One count per outcome (EMF, dimension service): what the operations dashboard plots. */
export const OUTCOME_METRICS: Readonly<Record<StageObjectOutcome, string>> = {
  STAGED: STAGE_A_OBJECT_METRICS.staged,
  NO_VALID_ROWS: STAGE_A_OBJECT_METRICS.withoutValidRows,
  UNREADABLE: STAGE_A_OBJECT_METRICS.unreadable,
  UNKNOWN_DATASET: 'ObjectsOfUnknownDatasets',
  ALREADY_STAGED: 'ObjectsAlreadyStaged',
  ALREADY_PROCESSED: 'ObjectsAlreadyProcessed',
};

export interface HandlerOptions {
  /** Seconds of the invocation kept to quarantine a file that could not be read in time. @default 60 */
  readonly timeBudgetMarginSeconds?: number;
}

export function createHandler(deps: StageObjectDependencies, options: HandlerOptions = {}) {
  const marginMs = (options.timeBudgetMarginSeconds ?? VALIDATION_DEFAULTS.timeBudgetMarginSeconds) * 1000;
  return async (event: SQSEvent, context?: Pick<Context, 'getRemainingTimeInMillis'>): Promise<SQSBatchResponse> => {
    const failures: SQSBatchResponse['batchItemFailures'] = [];
    for (const record of event.Records) {
      // Taken first for each message: everything after this, parsing included, spends the invocation's time.
      const deadline = context ? new Date(Date.now() + context.getRemainingTimeInMillis() - marginMs) : undefined;
      try {
        const result = await stageObject(deps, JSON.parse(record.body) as unknown, deadline);
        logger.info('object staged', {
          outcome: result.outcome,
          dataset: result.dataset,
          runId: result.runId,
          startedLoop: result.startedLoop,
        });
        metrics.addMetric(OUTCOME_METRICS[result.outcome], MetricUnit.Count, 1);
      } catch (error) {
        logger.error('object not staged; the message will be retried', {
          messageId: record.messageId,
          receiveCount: record.attributes?.ApproximateReceiveCount,
          error: (error as Error).message,
          errorName: (error as Error).name,
        });
        metrics.addMetric(STAGE_A_OBJECT_METRICS.failed, MetricUnit.Count, 1);
        failures.push({ itemIdentifier: record.messageId });
      } finally {
        metrics.publishStoredMetrics();
        logger.resetKeys();
      }
    }
    return { batchItemFailures: failures };
  };
}

const sfn = new SfnClient();
const datasets = bundledDatasets();
const settings = parseValidationSettings(process.env);

export const handler = withLambdaContext(
  datasets === undefined
    ? bundledWithoutDatasets('validate')
    : createHandler(
        {
          executor: new DataApiExecutor(new RdsDataClient(), martTargetFromEnv()),
          validate: createValidator({
            store: new S3ObjectStore(new S3Client()),
            artifactsBucket: requireEnv(VALIDATE_ENV.artifactsBucket),
            datasets,
            settings,
          }),
          datasets,
          startLeaseSeconds: Number(requireEnv(VALIDATE_ENV.startLeaseSeconds)),
          loops: {
            async start(name, input) {
              try {
                await sfn.startExecution({
                  stateMachineArn: requireEnv(VALIDATE_ENV.batchStateMachineArn),
                  name,
                  input,
                });
                return 'started';
              } catch (error) {
                if ((error as Error).name === 'ExecutionAlreadyExists') return 'exists';
                throw error;
              }
            },
          },
        },
        settings,
      ),
);
