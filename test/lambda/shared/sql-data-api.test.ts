import { AwsServiceError } from '../../../lambda/shared/aws/client';
import { RdsDataClient } from '../../../lambda/shared/aws/rds-data';
import { TransientError } from '../../../lambda/shared/errors';
import { sqlDate, sqlDecimal } from '../../../lambda/shared/sql';
import { DataApiExecutor, mapDataApiError, toSqlParameters } from '../../../lambda/shared/sql-data-api';
import { FAKE_CREDENTIALS, FAKE_REGION, type FakeAws, type FakeAwsAnswer, startFakeAws } from '../../helpers/fake-aws';

const target = {
  resourceArn: 'arn:aws:rds:eu-west-1:222222222222:cluster:dp-dev-mart',
  secretArn: 'arn:aws:secretsmanager:eu-west-1:222222222222:secret:rds!cluster-abc',
  database: 'mart',
};

/** The Data API operations by request path (restJson1). */
type Operation = 'Execute' | 'BeginTransaction' | 'CommitTransaction' | 'RollbackTransaction';
/** What the fake Data API answers per operation; an operation without an answer fails the test. */
let answers: Partial<Record<Operation, FakeAwsAnswer>>;
let fake: FakeAws;

beforeAll(async () => {
  fake = await startFakeAws('rds-data', (call) => {
    const answer = answers[call.path.slice(1) as Operation];
    if (!answer) throw new Error(`unexpected call ${call.path}`);
    return answer;
  });
});
afterAll(() => fake.stop());
beforeEach(() => {
  answers = {};
  fake.calls.length = 0;
});

const executor = () =>
  new DataApiExecutor(
    new RdsDataClient({
      endpoint: fake.endpoint,
      region: FAKE_REGION,
      credentials: FAKE_CREDENTIALS,
      retryBaseDelayMs: 1,
    }),
    target,
  );
/** The JSON bodies the executor sent to one operation, in order. */
const requests = (operation: Operation): Record<string, unknown>[] =>
  fake.calls.filter((call) => call.path === `/${operation}`).map((call) => call.json as Record<string, unknown>);
/** An error answer as the Data API sends it: the code in `x-amzn-errortype`, the message in the body. */
const failure = (code: string, message: string, status = 400): FakeAwsAnswer => ({
  status,
  headers: { 'x-amzn-errortype': code },
  body: { message },
});

describe('toSqlParameters', () => {
  it('types every kind of value, with type hints where PostgreSQL needs them', () => {
    const at = new Date('2024-03-01T12:34:56.789Z');
    const parameters = toSqlParameters(
      "SELECT :s, :n, :f, :b, :big, :huge, :at, :day, :amount, :doc::jsonb, :none, :missing_value, ':literal'",
      {
        s: 'text',
        n: 42,
        f: 1.5,
        b: false,
        big: 12n,
        huge: 9007199254740993n,
        at,
        day: sqlDate('2024-02-29'),
        amount: sqlDecimal('123456.000001'),
        doc: { json: { a: [1, null] } },
        none: null,
        missing_value: undefined,
        unused: 'not sent',
      },
    );
    expect(parameters).toEqual([
      { name: 's', value: { stringValue: 'text' } },
      { name: 'n', value: { longValue: 42 } },
      { name: 'f', value: { doubleValue: 1.5 } },
      { name: 'b', value: { booleanValue: false } },
      { name: 'big', value: { longValue: 12 } },
      { name: 'huge', value: { stringValue: '9007199254740993' }, typeHint: 'DECIMAL' },
      { name: 'at', value: { stringValue: '2024-03-01 12:34:56.789' }, typeHint: 'TIMESTAMP' },
      { name: 'day', value: { stringValue: '2024-02-29' }, typeHint: 'DATE' },
      { name: 'amount', value: { stringValue: '123456.000001' }, typeHint: 'DECIMAL' },
      { name: 'doc', value: { stringValue: '{"a":[1,null]}' }, typeHint: 'JSON' },
      { name: 'none', value: { isNull: true } },
      { name: 'missing_value', value: { isNull: true } },
    ]);
  });

  it('fails when a parameter is missing, naming it and the fix', () => {
    expect(() => toSqlParameters('SELECT :absent', {})).toThrow(
      /:absent is used by the statement but was not given \(given: none\)\. Fix: pass \{ absent: value \}/,
    );
  });
});

