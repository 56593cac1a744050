import { logger } from '../../../lambda/shared/logger';
import { proxyEvent } from '../mart-query/mart-fixture';
import { startLocalS3 } from '../validate/local-s3';

process.env.LANDING_BUCKET = 'dp-dev-landing-222222222222-eu-west-1';
process.env.KMS_KEY_ARN = 'arn:aws:kms:eu-west-1:222222222222:key/11111111-2222-3333-4444-555555555555';
process.env.DATASETS = JSON.stringify(['clicks', 'impressions']);
process.env.URL_EXPIRY_SECONDS = '900';
process.env.MAX_UPLOAD_BYTES = String(100 * 1024 * 1024);
process.env.POWERTOOLS_LOG_LEVEL = 'SILENT';
process.env.AWS_REGION = 'eu-west-1';
// The presigner signs locally: any credentials will do, no request leaves the process.
process.env.AWS_ACCESS_KEY_ID = 'AKIAIOSFODNN7EXAMPLE';
process.env.AWS_SECRET_ACCESS_KEY = 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY';

type HandlerModule = typeof import('../../../lambda/upload-url/handler');
let uploadUrl: HandlerModule;
beforeAll(async () => {
  uploadUrl = await import('../../../lambda/upload-url/handler');
});

function uploadEvent(dataset: string, body: string | null) {
  return proxyEvent({
    resource: '/v1/datasets/{dataset}/uploads',
    path: `/v1/datasets/${encodeURIComponent(dataset)}/uploads`,
    httpMethod: 'POST',
    pathParameters: { dataset },
    body,
  });
}

async function post(dataset: string, body: string | null) {
  const response = await uploadUrl.handler(uploadEvent(dataset, body));
  return { status: response.statusCode, body: JSON.parse(response.body) };
}

