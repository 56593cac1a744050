/**
 * The curated-table leg of the data-path check: after a batch, queries the dataset's curated Iceberg table through the
 * environment's Athena workgroup and compares the rows of the sample's keys with what the mart holds for them.
 *
 * Two queries, each waited for with a bound (stopped when the bound is reached):
 * 1. the rows of the keys, and how many of them the batch wrote (`_batch_id`), in `<database>.<dataset>`;
 * 2. the table's snapshot count from `"<dataset>$snapshots"`: only an Iceberg table has one, so a Hive table left by
 *    an old deploy fails here instead of passing on a full scan.
 *
 * The role running it needs Athena on the workgroup and read access to the table (CatalogStack.grantCuratedQuery).
 */
import {
  AthenaClient,
  GetQueryExecutionCommand,
  GetQueryResultsCommand,
  StartQueryExecutionCommand,
  StopQueryExecutionCommand,
} from '@aws-sdk/client-athena';
import type { DatasetConfig } from '../../../config/schema';
import { type CheckContext, output } from '../context';
import { CheckFailedError, CheckTimeoutError, waitFor } from '../runner';

/** Stage outputs the check reads (the Catalog stack's): add them to the data-path module's requiredOutputs. */
export const CURATED_ATHENA_OUTPUTS = ['CURATED_DATABASE_NAME', 'ATHENA_WORK_GROUP'] as const;

/** Keys per query: the sample has a handful; a long IN list would only make the query text large. */
export const MAX_KEYS = 1000;

export interface CuratedTableExpectation {
  readonly dataset: Pick<DatasetConfig, 'name' | 'primaryKey'>;
  /** Primary-key values of the sample's valid rows, in primary-key column order, as text (compared as varchar). */
  readonly keys: readonly (readonly string[])[];
  /** Rows the mart holds for the same keys (the mart check's count): curated and mart must agree. */
  readonly martRows: number;
  /** The batch that must have written them. @default - any batch */
  readonly batchId?: string;
  /** Athena workgroup. @default - the ATHENA_WORK_GROUP output */
  readonly workGroup?: string;
  /** Curated Glue database. @default - the CURATED_DATABASE_NAME output */
  readonly database?: string;
  /** Longest wait for each query. @default - the context's waitTimeoutMs */
  readonly timeoutMs?: number;
}

/** `"name"` for Athena (Trino): quotes doubled. */
export function athenaIdentifier(name: string): string {
  return `"${name.replace(/"/g, '""')}"`;
}

/** `'text'` for Athena: quotes doubled. */
export function athenaString(value: string): string {
  return `'${value.replace(/'/g, "''")}'`;
}

/** The query counting the rows of `keys` (and those of the batch) in the curated table. */
export function keyCountQuery(database: string, expectation: CuratedTableExpectation): string {
  const { dataset, keys, batchId } = expectation;
  if (keys.length === 0 || keys.length > MAX_KEYS) {
    throw new CheckFailedError(`expected 1 to ${MAX_KEYS} sample keys to look up, got ${keys.length}`);
  }
  const columns = dataset.primaryKey.map((column) => `CAST(${athenaIdentifier(column)} AS varchar)`);
  for (const key of keys) {
    if (key.length !== columns.length) {
      throw new CheckFailedError(
        `sample key ${JSON.stringify(key)} has ${key.length} values; ${dataset.name}'s primary key has ${columns.length}`,
      );
    }
  }
  const left = columns.length === 1 ? columns[0] : `(${columns.join(', ')})`;
  const tuples = keys.map((key) =>
    key.length === 1 ? athenaString(key[0]) : `(${key.map((value) => athenaString(value)).join(', ')})`,
  );
  const fromBatch = batchId === undefined ? 'count(*)' : `count_if("_batch_id" = ${athenaString(batchId)})`;
  return (
    `SELECT count(*) AS "rows", ${fromBatch} AS "from_batch" ` +
    `FROM ${athenaIdentifier(database)}.${athenaIdentifier(dataset.name)} WHERE ${left} IN (${tuples.join(', ')})`
  );
}

/** The query counting the table's snapshots (Iceberg metadata table). */
export function snapshotCountQuery(database: string, dataset: string): string {
  return `SELECT count(*) AS "snapshots" FROM ${athenaIdentifier(database)}.${athenaIdentifier(`${dataset}$snapshots`)}`;
}

