/**
 * The contract of `POST /v1/datasets/{dataset}/uploads` (side-effect free: the Api stack imports it): the variables the
 * function reads and the request it accepts. The response is `201 { dataset, key, url, method, headers, expiresAt }`.
 */
import * as z from 'zod/mini';
import { API_ENV } from '../api-shared/contract';
import { LANDING_CONTENT_TYPES, type LandingContentType } from '../validate/contract';

/** The environment of the function (the Api stack sets exactly these). */
export const UPLOAD_URL_ENV = {
  landingBucket: API_ENV.landingBucket,
  kmsKeyArn: API_ENV.kmsKeyArn,
  datasets: API_ENV.datasets,
  urlExpirySeconds: API_ENV.urlExpirySeconds,
  maxUploadBytes: API_ENV.maxUploadBytes,
} as const;

export const uploadRequestSchema = z.strictObject({
  contentType: z.enum(Object.keys(LANDING_CONTENT_TYPES) as [LandingContentType], {
    error: `must be one of ${Object.keys(LANDING_CONTENT_TYPES).join(', ')}. Fix: send the file's content type`,
  }),
  /**
   * Size of the file in bytes, exactly: the URL is signed for this Content-Length. At most the environment's
   * `api.maxUploadBytes` (checked in presignUpload, so the 400 names the limit).
   */
  contentLength: z
    .int({ error: 'must be the file size in bytes, a whole number. Fix: e.g. 1048576' })
    .check(
      z.minimum(1, { error: 'must be at least 1 (an empty file holds no rows). Fix: send the file size in bytes' }),
    ),
  /** The file is gzip-compressed: the key ends in .gz (the validate step decompresses it). @default false */
  gzip: z._default(z.boolean(), false),
});
export type UploadRequest = z.infer<typeof uploadRequestSchema>;
