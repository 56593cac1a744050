/**
 * Our S3 client (lambda/shared/aws/s3) against s3rver behind a SigV4-checking front (test/lambda/validate/local-s3.ts),
 * the operations s3rver lacks (UploadPartCopy, AbortMultipartUpload) and S3's odd answers against a signature-checking
 * fake endpoint (test/helpers/fake-aws.ts), and the XML reader with the response samples of the S3 API reference.
 */
import type { Readable } from 'node:stream';
import { AwsServiceError } from '../../../../lambda/shared/aws/client';
import {
  decodeXmlText,
  encodeXmlText,
  failedDespite200,
  parseS3Error,
  readS3Error,
  S3Client,
  xmlElements,
  xmlValue,
} from '../../../../lambda/shared/aws/s3';
import { clientOptions, type FakeAws, type FakeAwsAnswer, startFakeAws } from '../../../helpers/fake-aws';
import { LOCAL_S3_CREDENTIALS, type LocalS3, startLocalS3 } from '../../validate/local-s3';

const BUCKET = 'test-bucket';
const KMS_KEY_ARN = 'arn:aws:kms:eu-west-1:222222222222:key/11111111-2222-3333-4444-555555555555';

async function text(body: Readable): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of body) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

function xmlAnswer(body: string, status = 200, headers: Record<string, string> = {}): FakeAwsAnswer {
  return { status, headers: { 'content-type': 'application/xml', ...headers }, body };
}

// ---------------------------------------------------------------------------------------------------------------------
// The XML reader and error parsing, with the documented samples.
// ---------------------------------------------------------------------------------------------------------------------

/** GetObject error sample ("Error responses", Amazon S3 API reference). */
const NO_SUCH_KEY = `<?xml version="1.0" encoding="UTF-8"?>
<Error>
  <Code>NoSuchKey</Code>
  <Message>The resource you requested does not exist</Message>
  <Resource>/mybucket/myfoto.jpg</Resource>
  <RequestId>4442587FB7D0A2F9</RequestId>
</Error>`;

/** CopyObject's "200 OK with an error" sample (CopyObject, Amazon S3 API reference). */
const COPY_200_ERROR = `<?xml version="1.0" encoding="UTF-8"?>
<Error>
<Code>InternalError</Code>
<Message>We encountered an internal error. Please try again.</Message>
<RequestId>656c76696e6727732072657175657374</RequestId>
<HostId>Uuag1LuByRx9e6j5Onimru9pO4ZVKnJ2Qz7/C1NPcfTWAtRPfTaOFg==</HostId>
</Error>`;

/** ListObjectsV2 sample (ListObjectsV2, Amazon S3 API reference), truncated, with an Owner and an escaped key. */
const LIST_PAGE = `<?xml version="1.0" encoding="UTF-8"?>
<ListBucketResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/">
    <Name>bucket</Name>
    <Prefix/>
    <ContinuationToken>1ueGcxLPRx1Tr/XYExHnhbYLgveDs2J/wm36Hy4vbOwM=</ContinuationToken>
    <NextContinuationToken>1/ZXhhbXBsZS1jb250aW51YXRpb24tdG9rZW4+Jj0=</NextContinuationToken>
    <KeyCount>2</KeyCount>
    <MaxKeys>2</MaxKeys>
    <IsTruncated>true</IsTruncated>
    <Contents>
        <Key>happyface.jpg</Key>
        <LastModified>2014-11-21T19:40:05.000Z</LastModified>
        <ETag>&quot;70ee1738b6b21e2c8a43f3a5ab0eee71&quot;</ETag>
        <Size>11</Size>
        <Owner><ID>75aa57f09aa0c8caeab4f8c24e99d10f8e7faeebf76c078efc7c6caea54ba06a</ID><DisplayName>mtd</DisplayName></Owner>
        <StorageClass>STANDARD</StorageClass>
    </Contents>
    <Contents>
        <Key>a &amp; b &lt;c&gt; &#233;&#x1F600;.jpg</Key>
        <LastModified>2014-11-21T19:40:06.000Z</LastModified>
        <ETag>"becf17f89c30367a9a44495d62ed521a-1"</ETag>
        <Size>1111</Size>
        <StorageClass>STANDARD</StorageClass>
    </Contents>
</ListBucketResult>`;

