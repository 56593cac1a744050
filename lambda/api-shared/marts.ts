/**
 * The whitelist of what the API may read from the data mart (MartTable of ./contract.ts, handed to the functions as
 * JSON in MART_TABLES): parsed at cold start, every identifier checked again and always double-quoted.
 */
import * as z from 'zod/mini';
import { columnValueProblem, type ValueProblem } from './column-values';
import { API_ENV, IDENTIFIER, type MartColumnType, type MartTable, martTableSchema } from './contract';
import { InvalidInputError } from '../shared/errors';
import { MART_SCHEMA, POSTGRES_TYPES } from '../shared/mart-contract';
import '../shared/zod-locale';

/** Parses MART_TABLES at cold start; a malformed value is a deployment bug and fails loudly. */
export function parseMartTables(text: string): ReadonlyMap<string, MartTable> {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (error) {
    throw new Error(
      `${API_ENV.martTables} is not valid JSON (${(error as Error).message}). Fix: redeploy the Api stack`,
    );
  }
  const tables = z.array(martTableSchema).parse(raw);
  for (const table of tables) {
    const names = new Set(table.columns.map((column) => column.name));
    const unknown = [...table.primaryKey, ...table.filterable].filter((name) => !names.has(name));
    if (unknown.length > 0) {
      throw new Error(
        `${API_ENV.martTables}: table ${table.table} names unknown columns ${unknown.join(', ')}. Fix: redeploy the Api stack`,
      );
    }
  }
  return new Map(tables.map((table) => [table.table, table]));
}

/** Looks a requested table up in the whitelist; an unknown name is the caller's mistake (the message lists the valid ones). */
export function whitelistedTable(tables: ReadonlyMap<string, MartTable>, requested: string): MartTable {
  const table = tables.get(requested);
  if (!table) {
    throw new InvalidInputError(
      `Unknown mart table ${JSON.stringify(requested.slice(0, 64))}. Fix: use one of ${[...tables.keys()].join(', ') || '(none configured)'}`,
    );
  }
  return table;
}

/** `"mart"."<table>"`; the name comes from the whitelist and is re-checked so no caller text can reach the SQL. */
export function qualifiedName(table: MartTable): string {
  return `${quoteIdentifier(MART_SCHEMA)}.${quoteIdentifier(table.table)}`;
}

export function quoteIdentifier(name: string): string {
  if (!IDENTIFIER.test(name)) throw new Error(`Refusing to use ${JSON.stringify(name)} as an SQL identifier`);
  return `"${name}"`;
}

/** PostgreSQL type a filter or cursor value is cast to, from the column's config type. */
export function sqlType(type: MartColumnType): string {
  return type.startsWith('decimal') ? 'numeric' : POSTGRES_TYPES[type];
}

/**
 * Checks a value given for a column (as text, from a query string, a cursor or a JSON body) against the column's type
 * (column-values.ts), so a wrong value is a 400 naming the column and the rule rather than a database error. The
 * value is still sent as a parameter.
 */
export function checkColumnValue(table: MartTable, column: string, value: string): string {
  const problem = columnValueProblem(typeOfColumn(table, column), value);
  if (problem) throw new InvalidInputError(describeValueProblem(table, column, value, problem));
  return value;
}

/** The config type of a whitelisted column; a column not in the table is a bug of the caller (not a request). */
export function typeOfColumn(table: MartTable, column: string): MartColumnType {
  const type = table.columns.find((c) => c.name === column)?.type;
  if (type === undefined) throw new Error(`column ${column} is not in table ${table.table}`);
  return type;
}

/** `Value "x" for <column> is not a valid <type>: <rule>. Fix: <fix>` */
export function describeValueProblem(table: MartTable, column: string, value: string, problem: ValueProblem): string {
  // JSON.stringify escapes NUL and unpaired surrogates, so the echo is always printable, valid JSON text.
  const shown = JSON.stringify(value.length > 64 ? `${value.slice(0, 61)}...` : value);
  return `Value ${shown} for ${column} is not a valid ${typeOfColumn(table, column)}: ${problem.rule}. Fix: ${problem.fix}`;
}
