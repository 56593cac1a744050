import { AwsServiceError } from '../../../../lambda/shared/aws/client';
import { RdsDataClient } from '../../../../lambda/shared/aws/rds-data';
import {
  FAKE_CREDENTIALS,
  FAKE_REGION,
  type FakeAws,
  type FakeAwsHandler,
  clientOptions,
  startFakeAws,
} from '../../../helpers/fake-aws';

const target = {
  resourceArn: 'arn:aws:rds:eu-west-1:222222222222:cluster:dp-dev-mart',
  secretArn: 'arn:aws:secretsmanager:eu-west-1:222222222222:secret:rds!cluster-abc',
  database: 'mart',
};

let fake: FakeAws;
let answer: FakeAwsHandler;

beforeAll(async () => {
  fake = await startFakeAws('rds-data', (call) => answer(call));
});
afterAll(() => fake.stop());
beforeEach(() => {
  fake.calls.length = 0;
  answer = () => ({ body: {} });
});

const client = () => new RdsDataClient(clientOptions(fake));

describe('RdsDataClient.executeStatement', () => {
  it('POSTs the statement to /Execute as JSON, blobs as base64', async () => {
    answer = () => ({
      headers: { 'content-type': 'application/json' },
      body: { numberOfRecordsUpdated: 1, generatedFields: [] },
    });
    const output = await client().executeStatement({
      ...target,
      sql: 'INSERT INTO t (id, data, at) VALUES (:id, :data, :at)',
      parameters: [
        { name: 'id', value: { longValue: 7 } },
        { name: 'data', value: { blobValue: new Uint8Array([0, 1, 2, 250, 255]) } },
        { name: 'at', value: { stringValue: '2024-03-01 12:34:56' }, typeHint: 'TIMESTAMP' },
      ],
      transactionId: undefined,
      includeResultMetadata: true,
      resultSetOptions: { decimalReturnType: 'STRING', longReturnType: 'STRING' },
    });
    expect(output).toEqual({ numberOfRecordsUpdated: 1, generatedFields: [] });
    expect(fake.calls).toHaveLength(1);
    const [call] = fake.calls;
    expect(call.method).toBe('POST');
    expect(call.path).toBe('/Execute');
    expect(call.headers['content-type']).toBe('application/json');
    expect(call.headers['x-amz-security-token']).toBe(FAKE_CREDENTIALS.sessionToken);
    expect(call.json).toEqual({
      ...target,
      sql: 'INSERT INTO t (id, data, at) VALUES (:id, :data, :at)',
      parameters: [
        { name: 'id', value: { longValue: 7 } },
        { name: 'data', value: { blobValue: 'AAEC+v8=' } },
        { name: 'at', value: { stringValue: '2024-03-01 12:34:56' }, typeHint: 'TIMESTAMP' },
      ],
      includeResultMetadata: true,
      resultSetOptions: { decimalReturnType: 'STRING', longReturnType: 'STRING' },
    });
    expect(call.body).not.toContain('transactionId');
  });

  it('returns records and column metadata as the SDK does, blobs as bytes', async () => {
    // The response shape of the API reference (ExecuteStatement, Response Syntax).
    answer = () => ({
      body: {
        columnMetadata: [
          {
            arrayBaseColumnType: 0,
            isAutoIncrement: false,
            isCaseSensitive: false,
            isCurrency: false,
            isSigned: true,
            label: 'id',
            name: 'id',
            nullable: 0,
            precision: 19,
            scale: 0,
            schemaName: '',
            tableName: 't',
            type: -5,
            typeName: 'int8',
          },
          { label: 'data', name: 'data', type: -2, typeName: 'bytea' },
          { label: 'tags', name: 'tags', type: 2003, typeName: '_text' },
          { label: 'note', name: 'note', type: 12, typeName: 'text' },
        ],
        numberOfRecordsUpdated: 0,
        records: [
          [
            { stringValue: '9007199254740993' },
            { blobValue: 'aGVsbG8=' },
            { arrayValue: { stringValues: ['a', 'b'] } },
            { isNull: true },
          ],
        ],
      },
    });
    const output = await client().executeStatement({ ...target, sql: 'SELECT * FROM t', includeResultMetadata: true });
    expect(output.columnMetadata?.map((column) => column.typeName)).toEqual(['int8', 'bytea', '_text', 'text']);
    expect(output.numberOfRecordsUpdated).toBe(0);
    const [record] = output.records ?? [];
    expect(record[0]).toEqual({ stringValue: '9007199254740993' });
    expect(record[1].blobValue).toBeInstanceOf(Uint8Array);
    expect(Buffer.from(record[1].blobValue as Uint8Array).toString('utf8')).toBe('hello');
    expect(record[2]).toEqual({ arrayValue: { stringValues: ['a', 'b'] } });
    expect(record[3]).toEqual({ isNull: true });
    expect(output).not.toHaveProperty('$metadata');
  });

  it('fails with an error named DatabaseResumingException (HTTP 400) while the cluster resumes, without retrying', async () => {
    answer = () => ({
      status: 400,
      headers: {
        'x-amzn-errortype': 'DatabaseResumingException:http://internal.amazon.com/coral/com.amazon.rdsdataservice/',
      },
      body: {
        message:
          'The Aurora DB instance dp-dev-mart-writer is resuming after being auto-paused. Please wait a few seconds and try again.',
      },
    });
    const error = await client()
      .executeStatement({ ...target, sql: 'SELECT 1' })
      .catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(AwsServiceError);
    expect(error).toMatchObject({
      name: 'DatabaseResumingException',
      message: expect.stringMatching(/resuming after being auto-paused/),
      $metadata: { httpStatusCode: 400, requestId: 'req-1', attempts: 1 },
      $fault: 'client',
    });
    expect(fake.calls).toHaveLength(1);
  });

  it('names a SQL error DatabaseErrorException, read from the body when the header is absent', async () => {
    answer = () => ({
      status: 400,
      body: { __type: 'DatabaseErrorException', message: 'ERROR: relation "nope" does not exist; SQLState: 42P01' },
    });
    await expect(client().executeStatement({ ...target, sql: 'SELECT * FROM nope' })).rejects.toMatchObject({
      name: 'DatabaseErrorException',
      message: 'ERROR: relation "nope" does not exist; SQLState: 42P01',
    });
  });

  it('retries ServiceUnavailableError (HTTP 503), then succeeds', async () => {
    let calls = 0;
    answer = () =>
      ++calls === 1
        ? { status: 503, headers: { 'x-amzn-errortype': 'ServiceUnavailableError' }, body: {} }
        : { body: { records: [[{ longValue: 1 }]] } };
    await expect(client().executeStatement({ ...target, sql: 'SELECT 1' })).resolves.toEqual({
      records: [[{ longValue: 1 }]],
    });
    expect(fake.calls).toHaveLength(2);
  });
});

