/**
 * Deterministic sample files for a dataset, of any size, streamed (memory stays flat):
 *
 *   npm run generate -- --dataset impressions --rows 100000 [--format ndjson|csv|json] [--gzip] [--seed 7]
 *                       [--bad-every 50] [--date 2026-11-22] [--out impressions.ndjson]
 *
 * The same seed gives the same bytes. Values are realistic for the ad-tracking examples (ids, campaigns, prices,
 * countries ...) and pass the dataset's rules; `--bad-every K` makes every K-th row invalid in one way (a wrong type,
 * a missing required value, an enum or pattern violation, an unknown column, a malformed record), so a validate run
 * must reject exactly floor(rows / K) rows. Clicks generated with the same seed point at impression ids that an
 * impressions file with the same seed contains.
 */
import { createWriteStream, readFileSync } from 'node:fs';
import * as path from 'node:path';
import { once } from 'node:events';
import type { Writable } from 'node:stream';
import { createGzip } from 'node:zlib';
import { type ColumnConfig, type DatasetConfig, datasetSchema } from '../config/schema';

export type SampleFormat = 'ndjson' | 'csv' | 'json';

export interface SampleOptions {
  readonly dataset: DatasetConfig;
  readonly rows: number;
  /** @default - the dataset's format */
  readonly format?: SampleFormat;
  /** @default 1 */
  readonly seed?: number;
  /** Make every K-th row invalid. @default - every row valid */
  readonly badEvery?: number;
  /** The day the events happen on (YYYY-MM-DD). @default '2026-11-22' */
  readonly date?: string;
}

/** Rows per write: big enough to amortize stream overhead, small enough to keep memory flat. */
const BATCH_ROWS = 2000;
const COUNTRIES = ['US', 'US', 'US', 'GB', 'DE', 'FR', 'CA', 'JP', 'BR', 'IN', 'AU', 'ES', 'IT', 'NL', 'SE', 'MX'];
const LANDING_PATHS = ['shoes', 'jackets', 'phones', 'laptops', 'headphones', 'watches', 'bikes', 'sofas'];

/** mulberry32: a small, fast, well-distributed 32-bit PRNG; plenty for sample data. */
export function prng(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** FNV-1a of a text, to derive independent seeds from names. */
function hash(text: string): number {
  let value = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) value = Math.imul(value ^ text.charCodeAt(i), 0x01000193) >>> 0;
  return value;
}

type Piece = { readonly chars: string; readonly min: number; readonly max: number };

/**
 * Compiles the simple regular expressions used by dataset patterns (literals, escapes, `[a-z0-9]` classes,
 * `{n}`, `{n,m}`, `?`, `+`, `*`, anchors) into a generator of matching strings.
 */
export function patternGenerator(pattern: string): ((random: () => number) => string) | undefined {
  const pieces: Piece[] = [];
  let i = 0;
  const source = pattern.replace(/^\^/, '').replace(/\$$/, '');
  while (i < source.length) {
    let chars: string;
    const char = source[i];
    if (char === '[') {
      const close = source.indexOf(']', i);
      if (close < 0 || source[i + 1] === '^') return undefined;
      chars = '';
      const body = source.slice(i + 1, close);
      for (let j = 0; j < body.length; j++) {
        if (body[j + 1] === '-' && j + 2 < body.length) {
          for (let code = body.charCodeAt(j); code <= body.charCodeAt(j + 2); code++)
            chars += String.fromCharCode(code);
          j += 2;
        } else chars += body[j];
      }
      i = close + 1;
    } else if (char === '\\') {
      const escaped = source[i + 1];
      chars = escaped === 'd' ? '0123456789' : escaped;
      i += 2;
    } else if ('()|.'.includes(char)) {
      return undefined; // groups, alternation and wildcards are beyond this small generator
    } else {
      chars = char;
      i++;
    }
    let min = 1;
    let max = 1;
    const quantifier = /^(\{(\d+)(?:,(\d*))?\}|\?|\+|\*)/.exec(source.slice(i));
    if (quantifier) {
      if (quantifier[2] !== undefined) {
        min = Number(quantifier[2]);
        max = quantifier[3] === undefined ? min : quantifier[3] === '' ? min + 8 : Number(quantifier[3]);
      } else if (quantifier[1] === '?') [min, max] = [0, 1];
      else if (quantifier[1] === '+') [min, max] = [1, 8];
      else [min, max] = [0, 8];
      i += quantifier[0].length;
    }
    pieces.push({ chars, min, max });
  }
  return (random) => {
    let out = '';
    for (const piece of pieces) {
      const count = piece.min + Math.floor(random() * (piece.max - piece.min + 1));
      for (let n = 0; n < count; n++) out += piece.chars[Math.floor(random() * piece.chars.length)];
    }
    return out;
  };
}

