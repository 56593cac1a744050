/**
 * Our presigned S3 URLs (lambda/shared/aws/s3-presign): addressing, and the URLs used with fetch against s3rver behind
 * a SigV4-checking front (test/lambda/validate/local-s3.ts), which refuses what S3 would refuse.
 */
import { GetObjectCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { S3Presigner } from '../../../../lambda/shared/aws/s3-presign';
import { LOCAL_S3_CREDENTIALS, type LocalS3, startLocalS3 } from '../../validate/local-s3';

const BUCKET = 'test-bucket';
const KMS_KEY_ARN = 'arn:aws:kms:eu-west-1:222222222222:key/11111111-2222-3333-4444-555555555555';

describe('addressing', () => {
  const presigner = (options = {}) =>
    new S3Presigner({ region: 'eu-west-1', credentials: LOCAL_S3_CREDENTIALS, ...options });
  const urlOf = async (client: S3Presigner, bucket = 'my-bucket', key = 'dir/a b=c+d é.json') =>
    new URL(await client.presignGetObject({ Bucket: bucket, Key: key }, 60));

  it('addresses buckets by host name on the public endpoint, keys encoded segment by segment', async () => {
    const url = await urlOf(presigner());
    expect(url.host).toBe('my-bucket.s3.eu-west-1.amazonaws.com');
    expect(url.pathname).toBe('/dir/a%20b%3Dc%2Bd%20%C3%A9.json');
  });

  it('addresses by path a bucket whose name is no host label, and on a configured endpoint', async () => {
    const dotted = await urlOf(presigner(), 'my.dotted.bucket', 'k');
    expect([dotted.host, dotted.pathname]).toEqual(['s3.eu-west-1.amazonaws.com', '/my.dotted.bucket/k']);
    const local = await urlOf(presigner({ endpoint: 'http://127.0.0.1:9' }));
    expect([local.host, local.pathname]).toEqual(['127.0.0.1:9', '/my-bucket/dir/a%20b%3Dc%2Bd%20%C3%A9.json']);
    const virtual = await urlOf(
      presigner({ endpoint: 'http://localstack:4566', forcePathStyle: false }),
      'my-bucket',
      'k',
    );
    expect([virtual.host, virtual.pathname]).toEqual(['my-bucket.localstack:4566', '/k']);
  });
});

describe('presigned URLs against s3rver (signatures checked)', () => {
  let local: LocalS3;
  beforeAll(async () => {
    local = await startLocalS3([BUCKET]);
  });
  afterAll(() => local?.stop());

  it('refuses a request signed with a wrong secret (so these tests can fail)', async () => {
    const wrong = local.sdkClient({ credentials: { ...LOCAL_S3_CREDENTIALS, secretAccessKey: 'not-the-secret' } });
    await expect(
      wrong.send(new PutObjectCommand({ Bucket: BUCKET, Key: 'refused.txt', Body: 'x' })),
    ).rejects.toMatchObject({ name: 'SignatureDoesNotMatch', $metadata: { httpStatusCode: 403 } });
    await expect(wrong.send(new GetObjectCommand({ Bucket: BUCKET, Key: 'refused.txt' }))).rejects.toMatchObject({
      name: 'SignatureDoesNotMatch',
    });
    expect(await local.list(BUCKET, 'refused')).toEqual([]);
  });

  it('presigns a PUT with the content type and SSE-KMS as signed headers, usable with fetch', async () => {
    const key = 'presigned/ingest_date=2026-11-22/upload é.csv';
    const { url, headers } = await local.presigner.presignPutObject(
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
    await local.s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: key, Body: 'a,b\r\n', ContentType: 'text/csv' }));
    const url = await local.presigner.presignGetObject(
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
    const wrong = local.presignerWith({ credentials: { ...LOCAL_S3_CREDENTIALS, secretAccessKey: 'nope' } });
    const forged = await wrong.presignGetObject({ Bucket: BUCKET, Key: key }, 60);
    expect((await fetch(forged)).status).toBe(403);
  });
});
