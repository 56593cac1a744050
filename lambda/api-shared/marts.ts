/**
 * The whitelist of what the API may read from the data mart, built from the dataset configs by the Api stack and
 * handed to the functions as JSON (env var MART_TABLES). SQL identifiers only ever come from here, never from a
 * request; every identifier is checked again when the whitelist is parsed and is always double-quoted.
 */
import * as z from 'zod/mini';
import type { DatasetConfig } from '../../config/schema';
import { columnValueProblem, type ValueProblem } from './column-values';
import { InvalidInputError } from '../shared/errors';
import '../shared/zod-locale';

export const MART_SCHEMA = 'mart';

const IDENTIFIER = /^[a-z][a-z0-9_]{0,62}$/;
const identifier = z.string().check(z.regex(IDENTIFIER));
const columnType = z
  .string()
  .check(z.regex(/^(string|integer|bigint|double|boolean|date|timestamp|decimal\(\d{1,2},\d{1,2}\))$/));

export const martTableSchema = z.strictObject({
  /** Table name in schema `mart`. */
  table: identifier,
  dataset: identifier,
  /** Columns in dataset-config order, with their config type. */
  columns: z.array(z.strictObject({ name: identifier, type: columnType })).check(z.minLength(1)),
  /** Keyset pagination order (the primary key). */
  primaryKey: z.array(identifier).check(z.minLength(1)),
  /** Columns a request may filter on. */
  filterable: z.array(identifier),
});
export type MartTable = z.infer<typeof martTableSchema>;
export type MartColumnType = MartTable['columns'][number]['type'];

/** The mart tables of the datasets with `mart.enabled` (what the Api stack puts in MART_TABLES). */
export function martTablesFromDatasets(datasets: readonly DatasetConfig[]): MartTable[] {
  return datasets
    .filter((dataset) => dataset.mart.enabled)
    .map((dataset) => ({
      table: dataset.mart.table ?? dataset.name,
      dataset: dataset.name,
      columns: dataset.columns.map((column) => ({ name: column.name, type: column.type })),
      primaryKey: [...dataset.primaryKey],
      filterable: [...(dataset.mart.filterableColumns ?? dataset.primaryKey)],
    }));
}

/** Parses MART_TABLES at cold start; a malformed value is a deployment bug and fails loudly. */
export function parseMartTables(text: string): ReadonlyMap<string, MartTable> {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (error) {
    throw new Error(`MART_TABLES is not valid JSON (${(error as Error).message}). Fix: redeploy the Api stack`);
  }
  const tables = z.array(martTableSchema).parse(raw);
  for (const table of tables) {
    const names = new Set(table.columns.map((column) => column.name));
    const unknown = [...table.primaryKey, ...table.filterable].filter((name) => !names.has(name));
    if (unknown.length > 0) {
      throw new Error(
        `MART_TABLES: table ${table.table} names unknown columns ${unknown.join(', ')}. Fix: redeploy the Api stack`,
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
  if (type.startsWith('decimal')) return 'numeric';
  const types: Record<string, string> = {
    string: 'text',
    integer: 'integer',
    bigint: 'bigint',
    double: 'double precision',
    boolean: 'boolean',
    date: 'date',
    timestamp: 'timestamptz',
  };
  return types[type];
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
