import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { PassThrough } from 'node:stream';
import { gzipSync } from 'node:zlib';
import type { ValidateOutput } from '../../../lambda/validate/contract';
import { datasetMap } from '../../../lambda/shared/datasets';
import { createValidator } from '../../../lambda/validate/validate-object';
import { exampleConfig } from '../../helpers/app';
import { DEFAULT_PART_SIZE, S3ObjectStore } from '../../../lambda/validate/object-store';
import { loadDataset, writeSample } from '../../../scripts/generate-sample';
import { type LocalS3, startLocalS3 } from './local-s3';

const FIXTURES = path.resolve(__dirname, '..', '..', 'fixtures', 'validate');
const LANDING = 'landing';
const ARTIFACTS = 'artifacts';

let local: LocalS3;
let validate: (event: unknown) => Promise<ValidateOutput>;

beforeAll(async () => {
  process.env.POWERTOOLS_LOG_LEVEL = 'ERROR';
  process.env.POWERTOOLS_METRICS_DISABLED = 'true';
  local = await startLocalS3([LANDING, ARTIFACTS]);
  validate = createValidator({
    store: new S3ObjectStore(local.s3),
    artifactsBucket: ARTIFACTS,
    datasets: datasetMap(exampleConfig().datasets),
  });
});

afterAll(async () => {
  await local.stop();
});

let runCounter = 0;
/** Lands `body` at `key` and validates it, as the state machine would after the S3 event. */
async function land(key: string, body: string | Buffer, dataset = key.split('/')[0]): Promise<ValidateOutput> {
  await local.put(LANDING, key, body);
  runCounter++;
  return validate({ bucket: LANDING, key, dataset, runId: `run-${runCounter}`, size: body.length });
}

function fixture(name: string): Buffer {
  return readFileSync(path.join(FIXTURES, name));
}

async function ndjsonLines(key: string): Promise<Record<string, unknown>[]> {
  const text = await local.getText(ARTIFACTS, key);
  return text
    .split('\n')
    .filter((line) => line !== '')
    .map((line) => JSON.parse(line));
}

