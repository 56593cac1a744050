import { Sha256 } from '@aws-crypto/sha256-js';
import { SignatureV4 } from '@smithy/signature-v4';
import {
  AwsClient,
  AwsServiceError,
  environmentCredentials,
  isRetryable,
  JsonRpcClient,
  parseJsonError,
} from '../../../../lambda/shared/aws/client';
import { encodePath, presignUrl, signRequest, uriEncode } from '../../../../lambda/shared/aws/sigv4';
import { FAKE_CREDENTIALS, FAKE_REGION, type FakeAws, startFakeAws } from '../../../helpers/fake-aws';

const NOW = new Date('2026-11-22T10:11:12.345Z');

/** The AWS SDK's signer: the reference our signatures must equal. */
function sdkSigner(service: string) {
  return new SignatureV4({
    credentials: FAKE_CREDENTIALS,
    region: FAKE_REGION,
    service,
    sha256: Sha256,
    uriEscapePath: service !== 's3',
    // Only S3 wants the payload hash as a header; the SDK's other clients do not send it either.
    applyChecksum: service === 's3',
  });
}

describe('signRequest matches the AWS SDK signer', () => {
  const cases: {
    service: string;
    method: string;
    path: string;
    query: Record<string, string>;
    body: string;
    headers?: Record<string, string>;
  }[] = [
    { service: 'rds-data', method: 'POST', path: '/Execute', query: {}, body: '{"sql":"select 1"}' },
    {
      service: 'dynamodb',
      method: 'POST',
      path: '/',
      query: {},
      body: '{"TableName":"t","Key":{"id":{"S":"ä ö"}}}',
      headers: { 'content-type': 'application/x-amz-json-1.0', 'x-amz-target': 'DynamoDB_20120810.GetItem' },
    },
    {
      service: 'glue',
      method: 'GET',
      path: '/a%20b/c',
      query: { b: '2', a: 'x y', 'a!': "it's*" },
      body: '',
    },
  ];
  it.each(cases)('$service $method $path', async ({ service, method, path, query, body, headers: given }) => {
    const headers = { ...given, 'x-custom': '  a   b ' };
    const ours = signRequest(
      { method, host: `${service}.eu-west-1.amazonaws.com`, path, query, headers, body },
      { service, region: FAKE_REGION, credentials: FAKE_CREDENTIALS, now: NOW },
    );
    const sdk = await sdkSigner(service).sign(
      {
        method,
        protocol: 'https:',
        hostname: `${service}.eu-west-1.amazonaws.com`,
        // The SDK signer takes the path as sent on the wire, like ours.
        path,
        query,
        headers: { ...headers, host: `${service}.eu-west-1.amazonaws.com` },
        body,
      },
      { signingDate: NOW },
    );
    expect(ours.authorization).toBe(sdk.headers.authorization);
    expect(ours['x-amz-security-token']).toBe(FAKE_CREDENTIALS.sessionToken);
  });

  it('signs S3 requests with the payload hash header and the path as sent', async () => {
    const path = `/bucket/${encodePath('landing/impressions/ingest_date=2026-11-22/a b+c.json')}`;
    const ours = signRequest(
      { method: 'PUT', host: 's3.eu-west-1.amazonaws.com', path, body: 'hello' },
      { service: 's3', region: FAKE_REGION, credentials: FAKE_CREDENTIALS, now: NOW },
    );
    const sdk = await sdkSigner('s3').sign(
      {
        method: 'PUT',
        protocol: 'https:',
        hostname: 's3.eu-west-1.amazonaws.com',
        path: '/bucket/landing/impressions/ingest_date%3D2026-11-22/a%20b%2Bc.json',
        headers: { host: 's3.eu-west-1.amazonaws.com', 'x-amz-content-sha256': ours['x-amz-content-sha256'] },
        body: 'hello',
      },
      { signingDate: NOW },
    );
    expect(ours.authorization).toBe(sdk.headers.authorization);
    expect(ours['x-amz-content-sha256']).toBe('2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824');
  });

  it('presigns like the SDK, keeping the given headers signed as headers', async () => {
    const headers = { 'content-type': 'text/csv', 'x-amz-server-side-encryption': 'aws:kms' };
    const url = new URL(
      presignUrl(
        { method: 'PUT', host: 'bucket.s3.eu-west-1.amazonaws.com', path: '/k/a.csv', headers },
        { service: 's3', region: FAKE_REGION, credentials: FAKE_CREDENTIALS, now: NOW },
        900,
      ),
    );
    const sdk = await sdkSigner('s3').presign(
      {
        method: 'PUT',
        protocol: 'https:',
        hostname: 'bucket.s3.eu-west-1.amazonaws.com',
        path: '/k/a.csv',
        // As the SDK's S3 presigner does: the payload is unsigned, and that header itself is neither sent nor signed.
        headers: { ...headers, host: 'bucket.s3.eu-west-1.amazonaws.com', 'x-amz-content-sha256': 'UNSIGNED-PAYLOAD' },
        query: {},
      },
      {
        signingDate: NOW,
        expiresIn: 900,
        unsignableHeaders: new Set(['x-amz-content-sha256']),
        unhoistableHeaders: new Set(['x-amz-server-side-encryption', 'x-amz-content-sha256']),
        signableHeaders: new Set(['content-type']),
      },
    );
    expect(url.searchParams.get('X-Amz-SignedHeaders')).toBe('content-type;host;x-amz-server-side-encryption');
    expect(url.searchParams.get('X-Amz-Signature')).toBe(sdk.query!['X-Amz-Signature']);
    expect(url.searchParams.get('X-Amz-Expires')).toBe('900');
    expect(url.searchParams.get('X-Amz-Security-Token')).toBe(FAKE_CREDENTIALS.sessionToken);
  });

  it('refuses a presign expiry beyond 7 days', () => {
    expect(() =>
      presignUrl(
        { method: 'GET', host: 'h', path: '/' },
        { service: 's3', region: FAKE_REGION, credentials: FAKE_CREDENTIALS },
        604801,
      ),
    ).toThrow(/1 to 604800 seconds/);
  });

  it('encodes as RFC 3986 wants', () => {
    expect(uriEncode("a b!'()*~_.-")).toBe('a%20b%21%27%28%29%2A~_.-');
    expect(encodePath('a b/c=d/é')).toBe('a%20b/c%3Dd/%C3%A9');
  });
});

