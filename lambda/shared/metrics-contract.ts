/**
 * The custom metrics the functions write as CloudWatch embedded metric format (EMF) lines, as the operations
 * dashboards and alarms read them (lib/constructs/operations-dashboards.ts, platform-alarms.ts). Side-effect free:
 * lib/ imports it. Every function's lines carry the dimension `service` (its POWERTOOLS_SERVICE_NAME, the handler
 * directory); per-dataset metrics add `dataset`. The tests run the handlers and compare what they print with what
 * the dashboards and alarms read, so a name changed here or in a handler alone fails them.
 */

/** The namespace of every custom metric (PlatformFunction sets POWERTOOLS_METRICS_NAMESPACE to it). */
export const METRICS_NAMESPACE = 'DataPlatform';

/**
 * The `service` of the platform-wide metrics: one series per environment whatever the number of datasets or
 * functions, which is what an alarm reads (each alarm metric costs $0.10 a month beyond the free ten).
 */
export const PLATFORM_SERVICE = 'platform';

/** Platform-wide metrics (dimension `service` = {@link PLATFORM_SERVICE} only). */
export const PLATFORM_METRICS = {
  /** Age of the oldest STAGED run of the dataset a batch loop looked at (seconds; read as Maximum). */
  oldestStagedAge: 'OldestStagedAgeSeconds',
  /** A batch attempt failed (curate job, mart load or completion). */
  batchesFailed: 'BatchesFailed',
  /** A curate job run ended FAILED, TIMEOUT or STOPPED. */
  glueJobRunsUnsuccessful: 'GlueJobRunsUnsuccessful',
  /** A Data API call failed for a reason other than a resuming or briefly unavailable cluster. */
  dataApiErrors: 'DataApiErrors',
  /** A Data API call found the mart cluster resuming (or briefly unavailable) and was retried: resumes, as seen. */
  martResumeWaits: 'MartResumeWaits',
} as const;

/** Per-dataset metrics of stage A (service `validate`, dimension `dataset`). */
export const STAGE_A_METRICS = {
  rowsAccepted: 'RowsValid',
  rowsRejected: 'RowsRejected',
  filesRead: 'FilesRead',
  filesUnreadable: 'FilesUnreadable',
  /** Accepted rows by one allowed dimension column (dimensions `service`, `dataset`, `<column>`). */
  rowsAcceptedByDimension: 'RowsAccepted',
} as const;

/** Per-object outcomes of stage A (service `validate`, no dataset: the object may name none). */
export const STAGE_A_OBJECT_METRICS = {
  staged: 'ObjectsStaged',
  withoutValidRows: 'ObjectsWithoutValidRows',
  unreadable: 'ObjectsUnreadable',
  failed: 'ObjectsFailed',
} as const;

/** Per-dataset metrics of stage B (service `batch`, dimension `dataset`). */
export const STAGE_B_METRICS = {
  started: 'BatchesStarted',
  retried: 'BatchesRetried',
  succeeded: 'BatchesSucceeded',
  failed: 'BatchesFailed',
  abandoned: 'BatchesAbandoned',
  /** Seconds from the batch's start to its completion. */
  duration: 'BatchDurationSeconds',
  /** Seconds from the oldest landed object of the batch to its completion (landing -> mart). */
  landingToMart: 'LandingToMartSeconds',
  /** Age of the dataset's oldest STAGED run, seconds. */
  oldestStagedAge: 'OldestStagedAgeSeconds',
} as const;

/** Curate job runs as the job-auditor records them (service `job-auditor`). */
export const JOB_AUDITOR_METRICS = { dpuSeconds: 'GlueDpuSeconds' } as const;

/** Mart loads (service `load-mart`, dimension `dataset`). */
export const MART_LOAD_METRICS = { rowsInserted: 'MartRowsInserted', rowsUpdated: 'MartRowsUpdated' } as const;

/** The Firehose delivery error log lines (a metric filter on the delivery log group; no dimension). */
export const FIREHOSE_DELIVERY_ERRORS = 'FirehoseDeliveryErrors';
