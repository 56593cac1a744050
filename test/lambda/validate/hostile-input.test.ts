/**
 * Hostile and careless files against validateFile: every one is answered (rows rejected with a reason, or the file
 * quarantined whole with the limit, the value reached and the counts), never a crash, a hang or a partial staging.
 */
import { gzipSync } from 'node:zlib';
import { type DatasetConfig, datasetSchema } from '../../../config/schema';
import { VALIDATION_DEFAULTS, type ValidationLimits } from '../../../lambda/validate/contract';
import { validateFile } from '../../../lambda/validate/validate-file';
import { MemoryStore } from './memory-store';

const MiB = 1024 * 1024;

const notes = datasetSchema.parse({
  name: 'notes',
  ownerTeam: 'tests',
  format: 'ndjson',
  columns: [
    { name: 'id', type: 'string', nullable: false },
    { name: 'text', type: 'string' },
  ],
  primaryKey: ['id'],
});

const typed = datasetSchema.parse({
  name: 'typed',
  ownerTeam: 'tests',
  format: 'ndjson',
  columns: [
    { name: 'id', type: 'string', nullable: false },
    { name: 'n', type: 'integer' },
    { name: 'big', type: 'bigint' },
    { name: 'ratio', type: 'double' },
    { name: 'amount', type: 'decimal(5,2)' },
    { name: 'day', type: 'date' },
    { name: 'at', type: 'timestamp' },
    { name: 'text', type: 'string' },
  ],
  primaryKey: ['id'],
});

interface Run {
  readonly dataset?: DatasetConfig;
  readonly limits?: Partial<ValidationLimits>;
  readonly deadline?: number;
  readonly now?: () => Date;
  readonly size?: number;
}

const START = Date.parse('2026-11-22T10:00:00Z');

/** Lands `body` (bytes, or a generator for what is too large to hold) at `key` and validates it. */
async function land(
  store: MemoryStore,
  key: string,
  body: string | Buffer | (() => AsyncIterable<Buffer>),
  run: Run = {},
) {
  if (typeof body === 'function') store.generated.set(`landing/${key}`, body);
  else store.objects.set(`landing/${key}`, Buffer.from(body));
  const dataset = run.dataset ?? notes;
  return validateFile({
    store,
    input: { bucket: 'landing', key, dataset: dataset.name, runId: 'r1', size: run.size },
    dataset,
    artifactsBucket: 'artifacts',
    limits: { ...VALIDATION_DEFAULTS, ...run.limits },
    deadline: run.deadline,
    now: run.now ?? (() => new Date(START)),
  });
}

const quarantineOf = (dataset: string, name: string) =>
  `quarantine/${dataset}/ingest_date=2026-11-22/run_id=r1/${name}`;

/**
 * The outcome of a file quarantined whole by a limit: UNREADABLE with the limit, the landed object copied to
 * quarantine with its `.reason.json`, nothing staged (no staged object, no rejected-rows file), staged parts aborted.
 */
function expectQuarantinedWhole(
  store: MemoryStore,
  result: Awaited<ReturnType<typeof validateFile>>,
  expected: { key: string; limit: string; reason: RegExp | string; rowsTotal?: number; rowsRejected?: number },
) {
  const dataset = expected.key.split('/')[0];
  const quarantineKey = quarantineOf(dataset, expected.key.split('/').pop()!);
  expect(result.output).toMatchObject({
    status: 'UNREADABLE',
    limit: expected.limit,
    rowsValid: 0,
    quarantineKey,
    ...(expected.rowsTotal === undefined ? {} : { rowsTotal: expected.rowsTotal }),
    ...(expected.rowsRejected === undefined ? {} : { rowsRejected: expected.rowsRejected }),
  });
  if (typeof expected.reason === 'string') expect(result.output.reason).toBe(expected.reason);
  else expect(result.output.reason).toMatch(expected.reason);
  expect(result.output.reason).toMatch(
    /Read \d+ records \(\d+ valid, \d+ rejected\) when reading stopped; the whole file is quarantined and nothing of it is staged$/,
  );
  expect(result.stagedParts).toBe(0);
  expect(store.copies).toEqual([[`landing/${expected.key}`, `artifacts/${quarantineKey}`]]);
  // Only the file (a generated one is copied without being held) and its reason: no staged rows, no rejected rows.
  const held = store.generated.has(`landing/${expected.key}`) ? [] : [`artifacts/${quarantineKey}`];
  expect(store.keys('artifacts/')).toEqual([...held, `artifacts/${quarantineKey}.reason.json`]);
  const reasonFile = JSON.parse(store.objects.get(`artifacts/${quarantineKey}.reason.json`)!.toString());
  expect(reasonFile).toMatchObject({
    reason: result.output.reason,
    limit: expected.limit,
    counts: {
      rowsRead: result.output.rowsTotal,
      rowsRejected: result.output.rowsRejected,
      bytesRead: result.decode.bytesIn,
      textBytes: result.decode.bytesOut,
    },
    source: { bucket: 'landing', key: expected.key },
    dataset,
    runId: 'r1',
  });
  return reasonFile;
}

