import {
  CompleteMultipartUploadCommand,
  CopyObjectCommand,
  CreateMultipartUploadCommand,
  HeadObjectCommand,
  S3Client,
  UploadPartCopyCommand,
} from '@aws-sdk/client-s3';
import { type AwsClientStub, mockClient } from 'aws-sdk-client-mock';
import { NotFoundError } from '../../../lambda/shared/errors';
import { ObjectWriter, type PartSink, S3ObjectStore } from '../../../lambda/validate/object-store';
import { type LocalS3, startLocalS3 } from './local-s3';

function recordingSink() {
  const calls: string[] = [];
  const parts: Buffer[] = [];
  let whole: Buffer | undefined;
  const sink: PartSink = {
    putWhole: async (body) => {
      calls.push('putWhole');
      whole = Buffer.from(body);
    },
    begin: async () => {
      calls.push('begin');
    },
    uploadPart: async (partNumber, body) => {
      calls.push(`part ${partNumber}`);
      parts[partNumber - 1] = Buffer.from(body);
    },
    complete: async () => {
      calls.push('complete');
    },
    abort: async () => {
      calls.push('abort');
    },
  };
  return { sink, calls, parts, whole: () => whole };
}

describe('ObjectWriter', () => {
  test('writes nothing for an empty output and one PutObject for a small one', async () => {
    const empty = recordingSink();
    expect(await new ObjectWriter(empty.sink).complete()).toBeUndefined();
    expect(empty.calls).toEqual([]);

    const small = recordingSink();
    const writer = new ObjectWriter(small.sink);
    writer.write('{"a":1}\n');
    writer.writeWithTail('{"b":2}  ', 3, ',"c":3}\n');
    expect(await writer.complete()).toEqual({ parts: 1, bytes: 22 });
    expect(small.calls).toEqual(['putWhole']);
    expect(small.whole()!.toString()).toBe('{"a":1}\n{"b":2,"c":3}\n');
  });

  test('grows its first buffer, then ships full parts whose concatenation is the text', async () => {
    const recording = recordingSink();
    const partSize = 1024 * 1024;
    const writer = new ObjectWriter(recording.sink, { partSize });
    const line = `${'é'.repeat(100)}${'x'.repeat(300)}\n`;
    let expected = '';
    for (let i = 0; i < 10_000; i++) {
      writer.write(line);
      expected += line;
      if (writer.needsDrain) await writer.drain();
    }
    const summary = await writer.complete();
    expect(summary).toEqual({ parts: recording.parts.length, bytes: Buffer.byteLength(expected) });
    expect(recording.parts.length).toBeGreaterThanOrEqual(4);
    // Every part but the last is close to the part size (S3 wants >= 5 MiB for real parts of 8 MiB).
    for (const part of recording.parts.slice(0, -1)) expect(part.length).toBeGreaterThan(partSize - 200 * 1024);
    expect(Buffer.concat(recording.parts).toString()).toBe(expected);
    expect(recording.calls.at(-1)).toBe('complete');
  });

  test('fails with the upload error and aborts the multipart upload', async () => {
    const recording = recordingSink();
    recording.sink.uploadPart = async () => {
      throw new Error('InternalError');
    };
    const writer = new ObjectWriter(recording.sink, { partSize: 64 * 1024, maxInFlight: 1 });
    const failing = async () => {
      for (let i = 0; i < 1000; i++) {
        writer.write('z'.repeat(1000));
        if (writer.needsDrain) await writer.drain();
      }
    };
    await expect(failing()).rejects.toThrow('InternalError');
    await writer.abort();
    expect(recording.calls).toContain('abort');
  });
});

/**
 * S3 at the SDK boundary (aws-sdk-client-mock): s3rver has no UploadPartCopy, and a 6 GiB object is no test fixture.
 * The commands the store sends are recorded.
 */
