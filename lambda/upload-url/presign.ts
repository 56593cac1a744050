/**
 * A presigned PUT for a file too large for the API: the key is chosen here (under the dataset's landing prefix,
 * today's ingest date, a fresh id); the content type, the declared length, `If-None-Match: *` and the SSE-KMS headers
 * are signed, so the URL can only create that one object, once, of that size and type, encrypted with the platform
 * key, until it expires.
 *
 * Why a PUT with a signed Content-Length rather than a presigned POST with a `content-length-range` policy: S3's
 * conditional writes (`If-None-Match: *`, 412 when the key exists) exist for PUT (and multipart completion), not for
 * browser-form POST uploads, so only a PUT makes a replayed URL unable to overwrite the upload. The price is that the
 * caller declares the exact size up front; any other length breaks the signature (403) and a single PUT is limited to
 * 5 GiB (maxUploadBytes is capped there).
 */
import { randomUUID } from 'node:crypto';
import type { S3Presigner } from '../shared/aws/s3-presign';
import { InvalidInputError, NotFoundError } from '../shared/errors';
import { LANDING_CONTENT_TYPES } from '../validate/contract';
import type { UploadRequest } from './contract';

export interface PresignDependencies {
  readonly s3: S3Presigner;
  readonly bucket: string;
  readonly kmsKeyArn: string;
  readonly datasets: readonly string[];
  readonly expirySeconds: number;
  /** Largest contentLength accepted (config `api.maxUploadBytes`). */
  readonly maxBytes: number;
  readonly now?: () => Date;
}

export interface UploadTicket {
  readonly id: string;
  readonly dataset: string;
  readonly key: string;
  readonly method: 'PUT';
  readonly url: string;
  /**
   * Headers the PUT must carry exactly (they are part of the signature): Content-Type, Content-Length (the declared
   * size: HTTP clients set it from the body), If-None-Match `*` (write once: a second PUT gets 412) and SSE-KMS.
   */
  readonly headers: Record<string, string>;
  /** The declared size in bytes: the URL accepts a body of exactly this length. */
  readonly contentLength: number;
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
  if (request.contentLength > deps.maxBytes) {
    throw new InvalidInputError(
      `field "contentLength" has value ${request.contentLength}: files are at most ${deps.maxBytes} bytes (${describeBytes(deps.maxBytes)}) here. Fix: split the file into parts of at most ${deps.maxBytes} bytes, or raise api.maxUploadBytes in the environment config`,
    );
  }
  const now = (deps.now ?? (() => new Date()))();
  const id = randomUUID();
  const extension = `${LANDING_CONTENT_TYPES[request.contentType]}${request.gzip ? '.gz' : ''}`;
  const key = `${dataset}/ingest_date=${now.toISOString().slice(0, 10)}/${id}.${extension}`;
  // Signed headers, which the uploader cannot change: Content-Type, Content-Length (S3 refuses any other size),
  // If-None-Match (a replayed URL cannot overwrite the upload), x-amz-server-side-encryption and its key id.
  const { url, headers } = await deps.s3.presignPutObject(
    {
      Bucket: deps.bucket,
      Key: key,
      ContentType: request.contentType,
      ContentLength: request.contentLength,
      IfNoneMatch: '*',
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
    contentLength: request.contentLength,
    expiresAt: new Date(now.getTime() + deps.expirySeconds * 1000).toISOString(),
  };
}

/** 1073741824 -> "1 GiB", 1500000 -> "1.4 MiB". */
export function describeBytes(bytes: number): string {
  const units = ['bytes', 'KiB', 'MiB', 'GiB'];
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return `${Number.isInteger(value) ? value : value.toFixed(1)} ${units[unit]}`;
}
