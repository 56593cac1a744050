/**
 * Loads one curated batch (`_mart/<dataset>/batch_id=<batchId>/part-*.csv[.gz]`, header row, columns in config order)
 * into its mart table, all or nothing:
 *
 *   BEGIN                              -- as the loader login (a member of mart_loader)
 *   CREATE TEMP TABLE staging (LIKE mart.<table>) ON COMMIT DROP  -- NOT NULL and types checked on the way in
 *   fill it: Aurora imports server-side from S3 (aws_s3.table_import_from_s3), elsewhere COPY FROM STDIN (test/helpers/mart-copy.ts: tests and benchmarks)
 *   merge: update the rows whose values differ, insert the new keys (mergeSql)
 *   record the rows loaded on the audit.batches row; COMMIT
 *
 * Idempotent: a second load of the same batch inserts and updates nothing. A bad row (wrong type, NULL key, header
 * not matching the table, duplicate key in the batch) rolls everything back, leaving the mart unchanged; the failure
 * is then recorded in its own transaction (the batch row's error) and a {@link MartLoadError} is thrown; the batch's
 * status is stage B's to set (it retries the batch whole).
 * A cluster that is resuming gives a TransientError (nothing recorded: retry).
 */
import { DomainError, InvalidInputError, TransientError } from '../shared/errors';
import { MART_SCHEMA } from '../shared/mart-contract';
import type { SqlExecutor } from '../shared/sql';
import type { MartLoadResult } from './contract';

export interface MartLoadRequest {
  readonly dataset: string;
  /** Mart table (unqualified, in schema `mart`). */
  readonly table: string;
  /** The stage B batch (audit.batches) the files belong to. */
  readonly batchId: string;
  /** Bucket and prefix of the batch files (for messages and the server-side import). */
  readonly bucket: string;
  readonly prefix: string;
}

export interface StagingTable {
  /** Qualified name, e.g. `pg_temp."staging_impressions"`. */
  readonly name: string;
  /** Columns in table order (= dataset-config order = CSV header order). */
  readonly columns: readonly string[];
}

/** Fills the staging table inside the load transaction; returns the rows staged when it knows them (saves a count). */
export type Stager = (tx: SqlExecutor, staging: StagingTable) => Promise<number | undefined>;

/** The batch was not loaded (bad data, missing table ...): the mart is unchanged and the audit row says why. */
export class MartLoadError extends DomainError {}

export interface LoadOptions {
  /**
   * Role to narrow the session to first (SET LOCAL ROLE), for callers connected as a more privileged user (tests and
   * benchmarks connected as the owner). In AWS the function logs in as the loader login and needs none.
   * @default - none: the connected user's own privileges
   */
  readonly role?: string;
  /** Memory for the duplicate-key check's hash (SET LOCAL work_mem). @default '64MB' */
  readonly workMem?: string;
  /**
   * Memory for the session's temp tables (SET LOCAL temp_buffers), so the staging table stays in memory. PostgreSQL only
   * accepts it before the session's first temp table; on a reused session it is skipped. @default '256MB'
   */
  readonly tempBuffers?: string;
}

const MEMORY = /^\d{1,5}(kB|MB|GB)$/;

const IDENTIFIER = /^[a-z_][a-z0-9_]{0,62}$/;
export const quoteIdentifier = (name: string) => `"${name.replace(/"/g, '""')}"`;

