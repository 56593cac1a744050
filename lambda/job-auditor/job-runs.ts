/** audit.job_runs: one row per Glue job run, written as the loader login (a member of mart_loader). */
import type { SqlExecutor } from '../shared/sql';

/** Longest error text kept in an audit row. */
const MAX_ERROR_LENGTH = 4000;

export interface JobRunRecord {
  readonly jobName: string;
  readonly jobRunId: string;
  readonly state: string;
  /** The stage B batch the job run curated, when the job run says so. */
  readonly batchId: string | null;
  readonly startedAt: Date | null;
  readonly finishedAt: Date;
  readonly error: string | null;
}

/** Inserts or updates the job run: EventBridge delivers at least once, so the same event may come twice. */
export async function recordJobRun(executor: SqlExecutor, record: JobRunRecord): Promise<void> {
  await executor.transaction(async (tx) => {
    await tx.query(
      `INSERT INTO audit.job_runs (job_name, job_run_id, batch_id, state, started_at, finished_at, error)
       VALUES (:jobName, :jobRunId, :batchId, :state, :startedAt, :finishedAt, :error)
       ON CONFLICT (job_name, job_run_id) DO UPDATE
         SET state = EXCLUDED.state, finished_at = EXCLUDED.finished_at, error = EXCLUDED.error,
             batch_id = COALESCE(EXCLUDED.batch_id, audit.job_runs.batch_id), updated_at = now()`,
      {
        jobName: record.jobName,
        jobRunId: record.jobRunId,
        batchId: record.batchId,
        state: record.state,
        // A run that failed to start has no start time: its end time stands in.
        startedAt: record.startedAt ?? record.finishedAt,
        finishedAt: record.finishedAt,
        error: record.error ? record.error.slice(0, MAX_ERROR_LENGTH) : null,
      },
    );
  });
}
