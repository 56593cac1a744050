/**
 * `npx tsx scripts/status.ts --env <env> [--since <iso date>] [--batches <n>]`: per dataset, what waits for a batch and
 * since when (audit.dataset_freshness), the last batch's landing -> mart latency (audit.batch_latency), the runs since
 * `--since` (default: 7 days) by outcome with the quarantined and failed ones, then the last batches of each dataset.
 * Reads the audit schema through the RDS Data API as the loader login; changes nothing.
 */
import { parseArgs } from 'node:util';
import type { SqlExecutor } from '../../lambda/shared/sql';
import {
  formatRows,
  formatSeconds,
  formatTime,
  oneLine,
  type OperatorOptions,
  openEnvironment,
  parseSince,
  reportError,
} from './environment';
import { UsageError } from '../lib/usage';

export const STATUS_USAGE = 'Usage: npx tsx scripts/status.ts --env <environment> [--since <ISO date>] [--batches <n>]';
export const DEFAULT_SINCE_DAYS = 7;
export const DEFAULT_BATCHES = 3;

export interface DatasetStatus {
  readonly dataset: string;
  readonly waitingRuns: number;
  readonly waitingBytes: number;
  /** Age of the oldest STAGED run (since it was staged), seconds; null when nothing waits. */
  readonly oldestWaitingSeconds: number | null;
  readonly runs: number;
  readonly succeeded: number;
  /** NO_VALID_ROWS or UNREADABLE: the whole object is in quarantine. */
  readonly quarantined: number;
  readonly failed: number;
  /** Rows rejected (in quarantine) across the runs. */
  readonly rowsRejected: number;
}

export interface BatchStatus {
  readonly batchId: string;
  readonly dataset: string;
  readonly status: string;
  readonly attempts: number;
  readonly runCount: number;
  readonly rowsValid: number;
  readonly rowsLoaded: number | null;
  readonly createdAt: Date;
  readonly durationSeconds: number | null;
  readonly landingToMartSeconds: number | null;
  readonly nextAttemptAt: Date | null;
  readonly error: string | null;
}

export interface StatusReport {
  readonly datasets: readonly DatasetStatus[];
  readonly batches: readonly BatchStatus[];
}

export async function readStatus(
  executor: SqlExecutor,
  request: { readonly datasets: readonly string[]; readonly now: Date; readonly since: Date; readonly batches: number },
): Promise<StatusReport> {
  const now = request.now;
  const freshness = await executor.query<{
    dataset: string;
    staged_runs: number;
    staged_bytes: number;
    oldest_seconds: number | null;
  }>(
    `SELECT dataset, staged_runs, staged_bytes,
            CAST(EXTRACT(EPOCH FROM (CAST(:now AS timestamptz) - oldest_staged_at)) AS double precision) AS oldest_seconds
       FROM audit.dataset_freshness`,
    { now },
  );
  const runs = await executor.query<{
    dataset: string;
    runs: number;
    succeeded: number;
    quarantined: number;
    failed: number;
    rows_rejected: number;
  }>(
    `SELECT dataset,
            CAST(count(*) AS integer) AS runs,
            CAST(count(*) FILTER (WHERE status = 'SUCCEEDED') AS integer) AS succeeded,
            CAST(count(*) FILTER (WHERE status IN ('NO_VALID_ROWS', 'UNREADABLE')) AS integer) AS quarantined,
            CAST(count(*) FILTER (WHERE status = 'FAILED') AS integer) AS failed,
            CAST(COALESCE(sum(rows_rejected), 0) AS bigint) AS rows_rejected
       FROM audit.pipeline_runs
      WHERE COALESCE(landed_at, started_at) >= :since
      GROUP BY dataset`,
    { since: request.since },
  );
  const batches = await executor.query<{
    batch_id: string;
    dataset: string;
    status: string;
    attempts: number;
    run_count: number;
    rows_valid: number;
    rows_loaded: number | null;
    created_at: Date;
    duration_seconds: number | null;
    landing_to_mart_seconds: number | null;
    next_attempt_at: Date | null;
    error: string | null;
  }>(
    `SELECT batch_id, dataset, status, attempts, run_count, rows_valid, rows_loaded, created_at, duration_seconds,
            landing_to_mart_seconds, next_attempt_at, error
       FROM (SELECT b.batch_id, b.dataset, b.status, b.attempts, b.run_count, b.rows_valid, b.rows_loaded, b.created_at,
                    CAST(EXTRACT(EPOCH FROM (COALESCE(b.finished_at, CAST(:now AS timestamptz)) - b.started_at))
                         AS double precision) AS duration_seconds,
                    CAST(EXTRACT(EPOCH FROM l.landing_to_mart) AS double precision) AS landing_to_mart_seconds,
                    CASE WHEN b.status = 'FAILED' THEN b.next_attempt_at END AS next_attempt_at,
                    b.error,
                    row_number() OVER (PARTITION BY b.dataset ORDER BY b.created_at DESC, b.batch_id DESC) AS position
               FROM audit.batches b
               LEFT JOIN audit.batch_latency l ON l.batch_id = b.batch_id) ranked
      WHERE position <= :batches
      ORDER BY dataset, created_at DESC, batch_id DESC`,
    { now, batches: request.batches },
  );
  const names = [
    ...new Set([...request.datasets, ...freshness.map((r) => r.dataset), ...runs.map((r) => r.dataset)]),
  ].sort();
  return {
    datasets: names.map((dataset) => {
      const waiting = freshness.find((row) => row.dataset === dataset);
      const counted = runs.find((row) => row.dataset === dataset);
      return {
        dataset,
        waitingRuns: waiting?.staged_runs ?? 0,
        waitingBytes: waiting?.staged_bytes ?? 0,
        oldestWaitingSeconds: waiting?.oldest_seconds ?? null,
        runs: counted?.runs ?? 0,
        succeeded: counted?.succeeded ?? 0,
        quarantined: counted?.quarantined ?? 0,
        failed: counted?.failed ?? 0,
        rowsRejected: Number(counted?.rows_rejected ?? 0),
      };
    }),
    batches: batches.map((row) => ({
      batchId: row.batch_id,
      dataset: row.dataset,
      status: row.status,
      attempts: row.attempts,
      runCount: row.run_count,
      rowsValid: Number(row.rows_valid),
      rowsLoaded: row.rows_loaded === null ? null : Number(row.rows_loaded),
      createdAt: row.created_at,
      durationSeconds: row.duration_seconds,
      landingToMartSeconds: row.landing_to_mart_seconds,
      nextAttemptAt: row.next_attempt_at,
      error: row.error,
    })),
  };
}