describe('XML reader', () => {
  it('decodes the five entities and numeric references, once', () => {
    expect(decodeXmlText('&amp; &lt; &gt; &quot; &apos; &#233; &#x1F600; &#x60;')).toBe('& < > " \' é 😀 `');
    // Decoded once: an escaped entity stays an entity.
    expect(decodeXmlText('&amp;lt; &amp;amp;')).toBe('&lt; &amp;');
    expect(decodeXmlText('&unknown; & plain')).toBe('&unknown; & plain');
    expect(decodeXmlText(encodeXmlText(`<a href="x">'&'</a>`))).toBe(`<a href="x">'&'</a>`);
  });

  it('reads elements, empty and self-closing ones, and elements with attributes', () => {
    expect(xmlElements(LIST_PAGE, 'Contents')).toHaveLength(2);
    expect(xmlValue(LIST_PAGE, 'Prefix')).toBe('');
    expect(xmlValue(LIST_PAGE, 'Name')).toBe('bucket');
    expect(xmlValue(LIST_PAGE, 'Missing')).toBeUndefined();
    expect(xmlElements('<A x="1">one</A><A>two</A><A/><AB>no</AB>', 'A')).toEqual(['one', 'two', '']);
    expect(
      xmlValue(
        '<InitiateMultipartUploadResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><Bucket>b</Bucket><Key>k</Key><UploadId>VXBsb2FkIElE&amp;x</UploadId></InitiateMultipartUploadResult>',
        'UploadId',
      ),
    ).toBe('VXBsb2FkIElE&x');
  });

  it('reads an error document: code, message and request id', () => {
    expect(readS3Error(NO_SUCH_KEY)).toEqual({
      code: 'NoSuchKey',
      message: 'The resource you requested does not exist',
      requestId: '4442587FB7D0A2F9',
    });
    expect(readS3Error('<CopyObjectResult><ETag>"x"</ETag></CopyObjectResult>')).toBeUndefined();
    expect(readS3Error('')).toBeUndefined();
  });

  it('names an error without a document after its status, 404 as NotFound like the SDK', () => {
    const answer = (statusCode: number, body = '') => ({ statusCode, headers: {}, body: Buffer.from(body) });
    expect(parseS3Error(answer(404, NO_SUCH_KEY))).toEqual({
      code: 'NoSuchKey',
      message: 'The resource you requested does not exist',
    });
    expect(parseS3Error(answer(404)).code).toBe('NotFound');
    expect(parseS3Error(answer(403)).code).toBe('Forbidden');
    expect(parseS3Error(answer(400)).code).toBe('BadRequest');
    expect(parseS3Error(answer(412)).code).toBe('PreconditionFailed');
    expect(parseS3Error(answer(418, '<html>teapot</html>')).code).toBe('Http418');
  });

  it('turns a 200 answer with an error document, or without a body, into a retryable 503', () => {
    const answer = (body: string) => ({ statusCode: 200, headers: {}, body: Buffer.from(body) });
    const failed = failedDespite200(answer(COPY_200_ERROR));
    expect(failed.statusCode).toBe(503);
    expect(parseS3Error(failed)).toEqual({
      code: 'InternalError',
      message: 'We encountered an internal error. Please try again.',
    });
    const empty = failedDespite200(answer(''));
    expect(empty.statusCode).toBe(503);
    expect(parseS3Error(empty).code).toBe('InternalError');
    const success = answer(
      '<?xml version="1.0" encoding="UTF-8"?>\n<CopyObjectResult><LastModified>2009-10-28T22:32:00</LastModified><ETag>"9b2cf535f27731c974343645a3985328"</ETag></CopyObjectResult>',
    );
    expect(failedDespite200(success)).toBe(success);
  });
});

// ---------------------------------------------------------------------------------------------------------------------
// Against a signature-checking fake endpoint: answers s3rver cannot give.
// ---------------------------------------------------------------------------------------------------------------------

