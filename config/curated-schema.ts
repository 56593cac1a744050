/**
 * The curated Iceberg table of each dataset: its definition derived from the dataset config, and the committed record
 * of the definition last accepted (`config/curated-schemas/<dataset>.json`), which makes schema changes reviewable.
 *
 * A table that holds rows can evolve in one way only: a new nullable column, appended after the existing ones. Any
 * other change (a type, a nullability, a dropped or moved column, the primary key, the partitioning) would leave the
 * rows already curated unreadable or wrong, so the synth refuses it. An allowed change fails the synth too until
 * `npm run schema:accept -- <dataset>` records it: the record and the config change land in the same reviewed commit.
 *
 * Field ids: the lineage columns come first (ids 1-4), then the dataset columns in config order, so the id of every
 * column follows from the config alone; an appended column takes the next id, which is also the id Iceberg's
 * `ALTER TABLE ... ADD COLUMNS` gives it (the curate job adds missing nullable columns the same way).
 */
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import * as z from 'zod';
import { COLUMN_TYPE } from './column-type';
import type { DatasetConfig } from './schema';

/**
 * Lineage columns of every curated table, in table order (lib/assets/glue/curate_lib.py LINEAGE_COLUMNS holds the same
 * list). Dataset columns cannot be named like them: config identifiers start with a letter.
 */
export const LINEAGE_FIELDS = [
  { name: '_batch_id', type: 'string', doc: 'The batch that wrote this version of the row.' },
  { name: '_run_id', type: 'string', doc: 'The run (one landed object) the row came from.' },
  { name: '_ingest_date', type: 'date', doc: 'The landing date of that object.' },
  { name: '_record', type: 'bigint', doc: 'The 1-based position of the record in that object.' },
] as const;

export const LINEAGE_COLUMN_NAMES: readonly string[] = LINEAGE_FIELDS.map((field) => field.name);

/** Iceberg numbers partition fields from 1000. */
export const PARTITION_FIELD_ID = 1000;

/** Where the accepted definitions live, relative to the config directory. */
export const CURATED_SCHEMAS_DIR = 'curated-schemas';

/** The command that records allowed changes (`npm run schema:accept -- <dataset> ...`). */
export const SCHEMA_ACCEPT_COMMAND = 'npm run schema:accept --';

export interface CuratedField {
  /** Iceberg field id: stable for the life of the table. */
  readonly id: number;
  readonly name: string;
  /** A dataset column type (config/column-type.ts), the lineage columns' included. */
  readonly type: string;
  readonly required: boolean;
  readonly doc?: string;
}

export interface CuratedPartition {
  /** The date column the table is partitioned by: the configured one, or `_ingest_date`. */
  readonly source: string;
  readonly transform: 'day';
  /** The partition field's name, e.g. `event_date_day`. */
  readonly name: string;
}

/** The curated table of a dataset, as the config defines it. */
export interface CuratedTableSchema {
  readonly dataset: string;
  readonly formatVersion: 2;
  readonly primaryKey: readonly string[];
  readonly partition: CuratedPartition;
  /** Table order: lineage, then the dataset columns in config order. */
  readonly fields: readonly CuratedField[];
}

/** Iceberg type of a dataset column type. `timestamp` is an instant (timestamptz; Spark TIMESTAMP, Athena reads it). */
export function icebergType(type: string): string {
  const decimal = /^decimal\((\d{1,2}),(\d{1,2})\)$/.exec(type);
  if (decimal) return `decimal(${decimal[1]},${decimal[2]})`;
  const simple: Record<string, string> = {
    string: 'string',
    integer: 'int',
    bigint: 'long',
    double: 'double',
    boolean: 'boolean',
    date: 'date',
    timestamp: 'timestamptz',
  };
  const found = simple[type];
  if (found === undefined) {
    throw new Error(
      `Column type "${type}" has no Iceberg equivalent. Fix: use string, integer, bigint, double, decimal(p,s), boolean, date or timestamp`,
    );
  }
  return found;
}

