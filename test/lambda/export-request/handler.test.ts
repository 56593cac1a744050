import { createHash } from 'node:crypto';
import type { AttributeValue } from '@aws-sdk/client-dynamodb';
import { unmarshall } from '@aws-sdk/util-dynamodb';
import { martTablesFromDatasets } from '../../../lambda/shared/api-marts';
import { exampleConfig } from '../../helpers/app';
import { type FakeAws, type FakeAwsHandler, startFakeAws, setLambdaRoleEnvironment } from '../../helpers/fake-aws';
import { proxyEvent } from '../mart-query/mart-fixture';

process.env.EXPORTS_TABLE = 'dp-dev-export-jobs';
process.env.EXPORT_QUEUE_URL = 'https://sqs.eu-west-1.amazonaws.com/222222222222/dp-dev-export-jobs';
process.env.MART_TABLES = JSON.stringify(martTablesFromDatasets(exampleConfig().datasets));
process.env.EXPORT_RETENTION_DAYS = '7';
process.env.POWERTOOLS_LOG_LEVEL = 'SILENT';
process.env.POWERTOOLS_METRICS_NAMESPACE = 'DataPlatformTest';
setLambdaRoleEnvironment();

type HandlerModule = typeof import('../../../lambda/export-request/handler');
let exportRequest: HandlerModule;
let ddb: FakeAws;
let sqs: FakeAws;
/** How the fake SQS answers SendMessage, and the fake DynamoDB every call, in the current test. */
let sendMessage: FakeAwsHandler;
let dynamoDb: FakeAwsHandler;
/** PutItem and UpdateItem answer {} (no ReturnValues), as DynamoDB does. */
const written: FakeAwsHandler = () => ({ body: {} });

/** SendMessage's answer as SQS gives it. */
const queued: FakeAwsHandler = (call) => ({
  body: {
    MD5OfMessageBody: createHash('md5')
      .update((call.json as { MessageBody: string }).MessageBody)
      .digest('hex'),
    MessageId: 'm-1',
  },
});

beforeAll(async () => {
  ddb = await startFakeAws('dynamodb', (call) => dynamoDb(call));
  sqs = await startFakeAws('sqs', (call) => sendMessage(call));
  process.env.AWS_ENDPOINT_URL_DYNAMODB = ddb.endpoint;
  process.env.AWS_ENDPOINT_URL_SQS = sqs.endpoint;
  exportRequest = await import('../../../lambda/export-request/handler');
});
beforeEach(() => {
  ddb.calls.length = 0;
  sqs.calls.length = 0;
  sendMessage = queued;
  dynamoDb = written;
});
afterAll(async () => {
  await ddb.stop();
  await sqs.stop();
});

type Json = Record<string, unknown>;
const fromDynamoDb = (value: unknown) => (value ? unmarshall(value as Record<string, AttributeValue>) : value);
/** The DynamoDB requests of one operation, with their attribute values read back into plain values. */
function ddbCalls(operation: 'PutItem' | 'UpdateItem'): Json[] {
  return ddb.calls
    .filter((call) => call.target === `DynamoDB_20120810.${operation}`)
    .map((call) => {
      const { Item, Key, ExpressionAttributeValues, ...rest } = call.json as Json;
      const plain: Json = { ...rest };
      if (Item) plain.Item = fromDynamoDb(Item);
      if (Key) plain.Key = fromDynamoDb(Key);
      if (ExpressionAttributeValues) plain.ExpressionAttributeValues = fromDynamoDb(ExpressionAttributeValues);
      return plain;
    });
}
const sqsCalls = () => sqs.calls.filter((call) => call.target === 'AmazonSQS.SendMessage').map((call) => call.json);

function post(body: string | null, contentType = 'application/json') {
  return exportRequest.handler(
    proxyEvent({
      resource: '/v1/exports',
      path: '/v1/exports',
      httpMethod: 'POST',
      pathParameters: null,
      headers: { 'Content-Type': contentType },
      body,
    }),
  );
}