describe('POST /v1/datasets/{dataset}/uploads (one resource for every dataset)', () => {
  test.each([['payroll'], ['Clicks'], ['click'], ['../clicks'], ['constructor']])(
    'fails an unknown dataset %s with a JSON 404 naming the configured datasets, presigning nothing',
    async (dataset) => {
      const { status, body } = await post(
        dataset,
        JSON.stringify({ contentType: 'application/x-ndjson', contentLength: 1024 }),
      );
      expect(status).toBe(404);
      expect(body).toEqual({
        message: `Unknown dataset ${JSON.stringify(dataset)}. Fix: use one of clicks, impressions`,
        requestId: expect.any(String),
      });
      expect(body.url).toBeUndefined();
    },
  );

  test('presigns a write-once PUT of the declared size under the dataset landing prefix, 15 minutes', async () => {
    const today = new Date().toISOString().slice(0, 10);
    const { status, body } = await post(
      'clicks',
      JSON.stringify({ contentType: 'text/csv', contentLength: 2048, gzip: true }),
    );
    expect(status).toBe(201);
    expect(body).toEqual({
      id: expect.stringMatching(/^[0-9a-f-]{36}$/),
      dataset: 'clicks',
      key: `clicks/ingest_date=${today}/${body.id}.csv.gz`,
      method: 'PUT',
      url: expect.any(String),
      headers: {
        'Content-Type': 'text/csv',
        'Content-Length': '2048',
        'If-None-Match': '*',
        'x-amz-server-side-encryption': 'aws:kms',
        'x-amz-server-side-encryption-aws-kms-key-id': process.env.KMS_KEY_ARN,
      },
      contentLength: 2048,
      expiresAt: expect.any(String),
    });
    const url = new URL(body.url);
    expect(url.hostname).toBe('dp-dev-landing-222222222222-eu-west-1.s3.eu-west-1.amazonaws.com');
    expect(decodeURIComponent(url.pathname)).toBe(`/${body.key}`);
    expect(url.searchParams.get('X-Amz-Expires')).toBe('900');
    // Signed headers: the uploader cannot change the type, the size, the condition or the encryption.
    expect(url.searchParams.get('X-Amz-SignedHeaders')?.split(';')).toEqual([
      'content-length',
      'content-type',
      'host',
      'if-none-match',
      'x-amz-server-side-encryption',
      'x-amz-server-side-encryption-aws-kms-key-id',
    ]);
  });

  test('gives a URL that uploads exactly the declared file once, with the returned headers and only with them', async () => {
    // The local S3 checks every signature with the AWS SDK's signer and answers conditional writes as S3 does.
    const local = await startLocalS3(['landing']);
    try {
      const csv = 'click_id,cost_usd\nclk-1,0.5\n';
      const onEvent = uploadUrl.createHandler({
        s3: local.presigner,
        bucket: 'landing',
        kmsKeyArn: process.env.KMS_KEY_ARN!,
        datasets: ['clicks'],
        expirySeconds: 60,
        maxBytes: 1024,
      });
      const response = await onEvent(
        uploadEvent('clicks', JSON.stringify({ contentType: 'text/csv', contentLength: Buffer.byteLength(csv) })),
      );
      expect(response.statusCode).toBe(201);
      const ticket = JSON.parse(response.body);
      // fetch sets Content-Length from the body (as any HTTP client does), so the ticket's own value is left out.
      const put = ({ 'Content-Length': _length, ...headers }: Record<string, string>, body: string) =>
        fetch(ticket.url, { method: ticket.method, headers, body });
      const refusals = [
        await put({ ...ticket.headers, 'Content-Type': 'application/json' }, csv),
        // A longer (or shorter) file: fetch sends its real Content-Length, which the signature does not cover.
        await put(ticket.headers, `${csv}clk-2,999999\n`),
        await put(ticket.headers, csv.slice(0, -1)),
      ];
      for (const refused of refusals) {
        expect(refused.status).toBe(403);
        expect(await refused.text()).toContain('<Code>SignatureDoesNotMatch</Code>');
      }
      const { 'If-None-Match': _dropped, ...unconditional } = ticket.headers;
      const withoutCondition = await put(unconditional, csv);
      expect(withoutCondition.status).toBe(403);
      expect(await withoutCondition.text()).toContain('Signed header if-none-match was not sent');
      expect(await local.list('landing')).toEqual([]);

      const uploaded = await put(ticket.headers, csv);
      expect(uploaded.status).toBe(200);
      expect(await local.getText('landing', ticket.key)).toBe(csv);
      const accepted = local.requests.find((request) => request.method === 'PUT');
      expect(accepted?.headers).toMatchObject({
        'content-type': 'text/csv',
        'content-length': String(Buffer.byteLength(csv)),
        'if-none-match': '*',
        'x-amz-server-side-encryption': 'aws:kms',
        'x-amz-server-side-encryption-aws-kms-key-id': process.env.KMS_KEY_ARN,
      });

      // A replay of the URL (same size, other content) cannot overwrite the upload: S3 answers 412.
      const replayed = await put(ticket.headers, csv.replace('0.5', '9.9'));
      expect(replayed.status).toBe(412);
      expect(await replayed.text()).toContain('<Code>PreconditionFailed</Code>');
      expect(await local.getText('landing', ticket.key)).toBe(csv);
    } finally {
      await local.stop();
    }
  });

  test('names the key after the content type when not compressed', async () => {
    const { body } = await post(
      'impressions',
      JSON.stringify({ contentType: 'application/x-ndjson', contentLength: 1 }),
    );
    expect(body.key).toMatch(/^impressions\/ingest_date=\d{4}-\d{2}-\d{2}\/[0-9a-f-]{36}\.ndjson$/);
  });

  test('accepts a file of exactly the configured maximum size', async () => {
    const { status, body } = await post(
      'clicks',
      JSON.stringify({ contentType: 'text/csv', contentLength: 104857600 }),
    );
    expect(status).toBe(201);
    expect(body.headers['Content-Length']).toBe('104857600');
  });

  test('rejects a file larger than the configured maximum with 400 naming the limit, and logs no error', async () => {
    const error = jest.spyOn(logger, 'error');
    const info = jest.spyOn(logger, 'info');
    try {
      const response = await post('clicks', JSON.stringify({ contentType: 'text/csv', contentLength: 104857601 }));
      expect(response).toEqual({
        status: 400,
        body: {
          message:
            'field "contentLength" has value 104857601: files are at most 104857600 bytes (100 MiB) here. Fix: split the file into parts of at most 104857600 bytes, or raise api.maxUploadBytes in the environment config',
          requestId: 'c0ffee00-0000-4000-8000-000000000001',
        },
      });
      expect(error).not.toHaveBeenCalled();
      expect(info).toHaveBeenCalledWith('upload URL: refused', {
        requestId: 'c0ffee00-0000-4000-8000-000000000001',
        status: 400,
        reason: response.body.message,
      });
    } finally {
      error.mockRestore();
      info.mockRestore();
    }
  });

  test.each([
    [
      'an unsupported content type',
      'clicks',
      JSON.stringify({ contentType: 'application/pdf', contentLength: 10 }),
      400,
      /field "contentType" has value "application\/pdf": must be one of application\/json/,
    ],
    ['a missing content type', 'clicks', JSON.stringify({ contentLength: 10 }), 400, /field "contentType" is missing/],
    [
      'a missing size',
      'clicks',
      JSON.stringify({ contentType: 'text/csv' }),
      400,
      /^field "contentLength" is missing: must be the file size in bytes, a whole number/,
    ],
    [
      'an empty file',
      'clicks',
      JSON.stringify({ contentType: 'text/csv', contentLength: 0 }),
      400,
      /^field "contentLength" has value 0: must be at least 1 \(an empty file holds no rows\)/,
    ],
    [
      'a fractional size',
      'clicks',
      JSON.stringify({ contentType: 'text/csv', contentLength: 10.5 }),
      400,
      /^field "contentLength" has value 10.5: must be the file size in bytes, a whole number/,
    ],
    [
      'a size given as a string',
      'clicks',
      JSON.stringify({ contentType: 'text/csv', contentLength: '10' }),
      400,
      /^field "contentLength" has value "10": must be the file size in bytes/,
    ],
    [
      'a caller-chosen key',
      'clicks',
      JSON.stringify({ contentType: 'text/csv', contentLength: 10, key: '../curated/x' }),
      400,
      /Unrecognized key/,
    ],
    ['an empty body', 'clicks', null, 400, /request body is empty/],
    [
      'an unknown dataset',
      'payroll',
      JSON.stringify({ contentType: 'text/csv', contentLength: 10 }),
      404,
      /Unknown dataset "payroll". Fix: use one of clicks, impressions/,
    ],
  ])('fails %s', async (_name, dataset, requestBody, status, message) => {
    const response = await post(dataset, requestBody);
    expect(response.status).toBe(status);
    expect(response.body).toEqual({ message: expect.stringMatching(message), requestId: expect.any(String) });
  });

  test('rejects a body nested 5,000 levels deep with 400 and a JSON reason (no RangeError, no error log)', async () => {
    const error = jest.spyOn(logger, 'error');
    try {
      const deep = `${'['.repeat(5000)}${']'.repeat(5000)}`;
      const response = await post('clicks', `{"contentType":"text/csv","contentLength":1,"extra":${deep}}`);
      expect(response).toEqual({
        status: 400,
        body: {
          message:
            'The request body nests objects and arrays more than 16 levels deep (level 17 opens at character 67). Fix: send the documented JSON object',
          requestId: 'c0ffee00-0000-4000-8000-000000000001',
        },
      });
      expect(error).not.toHaveBeenCalled();
    } finally {
      error.mockRestore();
    }
  });
});
