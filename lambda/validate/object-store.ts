/**
 * The storage seam of the validate logic. In AWS it is S3 through the AWS SDK ({@link S3ObjectStore}); the benchmark
 * puts local files behind the same interfaces, so both run the same buffering and part logic.
 *
 * Why not lib-storage's Upload for the outputs: the writer below fills part buffers in place from record strings and
 * reuses them (measured by `npm run bench:validate`); Upload takes a stream and copies every chunk into its own parts.
 *
 * Output is written in parts of {@link DEFAULT_PART_SIZE}: at most `maxInFlight` parts are held in memory, so memory
 * stays bounded whatever the file size. An output smaller than one part is written with one PutObject.
 */
import type { Readable } from 'node:stream';
import {
  AbortMultipartUploadCommand,
  CompleteMultipartUploadCommand,
  CopyObjectCommand,
  CreateMultipartUploadCommand,
  GetObjectCommand,
  HeadObjectCommand,
  PutObjectCommand,
  type S3Client,
  UploadPartCommand,
  UploadPartCopyCommand,
} from '@aws-sdk/client-s3';
import { NotFoundError } from '../shared/errors';

/** 8 MiB: above S3's 5 MiB minimum part size, small enough to keep two in memory. */
export const DEFAULT_PART_SIZE = 8 * 1024 * 1024;
/** Size of a writer's first buffer, doubled as needed up to a part. */
const FIRST_BUFFER_BYTES = 512 * 1024;
/** Characters gathered before they are copied into the part buffer. */
const BATCH_CHARS = 64 * 1024;
/**
 * Objects above this are copied in parts, several at a time (CopyObject takes at most 5 GiB, and one copy of gigabytes
 * can take minutes): the quarantine of a file stopped by the time budget must fit the budget's margin.
 */
const MAX_SINGLE_COPY = 512 * 1024 * 1024;
const COPY_PART_SIZE = 512 * 1024 * 1024;
/** UploadPartCopy calls in flight: 8 x 512 MiB moves a 10 GiB file in three rounds. */
const COPY_CONCURRENCY = 8;
/** S3's limit of parts per upload. */
const MAX_PARTS = 10_000;

export interface ObjectLocation {
  readonly bucket: string;
  readonly key: string;
  readonly versionId?: string;
}

/** Where the parts of one output object go: S3 multipart upload, or a local file in the benchmark. */
export interface PartSink {
  /** Writes the whole object at once (outputs smaller than one part). */
  putWhole(body: Buffer): Promise<void>;
  /** Starts a multipart object. */
  begin(): Promise<void>;
  /**
   * Writes part `partNumber` (1-based, in order of calls but possibly concurrently). Once the returned promise
   * resolves, the writer fills `body`'s memory with a later part: a sink that keeps the bytes must copy them.
   */
  uploadPart(partNumber: number, body: Buffer): Promise<void>;
  complete(): Promise<void>;
  abort(): Promise<void>;
}

export interface WriteSummary {
  readonly parts: number;
  readonly bytes: number;
}

export interface ObjectWriterOptions {
  /** @default DEFAULT_PART_SIZE */
  readonly partSize?: number;
  /** Parts uploading at the same time. @default 2 */
  readonly maxInFlight?: number;
}

/**
 * Collects text and ships it in parts. Records are gathered in a small batch (about {@link BATCH_CHARS} characters),
 * joined and copied into the current part's buffer in one call: few native calls, and record strings die young so the
 * garbage collector has little to move. The caller awaits `drain()` whenever `needsDrain` is set, which is how
 * backpressure reaches the reading loop.
 */
export class ObjectWriter {
  private readonly partSize: number;
  private readonly maxInFlight: number;
  private batch: string[] = [];
  private batchChars = 0;
  /** The part being filled; allocated on first use, so an unused writer costs nothing. */
  private part: Buffer | undefined;
  private used = 0;
  /** Full parts waiting for `drain()`. */
  private readonly ready: Buffer[] = [];
  private partNumber = 0;
  private began = false;
  private readonly inFlight: Promise<void>[] = [];
  private bytes = 0;
  private failed: unknown;
  /** Part buffers whose upload has finished, filled again rather than allocating fresh ones (page faults, GCs). */
  private readonly spare: Buffer[] = [];

  constructor(
    private readonly sink: PartSink,
    options: ObjectWriterOptions = {},
  ) {
    this.partSize = options.partSize ?? DEFAULT_PART_SIZE;
    this.maxInFlight = options.maxInFlight ?? 2;
  }

  write(text: string): void {
    this.batch.push(text);
    this.batchChars += text.length;
    if (this.batchChars >= BATCH_CHARS) this.flushBatch();
  }

  /**
   * Writes `text` without its last `dropChars` characters, then `tail`: how a record's own JSON text gets metadata
   * appended (the slice shares the record's characters, nothing is copied until the batch is joined).
   */
  writeWithTail(text: string, dropChars: number, tail: string): void {
    // Two single-element pushes: V8 inlines those, a push of two elements is a builtin call.
    this.batch.push(dropChars === 0 ? text : text.slice(0, text.length - dropChars));
    this.batch.push(tail);
    this.batchChars += text.length + tail.length;
    if (this.batchChars >= BATCH_CHARS) this.flushBatch();
  }

