import {
  AthenaClient,
  GetQueryExecutionCommand,
  GetQueryResultsCommand,
  type QueryExecutionState,
  StartQueryExecutionCommand,
  StopQueryExecutionCommand,
} from '@aws-sdk/client-athena';
import { mockClient } from 'aws-sdk-client-mock';
import {
  CURATED_ATHENA_OUTPUTS,
  type CuratedTableExpectation,
  checkCuratedTable,
  keyCountQuery,
  MAX_KEYS,
  snapshotCountQuery,
} from '../../scripts/integration-test/checks/curated-athena';
import { AwsClients, type CheckContext } from '../../scripts/integration-test/context';
import { CheckFailedError, CheckTimeoutError, type Clock } from '../../scripts/integration-test/runner';

const athena = mockClient(AthenaClient);

const OUTPUTS = { CURATED_DATABASE_NAME: 'dp_dev_curated', ATHENA_WORK_GROUP: 'dp-dev' };

function fakeClock(): Clock {
  let now = Date.parse('2026-12-02T10:00:00Z');
  return {
    now: () => now,
    sleep: async (ms) => {
      now += ms;
    },
  };
}

function context(): CheckContext {
  return {
    environment: 'dev',
    region: 'eu-west-1',
    outputs: OUTPUTS,
    clients: new AwsClients('eu-west-1', { accessKeyId: 'AKIAEXAMPLE', secretAccessKey: 'secret', sessionToken: 't' }),
    clock: fakeClock(),
    waitTimeoutMs: 60_000,
    pollIntervalMs: 5_000,
  };
}

const SAMPLE: CuratedTableExpectation = {
  dataset: { name: 'clicks', primaryKey: ['click_id'] },
  keys: [['clk-0000000000000001'], ['clk-0000000000000002'], ['clk-0000000000000003']],
  martRows: 3,
  batchId: 'b-1',
};

/** Athena answers: the first query the key counts, the second the snapshot count; each RUNNING once, then `state`. */
function mockAthena(
  answers: { rows?: string; fromBatch?: string; snapshots?: string; state?: QueryExecutionState; reason?: string } = {},
) {
  const started: { sql: string; workGroup?: string }[] = [];
  athena.on(StartQueryExecutionCommand).callsFake((input: { QueryString: string; WorkGroup?: string }) => {
    started.push({ sql: input.QueryString, workGroup: input.WorkGroup });
    return { QueryExecutionId: `q${started.length}` };
  });
  const polls = new Map<string, number>();
  athena.on(GetQueryExecutionCommand).callsFake((input: { QueryExecutionId: string }) => {
    const seen = (polls.get(input.QueryExecutionId) ?? 0) + 1;
    polls.set(input.QueryExecutionId, seen);
    const state = seen === 1 ? 'RUNNING' : (answers.state ?? 'SUCCEEDED');
    return { QueryExecution: { Status: { State: state, StateChangeReason: answers.reason } } };
  });
  athena.on(GetQueryResultsCommand).callsFake((input: { QueryExecutionId: string }) => {
    const columns: [string, string | undefined][] =
      input.QueryExecutionId === 'q1'
        ? [
            ['rows', answers.rows ?? '3'],
            ['from_batch', answers.fromBatch ?? answers.rows ?? '3'],
          ]
        : [['snapshots', answers.snapshots ?? '2']];
    return {
      ResultSet: {
        Rows: [
          { Data: columns.map(([name]) => ({ VarCharValue: name })) },
          { Data: columns.map(([, value]) => ({ VarCharValue: value })) },
        ],
      },
    };
  });
  athena.on(StopQueryExecutionCommand).resolves({});
  return { started };
}

beforeEach(() => athena.reset());

