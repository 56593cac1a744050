/**
 * Export jobs: the request schema of `POST /v1/exports`, the DynamoDB item that tracks a job, and the SQS message that
 * hands it to the worker. Shared by export-request, export-worker and export-status.
 */
import * as z from 'zod/mini';
import type { DynamoDbDocumentClient } from '../shared/aws/dynamodb';
import { FILTER_OPERATORS } from './mart-query';
import '../shared/zod-locale';

/** Deliveries of one job message before it goes to the dead-letter queue (the stack's maxReceiveCount). */
export const EXPORT_MAX_RECEIVE_COUNT = 3;
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
          operator: z._default(z.enum(Object.keys(FILTER_OPERATORS) as [keyof typeof FILTER_OPERATORS]), 'eq'),
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

export function exportObjectKey(id: string): string {
  return `exports/${id}.csv`;
}

export class ExportJobs {
  constructor(
    private readonly client: Pick<DynamoDbDocumentClient, 'get' | 'put' | 'update'>,
    private readonly tableName: string,
  ) {}

  async create(job: ExportJob): Promise<void> {
    await this.client.put({ TableName: this.tableName, Item: job, ConditionExpression: 'attribute_not_exists(id)' });
  }

  async get(id: string): Promise<ExportJob | undefined> {
    const result = await this.client.get({ TableName: this.tableName, Key: { id }, ConsistentRead: true });
    return result.Item as ExportJob | undefined;
  }

  /** Sets `status` and the given fields; `updatedAt` is always refreshed. */
  async update(
    id: string,
    status: ExportStatus,
    fields: Partial<Pick<ExportJob, 'attempts' | 'objectKey' | 'rowCount' | 'bytes' | 'error'>> = {},
  ): Promise<void> {
    const values: Record<string, unknown> = { ':status': status, ':updatedAt': new Date().toISOString() };
    const names: Record<string, string> = { '#status': 'status', '#updatedAt': 'updatedAt' };
    const sets = ['#status = :status', '#updatedAt = :updatedAt'];
    for (const [field, value] of Object.entries(fields)) {
      if (value === undefined) continue;
      names[`#${field}`] = field;
      values[`:${field}`] = value;
      sets.push(`#${field} = :${field}`);
    }
    await this.client.update({
      TableName: this.tableName,
      Key: { id },
      UpdateExpression: `SET ${sets.join(', ')}`,
      ExpressionAttributeNames: names,
      ExpressionAttributeValues: values,
      ConditionExpression: 'attribute_exists(id)',
    });
  }
}
