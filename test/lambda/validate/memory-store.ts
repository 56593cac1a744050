import { Readable } from 'node:stream';
import {
  type ObjectLocation,
  type ObjectStore,
  ObjectWriter,
  type PartSink,
} from '../../../lambda/validate/object-store';

/** The storage seam in memory: objects are Buffers, parts are recorded as they arrive. */
export class MemoryStore implements ObjectStore {
  readonly objects = new Map<string, Buffer>();
  readonly parts = new Map<string, number>();
  readonly aborted: string[] = [];
  /** Objects too large (or endless) to hold: served by a generator, read lazily. */
  readonly generated = new Map<string, () => AsyncIterable<Buffer>>();
  /** Every server-side copy, `bucket/key` to `bucket/key`. */
  readonly copies: [string, string][] = [];
  /** The streams handed out by `read`, to check they were released. */
  readonly streams: Readable[] = [];
  failPart: number | undefined;

  async read(location: ObjectLocation): Promise<AsyncIterable<Uint8Array>> {
    const generate = this.generated.get(`${location.bucket}/${location.key}`);
    if (generate !== undefined) {
      const stream = Readable.from(generate(), { objectMode: false });
      this.streams.push(stream);
      return stream;
    }
    const body = this.objects.get(`${location.bucket}/${location.key}`);
    if (body === undefined) throw new Error(`no object ${location.key}`);
    // Small chunks, so records and characters straddle chunk boundaries.
    const chunks: Buffer[] = [];
    for (let i = 0; i < body.length; i += 997) chunks.push(body.subarray(i, i + 997));
    return Readable.from(chunks);
  }

  createWriter(bucket: string, key: string, _contentType: string, options?: { partSize?: number }): ObjectWriter {
    const name = `${bucket}/${key}`;
    const received: Buffer[] = [];
    const sink: PartSink = {
      putWhole: async (body) => {
        this.objects.set(name, Buffer.from(body));
        this.parts.set(name, 1);
      },
      begin: async () => undefined,
      uploadPart: async (partNumber, body) => {
        if (partNumber === this.failPart) throw new Error('SlowDown: please reduce your request rate');
        received[partNumber - 1] = Buffer.from(body);
      },
      complete: async () => {
        this.objects.set(name, Buffer.concat(received));
        this.parts.set(name, received.length);
      },
      abort: async () => {
        this.aborted.push(name);
      },
    };
    return new ObjectWriter(sink, options);
  }

  async put(bucket: string, key: string, body: string): Promise<void> {
    this.objects.set(`${bucket}/${key}`, Buffer.from(body));
  }

  async copy(from: ObjectLocation, to: { bucket: string; key: string }): Promise<void> {
    this.copies.push([`${from.bucket}/${from.key}`, `${to.bucket}/${to.key}`]);
    const body = this.objects.get(`${from.bucket}/${from.key}`);
    if (body !== undefined) this.objects.set(`${to.bucket}/${to.key}`, body);
  }

  /** The keys of the objects under `bucket/prefix`. */
  keys(prefix: string): string[] {
    return [...this.objects.keys()].filter((key) => key.startsWith(prefix)).sort();
  }
}
