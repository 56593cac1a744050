/**
 * The work of the validate Lambda, independent of Lambda and of S3 (storage is the {@link ObjectStore} seam):
 * stream one landed file, check every record against its dataset, write valid rows to staging and rejected rows (with
 * a reason each) to quarantine, or quarantine the whole file when it cannot be read.
 */
import { posix } from 'node:path';
import type { DatasetConfig } from '../../config/schema';
import {
  quarantinePrefix,
  REJECTED_ROWS_FILE,
  STAGED_METADATA,
  STAGED_ROWS_FILE,
  stagingPrefix,
  type ValidateInput,
  type ValidateOutput,
} from './contract';
import { type DecodeInfo, decodeText } from './decode';
import type { ObjectStore, ObjectWriterOptions } from './object-store';
import {
  type CsvLineHandler,
  CsvReader,
  type CsvRecordHandler,
  JsonDocumentReader,
  NdjsonReader,
  type RecordReader,
  UnreadableFileError,
} from './readers';
import { type CsvRecordMapper, RecordValidator } from './record-validator';

export type FileFormat = 'ndjson' | 'json' | 'csv';

/** How many rejection reasons are repeated in the output (the full list is in the rejected-rows file). */
const REASONS_IN_OUTPUT = 3;
const MAX_REASON_CHARS = 2000;
/** An object without members (`{}`, ` { }`): metadata is appended without a leading comma. */
const EMPTY_OBJECT = /^\s*\{\s*\}/;

export interface ValidateFileOptions {
  readonly store: ObjectStore;
  readonly input: ValidateInput;
  readonly dataset: DatasetConfig;
  /** Bucket receiving staging/ and quarantine/. */
  readonly artifactsBucket: string;
  /** Clock for the ingest date of keys without `ingest_date=`. @default - the system clock */
  readonly now?: () => Date;
  /** When the file must be done (the invocation's time left, minus a margin). @default - no time budget */
  readonly deadline?: Date;
  /** Part size and concurrency of the outputs. @default - see ObjectWriter */
  readonly writerOptions?: ObjectWriterOptions;
}

export interface ValidateFileResult {
  readonly output: ValidateOutput;
  readonly format: FileFormat;
  readonly decode: DecodeInfo;
  /** Parts of the staged rows object (0 when none was written). */
  readonly stagedParts: number;
}

/** The ingest date from the key's `ingest_date=YYYY-MM-DD` segment, if it has a valid one. */
export function ingestDateOf(key: string): string | undefined {
  const match = /(?:^|\/)ingest_date=(\d{4}-\d{2}-\d{2})(?:\/|$)/.exec(key);
  if (match === null) return undefined;
  const date = new Date(`${match[1]}T00:00:00Z`);
  return !Number.isNaN(date.getTime()) && date.toISOString().startsWith(match[1]) ? match[1] : undefined;
}

/** The format from the key's extension (`.ndjson`, `.jsonl`, `.json`, `.csv`, optionally `.gz`), else the dataset's. */
export function formatOf(key: string, fallback: FileFormat): FileFormat {
  const name = posix.basename(key).toLowerCase().replace(/\.gz$/, '');
  if (name.endsWith('.ndjson') || name.endsWith('.jsonl')) return 'ndjson';
  if (name.endsWith('.json')) return 'json';
  if (name.endsWith('.csv')) return 'csv';
  return fallback;
}

function summarize(count: number, total: number, reasons: readonly string[]): string {
  const lead = count === total ? `all ${total} rows rejected` : `${count} of ${total} rows rejected`;
  const text = `${lead}; first: ${reasons.join(' | ')}`;
  return text.length > MAX_REASON_CHARS ? `${text.slice(0, MAX_REASON_CHARS - 3)}...` : text;
}

