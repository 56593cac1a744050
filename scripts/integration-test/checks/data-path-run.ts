/**
 * What the data-path checks of one integration-test run hand to each other (checks/data-path.ts creates and fills
 * it, one object per run): the sample, the landing object, and what audit said about the object's run and its batch.
 *
 * A check of what the batch wrote (the curated files, the mart rows, the audit record, and later an Athena query of
 * the curated Iceberg table in checks/curated-athena.ts) is a {@link BatchOutputCheck}: it takes the batch with
 * {@link succeededBatch}, which gives the batch id and when its last attempt started (or fails the check as not run),
 * and is listed in data-path.ts's `BATCH_OUTPUT_CHECKS`.
 */
import type { DatasetConfig, EnvironmentConfig } from '../../../config/schema';
import type { CheckContext } from '../context';
import { CheckFailedError } from '../runner';
import type { TestUser } from './data-path-http';

export const STEP = {
  sample: 'data-path/sample',
  authenticate: 'data-path/authenticate',
  ingest: 'data-path/ingest',
  batch: 'data-path/batch',
  curated: 'data-path/curated output',
  mart: 'data-path/mart rows',
  athena: 'data-path/curated table (Athena)',
  audit: 'data-path/audit row',
  cleanup: 'data-path/cleanup',
} as const;

/** The object's row in audit.pipeline_runs, as last seen. */
export interface ObservedRun {
  readonly runId: string;
  /** RUNNING, STAGED, SUCCEEDED, or a final FAILED / NO_VALID_ROWS / UNREADABLE (lambda/validate/runs.ts). */
  readonly status: string;
  readonly rowsValid: number | null;
  readonly rowsRejected: number | null;
  readonly error: string | null;
  readonly stagedAt: Date | null;
}

/** The run's batch in audit.batches, as last seen. */
export interface ObservedBatch {
  readonly batchId: string;
  /** RUNNING, FAILED (waits for its next attempt), SUCCEEDED or ABANDONED (lambda/batch/batches.ts). */
  readonly status: string;
  readonly attempts: number;
  readonly runCount: number;
  /** When its last attempt started: what the curate job of that attempt wrote is newer. */
  readonly startedAt: Date;
  readonly finishedAt: Date | null;
  readonly nextAttemptAt: Date | null;
  readonly rowsLoaded: number | null;
  readonly glueJobRunId: string | null;
  readonly error: string | null;
}

/** One run of the data-path checks. */
export interface DataPathRun {
  environment?: EnvironmentConfig;
  prefix?: string;
  dataset?: DatasetConfig;
  seed?: number;
  sample?: string;
  contentType?: string;
  /** Primary keys of the sample's valid rows (as text, in primary-key column order). */
  keys?: string[][];
  ingestDate?: string;
  auth?: { kind: 'iam' } | { kind: 'cognito'; idToken: string } | { kind: 'skipped'; reason: string };
  user?: TestUser;
  /** Key of the sample in landing. */
  objectKey?: string;
  /** When the sample was sent (the context's clock). */
  sentAt?: number;
  /** The object's run, once audit has a row for it. */
  pipelineRun?: ObservedRun;
  /** The run's batch, once the run is in one. */
  batch?: ObservedBatch;
  /** Whether the batch check saw the run and its batch SUCCEEDED (only then do the batch output checks look). */
  batchSucceeded?: boolean;
  /** Rows the mart holds for the sample's keys (the mart check's count): the curated table must agree. */
  martRows?: number;
}

/** A check of what the batch wrote: runs after the batch check, before the cleanup, with the shared run. */
export interface BatchOutputCheck {
  readonly name: string;
  readonly run: (context: CheckContext, run: DataPathRun) => Promise<string>;
}

/** Fails a check whose input an earlier check should have produced. */
export function needs<T>(value: T | undefined, step: string): T {
  if (value === undefined) throw new CheckFailedError(`not run: ${step} did not complete`);
  return value;
}

/** The run's batch, when the batch check saw it SUCCEEDED (else the check fails as not run). */
export function succeededBatch(run: DataPathRun): ObservedBatch {
  if (!run.batchSucceeded || !run.batch) throw new CheckFailedError(`not run: ${STEP.batch} did not succeed`);
  return run.batch;
}
