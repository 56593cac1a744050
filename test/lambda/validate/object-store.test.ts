import {
  CompleteMultipartUploadCommand,
  CopyObjectCommand,
  CreateMultipartUploadCommand,
  HeadObjectCommand,
  S3Client,
  UploadPartCopyCommand,
} from '@aws-sdk/client-s3';
import { mockClient } from 'aws-sdk-client-mock';
import { ObjectWriter, type PartSink, S3ObjectStore } from '../../../lambda/validate/object-store';

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

describe('S3ObjectStore.copy', () => {
  const s3 = mockClient(S3Client);
  beforeEach(() => s3.reset());

  test('copies with CopyObject, the key URL-encoded except "/", "=" and ":"', async () => {
    s3.on(HeadObjectCommand).resolves({ ContentLength: 1234 });
    s3.on(CopyObjectCommand).resolves({});
    await new S3ObjectStore(new S3Client({ region: 'eu-west-1' })).copy(
      { bucket: 'landing', key: 'impressions/ingest_date=2026-11-22/a b+c?.json', versionId: 'v 1' },
      { bucket: 'artifacts', key: 'quarantine/x' },
    );
    expect(s3.commandCalls(CopyObjectCommand)[0].args[0].input).toEqual({
      Bucket: 'artifacts',
      Key: 'quarantine/x',
      CopySource: 'landing/impressions/ingest_date=2026-11-22/a%20b%2Bc%3F.json?versionId=v%201',
    });
  });

  test('copies objects above 5 GiB in 1 GiB UploadPartCopy ranges', async () => {
    const size = 6 * 1024 ** 3 + 10;
    s3.on(HeadObjectCommand).resolves({ ContentLength: size });
    s3.on(CreateMultipartUploadCommand).resolves({ UploadId: 'u1' });
    s3.on(UploadPartCopyCommand).callsFake((input) => ({ CopyPartResult: { ETag: `"e${input.PartNumber}"` } }));
    s3.on(CompleteMultipartUploadCommand).resolves({});
    await new S3ObjectStore(new S3Client({ region: 'eu-west-1' })).copy(
      { bucket: 'landing', key: 'big.ndjson' },
      { bucket: 'artifacts', key: 'quarantine/big.ndjson' },
    );
    const ranges = s3.commandCalls(UploadPartCopyCommand).map((call) => call.args[0].input.CopySourceRange);
    expect(ranges).toHaveLength(7);
    expect(ranges[0]).toBe(`bytes=0-${1024 ** 3 - 1}`);
    expect(ranges[6]).toBe(`bytes=${6 * 1024 ** 3}-${size - 1}`);
    expect(s3.commandCalls(CompleteMultipartUploadCommand)[0].args[0].input.MultipartUpload?.Parts?.[6]).toEqual({
      PartNumber: 7,
      ETag: '"e7"',
    });
  });
});
