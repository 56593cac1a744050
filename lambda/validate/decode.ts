/**
 * Bytes to text, streamed: gzip is detected by its magic bytes (not the key's extension) and inflated on the fly,
 * UTF-8 is checked chunk by chunk, and binary content is refused. Problems with the content become
 * {@link UnreadableFileError}s (the file is quarantined); errors of the source itself (S3, network) pass through
 * unchanged so the state machine can retry them.
 */
import { isUtf8 } from 'node:buffer';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { StringDecoder } from 'node:string_decoder';
import { createGunzip } from 'node:zlib';
import {
  RATIO_CHECK_AFTER_BYTES,
  VALIDATION_CONFIG_KEYS,
  VALIDATION_DEFAULTS,
  type ValidationLimits,
} from './contract';
import { LimitReachedError, UnreadableFileError } from './readers';

/** The limits on bytes: beyond one, decoding stops at once with a {@link LimitReachedError}. */
export type DecodeLimits = Pick<
  ValidationLimits,
  'maxInflatedBytes' | 'maxInflationRatio' | 'maxUncompressedObjectBytes'
>;

const GZIP_MAGIC = [0x1f, 0x8b] as const;
const INFLATED_CHUNK_BYTES = 64 * 1024;

export interface DecodeInfo {
  /** Whether the content was gzip-compressed. */
  gzip: boolean;
  /** Bytes read from the source (compressed size for gzip). */
  bytesIn: number;
  /** Bytes of text after decompression. */
  bytesOut: number;
}