export async function loadBatch(
  executor: SqlExecutor,
  request: MartLoadRequest,
  stage: Stager,
  options: LoadOptions = {},
): Promise<MartLoadResult> {
  const role = options.role;
  for (const [what, name] of [
    ['table', request.table],
    ['role', role ?? 'none'],
  ]) {
    if (!IDENTIFIER.test(name)) {
      throw new InvalidInputError(
        `Invalid mart ${what} name ${JSON.stringify(name)}. Fix: use a lower-case SQL identifier`,
      );
    }
  }
  const asRole = async (tx: SqlExecutor) => {
    if (role !== undefined) await tx.query(`SET LOCAL ROLE ${quoteIdentifier(role)}`);
  };

  try {
    return await executor.transaction(async (tx) => {
      await asRole(tx);
      await tuneSession(tx, options);
      const { columns, primaryKey } = await describeTable(tx, request.table);
      const staging: StagingTable = { name: `pg_temp.${quoteIdentifier(`staging_${request.table}`)}`, columns };
      await tx.query(
        `CREATE TEMP TABLE ${quoteIdentifier(`staging_${request.table}`)} (LIKE ${qualified(request.table)}) ON COMMIT DROP`,
      );
      const copied = await stage(tx, staging);
      const staged =
        copied ?? (await tx.query<{ staged: number }>(`SELECT count(*) AS staged FROM ${staging.name}`))[0].staged;
      const merge = mergeSql(request.table, staging.name, columns, primaryKey);
      const repeatedKey = (key: string) =>
        new MartLoadError(`the batch has the same primary key more than once (${primaryKey.join(', ')} = ${key})`);
      await tx.query(merge.lock);
      const [repeated] = await tx.query<{ key: string }>(merge.repeatedExistingKey);
      if (repeated) throw repeatedKey(repeated.key);
      const [{ updated }] = await tx.query<{ updated: number }>(merge.update);
      const [{ inserted }] = await tx.query<{ inserted: number }>(merge.insert).catch((error: Error) => {
        // Under the table lock only the batch itself can repeat a new key: the mart's primary key says which.
        const repeatedNewKey = /duplicate key value violates unique constraint/.test(error.message);
        throw repeatedNewKey
          ? repeatedKey(/Key \(.*?\)=\((.*)\) already exists/.exec(describeError(error))?.[1] ?? '?')
          : error;
      });
      const result: MartLoadResult = {
        rowsStaged: staged,
        rowsInserted: inserted,
        rowsUpdated: updated,
        rowsUnchanged: staged - inserted - updated,
      };
      await recordBatch(tx, request, { rowsLoaded: staged, error: null });
      return result;
    });
  } catch (error) {
    if (error instanceof TransientError) throw error;
    const reason = describeError(error);
    const failure = new MartLoadError(
      `Batch s3://${request.bucket}/${request.prefix} of dataset ${request.dataset} (batch ${request.batchId}) was not loaded; ${qualified(request.table)} is unchanged: ${reason}. Fix: correct the data (or the table) and run the load again`,
    );
    try {
      await executor.transaction(async (tx) => {
        await asRole(tx);
        await recordBatch(tx, request, { rowsLoaded: null, error: reason });
      });
    } catch (auditError) {
      failure.message += ` (the audit row could not be written either: ${describeError(auditError)})`;
    }
    throw failure;
  }
}

/** Memory settings for this transaction only; a refused temp_buffers (session already used temp tables) is harmless. */
async function tuneSession(tx: SqlExecutor, options: LoadOptions): Promise<void> {
  const workMem = options.workMem ?? '64MB';
  const tempBuffers = options.tempBuffers ?? '256MB';
  for (const value of [workMem, tempBuffers]) {
    if (!MEMORY.test(value)) {
      throw new InvalidInputError(`Invalid memory setting ${JSON.stringify(value)}. Fix: use e.g. "64MB"`);
    }
  }
  await tx.query(`SET LOCAL work_mem = '${workMem}'`);
  await tx.transaction((inner) => inner.query(`SET LOCAL temp_buffers = '${tempBuffers}'`)).catch(() => undefined);
}

function qualified(table: string): string {
  return `${MART_SCHEMA}.${quoteIdentifier(table)}`;
}

