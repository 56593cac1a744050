import { ExportJobs } from '../../../lambda/api-shared/export-jobs';
import type { ExportJob } from '../../../lambda/api-shared/contract';
import { DynamoDbDocumentClient } from '../../../lambda/shared/aws/dynamodb';
import { clientOptions, type FakeAws, type FakeAwsHandler, startFakeAws } from '../../helpers/fake-aws';

const job: ExportJob = {
  id: '0b7f3c3e-8d1f-4c57-9a4e-2f9d8e1c6a01',
  status: 'QUEUED',
  requestedBy: 'cognito:6f1c2a4e-0000-4000-8000-00000000beef',
  request: { table: 'clicks', format: 'csv', filters: [{ column: 'campaign_id', operator: 'eq', value: '42' }] },
  createdAt: '2026-11-22T10:11:12.345Z',
  updatedAt: '2026-11-22T10:11:12.345Z',
  expiresAt: 1_795_947_072,
};

let fake: FakeAws;
let answer: FakeAwsHandler;
let jobs: ExportJobs;

beforeAll(async () => {
  fake = await startFakeAws('dynamodb', (call) => answer(call));
  const client = new DynamoDbDocumentClient(clientOptions(fake));
  jobs = new ExportJobs(client, 'dp-dev-export-jobs');
});
afterAll(() => fake.stop());
beforeEach(() => {
  fake.calls.length = 0;
  answer = () => ({ body: {} });
});

describe('ExportJobs', () => {
  it('creates a job only if its id is new', async () => {
    await jobs.create(job);
    expect(fake.calls[0].target).toBe('DynamoDB_20120810.PutItem');
    expect(fake.calls[0].json).toEqual({
      TableName: 'dp-dev-export-jobs',
      ConditionExpression: 'attribute_not_exists(id)',
      Item: {
        id: { S: job.id },
        status: { S: 'QUEUED' },
        requestedBy: { S: job.requestedBy },
        request: {
          M: {
            table: { S: 'clicks' },
            format: { S: 'csv' },
            filters: {
              L: [{ M: { column: { S: 'campaign_id' }, operator: { S: 'eq' }, value: { S: '42' } } }],
            },
          },
        },
        createdAt: { S: job.createdAt },
        updatedAt: { S: job.updatedAt },
        expiresAt: { N: '1795947072' },
      },
    });
  });

  it('reads a job consistently, and undefined when there is none', async () => {
    answer = (call) =>
      (call.json as { Key: { id: { S: string } } }).Key.id.S === job.id
        ? {
            body: {
              Item: {
                id: { S: job.id },
                status: { S: 'SUCCEEDED' },
                rowCount: { N: '1234' },
                bytes: { N: '56789' },
                objectKey: { S: `exports/${job.id}.csv` },
              },
            },
          }
        : { body: {} };
    await expect(jobs.get(job.id)).resolves.toEqual({
      id: job.id,
      status: 'SUCCEEDED',
      rowCount: 1234,
      bytes: 56789,
      objectKey: `exports/${job.id}.csv`,
    });
    expect(fake.calls[0].json).toEqual({
      TableName: 'dp-dev-export-jobs',
      Key: { id: { S: job.id } },
      ConsistentRead: true,
    });
    await expect(jobs.get('unknown')).resolves.toBeUndefined();
  });

  it('updates the status and the given fields of an existing job, skipping undefined ones', async () => {
    await jobs.update(job.id, 'FAILED', { attempts: 3, error: 'boom', rowCount: undefined });
    const request = fake.calls[0].json as Record<string, unknown>;
    expect(fake.calls[0].target).toBe('DynamoDB_20120810.UpdateItem');
    expect(request).toEqual({
      TableName: 'dp-dev-export-jobs',
      Key: { id: { S: job.id } },
      UpdateExpression: 'SET #status = :status, #updatedAt = :updatedAt, #attempts = :attempts, #error = :error',
      ExpressionAttributeNames: {
        '#status': 'status',
        '#updatedAt': 'updatedAt',
        '#attempts': 'attempts',
        '#error': 'error',
      },
      ExpressionAttributeValues: {
        ':status': { S: 'FAILED' },
        ':updatedAt': { S: expect.stringMatching(/^\d{4}-\d{2}-\d{2}T/) },
        ':attempts': { N: '3' },
        ':error': { S: 'boom' },
      },
      ConditionExpression: 'attribute_exists(id)',
    });
  });

  it('fails with ConditionalCheckFailedException when updating a job that does not exist', async () => {
    answer = () => ({
      status: 400,
      body: {
        __type: 'com.amazonaws.dynamodb.v20120810#ConditionalCheckFailedException',
        message: 'The conditional request failed',
      },
    });
    await expect(jobs.update('unknown', 'RUNNING')).rejects.toMatchObject({ name: 'ConditionalCheckFailedException' });
  });
});
