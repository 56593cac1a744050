/**
 * Parses the query string of `GET /v1/marts/{table}`: `limit`, `cursor`, and filters `column=value` or
 * `column[op]=value` (op: eq, gt, gte, lt, lte). Every column must be whitelisted for the table.
 */
import { DEFAULT_LIMIT, MAX_LIMIT } from './contract';
import { InvalidInputError } from '../shared/errors';
import { truncate } from '../api-shared/http';
import type { MartTable, FilterOperator } from '../api-shared/contract';
import { checkFilters, FILTER_OPERATORS, type MartFilter } from '../api-shared/mart-query';

const RESERVED = new Set(['limit', 'cursor']);
const FILTER_KEY = /^([a-z][a-z0-9_]{0,62})(?:\[([a-z]{1,8})\])?$/;

export interface MartQueryRequest {
  readonly filters: MartFilter[];
  readonly limit: number;
  readonly cursor?: string;
}

export function parseMartQuery(
  table: MartTable,
  query: Record<string, string[] | undefined> | null | undefined,
): MartQueryRequest {
  const single = (name: string, values: string[]): string => {
    if (values.length !== 1) {
      throw new InvalidInputError(
        `Query parameter ${JSON.stringify(truncate(name, 64))} is given ${values.length} times. Fix: give it once`,
      );
    }
    return values[0];
  };
  const filters: MartFilter[] = [];
  let limit = DEFAULT_LIMIT;
  let cursor: string | undefined;
  for (const [name, values] of Object.entries(query ?? {})) {
    if (!values) continue;
    const value = single(name, values);
    if (name === 'limit') {
      limit = parseLimit(value);
      continue;
    }
    if (name === 'cursor') {
      cursor = value;
      continue;
    }
    const match = FILTER_KEY.exec(name);
    const column = match?.[1];
    if (!match || RESERVED.has(name) || !table.columns.some((c) => c.name === column)) {
      throw new InvalidInputError(
        `Unknown query parameter ${JSON.stringify(truncate(name, 64))}. Fix: use limit, cursor, or a filter on ${table.filterable.join(', ')} (e.g. ${table.filterable[0]}=value or ${table.filterable[0]}[gte]=value)`,
      );
    }
    const operator = (match[2] ?? 'eq') as FilterOperator;
    if (!(operator in FILTER_OPERATORS)) {
      throw new InvalidInputError(
        `Unknown filter operator ${JSON.stringify(match[2])} in ${JSON.stringify(name)}. Fix: use one of ${Object.keys(FILTER_OPERATORS).join(', ')}`,
      );
    }
    filters.push({ column: column!, operator, value });
  }
  // Sorted, so the same filters in another order continue the same cursor.
  const checked = checkFilters(table, filters).sort((a, b) =>
    `${a.column}[${a.operator}]`.localeCompare(`${b.column}[${b.operator}]`),
  );
  return { filters: checked, limit, cursor };
}

function parseLimit(value: string): number {
  const limit = /^\d{1,7}$/.test(value) ? Number(value) : Number.NaN;
  if (!Number.isInteger(limit) || limit < 1 || limit > MAX_LIMIT) {
    throw new InvalidInputError(
      `limit has value ${JSON.stringify(truncate(value, 32))}: must be a whole number from 1 to ${MAX_LIMIT}. Fix: e.g. limit=100, and page with the cursor`,
    );
  }
  return limit;
}