type Value = string | number | boolean | null;
/** A generated row: values in column order, plus extra keys for bad rows. */
interface Row {
  readonly values: Value[];
  /** Columns left out (JSON) for the "missing" bad row. */
  readonly omit?: number;
  readonly extra?: [string, Value];
  /** A malformed record: the text is written as is. */
  readonly malformed?: boolean;
}

type ColumnGenerator = (random: () => number, row: number, eventTime: Date) => Value;

function pick<T>(random: () => number, values: readonly T[]): T {
  return values[Math.floor(random() * values.length)];
}

/** Picks enum values with a skew (earlier values are more common), as real traffic is. */
function skewedPick(random: () => number, values: readonly string[]): string {
  return values[Math.floor(random() ** 2 * values.length)];
}

function columnGenerator(dataset: DatasetConfig, column: ColumnConfig, seed: number, rows: number): ColumnGenerator {
  const name = column.name;
  const isKey = dataset.primaryKey.includes(name);
  const decimal = /^decimal\((\d+),(\d+)\)$/.exec(column.type);
  if (column.enum) return (random) => skewedPick(random, column.enum!);
  if (column.pattern !== undefined) {
    if (name === 'country') return (random) => pick(random, COUNTRIES);
    const generate = patternGenerator(column.pattern);
    if (generate === undefined) {
      throw new Error(
        `Column "${name}" of dataset ${dataset.name} has pattern ${column.pattern}, which the generator cannot produce. Fix: extend patternGenerator in scripts/generate-sample.ts`,
      );
    }
    // Ids are a function of (seed, pattern, index), so other datasets can reference them (clicks -> impressions).
    return (random, row) => {
      const index = isKey ? row : Math.floor(random() * rows);
      return generate(prng(hash(`${seed}:${column.pattern}:${index}`)));
    };
  }
  switch (column.type) {
    case 'timestamp':
      return (_random, _row, eventTime) => eventTime.toISOString();
    case 'date':
      return (_random, _row, eventTime) => eventTime.toISOString().slice(0, 10);
    case 'bigint':
      return name.includes('campaign')
        ? (random) => 1_000_000 + Math.floor(random() ** 1.5 * 400)
        : (random) => 1e9 + Math.floor(random() * 1e9);
    case 'integer':
      return name.includes('creative')
        ? (random) => 10_000 + Math.floor(random() * 2_500)
        : (random) => Math.floor(random() * 100_000);
    case 'double':
      return name.includes('score')
        ? (random) => Math.round(random() * 1000) / 1000
        : (random) => Math.round(random() * 1e6) / 100;
    case 'boolean':
      if (name.startsWith('is_')) return (random) => random() < 0.02;
      return (random) => random() < 0.7;
    case 'string':
      if (name.endsWith('url')) {
        return (random) =>
          `https://shop.example.com/${pick(random, LANDING_PATHS)}?utm_source=ads&id=${Math.floor(random() * 1e6)}`;
      }
      return (random) => `${name}-${Math.floor(random() * 1000)}`;
    default: {
      if (decimal === null) throw new Error(`Column "${name}" has type ${column.type}, unknown to the generator`);
      const scale = Number(decimal[2]);
      const integerDigits = Number(decimal[1]) - scale;
      // Prices per impression are fractions of a cent; per click, cents to dollars.
      const max =
        name.includes('bid') || name.includes('price')
          ? 0.02
          : name.includes('cost')
            ? 2.5
            : Math.min(10 ** integerDigits - 1, 1000);
      return (random) => Number((0.0001 + random() * max).toFixed(scale));
    }
  }
}

