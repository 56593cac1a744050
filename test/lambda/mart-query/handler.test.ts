import { encodeCursor } from '../../../lambda/shared/api-cursor';
import { martTablesFromDatasets } from '../../../lambda/shared/api-marts';
import { narrowedTo, startPostgres, type TestDatabase } from '../../helpers/postgres';
import { exampleConfig } from '../../helpers/app';
import { type FakeAws, type FakeAwsHandler, startFakeAws, setLambdaRoleEnvironment } from '../../helpers/fake-aws';
import { CLICK_COUNT, clickId, martTables, migrateAndSeed, proxyEvent, query } from './mart-fixture';

process.env.MART_TABLES = JSON.stringify(martTablesFromDatasets(exampleConfig().datasets));
process.env.MART_CLUSTER_ARN = 'arn:aws:rds:eu-west-1:222222222222:cluster:dp-dev-mart';
process.env.MART_SECRET_ARN = 'arn:aws:secretsmanager:eu-west-1:222222222222:secret:ReaderLoginSecret-AbCdEf';
process.env.MART_DATABASE = 'mart';
process.env.POWERTOOLS_LOG_LEVEL = 'SILENT';
process.env.POWERTOOLS_METRICS_NAMESPACE = 'DataPlatformTest';
setLambdaRoleEnvironment();

type HandlerModule = typeof import('../../../lambda/mart-query/handler');
let martQuery: HandlerModule;
let db: TestDatabase;
let handler: HandlerModule['handler'];
/** The Data API the module's own handler calls; answers come from `dataApi` of the current test. */
let rds: FakeAws;
let dataApi: FakeAwsHandler = () => ({
  status: 400,
  body: { __type: 'BadRequestException', message: 'no answer set' },
});

beforeAll(async () => {
  rds = await startFakeAws('rds-data', (call) => dataApi(call));
  process.env.AWS_ENDPOINT_URL_RDS_DATA = rds.endpoint;
  martQuery = await import('../../../lambda/mart-query/handler');
  db = await startPostgres();
  await migrateAndSeed(db.executor);
  // With the reader login's privileges, as in AWS.
  handler = martQuery.createHandler({ executor: narrowedTo(db.executor, 'mart_reader_a'), tables: martTables });
});
afterAll(async () => {
  await rds?.stop();
  await db?.stop();
});

async function get(params: Record<string, string | string[]>, table = 'clicks') {
  const response = await handler(
    proxyEvent({ pathParameters: { table }, multiValueQueryStringParameters: query(params) }),
  );
  return { status: response.statusCode, headers: response.headers ?? {}, body: JSON.parse(response.body) };
}

