/**
 * The contract of the export worker (side-effect free: the Api stack imports it). SQS delivers one
 * `exportMessageSchema` message of ../api-shared/contract.ts per invocation (batch size 1, partial batch responses);
 * the worker reads the mart as the reader login (MART_CONNECTION_ENV of ../shared/mart-contract.ts) and writes
 * `exportObjectKey(id)` into the artifacts bucket.
 */
import { API_ENV } from '../api-shared/contract';

/** The environment of the function besides the mart connection (the Api stack sets exactly these). */
export const EXPORT_WORKER_ENV = {
  exportsTable: API_ENV.exportsTable,
  artifactsBucket: API_ENV.artifactsBucket,
  kmsKeyArn: API_ENV.kmsKeyArn,
  martTables: API_ENV.martTables,
  exportPageRows: API_ENV.exportPageRows,
} as const;

/**
 * Deliveries of one job message before it goes to the dead-letter queue (the queue's maxReceiveCount): the last one
 * marks the job FAILED instead of leaving it RUNNING.
 */
export const EXPORT_MAX_RECEIVE_COUNT = 3;