/** A deterministic row factory for one dataset. */
export function rowGenerator(options: SampleOptions): (index: number) => Row {
  const { dataset, rows } = options;
  const seed = options.seed ?? 1;
  const day = Date.parse(`${options.date ?? '2026-11-22'}T00:00:00Z`);
  const generators = dataset.columns.map((column) => columnGenerator(dataset, column, seed, rows));
  const nullable = dataset.columns.map((column) => column.nullable && !dataset.primaryKey.includes(column.name));
  const badEvery = options.badEvery;
  const format = options.format ?? dataset.format;
  return (index) => {
    const random = prng(hash(`${seed}:${dataset.name}:${index}`));
    // Events spread over the day in row order, with jitter, as a day's export would be.
    const eventTime = new Date(day + Math.min(86_399_999, Math.floor(((index + random()) / rows) * 86_400_000)));
    const values = generators.map((generate, column) => {
      const value = generate(random, index, eventTime);
      return nullable[column] && random() < 0.05 ? null : value;
    });
    if (badEvery === undefined || (index + 1) % badEvery !== 0) return { values };
    return badRow(dataset, values, Math.floor((index + 1) / badEvery) % 5, format);
  };
}

/** Breaks a valid row in one of five ways, each of which makes exactly this row rejected. */
function badRow(dataset: DatasetConfig, values: Value[], kind: number, format: SampleFormat): Row {
  const broken = [...values];
  const find = (test: (column: ColumnConfig) => boolean) => dataset.columns.findIndex(test);
  switch (kind) {
    case 0: {
      const numeric = find((column) => column.type !== 'string' && column.type !== 'boolean');
      broken[Math.max(numeric, 0)] = numeric >= 0 ? 'abc' : 12345;
      return { values: broken };
    }
    case 1: {
      const required = find((column) => !column.nullable);
      broken[required] = null;
      return { values: broken, omit: required };
    }
    case 2: {
      const constrained = find((column) => column.enum !== undefined || column.pattern !== undefined);
      if (constrained < 0) return badRow(dataset, values, 0, format);
      broken[constrained] = dataset.columns[constrained].enum ? 'not_a_listed_value' : 'does not match!';
      return { values: broken };
    }
    case 3:
      return { values: broken, extra: ['unexpected_column', 'surprise'] };
    default:
      // A truncated JSON array element would break the array itself, so arrays get a wrong type instead.
      return format === 'json' ? badRow(dataset, values, 0, format) : { values: broken, malformed: true };
  }
}

function csvField(value: Value): string {
  if (value === null) return '';
  const text = String(value);
  return /[",\r\n]/.test(text) || text === '' ? `"${text.replace(/"/g, '""')}"` : text;
}

function renderRow(dataset: DatasetConfig, row: Row, format: SampleFormat): string {
  if (format === 'csv') {
    const fields = row.values.map(csvField);
    if (row.extra) fields.push(csvField(row.extra[1]));
    const line = fields.join(',');
    // A quote inside an unquoted field is malformed CSV.
    return row.malformed ? `${line}x"y` : line;
  }
  const record: Record<string, Value> = {};
  row.values.forEach((value, column) => {
    if (column !== row.omit) record[dataset.columns[column].name] = value;
  });
  if (row.extra) record[row.extra[0]] = row.extra[1];
  const text = JSON.stringify(record);
  return row.malformed ? text.slice(0, Math.floor(text.length / 2)) : text;
}

/** Writes a sample file to `out`, honouring backpressure; resolves when all rows are written (not closed). */
export async function writeSample(options: SampleOptions, out: Writable): Promise<void> {
  const format = options.format ?? options.dataset.format;
  const next = rowGenerator(options);
  const write = async (text: string) => {
    if (!out.write(text)) await once(out, 'drain');
  };
  if (format === 'csv') await write(`${options.dataset.columns.map((column) => column.name).join(',')}\r\n`);
  if (format === 'json') await write('[\n');
  const separator = format === 'csv' ? '\r\n' : format === 'json' ? ',\n' : '\n';
  for (let start = 0; start < options.rows; start += BATCH_ROWS) {
    const lines: string[] = [];
    for (let index = start; index < Math.min(start + BATCH_ROWS, options.rows); index++) {
      lines.push(renderRow(options.dataset, next(index), format));
    }
    const lead = format === 'json' && start > 0 ? separator : '';
    await write(lead + lines.join(separator) + (format === 'json' ? '' : separator));
  }
  if (format === 'json') await write('\n]\n');
}

/** Reads and validates `config/datasets/<name>.json`. */
export function loadDataset(name: string, configDir = path.resolve(__dirname, '..', 'config')): DatasetConfig {
  const file = path.join(configDir, 'datasets', `${name}.json`);
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(file, 'utf8'));
  } catch (error) {
    throw new Error(
      `Cannot read dataset ${JSON.stringify(name)} from ${file}: ${(error as Error).message}. Fix: pass --dataset with a file name from config/datasets/`,
    );
  }
  return datasetSchema.parse(raw);
}

