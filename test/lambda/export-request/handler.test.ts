import { createHash } from 'node:crypto';
import type { AttributeValue } from '@aws-sdk/client-dynamodb';
import { unmarshall } from '@aws-sdk/util-dynamodb';
import { ExportJobs } from '../../../lambda/api-shared/export-jobs';
import { martTablesFromDatasets } from '../../../lambda/api-shared/contract';
import { DynamoDbDocumentClient } from '../../../lambda/shared/aws/dynamodb';
import { SqsClient } from '../../../lambda/shared/aws/sqs';
import { logger } from '../../../lambda/shared/logger';
import { exampleConfig } from '../../helpers/app';
import { type FakeAws, type FakeAwsHandler, startFakeAws, setLambdaRoleEnvironment } from '../../helpers/fake-aws';
import { martTables, proxyEvent } from '../mart-query/mart-fixture';

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
      /^Value "1' OR '1'='1" for campaign_id is not a valid bigint: a bigint \(int8\) is written with digits only/,
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

  describe('hostile requests: 400 at submission, nothing recorded or queued, no error logged', () => {
    /** impressions with every column filterable: one column of each type. */
    const everyType = new Map(martTables);
    const impressions = martTables.get('impressions')!;
    everyType.set('impressions', { ...impressions, filterable: impressions.columns.map((column) => column.name) });
    let errorLog: jest.SpyInstance;
    beforeEach(() => {
      errorLog = jest.spyOn(logger, 'error');
    });
    afterEach(() => errorLog.mockRestore());

    async function submit(body: string) {
      const handler = exportRequest.createHandler({
        jobs: new ExportJobs(new DynamoDbDocumentClient(), 'dp-dev-export-jobs'),
        sqs: new SqsClient(),
        queueUrl: process.env.EXPORT_QUEUE_URL!,
        tables: everyType,
        retentionDays: 7,
      });
      const response = await handler(
        proxyEvent({ resource: '/v1/exports', path: '/v1/exports', httpMethod: 'POST', pathParameters: null, body }),
      );
      return { status: response.statusCode, body: JSON.parse(response.body) };
    }
    const filter = (column: string, value: unknown, operator = 'eq') =>
      JSON.stringify({ table: 'impressions', filters: [{ column, operator, value }] });

    test.each([
      [
        'a NUL byte in a string filter',
        filter('impression_id', 'imp-\u0000'),
        'Value "imp-\\u0000" for impression_id is not a valid string: it contains a NUL character (U+0000), which PostgreSQL text cannot hold. Fix: remove the NUL character',
      ],
      [
        'an unpaired surrogate (an escaped \\ud800 in the JSON)',
        '{"table":"impressions","filters":[{"column":"country","value":"D\\ud800"}]}',
        'Value "D\\ud800" for country is not a valid string: it contains an unpaired UTF-16 surrogate (not valid Unicode). Fix: send valid Unicode text (UTF-8 when percent-encoded)',
      ],
      [
        'an impossible date',
        filter('event_date', '2026-02-30', 'gte'),
        'Value "2026-02-30" for event_date is not a valid date: 2026-02 has days 01 to 28. Fix: e.g. 2026-01-31',
      ],
      [
        'a timestamp in year 0',
        filter('event_time', '0000-06-01T00:00:00Z', 'lt'),
        'Value "0000-06-01T00:00:00Z" for event_time is not a valid timestamp: there is no year 0000; years are 0001 to 9999. Fix: e.g. 2026-01-31T12:00:00Z',
      ],
      [
        'an integer beyond int4 (a JSON number)',
        filter('creative_id', 2147483648),
        'Value "2147483648" for creative_id is not a valid integer: an integer (int4) is from -2147483648 to 2147483647. Fix: e.g. 42',
      ],
      [
        'a bigint beyond int8 (a string)',
        filter('campaign_id', '9223372036854775808'),
        'Value "9223372036854775808" for campaign_id is not a valid bigint: a bigint (int8) is from -9223372036854775808 to 9223372036854775807. Fix: e.g. 1234567890',
      ],
      [
        'a bigint as a JSON number beyond 2^53 (already rounded by the parser)',
        '{"table":"impressions","filters":[{"column":"campaign_id","value":9007199254740993}]}',
        'field "filters.0.value" has value 9007199254740992: is an integer beyond 2^53, which a JSON number cannot hold exactly. Fix: send it as a string',
      ],
      [
        'a decimal beyond its precision',
        filter('bid_price_usd', '1234567.5', 'gt'),
        'Value "1234567.5" for bid_price_usd is not a valid decimal(12,6): it has 7 digits before the decimal point; a decimal(12,6) has at most 6. Fix: e.g. 12.5',
      ],
      [
        'a decimal beyond its scale (a JSON number)',
        filter('bid_price_usd', 0.1234567),
        'Value "0.1234567" for bid_price_usd is not a valid decimal(12,6): it has 7 digits after the decimal point; a decimal(12,6) has at most 6. Fix: e.g. 12.5',
      ],
      [
        'a double that is not finite',
        filter('viewability_score', '1e400', 'lt'),
        'Value "1e400" for viewability_score is not a valid double: a double is at most about ±1.8e308 in magnitude. Fix: e.g. 0.75',
      ],
      [
        'a boolean filter given as a number',
        filter('viewable', 1),
        'Value "1" for viewable is not a valid boolean: a boolean is true or false. Fix: e.g. true',
      ],
    ])('rejects %s', async (_name, body, message) => {
      const response = await submit(body);
      expect(response).toEqual({
        status: 400,
        body: {
          message: typeof message === 'string' ? message : expect.stringMatching(message),
          requestId: 'c0ffee00-0000-4000-8000-000000000001',
        },
      });
      expect(ddbCalls('PutItem')).toHaveLength(0);
      expect(sqsCalls()).toHaveLength(0);
      expect(errorLog).not.toHaveBeenCalled();
    });

    test('rejects a body nested 5,000 levels deep with 400 and a JSON reason (it was a 500)', async () => {
      const deep = `${'['.repeat(5000)}0${']'.repeat(5000)}`;
      for (const body of [
        `{"table":"clicks","filters":[{"column":"click_id","value":${deep}}]}`,
        `{"table":"clicks","sql":${deep}}`,
        deep,
        `{"table":${'{"a":'.repeat(5000)}1${'}'.repeat(5000)}}`,
      ]) {
        const response = await submit(body);
        expect(response).toEqual({
          status: 400,
          body: {
            message: expect.stringMatching(
              /^The request body nests objects and arrays more than 16 levels deep \(level 17 opens at character \d+\)\. Fix: send the documented JSON object$/,
            ),
            requestId: 'c0ffee00-0000-4000-8000-000000000001',
          },
        });
      }
      expect(ddbCalls('PutItem')).toHaveLength(0);
      expect(sqsCalls()).toHaveLength(0);
      expect(errorLog).not.toHaveBeenCalled();
    });

    test('survives deep brackets inside strings: they are text, not nesting', async () => {
      const response = await submit(filter('impression_id', `${'['.repeat(200)}"{`));
      expect(response.status).toBe(202);
      expect(ddbCalls('PutItem')).toHaveLength(1);
    });

    test('rejects a body larger than 64 KiB with 413 before parsing it', async () => {
      const response = await submit(JSON.stringify({ table: 'clicks', padding: 'x'.repeat(70_000) }));
      expect(response).toEqual({
        status: 413,
        body: {
          message: 'The request body is 70031 bytes, more than 65536. Fix: send only the documented fields',
          requestId: 'c0ffee00-0000-4000-8000-000000000001',
        },
      });
      expect(ddbCalls('PutItem')).toHaveLength(0);
    });

    test('rejects a body with many bad fields with one bounded message', async () => {
      const response = await submit(
        JSON.stringify({
          table: 'clicks',
          filters: Array.from({ length: 20 }, () => ({ column: 'x'.repeat(2000), operator: 'like', value: [[[[1]]]] })),
        }),
      );
      expect(response.status).toBe(400);
      expect(response.body.message.length).toBeLessThan(2000);
      expect(response.body.message).toMatch(/; and \d+ more$/);
    });
  });
});
