import { S3Client } from '../../../lambda/shared/aws/s3';
import { NotFoundError } from '../../../lambda/shared/errors';
import { ObjectWriter, type PartSink, S3ObjectStore } from '../../../lambda/validate/object-store';
import { FAKE_CREDENTIALS, FAKE_REGION, type FakeAws, type FakeAwsCall, startFakeAws } from '../../helpers/fake-aws';
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
 * S3 at the API boundary: a fake endpoint that checks signatures and answers like S3 (s3rver has no UploadPartCopy,
 * and a 6 GiB object is no test fixture), recording what the store sends.
 */
describe('S3ObjectStore.copy', () => {
  let fake: FakeAws;
  let size = 0;
  beforeEach(async () => {
    fake = await startFakeAws('s3', (call) => {
      const xml = { 'content-type': 'application/xml' };
      if (call.method === 'HEAD') return { headers: { 'content-length': String(size) }, body: '' };
      if (call.method === 'PUT' && call.query.has('partNumber')) {
        return {
          headers: xml,
          body: `<CopyPartResult><LastModified>2026-11-22T10:00:00.000Z</LastModified><ETag>&quot;e${call.query.get('partNumber')}&quot;</ETag></CopyPartResult>`,
        };
      }
      if (call.method === 'PUT') {
        return { headers: xml, body: '<CopyObjectResult><ETag>"c"</ETag></CopyObjectResult>' };
      }
      if (call.method === 'POST' && call.query.has('uploads')) {
        return {
          headers: xml,
          body: '<InitiateMultipartUploadResult><UploadId>u1</UploadId></InitiateMultipartUploadResult>',
        };
      }
      if (call.method === 'POST') {
        return {
          headers: xml,
          body: '<CompleteMultipartUploadResult><ETag>"m-7"</ETag></CompleteMultipartUploadResult>',
        };
      }
      throw new Error(`unexpected ${call.method} ${call.path}`);
    });
  });
  afterEach(() => fake.stop());

  const store = () =>
    new S3ObjectStore(new S3Client({ endpoint: fake.endpoint, region: FAKE_REGION, credentials: FAKE_CREDENTIALS }));
  const copies = () => fake.calls.filter((call) => call.headers['x-amz-copy-source'] !== undefined);

  test('copies with CopyObject, the key URL-encoded except "/", "=" and ":"', async () => {
    size = 1234;
    await store().copy(
      { bucket: 'landing', key: 'impressions/ingest_date=2026-11-22/a b+c?.json', versionId: 'v 1' },
      { bucket: 'artifacts', key: 'quarantine/x' },
    );
    expect(fake.calls.map((call) => `${call.method} ${call.path}`)).toEqual([
      'HEAD /landing/impressions/ingest_date%3D2026-11-22/a%20b%2Bc%3F.json',
      'PUT /artifacts/quarantine/x',
    ]);
    expect(fake.calls[0].query.get('versionId')).toBe('v 1');
    expect(copies()[0].headers['x-amz-copy-source']).toBe(
      'landing/impressions/ingest_date=2026-11-22/a%20b%2Bc%3F.json?versionId=v%201',
    );
  });

  test('copies objects above 512 MiB in 512 MiB UploadPartCopy ranges, several at a time', async () => {
    size = 6 * 1024 ** 3 + 10;
    await store().copy({ bucket: 'landing', key: 'big.ndjson' }, { bucket: 'artifacts', key: 'quarantine/big.ndjson' });
    const part = 512 * 1024 ** 2;
    const ranges = copies()
      .map((call) => [Number(call.query.get('partNumber')), call.headers['x-amz-copy-source-range']] as const)
      .sort(([a], [b]) => a - b);
    expect(ranges).toHaveLength(13);
    expect(ranges[0]).toEqual([1, `bytes=0-${part - 1}`]);
    expect(ranges[1]).toEqual([2, `bytes=${part}-${2 * part - 1}`]);
    expect(ranges[12]).toEqual([13, `bytes=${12 * part}-${size - 1}`]);
    expect(copies().every((call: FakeAwsCall) => call.query.get('uploadId') === 'u1')).toBe(true);
    const complete = fake.calls.at(-1)!;
    expect([complete.method, complete.query.get('uploadId')]).toEqual(['POST', 'u1']);
    const parts = [...complete.body.matchAll(/<PartNumber>(\d+)<\/PartNumber><ETag>([^<]*)<\/ETag>/g)].map(
      ([, partNumber, etag]) => ({ PartNumber: Number(partNumber), ETag: etag.replace(/&quot;/g, '"') }),
    );
    // In part order, whatever order the copies finished in.
    expect(parts.map((p) => p.PartNumber)).toEqual(Array.from({ length: 13 }, (_, i) => i + 1));
    expect(parts[12]).toEqual({ PartNumber: 13, ETag: '"e13"' });
  });

  test('copies objects up to 512 MiB with one CopyObject', async () => {
    size = 512 * 1024 ** 2;
    await store().copy({ bucket: 'landing', key: 'a.ndjson' }, { bucket: 'artifacts', key: 'quarantine/a.ndjson' });
    expect(copies().map((call) => call.headers['x-amz-copy-source-range'])).toEqual([undefined]);
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

    const uploadPart = jest.spyOn(local.s3, 'uploadPart');
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
    expect(uploadPart.mock.calls.length).toBeGreaterThanOrEqual(3);
    uploadPart.mockRestore();
    expect(summary).toEqual({ parts: expect.any(Number), bytes: Buffer.byteLength(expected) });
    expect(await local.getText('artifacts', 'out/large=1.ndjson')).toBe(expected);
    const head = await local.s3.headObject({ Bucket: 'artifacts', Key: 'out/large=1.ndjson' });
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
