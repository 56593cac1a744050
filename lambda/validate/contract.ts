/**
 * The contract between the state machine and the validate Lambda: what it is called with, what it returns, and where
 * it writes. The Orchestration stack builds its states from these names; change them only together with it.
 *
 * A rejected row or an unreadable file is NOT an error: it is quarantined and reported in the output (`status`,
 * `quarantineKey`, `reason`). Only the errors below are thrown:
 * - `InvalidInputError` (lambda/shared/errors.ts): the event itself is wrong (unknown dataset, key outside
 *   `<dataset>/`, malformed fields). Never worth retrying.
 * - anything else (S3 throttling, network, permissions): infrastructure failure, worth a Retry in the state machine.
 */
import * as z from 'zod/mini';

/**
 * Environment variables of the function, read at cold start. `artifactsBucket` is required; the limits default to
 * {@link VALIDATION_DEFAULTS} when unset (the Orchestration stack always sets them from `etl.validation`), and a
 * malformed value fails the cold start with the variable, the value and the fix.
 */
export const VALIDATE_ENV = {
  /** Bucket that receives `staging/...` and `quarantine/...` (the artifacts bucket). */
  artifactsBucket: 'ARTIFACTS_BUCKET',
  /** ARN of the stage B state machine, started when a run is staged and no live loop holds its dataset. */
  batchStateMachineArn: 'BATCH_STATE_MACHINE_ARN',
  /** Seconds a newly started stage B loop has to take its dataset's lease (BatchSettings.startLeaseSeconds). */
  startLeaseSeconds: 'BATCH_START_LEASE_SECONDS',
  maxInflatedBytes: 'VALIDATE_MAX_INFLATED_BYTES',
  maxInflationRatio: 'VALIDATE_MAX_INFLATION_RATIO',
  maxUncompressedObjectBytes: 'VALIDATE_MAX_UNCOMPRESSED_OBJECT_BYTES',
  maxRejectedRows: 'VALIDATE_MAX_REJECTED_ROWS',
  maxRecordChars: 'VALIDATE_MAX_RECORD_CHARS',
  timeBudgetMarginSeconds: 'VALIDATE_TIME_BUDGET_MARGIN_SECONDS',
} as const;

/**
 * What one file may cost. Beyond any limit the file is read no further: it is quarantined whole (status UNREADABLE,
 * `limit` naming the config key) and nothing of it is staged. Configured per environment in `etl.validation`
 * (config/schema.ts explains each default).
 */
export interface ValidationLimits {
  /** Text a gzip file may inflate to, in bytes. */
  readonly maxInflatedBytes: number;
  /** Inflated bytes per compressed byte read, checked once {@link RATIO_CHECK_AFTER_BYTES} are inflated. */
  readonly maxInflationRatio: number;
  /** Size of a file that is not compressed, in bytes. */
  readonly maxUncompressedObjectBytes: number;
  /** Rejected rows written for one file; one more and the file is quarantined whole. */
  readonly maxRejectedRows: number;
  /** Characters of one record (an NDJSON line, a JSON array element, a CSV record); at least as many bytes. */
  readonly maxRecordChars: number;
}

/** The handler's settings: the limits, and the time kept back from the invocation's to write the quarantine. */
export interface ValidationSettings extends ValidationLimits {
  readonly timeBudgetMarginSeconds: number;
}

/** The defaults of `etl.validation` (config/schema.ts says why each value). */
export const VALIDATION_DEFAULTS: ValidationSettings = {
  maxInflatedBytes: 10 * 1024 ** 3,
  maxInflationRatio: 100,
  maxUncompressedObjectBytes: 10 * 1024 ** 3,
  maxRejectedRows: 10_000,
  maxRecordChars: 1024 * 1024,
  timeBudgetMarginSeconds: 60,
};

/**
 * The inflation ratio is checked only once this much text is out: a small file may compress very well (a header and
 * a few repeated rows) without being refused, while a bomb (deflate reaches ~1000x) is stopped after ~16 KiB of input.
 */
export const RATIO_CHECK_AFTER_BYTES = 16 * 1024 * 1024;

/** The config key of each setting, named in reasons so that the fix is one edit away. */
export const VALIDATION_CONFIG_KEYS: { readonly [K in keyof ValidationSettings]: string } = {
  maxInflatedBytes: 'etl.validation.maxInflatedBytes',
  maxInflationRatio: 'etl.validation.maxInflationRatio',
  maxUncompressedObjectBytes: 'etl.validation.maxUncompressedObjectBytes',
  maxRejectedRows: 'etl.validation.maxRejectedRows',
  maxRecordChars: 'etl.validation.maxRecordChars',
  timeBudgetMarginSeconds: 'etl.validation.timeBudgetMarginSeconds',
};

