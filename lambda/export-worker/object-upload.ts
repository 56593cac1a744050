/**
 * Streams text to one S3 object through lib-storage's Upload: text goes into a stream that Upload cuts into parts
 * (one PutObject when the whole object fits in one part), so memory stays near `queueSize + 1` parts whatever the
 * export size. Objects are written SSE-KMS with the platform key.
 */
import { once } from 'node:events';
import { PassThrough } from 'node:stream';
import type { S3Client } from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';

/** S3's minimum part size (all parts but the last). */
export const MIN_PART_BYTES = 5 * 1024 * 1024;
/** Parts uploading at the same time (each one is held in memory). */
const QUEUE_SIZE = 2;

export interface ObjectTarget {
  readonly bucket: string;
  readonly key: string;
  readonly kmsKeyArn: string;
  readonly contentType: string;
  readonly contentDisposition?: string;
  /** @default 8 MiB (at least {@link MIN_PART_BYTES}) */
  readonly partBytes?: number;
}

export class ObjectUpload {
  private readonly body = new PassThrough();
  private readonly done: Promise<unknown>;
  private readonly partBytes: number;
  private bytes = 0;

  constructor(s3: S3Client, target: ObjectTarget) {
    this.partBytes = Math.max(target.partBytes ?? 8 * 1024 * 1024, MIN_PART_BYTES);
    this.done = new Upload({
      client: s3,
      params: {
        Bucket: target.bucket,
        Key: target.key,
        Body: this.body,
        ContentType: target.contentType,
        ContentDisposition: target.contentDisposition,
        ServerSideEncryption: 'aws:kms',
        SSEKMSKeyId: target.kmsKeyArn,
        BucketKeyEnabled: true,
      },
      partSize: this.partBytes,
      queueSize: QUEUE_SIZE,
      // A failed upload is aborted (S3 would otherwise keep and bill its parts until the lifecycle rule runs).
      leavePartsOnError: false,
    }).done();
    // Observed here so that a failure while nothing awaits it is not an unhandled rejection; write/complete rethrow it.
    this.done.catch(() => undefined);
  }

  /** Waits while Upload is behind (backpressure); fails as soon as the upload has failed. */
  async write(text: string): Promise<void> {
    const chunk = Buffer.from(text, 'utf8');
    this.bytes += chunk.length;
    if (!this.body.write(chunk)) await Promise.race([once(this.body, 'drain'), this.done]);
  }

  /** Ends the object and waits until S3 has it; returns its size and the number of parts it was written in. */
  async complete(): Promise<{ bytes: number; parts: number }> {
    this.body.end();
    await this.done;
    return { bytes: this.bytes, parts: Math.max(1, Math.ceil(this.bytes / this.partBytes)) };
  }

  /** Fails the upload with `error`; resolves once Upload has aborted it (no object is created). */
  async abort(error: Error): Promise<void> {
    this.body.destroy(error);
    await this.done.catch(() => undefined);
  }
}
