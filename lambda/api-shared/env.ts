/**
 * Environment variable names of the API functions: the Api stack sets them, the handlers read them with requireEnv at
 * cold start. One place, so the two cannot drift apart.
 */
export const API_ENV = {
  /** Landing bucket (upload URLs). */
  landingBucket: 'LANDING_BUCKET',
  /** Artifacts bucket (exports/<id>.csv). */
  artifactsBucket: 'ARTIFACTS_BUCKET',
  /** ARN of the platform KMS key: objects are written with SSE-KMS under it. */
  kmsKeyArn: 'KMS_KEY_ARN',
  /** JSON array of the configured dataset names (upload URLs). */
  datasets: 'DATASETS',
  /** JSON of the mart tables the API may read (see marts.ts). */
  martTables: 'MART_TABLES',
  // The Data API target (cluster, the reader login's secret, database): MART_CONNECTION_ENV of ./mart-connection.ts.
  /** DynamoDB table of export jobs. */
  exportsTable: 'EXPORTS_TABLE',
  /** SQS queue of export jobs. */
  exportQueueUrl: 'EXPORT_QUEUE_URL',
  /** Largest file an upload URL is signed for, in bytes (config api.maxUploadBytes). */
  maxUploadBytes: 'MAX_UPLOAD_BYTES',
  /** Lifetime of presigned URLs, in seconds. */
  urlExpirySeconds: 'URL_EXPIRY_SECONDS',
  /** Days an export job (and its status) is kept before DynamoDB's TTL removes it. */
  exportRetentionDays: 'EXPORT_RETENTION_DAYS',
  /** Rows the export worker reads per query (the Data API returns at most 1 MB per statement). */
  exportPageRows: 'EXPORT_PAGE_ROWS',
} as const;