const SETTING_NAMES = Object.keys(VALIDATION_DEFAULTS) as (keyof ValidationSettings)[];

/** The function's environment for `settings` (the Orchestration stack sets it from `etl.validation`). */
export function validationEnvironment(settings: ValidationSettings): Record<string, string> {
  return Object.fromEntries(SETTING_NAMES.map((name) => [VALIDATE_ENV[name], String(settings[name])]));
}

/** The settings in `env`: unset ones take their default, malformed ones throw (cold start fails, loudly). */
export function parseValidationSettings(env: Readonly<Record<string, string | undefined>>): ValidationSettings {
  const settings: Record<string, number> = {};
  for (const name of SETTING_NAMES) {
    const variable = VALIDATE_ENV[name];
    const text = env[variable];
    if (text === undefined || text === '') {
      settings[name] = VALIDATION_DEFAULTS[name];
      continue;
    }
    const value = Number(text);
    // The ratio may be fractional; the others count bytes, rows, characters or seconds. Zero rejected rows is a
    // strict mode (the first bad row quarantines the file); a zero size or length would refuse every file.
    const [valid, expected] =
      name === 'maxInflationRatio'
        ? [Number.isFinite(value) && value >= 1, 'a number >= 1']
        : name === 'maxRejectedRows'
          ? [Number.isSafeInteger(value) && value >= 0, 'a whole number >= 0']
          : [Number.isSafeInteger(value) && value > 0, 'a whole number > 0'];
    if (!valid) {
      throw new Error(
        `Environment variable ${variable} is ${JSON.stringify(text)}, not ${expected}. Fix: set ${VALIDATION_CONFIG_KEYS[name]} in config/environments/<env>.json and redeploy (default ${VALIDATION_DEFAULTS[name]})`,
      );
    }
    settings[name] = value;
  }
  return settings as unknown as ValidationSettings;
}

/** What can stop a file being read: the {@link ValidationLimits}, or the invocation's time budget. */
export const VALIDATION_LIMIT_NAMES = [
  'maxInflatedBytes',
  'maxInflationRatio',
  'maxUncompressedObjectBytes',
  'maxRejectedRows',
  'maxRecordChars',
  'timeBudget',
] as const;
export type ValidationLimitName = (typeof VALIDATION_LIMIT_NAMES)[number];

export const validateInputSchema = z.object({
  /** Landing bucket of the object. */
  bucket: z.string().check(z.minLength(3)),
  /** Object key, `<dataset>/ingest_date=YYYY-MM-DD/<id>.<ext>`; the first segment must equal `dataset`. */
  key: z.string().check(z.minLength(1)),
  /** Object version (landing is versioned): the exact bytes that triggered the run are read. */
  versionId: z.optional(z.string().check(z.minLength(1))),
  /** Dataset name as configured in config/datasets/<dataset>.json. */
  dataset: z.string().check(z.minLength(1)),
  /** Run id chosen by the state machine (e.g. the execution name): names the staging folder. */
  runId: z.string().check(
    z.regex(/^[A-Za-z0-9_.:-]{1,128}$/, {
      error: 'must be 1 to 128 letters, digits, "_", ".", ":" or "-". Fix: pass the execution name as runId',
    }),
  ),
  /** Object size from the S3 event, for logging only. */
  size: z.optional(z.int().check(z.nonnegative())),
});
export type ValidateInput = z.infer<typeof validateInputSchema>;

export const VALIDATE_STATUSES = ['VALID', 'NO_VALID_ROWS', 'UNREADABLE'] as const;
export type ValidateStatus = (typeof VALIDATE_STATUSES)[number];