describe('S3Client against a signature-checking fake endpoint', () => {
  let fake: FakeAws;
  let answers: ((call: FakeAws['calls'][number]) => FakeAwsAnswer)[];
  beforeEach(async () => {
    answers = [];
    fake = await startFakeAws('s3', (call) => {
      const next = answers.shift();
      if (!next) throw new Error(`unexpected call ${call.method} ${call.path}`);
      return next(call);
    });
  });
  afterEach(() => fake.stop());

  const client = () => new S3Client(clientOptions(fake));

  it('parses a ListObjectsV2 page: objects, truncation and the continuation token', async () => {
    answers.push(() => xmlAnswer(LIST_PAGE));
    const page = await client().listObjectsV2({
      Bucket: 'bucket',
      Prefix: 'a b/',
      MaxKeys: 2,
      ContinuationToken: '1ueGcxLPRx1Tr/XYExHnhbYLgveDs2J/wm36Hy4vbOwM=',
    });
    expect(page).toEqual({
      Contents: [
        {
          Key: 'happyface.jpg',
          LastModified: new Date('2014-11-21T19:40:05.000Z'),
          ETag: '"70ee1738b6b21e2c8a43f3a5ab0eee71"',
          Size: 11,
          StorageClass: 'STANDARD',
        },
        {
          Key: 'a & b <c> é😀.jpg',
          LastModified: new Date('2014-11-21T19:40:06.000Z'),
          ETag: '"becf17f89c30367a9a44495d62ed521a-1"',
          Size: 1111,
          StorageClass: 'STANDARD',
        },
      ],
      IsTruncated: true,
      NextContinuationToken: '1/ZXhhbXBsZS1jb250aW51YXRpb24tdG9rZW4+Jj0=',
      KeyCount: 2,
    });
    const [call] = fake.calls;
    expect(call.method).toBe('GET');
    expect(call.path).toBe('/bucket');
    expect(Object.fromEntries(call.query)).toEqual({
      'list-type': '2',
      prefix: 'a b/',
      'max-keys': '2',
      'continuation-token': '1ueGcxLPRx1Tr/XYExHnhbYLgveDs2J/wm36Hy4vbOwM=',
    });
  });

  it('retries a CompleteMultipartUpload answered 200 with an error, then reads the result', async () => {
    answers.push(
      () => xmlAnswer(COPY_200_ERROR),
      () => xmlAnswer(''),
      (call) => {
        expect(call.body).toBe(
          '<CompleteMultipartUpload xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><Part><PartNumber>1</PartNumber><ETag>&quot;a&quot;</ETag></Part><Part><PartNumber>2</PartNumber><ETag>&quot;b&quot;</ETag></Part></CompleteMultipartUpload>',
        );
        return xmlAnswer(
          `<?xml version="1.0" encoding="UTF-8"?>
<CompleteMultipartUploadResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/">
   <Location>http://Example-Bucket.s3.region.amazonaws.com/Example-Object</Location>
   <Bucket>Example-Bucket</Bucket>
   <Key>Example-Object</Key>
   <ETag>"3858f62230ac3c915f300c664312c11f-9"</ETag>
</CompleteMultipartUploadResult>`,
          200,
          { 'x-amz-version-id': 'v2' },
        );
      },
    );
    const result = await client().completeMultipartUpload({
      Bucket: 'bucket',
      Key: 'dir/object.csv',
      UploadId: 'up 1',
      MultipartUpload: {
        Parts: [
          { PartNumber: 1, ETag: '"a"' },
          { PartNumber: 2, ETag: '"b"' },
        ],
      },
    });
    expect(result).toEqual({
      Location: 'http://Example-Bucket.s3.region.amazonaws.com/Example-Object',
      Bucket: 'Example-Bucket',
      Key: 'Example-Object',
      ETag: '"3858f62230ac3c915f300c664312c11f-9"',
      VersionId: 'v2',
    });
    expect(fake.calls).toHaveLength(3);
    expect(fake.calls[0].path).toBe('/bucket/dir/object.csv');
    expect(fake.calls[0].query.get('uploadId')).toBe('up 1');
  });

  it('fails a CopyObject that keeps answering 200 with an error, with the embedded error', async () => {
    for (let i = 0; i < 3; i++) answers.push(() => xmlAnswer(COPY_200_ERROR));
    const error = await client()
      .copyObject({ Bucket: 'to', Key: 'x', CopySource: 'from/a%20b.json' })
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(AwsServiceError);
    expect(error).toMatchObject({
      name: 'InternalError',
      message: 'We encountered an internal error. Please try again.',
      $metadata: { httpStatusCode: 503, attempts: 3 },
    });
  });

  it('copies a part with UploadPartCopy: source and range headers, ETag from CopyPartResult', async () => {
    answers.push(() =>
      xmlAnswer(
        '<CopyPartResult><LastModified>2009-10-28T22:32:00.000Z</LastModified><ETag>&quot;9b2cf535f27731c974343645a3985328&quot;</ETag></CopyPartResult>',
        200,
        { 'x-amz-copy-source-version-id': 'v1' },
      ),
    );
    const result = await client().uploadPartCopy({
      Bucket: 'artifacts',
      Key: 'quarantine/big file.ndjson',
      UploadId: 'u1',
      PartNumber: 3,
      CopySource: 'landing/big%20file.ndjson?versionId=v1',
      CopySourceRange: 'bytes=0-1073741823',
    });
    expect(result).toEqual({
      CopyPartResult: { ETag: '"9b2cf535f27731c974343645a3985328"', LastModified: new Date('2009-10-28T22:32:00Z') },
      CopySourceVersionId: 'v1',
    });
    const [call] = fake.calls;
    expect([call.method, call.path, call.query.get('partNumber'), call.query.get('uploadId')]).toEqual([
      'PUT',
      '/artifacts/quarantine/big%20file.ndjson',
      '3',
      'u1',
    ]);
    expect(call.headers['x-amz-copy-source']).toBe('landing/big%20file.ndjson?versionId=v1');
    expect(call.headers['x-amz-copy-source-range']).toBe('bytes=0-1073741823');
  });

  it('aborts a multipart upload with DELETE ?uploadId', async () => {
    answers.push(() => ({ status: 204, body: '' }));
    await client().abortMultipartUpload({ Bucket: 'b', Key: 'k', UploadId: 'u+1/=' });
    expect(fake.calls[0].method).toBe('DELETE');
    expect(fake.calls[0].query.get('uploadId')).toBe('u+1/=');
  });

  it('names a body-less HEAD error after its status, with the request id', async () => {
    answers.push(() => ({ status: 403, body: '' }));
    await expect(client().headObject({ Bucket: 'b', Key: 'k' })).rejects.toMatchObject({
      name: 'Forbidden',
      $metadata: { httpStatusCode: 403, requestId: 'req-1' },
    });
  });
});

