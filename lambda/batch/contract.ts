/**
 * The contract between the stage B state machine (lib/constructs/batch-stage.ts) and the batch Lambda: one function,
 * three actions chosen by `action`, and the shared names both sides build from. Side-effect free: the only module of
 * this function lib/ may import.
 *
 * - `acquire`: the head of the loop. Under the dataset's lease (audit.dataset_schedules) it decides what the loop does
 *   next: run a BATCH (a new one, a retry of a failed one, or its own after a Lambda retry), WAIT (runs are staged but
 *   the batch is not due yet, or a failed batch waits for its retry), CONTINUE in a fresh execution (the loop has run
 *   `maxIterations` times: keeps the execution history small), go IDLE (nothing waits: the lease is released), or stop
 *   as SUPERSEDED (another execution holds the dataset).
 * - `complete`: the batch was curated (and loaded): batch SUCCEEDED, its runs SUCCEEDED.
 * - `fail`: a step of the batch failed: batch FAILED with the error, retried whole (same runs, same manifest) after a
 *   delay that doubles per attempt; after `maxAttempts` the next `acquire` abandons it and marks its runs FAILED.
 */
import * as z from 'zod/mini';

/** Environment variables of the batch function (the Orchestration stack sets them). */
export const BATCH_ENV = {
  /** Bucket of staging/ (read by the curate job) and batches/ (manifests written here). */
  artifactsBucket: 'ARTIFACTS_BUCKET',
  /** Bucket of the curated tables and of the `_mart/` batches. */
  curatedBucket: 'CURATED_BUCKET',
  /** JSON of {@link BatchSettings}. */
  settings: 'BATCH_SETTINGS',
} as const;

/** When batches start and how long leases last (from `etl.batch` and the job and load timeouts). */
export const batchSettingsSchema = z.object({
  maxBytes: z.int().check(z.positive()),
  maxWaitSeconds: z.int().check(z.positive()),
  pollSeconds: z.int().check(z.positive()),
  maxAttempts: z.int().check(z.positive()),
  retryDelaySeconds: z.int().check(z.positive()),
  /** Lease while a batch runs: longer than the curate job's timeout plus the mart load's. */
  batchLeaseSeconds: z.int().check(z.positive()),
  /** Lease given to a new holder until its first `acquire` (and between two steps of the loop). */
  startLeaseSeconds: z.int().check(z.positive()),
  /** Loop turns before the loop continues in a fresh execution. */
  maxIterations: z.int().check(z.positive()),
});
export type BatchSettings = z.infer<typeof batchSettingsSchema>;

export const BATCH_ID = /^[A-Za-z0-9_.:-]{1,128}$/;
/** A dataset name, as config/schema.ts allows it. */
export const DATASET_NAME = /^[a-z][a-z0-9_]{0,62}$/;
const dataset = z.string().check(z.regex(DATASET_NAME));
/** Step Functions execution names: 1 to 80 characters of this set. */
const executionName = z.string().check(z.regex(/^[A-Za-z0-9_-]{1,80}$/));
const batchId = z.string().check(z.regex(BATCH_ID));

export const batchInputSchema = z.discriminatedUnion('action', [
  z.object({
    action: z.literal('acquire'),
    dataset,
    executionName,
    /** Turns of the loop so far in this execution (0 on the first `acquire`). */
    iteration: z.int().check(z.nonnegative()),
  }),
  z.object({
    action: z.literal('complete'),
    dataset,
    executionName,
    batchId,
    /** The curate job run (Glue's JobRunId). */
    jobRunId: z.nullish(z.string()),
    /** Rows the mart load staged, for mart-enabled datasets. */
    rowsLoaded: z.nullish(z.int().check(z.nonnegative())),
  }),
  z.object({
    action: z.literal('fail'),
    dataset,
    executionName,
    batchId,
    /** Step Functions' `Error` and `Cause` of the failed step. */
    error: z.string().check(z.minLength(1)),
    cause: z.nullish(z.string()),
  }),
]);
export type BatchInput = z.infer<typeof batchInputSchema>;

export const DECISIONS = ['BATCH', 'WAIT', 'CONTINUE', 'IDLE', 'SUPERSEDED'] as const;
export type DecisionOutcome = (typeof DECISIONS)[number];

/** What the curate job and the mart load of a batch are started with. */
export interface BatchWork {
  readonly batchId: string;
  /** 1 for a new batch; more for a retry of the same runs. */
  readonly attempt: number;
  readonly runCount: number;
  readonly stagedBytes: number;
  readonly manifestKey: string;
  /** Whether the dataset loads into the mart (the LoadMart step runs). */
  readonly martEnabled: boolean;
  /** Arguments of the curate Glue job run (see lib/assets/glue/curate.py). */
  readonly glueArguments: Readonly<Record<string, string>>;
  /** Input of the load-mart function (mart-enabled datasets). */
  readonly load: {
    readonly dataset: string;
    readonly batchId: string;
    readonly bucket: string;
    readonly prefix: string;
  };
}

/**
 * The state of the loop after `acquire` (the whole state: later steps add `curate` and `load`). `waitSeconds` is 0
 * unless the outcome is WAIT; `nextExecutionName` is set for CONTINUE.
 */
export interface AcquireOutput {
  readonly dataset: string;
  readonly iteration: number;
  readonly decision: {
    /** START only in the input of a new execution (see {@link startInput}). */
    readonly outcome: DecisionOutcome | 'START';
    readonly waitSeconds: number;
    readonly reason: string;
    readonly batch?: BatchWork;
    readonly nextExecutionName?: string;
  };
}

export interface CompleteOutput {
  readonly batchId: string;
  readonly status: 'SUCCEEDED';
  readonly runs: number;
}

export interface FailOutput {
  readonly batchId: string;
  readonly status: 'FAILED' | 'NOT_RUNNING';
  readonly attempts: number;
  /** When the next attempt may start (ISO 8601), or null when none is left. */
  readonly nextAttemptAt: string | null;
}

/** The first input of a stage B execution (what stage A and the loop's continuation start it with). */
export function startInput(datasetName: string): AcquireOutput {
  return { dataset: datasetName, iteration: 0, decision: { outcome: 'START', waitSeconds: 0, reason: 'started' } };
}

/** `batches/<dataset>/batch_id=<id>/manifest.json` in the artifacts bucket. */
export function manifestKey(datasetName: string, id: string): string {
  return `batches/${datasetName}/batch_id=${id}/manifest.json`;
}

/** The folder of the mart batches in the curated bucket (the curate job writes them, load-mart reads them). */
export const MART_BATCHES_PREFIX = '_mart/';

/** `_mart/<dataset>/batch_id=<id>/` in the curated bucket: the CSV of the rows the batch changed. */
export function martBatchPrefix(datasetName: string, id: string): string {
  return `${MART_BATCHES_PREFIX}${datasetName}/batch_id=${id}/`;
}

/** The manifest the curate job reads: the batch's runs in staging order. */
export interface BatchManifest {
  readonly version: 1;
  readonly dataset: string;
  readonly batchId: string;
  readonly createdAt: string;
  readonly runs: readonly {
    readonly runId: string;
    readonly sequence: number;
    readonly stagingPath: string;
    readonly objectKey: string;
    readonly stagedBytes: number;
    readonly rowsValid: number;
  }[];
}