export async function validateFile(options: ValidateFileOptions): Promise<ValidateFileResult> {
  const { store, input, dataset, artifactsBucket } = options;
  const ingestDate = ingestDateOf(input.key) ?? (options.now?.() ?? new Date()).toISOString().slice(0, 10);
  const format = formatOf(input.key, dataset.format);
  const staging = stagingPrefix(dataset.name, input.runId);
  const quarantine = quarantinePrefix(dataset.name, ingestDate, input.runId);
  const rejectedKey = quarantine + REJECTED_ROWS_FILE;
  const base = {
    dataset: dataset.name,
    runId: input.runId,
    ingestDate,
    stagingBucket: artifactsBucket,
    stagingPrefix: staging,
  };

  const staged = store.createWriter(
    artifactsBucket,
    staging + STAGED_ROWS_FILE,
    'application/x-ndjson',
    options.writerOptions,
  );
  const rejected = store.createWriter(artifactsBucket, rejectedKey, 'application/x-ndjson', options.writerOptions);
  const validator = new RecordValidator(dataset);
  const metadataTail = `"${STAGED_METADATA.ingestDate}":"${ingestDate}","${STAGED_METADATA.record}":`;
  const commaTail = `,${metadataTail}`;
  let rowsTotal = 0;
  let rowsValid = 0;
  let rowsRejected = 0;
  const firstReasons: string[] = [];
  let sawCarriageReturn = false;

  const reject = (reason: string, raw: string) => {
    rowsRejected++;
    if (firstReasons.length < REASONS_IN_OUTPUT) firstReasons.push(reason);
    rejected.write(`${JSON.stringify({ record: rowsTotal, reason, raw })}\n`);
  };

  // Built only for rejections: most records are valid.
  const jsonLabel = (line: number) => (format === 'ndjson' ? `line ${line}` : `record ${rowsTotal} (line ${line})`);
  const onJsonRecord = (raw: string, line: number) => {
    rowsTotal++;
    let value: unknown;
    try {
      value = JSON.parse(raw);
    } catch (error) {
      reject(`${jsonLabel(line)}: not valid JSON (${(error as Error).message})`, raw);
      return;
    }
    const problems = validator.checkObject(value);
    if (problems !== undefined) {
      reject(`${jsonLabel(line)}: ${problems.join('; ')}`, raw);
      return;
    }
    rowsValid++;
    // The producer's own text is staged (cheaper than re-serializing), unless it spans lines.
    // Staged rows must be one per line (Spark splits on CR too): re-serialize the rare records holding line breaks.
    const spansLines = (format !== 'ndjson' && raw.indexOf('\n') >= 0) || (sawCarriageReturn && raw.indexOf('\r') >= 0);
    const text = spansLines ? JSON.stringify(value) : raw;
    // The closing brace, by hand: it is nearly always the last character (lastIndexOf is a runtime call).
    let close = text.length - 1;
    while (close > 0 && text.charCodeAt(close) !== 125) close--;
    // An object with members nearly always starts `{"`; only the others are tested for being empty.
    const empty = text.charCodeAt(1) !== 34 && EMPTY_OBJECT.test(text);
    staged.writeWithTail(text, text.length - close, `${empty ? metadataTail : commaTail}${rowsTotal}}\n`);
  };

  let mapper: CsvRecordMapper | undefined;
  const writeStaged = (piece: string) => staged.write(piece);
  // Most CSV records are taken whole, as their line, by the mapper compiled for the header.
  const onCsvLine: CsvLineHandler = (raw) => {
    if (mapper === undefined) return false;
    const json = mapper.lineToJson(raw);
    if (json === undefined) return false;
    rowsTotal++;
    rowsValid++;
    staged.writeWithTail(json, 0, `${commaTail}${rowsTotal}}\n`);
    return true;
  };
  const onCsvRecord: CsvRecordHandler = (record, line, raw) => {
    if (mapper === undefined) {
      if ('problem' in record) throw new UnreadableFileError(`the CSV header (line ${line}) ${record.problem}`);
      const bound = validator.forCsvHeader(record.fields);
      if ('headerProblem' in bound) {
        throw new UnreadableFileError(`${bound.headerProblem}. Fix: the first line must name the dataset's columns`);
      }
      mapper = bound;
      return;
    }
    rowsTotal++;
    if ('problem' in record) {
      reject(`line ${line}: ${record.problem}`, raw);
      return;
    }
    const problems = mapper.writeJson(record.fields, writeStaged);
    if (problems !== undefined) {
      reject(`line ${line}: ${problems.join('; ')}`, raw);
      return;
    }
    rowsValid++;
    staged.write(`${commaTail}${rowsTotal}}\n`);
  };

  const reader: RecordReader =
    format === 'csv'
      ? new CsvReader(onCsvRecord, onCsvLine)
      : format === 'json'
        ? new JsonDocumentReader(onJsonRecord)
        : new NdjsonReader(onJsonRecord);
  const decode: DecodeInfo = { gzip: false, bytesIn: 0, bytesOut: 0 };

  try {
    const source = await store.read({ bucket: input.bucket, key: input.key, versionId: input.versionId });
    for await (const text of decodeText(source, decode)) {
      // One scan per chunk spares a scan per record in the common case of a file without CR.
      sawCarriageReturn ||= text.indexOf('\r') >= 0;
      reader.push(text);
      if (staged.needsDrain) await staged.drain();
      if (rejected.needsDrain) await rejected.drain();
    }
    reader.end();
  } catch (error) {
    await Promise.all([staged.abort(), rejected.abort()]);
    if (!(error instanceof UnreadableFileError)) throw error;
    const quarantineKey = quarantine + posix.basename(input.key);
    await store.copy(input, { bucket: artifactsBucket, key: quarantineKey });
    await store.put(
      artifactsBucket,
      `${quarantineKey}.reason.json`,
      `${JSON.stringify({ reason: error.message, source: input, dataset: dataset.name, runId: input.runId }, null, 2)}\n`,
      'application/json',
    );
    return {
      output: {
        status: 'UNREADABLE',
        ...base,
        rowsTotal: 0,
        rowsValid: 0,
        rowsRejected: 0,
        stagedBytes: 0,
        quarantineKey,
        reason: error.message,
      },
      format,
      decode,
      stagedParts: 0,
    };
  }

  const [stagedSummary, rejectedSummary] = await Promise.all([staged.complete(), rejected.complete()]);
  const counts = { rowsTotal, rowsValid, rowsRejected, stagedBytes: stagedSummary?.bytes ?? 0 };
  const rejections =
    rejectedSummary === undefined
      ? {}
      : { quarantineKey: rejectedKey, reason: summarize(rowsRejected, rowsTotal, firstReasons) };
  const output: ValidateOutput =
    rowsValid > 0
      ? { status: 'VALID', ...base, ...counts, ...rejections }
      : {
          status: 'NO_VALID_ROWS',
          ...base,
          ...counts,
          ...rejections,
          reason: rowsTotal === 0 ? 'the file holds no records' : (rejections.reason ?? ''),
        };
  return { output, format, decode, stagedParts: stagedSummary?.parts ?? 0 };
}