describe('RdsDataClient transactions', () => {
  it('begins, commits and rolls back at their paths', async () => {
    answer = (call) => {
      switch (call.path) {
        case '/BeginTransaction':
          return { body: { transactionId: 'AQC5SRDIm...tx-1' } };
        case '/CommitTransaction':
          return { body: { transactionStatus: 'Transaction Committed' } };
        case '/RollbackTransaction':
          return { body: { transactionStatus: 'Rollback Complete' } };
        default:
          return { status: 404, body: { message: `no route ${call.path}` } };
      }
    };
    const rds = client();
    await expect(rds.beginTransaction(target)).resolves.toEqual({ transactionId: 'AQC5SRDIm...tx-1' });
    const end = { resourceArn: target.resourceArn, secretArn: target.secretArn, transactionId: 'AQC5SRDIm...tx-1' };
    await expect(rds.commitTransaction(end)).resolves.toEqual({ transactionStatus: 'Transaction Committed' });
    await expect(rds.rollbackTransaction(end)).resolves.toEqual({ transactionStatus: 'Rollback Complete' });
    expect(fake.calls.map((call) => [call.method, call.path, call.json])).toEqual([
      ['POST', '/BeginTransaction', target],
      ['POST', '/CommitTransaction', end],
      ['POST', '/RollbackTransaction', end],
    ]);
  });

  it('fails with TransactionNotFoundException (HTTP 404) for an unknown transaction', async () => {
    answer = () => ({
      status: 404,
      headers: { 'x-amzn-errortype': 'TransactionNotFoundException' },
      body: { message: 'Transaction AQC5 is not found' },
    });
    await expect(
      client().commitTransaction({
        resourceArn: target.resourceArn,
        secretArn: target.secretArn,
        transactionId: 'AQC5',
      }),
    ).rejects.toMatchObject({ name: 'TransactionNotFoundException', $metadata: { httpStatusCode: 404 } });
  });
});

describe('RdsDataClient matches the AWS SDK on the wire', () => {
  it('sends the body the SDK sends and reads the answer the same way', async () => {
    const { ExecuteStatementCommand, RDSDataClient } = await import('@aws-sdk/client-rds-data');
    answer = () => ({
      body: {
        columnMetadata: [{ name: 'b', typeName: 'bytea' }],
        records: [[{ blobValue: 'AAEC+v8=' }, { doubleValue: 0.5 }, { arrayValue: { longValues: [1, 2] } }]],
        generatedFields: [{ longValue: 5 }],
        numberOfRecordsUpdated: 1,
      },
    });
    const input = {
      ...target,
      sql: 'SELECT :b, :f',
      parameters: [
        { name: 'b', value: { blobValue: new Uint8Array([0, 1, 2, 250, 255]) } },
        { name: 'f', value: { doubleValue: 0.5 }, typeHint: 'DECIMAL' as const },
        { name: 'n', value: { isNull: true } },
      ],
      includeResultMetadata: true,
      continueAfterTimeout: false,
    };
    const ours = await client().executeStatement(input);
    const sdk = new RDSDataClient({ endpoint: fake.endpoint, region: FAKE_REGION, credentials: FAKE_CREDENTIALS });
    const { $metadata, ...theirs } = await sdk.send(new ExecuteStatementCommand(input));
    sdk.destroy();
    expect($metadata.httpStatusCode).toBe(200);
    expect(fake.calls).toHaveLength(2);
    expect(fake.calls[0].path).toBe(fake.calls[1].path);
    expect(fake.calls[0].json).toEqual(fake.calls[1].json);
    expect(ours).toEqual(theirs);
  });
});