describe('environmentCredentials', () => {
  it('reads the Lambda role credentials', () => {
    expect(
      environmentCredentials({ AWS_ACCESS_KEY_ID: 'A', AWS_SECRET_ACCESS_KEY: 'S', AWS_SESSION_TOKEN: 'T' }),
    ).toEqual({ accessKeyId: 'A', secretAccessKey: 'S', sessionToken: 'T' });
  });
  it('fails clearly without them', () => {
    expect(() => environmentCredentials({})).toThrow(/AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY are not set/);
  });
});

describe('AwsClient against a signature-checking endpoint', () => {
  let fake: FakeAws;
  let answers: ((call: { target?: string }) => { status?: number; headers?: Record<string, string>; body?: object })[];

  beforeEach(async () => {
    answers = [];
    fake = await startFakeAws('dynamodb', (call) => {
      const next = answers.shift();
      return next ? next(call) : { body: {} };
    });
  });
  afterEach(() => fake.stop());

  const client = (maxAttempts = 3) =>
    new JsonRpcClient('dynamodb', 'DynamoDB_20120810', '1.0', {
      endpoint: fake.endpoint,
      region: FAKE_REGION,
      credentials: FAKE_CREDENTIALS,
      maxAttempts,
      retryBaseDelayMs: 1,
    });

  it('sends a signed JSON RPC call and parses the answer', async () => {
    answers.push(() => ({ body: { Item: { id: { S: 'x' } } } }));
    const result = await client().call<{ Item: unknown }>('GetItem', { TableName: 't', Key: { id: { S: 'x' } } });
    expect(result).toEqual({ Item: { id: { S: 'x' } } });
    expect(fake.calls).toHaveLength(1);
    expect(fake.calls[0].target).toBe('DynamoDB_20120810.GetItem');
    expect(fake.calls[0].headers['content-type']).toBe('application/x-amz-json-1.0');
    expect(fake.calls[0].json).toEqual({ TableName: 't', Key: { id: { S: 'x' } } });
  });

  it('retries throttling and 5xx answers, then succeeds', async () => {
    answers.push(
      () => ({
        status: 400,
        body: { __type: 'com.amazonaws.dynamodb.v20120810#ThrottlingException', message: 'slow down' },
      }),
      () => ({ status: 503, body: { message: 'unavailable' } }),
      () => ({ body: { ok: true } }),
    );
    await expect(client().call('GetItem', {})).resolves.toEqual({ ok: true });
    expect(fake.calls).toHaveLength(3);
  });

  it('gives up after maxAttempts with the service error, named after its code', async () => {
    for (let i = 0; i < 3; i++)
      answers.push(() => ({ status: 500, body: { __type: 'InternalServerError', message: 'boom' } }));
    const error = await client()
      .call('GetItem', {})
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(AwsServiceError);
    expect(error).toMatchObject({ name: 'InternalServerError', message: 'boom', $fault: 'server' });
    expect((error as AwsServiceError).$metadata).toMatchObject({
      httpStatusCode: 500,
      attempts: 3,
      requestId: 'req-3',
    });
  });

  it('does not retry a client error', async () => {
    answers.push(() => ({
      status: 400,
      headers: { 'x-amzn-errortype': 'ConditionalCheckFailedException:http://internal.amazon.com/' },
      body: { message: 'The conditional request failed' },
    }));
    const error = await client()
      .call('PutItem', {})
      .catch((e: unknown) => e);
    expect(error).toMatchObject({ name: 'ConditionalCheckFailedException', message: 'The conditional request failed' });
    expect(fake.calls).toHaveLength(1);
  });

  it('is rejected by the endpoint when signed with other credentials (the check can fail)', async () => {
    const wrong = new JsonRpcClient('dynamodb', 'DynamoDB_20120810', '1.0', {
      endpoint: fake.endpoint,
      region: FAKE_REGION,
      credentials: { ...FAKE_CREDENTIALS, secretAccessKey: 'not-the-secret' },
      maxAttempts: 1,
    });
    await expect(wrong.call('GetItem', {})).rejects.toMatchObject({ name: 'InvalidSignatureException' });
  });

  it('retries network errors', async () => {
    const dead = new AwsClient('dynamodb', parseJsonError, {
      endpoint: 'http://127.0.0.1:1',
      region: FAKE_REGION,
      credentials: FAKE_CREDENTIALS,
      maxAttempts: 2,
      retryBaseDelayMs: 1,
    });
    await expect(dead.send({ method: 'POST' })).rejects.toMatchObject({ code: 'ECONNREFUSED' });
  });
});

