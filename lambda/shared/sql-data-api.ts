/**
 * {@link SqlExecutor} over the RDS Data API: how code in AWS reaches the data mart without being in the VPC (no NAT,
 * no interface endpoint, no connection pool to manage). Results are mapped from the column metadata so that rows look
 * exactly like the `pg` executor's (see `SqlRow`).
 */
import type { ColumnMetadata, Field, SqlParameter } from '@aws-sdk/client-rds-data';
import type { RdsDataApi } from './aws/rds-data';
import { TransientError } from './errors';
import { countPlatformEvent } from './logger';
import { PLATFORM_METRICS } from './metrics-contract';
import type { SqlExecutor, SqlParams, SqlRow, SqlValue } from './sql';
import { parameterNames } from './sql-params';

export interface DataApiTarget {
  /** ARN of the Aurora cluster (Data API enabled). */
  readonly resourceArn: string;
  /** ARN of the Secrets Manager secret with the database credentials. */
  readonly secretArn: string;
  readonly database: string;
}

/** Converts one parameter to the Data API's typed form; the type hint tells PostgreSQL what the string is. */
export function toSqlParameter(name: string, value: SqlValue | undefined): SqlParameter {
  if (value === undefined || value === null) return { name, value: { isNull: true } };
  switch (typeof value) {
    case 'string':
      return { name, value: { stringValue: value } };
    case 'boolean':
      return { name, value: { booleanValue: value } };
    case 'number':
      return Number.isSafeInteger(value)
        ? { name, value: { longValue: value } }
        : { name, value: { doubleValue: value } };
    case 'bigint':
      // Beyond 2^53 a long would lose digits in JavaScript: send the exact text as a DECIMAL PostgreSQL casts.
      return value >= BigInt(Number.MIN_SAFE_INTEGER) && value <= BigInt(Number.MAX_SAFE_INTEGER)
        ? { name, value: { longValue: Number(value) } }
        : { name, value: { stringValue: value.toString() }, typeHint: 'DECIMAL' };
  }
  if (value instanceof Date) {
    // The Data API wants 'YYYY-MM-DD HH:MM:SS[.FFF]' and reads it as UTC.
    return {
      name,
      value: { stringValue: value.toISOString().replace('T', ' ').replace('Z', '') },
      typeHint: 'TIMESTAMP',
    };
  }
  if ('json' in value) return { name, value: { stringValue: JSON.stringify(value.json) }, typeHint: 'JSON' };
  return { name, value: { stringValue: value.value }, typeHint: value.sqlType === 'decimal' ? 'DECIMAL' : 'DATE' };
}

/** Builds the parameter list for a statement, sending only the names it uses and failing on a missing one. */
export function toSqlParameters(sql: string, params: SqlParams = {}): SqlParameter[] {
  return parameterNames(sql).map((name) => {
    if (!(name in params)) {
      throw new Error(
        `SQL parameter :${name} is used by the statement but was not given (given: ${Object.keys(params).join(', ') || 'none'}). Fix: pass { ${name}: value } (null for NULL)`,
      );
    }
    return toSqlParameter(name, params[name]);
  });
}

/** Maps one returned field using its column's PostgreSQL type name. */
export function fromField(field: Field, column: ColumnMetadata): unknown {
  if (field.isNull) return null;
  if (field.booleanValue !== undefined) return field.booleanValue;
  if (field.longValue !== undefined) return field.longValue;
  if (field.doubleValue !== undefined) return field.doubleValue;
  if (field.blobValue !== undefined) return Buffer.from(field.blobValue);
  if (field.arrayValue !== undefined) return Object.values(field.arrayValue)[0] ?? [];
  const text = field.stringValue;
  if (text === undefined) return null;
  switch (column.typeName?.toLowerCase()) {
    case 'int8':
    case 'bigserial': {
      // Requested as strings (longReturnType STRING) so values beyond 2^53 stay exact.
      const value = BigInt(text);
      return value >= BigInt(Number.MIN_SAFE_INTEGER) && value <= BigInt(Number.MAX_SAFE_INTEGER)
        ? Number(value)
        : value;
    }
    case 'timestamp':
    case 'timestamptz':
      // Returned in UTC as 'YYYY-MM-DD HH:MM:SS[.ffffff]'.
      return new Date(`${text.replace(' ', 'T')}Z`);
    case 'json':
    case 'jsonb':
      return JSON.parse(text);
    default:
      return text;
  }
}