/** Runs one query through the workgroup and returns its first row by column name; stops it when the bound runs out. */
export async function runAthenaQuery(
  context: CheckContext,
  workGroup: string,
  sql: string,
  timeoutMs: number = context.waitTimeoutMs,
): Promise<Record<string, string | undefined>> {
  const athena = context.clients.get(AthenaClient);
  let queryId: string | undefined;
  try {
    ({ QueryExecutionId: queryId } = await athena.send(
      new StartQueryExecutionCommand({ QueryString: sql, WorkGroup: workGroup }),
    ));
  } catch (error) {
    throw refusal(error, workGroup);
  }
  if (!queryId) throw new CheckFailedError(`Athena started no query for: ${sql}`);
  const id = queryId;
  try {
    await waitFor(
      context,
      `Athena query ${id} in workgroup ${workGroup}`,
      async () => {
        const { QueryExecution } = await athena.send(new GetQueryExecutionCommand({ QueryExecutionId: id }));
        const state = QueryExecution?.Status?.State ?? 'UNKNOWN';
        if (state === 'SUCCEEDED') return { value: true, state };
        if (state === 'FAILED' || state === 'CANCELLED') {
          const reason = QueryExecution?.Status?.StateChangeReason ?? 'no reason given';
          throw new CheckFailedError(
            `Athena query ${id} ${state}: ${reason.slice(0, 500)}${hint(reason)} (query: ${sql})`,
          );
        }
        return { state };
      },
      timeoutMs,
    );
  } catch (error) {
    if (error instanceof CheckTimeoutError) {
      await athena.send(new StopQueryExecutionCommand({ QueryExecutionId: id })).catch(() => undefined);
    }
    throw error;
  }
  const { ResultSet } = await athena.send(new GetQueryResultsCommand({ QueryExecutionId: id, MaxResults: 2 }));
  const [header, row] = ResultSet?.Rows ?? [];
  const names = (header?.Data ?? []).map((datum) => datum.VarCharValue ?? '');
  if (!row) throw new CheckFailedError(`Athena query ${id} returned no row (query: ${sql})`);
  return Object.fromEntries(names.map((name, index) => [name, row.Data?.[index]?.VarCharValue]));
}

/**
 * Checks the curated table after a batch: the sample's keys are there once each, as many as in the mart, written by
 * the batch when one is named, in an Iceberg table with at least one snapshot. Resolves with a detail for the report.
 */
export async function checkCuratedTable(context: CheckContext, expectation: CuratedTableExpectation): Promise<string> {
  const workGroup = expectation.workGroup ?? output(context, 'ATHENA_WORK_GROUP');
  const database = expectation.database ?? output(context, 'CURATED_DATABASE_NAME');
  const table = `${database}.${expectation.dataset.name}`;
  const counts = await runAthenaQuery(context, workGroup, keyCountQuery(database, expectation), expectation.timeoutMs);
  const rows = Number(counts.rows);
  const fromBatch = Number(counts.from_batch);
  const expected = expectation.keys.length;
  if (!Number.isInteger(rows) || rows !== expected) {
    throw new CheckFailedError(`expected ${expected} rows of the sample's keys in ${table}, found ${counts.rows}`);
  }
  if (rows !== expectation.martRows) {
    throw new CheckFailedError(
      `${table} holds ${rows} rows of the sample's keys, the mart ${expectation.martRows}: the curated table and the mart disagree`,
    );
  }
  if (expectation.batchId !== undefined && fromBatch !== rows) {
    throw new CheckFailedError(
      `${fromBatch} of the ${rows} rows of the sample's keys in ${table} were written by batch ${expectation.batchId}`,
    );
  }
  const { snapshots } = await runAthenaQuery(
    context,
    workGroup,
    snapshotCountQuery(database, expectation.dataset.name),
    expectation.timeoutMs,
  );
  if (!(Number(snapshots) >= 1)) {
    throw new CheckFailedError(`${table} has ${snapshots ?? 'no'} Iceberg snapshots after a batch`);
  }
  const batch = expectation.batchId === undefined ? '' : ` (all from batch ${expectation.batchId})`;
  return `${rows} rows in ${table} through workgroup ${workGroup}, as in the mart${batch}; Iceberg table with ${snapshots} snapshot(s)`;
}

/** A refused StartQueryExecution, worded with the fix. */
function refusal(error: unknown, workGroup: string): Error {
  const name = (error as Error).name;
  if (name === 'AccessDeniedException') {
    return new CheckFailedError(
      `Athena refused the query (${(error as Error).message}). Fix: grant the role athena:StartQueryExecution on workgroup ${workGroup} and read access to the curated tables (CatalogStack.grantCuratedQuery)`,
    );
  }
  if (name === 'InvalidRequestException') {
    return new CheckFailedError(`Athena rejected the query: ${(error as Error).message}`);
  }
  return error as Error;
}

/** What to do about a failed query, when its reason says. */
function hint(reason: string): string {
  if (/TABLE_NOT_FOUND|does not exist/i.test(reason)) return '. Fix: deploy the Catalog stack of this config';
  if (/HIVE_UNSUPPORTED_FORMAT|not an Iceberg table/i.test(reason)) {
    return '. Fix: the table is not an Iceberg table; delete the old table and deploy the Catalog stack (see README, Curated zone)';
  }
  if (/Access ?Denied|not authorized/i.test(reason)) {
    return '. Fix: grant the role read access to the table files and the key (CatalogStack.grantCuratedQuery)';
  }
  if (/scanned|cutoff|limit/i.test(reason)) return '. Fix: raise etl.athenaScanLimitBytes';
  return '';
}
