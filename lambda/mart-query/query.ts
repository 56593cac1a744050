/** Reads one page of a mart table and builds the response body with the next cursor. */
import { decodeCursor, encodeCursor } from '../api-shared/cursor';
import type { MartTable } from '../api-shared/contract';
import { positionOf, queryFingerprint, readPage } from '../api-shared/mart-query';
import type { SqlExecutor, SqlRow } from '../shared/sql';
import type { MartQueryRequest } from './request';

export interface MartPage {
  readonly table: string;
  readonly items: SqlRow[];
  readonly count: number;
  /** Present when more rows follow: pass it as `cursor` to get them. */
  readonly nextCursor?: string;
}

export async function queryMart(executor: SqlExecutor, table: MartTable, request: MartQueryRequest): Promise<MartPage> {
  const fingerprint = queryFingerprint(table, request.filters);
  const after = request.cursor === undefined ? undefined : decodeCursor(request.cursor, table, fingerprint);
  // One row more than asked tells whether another page exists without a COUNT.
  const rows = await readPage(executor, table, request.filters, after, request.limit + 1);
  const items = rows.slice(0, request.limit).map(jsonSafe);
  const more = rows.length > request.limit;
  return {
    table: table.table,
    items,
    count: items.length,
    nextCursor: more ? encodeCursor(fingerprint, positionOf(table, items[items.length - 1])) : undefined,
  };
}

/** JSON cannot hold a bigint: integers beyond 2^53 are returned as exact strings. */
function jsonSafe(row: SqlRow): SqlRow {
  const safe: SqlRow = {};
  for (const [column, value] of Object.entries(row))
    safe[column] = typeof value === 'bigint' ? value.toString() : value;
  return safe;
}
