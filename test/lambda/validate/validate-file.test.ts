import { datasetSchema } from '../../../config/schema';
import { ObjectWriter } from '../../../lambda/validate/object-store';
import { formatOf, ingestDateOf, validateFile } from '../../../lambda/validate/validate-file';
import { MemoryStore } from './memory-store';

const dataset = datasetSchema.parse({
  name: 'notes',
  ownerTeam: 'tests',
  format: 'ndjson',
  columns: [
    { name: 'id', type: 'string', nullable: false },
    { name: 'text', type: 'string' },
  ],
  primaryKey: ['id'],
});
// The primary key must be non-nullable for the schema; this variant is only used where every column may be null.
const allNullable = { ...dataset, columns: dataset.columns.map((column) => ({ ...column, nullable: true })) };

async function run(store: MemoryStore, key: string, body: string | Buffer, partSize?: number) {
  store.objects.set(`landing/${key}`, Buffer.from(body));
  return validateFile({
    store,
    input: { bucket: 'landing', key, dataset: 'notes', runId: 'r1' },
    dataset: allNullable,
    artifactsBucket: 'artifacts',
    now: () => new Date('2026-01-02T03:04:05Z'),
    writerOptions: partSize === undefined ? undefined : { partSize },
  });
}

const staged = (store: MemoryStore) =>
  store.objects.get('artifacts/staging/notes/run_id=r1/part-00000.ndjson')?.toString();
/** The staged rows, each line parsed (a line that is not valid JSON fails the test). */
const stagedRows = (store: MemoryStore): unknown[] =>
  staged(store)!
    .trimEnd()
    .split('\n')
    .map((line) => JSON.parse(line));

describe('validateFile', () => {
  test('splits the staged rows into parts whose concatenation is exactly the rows, multi-byte text included', async () => {
    const store = new MemoryStore();
    const lines = Array.from({ length: 3000 }, (_, i) =>
      JSON.stringify({ id: `n${i}`, text: `café ☕ ${i} ${'x'.repeat(i % 50)}` }),
    );
    const result = await run(store, 'notes/ingest_date=2026-11-22/a.ndjson', `${lines.join('\n')}\n`, 64 * 1024);
    expect(result.output).toMatchObject({ status: 'VALID', rowsValid: 3000 });
    expect(result.stagedParts).toBeGreaterThan(2);
    const rows = stagedRows(store) as Record<string, unknown>[];
    expect(rows).toHaveLength(3000);
    expect(rows[2999]).toEqual({
      id: 'n2999',
      text: `café ☕ 2999 ${'x'.repeat(49)}`,
      _ingest_date: '2026-11-22',
      _record: 3000,
    });
  });

  test('stages an empty object and records holding line breaks as one valid JSON line each', async () => {
    const store = new MemoryStore();
    const result = await run(store, 'notes/day.json', '[{}, { }, {"id": "a",\r\n "text": "b"}]');
    expect(result.output).toMatchObject({ status: 'VALID', rowsValid: 3, ingestDate: '2026-01-02' });
    expect(stagedRows(store)).toEqual([
      { _ingest_date: '2026-01-02', _record: 1 },
      { _ingest_date: '2026-01-02', _record: 2 },
      { id: 'a', text: 'b', _ingest_date: '2026-01-02', _record: 3 },
    ]);
  });

  test('stages empty objects with surrounding blanks as valid JSON lines (ndjson)', async () => {
    const store = new MemoryStore();
    const result = await run(store, 'notes/a.ndjson', ' {}\n{ }\t\n\t{"id":"a"} \n{"id":"b","text":"c"}\n');
    expect(result.output).toMatchObject({ status: 'VALID', rowsValid: 4 });
    expect(stagedRows(store)).toEqual([
      { _ingest_date: '2026-01-02', _record: 1 },
      { _ingest_date: '2026-01-02', _record: 2 },
      { id: 'a', _ingest_date: '2026-01-02', _record: 3 },
      { id: 'b', text: 'c', _ingest_date: '2026-01-02', _record: 4 },
    ]);
  });

  test('stages CSV records as typed JSON, whether taken whole or split, and quarantines the rest', async () => {
    const store = new MemoryStore();
    const csv = datasetSchema.parse({
      name: 'notes',
      ownerTeam: 'tests',
      format: 'csv',
      columns: [
        { name: 'id', type: 'string', nullable: false },
        { name: 'amount', type: 'decimal(6,2)' },
        { name: 'flag', type: 'boolean' },
        { name: 'text', type: 'string' },
      ],
      primaryKey: ['id'],
    });
    const body = [
      'id,amount,flag,text',
      'a,1.5,true,plain',
      'b,+01.50,TRUE,x',
      'c,1.5,true,"quoted, text"',
      'd,abc,true,x',
      'e,2,false,',
      'f,1,true',
      ',1,true,x',
      'g,3,false,tab\there',
      '',
    ].join('\r\n');
    store.objects.set('landing/notes/ingest_date=2026-11-22/a.csv', Buffer.from(body));
    const result = await validateFile({
      store,
      input: { bucket: 'landing', key: 'notes/ingest_date=2026-11-22/a.csv', dataset: 'notes', runId: 'r1' },
      dataset: csv,
      artifactsBucket: 'artifacts',
    });
    expect(result.output).toMatchObject({ status: 'VALID', rowsTotal: 8, rowsValid: 5, rowsRejected: 3 });
    const meta = (record: number) => ({ _ingest_date: '2026-11-22', _record: record });
    expect(staged(store)).toBe(
      [
        { id: 'a', amount: 1.5, flag: true, text: 'plain', ...meta(1) },
        { id: 'b', amount: 1.5, flag: true, text: 'x', ...meta(2) },
        { id: 'c', amount: 1.5, flag: true, text: 'quoted, text', ...meta(3) },
        { id: 'e', amount: 2, flag: false, text: null, ...meta(5) },
        { id: 'g', amount: 3, flag: false, text: 'tab\there', ...meta(8) },
      ]
        .map((row) => `${JSON.stringify(row)}\n`)
        .join(''),
    );
    const rejected = store.objects
      .get('artifacts/quarantine/notes/ingest_date=2026-11-22/run_id=r1/rejected.ndjson')!
      .toString()
      .trimEnd()
      .split('\n')
      .map((line) => JSON.parse(line));
    expect(rejected).toEqual([
      { record: 4, reason: 'line 5: column "amount": "abc" is not a decimal(6,2)', raw: 'd,abc,true,x' },
      { record: 6, reason: 'line 7: has 3 fields but the header has 4', raw: 'f,1,true' },
      { record: 7, reason: 'line 8: column "id" is required but is empty', raw: ',1,true,x' },
    ]);
  });

  test('fails with the storage error, after aborting its outputs, when a part upload fails', async () => {
    const store = new MemoryStore();
    store.failPart = 2;
    const lines = Array.from({ length: 5000 }, (_, i) => JSON.stringify({ id: `n${i}`, text: 'y'.repeat(40) }));
    await expect(run(store, 'notes/a.ndjson', lines.join('\n'), 64 * 1024)).rejects.toThrow('SlowDown');
    expect(store.aborted).toContain('artifacts/staging/notes/run_id=r1/part-00000.ndjson');
    expect(staged(store)).toBeUndefined();
  });

  test('fails with the storage error when the object cannot be read', async () => {
    const store = new MemoryStore();
    await expect(
      validateFile({
        store,
        input: { bucket: 'landing', key: 'notes/missing.ndjson', dataset: 'notes', runId: 'r1' },
        dataset,
        artifactsBucket: 'artifacts',
      }),
    ).rejects.toThrow('no object notes/missing.ndjson');
  });
});