describe('GET /v1/marts/{table} on the migrated mart', () => {
  test('returns a page ordered by primary key with typed values and a cursor', async () => {
    const { status, body } = await get({ limit: '2' });
    expect(status).toBe(200);
    expect(body.count).toBe(2);
    expect(body.items[0]).toEqual({
      click_id: clickId(0),
      impression_id: 'imp-0000000000000000',
      click_time: '2026-11-01T10:00:00.000Z',
      campaign_id: 100,
      landing_url: 'https://example.com/?a=1,b="2"',
      cost_usd: '0.2500',
      is_fraud_suspected: true,
    });
    expect(body.items[1].click_id).toBe(clickId(1));
    expect(body.nextCursor).toMatch(/^[A-Za-z0-9_-]+$/);
  });

  test('pages through every row exactly once with the cursor (keyset pagination)', async () => {
    const seen: string[] = [];
    let cursor: string | undefined;
    do {
      const { status, body } = await get(cursor ? { limit: '7', cursor } : { limit: '7' });
      expect(status).toBe(200);
      seen.push(...body.items.map((item: { click_id: string }) => item.click_id));
      cursor = body.nextCursor;
    } while (cursor);
    expect(seen).toEqual(Array.from({ length: CLICK_COUNT }, (_, index) => clickId(index)));
  });

  test('filters on equality and ranges of whitelisted columns', async () => {
    const byCampaign = await get({ campaign_id: '101' });
    expect(byCampaign.body.items.map((item: { campaign_id: number }) => item.campaign_id)).toEqual(Array(8).fill(101));
    const range = await get({ 'click_id[gte]': clickId(20), 'click_id[lt]': clickId(23) });
    expect(range.body.items.map((item: { click_id: string }) => item.click_id)).toEqual([
      clickId(20),
      clickId(21),
      clickId(22),
    ]);
  });

  test('returns integers beyond 2^53 exactly, as strings', async () => {
    const { body } = await get({ impression_id: 'imp-0000000000000001' }, 'impressions');
    expect(body.items[0]).toEqual(
      expect.objectContaining({ campaign_id: '9007199254740993', event_date: '2026-11-02' }),
    );
  });

  test('treats SQL in a filter value as a value: no rows, no error, table intact', async () => {
    for (const hostile of ["' OR '1'='1", "x'; DROP TABLE mart.clicks; --", "clk-0000000000000000' --"]) {
      const { status, body } = await get({ click_id: hostile });
      expect({ hostile, status, count: body.count }).toEqual({ hostile, status: 200, count: 0 });
    }
    const [{ count }] = await db.executor.query<{ count: number }>('SELECT count(*)::int AS count FROM mart.clicks');
    expect(count).toBe(CLICK_COUNT);
  });

  test('reads as the reader login: a table mart_reader may not read is refused by the database', async () => {
    await db.executor.query('CREATE TABLE mart.private_notes (id text PRIMARY KEY)');
    await db.executor.query('REVOKE ALL ON mart.private_notes FROM mart_reader');
    const tables = new Map(martTables);
    tables.set('private_notes', {
      table: 'private_notes',
      dataset: 'private_notes',
      columns: [{ name: 'id', type: 'string' }],
      primaryKey: ['id'],
      filterable: ['id'],
    });
    const response = await martQuery.createHandler({ executor: narrowedTo(db.executor, 'mart_reader_a'), tables })(
      proxyEvent({ pathParameters: { table: 'private_notes' } }),
    );
    expect(response.statusCode).toBe(500);
    expect(JSON.parse(response.body)).toEqual({
      message: expect.stringContaining('Fix:'),
      requestId: expect.any(String),
    });
  });
});