// ---------------------------------------------------------------------------------------------------------------------
// Addressing: virtual-hosted on the public endpoint, path style on a configured one.
// ---------------------------------------------------------------------------------------------------------------------

describe('addressing', () => {
  const publicClient = (options = {}) =>
    new S3Client({ region: 'eu-west-1', credentials: LOCAL_S3_CREDENTIALS, ...options });

  /** The request the client would send (the call itself is answered locally). */
  async function requestOf(client: S3Client, key = 'dir/a b=c+d é.json', bucket = 'my-bucket') {
    const send = jest
      .spyOn(client.client, 'send')
      .mockResolvedValue({ statusCode: 200, headers: {}, body: Buffer.alloc(0) });
    await client.putObject({ Bucket: bucket, Key: key, Body: 'x' });
    return send.mock.calls[0][0];
  }

  it('addresses buckets by host name on the public endpoint, keys encoded segment by segment', async () => {
    const request = await requestOf(publicClient());
    expect(request.hostPrefix).toBe('my-bucket.');
    expect(request.path).toBe('/dir/a%20b%3Dc%2Bd%20%C3%A9.json');
    const url = new URL(await publicClient().presignGetObject({ Bucket: 'my-bucket', Key: 'k' }, 60));
    expect(url.host).toBe('my-bucket.s3.eu-west-1.amazonaws.com');
  });

  it('addresses by path a bucket whose name is no host label, and on a configured endpoint', async () => {
    const dotted = await requestOf(publicClient(), 'k', 'my.dotted.bucket');
    expect([dotted.hostPrefix, dotted.path]).toEqual([undefined, '/my.dotted.bucket/k']);
    const local = await requestOf(publicClient({ endpoint: 'http://127.0.0.1:9' }));
    expect([local.hostPrefix, local.path]).toEqual([undefined, '/my-bucket/dir/a%20b%3Dc%2Bd%20%C3%A9.json']);
    expect(
      await requestOf(publicClient({ endpoint: 'http://localstack:4566', forcePathStyle: false }), 'k'),
    ).toMatchObject({ hostPrefix: 'my-bucket.', path: '/k' });
  });
});

