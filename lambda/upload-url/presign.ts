/**
 * A presigned PUT for a file too large for the API: the key is chosen here (under the dataset's landing prefix,
 * today's ingest date, a fresh id), the content type and SSE-KMS headers are signed, so the URL can only create that
 * one object, with that type, encrypted with the platform key, until it expires.
 */
import { randomUUID } from 'node:crypto';
import * as z from 'zod/mini';
import type { S3Client } from '../shared/aws/s3';
import { NotFoundError } from '../shared/errors';
import '../shared/zod-locale';

export const UPLOAD_CONTENT_TYPES = {
  'application/json': 'json',
  'application/x-ndjson': 'ndjson',
  'text/csv': 'csv',
} as const;

export const uploadRequestSchema = z.strictObject({
  contentType: z.enum(Object.keys(UPLOAD_CONTENT_TYPES) as [keyof typeof UPLOAD_CONTENT_TYPES], {
    error: `must be one of ${Object.keys(UPLOAD_CONTENT_TYPES).join(', ')}. Fix: send the file's content type`,
  }),
  /** The file is gzip-compressed: the key ends in .gz (the validate step decompresses it). @default false */
  gzip: z._default(z.boolean(), false),
});
export type UploadRequest = z.infer<typeof uploadRequestSchema>;

export interface PresignDependencies {
  readonly s3: S3Client;
  readonly bucket: string;
  readonly kmsKeyArn: string;
  readonly datasets: readonly string[];
  readonly expirySeconds: number;
  readonly now?: () => Date;
}

export interface UploadTicket {
  readonly id: string;
  readonly dataset: string;
  readonly key: string;
  readonly method: 'PUT';
  readonly url: string;
  /** Headers the PUT must carry exactly (they are part of the signature). */
  readonly headers: Record<string, string>;
  readonly expiresAt: string;
}

export async function presignUpload(
  deps: PresignDependencies,
  dataset: string,
  request: UploadRequest,
): Promise<UploadTicket> {
  if (!deps.datasets.includes(dataset)) {
    throw new NotFoundError(
      `Unknown dataset ${JSON.stringify(dataset.slice(0, 64))}. Fix: use one of ${deps.datasets.join(', ')}`,
    );
  }
  const now = (deps.now ?? (() => new Date()))();
  const id = randomUUID();
  const extension = `${UPLOAD_CONTENT_TYPES[request.contentType]}${request.gzip ? '.gz' : ''}`;
  const key = `${dataset}/ingest_date=${now.toISOString().slice(0, 10)}/${id}.${extension}`;
  // Content-Type, x-amz-server-side-encryption and its key id are signed headers: the uploader cannot change them.
  const { url, headers } = await deps.s3.presignPutObject(
    {
      Bucket: deps.bucket,
      Key: key,
      ContentType: request.contentType,
      ServerSideEncryption: 'aws:kms',
      SSEKMSKeyId: deps.kmsKeyArn,
    },
    deps.expirySeconds,
  );
  return {
    id,
    dataset,
    key,
    method: 'PUT',
    url,
    headers,
    expiresAt: new Date(now.getTime() + deps.expirySeconds * 1000).toISOString(),
  };
}
