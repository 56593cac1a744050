/**
 * The upload function behind the shared route `POST /v1/datasets/{dataset}/uploads`: one resource for every dataset,
 * so the dataset arrives as a path parameter (the event API Gateway sends for that resource).
 */
import { proxyEvent } from '../mart-query/mart-fixture';

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

async function post(dataset: string) {
  const response = await uploadUrl.handler(
    proxyEvent({
      resource: '/v1/datasets/{dataset}/uploads',
      path: `/v1/datasets/${encodeURIComponent(dataset)}/uploads`,
      httpMethod: 'POST',
      pathParameters: { dataset },
      body: JSON.stringify({ contentType: 'application/x-ndjson', contentLength: 1024 }),
    }),
  );
  return { status: response.statusCode, body: JSON.parse(response.body) };
}

describe('POST /v1/datasets/{dataset}/uploads (one resource for every dataset)', () => {
  test('presigns under the landing prefix of the dataset named by the path parameter', async () => {
    const { status, body } = await post('impressions');
    expect(status).toBe(201);
    expect(body.key).toMatch(/^impressions\/ingest_date=\d{4}-\d{2}-\d{2}\/[0-9a-f-]{36}\.ndjson$/);
  });

  test.each([['payroll'], ['Clicks'], ['click'], ['../clicks'], ['constructor']])(
    'fails an unknown dataset %s with a JSON 404 naming the configured datasets, presigning nothing',
    async (dataset) => {
      const { status, body } = await post(dataset);
      expect(status).toBe(404);
      expect(body).toEqual({
        message: `Unknown dataset ${JSON.stringify(dataset)}. Fix: use one of clicks, impressions`,
        requestId: expect.any(String),
      });
      expect(body.url).toBeUndefined();
    },
  );
});
