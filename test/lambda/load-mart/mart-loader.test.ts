import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { gzipSync } from 'node:zlib';
import { applyMigrations, martMigrations, versionedMigrations } from '../../../lambda/migrate/migrations';
import { MIGRATION_FILES } from '../../../lambda/migrate/migration-files';
import { TransientError } from '../../../lambda/shared/errors';
import { copyStager, directorySource } from '../../helpers/mart-copy';
import {
  loadBatch,
  MartLoadError,
  type MartLoadRequest,
  type Stager,
  mergeSql,
} from '../../../lambda/load-mart/mart-loader';
import { PgExecutor } from '../../helpers/sql-pg';
import { exampleConfig } from '../../helpers/app';
import { describeWithCopy, startPostgres, type TestDatabase } from '../../helpers/postgres';

const HEADER =
  'impression_id,event_time,event_date,campaign_id,creative_id,placement,device_type,country,bid_price_usd,viewable,viewability_score';
const ROW_1 =
  'imp-0000000000000001,2024-03-01T12:34:56.789Z,2024-03-01,9007199254740993,7,banner,mobile,DE,0.123456,true,0.5';
const ROW_2 = 'imp-0000000000000002,2024-03-01T23:59:59Z,2024-03-01,42,8,video,,,12.000001,,';
const ROW_3 = 'imp-0000000000000003,2024-03-02T00:00:00+02:00,2024-03-02,43,9,native,ctv,US,1,false,1e-3';

describe('mergeSql', () => {
  it('updates only rows that differ and inserts only new keys', () => {
    const sql = mergeSql('t', 'pg_temp."s"', ['id', 'v'], ['id']);
    expect(sql.update).toContain('SET "v" = batch."v"');
    expect(sql.update).toContain('AND (target."v") IS DISTINCT FROM (batch."v")');
    expect(sql.insert).toContain('WHERE NOT EXISTS (SELECT 1 FROM mart."t" AS target WHERE target."id" = batch."id")');
    expect(mergeSql('t', 'pg_temp."s"', ['a', 'b'], ['a', 'b']).update).toBe('SELECT 0 AS updated');
  });
});

