/**
 * Read-only, keyset-paginated SELECTs on a whitelisted mart table, shared by `GET /v1/marts/{table}` and the export
 * worker. Identifiers come from the {@link MartTable} whitelist (double-quoted); every value is a named parameter cast
 * to the column's type. The functions log in as the reader login, whose users hold SELECT on mart.* only, and each
 * page runs in a READ ONLY transaction (SET LOCAL keeps one session on the Data API too), so even a bug here cannot
 * write.
 */
import { createHash } from 'node:crypto';
import { InvalidInputError } from '../shared/errors';
import type { FilterOperator, MartTable } from './contract';
import { checkColumnValue, qualifiedName, quoteIdentifier, sqlType } from './marts';
import type { SqlExecutor, SqlParams, SqlRow } from '../shared/sql';

/** The SQL of each filter operator. */
export const FILTER_OPERATORS: Readonly<Record<FilterOperator, string>> = {
  eq: '=',
  gt: '>',
  gte: '>=',
  lt: '<',
  lte: '<=',
};

export interface MartFilter {
  readonly column: string;
  readonly operator: FilterOperator;
  /** The value as text; checked against the column type, sent as a parameter. */
  readonly value: string;
}

/** Key values of the last row of a page, in primary-key order: where the next page starts. */
export type KeysetPosition = readonly (string | number)[];

/** Server-side cap on one statement, below the Lambda and API Gateway timeouts. */
export const STATEMENT_TIMEOUT_MS = 20_000;

/** Checks filters against the whitelist: only filterable columns, values of the column's type. */
export function checkFilters(table: MartTable, filters: readonly MartFilter[]): MartFilter[] {
  return filters.map((filter) => {
    if (!table.filterable.includes(filter.column)) {
      throw new InvalidInputError(
        `Column ${JSON.stringify(filter.column.slice(0, 64))} cannot be filtered on in ${table.table}. Fix: filter on ${table.filterable.join(', ')}`,
      );
    }
    if (!(filter.operator in FILTER_OPERATORS)) {
      throw new InvalidInputError(
        `Unknown filter operator ${JSON.stringify(String(filter.operator).slice(0, 16))}. Fix: use one of ${Object.keys(FILTER_OPERATORS).join(', ')}`,
      );
    }
    return { ...filter, value: checkColumnValue(table, filter.column, filter.value) };
  });
}

export interface SelectStatement {
  readonly sql: string;
  readonly params: SqlParams;
}

/** Builds the SELECT of one page: `limit` rows after `after` (exclusive), ordered by the primary key. */
export function buildPageSelect(
  table: MartTable,
  filters: readonly MartFilter[],
  after: KeysetPosition | undefined,
  limit: number,
): SelectStatement {
  if (!Number.isInteger(limit) || limit < 1) throw new Error(`limit must be a positive integer, got ${limit}`);
  const typeOf = (column: string) => sqlType(table.columns.find((c) => c.name === column)!.type);
  const params: Record<string, string | number> = { limit };
  const conditions = filters.map((filter, index) => {
    params[`f${index}`] = filter.value;
    return `${quoteIdentifier(filter.column)} ${FILTER_OPERATORS[filter.operator]} :f${index}::${typeOf(filter.column)}`;
  });
  if (after) {
    const keys = table.primaryKey.map((column) => quoteIdentifier(column)).join(', ');
    const values = table.primaryKey
      .map((column, index) => {
        params[`k${index}`] = after[index];
        return `:k${index}::${typeOf(column)}`;
      })
      .join(', ');
    conditions.push(`(${keys}) > (${values})`);
  }
  const columns = table.columns.map((column) => quoteIdentifier(column.name)).join(', ');
  const order = table.primaryKey.map((column) => quoteIdentifier(column)).join(', ');
  const where = conditions.length > 0 ? ` WHERE ${conditions.join(' AND ')}` : '';
  return {
    sql: `SELECT ${columns} FROM ${qualifiedName(table)}${where} ORDER BY ${order} LIMIT :limit`,
    params,
  };
}

/** Runs one page read-only, in UTC, under a statement timeout (as whoever the executor logs in as: the reader). */
export async function readPage(
  executor: SqlExecutor,
  table: MartTable,
  filters: readonly MartFilter[],
  after: KeysetPosition | undefined,
  limit: number,
): Promise<SqlRow[]> {
  const statement = buildPageSelect(table, filters, after, limit);
  return executor.transaction(async (tx) => {
    await tx.query(`SET LOCAL TIME ZONE 'UTC'`);
    await tx.query(`SET LOCAL statement_timeout = ${STATEMENT_TIMEOUT_MS}`);
    await tx.query('SET TRANSACTION READ ONLY');
    return tx.query(statement.sql, statement.params);
  });
}

/** A value as text for CSV and cursors: ISO timestamps, exact big integers. */
export function valueToText(value: unknown): string {
  if (value === null || value === undefined) return '';
  if (value instanceof Date) return value.toISOString();
  return String(value);
}

/** The keyset position after `row`. */
export function positionOf(table: MartTable, row: SqlRow): KeysetPosition {
  return table.primaryKey.map((column) => {
    const value = row[column];
    return typeof value === 'number' ? value : valueToText(value);
  });
}

/** A short digest of the table and filters: a cursor only continues the query it came from. */
export function queryFingerprint(table: MartTable, filters: readonly MartFilter[]): string {
  const canonical = JSON.stringify([table.table, filters.map((f) => [f.column, f.operator, f.value])]);
  return createHash('sha256').update(canonical).digest('base64url').slice(0, 16);
}
