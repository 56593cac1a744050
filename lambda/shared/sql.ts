/**
 * The one SQL seam of the platform. Handlers and the loader talk to an {@link SqlExecutor}; in AWS it is the RDS Data
 * API implementation, locally and in tests the `pg` one, so every statement is exercised against a real PostgreSQL.
 *
 * Parameters are named (`:name`), as the Data API expects; the `pg` implementation rewrites them to `$n`.
 */
export type SqlValue = string | number | bigint | boolean | null | Date | SqlJson;
/** A value sent as JSON (cast it in SQL, e.g. `:payload::jsonb`). */
export interface SqlJson {
  readonly json: unknown;
}

export type SqlParams = Readonly<Record<string, SqlValue | undefined>>;
export type SqlRow = Record<string, unknown>;

export interface SqlExecutor {
  /** Runs one statement and returns its rows (empty for statements that return none). */
  query<T extends SqlRow = SqlRow>(sql: string, params?: SqlParams): Promise<T[]>;
  /** Runs `work` in one transaction: committed when it resolves, rolled back when it throws. */
  transaction<T>(work: (tx: SqlExecutor) => Promise<T>): Promise<T>;
}