/** A gzip member of `bytes` bytes of valid rows: ~1000x smaller, as deflate gets on repeated text. */
function validRowsMember(bytes: number): Buffer {
  const line = '{"id":"a"}\n';
  return gzipSync(Buffer.from(line.repeat(Math.ceil(bytes / line.length))), { level: 9 });
}

/** `member` served `times` times in a row, in 16 KiB reads: a multi-member gzip file, streamed, never held whole. */
function repeated(member: Buffer, times: number): () => AsyncIterable<Buffer> {
  return async function* () {
    for (let i = 0; i < times; i++) {
      for (let at = 0; at < member.length; at += 16 * 1024) yield member.subarray(at, at + 16 * 1024);
    }
  };
}

describe('gzip bombs and inflation', () => {
  // 64 MiB of text in ~65 KB of gzip, 16 times: ~1 MB that inflates to 1 GiB.
  const member = validRowsMember(64 * MiB);

  test('rejects a gzip bomb at the inflation ratio: stops at once, quarantines it whole, stages nothing', async () => {
    const store = new MemoryStore();
    const result = await land(store, 'notes/ingest_date=2026-11-22/bomb.ndjson.gz', repeated(member, 16));
    expect(member.length).toBeLessThan(MiB / 8);
    const reasonFile = expectQuarantinedWhole(store, result, {
      key: 'notes/ingest_date=2026-11-22/bomb.ndjson.gz',
      limit: 'maxInflationRatio',
      reason:
        /^the gzip content inflates more than 100x \(etl\.validation\.maxInflationRatio\): \d+ bytes of text from \d+ compressed bytes \(\d+x\), the mark of a decompression bomb; reading stopped there\. Fix: if the file is genuine and this repetitive, raise etl\.validation\.maxInflationRatio in config\/environments\/<env>\.json\. Read \d+ records \(\d+ valid, 0 rejected\)/,
    });
    // Stopped at the first check, 16 MiB of text in: a tiny part of the GiB, and of the compressed file.
    expect(result.decode.bytesOut).toBeLessThan(16 * MiB + 128 * 1024);
    expect(result.decode.bytesIn).toBeLessThan(member.length);
    expect(reasonFile.limits).toMatchObject({ maxInflationRatio: 100 });
    // The rows read before the stop had started a multipart staging upload: aborted, not completed.
    expect(store.aborted).toEqual(['artifacts/staging/notes/run_id=r1/part-00000.ndjson']);
    expect(store.streams[0].destroyed).toBe(true);
  });

  test('rejects gzip content beyond the absolute inflated size, whatever its ratio', async () => {
    const store = new MemoryStore();
    const result = await land(store, 'notes/ingest_date=2026-11-22/big.ndjson.gz', repeated(member, 16), {
      limits: { maxInflatedBytes: 4 * MiB, maxInflationRatio: 100_000 },
    });
    expectQuarantinedWhole(store, result, {
      key: 'notes/ingest_date=2026-11-22/big.ndjson.gz',
      limit: 'maxInflatedBytes',
      reason:
        /^the gzip content inflates to more than 4194304 bytes \(etl\.validation\.maxInflatedBytes\): reading stopped at \d+ bytes of text from \d+ compressed bytes\. Fix: split the file into smaller ones, or raise etl\.validation\.maxInflatedBytes in config\/environments\/<env>\.json\. Read \d+ records/,
    });
    expect(result.decode.bytesOut).toBeLessThanOrEqual(4 * MiB);
  });

  test('survives a small gzip that compresses very well: the ratio is only checked past 16 MiB of text', async () => {
    const store = new MemoryStore();
    const small = validRowsMember(8 * MiB);
    const result = await land(store, 'notes/ingest_date=2026-11-22/small.ndjson.gz', small);
    expect(result.decode.bytesOut / result.decode.bytesIn).toBeGreaterThan(100);
    expect(result.output).toMatchObject({ status: 'VALID', rowsRejected: 0 });
    expect(result.output.rowsValid).toBe(result.decode.bytesOut / 11);
  });

  test('rejects a plain file beyond its size limit, unread when the event gives its size', async () => {
    const body = `${'{"id":"a"}\n'.repeat(5000)}`;
    const store = new MemoryStore();
    const result = await land(store, 'notes/ingest_date=2026-11-22/a.ndjson', body, {
      limits: { maxUncompressedObjectBytes: 20_000 },
    });
    expectQuarantinedWhole(store, result, {
      key: 'notes/ingest_date=2026-11-22/a.ndjson',
      limit: 'maxUncompressedObjectBytes',
      reason:
        /^the file is larger than 20000 bytes \(etl\.validation\.maxUncompressedObjectBytes\): reading stopped at 2\d{4} bytes\. Fix: split the file into smaller ones, or raise etl\.validation\.maxUncompressedObjectBytes in config\/environments\/<env>\.json \(or gzip it: limits on gzip files apply to the text\)\. Read \d+ records/,
    });

    const known = new MemoryStore();
    const unread = await land(known, 'notes/ingest_date=2026-11-22/a.ndjson', body, {
      limits: { maxUncompressedObjectBytes: 20_000 },
      size: body.length,
    });
    expect(unread.output).toMatchObject({ status: 'UNREADABLE', limit: 'maxUncompressedObjectBytes', rowsTotal: 0 });
    expect(unread.output.reason).toMatch(
      /^the file is larger than 20000 bytes .*: its size is 55000 bytes, so it was not read\./,
    );
  });
});

