/**
 * The contract of `GET /v1/exports/{id}` (side-effect free: the Api stack imports it): it reads the caller's job from
 * the export table and presigns a GET of its file (`exportObjectKey` of ../api-shared/contract.ts) once SUCCEEDED.
 */
import { API_ENV } from '../api-shared/contract';

/** The environment of the function (the Api stack sets exactly these). */
export const EXPORT_STATUS_ENV = {
  exportsTable: API_ENV.exportsTable,
  artifactsBucket: API_ENV.artifactsBucket,
  urlExpirySeconds: API_ENV.urlExpirySeconds,
} as const;