/** Exception names that mean "the cluster is waking up or briefly unreachable": the caller should retry. */
const TRANSIENT_EXCEPTIONS = new Set([
  'DatabaseResumingException',
  'DatabaseUnavailableException',
  'ServiceUnavailableError',
  'InternalServerErrorException',
]);
const TRANSIENT_MESSAGES = /communications link failure|is resuming|resuming after being auto-paused|is not available/i;

export function mapDataApiError(error: unknown): unknown {
  const { name, message } = error as Error;
  if (TRANSIENT_EXCEPTIONS.has(name) || (name === 'BadRequestException' && TRANSIENT_MESSAGES.test(message ?? ''))) {
    return new TransientError(`The data mart cluster is not available yet (${name}: ${message}); retry later`);
  }
  return error;
}

export class DataApiExecutor implements SqlExecutor {
  /**
   * @param transactionId set on the executor handed to a transaction's work
   * @param depth nesting inside that transaction (nested transactions become savepoints)
   */
  constructor(
    private readonly client: RdsDataApi,
    private readonly target: DataApiTarget,
    private readonly transactionId?: string,
    private readonly depth = 0,
  ) {}

  async query<T extends SqlRow = SqlRow>(sql: string, params?: SqlParams): Promise<T[]> {
    const parameters = toSqlParameters(sql, params);
    const response = await this.send(() =>
      this.client.executeStatement({
        ...this.target,
        sql,
        parameters: parameters.length > 0 ? parameters : undefined,
        transactionId: this.transactionId,
        includeResultMetadata: true,
        resultSetOptions: { decimalReturnType: 'STRING', longReturnType: 'STRING' },
      }),
    );
    const columns = response.columnMetadata ?? [];
    return (response.records ?? []).map((record) => {
      const row: SqlRow = {};
      record.forEach((field, index) => {
        const column = columns[index] ?? {};
        row[column.label ?? column.name ?? `column${index}`] = fromField(field, column);
      });
      return row as T;
    });
  }

  async transaction<T>(work: (tx: SqlExecutor) => Promise<T>): Promise<T> {
    if (this.transactionId !== undefined) return this.savepoint(work);
    const begun = await this.send(() => this.client.beginTransaction({ ...this.target }));
    const transactionId = begun.transactionId;
    if (!transactionId) throw new TransientError('BeginTransaction returned no transaction id; retry later');
    const { resourceArn, secretArn } = this.target;
    try {
      const result = await work(new DataApiExecutor(this.client, this.target, transactionId, 1));
      await this.send(() => this.client.commitTransaction({ resourceArn, secretArn, transactionId }));
      return result;
    } catch (error) {
      // The Data API also rolls back by itself after a timeout; a failed rollback must not hide the real error.
      await this.send(() => this.client.rollbackTransaction({ resourceArn, secretArn, transactionId })).catch(
        () => undefined,
      );
      throw error;
    }
  }

  /** Makes one call; "the cluster is not available yet" becomes a TransientError. */
  private async send<T>(call: () => Promise<T>): Promise<T> {
    try {
      // Awaited inside try: a failure of any kind (rejected or thrown) is mapped the same way.
      return await call();
    } catch (error) {
      const mapped = mapDataApiError(error);
      // A resuming cluster is expected (Dev scales to zero) and retried: only the other failures are alarmed.
      countPlatformEvent(
        mapped instanceof TransientError ? PLATFORM_METRICS.martResumeWaits : PLATFORM_METRICS.dataApiErrors,
      );
      throw mapped;
    }
  }

  private async savepoint<T>(work: (tx: SqlExecutor) => Promise<T>): Promise<T> {
    const name = `sp_${this.depth}`;
    await this.query(`SAVEPOINT ${name}`);
    try {
      const result = await work(new DataApiExecutor(this.client, this.target, this.transactionId, this.depth + 1));
      await this.query(`RELEASE SAVEPOINT ${name}`);
      return result;
    } catch (error) {
      await this.query(`ROLLBACK TO SAVEPOINT ${name}`);
      throw error;
    }
  }
}