describe('GET /v1/marts/{table} refuses bad requests with a JSON 4xx', () => {
  test.each([
    ['a limit above 1000', { limit: '1001' }, /limit has value "1001": must be a whole number from 1 to 1000/],
    ['a zero limit', { limit: '0' }, /from 1 to 1000/],
    ['a negative limit', { limit: '-5' }, /from 1 to 1000/],
    ['a non-numeric limit', { limit: '10; DROP TABLE x' }, /from 1 to 1000/],
    ['an exponent limit', { limit: '1e3' }, /from 1 to 1000/],
    [
      'an unknown column',
      { colour: 'red' },
      /Unknown query parameter "colour". Fix: use limit, cursor, or a filter on click_id, impression_id, campaign_id/,
    ],
    [
      'a column that is not filterable',
      { landing_url: 'x' },
      /Column "landing_url" cannot be filtered on in clicks. Fix: filter on click_id, impression_id, campaign_id/,
    ],
    ['an SQL-ish column name', { 'click_id" OR 1=1 --': 'x' }, /Unknown query parameter/],
    ['an unknown operator', { 'click_id[like]': 'clk-%' }, /Unknown filter operator "like"/],
    [
      'a value of the wrong type',
      { campaign_id: '1 OR 1=1' },
      /Value "1 OR 1=1" for campaign_id is not a valid bigint. Fix: e.g. 1234567890/,
    ],
    ['a parameter given twice', { campaign_id: ['1', '2'] }, /is given 2 times/],
    ['an oversized value', { click_id: 'x'.repeat(300) }, /at most 256 characters/],
    ['a garbage cursor', { cursor: '%%%not-base64%%%' }, /Invalid cursor/],
    ['a cursor that is not JSON', { cursor: Buffer.from('hello').toString('base64url') }, /Invalid cursor/],
    ['an oversized cursor', { cursor: 'A'.repeat(5000) }, /Invalid cursor/],
  ])('fails %s with 400', async (_name, params, message) => {
    const { status, body, headers } = await get(params);
    expect(status).toBe(400);
    expect(headers['Content-Type']).toBe('application/json');
    expect(body).toEqual({
      message: expect.stringMatching(message),
      requestId: 'c0ffee00-0000-4000-8000-000000000001',
    });
  });

  test('fails a cursor from another query (other filters) with 400', async () => {
    const { body: page } = await get({ campaign_id: '100', limit: '1' });
    const { status, body } = await get({ campaign_id: '101', limit: '1', cursor: page.nextCursor });
    expect(status).toBe(400);
    expect(body.message).toMatch(/Invalid cursor/);
  });

  test('fails a forged cursor with the wrong number or kind of key values with 400', async () => {
    const { body: page } = await get({ limit: '1' });
    const fingerprint = JSON.parse(Buffer.from(page.nextCursor, 'base64url').toString()).q;
    for (const key of [[], [1, 2], [{ nested: true }], ['x'.repeat(300)]]) {
      const forged = encodeCursor(fingerprint, key as (string | number)[]);
      const { status, body } = await get({ limit: '1', cursor: forged });
      expect({ key, status, message: body.message }).toEqual({
        key,
        status: 400,
        message: expect.stringMatching(/Invalid cursor/),
      });
    }
  });

  test('treats SQL in a forged cursor key as a value (it is a parameter, like any filter)', async () => {
    const { body: page } = await get({ limit: '1' });
    const fingerprint = JSON.parse(Buffer.from(page.nextCursor, 'base64url').toString()).q;
    const { status, body } = await get({ limit: '5', cursor: encodeCursor(fingerprint, ["clk-' OR 1=1 --"]) });
    expect(status).toBe(200);
    // Every click id sorts after "clk-' ...", so the page simply starts at the first row.
    expect(body.items[0].click_id).toBe(clickId(0));
  });

  test.each(['audit', 'schema_migrations', 'pg_user', 'clicks; DROP TABLE mart.clicks', '../clicks'])(
    'fails table %s (not in the whitelist) with 404 naming the valid tables',
    async (table) => {
      const { status, body } = await get({}, table);
      expect(status).toBe(404);
      expect(body.message).toMatch(/Unknown mart table .*Fix: use one of clicks, impressions/);
    },
  );
});

describe('GET /v1/marts/{table} through the Data API', () => {
  beforeEach(() => {
    rds.calls.length = 0;
  });

  test('answers 503 with Retry-After while Aurora resumes from auto-pause', async () => {
    dataApi = (call) =>
      call.path === '/BeginTransaction'
        ? {
            status: 400,
            headers: { 'x-amzn-errortype': 'DatabaseResumingException' },
            body: { message: 'The Aurora DB instance is resuming after being auto-paused.' },
          }
        : { status: 400, headers: { 'x-amzn-errortype': 'BadRequestException' }, body: { message: 'not reached' } };
    const response = await martQuery.handler(proxyEvent());
    expect(rds.calls.map((call) => call.path)).toEqual(['/BeginTransaction']);
    expect(rds.calls[0].json).toEqual({
      resourceArn: process.env.MART_CLUSTER_ARN,
      secretArn: process.env.MART_SECRET_ARN,
      database: 'mart',
    });
    expect(response.statusCode).toBe(503);
    expect(response.headers?.['Retry-After']).toBe('30');
    expect(JSON.parse(response.body).message).toMatch(/starting up. Fix: retry after 30 seconds/);
  });
});