/** Columns in table order and the primary key, read from the catalog (the table is the contract, not a copy of it). */
async function describeTable(tx: SqlExecutor, table: string): Promise<{ columns: string[]; primaryKey: string[] }> {
  const rows = await tx.query<{ name: string; primary_key: boolean }>(
    `SELECT a.attname AS name, COALESCE(a.attnum = ANY (i.indkey), false) AS primary_key
       FROM pg_attribute a
       LEFT JOIN pg_index i ON i.indrelid = a.attrelid AND i.indisprimary
      WHERE a.attrelid = to_regclass(:table) AND a.attnum > 0 AND NOT a.attisdropped
      ORDER BY a.attnum`,
    { table: qualified(table) },
  );
  if (rows.length === 0) {
    throw new MartLoadError(
      `table ${qualified(table)} does not exist (enable the mart for the dataset in config/datasets and deploy: the migrations create it)`,
    );
  }
  const primaryKey = rows.filter((row) => row.primary_key).map((row) => row.name);
  if (primaryKey.length === 0) throw new MartLoadError(`table ${qualified(table)} has no primary key to upsert on`);
  return { columns: rows.map((row) => row.name), primaryKey };
}

/**
 * The merge, as statements run in order (see {@link loadBatch}): lock the table against a concurrent load of the same
 * table (readers are not blocked), refuse a batch with a repeated key, update rows whose values differ, insert new
 * keys. Two plain statements instead of one INSERT ... ON CONFLICT: plain inserts skip the per-row speculative
 * insertion, which made the upsert about twice as slow as COPY on a million rows (bench/mart-load.ts).
 */
export function mergeSql(table: string, staging: string, columns: readonly string[], primaryKey: readonly string[]) {
  const target = qualified(table);
  const key = primaryKey.map(quoteIdentifier);
  const list = columns.map(quoteIdentifier).join(', ');
  const others = columns.filter((column) => !primaryKey.includes(column)).map(quoteIdentifier);
  const joined = key.map((c) => `target.${c} = batch.${c}`).join(' AND ');
  return {
    lock: `LOCK TABLE ${target} IN SHARE ROW EXCLUSIVE MODE`,
    // Repeated new keys make the insert fail on the mart's primary key; repeated existing keys would make the update
    // pick one row silently, so only those are looked for (a join that is empty on a first load).
    repeatedExistingKey: `SELECT ${key.map((c) => `batch.${c}::text`).join(" || ', ' || ")} AS key
      FROM ${staging} AS batch JOIN ${target} AS target ON ${joined}
     GROUP BY ${key.map((c) => `batch.${c}`).join(', ')} HAVING count(*) > 1 LIMIT 1`,
    update:
      others.length === 0
        ? 'SELECT 0 AS updated'
        : `WITH changed AS (
    UPDATE ${target} AS target SET ${others.map((c) => `${c} = batch.${c}`).join(', ')}
      FROM ${staging} AS batch
     WHERE ${joined}
       AND (${others.map((c) => `target.${c}`).join(', ')}) IS DISTINCT FROM (${others.map((c) => `batch.${c}`).join(', ')})
    RETURNING 1
  )
  SELECT count(*) AS updated FROM changed`,
    insert: `WITH added AS (
    INSERT INTO ${target} (${list})
    SELECT ${list} FROM ${staging} AS batch
     WHERE NOT EXISTS (SELECT 1 FROM ${target} AS target WHERE ${joined})
    RETURNING 1
  )
  SELECT count(*) AS inserted FROM added`,
  };
}

async function recordBatch(
  tx: SqlExecutor,
  request: MartLoadRequest,
  outcome: { rowsLoaded: number | null; error: string | null },
): Promise<void> {
  // No row (a load outside stage B, e.g. a test or a manual replay of files) is not an error: nothing to record on.
  await tx.query(
    `UPDATE audit.batches
        SET rows_loaded = COALESCE(:rowsLoaded, rows_loaded), error = COALESCE(:error, error), updated_at = now()
      WHERE batch_id = :batchId AND dataset = :dataset`,
    {
      batchId: request.batchId,
      dataset: request.dataset,
      rowsLoaded: outcome.rowsLoaded,
      error: outcome.error === null ? null : outcome.error.slice(0, 4000),
    },
  );
}

/** The database's message plus where it happened (COPY reports the file line and column of a bad value). */
function describeError(error: unknown): string {
  const { message, where, detail } = error as { message?: string; where?: string; detail?: string };
  return [message ?? String(error), detail, where].filter(Boolean).join('; ');
}
