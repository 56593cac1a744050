/**
 * The lease on a dataset's stage B loop (audit.dataset_schedules), shared by stage A (which starts a loop when a run is
 * staged and no live one holds the dataset) and stage B (whose loop renews, hands over or releases it). Both take the
 * row with SELECT ... FOR UPDATE first in their transaction, so their decisions are serialized per dataset.
 */
import type { SqlExecutor } from './sql';

export interface ScheduleRow {
  holder: string | null;
  lease_expires_at: Date | null;
}

/** Takes the dataset's schedule row for the rest of the transaction (created on first use). */
export async function lockSchedule(tx: SqlExecutor, dataset: string, now: Date): Promise<ScheduleRow> {
  await tx.query(
    `INSERT INTO audit.dataset_schedules (dataset, updated_at) VALUES (:dataset, :now)
     ON CONFLICT (dataset) DO NOTHING`,
    { dataset, now },
  );
  const [row] = await tx.query<ScheduleRow & Record<string, unknown>>(
    'SELECT holder, lease_expires_at FROM audit.dataset_schedules WHERE dataset = :dataset FOR UPDATE',
    { dataset },
  );
  return row;
}

/** Gives the dataset to `holder` until `now + leaseSeconds` (or releases it, holder null). */
export async function setLease(
  tx: SqlExecutor,
  dataset: string,
  holder: string | null,
  now: Date,
  leaseSeconds: number,
): Promise<void> {
  await tx.query(
    `UPDATE audit.dataset_schedules
        SET holder = :holder,
            lease_expires_at = CASE WHEN :holder::text IS NULL THEN NULL
                                    ELSE :now::timestamptz + make_interval(secs => :leaseSeconds) END,
            updated_at = :now
      WHERE dataset = :dataset`,
    { dataset, holder, now, leaseSeconds },
  );
}

/** Whether the lease is held by someone else who may still be alive. */
export function heldByAnother(schedule: ScheduleRow, executionName: string, now: Date): boolean {
  return (
    schedule.holder !== null &&
    schedule.holder !== executionName &&
    schedule.lease_expires_at !== null &&
    schedule.lease_expires_at.getTime() > now.getTime()
  );
}
