/**
 * The one SQL seam of the platform. Handlers and the loader talk to an {@link SqlExecutor}; in AWS it is the RDS Data
 * API implementation, locally and in tests the `pg` one, so every statement is exercised against a real PostgreSQL.
 *
 * Parameters are named (`:name`), as the Data API expects; the `pg` implementation rewrites them to `$n`.
 */
export type SqlValue = string | number | bigint | boolean | null | Date | SqlJson | SqlTypedValue;
/** A value sent as JSON (cast it in SQL, e.g. `:payload::jsonb`). */
export interface SqlJson {
  readonly json: unknown;
}

/**
 * A value whose SQL type cannot be told from its JavaScript type: exact decimals (never through a float) and calendar
 * dates. The Data API sends them with the matching type hint; `pg` sends the text and lets PostgreSQL type it.
 */
export interface SqlTypedValue {
  readonly sqlType: 'decimal' | 'date';
  readonly value: string;
}
export const sqlDecimal = (value: string): SqlTypedValue => ({ sqlType: 'decimal', value });
export const sqlDate = (value: string): SqlTypedValue => ({ sqlType: 'date', value });

export type SqlParams = Readonly<Record<string, SqlValue | undefined>>;
/**
 * A result row. Both executors map column types the same way: numeric -> string (exact), bigint -> number when it is a
 * safe integer else bigint, integer/real/double -> number, boolean, timestamp/timestamptz -> Date, date -> 'YYYY-MM-DD',
 * json/jsonb -> parsed value, NULL -> null, anything else -> string.
 */
export type SqlRow = Record<string, unknown>;

export interface SqlExecutor {
  /** Runs one statement and returns its rows (empty for statements that return none). */
  query<T extends SqlRow = SqlRow>(sql: string, params?: SqlParams): Promise<T[]>;
  /** Runs `work` in one transaction: committed when it resolves, rolled back when it throws. */
  transaction<T>(work: (tx: SqlExecutor) => Promise<T>): Promise<T>;
}