// ---------------------------------------------------------------------------------------------------------------------
// Against s3rver, every request's signature checked.
// ---------------------------------------------------------------------------------------------------------------------

describe('S3Client against s3rver (signatures checked)', () => {
  let local: LocalS3;
  let s3: S3Client;
  beforeAll(async () => {
    local = await startLocalS3([BUCKET, 'other-bucket']);
    s3 = local.s3;
  });
  afterAll(() => local?.stop());

  it('is refused when signed with a wrong secret (so these tests can fail)', async () => {
    const wrong = local.client({ credentials: { ...LOCAL_S3_CREDENTIALS, secretAccessKey: 'not-the-secret' } });
    await expect(wrong.putObject({ Bucket: BUCKET, Key: 'refused.txt', Body: 'x' })).rejects.toMatchObject({
      name: 'SignatureDoesNotMatch',
      $metadata: { httpStatusCode: 403 },
    });
    await expect(wrong.getObject({ Bucket: BUCKET, Key: 'refused.txt' })).rejects.toMatchObject({
      name: 'SignatureDoesNotMatch',
    });
    expect(await local.list(BUCKET, 'refused')).toEqual([]);
  });

  const keys = [
    'plain/file.ndjson',
    'spaces/a file with spaces.csv',
    'hive/ingest_date=2026-11-22/run_id=r:1/part=0.json',
    'plus/a+b+c.txt',
    'unicode/é ü ß 日本語 😀.txt',
    "punctuation/!'()*~@$&,;[].txt",
    'percent/100% done %41.txt',
  ];

  it.each(keys)('puts, heads, gets and lists %s', async (key) => {
    const body = `body of ${key}\n`;
    const put = await s3.putObject({ Bucket: BUCKET, Key: key, Body: body, ContentType: 'text/plain; charset=utf-8' });
    expect(put.ETag).toMatch(/^"[0-9a-f]{32}"$/);

    const head = await s3.headObject({ Bucket: BUCKET, Key: key });
    expect(head).toMatchObject({
      ContentLength: Buffer.byteLength(body),
      ContentType: 'text/plain; charset=utf-8',
      ETag: put.ETag,
    });
    expect(head.LastModified).toBeInstanceOf(Date);

    const got = await s3.getObject({ Bucket: BUCKET, Key: key });
    expect(await text(got.Body)).toBe(body);
    // The AWS SDK reads the same object under the same key.
    expect(await local.getText(BUCKET, key)).toBe(body);

    const page = await s3.listObjectsV2({ Bucket: BUCKET, Prefix: key });
    expect(page.Contents.map((object) => object.Key)).toContain(key);
    expect(page.Contents.find((object) => object.Key === key)).toMatchObject({ Size: Buffer.byteLength(body) });
  });

  it('reads a byte range', async () => {
    await s3.putObject({ Bucket: BUCKET, Key: 'range/digits.txt', Body: '0123456789' });
    const got = await s3.getObject({ Bucket: BUCKET, Key: 'range/digits.txt', Range: 'bytes=2-5' });
    expect(await text(got.Body)).toBe('2345');
    expect(got.ContentRange).toBe('bytes 2-5/10');
    expect(got.ContentLength).toBe(4);
  });

  it('fails a missing key with NoSuchKey, a missing object on HEAD with NotFound, a missing bucket with NoSuchBucket', async () => {
    const missing = await s3.getObject({ Bucket: BUCKET, Key: 'missing/é x.txt' }).catch((e: unknown) => e);
    expect(missing).toBeInstanceOf(AwsServiceError);
    expect(missing).toMatchObject({
      name: 'NoSuchKey',
      message: 'The specified key does not exist.',
      $metadata: { httpStatusCode: 404, attempts: 1 },
    });
    await expect(s3.headObject({ Bucket: BUCKET, Key: 'missing/é x.txt' })).rejects.toMatchObject({
      name: 'NotFound',
      $metadata: { httpStatusCode: 404 },
    });
    await expect(s3.listObjectsV2({ Bucket: 'no-such-bucket' })).rejects.toMatchObject({ name: 'NoSuchBucket' });
  });

  it('writes an object in three parts with a multipart upload', async () => {
    const key = 'multipart/big file=1.bin';
    const parts = [Buffer.alloc(5 * 1024 * 1024, 'a'), Buffer.alloc(5 * 1024 * 1024, 'b'), Buffer.from('tail é')];
    const { UploadId } = await s3.createMultipartUpload({
      Bucket: BUCKET,
      Key: key,
      ContentType: 'application/x-test',
    });
    expect(UploadId).toMatch(/^[0-9a-f]+$/);
    const etags = await Promise.all(
      parts.map((body, index) =>
        s3.uploadPart({ Bucket: BUCKET, Key: key, UploadId, PartNumber: index + 1, Body: body }),
      ),
    );
    expect(etags.every((part) => /^"[0-9a-f]{32}"$/.test(part.ETag ?? ''))).toBe(true);
    const completed = await s3.completeMultipartUpload({
      Bucket: BUCKET,
      Key: key,
      UploadId,
      MultipartUpload: { Parts: etags.map((part, index) => ({ PartNumber: index + 1, ETag: part.ETag })) },
    });
    // S3 answers "<md5 of the part md5s>-3"; s3rver the md5 of the whole object.
    expect(completed).toMatchObject({ Bucket: BUCKET, Key: key, ETag: expect.stringMatching(/^"[0-9a-f]{32}(-3)?"$/) });
    const stored = await local.getBytes(BUCKET, key);
    expect(stored.equals(Buffer.concat(parts))).toBe(true);
    expect((await s3.headObject({ Bucket: BUCKET, Key: key })).ContentType).toBe('application/x-test');
  });

  it('copies an object to another bucket (CopySource with an encoded key)', async () => {
    const key = 'copy/ingest_date=2026-11-22/a file é.json';
    await s3.putObject({ Bucket: BUCKET, Key: key, Body: '{"copied":true}' });
    // As S3ObjectStore builds it: URL-encoded, "/" and "=" literal.
    const copySource = `${BUCKET}/${encodeURIComponent(key).replace(/%2F/g, '/').replace(/%3D/g, '=')}`;
    const copied = await s3.copyObject({ Bucket: 'other-bucket', Key: 'copies/x y.json', CopySource: copySource });
    expect(copied.CopyObjectResult?.ETag).toMatch(/^"[0-9a-f]{32}"$/);
    expect(copied.CopyObjectResult?.LastModified).toBeInstanceOf(Date);
    expect(await local.getText('other-bucket', 'copies/x y.json')).toBe('{"copied":true}');
    await expect(
      s3.copyObject({ Bucket: 'other-bucket', Key: 'copies/z', CopySource: `${BUCKET}/copy/missing` }),
    ).rejects.toMatchObject({ name: 'NoSuchKey' });
  });

  it('lists in pages of MaxKeys, following the continuation token', async () => {
    const names = ['a', 'b c', 'd=e', 'f+g', 'h/i'].map((name) => `paged/${name}.txt`);
    for (const key of names) await s3.putObject({ Bucket: BUCKET, Key: key, Body: key });
    const pages: { keys: (string | undefined)[]; truncated?: boolean; count?: number }[] = [];
    let token: string | undefined;
    do {
      const page = await s3.listObjectsV2({ Bucket: BUCKET, Prefix: 'paged/', MaxKeys: 2, ContinuationToken: token });
      pages.push({
        keys: page.Contents.map((object) => object.Key),
        truncated: page.IsTruncated,
        count: page.KeyCount,
      });
      token = page.IsTruncated ? page.NextContinuationToken : undefined;
    } while (token);
    expect(pages.map((page) => page.count)).toEqual([2, 2, 1]);
    expect(pages.map((page) => page.truncated)).toEqual([true, true, false]);
    expect(pages.flatMap((page) => page.keys)).toEqual([...names].sort());
  });

  it('presigns a PUT with the content type and SSE-KMS as signed headers, usable with fetch', async () => {
    const key = 'presigned/ingest_date=2026-11-22/upload é.csv';
    const { url, headers } = await s3.presignPutObject(
      { Bucket: BUCKET, Key: key, ContentType: 'text/csv', ServerSideEncryption: 'aws:kms', SSEKMSKeyId: KMS_KEY_ARN },
      300,
    );
    expect(headers).toEqual({
      'Content-Type': 'text/csv',
      'x-amz-server-side-encryption': 'aws:kms',
      'x-amz-server-side-encryption-aws-kms-key-id': KMS_KEY_ARN,
    });
    const signed = new URL(url).searchParams.get('X-Amz-SignedHeaders')?.split(';');
    expect(signed).toEqual([
      'content-type',
      'host',
      'x-amz-server-side-encryption',
      'x-amz-server-side-encryption-aws-kms-key-id',
    ]);
    // Another content type, or no encryption header: refused.
    const otherType = await fetch(url, {
      method: 'PUT',
      headers: { ...headers, 'Content-Type': 'text/html' },
      body: 'x',
    });
    expect(otherType.status).toBe(403);
    expect(await otherType.text()).toContain('<Code>SignatureDoesNotMatch</Code>');
    const { 'x-amz-server-side-encryption': _dropped, ...withoutSse } = headers;
    expect((await fetch(url, { method: 'PUT', headers: withoutSse, body: 'x' })).status).toBe(403);

    local.requests.length = 0;
    const response = await fetch(url, { method: 'PUT', headers, body: 'id,value\n1,é\n' });
    expect(response.status).toBe(200);
    expect(local.requests[0].headers).toMatchObject({
      'x-amz-server-side-encryption': 'aws:kms',
      'x-amz-server-side-encryption-aws-kms-key-id': KMS_KEY_ARN,
    });
    expect(await local.getText(BUCKET, key)).toBe('id,value\n1,é\n');
  });

  it('presigns a GET with a download file name, usable with fetch', async () => {
    const key = 'presigned/exports/x é.csv';
    await s3.putObject({ Bucket: BUCKET, Key: key, Body: 'a,b\r\n', ContentType: 'text/csv' });
    const url = await s3.presignGetObject(
      { Bucket: BUCKET, Key: key, ResponseContentDisposition: 'attachment; filename="clicks-1.csv"' },
      60,
    );
    expect(new URL(url).searchParams.get('X-Amz-Expires')).toBe('60');
    const response = await fetch(url);
    expect(response.status).toBe(200);
    expect(response.headers.get('content-disposition')).toBe('attachment; filename="clicks-1.csv"');
    expect(await response.text()).toBe('a,b\r\n');

    // A URL changed after signing is refused.
    const tampered = url.replace('clicks-1.csv', 'clicks-2.csv');
    expect((await fetch(tampered)).status).toBe(403);
    const wrong = local.client({ credentials: { ...LOCAL_S3_CREDENTIALS, secretAccessKey: 'nope' } });
    const forged = await wrong.presignGetObject({ Bucket: BUCKET, Key: key }, 60);
    expect((await fetch(forged)).status).toBe(403);
  });
});
