/**
 * Mart tables generated from the dataset configuration (datasets with `mart.enabled`).
 *
 * Why generated at run time and not written into versioned files: versioned migrations (lambda/migrate/sql/V*.sql) must
 * never change once applied, so their checksums are stable and must not depend on config. The mart tables follow the
 * config instead, so each one is a *repeatable* migration (Flyway's R__ idea): idempotent SQL (CREATE TABLE IF NOT
 * EXISTS, ADD COLUMN IF NOT EXISTS, CREATE INDEX IF NOT EXISTS) re-applied whenever its checksum (that of the SQL
 * generated from the config) changes. Adding a column or an index to a dataset is therefore a config change only.
 * Changing a column's type or dropping one is not done silently: the drift check fails the deploy with the columns
 * concerned and asks for a versioned migration that alters the table.
 */
import type { ColumnConfig } from '../../config/schema';
import { MART_SCHEMA, type MartDataset, martTableName, POSTGRES_TYPES } from './mart-contract';

/** PostgreSQL type of a dataset column type, spelled as `format_type()` prints it (used by the drift check). */
export function postgresType(type: ColumnConfig['type']): string {
  const decimal = /^decimal\((\d+),(\d+)\)$/.exec(type);
  if (decimal) return `numeric(${decimal[1]},${decimal[2]})`;
  const mapped = POSTGRES_TYPES[type];
  if (mapped === undefined) {
    throw new Error(`Column type "${type}" has no PostgreSQL mapping. Fix: use a type allowed by config/schema.ts`);
  }
  return mapped;
}

const quote = (identifier: string) => `"${identifier.replace(/"/g, '""')}"`;
const literal = (text: string) => `'${text.replace(/'/g, "''")}'`;

/** The idempotent SQL that brings one mart table in line with its dataset config. */
export function martTableSql(dataset: MartDataset): string {
  const table = martTableName(dataset);
  const qualified = `${MART_SCHEMA}.${quote(table)}`;
  const columnDefinition = (column: MartDataset['columns'][number]) =>
    `${quote(column.name)} ${postgresType(column.type)}${column.nullable ? '' : ' NOT NULL'}`;
  const statements = [
    `CREATE TABLE IF NOT EXISTS ${qualified} (\n  ${dataset.columns.map(columnDefinition).join(',\n  ')},\n  CONSTRAINT ${quote(`${table}_pkey`)} PRIMARY KEY (${dataset.primaryKey.map(quote).join(', ')})\n)`,
    // Columns added to the config after the table was created are appended (config order = table order).
    ...dataset.columns.map((column) => `ALTER TABLE ${qualified} ADD COLUMN IF NOT EXISTS ${columnDefinition(column)}`),
    ...dataset.mart.indexes.map(
      (columns) =>
        `CREATE INDEX IF NOT EXISTS ${quote(indexName(table, columns))} ON ${qualified} (${columns.map(quote).join(', ')})`,
    ),
    driftCheck(dataset, table),
  ];
  return `${statements.join(';\n\n')};\n`;
}

/** Index names are limited to 63 bytes; long ones keep a readable prefix and a short hash. */
function indexName(table: string, columns: readonly string[]): string {
  const name = `${table}_${columns.join('_')}_idx`;
  if (name.length <= 63) return name;
  let hash = 0;
  for (const char of name) hash = (Math.imul(hash, 31) + char.charCodeAt(0)) >>> 0;
  return `${name.slice(0, 54)}_${hash.toString(16).padStart(8, '0')}`;
}

/** Fails when an existing column's type or nullability differs from the config (only a versioned migration may change them). */
function driftCheck(dataset: MartDataset, table: string): string {
  const expected = dataset.columns
    .map((column) => `(${literal(column.name)}, ${literal(postgresType(column.type))}, ${column.nullable})`)
    .join(', ');
  return `DO $drift$
DECLARE
  drift text;
BEGIN
  SELECT string_agg(format('%s is %s%s, config says %s%s', a.attname, format_type(a.atttypid, a.atttypmod),
           CASE WHEN a.attnotnull THEN ' NOT NULL' ELSE '' END, e.type, CASE WHEN e.nullable THEN '' ELSE ' NOT NULL' END), '; ')
    INTO drift
    FROM (VALUES ${expected}) AS e(name, type, nullable)
    JOIN pg_attribute a ON a.attrelid = ${literal(`${MART_SCHEMA}.${quote(table)}`)}::regclass
                       AND a.attname = e.name AND a.attnum > 0 AND NOT a.attisdropped
   WHERE format_type(a.atttypid, a.atttypmod) <> e.type OR a.attnotnull = e.nullable;
  IF drift IS NOT NULL THEN
    RAISE EXCEPTION 'Table ${MART_SCHEMA}.${table} differs from config/datasets/${dataset.name}.json: %. Fix: add a versioned migration (lambda/migrate/sql/V<next>__alter_${table}.sql) that alters the column(s), or restore the config', drift;
  END IF;
END
$drift$`;
}
