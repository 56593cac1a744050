/**
 * Stage B's bookkeeping in audit: the dataset lease (audit.dataset_schedules), batches (audit.batches) and their runs
 * (audit.batch_runs, audit.pipeline_runs.batch_id). Every decision runs in one transaction holding the dataset's
 * schedule row (SELECT ... FOR UPDATE), which stage A also takes before it stages a run: the two never race, so a run
 * staged while a loop decides to go idle always finds a holder or becomes one (no lost wake-up), and no run is ever
 * taken by two batches.
 *
 * Time is a parameter (`now`): the functions pass the clock, tests and the flow benchmark a simulated one.
 */
import { randomBytes } from 'node:crypto';
import { heldByAnother, lockSchedule, setLease } from '../shared/dataset-schedule';
import type { SqlExecutor } from '../shared/sql';
import {
  type AcquireOutput,
  type BatchManifest,
  type BatchSettings,
  type CompleteOutput,
  type DecisionOutcome,
  type FailOutput,
  manifestKey,
} from './contract';

/** Longest error text kept in an audit row. */
export const MAX_ERROR_LENGTH = 4000;
/**
 * Most runs one batch takes. The manifest is read back through the Data API, whose answers are at most 1 MiB: 2,000
 * rows of ~200 bytes stay well inside it. A backlog of more runs simply becomes several batches in a row.
 */
export const MAX_RUNS_PER_BATCH = 2000;

export interface DecisionBatch {
  readonly batchId: string;
  readonly attempt: number;
  readonly runCount: number;
  readonly stagedBytes: number;
  readonly manifestKey: string;
  readonly manifest: BatchManifest;
}

export interface Decision {
  readonly outcome: DecisionOutcome;
  readonly waitSeconds: number;
  readonly reason: string;
  readonly batch?: DecisionBatch;
  readonly nextExecutionName?: string;
  /** Batches this call abandoned (every attempt failed): their runs are now FAILED. */
  readonly abandoned: readonly string[];
}

export interface AcquireRequest {
  readonly dataset: string;
  readonly executionName: string;
  readonly iteration: number;
  readonly now: Date;
  /** `s3://<bucket>/` of staging/ (for the manifest's staging paths). */
  readonly artifactsBucket: string;
}

interface BatchRow {
  batch_id: string;
  status: 'RUNNING' | 'FAILED';
  attempts: number;
  run_count: number;
  staged_bytes: number | bigint;
  execution_name: string;
  manifest_key: string;
  next_attempt_at: Date | null;
  created_at: Date;
  error: string | null;
}

const seconds = (from: Date, to: Date) => (to.getTime() - from.getTime()) / 1000;
const number = (value: number | bigint | string | null) => (value === null ? 0 : Number(value));

/** A batch id that sorts by creation time: `20261202T101500Z-1a2b3c4d`. */
export function newBatchId(now: Date): string {
  return `${compactTime(now)}-${randomBytes(4).toString('hex')}`;
}

/** A Step Functions execution name for the stage B loop of `dataset` (at most 80 characters). */
export function newExecutionName(dataset: string, now: Date): string {
  return `${dataset.slice(0, 50)}-${compactTime(now)}-${randomBytes(3).toString('hex')}`;
}

function compactTime(now: Date): string {
  return now
    .toISOString()
    .replace(/[-:]/g, '')
    .replace(/\.\d{3}/, '');
}