describe('ObjectWriter part buffers', () => {
  test('reuses the memory of uploaded parts, which sinks read until their upload resolves', async () => {
    const received: Buffer[] = [];
    const memories = new Set<ArrayBufferLike>();
    const writer = new ObjectWriter(
      {
        putWhole: async () => undefined,
        begin: async () => undefined,
        // Reads the body a few ticks later, as a network or file write does.
        uploadPart: async (partNumber, body) => {
          memories.add(body.buffer);
          await new Promise((resolve) => setImmediate(resolve));
          received[partNumber - 1] = Buffer.from(body);
        },
        complete: async () => undefined,
        abort: async () => undefined,
      },
      // Parts larger than the writer's batch of text, as in Lambda (8 MiB parts).
      { partSize: 128 * 1024 },
    );
    let expected = '';
    for (let i = 0; i < 40_000; i++) {
      const line = `{"n":${i},"text":"${'é'.repeat(i % 7)}${'x'.repeat(i % 40)}"}\n`;
      expected += line;
      writer.write(line);
      if (writer.needsDrain) await writer.drain();
    }
    const summary = await writer.complete();
    expect(Buffer.concat(received).toString()).toBe(expected);
    expect(summary!.parts).toBeGreaterThan(10);
    expect(memories.size).toBeLessThan(summary!.parts / 2);
  });
});

describe('key conventions', () => {
  test('reads the ingest date from the key, ignoring impossible dates', () => {
    expect(ingestDateOf('impressions/ingest_date=2026-11-22/a.ndjson')).toBe('2026-11-22');
    expect(ingestDateOf('impressions/ingest_date=2026-02-30/a.ndjson')).toBeUndefined();
    expect(ingestDateOf('impressions/a.ndjson')).toBeUndefined();
  });

  test('takes the format from the extension, gzip or not, else from the dataset', () => {
    expect(formatOf('x/a.NDJSON.gz', 'csv')).toBe('ndjson');
    expect(formatOf('x/a.jsonl', 'csv')).toBe('ndjson');
    expect(formatOf('x/a.json.gz', 'csv')).toBe('json');
    expect(formatOf('x/a.csv', 'ndjson')).toBe('csv');
    expect(formatOf('x/a.txt', 'csv')).toBe('csv');
  });
});
