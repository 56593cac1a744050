/**
 * What the API functions share with the Api stack and with each other (side-effect free: the stack imports it):
 * - the names of their environment variables (each function's contract.ts lists the ones it reads);
 * - the whitelist of mart tables the API may read (MART_TABLES), built from the dataset configs by the stack. SQL
 *   identifiers only ever come from it, never from a request (./marts.ts checks them again and double-quotes them);
 * - export jobs: the request of `POST /v1/exports`, the DynamoDB item that tracks a job, the SQS message that hands it
 *   to the worker, and where the file goes.
 */
import * as z from 'zod/mini';
import type { DatasetConfig } from '../../config/schema';

export const API_ENV = {
  /** Landing bucket (upload URLs). */
  landingBucket: 'LANDING_BUCKET',
  /** Artifacts bucket (exports/<id>.csv). */
  artifactsBucket: 'ARTIFACTS_BUCKET',
  /** ARN of the platform KMS key: objects are written with SSE-KMS under it. */
  kmsKeyArn: 'KMS_KEY_ARN',
  /** JSON array of the configured dataset names (upload URLs). */
  datasets: 'DATASETS',
  /** JSON of the mart tables the API may read: an array of {@link MartTable}. */
  martTables: 'MART_TABLES',
  // The Data API target (cluster, the reader login's secret, database): MART_CONNECTION_ENV of ../shared/mart-contract.ts.
  /** DynamoDB table of export jobs. */
  exportsTable: 'EXPORTS_TABLE',
  /** SQS queue of export jobs. */
  exportQueueUrl: 'EXPORT_QUEUE_URL',
  /** Largest file an upload URL is signed for, in bytes (config api.maxUploadBytes). */
  maxUploadBytes: 'MAX_UPLOAD_BYTES',
  /** Lifetime of presigned URLs, in seconds. */
  urlExpirySeconds: 'URL_EXPIRY_SECONDS',
  /** Days an export job (and its status) is kept before DynamoDB's TTL removes it. */
  exportRetentionDays: 'EXPORT_RETENTION_DAYS',
  /** Rows the export worker reads per query (the Data API returns at most 1 MB per statement). */
  exportPageRows: 'EXPORT_PAGE_ROWS',
} as const;

export const IDENTIFIER = /^[a-z][a-z0-9_]{0,62}$/;
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

/** Filter operators of mart queries and exports (`column[op]=value`); ./mart-query.ts maps them to SQL. */
export const FILTER_OPERATOR_NAMES = ['eq', 'gt', 'gte', 'lt', 'lte'] as const;
export type FilterOperator = (typeof FILTER_OPERATOR_NAMES)[number];

/** Filters per export: enough for any real slice, few enough to keep the query plan simple. */
export const MAX_EXPORT_FILTERS = 20;

export const exportRequestSchema = z.strictObject({
  /** Mart table (from the whitelist). */
  table: z.string().check(z.minLength(1), z.maxLength(64)),
  /** Filters on the table's filterable columns; values as strings, finite numbers or booleans. */
  filters: z._default(
    z
      .array(
        z.strictObject({
          column: z.string().check(z.minLength(1), z.maxLength(64)),
          operator: z._default(z.enum(FILTER_OPERATOR_NAMES), 'eq'),
          value: z.pipe(
            z.union([
              z.string(),
              // A JSON number beyond 2^53 has already been rounded by the parser: the filter would silently change.
              z.number().check(
                z.refine((value) => !Number.isInteger(value) || Number.isSafeInteger(value), {
                  error: 'is an integer beyond 2^53, which a JSON number cannot hold exactly. Fix: send it as a string',
                }),
              ),
              z.boolean(),
            ]),
            z.transform((value) => String(value)),
          ),
        }),
      )
      .check(z.maxLength(MAX_EXPORT_FILTERS)),
    [],
  ),
  format: z._default(
    z.literal('csv', { error: 'must be "csv" (the only export format). Fix: set "format": "csv" or leave it out' }),
    'csv',
  ),
});
export type ExportRequest = z.infer<typeof exportRequestSchema>;

export const EXPORT_STATUSES = ['QUEUED', 'RUNNING', 'SUCCEEDED', 'FAILED'] as const;
export type ExportStatus = (typeof EXPORT_STATUSES)[number];

export interface ExportJob {
  /** Partition key: a UUID. */
  readonly id: string;
  readonly status: ExportStatus;
  /** Who asked (see callerOf): only they can read the status. */
  readonly requestedBy: string;
  readonly request: ExportRequest;
  readonly createdAt: string;
  readonly updatedAt: string;
  /** DynamoDB TTL (epoch seconds). */
  readonly expiresAt: number;
  readonly attempts?: number;
  /** Artifacts-bucket key of the CSV, once SUCCEEDED. */
  readonly objectKey?: string;
  readonly rowCount?: number;
  readonly bytes?: number;
  /** Why the job failed (FAILED), or the last transient failure while it is retried. */
  readonly error?: string;
}

export const exportMessageSchema = z.strictObject({ id: z.uuid() });
export type ExportMessage = z.infer<typeof exportMessageSchema>;

/** Where the export files are, in the artifacts bucket (the Api stack grants on it, the Storage stack expires it). */
export const EXPORTS_PREFIX = 'exports/';

/** `exports/<id>.csv`: the file of one job. */
export function exportObjectKey(id: string): string {
  return `${EXPORTS_PREFIX}${id}.csv`;
}
