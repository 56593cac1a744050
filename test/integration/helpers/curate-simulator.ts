/**
 * Stands in for the curate Glue job in local state-machine runs: reads the run's staged NDJSON rows from S3, keeps the
 * latest record per primary key, and writes the mart CSV batch the way curate.py does (header row, dataset-config
 * column order, RFC 4180 quoting, NULL as an unquoted empty field) under `--mart_path`.
 */
import type { DatasetConfig } from '../../../config/schema';
import type { S3Client } from '../../../lambda/shared/aws/s3';

export interface GlueStartJobRunInput {
  readonly JobName: string;
  readonly Arguments: Record<string, string>;
}

/** The fields of a Glue `GetJobRun` result the flow's ResultSelector reads. */
export interface GlueJobRunResult {
  readonly Id: string;
  readonly JobRunState: 'SUCCEEDED';
  readonly Arguments: Record<string, string>;
}

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

export interface SimulateOptions {
  /** Rewrites the CSV batch before it is written, e.g. to plant a value the mart rejects. @default - unchanged */
  readonly rewriteBatch?: (csv: string) => string;
}

export async function simulateCurate(
  s3: S3Client,
  dataset: DatasetConfig,
  input: GlueStartJobRunInput,
  options: SimulateOptions = {},
): Promise<GlueJobRunResult> {
  const args = input.Arguments;
  const staging = parseS3Url(args['--staging_path']);
  const rows: Record<string, unknown>[] = [];
  let token: string | undefined;
  do {
    const listed = await s3.listObjectsV2({ Bucket: staging.bucket, Prefix: staging.prefix, ContinuationToken: token });
    for (const object of listed.Contents) {
      const { Body } = await s3.getObject({ Bucket: staging.bucket, Key: object.Key! });
      const chunks: Buffer[] = [];
      for await (const chunk of Body) chunks.push(chunk as Buffer);
      const text = Buffer.concat(chunks).toString('utf8');
      for (const line of text.split('\n')) if (line.trim() !== '') rows.push(JSON.parse(line));
    }
    token = listed.IsTruncated ? listed.NextContinuationToken : undefined;
  } while (token);
  const latest = new Map<string, Record<string, unknown>>();
  for (const row of rows.sort((a, b) => Number(a._record) - Number(b._record))) {
    latest.set(JSON.stringify(dataset.primaryKey.map((column) => row[column])), row);
  }
  const columns = dataset.columns.map((column) => column.name);
  const lines = [
    columns.join(','),
    ...[...latest.values()].map((row) => columns.map((c) => csvField(row[c])).join(',')),
  ];
  const csv = `${lines.join('\n')}\n`;
  const mart = parseS3Url(args['--mart_path']);
  const body = options.rewriteBatch ? options.rewriteBatch(csv) : csv;
  await s3.putObject({ Bucket: mart.bucket, Key: `${mart.prefix}part-00000.csv`, Body: body });
  return { Id: `jr_${args['--run_id']}`, JobRunState: 'SUCCEEDED', Arguments: args };
}
