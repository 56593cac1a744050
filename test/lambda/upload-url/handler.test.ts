import { proxyEvent } from '../mart-query/mart-fixture';
import { startLocalS3 } from '../validate/local-s3';

process.env.LANDING_BUCKET = 'dp-dev-landing-222222222222-eu-west-1';
process.env.KMS_KEY_ARN = 'arn:aws:kms:eu-west-1:222222222222:key/11111111-2222-3333-4444-555555555555';
process.env.DATASETS = JSON.stringify(['clicks', 'impressions']);
process.env.URL_EXPIRY_SECONDS = '900';
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

async function post(dataset: string, body: string | null) {
  const response = await uploadUrl.handler(
    proxyEvent({
      resource: `/v1/datasets/${dataset}/uploads`,
      path: `/v1/datasets/${dataset}/uploads`,
      httpMethod: 'POST',
      pathParameters: null,
      body,
    }),
  );
  return { status: response.statusCode, body: JSON.parse(response.body) };
}

describe('POST /v1/datasets/{dataset}/uploads', () => {
  test('presigns a PUT under the dataset landing prefix with content type and SSE-KMS signed, 15 minutes', async () => {
    const today = new Date().toISOString().slice(0, 10);
    const { status, body } = await post('clicks', JSON.stringify({ contentType: 'text/csv', gzip: true }));
    expect(status).toBe(201);
    expect(body).toEqual({
      id: expect.stringMatching(/^[0-9a-f-]{36}$/),
      dataset: 'clicks',
      key: `clicks/ingest_date=${today}/${body.id}.csv.gz`,
      method: 'PUT',
      url: expect.any(String),
      headers: {
        'Content-Type': 'text/csv',
        'x-amz-server-side-encryption': 'aws:kms',
        'x-amz-server-side-encryption-aws-kms-key-id': process.env.KMS_KEY_ARN,
      },
      expiresAt: expect.any(String),
    });
    const url = new URL(body.url);
    expect(url.hostname).toBe('dp-dev-landing-222222222222-eu-west-1.s3.eu-west-1.amazonaws.com');
    expect(decodeURIComponent(url.pathname)).toBe(`/${body.key}`);
    expect(url.searchParams.get('X-Amz-Expires')).toBe('900');
    // Signed headers: the uploader cannot change the type or the encryption.
    expect(url.searchParams.get('X-Amz-SignedHeaders')?.split(';')).toEqual(
      expect.arrayContaining([
        'content-type',
        'host',
        'x-amz-server-side-encryption',
        'x-amz-server-side-encryption-aws-kms-key-id',
      ]),
    );
  });

  test('gives a URL that uploads the file with the returned headers, and only with them', async () => {
    const local = await startLocalS3(['landing']);
    try {
      const onEvent = uploadUrl.createHandler({
        s3: local.s3,
        bucket: 'landing',
        kmsKeyArn: process.env.KMS_KEY_ARN!,
        datasets: ['clicks'],
        expirySeconds: 60,
      });
      const response = await onEvent(
        proxyEvent({
          resource: '/v1/datasets/clicks/uploads',
          path: '/v1/datasets/clicks/uploads',
          httpMethod: 'POST',
          pathParameters: null,
          body: JSON.stringify({ contentType: 'text/csv' }),
        }),
      );
      expect(response.statusCode).toBe(201);
      const ticket = JSON.parse(response.body);
      const csv = 'click_id,cost_usd\nclk-1,0.5\n';
      const refused = await fetch(ticket.url, {
        method: ticket.method,
        headers: { ...ticket.headers, 'Content-Type': 'application/json' },
        body: csv,
      });
      expect(refused.status).toBe(403);
      const uploaded = await fetch(ticket.url, { method: ticket.method, headers: ticket.headers, body: csv });
      expect(uploaded.status).toBe(200);
      expect(await local.getText('landing', ticket.key)).toBe(csv);
      const put = local.requests.find((request) => request.method === 'PUT');
      expect(put?.headers).toMatchObject({
        'content-type': 'text/csv',
        'x-amz-server-side-encryption': 'aws:kms',
        'x-amz-server-side-encryption-aws-kms-key-id': process.env.KMS_KEY_ARN,
      });
    } finally {
      await local.stop();
    }
  });

  test('names the key after the content type when not compressed', async () => {
    const { body } = await post('impressions', JSON.stringify({ contentType: 'application/x-ndjson' }));
    expect(body.key).toMatch(/^impressions\/ingest_date=\d{4}-\d{2}-\d{2}\/[0-9a-f-]{36}\.ndjson$/);
  });

  test.each([
    [
      'an unsupported content type',
      'clicks',
      JSON.stringify({ contentType: 'application/pdf' }),
      400,
      /field "contentType" has value "application\/pdf": must be one of application\/json/,
    ],
    ['a missing content type', 'clicks', JSON.stringify({}), 400, /field "contentType" is missing/],
    [
      'a caller-chosen key',
      'clicks',
      JSON.stringify({ contentType: 'text/csv', key: '../curated/x' }),
      400,
      /Unrecognized key/,
    ],
    ['an empty body', 'clicks', null, 400, /request body is empty/],
    [
      'an unknown dataset',
      'payroll',
      JSON.stringify({ contentType: 'text/csv' }),
      404,
      /Unknown dataset "payroll". Fix: use one of clicks, impressions/,
    ],
  ])('fails %s', async (_name, dataset, requestBody, status, message) => {
    const response = await post(dataset, requestBody);
    expect(response.status).toBe(status);
    expect(response.body).toEqual({ message: expect.stringMatching(message), requestId: expect.any(String) });
  });
});
