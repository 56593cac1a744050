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
import '../shared/zod-locale';

/** Environment variables of the function (all required, read at cold start). */
export const VALIDATE_ENV = {
  /** Bucket that receives `staging/...` and `quarantine/...` (the artifacts bucket). */
  artifactsBucket: 'ARTIFACTS_BUCKET',
} as const;

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
   * UNREADABLE: the file could not be read at all (bad gzip, binary, malformed JSON array/CSV structure): the whole
   * object is copied to `quarantineKey` with a `.reason.json` next to it.
   */
  status: z.enum(VALIDATE_STATUSES),
  dataset: z.string(),
  runId: z.string(),
  /** From the key's `ingest_date=` segment; the UTC date of the run when the key has none. */
  ingestDate: z.string().check(z.regex(/^\d{4}-\d{2}-\d{2}$/)),
  rowsTotal: z.int().check(z.nonnegative()),
  rowsValid: z.int().check(z.nonnegative()),
  rowsRejected: z.int().check(z.nonnegative()),
  stagingBucket: z.string(),
  /** `staging/<dataset>/run_id=<runId>/`: the curate job's `--staging_path` is `s3://<stagingBucket>/<stagingPrefix>`. */
  stagingPrefix: z.string(),
  /** Rejected-rows file (VALID / NO_VALID_ROWS with rejections) or the quarantined whole file (UNREADABLE). */
  quarantineKey: z.optional(z.string()),
  /** Why the file is UNREADABLE, or a summary of the first rejection reasons. */
  reason: z.optional(z.string()),
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
 * Global the validate bundle reads its dataset definitions from (an array of parsed dataset configs), replaced at
 * bundle time through PlatformFunction's `bundleDefines` (esbuild `define`).
 */
export const VALIDATE_DATASETS_GLOBAL = '__VALIDATE_DATASETS__';