describe('endpoints and errors', () => {
  it('uses the public endpoint of the region, and the China partition suffix', () => {
    const options = { credentials: FAKE_CREDENTIALS };
    expect(new AwsClient('rds-data', parseJsonError, { ...options, region: 'eu-west-1' }).endpoint.href).toBe(
      'https://rds-data.eu-west-1.amazonaws.com/',
    );
    expect(new AwsClient('sqs', parseJsonError, { ...options, region: 'cn-north-1' }).endpoint.href).toBe(
      'https://sqs.cn-north-1.amazonaws.com.cn/',
    );
  });

  it('fails clearly without a region', () => {
    const saved = { AWS_REGION: process.env.AWS_REGION, AWS_DEFAULT_REGION: process.env.AWS_DEFAULT_REGION };
    delete process.env.AWS_REGION;
    delete process.env.AWS_DEFAULT_REGION;
    try {
      const client = new AwsClient('sqs', parseJsonError);
      expect(() => client.endpoint).toThrow(/No AWS region for sqs/);
    } finally {
      Object.assign(process.env, saved);
    }
  });

  it('classifies retryable errors like the SDK standard mode', () => {
    const error = (code: string, status: number) => new AwsServiceError({ code, message: '' }, status, undefined, 1);
    expect(isRetryable(error('ProvisionedThroughputExceededException', 400))).toBe(true);
    expect(isRetryable(error('Whatever', 502))).toBe(true);
    expect(isRetryable(error('ValidationException', 400))).toBe(false);
    expect(isRetryable(Object.assign(new Error('reset'), { code: 'ECONNRESET' }))).toBe(true);
    expect(isRetryable(new Error('plain'))).toBe(false);
  });
});