describeWithCopy('loadBatch on PostgreSQL (COPY path)', () => {
  let db: TestDatabase;
  let root: string;
  let batchNumber = 0;

  beforeAll(async () => {
    db = await startPostgres();
    await applyMigrations(db.executor, [
      ...versionedMigrations(MIGRATION_FILES),
      ...martMigrations(exampleConfig().datasets),
    ]);
    root = mkdtempSync(path.join(tmpdir(), 'mart-batch-'));
  });
  afterAll(async () => {
    rmSync(root, { recursive: true, force: true });
    await db?.stop();
  });

  /** Writes part files (name -> CSV lines; `.gz` names are gzipped) and returns the batch request. */
  async function batch(parts: Record<string, string[]>) {
    const batchId = `batch-${++batchNumber}-${Date.now()}`;
    const directory = path.join(root, `batch_id=${batchId}`);
    mkdirSync(directory, { recursive: true });
    for (const [name, lines] of Object.entries(parts)) {
      const text = `${lines.join('\n')}\n`;
      writeFileSync(path.join(directory, name), name.endsWith('.gz') ? gzipSync(text) : text);
    }
    const request: MartLoadRequest = {
      dataset: 'impressions',
      table: 'impressions',
      batchId,
      bucket: 'curated',
      prefix: `_mart/impressions/batch_id=${batchId}/`,
    };
    // The stage B batch row the loader records its outcome on.
    await db.executor.query(
      `INSERT INTO audit.batches (batch_id, dataset, status, attempts, run_count, staged_bytes, rows_valid,
         oldest_staged_at, created_at, started_at, execution_name, manifest_key, updated_at)
       VALUES (:batchId, 'impressions', 'SUCCEEDED', 1, 1, 100, 3, now(), now(), now(), 'test', 'm', now())`,
      { batchId },
    );
    return { request, directory };
  }

  async function load(request: MartLoadRequest, directory: string, stager?: Stager) {
    const client = await db.pool.connect();
    try {
      // Connected as the owner: narrowed to the loader's group role, as the loader login would be in AWS.
      return await loadBatch(
        new PgExecutor(client),
        request,
        stager ?? copyStager(client, directorySource(directory)),
        {
          role: 'mart_loader',
        },
      );
    } finally {
      client.release();
    }
  }

  const martRows = () => db.executor.query('SELECT * FROM mart.impressions ORDER BY impression_id');
  const auditRow = (batchId: string) =>
    db.executor.query('SELECT status, rows_loaded, error FROM audit.batches WHERE batch_id = :batchId', { batchId });

  beforeEach(() => db.executor.query('TRUNCATE mart.impressions'));

  it('loads a batch and keeps every type: text, timestamptz, date, bigint, integer, numeric, double, boolean, null', async () => {
    const { request, directory } = await batch({ 'part-00000.csv': [HEADER, ROW_1, ROW_2] });
    await expect(load(request, directory)).resolves.toEqual({
      rowsStaged: 2,
      rowsInserted: 2,
      rowsUpdated: 0,
      rowsUnchanged: 0,
    });
    expect(await martRows()).toEqual([
      {
        impression_id: 'imp-0000000000000001',
        event_time: new Date('2024-03-01T12:34:56.789Z'),
        event_date: '2024-03-01',
        campaign_id: 9007199254740993n,
        creative_id: 7,
        placement: 'banner',
        device_type: 'mobile',
        country: 'DE',
        bid_price_usd: '0.123456',
        viewable: true,
        viewability_score: 0.5,
      },
      {
        impression_id: 'imp-0000000000000002',
        event_time: new Date('2024-03-01T23:59:59Z'),
        event_date: '2024-03-01',
        campaign_id: 42,
        creative_id: 8,
        placement: 'video',
        device_type: null,
        country: null,
        bid_price_usd: '12.000001',
        viewable: null,
        viewability_score: null,
      },
    ]);
    expect(await auditRow(request.batchId)).toEqual([{ status: 'SUCCEEDED', rows_loaded: 2, error: null }]);
  });

  it('is idempotent: loading the same batch twice leaves the same rows and changes none', async () => {
    const { request, directory } = await batch({ 'part-00000.csv': [HEADER, ROW_1, ROW_2, ROW_3] });
    await load(request, directory);
    const afterFirst = await martRows();
    await expect(load(request, directory)).resolves.toEqual({
      rowsStaged: 3,
      rowsInserted: 0,
      rowsUpdated: 0,
      rowsUnchanged: 3,
    });
    expect(await martRows()).toEqual(afterFirst);
    expect(await auditRow(request.batchId)).toEqual([{ status: 'SUCCEEDED', rows_loaded: 3, error: null }]);
  });

  it('inserts new keys and updates changed rows, across several parts including a gzipped one', async () => {
    const first = await batch({ 'part-00000.csv': [HEADER, ROW_1, ROW_2] });
    await load(first.request, first.directory);
    const changedRow2 = ROW_2.replace(',video,', ',interstitial,');
    const second = await batch({
      'part-00000.csv': [HEADER, ROW_1],
      'part-00001.csv.gz': [HEADER, changedRow2, ROW_3],
      _SUCCESS: [],
    });
    await expect(load(second.request, second.directory)).resolves.toEqual({
      rowsStaged: 3,
      rowsInserted: 1,
      rowsUpdated: 1,
      rowsUnchanged: 1,
    });
    const placements = (await martRows()).map((row) => row.placement);
    expect(placements).toEqual(['banner', 'interstitial', 'native']);
  });

  it.each([
    [
      'a value of the wrong type',
      [HEADER, ROW_1, ROW_2.replace(',8,', ',eight,')],
      /invalid input syntax for type integer: "eight".*line 3, column creative_id/,
    ],
    [
      'a NULL primary key',
      [HEADER, ROW_1, ROW_2.replace('imp-0000000000000002', '')],
      /null value in column "impression_id"/,
    ],
    [
      'a header that does not match the table',
      [HEADER.replace('placement', 'slot'), ROW_1],
      /column name mismatch in header line field 6: got "slot", expected "placement"/,
    ],
    [
      'the same new key twice',
      [HEADER, ROW_1, ROW_1.replace(',banner,', ',video,')],
      /the batch has the same primary key more than once \(impression_id = imp-0000000000000001\)/,
    ],
    [
      'the same existing key twice',
      [HEADER, ROW_3, ROW_3.replace(',native,', ',video,')],
      /the batch has the same primary key more than once \(impression_id = imp-0000000000000003\)/,
    ],
  ])('fails on %s: the mart is unchanged and the audit row says why', async (_case, lines, reason) => {
    const before = await batch({ 'part-00000.csv': [HEADER, ROW_3] });
    await load(before.request, before.directory);
    const martBefore = await martRows();

    const bad = await batch({
      'part-00000.csv': [HEADER, ROW_2.replace('imp-0000000000000002', 'imp-00000000000000aa')],
      'part-00001.csv': lines,
    });
    const attempt = load(bad.request, bad.directory);
    await expect(attempt).rejects.toBeInstanceOf(MartLoadError);
    await expect(attempt).rejects.toThrow(
      new RegExp(`was not loaded; mart."impressions" is unchanged: .*${reason.source}.*Fix: correct the data`),
    );
    expect(await martRows()).toEqual(martBefore);
    const [audit] = await auditRow(bad.request.batchId);
    // The loader records why on the batch; its status is stage B's to set (it retries the batch whole).
    expect(audit).toEqual({ status: 'SUCCEEDED', rows_loaded: null, error: expect.stringMatching(reason) });
  });

  it('fails when the batch has no part file, recording it', async () => {
    const { request, directory } = await batch({ _SUCCESS: [] });
    await expect(load(request, directory)).rejects.toThrow(/the batch has no part-\*\.csv or part-\*\.csv\.gz file/);
    expect(await auditRow(request.batchId)).toEqual([
      expect.objectContaining({ status: 'SUCCEEDED', error: expect.stringContaining('no part-*.csv') }),
    ]);
  });

  it('fails when the mart table does not exist, naming it and the fix', async () => {
    const { request, directory } = await batch({ 'part-00000.csv': [HEADER, ROW_1] });
    await expect(load({ ...request, table: 'no_such_table' }, directory)).rejects.toThrow(
      /table mart."no_such_table" does not exist \(enable the mart for the dataset in config\/datasets and deploy/,
    );
  });

  it('passes a TransientError through untouched and records nothing (stage B retries)', async () => {
    const { request, directory } = await batch({ 'part-00000.csv': [HEADER, ROW_1] });
    const resuming: Stager = async () => {
      throw new TransientError('The data mart cluster is not available yet (resuming)');
    };
    await expect(load(request, directory, resuming)).rejects.toBeInstanceOf(TransientError);
    expect(await auditRow(request.batchId)).toEqual([{ status: 'SUCCEEDED', rows_loaded: null, error: null }]);
  });
});