/** The curated table of `dataset` as its config defines it. */
export function curatedTableSchema(dataset: DatasetConfig): CuratedTableSchema {
  const lineage = LINEAGE_FIELDS.map((field, index) => ({ ...field, id: index + 1, required: true }));
  const columns = dataset.columns.map((column, index) => ({
    id: LINEAGE_FIELDS.length + index + 1,
    name: column.name,
    type: column.type,
    required: !column.nullable,
    ...(column.description === undefined ? {} : { doc: column.description }),
  }));
  const source = dataset.partitioning.by === 'column' ? dataset.partitioning.column : '_ingest_date';
  return {
    dataset: dataset.name,
    formatVersion: 2,
    primaryKey: [...dataset.primaryKey],
    partition: { source, transform: 'day', name: `${source}_day` },
    fields: [...lineage, ...columns],
  };
}

/** The field ids of the primary key, when Iceberg can take them as identifier fields (floating-point ones it cannot). */
export function identifierFieldIds(schema: CuratedTableSchema): number[] | undefined {
  const fields = schema.primaryKey.map((name) => schema.fields.find((field) => field.name === name));
  if (fields.some((field) => field === undefined || field.type === 'double' || !field.required)) return undefined;
  return fields.map((field) => field!.id);
}

// ---------------------------------------------------------------------------------------------------------------------
// The accepted record
// ---------------------------------------------------------------------------------------------------------------------

const acceptedSchema = z.strictObject({
  dataset: z.string().regex(/^[a-z][a-z0-9_]{0,62}$/),
  formatVersion: z.literal(2),
  primaryKey: z.array(z.string()).min(1),
  partition: z.strictObject({ source: z.string(), transform: z.literal('day'), name: z.string() }),
  fields: z
    .array(
      z.strictObject({
        id: z.int().positive(),
        name: z.string().min(1),
        type: z.string().regex(COLUMN_TYPE),
        required: z.boolean(),
      }),
    )
    .min(1),
});

/** What `config/curated-schemas/<dataset>.json` holds: the definition without the docs (they may change freely). */
export type AcceptedTableSchema = z.infer<typeof acceptedSchema>;

export function acceptedFileOf(configDir: string, dataset: string): string {
  return path.join(configDir, CURATED_SCHEMAS_DIR, `${dataset}.json`);
}

/** The record of `schema`, one field per line so that a change is one reviewable line of the diff. */
export function renderAccepted(schema: CuratedTableSchema): string {
  const field = (f: CuratedField) =>
    `    { "id": ${f.id}, "name": ${JSON.stringify(f.name)}, "type": ${JSON.stringify(f.type)}, "required": ${f.required} }`;
  return [
    '{',
    `  "dataset": ${JSON.stringify(schema.dataset)},`,
    `  "formatVersion": ${schema.formatVersion},`,
    `  "primaryKey": [${schema.primaryKey.map((key) => JSON.stringify(key)).join(', ')}],`,
    `  "partition": { "source": ${JSON.stringify(schema.partition.source)}, "transform": "${schema.partition.transform}", "name": ${JSON.stringify(schema.partition.name)} },`,
    '  "fields": [',
    schema.fields.map(field).join(',\n'),
    '  ]',
    '}',
    '',
  ].join('\n');
}

/** Reads an accepted record; `undefined` when there is none, a problem text when it is not one. */
export function readAccepted(file: string): AcceptedTableSchema | undefined | { problem: string } {
  if (!existsSync(file)) return undefined;
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(file, 'utf8'));
  } catch (error) {
    return { problem: `is not valid JSON (${(error as Error).message})` };
  }
  const parsed = acceptedSchema.safeParse(raw);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    return { problem: `key "${issue.path.join('.') || '(top level)'}" ${issue.message}` };
  }
  return parsed.data;
}

/** One difference between the accepted table and the config's, worded for the dataset file. */
export interface SchemaChange {
  /** Key path in the dataset file, e.g. `columns[3].type`. */
  readonly key: string;
  /** What changed, old and new value. */
  readonly change: string;
  /** Why the table cannot take it and what to do instead; undefined for an allowed change. */
  readonly refusal?: string;
}