/** The head of the stage B loop: see lambda/batch/contract.ts for the outcomes. */
export async function acquire(
  executor: SqlExecutor,
  request: AcquireRequest,
  settings: BatchSettings,
): Promise<Decision> {
  const { dataset, executionName: me, now } = request;
  return executor.transaction(async (tx) => {
    const schedule = await lockSchedule(tx, dataset, now);
    const abandoned: string[] = [];
    const decide = async (
      outcome: DecisionOutcome,
      reason: string,
      options: { waitSeconds?: number; batch?: DecisionBatch; nextExecutionName?: string } = {},
    ): Promise<Decision> => {
      const waitSeconds = options.waitSeconds ?? 0;
      if (outcome === 'BATCH') await setLease(tx, dataset, me, now, settings.batchLeaseSeconds);
      else if (outcome === 'WAIT') await setLease(tx, dataset, me, now, waitSeconds + settings.startLeaseSeconds);
      else if (outcome === 'CONTINUE') {
        await setLease(tx, dataset, options.nextExecutionName ?? null, now, settings.startLeaseSeconds);
      } else if (outcome === 'IDLE') await setLease(tx, dataset, null, now, 0);
      return {
        outcome,
        reason,
        waitSeconds,
        batch: options.batch,
        nextExecutionName: options.nextExecutionName,
        abandoned,
      };
    };

    if (heldByAnother(schedule, me, now)) {
      return {
        outcome: 'SUPERSEDED',
        reason: `execution ${schedule.holder} holds ${dataset} until ${schedule.lease_expires_at?.toISOString()}`,
        waitSeconds: 0,
        abandoned,
      };
    }

    // At most one open batch per dataset (a unique index says so): finish its story before starting another.
    const [open] = await tx.query<BatchRow & Record<string, unknown>>(
      `SELECT batch_id, status, attempts, run_count, staged_bytes, execution_name, manifest_key, next_attempt_at,
              created_at, error
         FROM audit.batches WHERE dataset = :dataset AND status IN ('RUNNING', 'FAILED') FOR UPDATE`,
      { dataset },
    );
    if (open !== undefined) {
      let batch = open;
      if (batch.status === 'RUNNING' && batch.execution_name === me) {
        // This execution's own batch: an acquire retried after its answer was lost. Carry on with it.
        return decide('BATCH', `resuming batch ${batch.batch_id}`, {
          batch: await describeBatch(tx, batch, request),
        });
      }
      if (batch.status === 'RUNNING') {
        // Its holder stopped (crashed, timed out, aborted) before finishing it: that attempt failed.
        const error = `the stage B execution ${batch.execution_name} stopped before finishing this batch (its lease expired)`;
        await tx.query(
          `UPDATE audit.batches SET status = 'FAILED', error = :error, next_attempt_at = :now, updated_at = :now
            WHERE batch_id = :batchId`,
          { batchId: batch.batch_id, error, now },
        );
        batch = { ...batch, status: 'FAILED', error, next_attempt_at: now };
      }
      if (batch.attempts >= settings.maxAttempts) {
        await abandon(tx, batch, now, settings.maxAttempts);
        abandoned.push(batch.batch_id);
      } else if (batch.next_attempt_at !== null && batch.next_attempt_at.getTime() > now.getTime()) {
        const waitSeconds = Math.max(1, Math.min(settings.pollSeconds, Math.ceil(seconds(now, batch.next_attempt_at))));
        return decide(
          'WAIT',
          `batch ${batch.batch_id} failed; attempt ${batch.attempts + 1} is due at ${batch.next_attempt_at.toISOString()}`,
          {
            waitSeconds,
          },
        );
      } else {
        const [retried] = await tx.query<{ attempts: number }>(
          `UPDATE audit.batches
              SET status = 'RUNNING', attempts = attempts + 1, started_at = :now, execution_name = :me,
                  next_attempt_at = NULL, updated_at = :now
            WHERE batch_id = :batchId
          RETURNING attempts`,
          { batchId: batch.batch_id, now, me },
        );
        return decide(
          'BATCH',
          `retrying batch ${batch.batch_id} (attempt ${retried.attempts}) after: ${batch.error ?? 'a failure'}`,
          {
            batch: await describeBatch(tx, { ...batch, attempts: retried.attempts }, request),
          },
        );
      }
    }

    const [pending] = await tx.query<{ runs: number; bytes: number | bigint | null; oldest: Date | null }>(
      `SELECT count(*)::int AS runs, sum(staged_bytes)::bigint AS bytes, min(staged_at) AS oldest
         FROM audit.pipeline_runs WHERE dataset = :dataset AND status = 'STAGED' AND batch_id IS NULL`,
      { dataset },
    );
    if (pending.runs === 0 || pending.oldest === null) {
      return decide(
        'IDLE',
        abandoned.length > 0 ? `abandoned ${abandoned.join(', ')}; nothing else waits` : 'nothing waits',
      );
    }
    if (request.iteration >= settings.maxIterations) {
      const nextExecutionName = newExecutionName(dataset, now);
      return decide('CONTINUE', `${request.iteration} turns in this execution: continuing as ${nextExecutionName}`, {
        nextExecutionName,
      });
    }
    const bytes = number(pending.bytes);
    const age = seconds(pending.oldest, now);
    if (bytes < settings.maxBytes && age < settings.maxWaitSeconds && pending.runs < MAX_RUNS_PER_BATCH) {
      const waitSeconds = Math.max(1, Math.min(settings.pollSeconds, Math.ceil(settings.maxWaitSeconds - age)));
      return decide('WAIT', `${pending.runs} runs (${bytes} bytes) wait, the oldest for ${Math.floor(age)} s`, {
        waitSeconds,
      });
    }
    const batch = await createBatch(tx, request, settings);
    const why =
      bytes >= settings.maxBytes
        ? `${bytes} bytes >= ${settings.maxBytes}`
        : pending.runs >= MAX_RUNS_PER_BATCH
          ? `${pending.runs} runs`
          : `oldest waited ${Math.floor(age)} s`;
    return decide('BATCH', `new batch ${batch.batchId} of ${batch.runCount} runs (${why})`, { batch });
  });
}