describe('S3ObjectStore.copy', () => {
  let s3Mock: AwsClientStub<S3Client>;
  let size = 0;
  beforeEach(() => {
    s3Mock = mockClient(S3Client);
    s3Mock.on(HeadObjectCommand).callsFake(async () => ({ ContentLength: size }));
    s3Mock.on(CopyObjectCommand).resolves({ CopyObjectResult: { ETag: '"c"' } });
    s3Mock.on(CreateMultipartUploadCommand).resolves({ UploadId: 'u1' });
    s3Mock
      .on(UploadPartCopyCommand)
      .callsFake(async (input: { PartNumber: number }) => ({ CopyPartResult: { ETag: `"e${input.PartNumber}"` } }));
    s3Mock.on(CompleteMultipartUploadCommand).resolves({ ETag: '"m-13"' });
  });
  afterEach(() => s3Mock.restore());

  const store = () => new S3ObjectStore(new S3Client({ region: 'eu-west-1' }));

  test('copies with CopyObject, the key URL-encoded except "/", "=" and ":"', async () => {
    size = 1234;
    await store().copy(
      { bucket: 'landing', key: 'impressions/ingest_date=2026-11-22/a b+c?.json', versionId: 'v 1' },
      { bucket: 'artifacts', key: 'quarantine/x' },
    );
    expect(s3Mock.calls().map((call) => call.args[0].constructor.name)).toEqual([
      'HeadObjectCommand',
      'CopyObjectCommand',
    ]);
    expect(s3Mock.commandCalls(HeadObjectCommand)[0].args[0].input).toEqual({
      Bucket: 'landing',
      Key: 'impressions/ingest_date=2026-11-22/a b+c?.json',
      VersionId: 'v 1',
    });
    expect(s3Mock.commandCalls(CopyObjectCommand)[0].args[0].input).toEqual({
      Bucket: 'artifacts',
      Key: 'quarantine/x',
      CopySource: 'landing/impressions/ingest_date=2026-11-22/a%20b%2Bc%3F.json?versionId=v%201',
    });
  });

  test('copies objects above 512 MiB in 512 MiB UploadPartCopy ranges, several at a time', async () => {
    size = 6 * 1024 ** 3 + 10;
    await store().copy({ bucket: 'landing', key: 'big.ndjson' }, { bucket: 'artifacts', key: 'quarantine/big.ndjson' });
    const part = 512 * 1024 ** 2;
    const copies = s3Mock.commandCalls(UploadPartCopyCommand).map((call) => call.args[0].input);
    const ranges = copies
      .map((input) => [input.PartNumber, input.CopySourceRange] as const)
      .sort(([a], [b]) => a! - b!);
    expect(ranges).toHaveLength(13);
    expect(ranges[0]).toEqual([1, `bytes=0-${part - 1}`]);
    expect(ranges[1]).toEqual([2, `bytes=${part}-${2 * part - 1}`]);
    expect(ranges[12]).toEqual([13, `bytes=${12 * part}-${size - 1}`]);
    expect(copies.every((input) => input.UploadId === 'u1' && input.CopySource === 'landing/big.ndjson')).toBe(true);
    const [complete] = s3Mock.commandCalls(CompleteMultipartUploadCommand).map((call) => call.args[0].input);
    expect(complete.UploadId).toBe('u1');
    const parts = complete.MultipartUpload?.Parts ?? [];
    // In part order, whatever order the copies finished in.
    expect(parts.map((p) => p.PartNumber)).toEqual(Array.from({ length: 13 }, (_, i) => i + 1));
    expect(parts[12]).toEqual({ PartNumber: 13, ETag: '"e13"' });
  });

  test('copies objects up to 512 MiB with one CopyObject', async () => {
    size = 512 * 1024 ** 2;
    await store().copy({ bucket: 'landing', key: 'a.ndjson' }, { bucket: 'artifacts', key: 'quarantine/a.ndjson' });
    expect(s3Mock.commandCalls(CopyObjectCommand)).toHaveLength(1);
    expect(s3Mock.commandCalls(UploadPartCopyCommand)).toHaveLength(0);
  });
});

describe('S3ObjectStore on s3rver', () => {
  let local: LocalS3;
  beforeAll(async () => {
    local = await startLocalS3(['landing', 'artifacts']);
  });
  afterAll(() => local?.stop());

  async function readAll(stream: AsyncIterable<Uint8Array>): Promise<string> {
    const chunks: Buffer[] = [];
    for await (const chunk of stream) chunks.push(Buffer.from(chunk));
    return Buffer.concat(chunks).toString('utf8');
  }

  test('reads an object, and fails a missing one with NotFoundError', async () => {
    const store = new S3ObjectStore(local.s3);
    const key = 'impressions/ingest_date=2026-11-22/a b é.ndjson';
    await local.put('landing', key, '{"a":1}\n');
    expect(await readAll(await store.read({ bucket: 'landing', key }))).toBe('{"a":1}\n');
    await expect(store.read({ bucket: 'landing', key: 'impressions/gone.ndjson' })).rejects.toBeInstanceOf(
      NotFoundError,
    );
  });

  test('writes small outputs with one PutObject and large ones in parts', async () => {
    const store = new S3ObjectStore(local.s3);
    const small = store.createWriter('artifacts', 'out/small.ndjson', 'application/x-ndjson');
    small.write('{"x":1}\n');
    expect(await small.complete()).toEqual({ parts: 1, bytes: 8 });
    expect(await local.getText('artifacts', 'out/small.ndjson')).toBe('{"x":1}\n');

    local.requests.length = 0;
    const large = store.createWriter('artifacts', 'out/large=1.ndjson', 'application/x-ndjson', {
      partSize: 64 * 1024,
    });
    let expected = '';
    for (let i = 0; i < 5000; i++) {
      const line = `{"i":${i},"text":"é ${'x'.repeat(40)}"}\n`;
      large.write(line);
      expected += line;
      if (large.needsDrain) await large.drain();
    }
    const summary = await large.complete();
    const parts = local.requests.filter((request) => request.method === 'PUT' && 'partNumber' in request.query);
    expect(parts.length).toBeGreaterThanOrEqual(3);
    expect(parts.every((request) => request.path === '/artifacts/out/large%3D1.ndjson')).toBe(true);
    expect(summary).toEqual({ parts: expect.any(Number), bytes: Buffer.byteLength(expected) });
    expect(await local.getText('artifacts', 'out/large=1.ndjson')).toBe(expected);
    const head = await local.s3.send(new HeadObjectCommand({ Bucket: 'artifacts', Key: 'out/large=1.ndjson' }));
    expect(head.ContentType).toBe('application/x-ndjson');
  });

  test('copies an object whose key holds spaces, "=", ":" and Unicode', async () => {
    const store = new S3ObjectStore(local.s3);
    const key = 'clicks/ingest_date=2026-11-22/run:1 é.csv';
    await local.put('landing', key, 'a,b\n');
    await store.copy({ bucket: 'landing', key }, { bucket: 'artifacts', key: 'quarantine/run:1 é.csv' });
    expect(await local.getText('artifacts', 'quarantine/run:1 é.csv')).toBe('a,b\n');
  });
});