describe('rejected rows', () => {
  test('rejects a small gzip of {} lines at the rejected-row cap: quarantined whole with the counts', async () => {
    const store = new MemoryStore();
    // 3 MB of `{}` lines in ~3 KB: a million rejections, 100x their size in reasons, if nothing stopped them.
    const body = gzipSync(Buffer.from('{}\n'.repeat(1_000_000)), { level: 9 });
    expect(body.length).toBeLessThan(10_000);
    const key = 'notes/ingest_date=2026-11-22/empty-objects.ndjson.gz';
    const result = await land(store, key, body);
    const missing = (line: number) => `line ${line}: column "id" is required but is missing`;
    expectQuarantinedWhole(store, result, {
      key,
      limit: 'maxRejectedRows',
      rowsTotal: 10_001,
      rowsRejected: 10_001,
      reason: `more than 10000 rows rejected (etl.validation.maxRejectedRows): record 10001 was rejection 10001 (${missing(10001)}); first: ${missing(1)} | ${missing(2)} | ${missing(3)}. A file this wrong is quarantined whole rather than row by row. Fix: correct the file (format, columns) and land it again; raise etl.validation.maxRejectedRows only if so many rejections are expected. Read 10001 records (0 valid, 10001 rejected) when reading stopped; the whole file is quarantined and nothing of it is staged`,
    });
    // The landed bytes, exactly, are in quarantine.
    expect(store.objects.get(`artifacts/${quarantineOf('notes', 'empty-objects.ndjson.gz')}`)!.equals(body)).toBe(true);
  });

  test('survives exactly the rejected-row cap: the rows are quarantined one by one and the rest is staged', async () => {
    const lines = [...Array.from({ length: 5 }, () => '{}'), '{"id":"a"}'];
    const atCap = new MemoryStore();
    const result = await land(atCap, 'notes/ingest_date=2026-11-22/a.ndjson', lines.join('\n'), {
      limits: { maxRejectedRows: 5 },
    });
    expect(result.output).toMatchObject({ status: 'VALID', rowsValid: 1, rowsRejected: 5 });
    expect(result.output.limit).toBeUndefined();

    const overCap = new MemoryStore();
    const over = await land(overCap, 'notes/ingest_date=2026-11-22/a.ndjson', ['{}', ...lines].join('\n'), {
      limits: { maxRejectedRows: 5 },
    });
    expectQuarantinedWhole(overCap, over, {
      key: 'notes/ingest_date=2026-11-22/a.ndjson',
      limit: 'maxRejectedRows',
      rowsTotal: 6,
      rowsRejected: 6,
      reason: /^more than 5 rows rejected \(etl\.validation\.maxRejectedRows\): record 6 was rejection 6/,
    });
  });

  test('rejects a record with 80,000 unknown keys with one reason of bounded length', async () => {
    const keys = Array.from({ length: 80_000 }, (_, i) => `"k${i}":1`).join(',');
    const store = new MemoryStore();
    const result = await land(store, 'notes/ingest_date=2026-11-22/a.ndjson', `{"id":"a",${keys}}\n{"id":"b"}\n`);
    expect(result.output).toMatchObject({ status: 'VALID', rowsValid: 1, rowsRejected: 1 });
    const [row] = rejectedRows(store, 'notes');
    const unknown = (i: number) => `unknown column "k${i}". Fix: remove it, or add it to config/datasets/notes.json`;
    expect(row.reason).toBe(
      `line 1: ${Array.from({ length: 10 }, (_, i) => unknown(i)).join('; ')}; and 79990 more problems`,
    );
  });
});

