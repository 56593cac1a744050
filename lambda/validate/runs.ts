/**
 * Stage A's rows in audit.pipeline_runs: one row per landing object version (unique on dataset, object key, object
 * version), whose run id is derived from the object itself, so a re-delivered message names the same run.
 *
 * RUNNING (claimed, being validated) -> STAGED (valid rows staged, waiting for its batch) -> SUCCEEDED (curated and
 * loaded by its batch), or a final NO_VALID_ROWS / UNREADABLE (quarantined) or FAILED (a replay may claim it again).
 */
import { createHash } from 'node:crypto';
import { heldByAnother, lockSchedule, setLease } from '../shared/dataset-schedule';
import type { SqlExecutor } from '../shared/sql';

/** Longest error text kept in an audit row. */
export const MAX_ERROR_LENGTH = 4000;

export interface LandedObject {
  readonly dataset: string;
  readonly bucket: string;
  readonly key: string;
  /** S3 version id; absent for an unversioned bucket (S3 then says 'null'). */
  readonly versionId?: string | null;
  readonly size?: number | null;
  /** When the object was created (the event's time). */
  readonly landedAt: Date;
  /**
   * A replay (scripts/replay.ts) of a run planned in this status: a quarantined run (NO_VALID_ROWS, UNREADABLE) still in
   * it is claimed again. Normal deliveries never re-open a finished run.
   */
  readonly replayOf?: string;
}

/** The run id of an object version: 32 hex characters of SHA-256 over bucket, key and version. */
export function runIdOf(object: Pick<LandedObject, 'bucket' | 'key' | 'versionId'>): string {
  return createHash('sha256')
    .update(`${object.bucket}\n${object.key}\n${objectVersion(object) ?? ''}`)
    .digest('hex')
    .slice(0, 32);
}

/** S3 reports the version of an object in an unversioned bucket as the string 'null'; the audit row stores NULL. */
function objectVersion(object: Pick<LandedObject, 'versionId'>): string | null {
  const { versionId } = object;
  return versionId === undefined || versionId === null || versionId === 'null' ? null : versionId;
}

export type ClaimOutcome = 'CLAIMED' | 'ALREADY_STAGED' | 'ALREADY_PROCESSED';

export interface Claim {
  readonly outcome: ClaimOutcome;
  readonly runId: string;
  /** For ALREADY_PROCESSED: the status of the run that holds the object version. */
  readonly existingStatus?: string;
}

/**
 * Claims the object version: inserts a RUNNING row, takes over a FAILED one (a replay), or takes its own RUNNING row
 * back (the same message delivered again after a crash). A replay message also takes over a quarantined row
 * (NO_VALID_ROWS, UNREADABLE) still in the status it was planned from. A STAGED row of the same run is ALREADY_STAGED:
 * the message came again after the run was staged, so only the batch start is redone. Anything else is
 * ALREADY_PROCESSED.
 */
export async function claimRun(executor: SqlExecutor, object: LandedObject, now: Date): Promise<Claim> {
  const runId = runIdOf(object);
  const params = {
    runId,
    dataset: object.dataset,
    objectKey: object.key,
    objectVersion: objectVersion(object),
    landedAt: object.landedAt,
    replayOf: object.replayOf ?? null,
    now,
  };
  return executor.transaction(async (tx) => {
    const claimed = await tx.query<{ run_id: string }>(
      `INSERT INTO audit.pipeline_runs
         (run_id, dataset, object_key, object_version, status, landed_at, started_at, updated_at)
       VALUES (:runId, :dataset, :objectKey, :objectVersion, 'RUNNING', :landedAt, :now, :now)
       ON CONFLICT (dataset, object_key, object_version) DO UPDATE
         SET run_id = EXCLUDED.run_id, status = 'RUNNING', started_at = EXCLUDED.started_at, finished_at = NULL,
             rows_valid = NULL, rows_rejected = NULL, rows_loaded = NULL, error = NULL, staged_at = NULL,
             staged_bytes = NULL, batch_id = NULL, landed_at = EXCLUDED.landed_at, updated_at = EXCLUDED.updated_at
         WHERE audit.pipeline_runs.status = 'FAILED'
            OR (audit.pipeline_runs.status = 'RUNNING' AND audit.pipeline_runs.run_id = EXCLUDED.run_id)
            OR (audit.pipeline_runs.status IN ('NO_VALID_ROWS', 'UNREADABLE')
                AND audit.pipeline_runs.status = CAST(:replayOf AS text))
       RETURNING run_id`,
      params,
    );
    if (claimed.length === 1) return { outcome: 'CLAIMED', runId };
    const [existing] = await tx.query<{ run_id: string; status: string }>(
      `SELECT run_id, status FROM audit.pipeline_runs
        WHERE dataset = :dataset AND object_key = :objectKey AND object_version IS NOT DISTINCT FROM :objectVersion`,
      params,
    );
    if (existing?.status === 'STAGED' && existing.run_id === runId) return { outcome: 'ALREADY_STAGED', runId };
    return { outcome: 'ALREADY_PROCESSED', runId, existingStatus: existing?.status };
  });
}

export interface StagedRun {
  readonly runId: string;
  readonly dataset: string;
  readonly rowsValid: number;
  readonly rowsRejected: number;
  readonly stagedBytes: number;
}