/** Compares the accepted table with the one `dataset` now defines. */
export function compareSchemas(accepted: AcceptedTableSchema, dataset: DatasetConfig): SchemaChange[] {
  const proposed = curatedTableSchema(dataset);
  const changes: SchemaChange[] = [];
  const columnKey = (name: string) => {
    const index = dataset.columns.findIndex((column) => column.name === name);
    return index < 0 ? 'columns' : `columns[${index}]`;
  };
  const byName = new Map(proposed.fields.map((field) => [field.name, field]));
  const acceptedNames = new Set(accepted.fields.map((field) => field.name));
  for (const old of accepted.fields) {
    const now = byName.get(old.name);
    if (now === undefined) {
      changes.push({
        key: 'columns',
        change: `drops column "${old.name}" (${old.type})`,
        refusal:
          'the curated rows keep it, and a column dropped from an Iceberg table cannot come back under its id. Fix: keep the column (it may stay nullable and unused), or curate into a new dataset',
      });
      continue;
    }
    if (now.type !== old.type) {
      changes.push({
        key: `${columnKey(old.name)}.type`,
        change: `changes the type of "${old.name}" from "${old.type}" to "${now.type}"`,
        refusal: `the curated rows hold ${old.type} values. Fix: restore "${old.type}", or add a new nullable column of type ${now.type} and fill it in new data`,
      });
    }
    if (now.required !== old.required) {
      changes.push({
        key: `${columnKey(old.name)}.nullable`,
        change: `changes "${old.name}" from ${old.required ? 'not nullable' : 'nullable'} to ${now.required ? 'not nullable' : 'nullable'}`,
        refusal: now.required
          ? 'the curated rows may hold NULL in it. Fix: keep "nullable": true'
          : 'which rows win ("latest wins" by the first non-nullable timestamp) and the Iceberg identifier fields depend on it. Fix: keep "nullable": false',
      });
    }
    if (now.id !== old.id && now.type === old.type) {
      changes.push({
        key: columnKey(old.name),
        change: `moves column "${old.name}" from position ${old.id - LINEAGE_FIELDS.length} to ${now.id - LINEAGE_FIELDS.length}`,
        refusal:
          'a column keeps its place (and Iceberg field id) for the life of the table. Fix: keep the existing columns in their order and add new columns at the end of "columns"',
      });
    }
  }
  for (const now of proposed.fields) {
    if (acceptedNames.has(now.name)) continue;
    changes.push({
      key: columnKey(now.name),
      change: `adds column "${now.name}" (${now.type}${now.required ? ', not nullable' : ', nullable'})`,
      refusal: now.required
        ? 'rows already curated have no value for it. Fix: add it with "nullable": true'
        : now.id <= Math.max(...accepted.fields.map((field) => field.id))
          ? 'new columns go after the existing ones. Fix: move it to the end of "columns"'
          : undefined,
    });
  }
  if (JSON.stringify(proposed.primaryKey) !== JSON.stringify(accepted.primaryKey)) {
    changes.push({
      key: 'primaryKey',
      change: `changes the primary key from ${JSON.stringify(accepted.primaryKey)} to ${JSON.stringify(proposed.primaryKey)}`,
      refusal:
        'rows already curated were de-duplicated by the old key. Fix: restore the key, or curate into a new dataset with the new key and re-land its data',
    });
  }
  if (JSON.stringify(proposed.partition) !== JSON.stringify(accepted.partition)) {
    changes.push({
      key: 'partitioning',
      change: `changes the partitioning from ${accepted.partition.transform}(${accepted.partition.source}) to ${proposed.partition.transform}(${proposed.partition.source})`,
      refusal:
        'the Iceberg partition spec is fixed by the Catalog stack at creation. Fix: restore the partitioning, or curate into a new dataset',
    });
  }
  return changes;
}

/**
 * Problems of the accepted records against the datasets (an empty list when every table may deploy): a dataset
 * without a record, a refused change, an allowed change not yet accepted, a record without a dataset.
 */
