import { encodeCursor } from '../../../lambda/api-shared/cursor';
import { queryFingerprint } from '../../../lambda/api-shared/mart-query';
import { logger } from '../../../lambda/shared/logger';
import { martTablesFromDatasets } from '../../../lambda/api-shared/contract';
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
      /^Value "1 OR 1=1" for campaign_id is not a valid bigint: a bigint \(int8\) is written with digits only, e.g. -7. Fix: e.g. 1234567890$/,
    ],
    ['a parameter given twice', { campaign_id: ['1', '2'] }, /is given 2 times/],
    [
      'an oversized value',
      { click_id: 'x'.repeat(300) },
      /is not a valid string: it is 300 characters long; values are at most 256 characters. Fix: send at most 256/,
    ],
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

describe('GET /v1/marts/{table} against values PostgreSQL would refuse (400 before any SQL, never 500)', () => {
  /** impressions with every column filterable: one column of each type. */
  const everyType = new Map(martTables);
  const impressions = martTables.get('impressions')!;
  everyType.set('impressions', { ...impressions, filterable: impressions.columns.map((column) => column.name) });
  let queries: string[];
  let errorLog: jest.SpyInstance;
  let infoLog: jest.SpyInstance;
  beforeEach(() => {
    queries = [];
    errorLog = jest.spyOn(logger, 'error');
    infoLog = jest.spyOn(logger, 'info');
  });
  afterEach(() => {
    errorLog.mockRestore();
    infoLog.mockRestore();
  });

  /** The handler over the real mart, recording every statement it sends. */
  async function getImpressions(params: Record<string, string>) {
    const recording = {
      query: db.executor.query.bind(db.executor),
      transaction: <T>(work: Parameters<typeof db.executor.transaction<T>>[0]) =>
        db.executor.transaction<T>((tx) =>
          work({
            query: (sql, values) => {
              queries.push(sql);
              return tx.query(sql, values);
            },
            transaction: tx.transaction.bind(tx),
          }),
        ),
    } as typeof db.executor;
    const response = await martQuery.createHandler({ executor: recording, tables: everyType })(
      proxyEvent({ pathParameters: { table: 'impressions' }, multiValueQueryStringParameters: query(params) }),
    );
    return { status: response.statusCode, body: JSON.parse(response.body) };
  }

  test.each([
    [
      'a NUL byte in a string filter',
      { impression_id: 'imp-\u0000' },
      'Value "imp-\\u0000" for impression_id is not a valid string: it contains a NUL character (U+0000), which PostgreSQL text cannot hold. Fix: remove the NUL character',
    ],
    [
      'an unpaired surrogate in a string filter',
      { country: 'D\uD800' },
      'Value "D\\ud800" for country is not a valid string: it contains an unpaired UTF-16 surrogate (not valid Unicode). Fix: send valid Unicode text (UTF-8 when percent-encoded)',
    ],
    [
      'an impossible date',
      { event_date: '2026-02-30' },
      'Value "2026-02-30" for event_date is not a valid date: 2026-02 has days 01 to 28. Fix: e.g. 2026-01-31',
    ],
    [
      'a date in year 0',
      { 'event_date[gte]': '0000-01-01' },
      'Value "0000-01-01" for event_date is not a valid date: there is no year 0000; years are 0001 to 9999. Fix: e.g. 2026-01-31',
    ],
    [
      'a timestamp at hour 24',
      { 'event_time[lt]': '2026-01-31T24:00:00Z' },
      'Value "2026-01-31T24:00:00Z" for event_time is not a valid timestamp: hours are 00 to 23, minutes and seconds 00 to 59. Fix: e.g. 2026-01-31T12:00:00Z',
    ],
    [
      'an integer beyond int4',
      { creative_id: '2147483648' },
      'Value "2147483648" for creative_id is not a valid integer: an integer (int4) is from -2147483648 to 2147483647. Fix: e.g. 42',
    ],
    [
      'a bigint beyond int8',
      { campaign_id: '9223372036854775808' },
      'Value "9223372036854775808" for campaign_id is not a valid bigint: a bigint (int8) is from -9223372036854775808 to 9223372036854775807. Fix: e.g. 1234567890',
    ],
    [
      'a decimal beyond its precision',
      { 'bid_price_usd[gt]': '1234567.5' },
      'Value "1234567.5" for bid_price_usd is not a valid decimal(12,6): it has 7 digits before the decimal point; a decimal(12,6) has at most 6. Fix: e.g. 12.5',
    ],
    [
      'a decimal beyond its scale',
      { bid_price_usd: '0.1234567' },
      'Value "0.1234567" for bid_price_usd is not a valid decimal(12,6): it has 7 digits after the decimal point; a decimal(12,6) has at most 6. Fix: e.g. 12.5',
    ],
    [
      'a double that is not finite',
      { 'viewability_score[lt]': '1e400' },
      'Value "1e400" for viewability_score is not a valid double: a double is at most about ±1.8e308 in magnitude. Fix: e.g. 0.75',
    ],
    [
      'a boolean that is neither true nor false',
      { viewable: 'yes' },
      'Value "yes" for viewable is not a valid boolean: a boolean is true or false. Fix: e.g. true',
    ],
  ])(
    'rejects %s with 400 naming the column and the rule, sends no SQL and logs no error',
    async (_name, params, message) => {
      const response = await getImpressions(params);
      expect(response).toEqual({ status: 400, body: { message, requestId: 'c0ffee00-0000-4000-8000-000000000001' } });
      expect(queries).toEqual([]);
      expect(errorLog).not.toHaveBeenCalled();
      expect(infoLog).toHaveBeenCalledWith('mart query: refused', {
        requestId: 'c0ffee00-0000-4000-8000-000000000001',
        status: 400,
        reason: message,
      });
    },
  );

  test('rejects a NUL byte in a cursor key with 400 naming the rule, sends no SQL and logs no error', async () => {
    const { body: page } = await get({ limit: '1' });
    const fingerprint = JSON.parse(Buffer.from(page.nextCursor, 'base64url').toString()).q;
    const { status, body } = await get({ limit: '1', cursor: encodeCursor(fingerprint, ['clk-\u0000']) });
    expect({ status, body }).toEqual({
      status: 400,
      body: {
        message:
          'Invalid cursor: its click_id is not a valid string: it contains a NUL character (U+0000), which PostgreSQL text cannot hold. Fix: pass the "nextCursor" of the previous page unchanged, with the same filters',
        requestId: 'c0ffee00-0000-4000-8000-000000000001',
      },
    });
    expect(errorLog).not.toHaveBeenCalled();
  });

  test('rejects a cursor key beyond its integer column with 400 naming the rule', async () => {
    const byCreative = new Map(everyType);
    const table = { ...everyType.get('impressions')!, primaryKey: ['creative_id'] };
    byCreative.set('impressions', table);
    const forged = encodeCursor(queryFingerprint(table, []), [2147483648]);
    const response = await martQuery.createHandler({ executor: db.executor, tables: byCreative })(
      proxyEvent({
        pathParameters: { table: 'impressions' },
        multiValueQueryStringParameters: query({ limit: '1', cursor: forged }),
      }),
    );
    expect({ status: response.statusCode, message: JSON.parse(response.body).message }).toEqual({
      status: 400,
      message:
        'Invalid cursor: its creative_id is not a valid integer: an integer (int4) is from -2147483648 to 2147483647. Fix: pass the "nextCursor" of the previous page unchanged, with the same filters',
    });
  });

  test('accepts the limits of every type and runs the query (200)', async () => {
    const response = await getImpressions({
      'creative_id[lte]': '2147483647',
      'campaign_id[lte]': '9223372036854775807',
      'event_date[gte]': '2024-02-29',
      'event_time[gte]': '0001-01-01T00:00:00+15:59',
      'bid_price_usd[lte]': '999999.999999',
      'viewability_score[gte]': '1e-320',
      viewable: 'true',
      impression_id: 'imp-0000000000000001',
    });
    expect(response.status).toBe(200);
    expect(response.body.items.map((item: { impression_id: string }) => item.impression_id)).toEqual([
      'imp-0000000000000001',
    ]);
    // The recorder sees the statements (so "no SQL" above is a real observation).
    expect(queries.some((sql) => sql.startsWith('SELECT'))).toBe(true);
    expect(errorLog).not.toHaveBeenCalled();
  });
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
