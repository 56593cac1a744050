/**
 * The export job table (its item: ExportJob of ./contract.ts), shared by export-request, export-worker and export-status.
 */
import type { DynamoDbDocumentClient } from '../shared/aws/dynamodb';
import type { ExportJob, ExportStatus } from './contract';

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
