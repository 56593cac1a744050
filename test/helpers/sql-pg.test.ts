import { TransientError } from '../../lambda/shared/errors';
import { sqlDate, sqlDecimal } from '../../lambda/shared/sql';
import { mapPgError, PgExecutor, toPositional } from './sql-pg';
import { startPostgres, type TestDatabase } from './postgres';

describe('toPositional', () => {
  it('numbers each name once and keeps casts, literals and comments', () => {
    const sql = `SELECT :a::int, ':b', $$ :c $$, "x:y", :a -- :d
      /* :e */ , :f`;
    const { text, values } = toPositional(sql, { a: 1, f: 'F' });
    expect(text).toBe(`SELECT $1::int, ':b', $$ :c $$, "x:y", $1 -- :d
      /* :e */ , $2`);
    expect(values).toEqual([1, 'F']);
  });

  it('converts bigint, JSON, typed values and undefined', () => {
    const { values } = toPositional(':a :b :c :d :e', {
      a: 9007199254740993n,
      b: { json: { k: [1] } },
      c: sqlDecimal('1.10'),
      d: sqlDate('2024-02-29'),
      e: undefined,
    });
    expect(values).toEqual(['9007199254740993', '{"k":[1]}', '1.10', '2024-02-29', null]);
  });

  it('fails when a parameter is missing, naming it and the fix', () => {
    expect(() => toPositional('SELECT :missing', { other: 1 })).toThrow(
      /:missing is used by the statement but was not given \(given: other\)\. Fix: pass \{ missing: value \}/,
    );
  });
});

describe('mapPgError', () => {
  it('maps connection failures to TransientError and leaves SQL errors alone', () => {
    expect(mapPgError(Object.assign(new Error('refused'), { code: 'ECONNREFUSED' }))).toBeInstanceOf(TransientError);
    expect(mapPgError(Object.assign(new Error('starting up'), { code: '57P03' }))).toBeInstanceOf(TransientError);
    const syntax = Object.assign(new Error('syntax error'), { code: '42601' });
    expect(mapPgError(syntax)).toBe(syntax);
  });
});

describe('PgExecutor against PostgreSQL', () => {
  let db: TestDatabase;
  beforeAll(async () => {
    db = await startPostgres();
    await db.executor.query(`CREATE TABLE t (
      id bigint PRIMARY KEY, amount numeric(12,6), at timestamptz, day date, flag boolean, doc jsonb, note text)`);
  });
  afterAll(() => db?.stop());

  it('round-trips numeric, bigint, timestamptz, date, boolean, json and null', async () => {
    const at = new Date('2024-03-01T12:34:56.789Z');
    await db.executor.query('INSERT INTO t VALUES (:id, :amount, :at, :day, :flag, :doc::jsonb, :note)', {
      id: 9007199254740993n,
      amount: sqlDecimal('123456.000001'),
      at,
      day: sqlDate('2024-02-29'),
      flag: true,
      doc: { json: { nested: ['a', 1] } },
      note: null,
    });
    await db.executor.query('INSERT INTO t (id) VALUES (:id)', { id: 2 });
    const rows = await db.executor.query('SELECT * FROM t ORDER BY id');
    expect(rows).toEqual([
      { id: 2, amount: null, at: null, day: null, flag: null, doc: null, note: null },
      {
        id: 9007199254740993n,
        amount: '123456.000001',
        at,
        day: '2024-02-29',
        flag: true,
        doc: { nested: ['a', 1] },
        note: null,
      },
    ]);
  });

  it('commits a transaction that resolves and rolls back one that throws', async () => {
    await db.executor.transaction((tx) => tx.query('INSERT INTO t (id) VALUES (10)'));
    await expect(
      db.executor.transaction(async (tx) => {
        await tx.query('INSERT INTO t (id) VALUES (11)');
        throw new Error('boom');
      }),
    ).rejects.toThrow('boom');
    const rows = await db.executor.query<{ id: number }>('SELECT id FROM t WHERE id IN (10, 11) ORDER BY id');
    expect(rows).toEqual([{ id: 10 }]);
  });

  it('turns a nested transaction into a savepoint', async () => {
    await db.executor.transaction(async (tx) => {
      await tx.query('INSERT INTO t (id) VALUES (20)');
      await expect(
        tx.transaction(async (inner) => {
          await inner.query('INSERT INTO t (id) VALUES (21)');
          throw new Error('inner');
        }),
      ).rejects.toThrow('inner');
    });
    const rows = await db.executor.query('SELECT id FROM t WHERE id IN (20, 21)');
    expect(rows).toEqual([{ id: 20 }]);
  });

  it('works over a single client the caller owns', async () => {
    const client = await db.pool.connect();
    try {
      const executor = new PgExecutor(client);
      const rows = await executor.transaction((tx) =>
        tx.query('SELECT count(*) AS n FROM t WHERE id = :id', { id: 20 }),
      );
      expect(rows).toEqual([{ n: 1 }]);
    } finally {
      client.release();
    }
  });
});