describe('records too long to hold', () => {
  test('rejects an oversized line: the file is quarantined whole, naming the limit', async () => {
    const store = new MemoryStore();
    const body = `{"id":"a"}\n{"id":"${'x'.repeat(MiB)}"}\n{"id":"c"}\n`;
    const result = await land(store, 'notes/ingest_date=2026-11-22/long.ndjson', body);
    expectQuarantinedWhole(store, result, {
      key: 'notes/ingest_date=2026-11-22/long.ndjson',
      limit: 'maxRecordChars',
      rowsTotal: 1,
      rowsRejected: 0,
      reason:
        'the record starting at line 2 is longer than 1048576 characters (etl.validation.maxRecordChars): the file is not in the expected format, or holds a record too large to check. Fix: send one record per line (ndjson), a JSON array, or CSV; raise etl.validation.maxRecordChars only if records this long are expected. Read 1 records (1 valid, 0 rejected) when reading stopped; the whole file is quarantined and nothing of it is staged',
    });
  });

  test('survives an endless line without a newline: reads a record limit of it, not the whole', async () => {
    const store = new MemoryStore();
    const chunk = Buffer.from('x'.repeat(64 * 1024));
    let served = 0;
    const endless = async function* () {
      for (;;) {
        served += chunk.length;
        yield chunk;
      }
    };
    const result = await land(store, 'notes/ingest_date=2026-11-22/endless.ndjson', endless, {
      limits: { maxRecordChars: 256 * 1024 },
    });
    expect(result.output).toMatchObject({ status: 'UNREADABLE', limit: 'maxRecordChars', rowsTotal: 0 });
    expect(result.decode.bytesIn).toBeLessThanOrEqual(256 * 1024 + 2 * chunk.length);
    expect(served).toBeLessThan(MiB);
    expect(store.streams[0].destroyed).toBe(true);
  });

  test.each([
    ['a JSON array element', 'notes/ingest_date=2026-11-22/a.json', `[{"id":"a"},{"id":"${'x'.repeat(300)}"}]`, 1],
    ['a quoted CSV field', 'notes/ingest_date=2026-11-22/a.csv', `id,text\na,b\nc,"${'x'.repeat(300)}"\n`, 3],
    ['an unquoted CSV line', 'notes/ingest_date=2026-11-22/b.csv', `id,text\na,b\nc,${'x'.repeat(300)}\n`, 3],
  ])('rejects an oversized record in %s', async (_label, key, body, line) => {
    const store = new MemoryStore();
    const result = await land(store, key, body, { limits: { maxRecordChars: 200 } });
    expectQuarantinedWhole(store, result, {
      key,
      limit: 'maxRecordChars',
      rowsTotal: 1,
      reason: new RegExp(`^the record starting at line ${line} is longer than 200 characters`),
    });
  });
});

