/**
 * The work of the validate Lambda, independent of Lambda and of S3 (storage is the {@link ObjectStore} seam):
 * stream one landed file, check every record against its dataset, write valid rows to staging and rejected rows (with
 * a reason each) to quarantine, or quarantine the whole file when it cannot be read.
 *
 * Every file is bounded ({@link ValidationLimits}, and a deadline): inflated size and ratio, plain size, record length,
 * rejected rows, time. At a limit reading stops at once, the outputs are aborted (no partial staging, no partial
 * rejected-rows file) and the whole file is quarantined with a reason naming the limit, the value reached, the counts
 * and the config key to raise.
 */
import { posix } from 'node:path';
import type { DatasetConfig } from '../../config/schema';
import {
  quarantinePrefix,
  REJECTED_ROWS_FILE,
  STAGED_METADATA,
  STAGED_ROWS_FILE,
  stagingPrefix,
  VALIDATION_CONFIG_KEYS,
  VALIDATION_DEFAULTS,
  type ValidateInput,
  type ValidateOutput,
  type ValidationLimits,
} from './contract';
import { type DecodeInfo, decodeText } from './decode';
import type { ObjectStore, ObjectWriterOptions } from './object-store';
import {
  type CsvLineHandler,
  CsvReader,
  type CsvRecordHandler,
  JsonDocumentReader,
  LimitReachedError,
  NdjsonReader,
  type RecordReader,
  UnreadableFileError,
} from './readers';
import { type DimensionCount, DimensionCounts } from './dimension-counts';
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
  /** Clock for the ingest date of keys without `ingest_date=`, and for the deadline. @default - the system clock */
  readonly now?: () => Date;
  /** What one file may cost. @default VALIDATION_DEFAULTS */
  readonly limits?: ValidationLimits;
  /**
   * When reading must stop (epoch milliseconds, compared with `now`), leaving the caller time to write the
   * quarantine: a file not read by then is quarantined whole with a "time budget" reason. The handler passes its
   * invocation's remaining time less `etl.validation.timeBudgetMarginSeconds`. @default - no deadline
   */
  readonly deadline?: number;
  /** Part size and concurrency of the outputs. @default - see ObjectWriter */
  readonly writerOptions?: ObjectWriterOptions;
}