interface CliOptions {
  dataset: string;
  rows: number;
  format?: SampleFormat;
  gzip: boolean;
  seed: number;
  badEvery?: number;
  date?: string;
  out?: string;
}

const USAGE =
  'Usage: npm run generate -- --dataset <name> --rows <N> [--format ndjson|csv|json] [--gzip] [--seed S] [--bad-every K] [--date YYYY-MM-DD] [--out FILE]';

export function parseArgs(argv: readonly string[]): CliOptions {
  const options: Partial<CliOptions> & { gzip: boolean; seed: number } = { gzip: false, seed: 1 };
  const positiveInt = (flag: string, value: string | undefined) => {
    if (value === undefined || !/^\d+$/.test(value) || Number(value) < 1) {
      throw new Error(`${flag} must be a positive whole number, got ${JSON.stringify(value)}. ${USAGE}`);
    }
    return Number(value);
  };
  for (let i = 0; i < argv.length; i++) {
    const flag = argv[i];
    const value = argv[i + 1];
    switch (flag) {
      case '--dataset':
        options.dataset = value;
        i++;
        break;
      case '--rows':
        options.rows = value === '0' ? 0 : positiveInt(flag, value);
        i++;
        break;
      case '--format':
        if (value !== 'ndjson' && value !== 'csv' && value !== 'json') {
          throw new Error(`--format must be ndjson, csv or json, got ${JSON.stringify(value)}. ${USAGE}`);
        }
        options.format = value;
        i++;
        break;
      case '--gzip':
        options.gzip = true;
        break;
      case '--seed':
        options.seed = positiveInt(flag, value);
        i++;
        break;
      case '--bad-every':
        options.badEvery = positiveInt(flag, value);
        i++;
        break;
      case '--date':
        if (value === undefined || !/^\d{4}-\d{2}-\d{2}$/.test(value)) {
          throw new Error(`--date must be YYYY-MM-DD, got ${JSON.stringify(value)}. ${USAGE}`);
        }
        options.date = value;
        i++;
        break;
      case '--out':
        options.out = value;
        i++;
        break;
      default:
        throw new Error(`Unknown argument ${JSON.stringify(flag)}. ${USAGE}`);
    }
  }
  if (options.dataset === undefined || options.rows === undefined) {
    throw new Error(`--dataset and --rows are required. ${USAGE}`);
  }
  return options as CliOptions;
}

async function main(): Promise<void> {
  const cli = parseArgs(process.argv.slice(2));
  const dataset = loadDataset(cli.dataset);
  const sink = cli.out === undefined ? process.stdout : createWriteStream(cli.out);
  const gzip = cli.gzip ? createGzip() : undefined;
  gzip?.pipe(sink, { end: sink !== process.stdout });
  await writeSample(
    { dataset, rows: cli.rows, format: cli.format, seed: cli.seed, badEvery: cli.badEvery, date: cli.date },
    gzip ?? sink,
  );
  if (gzip) {
    gzip.end();
    await once(gzip, 'end');
  }
  if (sink !== process.stdout) {
    sink.end();
    await once(sink, 'finish');
  }
}

// Run only as the entry script (not when bundled into, or imported by, the benchmark).
if (require.main === module && /generate-sample\.[cm]?[jt]s$/.test(process.argv[1] ?? '')) {
  main().catch((error: Error) => {
    process.stderr.write(`${error.message}\n`);
    process.exit(1);
  });
}