function asBuffer(bytes: Uint8Array): Buffer {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

/** The first chunks of a source (at least `count` bytes, unless it ends first), and the iterator of the rest. */
async function peek(
  source: AsyncIterable<Uint8Array>,
  count: number,
): Promise<{ head: Buffer; seen: Buffer[]; rest: AsyncIterator<Uint8Array> | undefined }> {
  const iterator = source[Symbol.asyncIterator]();
  const seen: Buffer[] = [];
  let length = 0;
  while (length < count) {
    const next = await iterator.next();
    if (next.done) return { head: Buffer.concat(seen), seen, rest: undefined };
    const chunk = asBuffer(next.value);
    seen.push(chunk);
    length += chunk.length;
  }
  return { head: Buffer.concat(seen).subarray(0, count), seen, rest: iterator };
}

/** The peeked chunks, then the rest of the source, counted into `info.bytesIn`. */
async function* replay(
  seen: readonly Buffer[],
  rest: AsyncIterator<Uint8Array> | undefined,
  info: DecodeInfo,
): AsyncGenerator<Buffer> {
  for (const chunk of seen) {
    info.bytesIn += chunk.length;
    yield chunk;
  }
  if (rest === undefined) return;
  for (;;) {
    const next = await rest.next();
    if (next.done) return;
    info.bytesIn += next.value.byteLength;
    yield asBuffer(next.value);
  }
}

function isZlibError(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'string' && code.startsWith('Z_');
}

/** Stops reading a source (an S3 body, a file stream): its connection or descriptor is released now, not at GC. */
function release(source: AsyncIterable<Uint8Array>): void {
  const destroy = (source as { destroy?: unknown }).destroy;
  if (typeof destroy === 'function') destroy.call(source);
}

const fix = (key: string) => `Fix: split the file into smaller ones, or raise ${key} in config/environments/<env>.json`;

/** Whether inflating `next` more bytes stays within the limits; throws the reason otherwise. */
function checkInflated(info: DecodeInfo, next: number, limits: DecodeLimits): void {
  const out = info.bytesOut + next;
  if (out > limits.maxInflatedBytes) {
    throw new LimitReachedError(
      'maxInflatedBytes',
      `the gzip content inflates to more than ${limits.maxInflatedBytes} bytes (${VALIDATION_CONFIG_KEYS.maxInflatedBytes}): reading stopped at ${out} bytes of text from ${info.bytesIn} compressed bytes. ${fix(VALIDATION_CONFIG_KEYS.maxInflatedBytes)}`,
    );
  }
  // bytesIn counts what the inflater has been given, which is ahead of what it has inflated: the ratio errs low.
  if (out >= RATIO_CHECK_AFTER_BYTES && out > limits.maxInflationRatio * info.bytesIn) {
    throw new LimitReachedError(
      'maxInflationRatio',
      `the gzip content inflates more than ${limits.maxInflationRatio}x (${VALIDATION_CONFIG_KEYS.maxInflationRatio}): ${out} bytes of text from ${info.bytesIn} compressed bytes (${Math.floor(out / Math.max(info.bytesIn, 1))}x), the mark of a decompression bomb; reading stopped there. Fix: if the file is genuine and this repetitive, raise ${VALIDATION_CONFIG_KEYS.maxInflationRatio} in config/environments/<env>.json`,
    );
  }
}

function checkUncompressed(bytes: number, limits: DecodeLimits, seen: 'read' | 'size'): void {
  if (bytes > limits.maxUncompressedObjectBytes) {
    throw new LimitReachedError(
      'maxUncompressedObjectBytes',
      `the file is larger than ${limits.maxUncompressedObjectBytes} bytes (${VALIDATION_CONFIG_KEYS.maxUncompressedObjectBytes}): ${seen === 'size' ? `its size is ${bytes} bytes, so it was not read` : `reading stopped at ${bytes} bytes`}. ${fix(VALIDATION_CONFIG_KEYS.maxUncompressedObjectBytes)} (or gzip it: limits on gzip files apply to the text)`,
    );
  }
}

/** Inflates gzip content; zlib errors become {@link UnreadableFileError}s. `stop` releases the source early. */
async function* gunzip(compressed: AsyncIterable<Buffer>, stop: () => void): AsyncGenerator<Buffer> {
  // Inflated chunks as large as the reads (zlib's default is 16 KiB): a quarter of the chunks, so of the per-chunk
  // work downstream (async iteration, joining a record split between chunks).
  const inflater = createGunzip({ chunkSize: INFLATED_CHUNK_BYTES });
  // The pipeline forwards the source's own error to the inflater, so iterating it throws that error unchanged.
  const done = pipeline(Readable.from(compressed, { objectMode: false }), inflater).catch(() => undefined);
  try {
    for await (const chunk of inflater) yield chunk as Buffer;
  } catch (error) {
    if (isZlibError(error)) {
      throw new UnreadableFileError(
        `the content starts like gzip but cannot be decompressed (${(error as Error).message}). Fix: send a complete, valid .gz file`,
      );
    }
    throw error;
  } finally {
    // Released before waiting for the pipeline: a pending read of the source then ends now.
    stop();
    inflater.destroy();
    await done;
  }
}

/**
 * Validates UTF-8 across chunk boundaries using the native `isUtf8` (fast), checking the few bytes of a character
 * split between two chunks separately.
 */
class Utf8Checker {
  /** The first bytes of a character that continues in the next chunk. */
  private carry: Buffer = Buffer.alloc(0);
  /** Bytes seen before the current chunk. */
  private offset = 0;

  check(chunk: Buffer): void {
    // Copying happens only when a character straddles two chunks.
    const data = this.carry.length > 0 ? Buffer.concat([this.carry, chunk]) : chunk;
    const split = incompleteTailLength(data);
    this.assertValid(data.subarray(0, data.length - split), this.offset - this.carry.length);
    this.carry = Buffer.from(data.subarray(data.length - split));
    this.offset += chunk.length;
  }

  end(): void {
    if (this.carry.length > 0) this.assertValid(this.carry, this.offset - this.carry.length);
  }

  private assertValid(bytes: Buffer, at: number): void {
    if (bytes.length > 0 && !isUtf8(bytes)) {
      throw new UnreadableFileError(
        `the content is not UTF-8 text (invalid bytes near byte ${at}). Fix: export the file as UTF-8 (binary files are not accepted)`,
      );
    }
  }
}

/** How many bytes at the end of `chunk` begin a UTF-8 character that continues in the next chunk. */
function incompleteTailLength(chunk: Buffer): number {
  for (let back = 1; back <= Math.min(3, chunk.length); back++) {
    const byte = chunk[chunk.length - back];
    if ((byte & 0xc0) === 0x80) continue; // continuation byte: keep looking for the lead byte
    const needed = byte >= 0xf0 ? 4 : byte >= 0xe0 ? 3 : byte >= 0xc0 ? 2 : 1;
    return needed > back ? back : 0;
  }
  return 0;
}

/** Bytes to text, chunk by chunk: UTF-8 checked, BOM removed, NUL refused. */
class TextDecoding {
  private readonly checker = new Utf8Checker();
  private readonly decoder = new StringDecoder('utf8');
  private first = true;

  constructor(private readonly info: DecodeInfo) {}

  write(chunk: Buffer): string {
    this.info.bytesOut += chunk.length;
    this.checker.check(chunk);
    let text = this.decoder.write(chunk);
    if (this.first && text.length > 0) {
      if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
      this.first = false;
    }
    if (text.indexOf('\u0000') >= 0) {
      throw new UnreadableFileError(
        'the content holds NUL bytes: it is binary, not text. Fix: send ndjson, json or csv text',
      );
    }
    return text;
  }

  end(): string {
    this.checker.end();
    return this.decoder.end();
  }
}

/** Options of {@link decodeText}. */
export interface DecodeOptions {
  readonly limits: DecodeLimits;
  /** The object's size, when known (the S3 event's): a plain file above the limit is refused before it is read. */
  readonly size?: number;
}

/**
 * Streams the text of `source`: inflated when gzip, checked for UTF-8, without a BOM. `info` is filled as it goes.
 * Beyond a limit it stops at once (nothing more is read or inflated) with a {@link LimitReachedError}; the source is
 * released however the iteration ends.
 */
export async function* decodeText(
  source: AsyncIterable<Uint8Array>,
  info: DecodeInfo,
  options: DecodeOptions = { limits: VALIDATION_DEFAULTS },
): AsyncGenerator<string> {
  const { limits } = options;
  try {
    const { head, seen, rest } = await peek(source, GZIP_MAGIC.length);
    info.gzip = head.length === 2 && head[0] === GZIP_MAGIC[0] && head[1] === GZIP_MAGIC[1];
    const decoding = new TextDecoding(info);
    if (info.gzip) {
      for await (const chunk of gunzip(replay(seen, rest, info), () => release(source))) {
        checkInflated(info, chunk.length, limits);
        const text = decoding.write(chunk);
        if (text.length > 0) yield text;
      }
    } else {
      if (options.size !== undefined) checkUncompressed(options.size, limits, 'size');
      // Plain text is read straight from the source: one asynchronous step per chunk rather than one per layer.
      for (const chunk of seen) {
        info.bytesIn += chunk.length;
        checkUncompressed(info.bytesIn, limits, 'read');
        const text = decoding.write(chunk);
        if (text.length > 0) yield text;
      }
      while (rest !== undefined) {
        const next = await rest.next();
        if (next.done) break;
        info.bytesIn += next.value.byteLength;
        checkUncompressed(info.bytesIn, limits, 'read');
        const text = decoding.write(asBuffer(next.value));
        if (text.length > 0) yield text;
      }
    }
    const text = decoding.end();
    if (text.length > 0) yield text;
  } finally {
    release(source);
  }
}