  private flushBatch(): void {
    if (this.batchChars === 0) return;
    const text = this.batch.length === 1 ? this.batch[0] : this.batch.join('');
    this.batch = [];
    this.batchChars = 0;
    // The first buffer is small and grows to a full part: small outputs (most rejected-rows files) stay small.
    this.part ??= Buffer.allocUnsafe(Math.min(this.partSize, FIRST_BUFFER_BYTES));
    const room = this.part.length - this.used;
    // A UTF-16 code unit takes at most 3 UTF-8 bytes: the exact length is only computed near the end of a buffer.
    if (text.length * 3 > room) {
      const bytes = Buffer.byteLength(text, 'utf8');
      if (bytes > room && this.used + bytes <= this.partSize) {
        const grown = Buffer.allocUnsafe(Math.min(this.partSize, Math.max(this.part.length * 2, this.used + bytes)));
        this.part.copy(grown, 0, 0, this.used);
        this.part = grown;
      } else if (bytes > room) {
        if (this.used > 0) this.ready.push(this.part.subarray(0, this.used));
        this.part =
          (bytes <= this.partSize ? this.spare.pop() : undefined) ?? Buffer.allocUnsafe(Math.max(this.partSize, bytes));
        this.used = 0;
      }
    }
    this.used += this.part.write(text, this.used, 'utf8');
  }

  /** Whether a full part waits to be shipped. */
  get needsDrain(): boolean {
    return this.ready.length > 0;
  }

  async drain(): Promise<void> {
    while (this.ready.length > 0) {
      if (!this.began) {
        await this.sink.begin();
        this.began = true;
      }
      this.ship(this.ready.shift()!);
      if (this.inFlight.length >= this.maxInFlight) await this.inFlight.shift();
      if (this.failed !== undefined) throw this.failed;
    }
  }

  /** Finishes the object; `undefined` when nothing was written (no object is created). */
  async complete(): Promise<WriteSummary | undefined> {
    this.flushBatch();
    if (!this.began && this.ready.length === 0) {
      if (this.used === 0) return undefined;
      const body = this.takePart();
      await this.sink.putWhole(body);
      this.bytes = body.length;
      return { parts: 1, bytes: this.bytes };
    }
    await this.drain();
    if (this.used > 0) this.ship(this.takePart());
    await Promise.all(this.inFlight.splice(0));
    if (this.failed !== undefined) throw this.failed;
    await this.sink.complete();
    return { parts: this.partNumber, bytes: this.bytes };
  }

  /** Drops everything written so far (best effort: a failed abort is left to the bucket's lifecycle rule). */
  async abort(): Promise<void> {
    this.batch = [];
    this.batchChars = 0;
    this.part = undefined;
    this.used = 0;
    this.ready.length = 0;
    await Promise.all(this.inFlight.splice(0));
    this.spare.length = 0;
    if (this.began) await this.sink.abort().catch(() => undefined);
  }

  private ship(body: Buffer): void {
    const partNumber = ++this.partNumber;
    this.bytes += body.length;
    this.inFlight.push(
      this.sink.uploadPart(partNumber, body).then(
        () => this.recycle(body),
        (error: unknown) => {
          this.failed ??= error;
        },
      ),
    );
  }

  /** Keeps the memory of an uploaded part for a later one, when it is a whole part buffer of this writer. */
  private recycle(body: Buffer): void {
    if (body.byteOffset === 0 && body.buffer.byteLength === this.partSize && this.spare.length < this.maxInFlight) {
      this.spare.push(Buffer.from(body.buffer, 0, this.partSize));
    }
  }

  private takePart(): Buffer {
    const body = this.part!.subarray(0, this.used);
    this.part = undefined;
    this.used = 0;
    return body;
  }
}

export interface ObjectStore {
  /** Streams an object's bytes. Throws {@link NotFoundError} when the object (version) does not exist. */
  read(location: ObjectLocation): Promise<AsyncIterable<Uint8Array>>;
  createWriter(bucket: string, key: string, contentType: string, options?: ObjectWriterOptions): ObjectWriter;
  put(bucket: string, key: string, body: string, contentType: string): Promise<void>;
  /** Server-side copy (any size). */
  copy(from: ObjectLocation, to: { readonly bucket: string; readonly key: string }): Promise<void>;
}

function isMissing(error: unknown): boolean {
  const name = (error as { name?: unknown } | null)?.name;
  return name === 'NoSuchKey' || name === 'NoSuchVersion' || name === 'NotFound';
}

/**
 * `bucket/key?versionId=` with the key URL-encoded, as CopySource expects. `/`, `=` and `:` (Hive partition keys,
 * run ids) stay literal: S3 accepts them so, and S3-compatible test servers decode only with `decodeURI`.
 */
