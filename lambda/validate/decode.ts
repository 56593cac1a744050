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
import { UnreadableFileError } from './readers';

const GZIP_MAGIC = [0x1f, 0x8b] as const;

export interface DecodeInfo {
  /** Whether the content was gzip-compressed. */
  gzip: boolean;
  /** Bytes read from the source (compressed size for gzip). */
  bytesIn: number;
  /** Bytes of text after decompression. */
  bytesOut: number;
}

/** Reads the first bytes without losing them: returns them and an iterable replaying them before the rest. */
async function peek(
  source: AsyncIterable<Uint8Array>,
  count: number,
): Promise<{ head: Buffer; all: AsyncIterable<Buffer> }> {
  const iterator = source[Symbol.asyncIterator]();
  const seen: Buffer[] = [];
  let length = 0;
  let done = false;
  while (length < count) {
    const next = await iterator.next();
    if (next.done) {
      done = true;
      break;
    }
    const chunk = Buffer.from(next.value.buffer, next.value.byteOffset, next.value.byteLength);
    seen.push(chunk);
    length += chunk.length;
  }
  const head = Buffer.concat(seen).subarray(0, count);
  async function* all(): AsyncGenerator<Buffer> {
    yield* seen;
    if (done) return;
    for (;;) {
      const next = await iterator.next();
      if (next.done) return;
      yield Buffer.from(next.value.buffer, next.value.byteOffset, next.value.byteLength);
    }
  }
  return { head, all: all() };
}

function isZlibError(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'string' && code.startsWith('Z_');
}

/** Inflates gzip content; zlib errors become {@link UnreadableFileError}s. */
async function* gunzip(compressed: AsyncIterable<Buffer>): AsyncGenerator<Buffer> {
  const inflater = createGunzip();
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

/**
 * Streams the text of `source`: inflated when gzip, checked for UTF-8, without a BOM. `info` is filled as it goes.
 */
export async function* decodeText(source: AsyncIterable<Uint8Array>, info: DecodeInfo): AsyncGenerator<string> {
  const { head, all } = await peek(source, GZIP_MAGIC.length);
  info.gzip = head.length === 2 && head[0] === GZIP_MAGIC[0] && head[1] === GZIP_MAGIC[1];
  async function* counted(): AsyncGenerator<Buffer> {
    for await (const chunk of all) {
      info.bytesIn += chunk.length;
      yield chunk;
    }
  }
  const bytes = info.gzip ? gunzip(counted()) : counted();
  const checker = new Utf8Checker();
  const decoder = new StringDecoder('utf8');
  let first = true;
  for await (const chunk of bytes) {
    info.bytesOut += chunk.length;
    checker.check(chunk);
    let text = decoder.write(chunk);
    if (first && text.length > 0) {
      if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
      first = false;
    }
    if (text.indexOf('\u0000') >= 0) {
      throw new UnreadableFileError(
        'the content holds NUL bytes: it is binary, not text. Fix: send ndjson, json or csv text',
      );
    }
    if (text.length > 0) yield text;
  }
  checker.end();
  const rest = decoder.end();
  if (rest.length > 0) yield rest;
}