export interface BatchStart {
  /** The execution name this run must start the dataset's stage B loop under, when it became the holder. */
  readonly startAs?: string;
  /** Who holds the dataset otherwise (a live loop that will take this run). */
  readonly holder?: string | null;
}

/**
 * Marks the run STAGED and makes sure a live stage B loop holds its dataset, in one transaction that holds the
 * dataset's schedule row: when no live loop holds it, this run becomes the holder for `startLeaseSeconds` and must
 * start the loop under the returned name (its first step renews the lease). A run staged again (message delivered
 * twice) changes nothing but the batch start.
 */
export async function stageRun(
  executor: SqlExecutor,
  run: StagedRun,
  now: Date,
  startLeaseSeconds: number,
): Promise<BatchStart> {
  return executor.transaction(async (tx) => {
    const schedule = await lockSchedule(tx, run.dataset, now);
    await tx.query(
      `UPDATE audit.pipeline_runs
          SET status = 'STAGED', staged_at = COALESCE(staged_at, :now), staged_bytes = :stagedBytes,
              rows_valid = :rowsValid, rows_rejected = :rowsRejected, error = NULL, updated_at = :now
        WHERE run_id = :runId AND status IN ('RUNNING', 'STAGED')`,
      { ...run, now },
    );
    return ensureHolder(tx, run, schedule, now, startLeaseSeconds);
  });
}

/** For a run already STAGED: only the batch start (see {@link stageRun}). */
export async function ensureBatchLoop(
  executor: SqlExecutor,
  run: Pick<StagedRun, 'runId' | 'dataset'>,
  now: Date,
  startLeaseSeconds: number,
): Promise<BatchStart> {
  return executor.transaction(async (tx) => {
    const schedule = await lockSchedule(tx, run.dataset, now);
    return ensureHolder(tx, run, schedule, now, startLeaseSeconds);
  });
}

/** The execution name a run starts its dataset's loop under (at most 80 characters). */
export function loopExecutionName(dataset: string, runId: string): string {
  return `${dataset.slice(0, 40)}-${runId}`;
}

async function ensureHolder(
  tx: SqlExecutor,
  run: Pick<StagedRun, 'runId' | 'dataset'>,
  schedule: { holder: string | null; lease_expires_at: Date | null },
  now: Date,
  startLeaseSeconds: number,
): Promise<BatchStart> {
  const name = loopExecutionName(run.dataset, run.runId);
  // A live loop of another run will take this one; this run's own name (an earlier delivery) is started again.
  if (heldByAnother(schedule, name, now)) return { holder: schedule.holder };
  await setLease(tx, run.dataset, name, now, startLeaseSeconds);
  return { startAs: name };
}

/**
 * The loop name a run got is already used by an execution that has ended (the message came again much later): takes a
 * fresh name, if the run still holds the dataset under the old one.
 */
export async function renameHolder(
  executor: SqlExecutor,
  dataset: string,
  oldName: string,
  newName: string,
  now: Date,
  startLeaseSeconds: number,
): Promise<boolean> {
  return executor.transaction(async (tx) => {
    const schedule = await lockSchedule(tx, dataset, now);
    if (schedule.holder !== oldName) return false;
    await setLease(tx, dataset, newName, now, startLeaseSeconds);
    return true;
  });
}

export type FinalStatus = 'NO_VALID_ROWS' | 'UNREADABLE' | 'FAILED';

export interface RunOutcome {
  readonly status: FinalStatus;
  readonly rowsValid?: number | null;
  readonly rowsRejected?: number | null;
  /** Why the run failed or its file was unreadable. */
  readonly error?: string | null;
}

/**
 * Records how a run ended without a batch. The row normally exists (claimed); when the claim itself failed it is
 * created here, unless another run holds the object version (returns false). A STAGED or SUCCEEDED run is never
 * turned into a failure by a late message.
 */
export async function recordOutcome(
  executor: SqlExecutor,
  object: LandedObject,
  outcome: RunOutcome,
  now: Date,
): Promise<boolean> {
  const params = {
    runId: runIdOf(object),
    dataset: object.dataset,
    objectKey: object.key,
    objectVersion: objectVersion(object),
    landedAt: object.landedAt,
    status: outcome.status,
    rowsValid: outcome.rowsValid ?? null,
    rowsRejected: outcome.rowsRejected ?? null,
    error: outcome.error ? outcome.error.slice(0, MAX_ERROR_LENGTH) : null,
    now,
  };
  return executor.transaction(async (tx) => {
    const updated = await tx.query(
      `UPDATE audit.pipeline_runs
          SET status = :status, finished_at = :now, updated_at = :now, error = :error,
              rows_valid = COALESCE(:rowsValid, rows_valid), rows_rejected = COALESCE(:rowsRejected, rows_rejected)
        WHERE run_id = :runId AND status IN ('RUNNING', 'FAILED')
       RETURNING run_id`,
      params,
    );
    if (updated.length === 1) return true;
    const inserted = await tx.query(
      `INSERT INTO audit.pipeline_runs
         (run_id, dataset, object_key, object_version, status, landed_at, started_at, finished_at, rows_valid,
          rows_rejected, error, updated_at)
       VALUES (:runId, :dataset, :objectKey, :objectVersion, :status, :landedAt, :now, :now, :rowsValid,
               :rowsRejected, :error, :now)
       ON CONFLICT DO NOTHING
       RETURNING run_id`,
      params,
    );
    return inserted.length === 1;
  });
}