export const validateOutputSchema = z.object({
  /**
   * VALID: at least one valid row was staged (rejected rows, if any, are in `quarantineKey`).
   * NO_VALID_ROWS: the file was read but no row passed (empty file, or every row rejected): nothing to curate.
   * UNREADABLE: the file could not be read at all (bad gzip, binary, malformed JSON array/CSV structure), or reading
   * it reached a limit of {@link ValidationLimits} or the time budget (`limit` says which): the whole object is copied
   * to `quarantineKey` with a `.reason.json` next to it, and nothing of it is staged.
   */
  status: z.enum(VALIDATE_STATUSES),
  dataset: z.string(),
  runId: z.string(),
  /** From the key's `ingest_date=` segment; the UTC date of the run when the key has none. */
  ingestDate: z.string().check(z.regex(/^\d{4}-\d{2}-\d{2}$/)),
  rowsTotal: z.int().check(z.nonnegative()),
  rowsValid: z.int().check(z.nonnegative()),
  rowsRejected: z.int().check(z.nonnegative()),
  /** Bytes of the staged rows object (0 when none was written): what the batch size counts. */
  stagedBytes: z.int().check(z.nonnegative()),
  stagingBucket: z.string(),
  /** `staging/<dataset>/run_id=<runId>/`: the curate job's `--staging_path` is `s3://<stagingBucket>/<stagingPrefix>`. */
  stagingPrefix: z.string(),
  /** Rejected-rows file (VALID / NO_VALID_ROWS with rejections) or the quarantined whole file (UNREADABLE). */
  quarantineKey: z.optional(z.string()),
  /** Why the file is UNREADABLE, or a summary of the first rejection reasons (at most 2,000 characters). */
  reason: z.optional(z.string()),
  /**
   * UNREADABLE because a limit was reached: which one (a {@link ValidationLimits} name, or `timeBudget`; the reason
   * names its config key). Reading stopped there: `rowsTotal` and `rowsRejected` are the counts reached, `rowsValid`
   * is 0 (nothing of the file is staged).
   */
  limit: z.optional(z.enum(VALIDATION_LIMIT_NAMES)),
});
export type ValidateOutput = z.infer<typeof validateOutputSchema>;

/**
 * Metadata fields added to every staged row (NDJSON, one object per line, dataset columns first in config order).
 * The curate job partitions by `_ingest_date` (datasets partitioned by ingest date) and breaks primary-key ties with
 * `_record`, the 1-based position of the record in the landed file (the later record wins).
 */
export const STAGED_METADATA = {
  ingestDate: '_ingest_date',
  record: '_record',
} as const;

/**
 * The content types a landed file may have, and the key extension it lands under (optionally followed by `.gz`):
 * stage A reads the format from the extension. The objects route and upload URLs accept exactly these.
 */
export const LANDING_CONTENT_TYPES = {
  'application/json': 'json',
  'application/x-ndjson': 'ndjson',
  'text/csv': 'csv',
} as const;
export type LandingContentType = keyof typeof LANDING_CONTENT_TYPES;

/** Name of the staged rows object inside the staging prefix. */
export const STAGED_ROWS_FILE = 'part-00000.ndjson';
/** Name of the rejected-rows object inside the run's quarantine folder: lines of `{ record, reason, raw }` (record: 1-based position in the file; reason starts with the line). */
export const REJECTED_ROWS_FILE = 'rejected.ndjson';

export function stagingPrefix(dataset: string, runId: string): string {
  return `staging/${dataset}/run_id=${runId}/`;
}

/** `quarantine/<dataset>/ingest_date=<date>/run_id=<runId>/`: rejected rows and unreadable files of one run. */
export function quarantinePrefix(dataset: string, ingestDate: string, runId: string): string {
  return `quarantine/${dataset}/ingest_date=${ingestDate}/run_id=${runId}/`;
}

/**
 * Replays (scripts/replay.ts): an operator re-submits a landed object version after a fix by sending its "Object
 * Created" event again to the landed-objects queue, with `replay.previousStatus` naming the status the run had when
 * the replay was planned. A normal (re-)delivery never re-runs a finished run; a replay takes over a run in that
 * status only (quarantined: NO_VALID_ROWS, UNREADABLE; FAILED and a stuck RUNNING run are taken over by any delivery),
 * under the same run id, so the object version is still processed once at a time and staged under one run.
 */
export const REPLAYABLE_STATUSES = ['FAILED', 'NO_VALID_ROWS', 'UNREADABLE', 'RUNNING'] as const;
export type ReplayableStatus = (typeof REPLAYABLE_STATUSES)[number];
/** Final statuses only a replay message re-opens. */
export const QUARANTINED_STATUSES: readonly ReplayableStatus[] = ['NO_VALID_ROWS', 'UNREADABLE'];

export interface ReplayedObject {
  readonly bucket: string;
  readonly key: string;
  readonly versionId?: string | null;
  readonly size?: number;
  /** When the object originally landed: the event's `time` (freshness counts from it). */
  readonly landedAt: Date;
  readonly previousStatus: ReplayableStatus;
}

/** The SQS message body of a replay: EventBridge's S3 "Object Created" event, plus `replay`. */
export function replayMessage(object: ReplayedObject): Record<string, unknown> {
  return {
    version: '0',
    'detail-type': 'Object Created',
    source: 'aws.s3',
    time: object.landedAt.toISOString(),
    detail: {
      bucket: { name: object.bucket },
      object: {
        key: object.key,
        ...(object.size === undefined ? {} : { size: object.size }),
        ...(object.versionId ? { 'version-id': object.versionId } : {}),
      },
      reason: 'Replay',
    },
    replay: { previousStatus: object.previousStatus },
  };
}
