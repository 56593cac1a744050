/**
 * Records every final state of the curate Glue job (SUCCEEDED, FAILED, TIMEOUT, STOPPED) in audit.job_runs, linked to
 * the stage B batch through the job run's `--batch_id` argument. parse (zod) -> GetJobRun + upsert -> respond.
 * Invoked asynchronously by EventBridge: a thrown error is retried by Lambda, then lands in the dead-letter queue.
 */
import { countPlatformEvent, logger, metrics, withLambdaContext } from '../shared/logger';
import { JOB_AUDITOR_METRICS, PLATFORM_METRICS } from '../shared/metrics-contract';
import { parseEvent } from '../shared/parse-event';
import { martTargetFromEnv } from '../shared/mart-connection';
import type { SqlExecutor } from '../shared/sql';
import { GlueClient } from './glue';
import { RdsDataClient } from '../shared/aws/rds-data';
import { DataApiExecutor } from '../shared/sql-data-api';
import { type GlueJobStateChange, glueJobStateChangeSchema, BATCH_ID_ARGUMENT } from './contract';
import { recordJobRun } from './job-runs';

export interface JobAuditorDependencies {
  readonly executor: SqlExecutor;
  readonly glue: Pick<GlueClient, 'getJobRun'>;
}

export interface JobAuditorResult {
  readonly jobName: string;
  readonly jobRunId: string;
  readonly state: string;
  readonly batchId: string | null;
}

export function parseJobStateChange(event: unknown): GlueJobStateChange {
  return parseEvent(glueJobStateChangeSchema, event, {
    what: 'final "Glue Job State Change" event',
    fix: "check the Orchestration stack's job state rule pattern",
  });
}

export function createHandler(deps: JobAuditorDependencies) {
  return async (event: unknown): Promise<JobAuditorResult> => {
    const change = parseJobStateChange(event);
    const { jobName, jobRunId, state, message } = change.detail;
    try {
      const { JobRun: jobRun } = await deps.glue.getJobRun({
        JobName: jobName,
        RunId: jobRunId,
        PredecessorsIncluded: false,
      });
      const batchId = jobRun?.Arguments?.[BATCH_ID_ARGUMENT] ?? null;
      await recordJobRun(deps.executor, {
        jobName,
        jobRunId,
        state,
        batchId,
        startedAt: jobRun?.StartedOn ?? null,
        finishedAt: jobRun?.CompletedOn ?? new Date(change.time),
        error: state === 'SUCCEEDED' ? null : (jobRun?.ErrorMessage ?? message ?? null),
      });
      logger.info('job run recorded', { jobName, jobRunId, state, batchId });
      metrics.addMetric(`GlueJobRuns${state[0]}${state.slice(1).toLowerCase()}`, 'Count', 1);
      if (state !== 'SUCCEEDED') countPlatformEvent(PLATFORM_METRICS.glueJobRunsUnsuccessful);
      // What the run is billed for: DPU-seconds as Glue reports them (auto scaling, Flex), else time x capacity.
      const dpuSeconds = jobRun?.DPUSeconds ?? (jobRun?.ExecutionTime ?? 0) * (jobRun?.MaxCapacity ?? 0);
      metrics.addMetric(JOB_AUDITOR_METRICS.dpuSeconds, 'Count', dpuSeconds);
      return { jobName, jobRunId, state, batchId };
    } finally {
      metrics.publishStoredMetrics();
    }
  };
}

// The loader login (mart_loader): INSERT/UPDATE on audit.* (and mart.*), nothing more.
const executor = new DataApiExecutor(new RdsDataClient(), martTargetFromEnv());

export const handler = withLambdaContext(createHandler({ executor, glue: new GlueClient() }));