export function checkCuratedSchemas(
  configDir: string,
  datasets: readonly { readonly file: string; readonly config: DatasetConfig }[],
  relative: (file: string) => string = (file) => file,
): string[] {
  const problems: string[] = [];
  for (const { file, config } of datasets) {
    const acceptedFile = acceptedFileOf(configDir, config.name);
    const accepted = readAccepted(acceptedFile);
    const accept = `run \`${SCHEMA_ACCEPT_COMMAND} ${config.name}\` and commit ${relative(acceptedFile)}`;
    if (accepted === undefined) {
      problems.push(
        `${relative(file)}: has no accepted curated table schema (${relative(acceptedFile)} is missing). Fix: ${accept}`,
      );
      continue;
    }
    if ('problem' in accepted) {
      problems.push(
        `${relative(acceptedFile)}: ${accepted.problem}. Fix: restore it from git (it is written by \`${SCHEMA_ACCEPT_COMMAND} ${config.name}\`, never by hand)`,
      );
      continue;
    }
    if (accepted.dataset !== config.name) {
      problems.push(
        `${relative(acceptedFile)}: key "dataset" has value ${JSON.stringify(accepted.dataset)}: it is the record of dataset "${config.name}". Fix: restore it from git`,
      );
      continue;
    }
    for (const change of compareSchemas(accepted, config)) {
      problems.push(
        change.refusal === undefined
          ? `${relative(file)}: key "${change.key}" ${change.change}: an allowed evolution of the curated table (accepted in ${relative(acceptedFile)}) that is not accepted yet. Fix: ${accept}`
          : `${relative(file)}: key "${change.key}" ${change.change} (accepted in ${relative(acceptedFile)}): refused because ${change.refusal}`,
      );
    }
  }
  const names = new Set(datasets.map((dataset) => dataset.config.name));
  const dir = path.join(configDir, CURATED_SCHEMAS_DIR);
  for (const entry of existsSync(dir) ? readdirSync(dir).sort() : []) {
    if (!entry.endsWith('.json') || names.has(entry.slice(0, -'.json'.length))) continue;
    problems.push(
      `${relative(path.join(dir, entry))}: accepts a curated table for dataset "${entry.slice(0, -5)}", which has no config/datasets file. Fix: delete it if the dataset was removed on purpose (its curated data stays in S3), or restore the dataset file`,
    );
  }
  return problems;
}

export interface AcceptResult {
  /** Records written (new datasets and allowed changes). */
  readonly written: readonly string[];
  /** Datasets whose record already matches. */
  readonly unchanged: readonly string[];
  /** Refused changes, worded as the synth words them; nothing is written for their dataset. */
  readonly refused: readonly string[];
}

/** Records the current definition of each of `datasets` whose changes are allowed. */
export function acceptCuratedSchemas(
  configDir: string,
  datasets: readonly { readonly file: string; readonly config: DatasetConfig }[],
  relative: (file: string) => string = (file) => file,
): AcceptResult {
  const written: string[] = [];
  const unchanged: string[] = [];
  const refused: string[] = [];
  for (const { file, config } of datasets) {
    const acceptedFile = acceptedFileOf(configDir, config.name);
    const accepted = readAccepted(acceptedFile);
    if (accepted !== undefined && 'problem' in accepted) {
      refused.push(`${relative(acceptedFile)}: ${accepted.problem}. Fix: restore it from git, then accept again`);
      continue;
    }
    const changes = accepted === undefined ? [] : compareSchemas(accepted, config);
    const refusals = changes.filter((change) => change.refusal !== undefined);
    if (refusals.length > 0) {
      refused.push(
        ...refusals.map(
          (change) => `${relative(file)}: key "${change.key}" ${change.change}: refused because ${change.refusal}`,
        ),
      );
      continue;
    }
    if (accepted !== undefined && changes.length === 0) {
      unchanged.push(config.name);
      continue;
    }
    mkdirSync(path.dirname(acceptedFile), { recursive: true });
    writeFileSync(acceptedFile, renderAccepted(curatedTableSchema(config)));
    written.push(relative(acceptedFile));
  }
  return { written, unchanged, refused };
}
