/**
 * Stands in for the curate Glue job in local stage B runs: reads the batch manifest and every run's staged NDJSON rows
 * from S3, keeps one row per primary key by the latest-wins rule (event time, ingest date, run sequence, record), merges
 * them into an in-memory curated table as the job's MERGE INTO does (a batch row replaces the curated one unless it is
 * older), and writes the rows the batch changed as the mart CSV under `--mart_path` (header, dataset-config column
 * order, RFC 4180 quoting, NULL as an unquoted empty field). Every run is recorded.
 */
import type { DatasetConfig } from '../../../config/schema';
import type { BatchManifest } from '../../../lambda/batch/contract';
import { GetObjectCommand, paginateListObjectsV2, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';

export interface GlueStartJobRunInput {
  readonly JobName: string;
  readonly Arguments: Record<string, string>;
}

/** The fields of a Glue `GetJobRun` result the stage B ResultSelector reads. */
export interface GlueJobRunResult {
  readonly Id: string;
  readonly JobRunState: 'SUCCEEDED';
}

export interface CurateRun {
  readonly jobRunId: string;
  readonly dataset: string;
  readonly batchId: string;
  readonly runIds: readonly string[];
  readonly rowsStaged: number;
  readonly rowsChanged: number;
}

type Row = Record<string, unknown>;

function parseS3Url(url: string): { bucket: string; prefix: string } {
  const match = /^s3:\/\/([^/]+)\/(.*)$/.exec(url);
  if (!match) throw new Error(`Not an s3:// URL: ${url}`);
  return { bucket: match[1], prefix: match[2] };
}

function csvField(value: unknown): string {
  if (value === null || value === undefined) return '';
  const text = typeof value === 'string' ? value : String(value);
  return text === '' || /[",\n\r]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
}

async function readText(s3: S3Client, bucket: string, key: string): Promise<string> {
  const { Body } = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
  return Body!.transformToString();
}

async function listKeys(s3: S3Client, bucket: string, prefix: string): Promise<string[]> {
  const keys: string[] = [];
  for await (const page of paginateListObjectsV2({ client: s3 }, { Bucket: bucket, Prefix: prefix })) {
    for (const object of page.Contents ?? []) keys.push(object.Key as string);
  }
  return keys;
}

export class CurateSimulator {
  readonly runs: CurateRun[] = [];
  /** The curated tables: dataset -> primary key -> row (with `_sequence` lineage of the winning version). */
  readonly curated = new Map<string, Map<string, Row>>();

  constructor(
    private readonly s3: S3Client,
    private readonly datasets: ReadonlyMap<string, DatasetConfig>,
  ) {}

  async run(input: GlueStartJobRunInput): Promise<GlueJobRunResult> {
    const args = input.Arguments;
    const dataset = this.datasets.get(args['--dataset']);
    if (dataset === undefined) throw new Error(`unknown --dataset ${args['--dataset']}`);
    const manifestUrl = parseS3Url(args['--manifest_path']);
    const manifest = JSON.parse(await readText(this.s3, manifestUrl.bucket, manifestUrl.prefix)) as BatchManifest;
    if (manifest.batchId !== args['--batch_id'] || manifest.dataset !== dataset.name) {
      throw new Error(`manifest ${args['--manifest_path']} is not batch ${args['--batch_id']} of ${dataset.name}`);
    }
    const rows: Row[] = [];
    for (const run of manifest.runs) {
      const staging = parseS3Url(run.stagingPath);
      for (const key of await listKeys(this.s3, staging.bucket, staging.prefix)) {
        for (const line of (await readText(this.s3, staging.bucket, key)).split('\n')) {
          if (line.trim() !== '') rows.push({ ...JSON.parse(line), _sequence: run.sequence });
        }
      }
    }
    const eventTime = dataset.columns.find((column) => column.type === 'timestamp' && !column.nullable)?.name;
    const order = (row: Row): (string | number)[] => [
      eventTime ? new Date(String(row[eventTime])).getTime() : 0,
      String(row._ingest_date),
      Number(row._sequence),
      Number(row._record),
    ];
    const later = (a: Row, b: Row): boolean => {
      const [x, y] = [order(a), order(b)];
      for (let i = 0; i < x.length; i++) if (x[i] !== y[i]) return x[i] > y[i];
      return false;
    };
    const keyOf = (row: Row) => JSON.stringify(dataset.primaryKey.map((column) => row[column]));
    const winners = new Map<string, Row>();
    for (const row of rows) {
      const existing = winners.get(keyOf(row));
      if (existing === undefined || later(row, existing)) winners.set(keyOf(row), row);
    }
    // MERGE: a batch row replaces the curated one unless the curated one is later by event time and ingest date.
    const table = this.curated.get(dataset.name) ?? new Map<string, Row>();
    this.curated.set(dataset.name, table);
    const changed: Row[] = [];
    for (const [key, row] of winners) {
      const current = table.get(key);
      const older =
        current !== undefined && later({ ...current, _sequence: 0, _record: 0 }, { ...row, _sequence: 0, _record: 0 });
      if (older) continue;
      table.set(key, row);
      changed.push(row);
    }
    if (dataset.mart.enabled) {
      const columns = dataset.columns.map((column) => column.name);
      const lines = [columns.join(','), ...changed.map((row) => columns.map((c) => csvField(row[c])).join(','))];
      const mart = parseS3Url(args['--mart_path']);
      await this.s3.send(
        new PutObjectCommand({
          Bucket: mart.bucket,
          Key: `${mart.prefix}part-00000.csv`,
          Body: `${lines.join('\n')}\n`,
        }),
      );
    }
    const jobRunId = `jr_${this.runs.length + 1}_${manifest.batchId}`;
    this.runs.push({
      jobRunId,
      dataset: dataset.name,
      batchId: manifest.batchId,
      runIds: manifest.runs.map((run) => run.runId),
      rowsStaged: rows.length,
      rowsChanged: changed.length,
    });
    return { Id: jobRunId, JobRunState: 'SUCCEEDED' };
  }
}
