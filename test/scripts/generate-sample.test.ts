import { PassThrough } from 'node:stream';
import { CsvReader, JsonDocumentReader, NdjsonReader, type RecordReader } from '../../lambda/validate/readers';
import { type CsvRecordMapper, RecordValidator } from '../../lambda/validate/record-validator';
import {
  loadDataset,
  parseArgs,
  patternGenerator,
  prng,
  type SampleFormat,
  writeSample,
} from '../../scripts/generate-sample';

async function sample(
  dataset: string,
  rows: number,
  format: SampleFormat,
  seed = 1,
  badEvery?: number,
): Promise<string> {
  const out = new PassThrough();
  const chunks: Buffer[] = [];
  out.on('data', (chunk: Buffer) => chunks.push(chunk));
  await writeSample({ dataset: loadDataset(dataset), rows, format, seed, badEvery }, out);
  return Buffer.concat(chunks).toString('utf8');
}

/** Counts valid and rejected records with the validate Lambda's own readers and checks. */
function validateText(dataset: string, format: SampleFormat, text: string): { valid: number; rejected: number } {
  const validator = new RecordValidator(loadDataset(dataset));
  const counts = { valid: 0, rejected: 0 };
  const onJson = (raw: string) => {
    let value: unknown;
    try {
      value = JSON.parse(raw);
    } catch {
      counts.rejected++;
      return;
    }
    if (validator.checkObject(value) === undefined) counts.valid++;
    else counts.rejected++;
  };
  let mapper: CsvRecordMapper | undefined;
  const reader: RecordReader =
    format === 'csv'
      ? new CsvReader((record) => {
          if (mapper === undefined) {
            mapper = validator.forCsvHeader((record as { fields: string[] }).fields) as CsvRecordMapper;
            return;
          }
          const ok = 'fields' in record && 'json' in mapper.toJson(record.fields);
          if (ok) counts.valid++;
          else counts.rejected++;
        })
      : format === 'json'
        ? new JsonDocumentReader(onJson)
        : new NdjsonReader(onJson);
  reader.push(text);
  reader.end();
  return counts;
}

describe('generate-sample', () => {
  test.each([
    ['impressions', 'ndjson'],
    ['impressions', 'csv'],
    ['impressions', 'json'],
    ['clicks', 'csv'],
    ['clicks', 'ndjson'],
  ] as [string, SampleFormat][])('generates %s as %s whose every row passes validation', async (dataset, format) => {
    expect(validateText(dataset, format, await sample(dataset, 2000, format))).toEqual({ valid: 2000, rejected: 0 });
  });

  test.each(['ndjson', 'csv', 'json'] as SampleFormat[])(
    'makes exactly one row in K invalid with --bad-every K (%s)',
    async (format) => {
      expect(validateText('impressions', format, await sample('impressions', 1000, format, 1, 7))).toEqual({
        valid: 1000 - 142,
        rejected: 142,
      });
    },
  );

  test('is deterministic for a seed and different across seeds', async () => {
    const first = await sample('impressions', 300, 'ndjson', 42);
    expect(await sample('impressions', 300, 'ndjson', 42)).toBe(first);
    expect(await sample('impressions', 300, 'ndjson', 43)).not.toBe(first);
  });

  test('gives clicks impression ids that the impressions of the same seed contain', async () => {
    const impressionIds = new Set(
      (await sample('impressions', 500, 'ndjson', 5))
        .trim()
        .split('\n')
        .map((line) => JSON.parse(line).impression_id),
    );
    const clicks = (await sample('clicks', 200, 'ndjson', 5))
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line));
    expect(clicks.filter((click) => impressionIds.has(click.impression_id)).length).toBeGreaterThan(190);
  });

  test('generates strings for the simple patterns of dataset configs', () => {
    const generate = patternGenerator('^clk-[0-9a-f]{16}$')!;
    const random = prng(1);
    for (let i = 0; i < 50; i++) expect(generate(random)).toMatch(/^clk-[0-9a-f]{16}$/);
    expect(patternGenerator('^(a|b)$')).toBeUndefined();
  });

  test('parses the command line', () => {
    expect(
      parseArgs([
        '--dataset',
        'clicks',
        '--rows',
        '10',
        '--format',
        'csv',
        '--gzip',
        '--seed',
        '3',
        '--bad-every',
        '5',
      ]),
    ).toEqual({
      dataset: 'clicks',
      rows: 10,
      format: 'csv',
      gzip: true,
      seed: 3,
      badEvery: 5,
    });
  });

  test('fails bad arguments with the value received and the usage', () => {
    expect(() => parseArgs(['--dataset', 'clicks'])).toThrow(
      /--dataset and --rows are required. Usage: npm run generate/,
    );
    expect(() => parseArgs(['--dataset', 'clicks', '--rows', 'ten'])).toThrow(
      '--rows must be a positive whole number, got "ten"',
    );
    expect(() => parseArgs(['--dataset', 'clicks', '--rows', '1', '--format', 'xml'])).toThrow(
      '--format must be ndjson, csv or json, got "xml"',
    );
    expect(() => parseArgs(['--verbose'])).toThrow('Unknown argument "--verbose"');
    expect(() => loadDataset('nope')).toThrow(/Cannot read dataset "nope".*Fix: pass --dataset/);
  });
});
