/**
 * {@link SqlExecutor} over node-postgres: used locally, in tests and benchmarks, against any PostgreSQL. Statements use
 * the same `:name` parameters as the Data API; they are rewritten to `$n` here.
 */
import pg from 'pg';
import { TransientError } from '../../lambda/shared/errors';
import type { SqlExecutor, SqlParams, SqlRow, SqlValue } from '../../lambda/shared/sql';
import { findNamedParameters } from '../../lambda/shared/sql-params';

/** Anything that can run a query: a Pool (each transaction takes a client) or one connected client. */
export type PgQueryable = pg.Pool | pg.PoolClient | pg.Client;

const OID = { int8: 20, date: 1082, timestamp: 1114, timestamptz: 1184, numeric: 1700 } as const;

/** Result mapping shared with the Data API executor (see `SqlRow`); set per query so no global parser is touched. */
const typeParsers: Record<number, (text: string) => unknown> = {
  [OID.int8]: (text) => {
    const value = BigInt(text);
    return value >= BigInt(Number.MIN_SAFE_INTEGER) && value <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(value) : value;
  },
  [OID.numeric]: (text) => text,
  [OID.date]: (text) => text,
  // A timestamp without zone is read as UTC, never as the local time of whatever machine runs the code.
  [OID.timestamp]: (text) => new Date(`${text.replace(' ', 'T')}Z`),
};

export const pgTypes: pg.CustomTypesConfig = {
  getTypeParser: ((oid: number, format?: 'text' | 'binary') =>
    typeParsers[oid] ?? pg.types.getTypeParser(oid, format)) as pg.CustomTypesConfig['getTypeParser'],
};

/** Rewrites `:name` parameters to `$n` (a name used twice gets one number) and orders the values to match. */
export function toPositional(sql: string, params: SqlParams = {}): { text: string; values: unknown[] } {
  const positions = new Map<string, number>();
  const values: unknown[] = [];
  let text = '';
  let last = 0;
  for (const parameter of findNamedParameters(sql)) {
    if (!(parameter.name in params)) {
      throw new Error(
        `SQL parameter :${parameter.name} is used by the statement but was not given (given: ${Object.keys(params).join(', ') || 'none'}). Fix: pass { ${parameter.name}: value } (null for NULL)`,
      );
    }
    let position = positions.get(parameter.name);
    if (position === undefined) {
      values.push(toPgValue(params[parameter.name]));
      position = values.length;
      positions.set(parameter.name, position);
    }
    text += `${sql.slice(last, parameter.start)}$${position}`;
    last = parameter.end;
  }
  return { text: text + sql.slice(last), values };
}

function toPgValue(value: SqlValue | undefined): unknown {
  if (value === undefined || value === null) return null;
  if (typeof value === 'bigint') return value.toString();
  if (value instanceof Date) return value;
  if (typeof value === 'object') return 'json' in value ? JSON.stringify(value.json) : value.value;
  return value;
}

/** SQLSTATE classes and socket errors that mean "the server is not reachable right now", not "the SQL is wrong". */
const TRANSIENT_SQLSTATES = new Set(['57P01', '57P02', '57P03', '08000', '08001', '08003', '08004', '08006']);
const TRANSIENT_SOCKET_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE']);

export function mapPgError(error: unknown): unknown {
  const code = (error as { code?: string }).code;
  if (code !== undefined && (TRANSIENT_SQLSTATES.has(code) || TRANSIENT_SOCKET_CODES.has(code))) {
    return new TransientError(
      `PostgreSQL is not reachable right now (${code}: ${(error as Error).message}); retry later`,
    );
  }
  return error;
}

function isPool(db: PgQueryable): db is pg.Pool {
  return db instanceof pg.Pool;
}

export class PgExecutor implements SqlExecutor {
  /**
   * @param db a Pool, or a client the caller owns (and releases)
   * @param depth transaction nesting on `db` (0: none open); nested transactions become savepoints
   */
  constructor(
    private readonly db: PgQueryable,
    private readonly depth = 0,
  ) {}

  async query<T extends SqlRow = SqlRow>(sql: string, params?: SqlParams): Promise<T[]> {
    const { text, values } = toPositional(sql, params);
    try {
      const result = await this.db.query({ text, values, types: pgTypes });
      return result.rows as T[];
    } catch (error) {
      throw mapPgError(error);
    }
  }

  async transaction<T>(work: (tx: SqlExecutor) => Promise<T>): Promise<T> {
    if (isPool(this.db)) {
      let client: pg.PoolClient;
      try {
        client = await this.db.connect();
      } catch (error) {
        throw mapPgError(error);
      }
      let broken: Error | undefined;
      try {
        return await new PgExecutor(client).transaction(work);
      } catch (error) {
        // A client whose ROLLBACK failed may be mid-transaction: destroy it rather than return it to the pool.
        if ((error as { rollbackFailed?: boolean }).rollbackFailed) broken = error as Error;
        throw error;
      } finally {
        client.release(broken);
      }
    }
    const savepoint = `sp_${this.depth}`;
    const [begin, commit, rollback] =
      this.depth === 0
        ? ['BEGIN', 'COMMIT', 'ROLLBACK']
        : [`SAVEPOINT ${savepoint}`, `RELEASE SAVEPOINT ${savepoint}`, `ROLLBACK TO SAVEPOINT ${savepoint}`];
    await this.db.query(begin).catch((error) => {
      throw mapPgError(error);
    });
    try {
      const result = await work(new PgExecutor(this.db, this.depth + 1));
      await this.db.query(commit);
      return result;
    } catch (error) {
      const mapped = mapPgError(error);
      try {
        await this.db.query(rollback);
      } catch {
        Object.assign(mapped as object, { rollbackFailed: true });
      }
      throw mapped;
    }
  }
}
