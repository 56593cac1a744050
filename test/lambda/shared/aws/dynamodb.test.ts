import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient, GetCommand, PutCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { AwsServiceError } from '../../../../lambda/shared/aws/client';
import {
  DynamoDbDocumentClient,
  marshall,
  marshallValue,
  unmarshall,
  unmarshallValue,
} from '../../../../lambda/shared/aws/dynamodb';
import { type FakeAws, type FakeAwsHandler, clientOptions, startFakeAws } from '../../../helpers/fake-aws';

let fake: FakeAws;
let answer: FakeAwsHandler;

beforeAll(async () => {
  fake = await startFakeAws('dynamodb', (call) => answer(call));
});
afterAll(() => fake.stop());
beforeEach(() => {
  fake.calls.length = 0;
  answer = () => ({ body: {} });
});

const options = () => clientOptions(fake);
const client = () => new DynamoDbDocumentClient(options());
/** The AWS SDK's document client, configured as the functions configured it: the reference for the wire format. */
function sdkClient() {
  return DynamoDBDocumentClient.from(new DynamoDBClient(options()));
}

/** An export job item with every kind of value the marshalling handles. */
const job = {
  id: '0b7f3c3e-8d1f-4c57-9a4e-2f9d8e1c6a01',
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
  createdAt: '2026-11-22T10:11:12.345Z',
  expiresAt: 1_795_000_000,
  attempts: 0,
  bytes: 12345678901234567890n,
  ratio: -0.125,
  done: false,
  objectKey: null,
  empty: '',
  tags: new Set(['a', 'b']),
  sizes: new Set([1, 2.5]),
  payload: Buffer.from([0, 1, 2, 250, 255]),
  nested: { list: [1, 'two', true, null, [], {}], map: new Map([['k', 'v']]) },
};

const jobWire = {
  id: { S: job.id },
  status: { S: 'QUEUED' },
  requestedBy: { S: job.requestedBy },
  request: {
    M: {
      table: { S: 'impressions' },
      format: { S: 'csv' },
      filters: {
        L: [
          { M: { column: { S: 'campaign_id' }, operator: { S: 'eq' }, value: { S: '42' } } },
          { M: { column: { S: 'event_date' }, operator: { S: 'gte' }, value: { S: '2026-11-01' } } },
        ],
      },
    },
  },
  createdAt: { S: '2026-11-22T10:11:12.345Z' },
  expiresAt: { N: '1795000000' },
  attempts: { N: '0' },
  bytes: { N: '12345678901234567890' },
  ratio: { N: '-0.125' },
  done: { BOOL: false },
  objectKey: { NULL: true },
  empty: { S: '' },
  tags: { SS: ['a', 'b'] },
  sizes: { NS: ['1', '2.5'] },
  payload: { B: 'AAEC+v8=' },
  nested: {
    M: {
      list: { L: [{ N: '1' }, { S: 'two' }, { BOOL: true }, { NULL: true }, { L: [] }, { M: {} }] },
      map: { M: { k: { S: 'v' } } },
    },
  },
};