describe('time budget', () => {
  test('rejects a file whose deadline expires mid-file: quarantined whole with a time-budget reason', async () => {
    const store = new MemoryStore();
    // Each read of the clock is a second later: the deadline falls a few chunks into the file.
    let ticks = 0;
    const now = () => new Date(START + 1000 * ticks++);
    const body = Array.from({ length: 2000 }, (_, i) => JSON.stringify({ id: `n${i}`, text: 'y'.repeat(40) })).join(
      '\n',
    );
    const key = 'notes/ingest_date=2026-11-22/slow.ndjson';
    const result = await land(store, key, body, { deadline: START + 10_000, now, size: body.length });
    const reasonFile = expectQuarantinedWhole(store, result, {
      key,
      limit: 'timeBudget',
      reason: new RegExp(
        `^did not finish within the time budget: reading stopped after \\d+\\.0 s, at \\d+ bytes of text \\(\\d+ bytes of the object of ${body.length}\\)\\. The budget is the function's remaining time less etl\\.validation\\.timeBudgetMarginSeconds, kept to write this quarantine\\. Fix: split the file into smaller ones and land them again\\. Read \\d+ records \\(\\d+ valid, 0 rejected\\)`,
      ),
    });
    expect(result.output.rowsTotal).toBeGreaterThan(0);
    expect(result.output.rowsTotal).toBeLessThan(2000);
    expect(reasonFile.limits.deadline).toBe('2026-11-22T10:00:10.000Z');
  });

  test('rejects a file at once when the deadline has already passed, before reading it', async () => {
    const store = new MemoryStore();
    const key = 'notes/ingest_date=2026-11-22/late.ndjson';
    const result = await land(store, key, '{"id":"a"}\n', { deadline: START - 1 });
    expectQuarantinedWhole(store, result, { key, limit: 'timeBudget', rowsTotal: 0, reason: /^did not finish/ });
    expect(result.decode.bytesIn).toBe(0);
  });

  test('survives a deadline it meets: the file is validated as without one', async () => {
    const store = new MemoryStore();
    const result = await land(store, 'notes/ingest_date=2026-11-22/a.ndjson', '{"id":"a"}\n', {
      deadline: START + 1,
    });
    expect(result.output).toMatchObject({ status: 'VALID', rowsValid: 1 });
  });
});

/** `depth` levels of arrays: `[[[...]]]`. */
const deepArray = (depth: number) => `${'['.repeat(depth)}${']'.repeat(depth)}`;
/** `depth` levels of objects: `{"a":{"a":...1}}`. */
const deepObject = (depth: number) => `${'{"a":'.repeat(depth)}1${'}'.repeat(depth)}`;

function rejectedRows(store: MemoryStore, dataset: string): { record: number; reason: string; raw: string }[] {
  return store.objects
    .get(`artifacts/${quarantineOf(dataset, 'rejected.ndjson')}`)!
    .toString()
    .trimEnd()
    .split('\n')
    .map((line) => JSON.parse(line));
}

function stagedRows(store: MemoryStore, dataset: string): Record<string, unknown>[] {
  return store.objects
    .get(`artifacts/staging/${dataset}/run_id=r1/part-00000.ndjson`)!
    .toString()
    .trimEnd()
    .split('\n')
    .map((line) => JSON.parse(line));
}

