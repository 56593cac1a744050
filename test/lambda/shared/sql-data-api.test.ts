import {
  BadRequestException,
  BeginTransactionCommand,
  CommitTransactionCommand,
  DatabaseErrorException,
  DatabaseResumingException,
  ExecuteStatementCommand,
  RDSDataClient,
  RollbackTransactionCommand,
} from '@aws-sdk/client-rds-data';
import { mockClient } from 'aws-sdk-client-mock';
import { TransientError } from '../../../lambda/shared/errors';
import { sqlDate, sqlDecimal } from '../../../lambda/shared/sql';
import { DataApiExecutor, mapDataApiError, toSqlParameters } from '../../../lambda/shared/sql-data-api';

const target = {
  resourceArn: 'arn:aws:rds:eu-west-1:222222222222:cluster:dp-dev-mart',
  secretArn: 'arn:aws:secretsmanager:eu-west-1:222222222222:secret:rds!cluster-abc',
  database: 'mart',
};
const rdsData = mockClient(RDSDataClient);
const executor = () => new DataApiExecutor(new RDSDataClient({ region: 'eu-west-1' }), target);

beforeEach(() => rdsData.reset());

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
    rdsData.on(ExecuteStatementCommand).resolves({
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
    });
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
    expect(rdsData.commandCalls(ExecuteStatementCommand)[0].args[0].input).toEqual({
      ...target,
      sql: 'SELECT * FROM t WHERE id = :id',
      parameters: [{ name: 'id', value: { longValue: 7 } }],
      transactionId: undefined,
      includeResultMetadata: true,
      resultSetOptions: { decimalReturnType: 'STRING', longReturnType: 'STRING' },
    });
  });

  it('returns no rows for a statement without a result set', async () => {
    rdsData.on(ExecuteStatementCommand).resolves({ numberOfRecordsUpdated: 3 });
    await expect(executor().query('DELETE FROM t')).resolves.toEqual([]);
  });

  it('fails with TransientError while the cluster resumes from auto-pause', async () => {
    rdsData
      .on(ExecuteStatementCommand)
      .rejects(new DatabaseResumingException({ message: 'The Aurora DB instance is resuming', $metadata: {} }));
    await expect(executor().query('SELECT 1')).rejects.toBeInstanceOf(TransientError);
  });

  it('fails with the original error for a SQL error', async () => {
    const sqlError = new DatabaseErrorException({ message: 'ERROR: relation "nope" does not exist', $metadata: {} });
    rdsData.on(ExecuteStatementCommand).rejects(sqlError);
    await expect(executor().query('SELECT * FROM nope')).rejects.toThrow('relation "nope" does not exist');
  });
});

describe('mapDataApiError', () => {
  it('treats a communications link failure as transient and other bad requests as permanent', () => {
    const link = new BadRequestException({ message: 'Communications link failure', $metadata: {} });
    const syntax = new BadRequestException({ message: 'ERROR: syntax error at or near "SELEC"', $metadata: {} });
    expect(mapDataApiError(link)).toBeInstanceOf(TransientError);
    expect(mapDataApiError(syntax)).toBe(syntax);
  });
});

describe('DataApiExecutor.transaction', () => {
  it('runs the work inside one transaction id and commits it', async () => {
    rdsData.on(BeginTransactionCommand).resolves({ transactionId: 'tx-1' });
    rdsData.on(ExecuteStatementCommand).resolves({});
    rdsData.on(CommitTransactionCommand).resolves({ transactionStatus: 'Transaction Committed' });
    await executor().transaction(async (tx) => {
      await tx.query('INSERT INTO t VALUES (1)');
      await tx.query('INSERT INTO t VALUES (2)');
    });
    expect(rdsData.commandCalls(BeginTransactionCommand)[0].args[0].input).toEqual(target);
    expect(rdsData.commandCalls(ExecuteStatementCommand).map((call) => call.args[0].input.transactionId)).toEqual([
      'tx-1',
      'tx-1',
    ]);
    expect(rdsData.commandCalls(CommitTransactionCommand)[0].args[0].input).toEqual({
      resourceArn: target.resourceArn,
      secretArn: target.secretArn,
      transactionId: 'tx-1',
    });
    expect(rdsData.commandCalls(RollbackTransactionCommand)).toHaveLength(0);
  });

  it('rolls back and rethrows when the work fails', async () => {
    rdsData.on(BeginTransactionCommand).resolves({ transactionId: 'tx-2' });
    rdsData.on(RollbackTransactionCommand).resolves({});
    await expect(
      executor().transaction(async () => {
        throw new Error('work failed');
      }),
    ).rejects.toThrow('work failed');
    expect(rdsData.commandCalls(RollbackTransactionCommand)[0].args[0].input.transactionId).toBe('tx-2');
    expect(rdsData.commandCalls(CommitTransactionCommand)).toHaveLength(0);
  });

  it('uses a savepoint for a nested transaction', async () => {
    rdsData.on(BeginTransactionCommand).resolves({ transactionId: 'tx-3' });
    rdsData.on(ExecuteStatementCommand).resolves({});
    rdsData.on(CommitTransactionCommand).resolves({});
    await executor().transaction(async (tx) => {
      await expect(
        tx.transaction(async () => {
          throw new Error('inner');
        }),
      ).rejects.toThrow('inner');
    });
    expect(rdsData.commandCalls(ExecuteStatementCommand).map((call) => call.args[0].input.sql)).toEqual([
      'SAVEPOINT sp_1',
      'ROLLBACK TO SAVEPOINT sp_1',
    ]);
    expect(rdsData.commandCalls(CommitTransactionCommand)).toHaveLength(1);
  });

  it('fails with TransientError when the transaction cannot begin because the cluster resumes', async () => {
    rdsData
      .on(BeginTransactionCommand)
      .rejects(new DatabaseResumingException({ message: 'resuming after being auto-paused', $metadata: {} }));
    await expect(executor().transaction(async () => 1)).rejects.toBeInstanceOf(TransientError);
  });
});
