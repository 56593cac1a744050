/**
 * The contract of `POST /v1/exports` (side-effect free: the Api stack imports it). The request body is
 * `exportRequestSchema` of ../api-shared/contract.ts (its job is read by export-status and export-worker too); the
 * response is `202 { id, status, statusUrl }`.
 */
import { API_ENV } from '../api-shared/contract';

/** The environment of the function (the Api stack sets exactly these). */
export const EXPORT_REQUEST_ENV = {
  exportsTable: API_ENV.exportsTable,
  exportQueueUrl: API_ENV.exportQueueUrl,
  martTables: API_ENV.martTables,
  exportRetentionDays: API_ENV.exportRetentionDays,
} as const;