describe('deep nesting', () => {
  test('rejects values nested 5,000 deep in a known column, an unknown column and a whole line, with reasons', async () => {
    const store = new MemoryStore();
    const lines = [
      '{"id":"a","text":"fine"}',
      `{"id":"b","text":${deepArray(5000)}}`,
      `{"id":"c","extra":${deepObject(5000)}}`,
      deepArray(5000),
      deepObject(5000),
      `{"id":"f","text":${deepObject(150_000)}}`,
      '{"id":"g"}',
    ];
    const result = await land(store, 'notes/ingest_date=2026-11-22/deep.ndjson', lines.join('\n'));
    expect(result.output).toMatchObject({ status: 'VALID', rowsTotal: 7, rowsValid: 2, rowsRejected: 5 });
    const brackets = `${'['.repeat(77)}...`;
    const objects = `${'{"a":'.repeat(15)}{"...`;
    expect(rejectedRows(store, 'notes').map(({ record, reason }) => [record, reason])).toEqual([
      [2, `line 2: column "text": ${brackets} is not a string`],
      [3, 'line 3: unknown column "extra". Fix: remove it, or add it to config/datasets/notes.json'],
      [4, `line 4: ${brackets} is not a JSON object`],
      [
        5,
        'line 5: unknown column "a". Fix: remove it, or add it to config/datasets/notes.json; column "id" is required but is missing',
      ],
      [6, `line 6: column "text": ${objects} is not a string`],
    ]);
    expect(stagedRows(store, 'notes').map((row) => row.id)).toEqual(['a', 'g']);
  });

  test('rejects deep elements of a JSON array, read from the stream in constant stack', async () => {
    const store = new MemoryStore();
    const body = `[{"id":"a"},\n${deepArray(5000)},\n{"id":"c","text":${deepObject(5000)}},{"id":"d"}]`;
    const result = await land(store, 'notes/ingest_date=2026-11-22/deep.json', body);
    expect(result.output).toMatchObject({ status: 'VALID', rowsTotal: 4, rowsValid: 2, rowsRejected: 2 });
    expect(rejectedRows(store, 'notes').map(({ reason }) => reason)).toEqual([
      `record 2 (line 2): ${'['.repeat(77)}... is not a JSON object`,
      `record 3 (line 3): column "text": ${'{"a":'.repeat(15)}{"... is not a string`,
    ]);
  });
});