describe('marshall / unmarshall', () => {
  it('marshalls every kind of value to DynamoDB JSON', () => {
    expect(marshall(job)).toEqual(jobWire);
  });

  it('round-trips: unmarshall(marshall(x)) gives x back (binaries as Uint8Array, maps as objects)', () => {
    const back = unmarshall(JSON.parse(JSON.stringify(marshall(job))));
    expect(back).toEqual({
      ...job,
      payload: new Uint8Array([0, 1, 2, 250, 255]),
      nested: { list: job.nested.list, map: { k: 'v' } },
    });
    expect(back.payload).toBeInstanceOf(Uint8Array);
    expect(back.tags).toEqual(new Set(['a', 'b']));
    expect(back.sizes).toEqual(new Set([1, 2.5]));
  });

  it('leaves out undefined top-level attributes but fails on undefined inside a map or list, as lib-dynamodb does', () => {
    expect(marshall({ id: 'x', error: undefined })).toEqual({ id: { S: 'x' } });
    expect(() => marshall({ id: 'x', request: { table: undefined } })).toThrow(/removeUndefinedValues/);
    expect(() => marshall({ id: 'x', list: [1, undefined] })).toThrow(/removeUndefinedValues/);
  });

  it('refuses numbers it cannot store exactly, special numbers, empty sets and class instances', () => {
    expect(() => marshallValue(2 ** 53)).toThrow(/greater than Number.MAX_SAFE_INTEGER/);
    expect(() => marshallValue(-(2 ** 53))).toThrow(/lesser than Number.MIN_SAFE_INTEGER/);
    expect(() => marshallValue(Number.NaN)).toThrow(/Special numeric value NaN/);
    expect(() => marshallValue(Number.POSITIVE_INFINITY)).toThrow(/Special numeric value Infinity/);
    expect(() => marshallValue(new Set())).toThrow(/non-empty set/);
    expect(() => marshallValue(new Date(0))).toThrow(/Unsupported type passed.*Date/);
    expect(marshallValue(9007199254740993n)).toEqual({ N: '9007199254740993' });
    expect(marshallValue(Number.MAX_SAFE_INTEGER)).toEqual({ N: '9007199254740991' });
  });

  it('reads integers beyond 2^53 as bigint and fails clearly on other numbers it cannot represent, as lib-dynamodb does', () => {
    expect(unmarshallValue({ N: '9007199254740991' })).toBe(Number.MAX_SAFE_INTEGER);
    expect(unmarshallValue({ N: '12345678901234567890123' })).toBe(12345678901234567890123n);
    expect(unmarshallValue({ N: '-0.5' })).toBe(-0.5);
    expect(() => unmarshallValue({ N: '12345678901234567890.5' })).toThrow(/can't be converted to BigInt/);
    expect(() => unmarshallValue({ N: 'abc' } as never)).toThrow(/not one/);
  });

  it('agrees with the AWS SDK util-dynamodb on the same values', async () => {
    const sdk = await import('@aws-sdk/util-dynamodb');
    const sdkWire = sdk.marshall(job);
    // util-dynamodb leaves binaries as bytes; they travel as base64 like ours.
    expect(JSON.parse(JSON.stringify(marshall(job)))).toEqual(
      JSON.parse(
        JSON.stringify(sdkWire, (_key, value) =>
          value?.type === 'Buffer' ? Buffer.from(value.data).toString('base64') : value,
        ),
      ),
    );
  });
});

describe('DynamoDbDocumentClient', () => {
  it('puts an item as awsJson1.0 PutItem, marshalled', async () => {
    await expect(
      client().put({ TableName: 'dp-dev-export-jobs', Item: job, ConditionExpression: 'attribute_not_exists(id)' }),
    ).resolves.toEqual({});
    const [call] = fake.calls;
    expect(call.method).toBe('POST');
    expect(call.path).toBe('/');
    expect(call.target).toBe('DynamoDB_20120810.PutItem');
    expect(call.headers['content-type']).toBe('application/x-amz-json-1.0');
    expect(call.json).toEqual({
      TableName: 'dp-dev-export-jobs',
      Item: jobWire,
      ConditionExpression: 'attribute_not_exists(id)',
    });
  });

  it('gets an item and unmarshalls it; an absent item is undefined', async () => {
    answer = (call) =>
      (call.json as { Key: { id: { S: string } } }).Key.id.S === job.id ? { body: { Item: jobWire } } : { body: {} };
    const found = await client().get({ TableName: 't', Key: { id: job.id }, ConsistentRead: true });
    expect(found.Item).toEqual({
      ...job,
      payload: new Uint8Array([0, 1, 2, 250, 255]),
      nested: { list: job.nested.list, map: { k: 'v' } },
    });
    expect(fake.calls[0].target).toBe('DynamoDB_20120810.GetItem');
    expect(fake.calls[0].json).toEqual({ TableName: 't', Key: { id: { S: job.id } }, ConsistentRead: true });
    await expect(client().get({ TableName: 't', Key: { id: 'nope' } })).resolves.toEqual({});
  });

  it('updates with marshalled ExpressionAttributeValues and unmarshalls the returned attributes', async () => {
    answer = () => ({ body: { Attributes: { status: { S: 'RUNNING' }, attempts: { N: '1' } } } });
    const output = await client().update({
      TableName: 't',
      Key: { id: job.id },
      UpdateExpression: 'SET #status = :status, #attempts = :attempts',
      ExpressionAttributeNames: { '#status': 'status', '#attempts': 'attempts' },
      ExpressionAttributeValues: { ':status': 'RUNNING', ':attempts': 1 },
      ConditionExpression: 'attribute_exists(id)',
      ReturnValues: 'UPDATED_NEW',
    });
    expect(output).toEqual({ Attributes: { status: 'RUNNING', attempts: 1 } });
    expect(fake.calls[0].target).toBe('DynamoDB_20120810.UpdateItem');
    expect(fake.calls[0].json).toEqual({
      TableName: 't',
      Key: { id: { S: job.id } },
      UpdateExpression: 'SET #status = :status, #attempts = :attempts',
      ExpressionAttributeNames: { '#status': 'status', '#attempts': 'attempts' },
      ExpressionAttributeValues: { ':status': { S: 'RUNNING' }, ':attempts': { N: '1' } },
      ConditionExpression: 'attribute_exists(id)',
      ReturnValues: 'UPDATED_NEW',
    });
  });

  it('fails with ConditionalCheckFailedException (HTTP 400) when the condition does not hold, without retrying', async () => {
    answer = () => ({
      status: 400,
      body: {
        __type: 'com.amazonaws.dynamodb.v20120810#ConditionalCheckFailedException',
        message: 'The conditional request failed',
      },
    });
    const error = await client()
      .put({ TableName: 't', Item: { id: 'x' }, ConditionExpression: 'attribute_not_exists(id)' })
      .catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(AwsServiceError);
    expect(error).toMatchObject({
      name: 'ConditionalCheckFailedException',
      message: 'The conditional request failed',
      $metadata: { httpStatusCode: 400, attempts: 1 },
    });
    expect(fake.calls).toHaveLength(1);
  });

  it('retries ProvisionedThroughputExceededException, then succeeds', async () => {
    let calls = 0;
    answer = () =>
      ++calls < 3
        ? {
            status: 400,
            body: {
              __type: 'com.amazonaws.dynamodb.v20120810#ProvisionedThroughputExceededException',
              message: 'The level of configured provisioned throughput for the table was exceeded.',
            },
          }
        : { body: {} };
    await expect(
      client().update({
        TableName: 't',
        Key: { id: 'x' },
        UpdateExpression: 'SET a = :a',
        ExpressionAttributeValues: { ':a': 1 },
      }),
    ).resolves.toEqual({});
    expect(fake.calls).toHaveLength(3);
  });

  it('fails before sending when a value cannot be marshalled', async () => {
    await expect(client().put({ TableName: 't', Item: { id: 'x', at: new Date() } })).rejects.toThrow(
      /Unsupported type/,
    );
    expect(fake.calls).toHaveLength(0);
  });
});

describe('DynamoDbDocumentClient matches @aws-sdk/lib-dynamodb on the wire', () => {
  it.each([
    [
      'put',
      (c: DynamoDBDocumentClient) =>
        c.send(
          new PutCommand({
            TableName: 't',
            Item: { ...job, gone: undefined },
            ConditionExpression: 'attribute_not_exists(id)',
          }),
        ),
      (c: DynamoDbDocumentClient) =>
        c.put({ TableName: 't', Item: { ...job, gone: undefined }, ConditionExpression: 'attribute_not_exists(id)' }),
    ],
    [
      'get',
      (c: DynamoDBDocumentClient) =>
        c.send(new GetCommand({ TableName: 't', Key: { id: job.id }, ConsistentRead: true })),
      (c: DynamoDbDocumentClient) => c.get({ TableName: 't', Key: { id: job.id }, ConsistentRead: true }),
    ],
    [
      'update',
      (c: DynamoDBDocumentClient) =>
        c.send(
          new UpdateCommand({
            TableName: 't',
            Key: { id: job.id },
            UpdateExpression: 'SET #s = :s, #e = :e',
            ExpressionAttributeNames: { '#s': 'status', '#e': 'error' },
            ExpressionAttributeValues: { ':s': 'FAILED', ':e': 'boom', ':n': undefined },
            ReturnValues: 'ALL_NEW',
          }),
        ),
      (c: DynamoDbDocumentClient) =>
        c.update({
          TableName: 't',
          Key: { id: job.id },
          UpdateExpression: 'SET #s = :s, #e = :e',
          ExpressionAttributeNames: { '#s': 'status', '#e': 'error' },
          ExpressionAttributeValues: { ':s': 'FAILED', ':e': 'boom', ':n': undefined },
          ReturnValues: 'ALL_NEW',
        }),
    ],
  ] as const)('%s', async (_name, viaSdk, viaOurs) => {
    answer = () => ({ body: { Item: jobWire, Attributes: jobWire } });
    const sdk = sdkClient();
    const { $metadata, ...theirs } = (await viaSdk(sdk)) as { $metadata: unknown };
    sdk.destroy();
    const ours = await viaOurs(client());
    expect(fake.calls).toHaveLength(2);
    expect(fake.calls[1].target).toBe(fake.calls[0].target);
    expect(fake.calls[1].json).toEqual(fake.calls[0].json);
    expect(ours).toEqual(theirs);
  });

  it('fails on undefined inside a map like lib-dynamodb', async () => {
    const item = { id: 'x', request: { table: undefined } };
    const sdk = sdkClient();
    await expect(sdk.send(new PutCommand({ TableName: 't', Item: item }))).rejects.toThrow(/removeUndefinedValues/);
    sdk.destroy();
    await expect(client().put({ TableName: 't', Item: item })).rejects.toThrow(/removeUndefinedValues/);
  });
});
