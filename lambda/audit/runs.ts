/**
 * audit.pipeline_runs: one row per landing object version (unique on dataset, object_key, object_version).
 * Every statement runs inside a transaction as the loader login (a member of mart_loader), so the audit Lambda can
 * only touch what that role may.
 */
import type { SqlExecutor } from '../shared/sql';
import type { ClaimOutput, Run } from './contract';

/** Longest error text kept in an audit row: Step Functions causes can be whole stack traces. */
export const MAX_ERROR_LENGTH = 4000;

export type RunStatus = 'RUNNING' | 'SUCCEEDED' | 'NO_VALID_ROWS' | 'UNREADABLE' | 'FAILED';

/** S3 reports the version of an object in an unversioned bucket as the string 'null'; the audit row stores NULL. */
function objectVersion(run: Run): string | null {
  return run.versionId === undefined || run.versionId === null || run.versionId === 'null' ? null : run.versionId;
}

/**
 * Claims the run's object version: inserts a RUNNING row, or takes over a FAILED one (a replay). Any other existing
 * row means the object version is being or has been processed by another run: ALREADY_PROCESSED. A retry of the same
 * execution's claim (same run id) finds its own row and is CLAIMED again, so the step is idempotent.
 */
export async function claimRun(executor: SqlExecutor, run: Run): Promise<ClaimOutput> {
  return executor.transaction(async (tx) => {
    const claimed = await tx.query<{ run_id: string }>(
      `INSERT INTO audit.pipeline_runs (run_id, dataset, object_key, object_version, status)
       VALUES (:runId, :dataset, :objectKey, :objectVersion, 'RUNNING')
       ON CONFLICT (dataset, object_key, object_version) DO UPDATE
         SET run_id = EXCLUDED.run_id, status = 'RUNNING', started_at = now(), finished_at = NULL,
             rows_valid = NULL, rows_rejected = NULL, rows_loaded = NULL, error = NULL, updated_at = now()
         WHERE audit.pipeline_runs.status = 'FAILED' OR audit.pipeline_runs.run_id = EXCLUDED.run_id
       RETURNING run_id`,
      { runId: run.runId, dataset: run.dataset, objectKey: run.key, objectVersion: objectVersion(run) },
    );
    if (claimed.length === 1) return { outcome: 'CLAIMED', runId: run.runId };
    const [existing] = await tx.query<{ run_id: string; status: string }>(
      `SELECT run_id, status FROM audit.pipeline_runs
       WHERE dataset = :dataset AND object_key = :objectKey AND object_version IS NOT DISTINCT FROM :objectVersion`,
      { dataset: run.dataset, objectKey: run.key, objectVersion: objectVersion(run) },
    );
    return {
      outcome: 'ALREADY_PROCESSED',
      runId: run.runId,
      existingRunId: existing?.run_id,
      existingStatus: existing?.status,
    };
  });
}

export interface RunOutcome {
  readonly status: Exclude<RunStatus, 'RUNNING'>;
  readonly rowsValid?: number | null;
  readonly rowsRejected?: number | null;
  readonly rowsLoaded?: number | null;
  /** Why a run failed or its file was unreadable. */
  readonly error?: string | null;
}

/**
 * Records how a run ended. The row normally exists (claimed); when the claim itself failed it is created here, unless
 * another run holds the object version, which is then left alone (returns false).
 */
export async function recordOutcome(executor: SqlExecutor, run: Run, outcome: RunOutcome): Promise<boolean> {
  const params = {
    runId: run.runId,
    dataset: run.dataset,
    objectKey: run.key,
    objectVersion: objectVersion(run),
    status: outcome.status,
    rowsValid: outcome.rowsValid ?? null,
    rowsRejected: outcome.rowsRejected ?? null,
    rowsLoaded: outcome.rowsLoaded ?? null,
    error: outcome.error ? outcome.error.slice(0, MAX_ERROR_LENGTH) : null,
  };
  return executor.transaction(async (tx) => {
    const updated = await tx.query(
      `UPDATE audit.pipeline_runs
       SET status = :status, finished_at = now(), updated_at = now(),
           rows_valid = COALESCE(:rowsValid, rows_valid), rows_rejected = COALESCE(:rowsRejected, rows_rejected),
           rows_loaded = COALESCE(:rowsLoaded, rows_loaded), error = :error
       WHERE run_id = :runId
       RETURNING run_id`,
      params,
    );
    if (updated.length === 1) return true;
    const inserted = await tx.query(
      `INSERT INTO audit.pipeline_runs
         (run_id, dataset, object_key, object_version, status, finished_at, rows_valid, rows_rejected, rows_loaded, error)
       VALUES (:runId, :dataset, :objectKey, :objectVersion, :status, now(), :rowsValid, :rowsRejected, :rowsLoaded, :error)
       ON CONFLICT DO NOTHING
       RETURNING run_id`,
      params,
    );
    return inserted.length === 1;
  });
}