describe('every staged value loads into Parquet (Spark) and PostgreSQL', () => {
  const row = (fields: Record<string, unknown>) => JSON.stringify({ id: 'x', ...fields });

  test('rejects NUL, unpaired surrogates, year 0, 2026-02-30, 1e400 and integer overflow in NDJSON, with reasons', async () => {
    const store = new MemoryStore();
    const lines = [
      '{"id":"nul","text":"a\\u0000b"}',
      '{"id":"surrogate","text":"\\ud800x"}',
      '{"id":"low","text":"x\\udc00"}',
      row({ day: '0000-01-01' }),
      row({ day: '2026-02-30' }),
      row({ at: '0000-12-31T23:00:00Z' }),
      '{"id":"inf","ratio":1e400}',
      '{"id":"-inf","ratio":-1e400}',
      '{"id":"inf-amount","amount":1e400}',
      row({ n: 2147483648 }),
      row({ n: '-2147483649' }),
      row({ big: '9223372036854775808' }),
      '{"id":"pair","text":"emoji \\ud83d\\ude00","ratio":1e-400,"day":"0001-01-01","at":"9999-12-31T23:59:59Z","n":-2147483648,"big":"-9223372036854775808"}',
    ];
    const result = await land(store, 'typed/ingest_date=2026-11-22/values.ndjson', lines.join('\n'), {
      dataset: typed,
    });
    expect(result.output).toMatchObject({ status: 'VALID', rowsValid: 1, rowsRejected: 12 });
    expect(rejectedRows(store, 'typed').map(({ reason }) => reason)).toEqual([
      'line 1: column "text": "a\\u0000b" holds a NUL character (\\u0000), which PostgreSQL cannot store in text. Fix: remove it from the value',
      'line 2: column "text": "\\ud800x" holds an unpaired UTF-16 surrogate (an escape such as \\ud800 without its pair), which is not Unicode text. Fix: send the character itself, or both halves of its pair',
      'line 3: column "text": "x\\udc00" holds an unpaired UTF-16 surrogate (an escape such as \\ud800 without its pair), which is not Unicode text. Fix: send the character itself, or both halves of its pair',
      'line 4: column "day": "0000-01-01" is not a date: there is no year 0000 (years run from 0001 to 9999)',
      'line 5: column "day": "2026-02-30" is not a date: 2026-02 has no day 30',
      'line 6: column "at": "0000-12-31T23:00:00Z" is not a timestamp: there is no year 0000 (years run from 0001 to 9999)',
      'line 7: column "ratio": a number beyond 1.7976931348623157e308 (parsed as Infinity) is out of range for double. Fix: send a finite number',
      'line 8: column "ratio": a number beyond -1.7976931348623157e308 (parsed as -Infinity) is out of range for double. Fix: send a finite number',
      'line 9: column "amount": a number beyond 1.7976931348623157e308 (parsed as Infinity) is out of range for decimal(5,2). Fix: send a finite number',
      'line 10: column "n": 2147483648 is out of range for integer',
      'line 11: column "n": "-2147483649" is out of range for integer',
      'line 12: column "big": "9223372036854775808" is out of range for bigint',
    ]);
    // The valid row is staged as sent: the escaped pair decodes to the emoji, 1e-400 to 0.
    expect(stagedRows(store, 'typed')).toEqual([
      {
        id: 'pair',
        text: 'emoji 😀',
        ratio: 0,
        day: '0001-01-01',
        at: '9999-12-31T23:59:59Z',
        n: -2147483648,
        big: '-9223372036854775808',
        _ingest_date: '2026-11-22',
        _record: 13,
      },
    ]);
  });

  test('rejects the same values in CSV by the same rules, and a NUL byte as binary content', async () => {
    const store = new MemoryStore();
    const csv = [
      'id,n,big,ratio,amount,day,at,text',
      'y0,,,,,0000-01-01,,',
      'feb,,,,,2026-02-30,,',
      'at0,,,,,,0000-12-31T23:00:00Z,',
      'inf,,,1e400,,,,',
      'ninf,,,-1e400,,,,',
      'int,2147483648,,,,,,',
      'int2,-2147483649,,,,,,',
      'big,,9223372036854775808,,,,,',
      'ok,-2147483648,-9223372036854775808,1e-400,999.99,0001-01-01,9999-12-31T23:59:59Z,emoji 😀',
      '',
    ].join('\n');
    const result = await land(store, 'typed/ingest_date=2026-11-22/values.csv', csv, { dataset: typed });
    expect(result.output).toMatchObject({ status: 'VALID', rowsValid: 1, rowsRejected: 8 });
    expect(rejectedRows(store, 'typed').map(({ reason }) => reason)).toEqual([
      'line 2: column "day": "0000-01-01" is not a date: there is no year 0000 (years run from 0001 to 9999)',
      'line 3: column "day": "2026-02-30" is not a date: 2026-02 has no day 30',
      'line 4: column "at": "0000-12-31T23:00:00Z" is not a timestamp: there is no year 0000 (years run from 0001 to 9999)',
      'line 5: column "ratio": "1e400" is out of range for double (finite values are within ±1.7976931348623157e308). Fix: send a finite number',
      'line 6: column "ratio": "-1e400" is out of range for double (finite values are within ±1.7976931348623157e308). Fix: send a finite number',
      'line 7: column "n": "2147483648" is out of range for integer',
      'line 8: column "n": "-2147483649" is out of range for integer',
      'line 9: column "big": "9223372036854775808" is out of range for bigint',
    ]);
    expect(stagedRows(store, 'typed')).toEqual([
      {
        id: 'ok',
        n: -2147483648,
        big: expect.any(Number),
        ratio: 0,
        amount: 999.99,
        day: '0001-01-01',
        at: '9999-12-31T23:59:59Z',
        text: 'emoji 😀',
        _ingest_date: '2026-11-22',
        _record: 9,
      },
    ]);

    // Bigints are staged as JSON numbers with every digit (Spark reads the text).
    expect(store.objects.get('artifacts/staging/typed/run_id=r1/part-00000.ndjson')!.toString()).toContain(
      '"big":-9223372036854775808,',
    );

    const binary = new MemoryStore();
    const nul = await land(binary, 'typed/ingest_date=2026-11-22/nul.csv', 'id,text\na,b\u0000c\n', { dataset: typed });
    expect(nul.output).toMatchObject({ status: 'UNREADABLE', reason: expect.stringMatching(/holds NUL bytes/) });
    expect(nul.output.limit).toBeUndefined();
  });
});