describe('checkCuratedTable', () => {
  test('passes when the Iceberg table holds the sample once per key, as the mart does, from the batch', async () => {
    const { started } = mockAthena();
    const detail = await checkCuratedTable(context(), SAMPLE);
    expect(detail).toBe(
      '3 rows in dp_dev_curated.clicks through workgroup dp-dev, as in the mart (all from batch b-1); Iceberg table with 2 snapshot(s)',
    );
    expect(started).toEqual([
      {
        workGroup: 'dp-dev',
        sql: `SELECT count(*) AS "rows", count_if("_batch_id" = 'b-1') AS "from_batch" FROM "dp_dev_curated"."clicks" WHERE CAST("click_id" AS varchar) IN ('clk-0000000000000001', 'clk-0000000000000002', 'clk-0000000000000003')`,
      },
      { workGroup: 'dp-dev', sql: 'SELECT count(*) AS "snapshots" FROM "dp_dev_curated"."clicks$snapshots"' },
    ]);
    expect(CURATED_ATHENA_OUTPUTS).toEqual(['CURATED_DATABASE_NAME', 'ATHENA_WORK_GROUP']);
  });

  test('fails when rows are missing or doubled, naming what it expected and found', async () => {
    mockAthena({ rows: '2' });
    await expect(checkCuratedTable(context(), SAMPLE)).rejects.toThrow(
      new CheckFailedError("expected 3 rows of the sample's keys in dp_dev_curated.clicks, found 2"),
    );
    athena.reset();
    mockAthena({ rows: '6' });
    await expect(checkCuratedTable(context(), SAMPLE)).rejects.toThrow(/expected 3 rows .* found 6/);
  });

  test('fails when the curated table and the mart disagree', async () => {
    mockAthena();
    await expect(checkCuratedTable(context(), { ...SAMPLE, martRows: 2 })).rejects.toThrow(
      "dp_dev_curated.clicks holds 3 rows of the sample's keys, the mart 2: the curated table and the mart disagree",
    );
  });

  test('fails when the rows were written by another batch', async () => {
    mockAthena({ fromBatch: '1' });
    await expect(checkCuratedTable(context(), SAMPLE)).rejects.toThrow(
      "1 of the 3 rows of the sample's keys in dp_dev_curated.clicks were written by batch b-1",
    );
  });

  test('fails a table without Iceberg snapshots', async () => {
    mockAthena({ snapshots: '0' });
    await expect(checkCuratedTable(context(), SAMPLE)).rejects.toThrow(
      'dp_dev_curated.clicks has 0 Iceberg snapshots after a batch',
    );
  });

  test('fails a failed query with its reason and the fix', async () => {
    mockAthena({ state: 'FAILED', reason: 'HIVE_UNSUPPORTED_FORMAT: Unable to create input format' });
    await expect(checkCuratedTable(context(), SAMPLE)).rejects.toThrow(
      /Athena query q1 FAILED: HIVE_UNSUPPORTED_FORMAT: Unable to create input format\. Fix: the table is not an Iceberg table/,
    );
  });

  test('waits a bounded time, then stops the query', async () => {
    mockAthena({ state: 'RUNNING' });
    await expect(checkCuratedTable(context(), { ...SAMPLE, timeoutMs: 30_000 })).rejects.toThrow(CheckTimeoutError);
    expect(athena.commandCalls(StopQueryExecutionCommand)).toHaveLength(1);
    expect(athena.commandCalls(StopQueryExecutionCommand)[0].args[0].input).toEqual({ QueryExecutionId: 'q1' });
    // 30 s at one poll per 5 s: bounded, not spinning.
    expect(athena.commandCalls(GetQueryExecutionCommand).length).toBeLessThanOrEqual(8);
  });

  test('fails a refused query with the grant that fixes it', async () => {
    athena.on(StartQueryExecutionCommand).rejects(
      Object.assign(new Error('User is not authorized to perform: athena:StartQueryExecution'), {
        name: 'AccessDeniedException',
      }),
    );
    await expect(checkCuratedTable(context(), SAMPLE)).rejects.toThrow(
      /Athena refused the query .* Fix: grant the role athena:StartQueryExecution on workgroup dp-dev .*CatalogStack\.grantCuratedQuery/,
    );
  });
});

describe('curated-table queries', () => {
  test('composite keys compare as a row of varchar values', () => {
    const sql = keyCountQuery('db', {
      dataset: { name: 'events', primaryKey: ['id', 'day'] },
      keys: [
        ['a', '2026-12-01'],
        ['b', '2026-12-02'],
      ],
      martRows: 2,
    });
    expect(sql).toBe(
      `SELECT count(*) AS "rows", count(*) AS "from_batch" FROM "db"."events" WHERE (CAST("id" AS varchar), CAST("day" AS varchar)) IN (('a', '2026-12-01'), ('b', '2026-12-02'))`,
    );
  });

  test('rejects quotes in values and names as SQL (they are doubled)', () => {
    const sql = keyCountQuery('db', {
      dataset: { name: 'odd"name', primaryKey: ['select'] },
      keys: [["x') OR 1=1 --"]],
      martRows: 1,
      batchId: "b'1",
    });
    expect(sql).toContain(`IN ('x'') OR 1=1 --')`);
    expect(sql).toContain(`"_batch_id" = 'b''1'`);
    expect(sql).toContain('FROM "db"."odd""name" WHERE CAST("select" AS varchar)');
    expect(snapshotCountQuery('db', 'clicks')).toBe('SELECT count(*) AS "snapshots" FROM "db"."clicks$snapshots"');
  });

  test('rejects no keys, too many keys, and keys of the wrong arity', () => {
    const dataset = { name: 'clicks', primaryKey: ['click_id'] };
    expect(() => keyCountQuery('db', { dataset, keys: [], martRows: 0 })).toThrow(/expected 1 to 1000 sample keys/);
    const many = Array.from({ length: MAX_KEYS + 1 }, (_, i) => [String(i)]);
    expect(() => keyCountQuery('db', { dataset, keys: many, martRows: many.length })).toThrow(/got 1001/);
    expect(() => keyCountQuery('db', { dataset, keys: [['a', 'b']], martRows: 1 })).toThrow(
      `sample key ["a","b"] has 2 values; clicks's primary key has 1`,
    );
  });
});