function copySource(from: ObjectLocation): string {
  const key = encodeURIComponent(from.key).replace(/%2F/g, '/').replace(/%3D/g, '=').replace(/%3A/g, ':');
  return `${from.bucket}/${key}${from.versionId ? `?versionId=${encodeURIComponent(from.versionId)}` : ''}`;
}

export class S3ObjectStore implements ObjectStore {
  constructor(private readonly s3: S3Client) {}

  async read(location: ObjectLocation): Promise<AsyncIterable<Uint8Array>> {
    try {
      const response = await this.s3.send(
        new GetObjectCommand({ Bucket: location.bucket, Key: location.key, VersionId: location.versionId }),
      );
      // In Node.js the body is the response stream (an IncomingMessage with the SDK's helpers).
      return response.Body as Readable;
    } catch (error) {
      if (isMissing(error)) {
        throw new NotFoundError(
          `Object s3://${location.bucket}/${location.key}${location.versionId ? ` version ${location.versionId}` : ''} does not exist (deleted after the event?). Fix: upload the file again`,
        );
      }
      throw error;
    }
  }

  createWriter(bucket: string, key: string, contentType: string, options?: ObjectWriterOptions): ObjectWriter {
    const s3 = this.s3;
    let uploadId: string | undefined;
    const started = (): string => {
      if (uploadId === undefined) throw new Error(`The multipart upload of s3://${bucket}/${key} was not started`);
      return uploadId;
    };
    const etags: { PartNumber: number; ETag: string }[] = [];
    return new ObjectWriter(
      {
        async putWhole(body) {
          await s3.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: body, ContentType: contentType }));
        },
        async begin() {
          const created = await s3.send(
            new CreateMultipartUploadCommand({ Bucket: bucket, Key: key, ContentType: contentType }),
          );
          if (!created.UploadId) throw new Error(`S3 returned no UploadId for s3://${bucket}/${key}`);
          uploadId = created.UploadId;
        },
        async uploadPart(partNumber, body) {
          const part = await s3.send(
            new UploadPartCommand({
              Bucket: bucket,
              Key: key,
              UploadId: started(),
              PartNumber: partNumber,
              Body: body,
            }),
          );
          etags.push({ PartNumber: partNumber, ETag: part.ETag ?? '' });
        },
        async complete() {
          await s3.send(
            new CompleteMultipartUploadCommand({
              Bucket: bucket,
              Key: key,
              UploadId: started(),
              MultipartUpload: { Parts: [...etags].sort((a, b) => a.PartNumber - b.PartNumber) },
            }),
          );
        },
        async abort() {
          await s3.send(new AbortMultipartUploadCommand({ Bucket: bucket, Key: key, UploadId: started() }));
        },
      },
      options,
    );
  }

  async put(bucket: string, key: string, body: string, contentType: string): Promise<void> {
    await this.s3.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: body, ContentType: contentType }));
  }

  async copy(from: ObjectLocation, to: { readonly bucket: string; readonly key: string }): Promise<void> {
    const head = await this.s3.send(
      new HeadObjectCommand({ Bucket: from.bucket, Key: from.key, VersionId: from.versionId }),
    );
    const size = head.ContentLength ?? 0;
    if (size <= MAX_SINGLE_COPY) {
      await this.s3.send(new CopyObjectCommand({ Bucket: to.bucket, Key: to.key, CopySource: copySource(from) }));
      return;
    }
    const { UploadId } = await this.s3.send(new CreateMultipartUploadCommand({ Bucket: to.bucket, Key: to.key }));
    if (!UploadId) throw new Error(`S3 returned no UploadId for s3://${to.bucket}/${to.key}`);
    const partSize = Math.max(COPY_PART_SIZE, Math.ceil(size / MAX_PARTS));
    const count = Math.ceil(size / partSize);
    const parts: { PartNumber: number; ETag: string }[] = [];
    let next = 0;
    let failed = false;
    // A few workers take the parts in order; the first failure stops them all (the upload is then aborted).
    const worker = async () => {
      while (next < count && !failed) {
        const index = next++;
        const start = index * partSize;
        const part = await this.s3.send(
          new UploadPartCopyCommand({
            Bucket: to.bucket,
            Key: to.key,
            UploadId,
            PartNumber: index + 1,
            CopySource: copySource(from),
            CopySourceRange: `bytes=${start}-${Math.min(start + partSize, size) - 1}`,
          }),
        );
        parts[index] = { PartNumber: index + 1, ETag: part.CopyPartResult?.ETag ?? '' };
      }
    };
    const work = async () => {
      try {
        await worker();
      } catch (error) {
        failed = true;
        throw error;
      }
    };
    try {
      await Promise.all(Array.from({ length: Math.min(COPY_CONCURRENCY, count) }, work));
      await this.s3.send(
        new CompleteMultipartUploadCommand({
          Bucket: to.bucket,
          Key: to.key,
          UploadId,
          MultipartUpload: { Parts: parts },
        }),
      );
    } catch (error) {
      await this.s3
        .send(new AbortMultipartUploadCommand({ Bucket: to.bucket, Key: to.key, UploadId }))
        .catch(() => undefined);
      throw error;
    }
  }
}