/** Takes the oldest pending runs, up to `maxBytes` (at least one run), as a new RUNNING batch. */
async function createBatch(tx: SqlExecutor, request: AcquireRequest, settings: BatchSettings): Promise<DecisionBatch> {
  const { dataset, now, executionName } = request;
  const batchId = newBatchId(now);
  const key = manifestKey(dataset, batchId);
  // Runs in staging order; a run is taken while the bytes before it are under the limit, so the first always is.
  await tx.query(
    `WITH pending AS (
       SELECT run_id, staged_bytes,
              sum(staged_bytes) OVER (ORDER BY staged_at, run_id) AS through,
              row_number() OVER (ORDER BY staged_at, run_id) AS position
         FROM audit.pipeline_runs
        WHERE dataset = :dataset AND status = 'STAGED' AND batch_id IS NULL
     )
     UPDATE audit.pipeline_runs AS run SET batch_id = :batchId, updated_at = :now
       FROM pending
      WHERE run.run_id = pending.run_id AND run.batch_id IS NULL
        AND (pending.through - pending.staged_bytes < :maxBytes) AND pending.position <= :maxRuns`,
    { dataset, batchId, now, maxBytes: settings.maxBytes, maxRuns: MAX_RUNS_PER_BATCH },
  );
  const [created] = await tx.query<{ run_count: number; staged_bytes: number | bigint }>(
    `INSERT INTO audit.batches
       (batch_id, dataset, status, attempts, run_count, staged_bytes, rows_valid, oldest_landed_at, oldest_staged_at,
        created_at, started_at, execution_name, manifest_key, updated_at)
     SELECT :batchId, :dataset, 'RUNNING', 1, count(*), COALESCE(sum(staged_bytes), 0), COALESCE(sum(rows_valid), 0),
            min(landed_at), min(staged_at), :now, :now, :executionName, :manifestKey, :now
       FROM audit.pipeline_runs WHERE batch_id = :batchId
     RETURNING run_count, staged_bytes`,
    { batchId, dataset, now, executionName, manifestKey: key },
  );
  await tx.query(
    `INSERT INTO audit.batch_runs (batch_id, run_id, sequence)
     SELECT :batchId, run_id, row_number() OVER (ORDER BY staged_at, run_id)
       FROM audit.pipeline_runs WHERE batch_id = :batchId`,
    { batchId },
  );
  const row: BatchRow = {
    batch_id: batchId,
    status: 'RUNNING',
    attempts: 1,
    run_count: created.run_count,
    staged_bytes: created.staged_bytes,
    execution_name: executionName,
    manifest_key: key,
    next_attempt_at: null,
    created_at: now,
    error: null,
  };
  return describeBatch(tx, row, request);
}