describe('validate one object', () => {
  test('stages valid rows and quarantines each rejected row with its reason (ndjson)', async () => {
    const output = await land('impressions/ingest_date=2026-11-22/mixed.ndjson', fixture('impressions-mixed.ndjson'));
    expect(output).toEqual({
      status: 'VALID',
      dataset: 'impressions',
      runId: `run-${runCounter}`,
      ingestDate: '2026-11-22',
      rowsTotal: 9,
      rowsValid: 3,
      rowsRejected: 6,
      stagedBytes: expect.any(Number),
      stagingBucket: ARTIFACTS,
      stagingPrefix: `staging/impressions/run_id=run-${runCounter}/`,
      quarantineKey: `quarantine/impressions/ingest_date=2026-11-22/run_id=run-${runCounter}/rejected.ndjson`,
      reason: expect.stringMatching(
        /^6 of 9 rows rejected; first: line 2: column "bid_price_usd": "abc" is not a decimal\(12,6\)/,
      ),
    });

    const stagedText = await local.getText(ARTIFACTS, `${output.stagingPrefix}part-00000.ndjson`);
    expect(output.stagedBytes).toBe(Buffer.byteLength(stagedText));
    const staged = await ndjsonLines(`${output.stagingPrefix}part-00000.ndjson`);
    expect(staged.map((row) => [row.impression_id, row._record, row._ingest_date])).toEqual([
      ['imp-0000000000000001', 1, '2026-11-22'],
      ['imp-0000000000000009', 8, '2026-11-22'],
      ['imp-000000000000000a', 9, '2026-11-22'],
    ]);
    expect(staged[2]).toMatchObject({ campaign_id: '9223372036854775807', bid_price_usd: '123456.123456' });

    const rejected = await ndjsonLines(output.quarantineKey!);
    expect(rejected.map((row) => row.reason)).toEqual([
      'line 2: column "bid_price_usd": "abc" is not a decimal(12,6)',
      expect.stringMatching(/^line 3: not valid JSON \(.+\)$/),
      'line 4: column "campaign_id" is required but is missing',
      'line 6: unknown column "browser". Fix: remove it, or add it to config/datasets/impressions.json',
      'line 7: column "placement": "popup" is not one of banner, video, native, interstitial',
      'line 8: column "country": "Germany" does not match ^[A-Z]{2}$',
    ]);
    // Rejected rows are kept exactly as received, so they can be fixed and landed again.
    expect(rejected[1].raw).toBe('{"impression_id": "imp-0000000000000003", "event_time": ');
  });

  test('reads gzip, detected by its magic bytes, exactly like the plain file', async () => {
    const output = await land(
      'impressions/ingest_date=2026-11-22/mixed.ndjson.gz',
      gzipSync(fixture('impressions-mixed.ndjson')),
    );
    expect(output).toMatchObject({ status: 'VALID', rowsTotal: 9, rowsValid: 3, rowsRejected: 6 });
    const staged = await ndjsonLines(`${output.stagingPrefix}part-00000.ndjson`);
    expect(staged).toHaveLength(3);
  });

  test('reads a CSV with a BOM, CRLF line ends, quoted fields and a quoted newline into typed rows', async () => {
    const output = await land('clicks/ingest_date=2026-11-21/export.csv', fixture('clicks-bom-crlf.csv'));
    expect(output).toMatchObject({
      status: 'VALID',
      ingestDate: '2026-11-21',
      rowsTotal: 5,
      rowsValid: 3,
      rowsRejected: 2,
    });
    const staged = await ndjsonLines(`${output.stagingPrefix}part-00000.ndjson`);
    expect(staged).toEqual([
      {
        click_id: 'clk-0000000000000001',
        impression_id: 'imp-0000000000000001',
        click_time: '2026-11-22T10:00:01Z',
        campaign_id: 1000042,
        landing_url: 'https://shop.example.com/a?x=1',
        cost_usd: 0.5,
        is_fraud_suspected: false,
        _ingest_date: '2026-11-21',
        _record: 1,
      },
      expect.objectContaining({
        click_id: 'clk-0000000000000002',
        landing_url: 'https://shop.example.com/b?q="quoted",and\r\nmore',
        cost_usd: 1.25,
        is_fraud_suspected: true,
        _record: 2,
      }),
      expect.objectContaining({ click_id: 'clk-0000000000000005', landing_url: null, _record: 5 }),
    ]);
    const rejected = await ndjsonLines(output.quarantineKey!);
    expect(rejected.map((row) => row.reason)).toEqual([
      'line 5: column "cost_usd": "0.12345" has more than 4 decimal places for decimal(10,4)',
      'line 6: column "click_time": "not-a-time" is not a timestamp (ISO 8601, e.g. 2026-01-31T12:00:00Z)',
    ]);
  });

  test('streams the elements of a JSON array file', async () => {
    const output = await land('impressions/ingest_date=2026-11-22/doc.json', fixture('impressions-array.json'));
    expect(output).toMatchObject({ status: 'VALID', rowsTotal: 3, rowsValid: 2, rowsRejected: 1 });
    const rejected = await ndjsonLines(output.quarantineKey!);
    expect(rejected[0].reason).toBe('record 2 (line 15): column "viewable": "yes" is not a boolean (true or false)');
    // Pretty-printed records are staged one per line.
    const staged = await local.getText(ARTIFACTS, `${output.stagingPrefix}part-00000.ndjson`);
    expect(staged.trimEnd().split('\n')).toHaveLength(2);
  });

  test('reports an empty file as NO_VALID_ROWS without writing anything', async () => {
    const output = await land('impressions/ingest_date=2026-11-22/empty.ndjson', fixture('empty.ndjson'));
    expect(output).toMatchObject({ status: 'NO_VALID_ROWS', rowsTotal: 0, reason: 'the file holds no records' });
    expect(output.quarantineKey).toBeUndefined();
    expect(await local.list(ARTIFACTS, output.stagingPrefix)).toEqual([]);
  });

  test('reports a file whose rows are all rejected as NO_VALID_ROWS, with the rejected rows quarantined', async () => {
    const output = await land(
      'impressions/ingest_date=2026-11-22/bad.ndjson',
      fixture('impressions-all-rejected.ndjson'),
    );
    expect(output).toMatchObject({
      status: 'NO_VALID_ROWS',
      rowsTotal: 2,
      rowsValid: 0,
      rowsRejected: 2,
      reason: expect.stringMatching(/^all 2 rows rejected; first: line 1: column "creative_id"/),
    });
    expect(await local.list(ARTIFACTS, output.stagingPrefix)).toEqual([]);
    expect(await ndjsonLines(output.quarantineKey!)).toHaveLength(2);
  });

  test.each([
    ['binary garbage', 'impressions/ingest_date=2026-11-22/garbage.ndjson', 'garbage.ndjson', /not UTF-8 text/],
    [
      'a truncated gzip',
      'impressions/ingest_date=2026-11-22/cut.ndjson.gz',
      'impressions-bad.ndjson.gz',
      /cannot be decompressed/,
    ],
    [
      'a CSV with an unknown header column',
      'clicks/ingest_date=2026-11-22/h.csv',
      'clicks-bad-header.csv',
      /CSV header: unknown column "colour"/,
    ],
  ])('quarantines %s whole, with a reason file, as UNREADABLE', async (_label, key, name, reason) => {
    const body = fixture(name);
    const output = await land(key, body);
    const quarantineKey = `quarantine/${key.split('/')[0]}/ingest_date=2026-11-22/run_id=run-${runCounter}/${path.basename(key)}`;
    expect(output).toMatchObject({
      status: 'UNREADABLE',
      rowsValid: 0,
      quarantineKey,
      reason: expect.stringMatching(reason),
    });
    expect((await local.getBytes(ARTIFACTS, quarantineKey)).equals(body)).toBe(true);
    const reasonFile = JSON.parse(await local.getText(ARTIFACTS, `${quarantineKey}.reason.json`));
    expect(reasonFile).toMatchObject({
      reason: output.reason,
      dataset: key.split('/')[0],
      source: { bucket: LANDING, key },
    });
    expect(await local.list(ARTIFACTS, output.stagingPrefix)).toEqual([]);
  });

  test('validates a large generated file in bounded parts: counts match and staging is a multipart upload', async () => {
    const rows = 50_000;
    const badEvery = 1000;
    const sample = new PassThrough();
    const chunks: Buffer[] = [];
    sample.on('data', (chunk: Buffer) => chunks.push(chunk));
    await writeSample({ dataset: loadDataset('impressions'), rows, badEvery, seed: 3 }, sample);
    const body = Buffer.concat(chunks);

    local.requests.length = 0;
    const output = await land('impressions/ingest_date=2026-11-22/large.ndjson', body);
    const stagedParts = local.requests.filter(
      (request) =>
        request.method === 'PUT' &&
        'partNumber' in request.query &&
        decodeURIComponent(request.path).startsWith(`/${ARTIFACTS}/${output.stagingPrefix}`),
    );

    expect(output).toMatchObject({
      status: 'VALID',
      rowsTotal: rows,
      rowsValid: rows - rows / badEvery,
      rowsRejected: rows / badEvery,
    });
    expect(body.length).toBeGreaterThan(DEFAULT_PART_SIZE);
    expect(stagedParts.length).toBeGreaterThanOrEqual(2);
    const staged = await local.getText(ARTIFACTS, `${output.stagingPrefix}part-00000.ndjson`);
    expect(staged.split('\n').filter((line) => line !== '')).toHaveLength(rows - rows / badEvery);
  });

  test('rejects a small gzip of {} lines at the rejected-row cap: the file quarantined whole, nothing staged', async () => {
    const body = gzipSync(Buffer.from('{}\n'.repeat(200_000)));
    const key = 'impressions/ingest_date=2026-11-22/objects.ndjson.gz';
    const output = await land(key, body);
    const quarantine = `quarantine/impressions/ingest_date=2026-11-22/run_id=run-${runCounter}/`;
    expect(output).toMatchObject({
      status: 'UNREADABLE',
      limit: 'maxRejectedRows',
      rowsTotal: 10_001,
      rowsValid: 0,
      rowsRejected: 10_001,
      quarantineKey: `${quarantine}objects.ndjson.gz`,
      reason: expect.stringMatching(
        /^more than 10000 rows rejected \(etl\.validation\.maxRejectedRows\): record 10001 was rejection 10001 \(line 10001: column "impression_id" is required but is missing; /,
      ),
    });
    expect(output.reason!.length).toBeLessThanOrEqual(2000);
    // The landed object and its reason: no rejected-rows file, nothing staged.
    expect(await local.list(ARTIFACTS, quarantine)).toEqual([
      `${quarantine}objects.ndjson.gz`,
      `${quarantine}objects.ndjson.gz.reason.json`,
    ]);
    expect((await local.getBytes(ARTIFACTS, `${quarantine}objects.ndjson.gz`)).equals(body)).toBe(true);
    expect(await local.list(ARTIFACTS, output.stagingPrefix)).toEqual([]);
    const reasonFile = JSON.parse(await local.getText(ARTIFACTS, `${quarantine}objects.ndjson.gz.reason.json`));
    expect(reasonFile).toMatchObject({
      limit: 'maxRejectedRows',
      counts: { rowsRead: 10_001, rowsValid: 0, rowsRejected: 10_001, bytesRead: body.length },
      limits: { maxRejectedRows: 10_000 },
      source: { bucket: LANDING, key },
    });
    expect(reasonFile.reason.startsWith(output.reason!.slice(0, 1990))).toBe(true);
  });

  test('rejects a file whose deadline has passed, instead of timing out; with time to spare it is validated', async () => {
    const key = 'impressions/ingest_date=2026-11-22/late.ndjson';
    await local.put(LANDING, key, fixture('impressions-mixed.ndjson'));
    const now = Date.parse('2026-11-22T10:00:00Z');
    const late = createValidator({
      store: new S3ObjectStore(local.s3),
      artifactsBucket: ARTIFACTS,
      datasets: datasetMap(exampleConfig().datasets),
      now: () => now,
    });
    const output = await late(
      { bucket: LANDING, key, dataset: 'impressions', runId: 'run-late' },
      new Date(now - 1000),
    );
    expect(output).toMatchObject({
      status: 'UNREADABLE',
      limit: 'timeBudget',
      rowsTotal: 0,
      quarantineKey: 'quarantine/impressions/ingest_date=2026-11-22/run_id=run-late/late.ndjson',
      reason: expect.stringMatching(/^did not finish within the time budget: /),
    });
    const reasonFile = JSON.parse(await local.getText(ARTIFACTS, `${output.quarantineKey}.reason.json`));
    expect(reasonFile.limits.deadline).toBe('2026-11-22T09:59:59.000Z');
    const onTime = await late(
      { bucket: LANDING, key, dataset: 'impressions', runId: 'run-on-time' },
      new Date(now + 900_000),
    );
    expect(onTime).toMatchObject({ status: 'VALID', rowsValid: 3 });
  });

  test('fails an unknown dataset with InvalidInputError naming the known ones', async () => {
    await expect(
      validate({ bucket: LANDING, key: 'views/ingest_date=2026-11-22/a.ndjson', dataset: 'views', runId: 'r1' }),
    ).rejects.toMatchObject({
      name: 'InvalidInputError',
      message: expect.stringMatching(/Unknown dataset "views". Fix: use one of clicks, impressions/),
    });
  });

  test('fails a key outside the dataset prefix, and a malformed event, with InvalidInputError', async () => {
    await expect(
      validate({ bucket: LANDING, key: 'clicks/ingest_date=2026-11-22/a.csv', dataset: 'impressions', runId: 'r1' }),
    ).rejects.toMatchObject({
      name: 'InvalidInputError',
      message: expect.stringContaining('is not under the dataset\'s prefix "impressions/"'),
    });
    await expect(validate({ bucket: LANDING, dataset: 'impressions', runId: 'r 1' })).rejects.toMatchObject({
      name: 'InvalidInputError',
      message: expect.stringMatching(/key: .*runId: must be 1 to 128 letters/),
    });
  });

  test('fails a missing object with NotFoundError', async () => {
    await expect(
      validate({
        bucket: LANDING,
        key: 'impressions/ingest_date=2026-11-22/gone.ndjson',
        dataset: 'impressions',
        runId: 'r2',
      }),
    ).rejects.toMatchObject({ name: 'NotFoundError' });
  });
});
