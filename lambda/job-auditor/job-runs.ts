/** audit.job_runs: one row per Glue job run, written as the loader login (a member of mart_loader). */
import { MAX_ERROR_LENGTH } from '../audit/runs';
import type { SqlExecutor } from '../shared/sql';

export interface JobRunRecord {
  readonly jobName: string;
  readonly jobRunId: string;
  readonly state: string;
  /** The pipeline run (execution name) that started the job, when the job run says so. */
  readonly pipelineRunId: string | null;
  readonly startedAt: Date | null;
  readonly finishedAt: Date;
  readonly error: string | null;
}

/** Inserts or updates the job run: EventBridge delivers at least once, so the same event may come twice. */
export async function recordJobRun(executor: SqlExecutor, record: JobRunRecord): Promise<void> {
  await executor.query(
    `INSERT INTO audit.job_runs (job_name, job_run_id, pipeline_run_id, state, started_at, finished_at, error)
       VALUES (:jobName, :jobRunId, :pipelineRunId, :state, :startedAt, :finishedAt, :error)
       ON CONFLICT (job_name, job_run_id) DO UPDATE
         SET state = EXCLUDED.state, finished_at = EXCLUDED.finished_at, error = EXCLUDED.error,
             pipeline_run_id = COALESCE(EXCLUDED.pipeline_run_id, audit.job_runs.pipeline_run_id), updated_at = now()`,
    {
      jobName: record.jobName,
      jobRunId: record.jobRunId,
      pipelineRunId: record.pipelineRunId,
      state: record.state,
      // A run that failed to start has no start time: its end time stands in.
      startedAt: record.startedAt ?? record.finishedAt,
      finishedAt: record.finishedAt,
      error: record.error ? record.error.slice(0, MAX_ERROR_LENGTH) : null,
    },
  );
}
