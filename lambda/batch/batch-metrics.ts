/**
 * What stage B measures for the operations dashboard and the freshness alarm, read from audit (the batch loop's own
 * tables): the age of a dataset's oldest STAGED run, and how long a completed batch took.
 */
import type { SqlExecutor } from '../shared/sql';

const toDate = (value: Date | string) => (value instanceof Date ? value : new Date(value));
const secondsBetween = (from: Date | string, to: Date | string) =>
  Math.max(0, (toDate(to).getTime() - toDate(from).getTime()) / 1000);

/** Seconds the dataset's oldest STAGED run has waited (in a batch or not), 0 when none waits. */
export async function oldestStagedAgeSeconds(executor: SqlExecutor, dataset: string, now: Date): Promise<number> {
  const [row] = await executor.query<{ oldest: Date | string | null }>(
    `SELECT min(staged_at) AS oldest FROM audit.pipeline_runs WHERE dataset = :dataset AND status = 'STAGED'`,
    { dataset },
  );
  return row?.oldest ? Math.round(secondsBetween(row.oldest, now)) : 0;
}

export interface BatchTimings {
  /** From the start of the batch's last attempt to its completion. */
  readonly durationSeconds: number;
  /** From the oldest object of the batch landing to its completion (landing -> curated and mart). */
  readonly landingToMartSeconds: number;
}

/** The timings of a SUCCEEDED batch, or undefined when it is not one. */
export async function batchTimings(executor: SqlExecutor, batchId: string): Promise<BatchTimings | undefined> {
  const [row] = await executor.query<{
    started_at: Date | string | null;
    finished_at: Date | string | null;
    oldest_landed_at: Date | string | null;
  }>(
    `SELECT started_at, finished_at, oldest_landed_at FROM audit.batches
      WHERE batch_id = :batchId AND status = 'SUCCEEDED'`,
    { batchId },
  );
  if (!row?.started_at || !row.finished_at) return undefined;
  return {
    durationSeconds: Math.round(secondsBetween(row.started_at, row.finished_at)),
    landingToMartSeconds: Math.round(secondsBetween(row.oldest_landed_at ?? row.started_at, row.finished_at)),
  };
}
