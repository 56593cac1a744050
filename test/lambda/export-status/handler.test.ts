/**
 * GET /v1/exports/{id} through the function's own handler: its DynamoDB client talks to a fake endpoint that checks
 * signatures and answers with the test's job item (AWS_ENDPOINT_URL_DYNAMODB); S3 keeps its public endpoint, where
 * URLs are only presigned (no request leaves the process). The last test downloads through a presigned URL from s3rver.
 */
import { ExportJobs } from '../../../lambda/api-shared/export-jobs';
import type { ExportJob } from '../../../lambda/api-shared/contract';
import { marshall } from '../../../lambda/shared/aws/dynamodb';
import { type FakeAws, startFakeAws, setLambdaRoleEnvironment } from '../../helpers/fake-aws';
import { proxyEvent } from '../mart-query/mart-fixture';
import { startLocalS3 } from '../validate/local-s3';

process.env.EXPORTS_TABLE = 'dp-dev-export-jobs';
process.env.ARTIFACTS_BUCKET = 'dp-dev-artifacts-222222222222-eu-west-1';
process.env.URL_EXPIRY_SECONDS = '900';
process.env.POWERTOOLS_LOG_LEVEL = 'SILENT';
setLambdaRoleEnvironment();

type HandlerModule = typeof import('../../../lambda/export-status/handler');
let exportStatus: HandlerModule;
let dynamodb: FakeAws;
/** The item GetItem answers with. */
let storedItem: ExportJob | undefined;
beforeAll(async () => {
  dynamodb = await startFakeAws('dynamodb', (call) => {
    if (call.target !== 'DynamoDB_20120810.GetItem') throw new Error(`unexpected ${call.target}`);
    return { body: storedItem ? { Item: marshall({ ...storedItem }) } : {} };
  });
  process.env.AWS_ENDPOINT_URL_DYNAMODB = dynamodb.endpoint;
  exportStatus = await import('../../../lambda/export-status/handler');
});
afterAll(async () => {
  delete process.env.AWS_ENDPOINT_URL_DYNAMODB;
  await dynamodb?.stop();
});

const ID = '0b6c1d53-6f3e-4a64-9d3c-8a3c1f0e0001';
const CALLER = 'cognito:6f1c2a4e-0000-4000-8000-00000000beef';

function job(overrides: Partial<ExportJob> = {}): ExportJob {
  return {
    id: ID,
    status: 'QUEUED',
    requestedBy: CALLER,
    request: { table: 'clicks', filters: [], format: 'csv' },
    createdAt: '2026-11-22T14:00:00.000Z',
    updatedAt: '2026-11-22T14:00:05.000Z',
    expiresAt: 1_795_962_400,
    ...overrides,
  };
}

async function getStatus(id: string, item?: ExportJob) {
  dynamodb.calls.length = 0;
  storedItem = item;
  const response = await exportStatus.handler(
    proxyEvent({ resource: '/v1/exports/{id}', path: `/v1/exports/${id}`, pathParameters: { id } }),
  );
  return { status: response.statusCode, body: JSON.parse(response.body) };
}

describe('GET /v1/exports/{id}', () => {
  test('reports a queued job without a download URL', async () => {
    const { status, body } = await getStatus(ID, job());
    expect(status).toBe(200);
    expect(body).toEqual({
      id: ID,
      status: 'QUEUED',
      table: 'clicks',
      createdAt: '2026-11-22T14:00:00.000Z',
      updatedAt: '2026-11-22T14:00:05.000Z',
    });
    expect(dynamodb.calls.map((call) => call.json)).toEqual([
      { TableName: 'dp-dev-export-jobs', Key: { id: { S: ID } }, ConsistentRead: true },
    ]);
  });

  test('gives a succeeded job a presigned GET of exports/<id>.csv valid 15 minutes', async () => {
    const { status, body } = await getStatus(
      ID,
      job({ status: 'SUCCEEDED', objectKey: `exports/${ID}.csv`, rowCount: 25, bytes: 2048 }),
    );
    expect(status).toBe(200);
    expect(body).toEqual(expect.objectContaining({ status: 'SUCCEEDED', rowCount: 25, bytes: 2048 }));
    const url = new URL(body.downloadUrl);
    expect(url.hostname).toBe('dp-dev-artifacts-222222222222-eu-west-1.s3.eu-west-1.amazonaws.com');
    expect(url.pathname).toBe(`/exports/${ID}.csv`);
    expect(url.searchParams.get('X-Amz-Expires')).toBe('900');
    expect(url.searchParams.get('response-content-disposition')).toBe(`attachment; filename="clicks-${ID}.csv"`);
    expect(Date.parse(body.downloadUrlExpiresAt) - Date.now()).toBeGreaterThan(800_000);
  });

  test('reports why a job failed', async () => {
    const { body } = await getStatus(ID, job({ status: 'FAILED', error: 'Gave up after 3 attempts: timeout' }));
    expect(body).toEqual(expect.objectContaining({ status: 'FAILED', error: 'Gave up after 3 attempts: timeout' }));
    expect(body.downloadUrl).toBeUndefined();
  });

  test('fails with 404 for another caller\u2019s job, exactly as for a missing one', async () => {
    const other = await getStatus(ID, job({ requestedBy: 'cognito:someone-else' }));
    const missing = await getStatus(ID, undefined);
    expect(other.status).toBe(404);
    expect(missing.status).toBe(404);
    expect(other.body.message).toBe(missing.body.message);
  });

  test.each(['not-a-uuid', "' OR 1=1 --", '../../exports/other.csv', `${ID}x`])('fails id %s with 400', async (id) => {
    const { status, body } = await getStatus(id, job());
    expect(status).toBe(400);
    expect(body.message).toMatch(/is not a job id. Fix: use the "id" returned by POST \/v1\/exports/);
    expect(dynamodb.calls).toHaveLength(0);
  });

  test('gives a download URL that fetches the CSV as an attachment', async () => {
    const local = await startLocalS3(['artifacts']);
    try {
      await local.put('artifacts', `exports/${ID}.csv`, 'click_id\r\nclk-1\r\n');
      const succeeded = job({ status: 'SUCCEEDED', objectKey: `exports/${ID}.csv`, rowCount: 1, bytes: 17 });
      const onEvent = exportStatus.createHandler({
        jobs: new ExportJobs(
          {
            get: async () => ({ Item: succeeded }),
            put: async () => ({}),
            update: async () => ({}),
          },
          'dp-dev-export-jobs',
        ),
        s3: local.presigner,
        bucket: 'artifacts',
        urlExpirySeconds: 60,
      });
      const response = await onEvent(
        proxyEvent({ resource: '/v1/exports/{id}', path: `/v1/exports/${ID}`, pathParameters: { id: ID } }),
      );
      const download = await fetch(JSON.parse(response.body).downloadUrl);
      expect(download.status).toBe(200);
      expect(download.headers.get('content-disposition')).toBe(`attachment; filename="clicks-${ID}.csv"`);
      expect(await download.text()).toBe('click_id\r\nclk-1\r\n');
    } finally {
      await local.stop();
    }
  });
});