export function formatStatus(report: StatusReport): string[] {
  const lastBatch = (dataset: string) => report.batches.find((batch) => batch.dataset === dataset);
  const summary = formatRows(
    [
      'DATASET',
      'WAITING RUNS',
      'OLDEST WAITING',
      'LAST BATCH',
      'LANDING->MART',
      'RUNS',
      'SUCCEEDED',
      'QUARANTINED',
      'FAILED',
      'ROWS REJECTED',
    ],
    report.datasets.map((status) => {
      const batch = lastBatch(status.dataset);
      return [
        status.dataset,
        String(status.waitingRuns),
        formatSeconds(status.oldestWaitingSeconds),
        batch ? `${batch.status} ${formatTime(batch.createdAt)}` : '-',
        formatSeconds(batch?.landingToMartSeconds),
        String(status.runs),
        String(status.succeeded),
        String(status.quarantined),
        String(status.failed),
        String(status.rowsRejected),
      ];
    }),
  );
  const batches =
    report.batches.length === 0
      ? ['(no batch yet)']
      : formatRows(
          [
            'DATASET',
            'BATCH',
            'STATUS',
            'ATTEMPTS',
            'RUNS',
            'ROWS VALID',
            'ROWS LOADED',
            'CREATED',
            'DURATION',
            'LANDING->MART',
            'NOTE',
          ],
          report.batches.map((batch) => [
            batch.dataset,
            batch.batchId,
            batch.status,
            String(batch.attempts),
            String(batch.runCount),
            String(batch.rowsValid),
            batch.rowsLoaded === null ? '-' : String(batch.rowsLoaded),
            formatTime(batch.createdAt),
            formatSeconds(batch.durationSeconds),
            formatSeconds(batch.landingToMartSeconds),
            [batch.nextAttemptAt ? `next attempt ${formatTime(batch.nextAttemptAt)}` : '', oneLine(batch.error ?? '')]
              .filter(Boolean)
              .join('; '),
          ]),
        );
  return [...summary, '', 'Last batches', ...batches];
}

export async function runStatus(options: OperatorOptions): Promise<number> {
  const { print } = options;
  try {
    const args = parseStatusArguments(options.argv);
    const context = await openEnvironment(options, args.env, []);
    const now = (options.now ?? (() => new Date()))();
    const since = args.since ?? new Date(now.getTime() - DEFAULT_SINCE_DAYS * 86_400_000);
    const report = await readStatus(context.executor, {
      datasets: context.datasets,
      now,
      since,
      batches: args.batches,
    });
    print(
      `Status of ${context.prefix} at ${formatTime(now)} (runs landed since ${formatTime(since)}; last ${args.batches} batches per dataset)`,
    );
    for (const line of formatStatus(report)) print(line);
    const replayable = report.datasets.filter((status) => status.quarantined + status.failed > 0);
    for (const status of replayable) {
      print(
        `${status.dataset}: ${status.quarantined} quarantined and ${status.failed} failed run(s); after a fix: npx tsx scripts/replay.ts --env ${args.env} --dataset ${status.dataset}`,
      );
    }
    return 0;
  } catch (error) {
    return reportError(error, print);
  }
}

function parseStatusArguments(argv: readonly string[]): { env: string; since?: Date; batches: number } {
  let values: { env?: string; since?: string; batches?: string };
  try {
    ({ values } = parseArgs({
      args: [...argv],
      options: { env: { type: 'string' }, since: { type: 'string' }, batches: { type: 'string' } },
      strict: true,
      allowPositionals: false,
    }));
  } catch (error) {
    throw new UsageError(`${(error as Error).message}. ${STATUS_USAGE}`);
  }
  if (!values.env) throw new UsageError(`--env is required. ${STATUS_USAGE}`);
  const batches = values.batches === undefined ? DEFAULT_BATCHES : Number(values.batches);
  if (!Number.isSafeInteger(batches) || batches < 1) {
    throw new UsageError(`--batches is "${values.batches}", not a whole number >= 1. ${STATUS_USAGE}`);
  }
  return { env: values.env, since: parseSince(values.since, STATUS_USAGE), batches };
}