/** The batch's manifest, read back from audit (the same document for every attempt). */
async function describeBatch(tx: SqlExecutor, batch: BatchRow, request: AcquireRequest): Promise<DecisionBatch> {
  const runs = await tx.query<{
    run_id: string;
    sequence: number;
    object_key: string;
    staged_bytes: number | bigint | null;
    rows_valid: number | bigint | null;
  }>(
    `SELECT member.run_id, member.sequence, run.object_key, run.staged_bytes, run.rows_valid
       FROM audit.batch_runs AS member JOIN audit.pipeline_runs AS run USING (run_id)
      WHERE member.batch_id = :batchId
      ORDER BY member.sequence`,
    { batchId: batch.batch_id },
  );
  const manifest: BatchManifest = {
    version: 1,
    dataset: request.dataset,
    batchId: batch.batch_id,
    createdAt: batch.created_at.toISOString(),
    runs: runs.map((run) => ({
      runId: run.run_id,
      sequence: Number(run.sequence),
      stagingPath: `s3://${request.artifactsBucket}/staging/${request.dataset}/run_id=${run.run_id}/`,
      objectKey: run.object_key,
      stagedBytes: number(run.staged_bytes),
      rowsValid: number(run.rows_valid),
    })),
  };
  return {
    batchId: batch.batch_id,
    attempt: batch.attempts,
    runCount: batch.run_count,
    stagedBytes: number(batch.staged_bytes),
    manifestKey: batch.manifest_key,
    manifest,
  };
}

/** Every attempt failed: the batch is ABANDONED and its runs FAILED (a replay claims them again). */
async function abandon(tx: SqlExecutor, batch: BatchRow, now: Date, maxAttempts: number): Promise<void> {
  const error =
    `batch ${batch.batch_id} abandoned after ${batch.attempts} of ${maxAttempts} attempts: ${batch.error ?? 'failed'}`.slice(
      0,
      MAX_ERROR_LENGTH,
    );
  await tx.query(
    `UPDATE audit.batches SET status = 'ABANDONED', finished_at = :now, next_attempt_at = NULL, updated_at = :now
      WHERE batch_id = :batchId`,
    { batchId: batch.batch_id, now },
  );
  await tx.query(
    `UPDATE audit.pipeline_runs SET status = 'FAILED', error = :error, finished_at = :now, updated_at = :now
      WHERE batch_id = :batchId AND status = 'STAGED'`,
    { batchId: batch.batch_id, error, now },
  );
}

export interface CompleteRequest {
  readonly dataset: string;
  readonly executionName: string;
  readonly batchId: string;
  readonly jobRunId?: string | null;
  readonly rowsLoaded?: number | null;
  readonly now: Date;
}

/** Thrown when a batch is not this execution's to finish (another execution took the dataset over). */
export class BatchNotHeldError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'BatchNotHeldError';
  }
}

