/**
 * Streams text to one S3 object with a multipart upload: text is buffered until a part is full, then uploaded, so
 * memory stays near one part whatever the export size. Objects are written SSE-KMS with the platform key.
 */
import type { S3Client } from '../shared/aws/s3';

/** S3's minimum part size (all parts but the last). */
export const MIN_PART_BYTES = 5 * 1024 * 1024;

export interface MultipartTarget {
  readonly bucket: string;
  readonly key: string;
  readonly kmsKeyArn: string;
  readonly contentType: string;
  readonly contentDisposition?: string;
  /** @default 8 MiB */
  readonly partBytes?: number;
}

export class MultipartWriter {
  private uploadId: string | undefined;
  private readonly parts: { PartNumber: number; ETag: string }[] = [];
  private pending: Buffer[] = [];
  private pendingBytes = 0;
  private totalBytes = 0;
  private readonly partBytes: number;

  constructor(
    private readonly s3: S3Client,
    private readonly target: MultipartTarget,
  ) {
    this.partBytes = Math.max(target.partBytes ?? 8 * 1024 * 1024, MIN_PART_BYTES);
  }

  async start(): Promise<void> {
    const created = await this.s3.createMultipartUpload({
      Bucket: this.target.bucket,
      Key: this.target.key,
      ContentType: this.target.contentType,
      ContentDisposition: this.target.contentDisposition,
      ServerSideEncryption: 'aws:kms',
      SSEKMSKeyId: this.target.kmsKeyArn,
      BucketKeyEnabled: true,
    });
    if (!created.UploadId) throw new Error(`S3 returned no upload id for ${this.target.key}`);
    this.uploadId = created.UploadId;
  }

  async write(text: string): Promise<void> {
    const chunk = Buffer.from(text, 'utf8');
    this.pending.push(chunk);
    this.pendingBytes += chunk.length;
    this.totalBytes += chunk.length;
    if (this.pendingBytes >= this.partBytes) await this.flush();
  }

  /** Uploads what is left and completes the object; returns its size in bytes. */
  async complete(): Promise<{ bytes: number; parts: number }> {
    if (this.pendingBytes > 0 || this.parts.length === 0) await this.flush();
    await this.s3.completeMultipartUpload({
      Bucket: this.target.bucket,
      Key: this.target.key,
      UploadId: this.requireUploadId(),
      MultipartUpload: { Parts: this.parts },
    });
    return { bytes: this.totalBytes, parts: this.parts.length };
  }

  /** Discards the parts uploaded so far (S3 would otherwise keep and bill them until the lifecycle rule runs). */
  async abort(): Promise<void> {
    if (!this.uploadId) return;
    await this.s3.abortMultipartUpload({ Bucket: this.target.bucket, Key: this.target.key, UploadId: this.uploadId });
  }

  private async flush(): Promise<void> {
    const body = Buffer.concat(this.pending, this.pendingBytes);
    this.pending = [];
    this.pendingBytes = 0;
    const partNumber = this.parts.length + 1;
    const uploaded = await this.s3.uploadPart({
      Bucket: this.target.bucket,
      Key: this.target.key,
      UploadId: this.requireUploadId(),
      PartNumber: partNumber,
      Body: body,
    });
    if (!uploaded.ETag) throw new Error(`S3 returned no ETag for part ${partNumber} of ${this.target.key}`);
    this.parts.push({ PartNumber: partNumber, ETag: uploaded.ETag });
  }

  private requireUploadId(): string {
    if (!this.uploadId) throw new Error('MultipartWriter.start() was not called');
    return this.uploadId;
  }
}