describe('DataApiExecutor.query', () => {
  it('sends the statement with metadata and exact numbers, and maps rows by column type', async () => {
    answers.Execute = {
      body: {
        columnMetadata: [
          { name: 'id', label: 'id', typeName: 'int8' },
          { name: 'huge', label: 'huge', typeName: 'int8' },
          { name: 'amount', label: 'amount', typeName: 'numeric' },
          { name: 'at', label: 'at', typeName: 'timestamptz' },
          { name: 'day', label: 'day', typeName: 'date' },
          { name: 'flag', label: 'flag', typeName: 'bool' },
          { name: 'doc', label: 'doc', typeName: 'jsonb' },
          { name: 'note', label: 'note', typeName: 'text' },
          { name: 'score', label: 'score', typeName: 'float8' },
          { name: 'n', label: 'n', typeName: 'int4' },
        ],
        records: [
          [
            { stringValue: '7' },
            { stringValue: '9007199254740993' },
            { stringValue: '123456.000001' },
            { stringValue: '2024-03-01 12:34:56.789' },
            { stringValue: '2024-02-29' },
            { booleanValue: true },
            { stringValue: '{"nested":["a",1]}' },
            { isNull: true },
            { doubleValue: 0.25 },
            { longValue: 3 },
          ],
        ],
      },
    };
    const rows = await executor().query('SELECT * FROM t WHERE id = :id', { id: 7 });
    expect(rows).toEqual([
      {
        id: 7,
        huge: 9007199254740993n,
        amount: '123456.000001',
        at: new Date('2024-03-01T12:34:56.789Z'),
        day: '2024-02-29',
        flag: true,
        doc: { nested: ['a', 1] },
        note: null,
        score: 0.25,
        n: 3,
      },
    ]);
    expect(requests('Execute')[0]).toEqual({
      ...target,
      sql: 'SELECT * FROM t WHERE id = :id',
      parameters: [{ name: 'id', value: { longValue: 7 } }],
      transactionId: undefined,
      includeResultMetadata: true,
      resultSetOptions: { decimalReturnType: 'STRING', longReturnType: 'STRING' },
    });
  });

  it('maps a bytea value (base64 on the wire) to a Buffer', async () => {
    answers.Execute = {
      body: {
        columnMetadata: [{ name: 'data', label: 'data', typeName: 'bytea' }],
        records: [[{ blobValue: 'AAEC+v8=' }]],
      },
    };
    const [row] = await executor().query('SELECT data FROM t');
    expect(row.data).toEqual(Buffer.from([0, 1, 2, 250, 255]));
    expect(Buffer.isBuffer(row.data)).toBe(true);
  });

  it('returns no rows for a statement without a result set', async () => {
    answers.Execute = { body: { numberOfRecordsUpdated: 3 } };
    await expect(executor().query('DELETE FROM t')).resolves.toEqual([]);
  });

  it('fails with TransientError while the cluster resumes from auto-pause', async () => {
    answers.Execute = failure('DatabaseResumingException', 'The Aurora DB instance is resuming');
    await expect(executor().query('SELECT 1')).rejects.toBeInstanceOf(TransientError);
  });

  it('fails with the original error for a SQL error', async () => {
    answers.Execute = failure('DatabaseErrorException', 'ERROR: relation "nope" does not exist');
    const error = await executor()
      .query('SELECT * FROM nope')
      .catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(AwsServiceError);
    expect(error).toMatchObject({ name: 'DatabaseErrorException', message: 'ERROR: relation "nope" does not exist' });
  });
});

describe('mapDataApiError', () => {
  it('treats a communications link failure as transient and other bad requests as permanent', () => {
    const badRequest = (message: string) =>
      new AwsServiceError({ code: 'BadRequestException', message }, 400, 'req-1', 1);
    const link = badRequest('Communications link failure');
    const syntax = badRequest('ERROR: syntax error at or near "SELEC"');
    expect(mapDataApiError(link)).toBeInstanceOf(TransientError);
    expect(mapDataApiError(syntax)).toBe(syntax);
  });
});

describe('DataApiExecutor.transaction', () => {
  it('runs the work inside one transaction id and commits it', async () => {
    answers.BeginTransaction = { body: { transactionId: 'tx-1' } };
    answers.Execute = { body: {} };
    answers.CommitTransaction = { body: { transactionStatus: 'Transaction Committed' } };
    await executor().transaction(async (tx) => {
      await tx.query('INSERT INTO t VALUES (1)');
      await tx.query('INSERT INTO t VALUES (2)');
    });
    expect(requests('BeginTransaction')[0]).toEqual(target);
    expect(requests('Execute').map((request) => request.transactionId)).toEqual(['tx-1', 'tx-1']);
    expect(requests('CommitTransaction')[0]).toEqual({
      resourceArn: target.resourceArn,
      secretArn: target.secretArn,
      transactionId: 'tx-1',
    });
    expect(requests('RollbackTransaction')).toHaveLength(0);
  });

  it('rolls back and rethrows when the work fails', async () => {
    answers.BeginTransaction = { body: { transactionId: 'tx-2' } };
    answers.RollbackTransaction = { body: { transactionStatus: 'Rollback Complete' } };
    await expect(
      executor().transaction(async () => {
        throw new Error('work failed');
      }),
    ).rejects.toThrow('work failed');
    expect(requests('RollbackTransaction')[0].transactionId).toBe('tx-2');
    expect(requests('CommitTransaction')).toHaveLength(0);
  });

  it('uses a savepoint for a nested transaction', async () => {
    answers.BeginTransaction = { body: { transactionId: 'tx-3' } };
    answers.Execute = { body: {} };
    answers.CommitTransaction = { body: { transactionStatus: 'Transaction Committed' } };
    await executor().transaction(async (tx) => {
      await expect(
        tx.transaction(async () => {
          throw new Error('inner');
        }),
      ).rejects.toThrow('inner');
    });
    expect(requests('Execute').map((request) => request.sql)).toEqual(['SAVEPOINT sp_1', 'ROLLBACK TO SAVEPOINT sp_1']);
    expect(requests('CommitTransaction')).toHaveLength(1);
  });

  it('fails with TransientError when the transaction cannot begin because the cluster resumes', async () => {
    answers.BeginTransaction = failure('DatabaseResumingException', 'resuming after being auto-paused');
    await expect(executor().transaction(async () => 1)).rejects.toBeInstanceOf(TransientError);
  });
});