/** The batch was curated and loaded: SUCCEEDED, and so are its runs. Idempotent. */
export async function complete(
  executor: SqlExecutor,
  request: CompleteRequest,
  settings: BatchSettings,
): Promise<CompleteOutput> {
  const { batchId, now } = request;
  return executor.transaction(async (tx) => {
    await lockSchedule(tx, request.dataset, now);
    const [done] = await tx.query<{ run_count: number }>(
      `UPDATE audit.batches
          SET status = 'SUCCEEDED', finished_at = :now, error = NULL, updated_at = :now,
              glue_job_run_id = COALESCE(:jobRunId, glue_job_run_id), rows_loaded = COALESCE(:rowsLoaded, rows_loaded)
        WHERE batch_id = :batchId AND dataset = :dataset AND status = 'RUNNING' AND execution_name = :me
      RETURNING run_count`,
      {
        batchId,
        dataset: request.dataset,
        me: request.executionName,
        now,
        jobRunId: request.jobRunId ?? null,
        rowsLoaded: request.rowsLoaded ?? null,
      },
    );
    if (done === undefined) {
      const [current] = await tx.query<{ status: string; execution_name: string }>(
        'SELECT status, execution_name FROM audit.batches WHERE batch_id = :batchId',
        { batchId },
      );
      if (current?.status === 'SUCCEEDED') return { batchId, status: 'SUCCEEDED', runs: 0 };
      throw new BatchNotHeldError(
        `Batch ${batchId} is ${current ? `${current.status} (execution ${current.execution_name})` : 'unknown'}, not RUNNING for ${request.executionName}: it was taken over. Its next holder retries it`,
      );
    }
    await tx.query(
      `UPDATE audit.pipeline_runs SET status = 'SUCCEEDED', finished_at = :now, updated_at = :now, error = NULL
        WHERE batch_id = :batchId AND status = 'STAGED'`,
      { batchId, now },
    );
    await setLease(tx, request.dataset, request.executionName, now, settings.startLeaseSeconds);
    return { batchId, status: 'SUCCEEDED', runs: done.run_count };
  });
}

export interface FailRequest {
  readonly dataset: string;
  readonly executionName: string;
  readonly batchId: string;
  readonly error: string;
  readonly now: Date;
}

/** A step of the batch failed: FAILED until its next attempt (delay doubling per attempt). */
export async function fail(executor: SqlExecutor, request: FailRequest, settings: BatchSettings): Promise<FailOutput> {
  const { batchId, now } = request;
  return executor.transaction(async (tx) => {
    await lockSchedule(tx, request.dataset, now);
    const [failed] = await tx.query<{ attempts: number; next_attempt_at: Date }>(
      `UPDATE audit.batches
          SET status = 'FAILED', error = :error, updated_at = :now,
              next_attempt_at = :now::timestamptz + make_interval(secs => :retryDelaySeconds * power(2, attempts - 1))
        WHERE batch_id = :batchId AND dataset = :dataset AND status = 'RUNNING' AND execution_name = :me
      RETURNING attempts, next_attempt_at`,
      {
        batchId,
        dataset: request.dataset,
        me: request.executionName,
        now,
        error: request.error.slice(0, MAX_ERROR_LENGTH),
        retryDelaySeconds: settings.retryDelaySeconds,
      },
    );
    if (failed === undefined) return { batchId, status: 'NOT_RUNNING', attempts: 0, nextAttemptAt: null };
    await setLease(tx, request.dataset, request.executionName, now, settings.startLeaseSeconds);
    const more = failed.attempts < settings.maxAttempts;
    return {
      batchId,
      status: 'FAILED',
      attempts: failed.attempts,
      nextAttemptAt: more ? failed.next_attempt_at.toISOString() : null,
    };
  });
}

/** The decision in the state machine's shape (the whole state of the loop after `acquire`). */
export function acquireOutput(
  request: Pick<AcquireRequest, 'dataset' | 'iteration'>,
  decision: Decision,
  batchWork: AcquireOutput['decision']['batch'],
): AcquireOutput {
  return {
    dataset: request.dataset,
    iteration: request.iteration + 1,
    decision: {
      outcome: decision.outcome,
      waitSeconds: decision.waitSeconds,
      reason: decision.reason,
      ...(batchWork ? { batch: batchWork } : {}),
      ...(decision.nextExecutionName ? { nextExecutionName: decision.nextExecutionName } : {}),
    },
  };
}