export interface ValidateFileResult {
  readonly output: ValidateOutput;
  readonly format: FileFormat;
  readonly decode: DecodeInfo;
  /** Parts of the staged rows object (0 when none was written). */
  readonly stagedParts: number;
  /** Accepted rows by allowed metric dimension (empty when the dataset has none, or nothing was staged). */
  readonly dimensionCounts: readonly DimensionCount[];
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

/** A reason as it goes into the output (the state's payload is limited; the full reason is in `.reason.json`). */
function cut(text: string): string {
  return text.length > MAX_REASON_CHARS ? `${text.slice(0, MAX_REASON_CHARS - 3)}...` : text;
}

function summarize(count: number, total: number, reasons: readonly string[]): string {
  const lead = count === total ? `all ${total} rows rejected` : `${count} of ${total} rows rejected`;
  return cut(`${lead}; first: ${reasons.join(' | ')}`);
}

export async function validateFile(options: ValidateFileOptions): Promise<ValidateFileResult> {
  const { store, input, dataset, artifactsBucket, deadline } = options;
  const limits = options.limits ?? VALIDATION_DEFAULTS;
  const clock = options.now ?? (() => new Date());
  const startedAt = clock().getTime();
  const ingestDate = ingestDateOf(input.key) ?? new Date(startedAt).toISOString().slice(0, 10);
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
  const dimensions = new DimensionCounts(dataset);
  const countDimensions = dimensions.active;
  const metadataTail = `"${STAGED_METADATA.ingestDate}":"${ingestDate}","${STAGED_METADATA.record}":`;
  const commaTail = `,${metadataTail}`;
  let rowsTotal = 0;
  let rowsValid = 0;
  let rowsRejected = 0;
  const firstReasons: string[] = [];
  let sawCarriageReturn = false;

  const reject = (reason: string, raw: string) => {
    rowsRejected++;
    if (rowsRejected > limits.maxRejectedRows) {
      throw new LimitReachedError(
        'maxRejectedRows',
        `more than ${limits.maxRejectedRows} rows rejected (${VALIDATION_CONFIG_KEYS.maxRejectedRows}): record ${rowsTotal} was rejection ${rowsRejected} (${reason.length > 300 ? `${reason.slice(0, 297)}...` : reason}); first: ${firstReasons.join(' | ')}. A file this wrong is quarantined whole rather than row by row. Fix: correct the file (format, columns) and land it again; raise ${VALIDATION_CONFIG_KEYS.maxRejectedRows} only if so many rejections are expected`,
      );
    }
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
    if (countDimensions) dimensions.countObject(value);
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
    if (countDimensions) dimensions.countUnquotedCsvLine(raw);
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
      dimensions.bindCsvHeader(record.fields);
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
    if (countDimensions) dimensions.countCsvFields(record.fields);
    staged.write(`${commaTail}${rowsTotal}}\n`);
  };

  const reader: RecordReader =
    format === 'csv'
      ? new CsvReader(onCsvRecord, onCsvLine, limits.maxRecordChars)
      : format === 'json'
        ? new JsonDocumentReader(onJsonRecord, limits.maxRecordChars)
        : new NdjsonReader(onJsonRecord, limits.maxRecordChars);
  const decode: DecodeInfo = { gzip: false, bytesIn: 0, bytesOut: 0 };
  const outOfTime = () =>
    new LimitReachedError(
      'timeBudget',
      `did not finish within the time budget: reading stopped after ${((clock().getTime() - startedAt) / 1000).toFixed(1)} s, at ${decode.bytesOut} bytes of text (${decode.bytesIn} bytes of the object${input.size === undefined ? '' : ` of ${input.size}`}). The budget is the function's remaining time less ${VALIDATION_CONFIG_KEYS.timeBudgetMarginSeconds}, kept to write this quarantine. Fix: split the file into smaller ones and land them again`,
    );

  try {
    if (deadline !== undefined && clock().getTime() >= deadline) throw outOfTime();
    const source = await store.read({ bucket: input.bucket, key: input.key, versionId: input.versionId });
    for await (const text of decodeText(source, decode, { limits, size: input.size })) {
      // One scan per chunk spares a scan per record in the common case of a file without CR.
      sawCarriageReturn ||= text.indexOf('\r') >= 0;
      reader.push(text);
      if (staged.needsDrain) await staged.drain();
      if (rejected.needsDrain) await rejected.drain();
      // Checked per chunk (64 KiB or so): the time of a few records, so the budget is kept to within milliseconds.
      if (deadline !== undefined && clock().getTime() >= deadline) throw outOfTime();
    }
    reader.end();
  } catch (error) {
    await Promise.all([staged.abort(), rejected.abort()]);
    if (!(error instanceof UnreadableFileError)) throw error;
    const limit = error instanceof LimitReachedError ? error.limit : undefined;
    // The counts where reading stopped: the rows read are not staged, the file is quarantined whole.
    const reason =
      limit === undefined
        ? error.message
        : `${error.message}. Read ${rowsTotal} records (${rowsValid} valid, ${rowsRejected} rejected) when reading stopped; the whole file is quarantined and nothing of it is staged`;
    const quarantineKey = quarantine + posix.basename(input.key);
    await store.copy(input, { bucket: artifactsBucket, key: quarantineKey });
    const details = {
      reason,
      ...(limit === undefined
        ? {}
        : {
            limit,
            limits: { ...limits, deadline: deadline === undefined ? undefined : new Date(deadline).toISOString() },
            counts: {
              rowsRead: rowsTotal,
              rowsValid,
              rowsRejected,
              bytesRead: decode.bytesIn,
              textBytes: decode.bytesOut,
            },
          }),
      source: input,
      dataset: dataset.name,
      runId: input.runId,
    };
    await store.put(
      artifactsBucket,
      `${quarantineKey}.reason.json`,
      `${JSON.stringify(details, null, 2)}\n`,
      'application/json',
    );
    return {
      output: {
        status: 'UNREADABLE',
        ...base,
        rowsTotal: limit === undefined ? 0 : rowsTotal,
        rowsValid: 0,
        rowsRejected: limit === undefined ? 0 : rowsRejected,
        stagedBytes: 0,
        quarantineKey,
        reason: cut(reason),
        ...(limit === undefined ? {} : { limit }),
      },
      format,
      decode,
      stagedParts: 0,
      dimensionCounts: [],
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
  return { output, format, decode, stagedParts: stagedSummary?.parts ?? 0, dimensionCounts: dimensions.results() };
}