describe('POST /v1/exports', () => {
  test('records the job for the caller, queues its id and answers 202 with the status URL', async () => {
    const response = await post(
      JSON.stringify({
        table: 'impressions',
        filters: [
          { column: 'campaign_id', value: 42 },
          { column: 'event_date', operator: 'gte', value: '2026-11-01' },
        ],
      }),
    );
    expect(response.statusCode).toBe(202);
    const body = JSON.parse(response.body);
    expect(body).toEqual({
      id: expect.stringMatching(/^[0-9a-f-]{36}$/),
      status: 'QUEUED',
      statusUrl: `/v1/exports/${body.id}`,
    });

    const put = ddbCalls('PutItem')[0];
    expect(put).toEqual({
      TableName: 'dp-dev-export-jobs',
      ConditionExpression: 'attribute_not_exists(id)',
      Item: expect.objectContaining({
        id: body.id,
        status: 'QUEUED',
        requestedBy: 'cognito:6f1c2a4e-0000-4000-8000-00000000beef',
        request: {
          table: 'impressions',
          format: 'csv',
          filters: [
            { column: 'campaign_id', operator: 'eq', value: '42' },
            { column: 'event_date', operator: 'gte', value: '2026-11-01' },
          ],
        },
      }),
    });
    const item = put.Item as { createdAt: string; expiresAt: number };
    expect(item.expiresAt - Math.floor(Date.parse(item.createdAt) / 1000)).toBe(7 * 86_400);
    expect(sqsCalls()[0]).toEqual({
      QueueUrl: process.env.EXPORT_QUEUE_URL,
      MessageBody: JSON.stringify({ id: body.id }),
    });
  });

  test.each([
    ['an empty body', null, /request body is empty/],
    ['a body that is not JSON', '{"table": ', /not valid JSON/],
    [
      'an unknown table',
      JSON.stringify({ table: 'audit.runs' }),
      /Unknown mart table "audit.runs". Fix: use one of clicks, impressions/,
    ],
    ['an SQL-ish table', JSON.stringify({ table: 'clicks; DROP TABLE mart.clicks' }), /Unknown mart table/],
    [
      'a filter on a column that is not filterable',
      JSON.stringify({ table: 'clicks', filters: [{ column: 'cost_usd', value: 1 }] }),
      /Column "cost_usd" cannot be filtered on in clicks. Fix: filter on click_id, impression_id, campaign_id/,
    ],
    [
      'a filter value of the wrong type',
      JSON.stringify({ table: 'clicks', filters: [{ column: 'campaign_id', value: "1' OR '1'='1" }] }),
      /is not a valid bigint/,
    ],
    [
      'an unknown operator',
      JSON.stringify({ table: 'clicks', filters: [{ column: 'campaign_id', operator: 'like', value: 1 }] }),
      /field "filters.0.operator" has value "like"/,
    ],
    [
      'another format',
      JSON.stringify({ table: 'clicks', format: 'xlsx' }),
      /field "format" has value "xlsx": must be "csv"/,
    ],
    ['an unknown field', JSON.stringify({ table: 'clicks', sql: 'SELECT 1' }), /Unrecognized key/],
    [
      'too many filters',
      JSON.stringify({ table: 'clicks', filters: Array(21).fill({ column: 'campaign_id', value: 1 }) }),
      /field "filters"/,
    ],
  ])('fails %s with 400 and queues nothing', async (_name, body, message) => {
    const response = await post(body);
    expect(response.statusCode).toBe(400);
    expect(JSON.parse(response.body)).toEqual({
      message: expect.stringMatching(message),
      requestId: 'c0ffee00-0000-4000-8000-000000000001',
    });
    expect(ddbCalls('PutItem')).toHaveLength(0);
    expect(sqsCalls()).toHaveLength(0);
  });

  test('answers 500 without internals when the queue is unavailable, and marks the job FAILED', async () => {
    sendMessage = () => ({
      status: 400,
      headers: { 'x-amzn-query-error': 'KMS.DisabledException;Sender' },
      body: {
        __type: 'com.amazonaws.sqs#KmsDisabled',
        message: 'KMS.DisabledException: arn:aws:kms:eu-west-1:222222222222:key/1234abcd is disabled',
      },
    });
    const response = await post(JSON.stringify({ table: 'clicks' }));
    expect(response.statusCode).toBe(500);
    expect(response.body).not.toMatch(/KMS|arn:/);
    const id = (ddbCalls('PutItem')[0].Item as { id: string }).id;
    expect(ddbCalls('UpdateItem')[0]).toEqual(
      expect.objectContaining({
        Key: { id },
        ExpressionAttributeValues: expect.objectContaining({ ':status': 'FAILED' }),
      }),
    );
  });

  test('answers 500 without queueing when DynamoDB refuses the job', async () => {
    dynamoDb = () => ({
      status: 400,
      body: {
        __type: 'com.amazonaws.dynamodb.v20120810#ConditionalCheckFailedException',
        message: 'The conditional request failed',
      },
    });
    const response = await post(JSON.stringify({ table: 'clicks' }));
    expect(response.statusCode).toBe(500);
    expect(ddbCalls('PutItem')).toHaveLength(1);
    expect(sqsCalls()).toHaveLength(0);
  });
});
