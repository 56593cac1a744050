import { cpSync, existsSync, mkdtempSync, readFileSync, rmSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import {
  acceptedFileOf,
  curatedTableSchema,
  icebergType,
  identifierFieldIds,
  LINEAGE_COLUMN_NAMES,
  renderAccepted,
} from '../../config/curated-schema';
import { ConfigError, loadConfig } from '../../config/load';
import { datasetSchema, resolveTableMaintenance } from '../../config/schema';
import { EXIT_REFUSED, EXIT_USAGE, schemaAccept } from '../../scripts/schema-accept';
import { exampleConfig, exampleEnvironment, REPO_ROOT } from '../helpers/app';

type Json = Record<string, unknown>;
type Column = { name: string; type: string; nullable?: boolean };

const dirs: string[] = [];
afterAll(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

/** A copy of the example config (with its accepted schemas) in a temp dir, with edits applied to JSON files. */
function configWith(edits: Record<string, (json: Json) => void> = {}): string {
  const dir = mkdtempSync(path.join(tmpdir(), 'curated-'));
  dirs.push(dir);
  cpSync(path.join(REPO_ROOT, 'config'), dir, { recursive: true, filter: (source) => !source.endsWith('.ts') });
  for (const [file, edit] of Object.entries(edits)) {
    const target = path.join(dir, file);
    const json = JSON.parse(readFileSync(target, 'utf8')) as Json;
    edit(json);
    writeFileSync(target, JSON.stringify(json, null, 2));
  }
  return dir;
}

const columnsOf = (json: Json) => json.columns as Column[];

function loadError(dir: string): string {
  try {
    loadConfig(dir);
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return (error as Error).message;
  }
  throw new Error('expected loadConfig to fail');
}

const impressions = () => exampleConfig().datasets.find((d) => d.name === 'impressions')!;
const clicks = () => exampleConfig().datasets.find((d) => d.name === 'clicks')!;

describe('curatedTableSchema', () => {
  test('lineage columns first (ids 1-4), then the dataset columns in config order with the next ids', () => {
    const schema = curatedTableSchema(impressions());
    expect(schema.fields.slice(0, 4)).toEqual([
      expect.objectContaining({ id: 1, name: '_batch_id', type: 'string', required: true }),
      expect.objectContaining({ id: 2, name: '_run_id', type: 'string', required: true }),
      expect.objectContaining({ id: 3, name: '_ingest_date', type: 'date', required: true }),
      expect.objectContaining({ id: 4, name: '_record', type: 'bigint', required: true }),
    ]);
    expect(schema.fields.slice(4).map((field) => [field.id, field.name, field.required])).toEqual(
      impressions().columns.map((column, index) => [index + 5, column.name, !column.nullable]),
    );
    expect(LINEAGE_COLUMN_NAMES).toEqual(['_batch_id', '_run_id', '_ingest_date', '_record']);
  });

  test('hidden day partitioning on the date column, or on the ingest date', () => {
    expect(curatedTableSchema(impressions()).partition).toEqual({
      source: 'event_date',
      transform: 'day',
      name: 'event_date_day',
    });
    expect(curatedTableSchema(clicks()).partition).toEqual({
      source: '_ingest_date',
      transform: 'day',
      name: '_ingest_date_day',
    });
  });

  test('maps every column type to its Iceberg type', () => {
    expect(
      ['string', 'integer', 'bigint', 'double', 'decimal(10,4)', 'boolean', 'date', 'timestamp'].map(icebergType),
    ).toEqual(['string', 'int', 'long', 'double', 'decimal(10,4)', 'boolean', 'date', 'timestamptz']);
  });

  test('fails on a column type Iceberg cannot represent, naming it and the fix', () => {
    expect(() => icebergType('uuid')).toThrow(/Column type "uuid" has no Iceberg equivalent. Fix: use string/);
  });

  test('the primary key becomes the identifier fields, unless Iceberg cannot take it (double)', () => {
    expect(identifierFieldIds(curatedTableSchema(impressions()))).toEqual([5]);
    const doubleKey = datasetSchema.parse({
      name: 'scores',
      ownerTeam: 't',
      format: 'csv',
      columns: [{ name: 'score', type: 'double', nullable: false }],
      primaryKey: ['score'],
    });
    expect(identifierFieldIds(curatedTableSchema(doubleKey))).toBeUndefined();
  });

  test('the committed records are what schema:accept writes for the example datasets', () => {
    for (const dataset of exampleConfig().datasets) {
      const file = acceptedFileOf(path.join(REPO_ROOT, 'config'), dataset.name);
      expect(readFileSync(file, 'utf8')).toBe(renderAccepted(curatedTableSchema(dataset)));
    }
  });
});

describe('schema changes at config load', () => {
  test('the example config matches its accepted schemas', () => {
    expect(() => loadConfig(configWith())).not.toThrow();
  });

  test('fails a dataset without an accepted schema, naming the command', () => {
    const dir = configWith();
    unlinkSync(acceptedFileOf(dir, 'clicks'));
    expect(loadError(dir)).toMatch(
      /datasets\/clicks\.json: has no accepted curated table schema \(.*curated-schemas\/clicks\.json is missing\)\. Fix: run `npm run schema:accept -- clicks` and commit/,
    );
  });

  test('fails an allowed evolution (a nullable column at the end) until it is accepted, then loads', () => {
    const dir = configWith({
      'datasets/clicks.json': (json) => columnsOf(json).push({ name: 'referrer', type: 'string', nullable: true }),
    });
    expect(loadError(dir)).toMatch(
      /datasets\/clicks\.json: key "columns\[7\]" adds column "referrer" \(string, nullable\): an allowed evolution of the curated table .* that is not accepted yet\. Fix: run `npm run schema:accept -- clicks`/,
    );
    const result = schemaAccept(['clicks'], dir);
    expect(result).toEqual(expect.objectContaining({ exitCode: 0, stderr: '' }));
    expect(result.stdout).toMatch(/wrote .*curated-schemas\/clicks\.json/);
    expect(readFileSync(acceptedFileOf(dir, 'clicks'), 'utf8')).toContain(
      '{ "id": 12, "name": "referrer", "type": "string", "required": false }',
    );
    expect(() => loadConfig(dir)).not.toThrow();
  });

  test.each([
    [
      'a type change',
      (json: Json) => {
        columnsOf(json)[3].type = 'string';
      },
      /key "columns\[3\]\.type" changes the type of "campaign_id" from "bigint" to "string" \(accepted in .*clicks\.json\): refused because the curated rows hold bigint values\. Fix: restore "bigint"/,
    ],
    [
      'a dropped column',
      (json: Json) => {
        json.columns = columnsOf(json).filter((c) => c.name !== 'landing_url');
      },
      /key "columns" drops column "landing_url" \(string\).*refused because .*Fix: keep the column/,
    ],
    [
      'a nullable column made required',
      (json: Json) => {
        columnsOf(json)[4].nullable = false;
      },
      /key "columns\[4\]\.nullable" changes "landing_url" from nullable to not nullable.*Fix: keep "nullable": true/,
    ],
    [
      'a required column added',
      (json: Json) => columnsOf(json).push({ name: 'channel', type: 'string', nullable: false }),
      /key "columns\[7\]" adds column "channel" \(string, not nullable\).*Fix: add it with "nullable": true/,
    ],
    [
      'a column inserted between others',
      (json: Json) => columnsOf(json).splice(2, 0, { name: 'channel', type: 'string', nullable: true }),
      /key "columns\[3\]" moves column "click_time" from position 3 to 4.*add new columns at the end of "columns"/,
    ],
    [
      'a new primary key',
      (json: Json) => {
        json.primaryKey = ['click_id', 'impression_id'];
      },
      /key "primaryKey" changes the primary key from \["click_id"\] to \["click_id","impression_id"\].*refused because rows already curated were de-duplicated by the old key/,
    ],
  ])('fails %s with file, key, old and new value, and the fix', (_name, edit, message) => {
    const dir = configWith({ 'datasets/clicks.json': edit });
    expect(loadError(dir)).toMatch(message);
    // schema:accept refuses it too, and writes nothing.
    const before = readFileSync(acceptedFileOf(dir, 'clicks'), 'utf8');
    const result = schemaAccept(['clicks'], dir);
    expect(result.exitCode).toBe(EXIT_REFUSED);
    expect(result.stderr).toMatch(/^refused: .*datasets\/clicks\.json: key /);
    expect(readFileSync(acceptedFileOf(dir, 'clicks'), 'utf8')).toBe(before);
  });

  test('fails a changed partitioning', () => {
    const dir = configWith({
      'datasets/impressions.json': (json) => {
        json.partitioning = { by: 'ingest-date' };
      },
    });
    expect(loadError(dir)).toMatch(
      /datasets\/impressions\.json: key "partitioning" changes the partitioning from day\(event_date\) to day\(_ingest_date\).*Fix: restore the partitioning/,
    );
  });

  test('fails an accepted schema without its dataset, and a damaged one', () => {
    const orphan = configWith();
    writeFileSync(acceptedFileOf(orphan, 'conversions'), readFileSync(acceptedFileOf(orphan, 'clicks')));
    expect(loadError(orphan)).toMatch(
      /curated-schemas\/conversions\.json: accepts a curated table for dataset "conversions", which has no config\/datasets file\. Fix: delete it/,
    );
    const damaged = configWith({ 'curated-schemas/clicks.json': (json) => ((json.fields as Json[])[0].id = -1) });
    expect(loadError(damaged)).toMatch(/curated-schemas\/clicks\.json: key "fields\.0\.id" .*Fix: restore it from git/);
    const renamed = configWith({ 'curated-schemas/clicks.json': (json) => (json.dataset = 'impressions') });
    expect(loadError(renamed)).toMatch(/key "dataset" has value "impressions": it is the record of dataset "clicks"/);
  });
});

describe('schema:accept', () => {
  test('records a new dataset, leaves accepted ones alone', () => {
    const dir = configWith();
    unlinkSync(acceptedFileOf(dir, 'impressions'));
    const result = schemaAccept([], dir);
    expect(result.exitCode).toBe(0);
    expect(result.stdout).toMatch(/^wrote .*impressions\.json\nclicks: already accepted\n$/);
    expect(existsSync(acceptedFileOf(dir, 'impressions'))).toBe(true);
    expect(schemaAccept([], dir).stdout).toBe('clicks: already accepted\nimpressions: already accepted\n');
  });

  test('fails an unknown dataset name', () => {
    expect(schemaAccept(['nope'], configWith())).toEqual({
      exitCode: EXIT_USAGE,
      stdout: '',
      stderr: 'schema:accept: no dataset "nope". Fix: name one of clicks, impressions\n',
    });
  });
});

describe('etl.tableMaintenance', () => {
  test('a week of time travel by default, a month in production', () => {
    expect(resolveTableMaintenance(exampleEnvironment('dev'))).toEqual({
      snapshotRetentionDays: 7,
      snapshotsToRetain: 10,
      orphanFileRetentionDays: 3,
    });
    expect(resolveTableMaintenance(exampleEnvironment('prod')).snapshotRetentionDays).toBe(30);
  });

  test('takes configured values', () => {
    const dir = configWith({
      'environments/prod.json': (json) => {
        (json.etl as Json).tableMaintenance = { snapshotRetentionDays: 90, snapshotsToRetain: 50 };
      },
    });
    const prod = loadConfig(dir).environments.find((e) => e.name === 'prod')!;
    expect(resolveTableMaintenance(prod)).toEqual({
      snapshotRetentionDays: 90,
      snapshotsToRetain: 50,
      orphanFileRetentionDays: 3,
    });
  });

  test('fails an orphan retention shorter than a curate job may run, and values out of range', () => {
    const dir = configWith({
      'environments/prod.json': (json) => {
        (json.etl as Json).glueTimeoutMinutes = 2000;
        (json.etl as Json).tableMaintenance = { orphanFileRetentionDays: 1, snapshotRetentionDays: 0 };
      },
    });
    const message = loadError(dir);
    expect(message).toMatch(
      /environments\/prod\.json: key "etl\.tableMaintenance\.orphanFileRetentionDays" has value 1: is not longer than etl\.glueTimeoutMinutes \(2000 minutes\).*Fix: at least 2/,
    );
    expect(message).toMatch(
      /key "etl\.tableMaintenance\.snapshotRetentionDays" has value 0: must be at least 1 day\. Fix: e\.g\. 7/,
    );
  });
});
