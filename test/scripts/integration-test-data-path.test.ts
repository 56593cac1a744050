import {
  AthenaClient,
  GetQueryExecutionCommand,
  GetQueryResultsCommand,
  StartQueryExecutionCommand,
} from '@aws-sdk/client-athena';
import { CloudFormationClient, DescribeStacksCommand } from '@aws-sdk/client-cloudformation';
import { ExecuteStatementCommand, RDSDataClient } from '@aws-sdk/client-rds-data';
import { DeleteObjectsCommand, ListObjectsV2Command, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { SFNClient } from '@aws-sdk/client-sfn';
import { GetCallerIdentityCommand, STSClient } from '@aws-sdk/client-sts';
import { mockClient } from 'aws-sdk-client-mock';
import { loadConfig } from '../../config/load';
import type { EnvironmentConfig } from '../../config/schema';
import { CHECK_MODULES } from '../../scripts/integration-test/checks';
import {
  BATCH_WAIT_MARGIN_MINUTES,
  batchWaitMs,
  createDataPathChecks,
  MAX_CURATED_PAGES,
  VALID_ROWS,
} from '../../scripts/integration-test/checks/data-path';
import type { Fetch } from '../../scripts/integration-test/checks/data-path-http';
import { runIntegrationTest } from '../../scripts/integration-test/cli';
import { AwsClients, type CheckContext } from '../../scripts/integration-test/context';
import { type CheckResult, type Clock, formatTable, runChecks } from '../../scripts/integration-test/runner';

const s3 = mockClient(S3Client);
// Not used by the checks any more (they follow the batch through audit): mocked to prove no call is made.
const sfn = mockClient(SFNClient);
const rdsData = mockClient(RDSDataClient);
const athena = mockClient(AthenaClient);
const cloudFormation = mockClient(CloudFormationClient);
const sts = mockClient(STSClient);

const CONFIG = loadConfig();
const API_URL = 'https://abc123.execute-api.eu-west-1.amazonaws.com/live/';
const OUTPUTS = {
  API_URL,
  LANDING_BUCKET_NAME: 'dp-dev-landing-bucket',
  CURATED_BUCKET_NAME: 'dp-dev-curated-bucket',
  DATA_MART_CLUSTER_ARN: 'arn:aws:rds:eu-west-1:222222222222:cluster:dp-dev-data-mart',
  DATA_MART_LOADER_SECRET_ARN: 'arn:aws:secretsmanager:eu-west-1:222222222222:secret:LoaderLoginSecretD37A05BF-AbCdEf',
  DATA_MART_DATABASE_NAME: 'mart',
  CURATED_DATABASE_NAME: 'dp_dev_curated',
  ATHENA_WORK_GROUP: 'dp-dev',
};
const OBJECT_KEY = 'clicks/ingest_date=2026-11-22/req-123.csv';
const BATCH_ID = 'clicks-20261122T100600Z-7f3a';
const STARTED = new Date('2026-11-22T10:00:00Z');
/** The dev environment's bound: etl.batch.maxWaitMinutes 5 + etl.glueTimeoutMinutes 30 + margin, + pollSeconds 60. */
const DEV_BOUND_S = (5 + 30 + BATCH_WAIT_MARGIN_MINUTES) * 60 + 60;
/** The repository's config with the dev environment's API auth replaced. */
function configWithAuth(auth: EnvironmentConfig['api']['auth']) {
  return {
    ...CONFIG,
    environments: CONFIG.environments.map((e) => (e.name === 'dev' ? { ...e, api: { ...e.api, auth } } : e)),
  };
}

interface Sent {
  readonly url: string;
  readonly method: string;
  readonly headers: Record<string, string>;
  readonly body?: string;
  /** `x-amz-target` operation of a Cognito call. */
  readonly operation?: string;
}

/** A fetch that answers Cognito and the API like AWS would; `api` decides the answer of the POST. */
function fakeFetch(api: { status: number; body: unknown } = { status: 202, body: { key: OBJECT_KEY } }) {
  const sent: Sent[] = [];
  const cognitoAnswers: Record<string, unknown> = {
    AdminCreateUser: { User: { Username: 'u' } },
    AdminSetUserPassword: {},
    AdminInitiateAuth: { AuthenticationResult: { IdToken: 'id-token-of-the-test-user' } },
    AdminDeleteUser: {},
  };
  const fetchImpl: Fetch = async (url, init) => {
    const operation = init.headers['x-amz-target']?.split('.').pop();
    sent.push({ url, method: init.method, headers: init.headers, body: init.body, operation });
    const answer = url.startsWith('https://cognito-idp.')
      ? { status: 200, body: cognitoAnswers[operation ?? ''] }
      : api;
    return { status: answer.status, text: async () => JSON.stringify(answer.body) };
  };
  return { fetchImpl, sent, cognitoAnswers };
}

function fakeClock(): Clock {
  let now = Date.parse('2026-11-22T10:00:00Z');
  return {
    now: () => now,
    sleep: async (ms) => {
      now += ms;
    },
  };
}

function context(overrides: Partial<CheckContext> = {}): CheckContext {
  return {
    environment: 'dev',
    region: 'eu-west-1',
    outputs: OUTPUTS,
    clients: new AwsClients('eu-west-1', { accessKeyId: 'AKIAEXAMPLE', secretAccessKey: 'secret', sessionToken: 't' }),
    clock: fakeClock(),
    waitTimeoutMs: 60_000,
    pollIntervalMs: 5_000,
    ...overrides,
  };
}

// -------------------------------------------------------------------------------------------------------------------
// The Data API, answering by statement as Aurora would: the run and its batch (one state per poll, the last one
// repeated), the count of the sample's rows, the delete.
// -------------------------------------------------------------------------------------------------------------------

type Cell = string | number | null;
/** A row of the run-and-batch statement (column -> value); undefined: no audit row yet. */
type AuditState = Record<string, Cell> | undefined;

const RUN_COLUMNS: [string, string][] = [
  ['run_id', 'text'],
  ['status', 'text'],
  ['rows_valid', 'int8'],
  ['rows_rejected', 'int8'],
  ['error', 'text'],
  ['staged_at', 'timestamptz'],
  ['batch_id', 'text'],
  ['batch_status', 'text'],
  ['batch_attempts', 'int4'],
  ['batch_run_count', 'int4'],
  ['batch_started_at', 'timestamptz'],
  ['batch_finished_at', 'timestamptz'],
  ['batch_next_attempt_at', 'timestamptz'],
  ['batch_rows_loaded', 'int8'],
  ['batch_glue_job_run_id', 'text'],
  ['batch_error', 'text'],
];

/** The run of the sample in stage A. */
function runRow(status: string, values: Record<string, Cell> = {}): Record<string, Cell> {
  return {
    run_id: 'run-1',
    status,
    rows_valid: status === 'RUNNING' ? null : VALID_ROWS,
    rows_rejected: status === 'RUNNING' ? null : 1,
    staged_at: status === 'RUNNING' ? null : '2026-11-22 10:01:00.123456',
    ...values,
  };
}

/** The run in its batch. */
function batchedRow(runStatus: string, batchStatus: string, values: Record<string, Cell> = {}): Record<string, Cell> {
  return runRow(runStatus, {
    batch_id: BATCH_ID,
    batch_status: batchStatus,
    batch_attempts: 1,
    batch_run_count: 2,
    batch_started_at: '2026-11-22 10:06:00',
    batch_finished_at: batchStatus === 'SUCCEEDED' || batchStatus === 'ABANDONED' ? '2026-11-22 10:19:00' : null,
    batch_rows_loaded: batchStatus === 'SUCCEEDED' ? 5 : null,
    batch_glue_job_run_id: 'jr_0123456789abcdef',
    ...values,
  });
}

const HEALTHY: AuditState[] = [
  undefined,
  runRow('RUNNING'),
  runRow('STAGED'),
  runRow('STAGED'),
  batchedRow('STAGED', 'RUNNING'),
  batchedRow('SUCCEEDED', 'SUCCEEDED'),
];

const RUN_AND_BATCH = /^SELECT r\.run_id, r\.status, .*FROM audit\.pipeline_runs r LEFT JOIN audit\.batches b/s;

interface MartMock {
  /** Run-and-batch statements answered so far. */
  polls: number;
}

/**
 * `states`: what each poll of the run and its batch finds (the last one repeats). `objectKey`: the key the statement
 * must ask for (another key finds no row, as in the database).
 */
function mockMart(
  found: {
    states?: readonly AuditState[];
    rows?: number;
    deleteError?: Error;
    objectKey?: () => string | undefined;
  } = {},
): MartMock {
  const states = found.states ?? HEALTHY;
  const rows = found.rows ?? VALID_ROWS;
  const mock: MartMock = { polls: 0 };
  rdsData.on(ExecuteStatementCommand).callsFake((input: ExecuteStatementInput) => {
    const sql = input.sql ?? '';
    if (RUN_AND_BATCH.test(sql)) {
      const state = states[Math.min(mock.polls++, states.length - 1)];
      const key = param(input, 'objectKey');
      const wanted = (found.objectKey ?? (() => OBJECT_KEY))();
      const row = key === wanted && param(input, 'dataset') === 'clicks' ? state : undefined;
      return {
        columnMetadata: RUN_COLUMNS.map(([label, typeName]) => ({ label, typeName })),
        records: row ? [encodeRow(row)] : [],
      };
    }
    if (sql.startsWith('SELECT count(*)')) {
      return { columnMetadata: [{ label: 'rows', typeName: 'int8' }], records: [[{ stringValue: String(rows) }]] };
    }
    if (sql.startsWith('DELETE')) {
      if (found.deleteError) throw found.deleteError;
      return {
        columnMetadata: [{ label: 'deleted', typeName: 'int4' }],
        records: Array.from({ length: rows }, () => [{ longValue: 1 }]),
      };
    }
    throw new Error(`unexpected SQL ${sql}`);
  });
  return mock;
}

/** As the Data API returns a row: int4 as longValue, int8 as text (longReturnType STRING), timestamps as text. */
function encodeRow(row: Record<string, Cell>) {
  return RUN_COLUMNS.map(([column, typeName]) => {
    const value = row[column];
    if (value === null || value === undefined) return { isNull: true };
    return typeName === 'int4' ? { longValue: Number(value) } : { stringValue: String(value) };
  });
}

interface ExecuteStatementInput {
  sql?: string;
  parameters?: { name?: string; value?: { stringValue?: string } }[];
}

const param = (input: ExecuteStatementInput, name: string) =>
  input.parameters?.find((p) => p.name === name)?.value?.stringValue;

const statements = () => rdsData.commandCalls(ExecuteStatementCommand).map((call) => call.args[0].input);

/** Athena answers the curated-table check: the key count (all from the batch), then the snapshot count. */
function mockAthena(rows = VALID_ROWS): void {
  let queries = 0;
  athena.on(StartQueryExecutionCommand).callsFake(() => ({ QueryExecutionId: `q${++queries}` }));
  athena.on(GetQueryExecutionCommand).resolves({ QueryExecution: { Status: { State: 'SUCCEEDED' } } });
  athena.on(GetQueryResultsCommand).callsFake((input: { QueryExecutionId: string }) => {
    const columns: [string, string][] =
      input.QueryExecutionId === 'q1'
        ? [
            ['rows', String(rows)],
            ['from_batch', String(rows)],
          ]
        : [['snapshots', '2']];
    return {
      ResultSet: {
        Rows: [
          { Data: columns.map(([name]) => ({ VarCharValue: name })) },
          { Data: columns.map(([, value]) => ({ VarCharValue: value })) },
        ],
      },
    };
  });
}

function mockHealthyDataPath(): void {
  mockAthena();
  cloudFormation.on(DescribeStacksCommand, { StackName: 'dp-dev-api' }).resolves({
    Stacks: [
      {
        StackName: 'dp-dev-api',
        StackStatus: 'UPDATE_COMPLETE',
        CreationTime: STARTED,
        Outputs: [
          { OutputKey: 'ApiUrl', OutputValue: API_URL },
          { OutputKey: 'UserPoolId', OutputValue: 'eu-west-1_Pool1' },
          { OutputKey: 'UserPoolClientId', OutputValue: 'client-1' },
        ],
      },
    ],
  });
  // Both curated layouts under clicks/: Iceberg data files (and metadata, not Parquet) and Hive-style partitions.
  s3.on(ListObjectsV2Command, { Prefix: 'clicks/' }).resolves({
    Contents: [
      { Key: 'clicks/data/ingest_date=2026-11-22/00000-1-new.parquet', LastModified: new Date('2026-11-22T10:12Z') },
      { Key: 'clicks/data/ingest_date=2026-11-21/00000-0-old.parquet', LastModified: new Date('2026-11-21T09:00Z') },
      {
        Key: 'clicks/ingest_date=2026-11-22/part-00000-new.snappy.parquet',
        LastModified: new Date('2026-11-22T10:13Z'),
      },
      // Written before the batch started (an earlier batch of the same day): not this batch's.
      { Key: 'clicks/ingest_date=2026-11-22/part-00000-earlier.parquet', LastModified: new Date('2026-11-22T10:05Z') },
      { Key: 'clicks/metadata/00002-abc.metadata.json', LastModified: new Date('2026-11-22T10:14Z') },
    ],
  });
  s3.on(ListObjectsV2Command, { Prefix: `_mart/clicks/batch_id=${BATCH_ID}/` }).resolves({
    Contents: [{ Key: `_mart/clicks/batch_id=${BATCH_ID}/part-00000.csv` }],
  });
  s3.on(DeleteObjectsCommand).resolves({});
  s3.on(PutObjectCommand).resolves({});
  mockMart();
}

async function runDataPath(options: {
  auth?: EnvironmentConfig['api']['auth'];
  fetch?: ReturnType<typeof fakeFetch>;
  batchTimeoutMs?: number;
  context?: Partial<CheckContext>;
}) {
  const fetch = options.fetch ?? fakeFetch();
  const module = createDataPathChecks({
    fetch: fetch.fetchImpl,
    loadConfig: () => (options.auth ? configWithAuth(options.auth) : CONFIG),
    seed: () => 42,
    password: () => 'Str0ng!Passw0rd-For-Tests',
    batchTimeoutMs: options.batchTimeoutMs,
  });
  const ctx = context(options.context);
  const results = await runChecks(module.checks(ctx), ctx);
  const byName = (name: string): CheckResult => {
    const result = results.find((r) => r.name === `data-path/${name}`);
    if (!result) throw new Error(`no check data-path/${name} in ${results.map((r) => r.name).join(', ')}`);
    return result;
  };
  return { results, byName, sent: fetch.sent, table: formatTable(results) };
}

const COGNITO = { type: 'cognito', mfa: 'optional', selfSignUp: false } as const;
const AFTER_BATCH = ['curated output', 'mart rows', 'audit row'];

beforeEach(() => {
  for (const mock of [s3, sfn, rdsData, cloudFormation, sts, athena]) mock.reset();
  mockHealthyDataPath();
});

describe('data path: happy path with a created Cognito user pool', () => {
  test('sends the sample through the API as a throwaway user, follows its run through its batch to the mart and cleans up', async () => {
    const { results, byName, sent, table } = await runDataPath({ auth: COGNITO });
    expect(results.map((r) => [r.name, r.passed, r.detail])).toEqual(
      results.map((r) => [r.name, true, expect.any(String)]),
    );
    expect(results.map((r) => r.name)).toEqual([
      'data-path/sample',
      'data-path/authenticate',
      'data-path/ingest',
      'data-path/batch',
      'data-path/curated output',
      'data-path/mart rows',
      'data-path/curated table (Athena)',
      'data-path/audit row',
      'data-path/cleanup',
    ]);
    expect(table).toMatch(/^data-path\/batch +PASS +\d+ +run run-1 SUCCEEDED in batch /m);
    expect(byName('sample').detail).toMatch(/^clicks: 3 valid rows \+ 1 invalid \(seed 42, keys clk-[0-9a-f]{16}, /);
    expect(byName('authenticate').detail).toMatch(/Cognito: throwaway user integration-test-[0-9a-f]+@example.com/);
    expect(byName('ingest').detail).toBe(`202, landing key ${OBJECT_KEY}`);
    expect(byName('curated output').detail).toBe(
      `2 Parquet data file(s) under s3://dp-dev-curated-bucket/clicks/ written since batch ${BATCH_ID} started (2026-11-22T10:06:00.000Z)`,
    );
    expect(byName('mart rows').detail).toBe('3 of 3 valid rows in mart."clicks"');
    expect(byName('audit row').detail).toBe(
      `run run-1: status SUCCEEDED, rows_valid 3, rows_rejected 1; batch ${BATCH_ID} SUCCEEDED (attempt 1, 2 run(s), rows_loaded 5)`,
    );

    // Cognito: create, set a permanent password, sign in with the admin flow, delete at the end.
    expect(sent.filter((s) => s.operation).map((s) => s.operation)).toEqual([
      'AdminCreateUser',
      'AdminSetUserPassword',
      'AdminInitiateAuth',
      'AdminDeleteUser',
    ]);
    const body = (operation: string) => JSON.parse(sent.find((s) => s.operation === operation)?.body ?? '{}');
    expect(body('AdminCreateUser')).toMatchObject({ UserPoolId: 'eu-west-1_Pool1', MessageAction: 'SUPPRESS' });
    expect(body('AdminSetUserPassword')).toMatchObject({ Permanent: true });
    expect(body('AdminInitiateAuth')).toMatchObject({
      ClientId: 'client-1',
      AuthFlow: 'ADMIN_USER_PASSWORD_AUTH',
    });
    expect(body('AdminDeleteUser').Username).toBe(body('AdminCreateUser').Username);
    for (const call of sent.filter((s) => s.operation))
      expect(call.headers.authorization).toMatch(/^AWS4-HMAC-SHA256 /);

    // The API: the dataset's route and content type, the user's IdToken, the generated sample.
    const post = sent.find((s) => !s.operation);
    expect(post).toMatchObject({ url: `${API_URL}v1/datasets/clicks/objects`, method: 'POST' });
    expect(post?.headers).toMatchObject({ 'content-type': 'text/csv', authorization: 'id-token-of-the-test-user' });
    const lines = post?.body?.trim().split(/\r\n/) ?? [];
    expect(lines[0]).toBe('click_id,impression_id,click_time,campaign_id,landing_url,cost_usd,is_fraud_suspected');
    expect(lines).toHaveLength(1 + VALID_ROWS + 1);
  });

  test('finds the run staged, then batched, then succeeded, and says so', async () => {
    const { byName } = await runDataPath({ auth: COGNITO });
    expect(byName('batch').detail).toBe(
      `run run-1 SUCCEEDED in batch ${BATCH_ID} (attempt 1, 2 run(s), 5 mart row(s) loaded); seen: no audit row -> RUNNING -> STAGED -> batch RUNNING -> SUCCEEDED`,
    );
    // One statement per poll, for the object of the sample (audit has no other way to find its run).
    const polls = statements().filter((s) => RUN_AND_BATCH.test(s.sql ?? ''));
    expect(polls.length).toBeGreaterThanOrEqual(HEALTHY.length);
    for (const poll of polls) {
      expect([param(poll, 'dataset'), param(poll, 'objectKey')]).toEqual(['clicks', OBJECT_KEY]);
    }
  });

  test('the mart rows are counted and deleted by the sample keys, the batch CSV is removed, and what stays is named', async () => {
    const { byName } = await runDataPath({ auth: COGNITO });
    const count = statements().find((s) => s.sql?.startsWith('SELECT count(*)'));
    expect(count?.sql).toBe(
      'SELECT count(*) AS rows FROM mart."clicks" WHERE "click_id"::text IN (:k0_0, :k1_0, :k2_0)',
    );
    expect(count).toMatchObject({
      resourceArn: OUTPUTS.DATA_MART_CLUSTER_ARN,
      secretArn: OUTPUTS.DATA_MART_LOADER_SECRET_ARN,
    });
    const keys = count?.parameters?.map((p) => p.value?.stringValue);
    expect(keys).toHaveLength(3);
    expect(new Set(keys).size).toBe(3);
    const deleted = statements().find((s) => s.sql?.startsWith('DELETE'));
    expect(deleted?.parameters?.map((p) => p.value?.stringValue)).toEqual(keys);
    expect(s3.commandCalls(DeleteObjectsCommand).map((call) => call.args[0].input)).toEqual([
      {
        Bucket: 'dp-dev-curated-bucket',
        Delete: { Objects: [{ Key: `_mart/clicks/batch_id=${BATCH_ID}/part-00000.csv` }] },
      },
    ]);
    const cleanup = byName('cleanup').detail;
    expect(cleanup).toContain(
      `removed: 3 mart row(s) from mart."clicks"; 1 object(s) of s3://dp-dev-curated-bucket/_mart/clicks/batch_id=${BATCH_ID}/; user integration-test-`,
    );
    expect(cleanup).toContain(
      "left: the sample's rows in the curated table of clicks (shared with real data; keys clk-",
    );
    expect(cleanup).toContain(`audit rows of run run-1 and batch ${BATCH_ID} (the record of the run)`);
    expect(cleanup).toContain(`s3://dp-dev-landing-bucket/${OBJECT_KEY} (landing denies deletes`);
  });

  test('ids are unique per run: another seed gives other keys', async () => {
    const first = fakeFetch();
    const second = fakeFetch();
    const run = (fetch: ReturnType<typeof fakeFetch>, seed: number) => {
      const module = createDataPathChecks({
        fetch: fetch.fetchImpl,
        loadConfig: () => configWithAuth(COGNITO),
        seed: () => seed,
      });
      const ctx = context();
      return runChecks(module.checks(ctx).slice(0, 1), ctx);
    };
    const [a] = await run(first, 1);
    const [b] = await run(second, 2);
    const keysOf = (detail: string) => /keys (.*)\)$/.exec(detail)?.[1].split(', ') ?? [];
    expect(keysOf(a.detail)).toHaveLength(3);
    expect(keysOf(a.detail).filter((key) => keysOf(b.detail).includes(key))).toEqual([]);
  });
});

describe('data path: happy path with IAM auth', () => {
  test('signs the POST with SigV4 and needs no test user', async () => {
    const { results, byName, sent } = await runDataPath({ auth: { type: 'iam' } });
    expect(results.filter((r) => !r.passed)).toEqual([]);
    expect(byName('authenticate').detail).toMatch(/^IAM: requests are SigV4-signed/);
    expect(sent.filter((s) => s.operation)).toEqual([]);
    expect(sent).toHaveLength(1);
    const [post] = sent;
    expect(post.url).toBe(`${API_URL}v1/datasets/clicks/objects`);
    expect(post.headers.authorization).toMatch(
      /^AWS4-HMAC-SHA256 Credential=AKIAEXAMPLE\/\d{8}\/eu-west-1\/execute-api\/aws4_request, SignedHeaders=.*host.*, Signature=[0-9a-f]{64}$/,
    );
    expect(post.headers['x-amz-security-token']).toBe('t');
    expect(post.headers['x-amz-date']).toMatch(/^\d{8}T\d{6}Z$/);
    expect(byName('cleanup').detail).not.toContain('user ');
  });
});

describe('data path: environments without an API identity for the test', () => {
  test.each([
    [
      {
        type: 'lambda-authorizer',
        functionArn: 'arn:aws:lambda:eu-west-1:222222222222:function:a',
        identityHeader: 'Authorization',
      },
    ],
    [{ type: 'cognito-existing', userPoolArn: 'arn:aws:cognito-idp:eu-west-1:222222222222:userpool/eu-west-1_Abc' }],
  ] as const)('%o: skips the API leg visibly and puts the sample into landing', async (auth) => {
    // Audit knows the run of the object the test put, under its key.
    rdsData.reset();
    mockMart({ objectKey: () => s3.commandCalls(PutObjectCommand)[0]?.args[0].input.Key });
    const { results, byName, sent } = await runDataPath({ auth: auth as EnvironmentConfig['api']['auth'] });
    expect(results.filter((r) => !r.passed)).toEqual([]);
    expect(byName('authenticate').detail).toMatch(
      /^SKIPPED API leg: api.auth.type ".*" gives the integration test no identity/,
    );
    expect(sent).toEqual([]);
    const put = s3.commandCalls(PutObjectCommand)[0].args[0].input;
    expect(put).toMatchObject({ Bucket: 'dp-dev-landing-bucket', ContentType: 'text/csv' });
    expect(put.Key).toMatch(/^clicks\/ingest_date=2026-11-22\/integration-test-[0-9a-f]{16}\.csv$/);
    expect(byName('batch').detail).toMatch(/^run run-1 SUCCEEDED in batch /);
  });

  test('a pool that asks for MFA skips the API leg too, and the user is still deleted', async () => {
    const fetch = fakeFetch();
    fetch.cognitoAnswers.AdminInitiateAuth = { ChallengeName: 'MFA_SETUP', Session: 's' };
    const { byName, sent } = await runDataPath({ auth: { ...COGNITO, mfa: 'required' }, fetch });
    expect(byName('authenticate').detail).toMatch(
      /^SKIPPED API leg: the user pool asks MFA_SETUP \(api.auth.mfa "required"\)/,
    );
    expect(byName('ingest').detail).toMatch(/^API leg skipped .*: put s3:\/\/dp-dev-landing-bucket\/clicks\//);
    expect(sent.map((s) => s.operation)).toContain('AdminDeleteUser');
  });

  test('a denied landing put fails naming the permission to grant', async () => {
    s3.on(PutObjectCommand).rejects(Object.assign(new Error('Access Denied'), { name: 'AccessDenied' }));
    const { byName } = await runDataPath({
      auth: {
        type: 'cognito-existing',
        userPoolArn: 'arn:aws:cognito-idp:eu-west-1:222222222222:userpool/eu-west-1_Abc',
      },
    });
    expect(byName('ingest')).toMatchObject({ passed: false });
    expect(byName('ingest').detail).toMatch(
      /was denied\. Fix: grant the integration-test role s3:PutObject on landing clicks\/ingest_date=\*/,
    );
    expect(byName('batch').detail).toBe('not run: data-path/ingest did not complete');
  });
});

describe('data path: the run and its batch fail or never finish', () => {
  test('a run FAILED in stage A fails the batch check naming its error; later checks do not run, rows are left', async () => {
    rdsData.reset();
    mockMart({
      states: [
        runRow('RUNNING'),
        runRow('FAILED', { rows_valid: null, rows_rejected: null, error: 'TimeoutError: reading landing timed out' }),
      ],
    });
    const { byName, sent } = await runDataPath({ auth: COGNITO });
    expect(byName('batch')).toMatchObject({
      passed: false,
      detail: `run run-1 of ${OBJECT_KEY} ended FAILED in stage A: TimeoutError: reading landing timed out (rows_valid null, rows_rejected null)`,
    });
    for (const name of AFTER_BATCH) expect(byName(name).detail).toBe('not run: data-path/batch did not succeed');
    // Stage A retries the message: the sample may still be loaded, so its rows are not deleted now.
    expect(statements().some((s) => s.sql?.startsWith('DELETE'))).toBe(false);
    expect(byName('cleanup')).toMatchObject({ passed: true });
    expect(byName('cleanup').detail).toMatch(
      /left: mart rows with keys clk-.*, if run run-1 still loads them; audit rows/,
    );
    expect(sent.map((s) => s.operation)).toContain('AdminDeleteUser');
  });

  test.each([
    ['NO_VALID_ROWS', 'every row was rejected'],
    ['UNREADABLE', 'not valid CSV: unterminated quoted field at line 2'],
  ])('a run %s (quarantined) fails naming the reason', async (status, reason) => {
    rdsData.reset();
    mockMart({ states: [runRow(status, { rows_valid: 0, rows_rejected: 4, error: reason })] });
    const { byName } = await runDataPath({ auth: COGNITO });
    expect(byName('batch').detail).toBe(
      `run run-1 of ${OBJECT_KEY} ended ${status} in stage A: ${reason} (rows_valid 0, rows_rejected 4)`,
    );
    // Nothing can load it any more: the delete by key runs (and finds what it finds).
    expect(statements().some((s) => s.sql?.startsWith('DELETE'))).toBe(true);
  });

  test('a batch ABANDONED fails naming the batch, its attempts and its error; its CSV is kept', async () => {
    rdsData.reset();
    const error = `batch ${BATCH_ID} abandoned after 3 of 3 attempts: GlueJobFailed: Py4JJavaError in MERGE INTO`;
    mockMart({
      states: [
        runRow('STAGED'),
        batchedRow('STAGED', 'RUNNING'),
        batchedRow('FAILED', 'ABANDONED', {
          batch_attempts: 3,
          batch_error: 'GlueJobFailed: Py4JJavaError in MERGE INTO',
          error,
        }),
      ],
    });
    const { byName } = await runDataPath({ auth: COGNITO });
    expect(byName('batch')).toMatchObject({
      passed: false,
      detail: `batch ${BATCH_ID} of run run-1 was ABANDONED after 3 attempt(s): GlueJobFailed: Py4JJavaError in MERGE INTO (its runs are FAILED: replay them after the fix)`,
    });
    expect(byName('curated output').detail).toBe('not run: data-path/batch did not succeed');
    expect(s3.commandCalls(DeleteObjectsCommand)).toHaveLength(0);
    expect(byName('cleanup').detail).toContain(
      `s3://dp-dev-curated-bucket/_mart/clicks/batch_id=${BATCH_ID}/ (batch ABANDONED: kept for the investigation or the retry)`,
    );
  });

  test('a batch FAILED is waited for: its retry succeeding passes, with the path seen', async () => {
    rdsData.reset();
    mockMart({
      states: [
        batchedRow('STAGED', 'RUNNING'),
        batchedRow('STAGED', 'FAILED', {
          batch_error: 'MartLoadError: column "cost_usd" is of type numeric',
          batch_next_attempt_at: '2026-11-22 10:25:00',
        }),
        batchedRow('STAGED', 'RUNNING', { batch_attempts: 2 }),
        batchedRow('SUCCEEDED', 'SUCCEEDED', { batch_attempts: 2 }),
      ],
    });
    const { byName } = await runDataPath({ auth: COGNITO });
    expect(byName('batch')).toMatchObject({ passed: true });
    expect(byName('batch').detail).toMatch(/batch RUNNING -> batch FAILED -> batch RUNNING -> SUCCEEDED/);
  });

  test('a batch that stays FAILED times out naming its error, attempt and next attempt; rows are left', async () => {
    rdsData.reset();
    mockMart({
      states: [
        batchedRow('STAGED', 'FAILED', {
          batch_error: 'MartLoadError: column "cost_usd" is of type numeric',
          batch_next_attempt_at: '2026-11-22 10:25:00',
        }),
      ],
    });
    const { byName } = await runDataPath({ auth: COGNITO, batchTimeoutMs: 120_000 });
    expect(byName('batch').detail).toMatch(
      new RegExp(
        `\\(last seen: batch ${BATCH_ID} of run run-1 FAILED on attempt 1: MartLoadError: column "cost_usd" is of type numeric \\(stage B retries it at 2026-11-22T10:25:00.000Z\\)\\)$`,
      ),
    );
    expect(statements().some((s) => s.sql?.startsWith('DELETE'))).toBe(false);
    expect(byName('cleanup').detail).toContain(`mart rows with keys clk-`);
    expect(byName('cleanup').detail).toContain(`if batch ${BATCH_ID} (FAILED) still loads them`);
  });

  test('a run SUCCEEDED whose batch is not fails: the audit rows disagree', async () => {
    rdsData.reset();
    mockMart({ states: [batchedRow('SUCCEEDED', 'RUNNING')] });
    const { byName } = await runDataPath({ auth: COGNITO });
    expect(byName('batch').detail).toBe(
      `run run-1 is SUCCEEDED but its batch ${BATCH_ID} is RUNNING: the audit rows disagree`,
    );
  });

  test('no audit row within the bound times out saying what was awaited, after the bound from the environment config', async () => {
    rdsData.reset();
    const mart = mockMart({ states: [undefined] });
    const { byName } = await runDataPath({ auth: COGNITO, context: { pollIntervalMs: 60_000 } });
    expect(byName('batch')).toMatchObject({
      passed: false,
      detail: `timed out after ${DEV_BOUND_S} s waiting for the run of ${OBJECT_KEY} to be staged, batched, curated and loaded (audit.pipeline_runs and audit.batches) (last seen: no audit row for ${OBJECT_KEY} yet (stage A has not claimed it))`,
    });
    // One poll a minute for the whole bound, then no more.
    expect(mart.polls).toBe(DEV_BOUND_S / 60 + 1);
    expect(byName('mart rows').detail).toBe('not run: data-path/batch did not succeed');
    expect(byName('cleanup').detail).toMatch(/left: mart rows with keys .*, if run of the object still loads them/);
  });

  test('a run staged but never batched, or stuck in its batch, times out naming where it stopped', async () => {
    rdsData.reset();
    mockMart({ states: [runRow('STAGED')] });
    const staged = await runDataPath({ auth: COGNITO, batchTimeoutMs: 120_000 });
    expect(staged.byName('batch').detail).toMatch(
      /^timed out after 120 s waiting for the run of .* \(last seen: run run-1 STAGED at 2026-11-22T10:01:00.123Z, waiting for its batch\)$/,
    );

    rdsData.reset();
    mockMart({ states: [batchedRow('STAGED', 'RUNNING', { batch_attempts: 2 })] });
    const running = await runDataPath({ auth: COGNITO, batchTimeoutMs: 120_000 });
    expect(running.byName('batch').detail).toMatch(
      new RegExp(
        `\\(last seen: run run-1 in batch ${BATCH_ID} RUNNING \\(attempt 2, started 2026-11-22T10:06:00.000Z\\)\\)$`,
      ),
    );
  });

  test('an API 4xx fails the ingest with the JSON reason, and the test user is still deleted', async () => {
    const fetch = fakeFetch({
      status: 415,
      body: { message: 'Unsupported Media Type', type: 'UNSUPPORTED_MEDIA_TYPE', requestId: 'r-1' },
    });
    const { byName, sent } = await runDataPath({ auth: COGNITO, fetch });
    expect(byName('ingest')).toMatchObject({
      passed: false,
      detail: `POST ${API_URL}v1/datasets/clicks/objects answered 415 Unsupported Media Type (UNSUPPORTED_MEDIA_TYPE)`,
    });
    expect(byName('batch').detail).toBe('not run: data-path/ingest did not complete');
    expect(byName('cleanup')).toMatchObject({ passed: true, detail: expect.stringMatching(/^removed: user /) });
    expect(sent.at(-1)?.operation).toBe('AdminDeleteUser');
    expect(rdsData.calls()).toHaveLength(0);
  });
});

describe('data path: what the batch wrote', () => {
  test('mart rows missing and a wrong audit record fail with what was expected and found', async () => {
    rdsData.reset();
    mockMart({ rows: 2, states: [batchedRow('SUCCEEDED', 'SUCCEEDED', { rows_valid: 2, rows_rejected: 2 })] });
    const { byName } = await runDataPath({ auth: COGNITO });
    expect(byName('batch').passed).toBe(true);
    expect(byName('mart rows').detail).toBe('expected 3 rows of the sample in mart."clicks", found 2');
    expect(byName('audit row').detail).toBe(
      'expected status SUCCEEDED, rows_valid 3, rows_rejected 1 for run run-1; found status SUCCEEDED, rows_valid 2, rows_rejected 2',
    );
  });

  test('the audit check reads the record again: a run moved to another batch fails naming both', async () => {
    rdsData.reset();
    mockMart({
      states: [
        // What the batch check saw, then what the audit check finds.
        batchedRow('SUCCEEDED', 'SUCCEEDED'),
        batchedRow('STAGED', 'RUNNING', { batch_id: 'other-batch', rows_valid: null, rows_rejected: null }),
      ],
    });
    const { byName } = await runDataPath({ auth: COGNITO });
    expect(byName('batch').passed).toBe(true);
    expect(byName('audit row').detail).toBe(
      `expected status SUCCEEDED, rows_valid 3, rows_rejected 1 for run run-1; found status STAGED, rows_valid null, rows_rejected null; expected batch ${BATCH_ID} SUCCEEDED; found batch other-batch RUNNING`,
    );
  });

  test('curated: lists <dataset>/ and counts only Parquet files newer than the batch start, in both layouts', async () => {
    await runDataPath({ auth: COGNITO });
    const listings = s3.commandCalls(ListObjectsV2Command).map((call) => call.args[0].input);
    expect(listings[0]).toEqual({ Bucket: 'dp-dev-curated-bucket', Prefix: 'clicks/', ContinuationToken: undefined });
  });

  test('curated: follows the listing pages, and no fresh Parquet fails naming the prefix, the batch and its start', async () => {
    s3.on(ListObjectsV2Command, { Prefix: 'clicks/' })
      .resolvesOnce({
        Contents: [{ Key: 'clicks/data/00000-0-old.parquet', LastModified: new Date('2026-11-21') }],
        IsTruncated: true,
        NextContinuationToken: 'page-2',
      })
      .resolves({
        Contents: [
          { Key: 'clicks/data/00000-1-old.parquet', LastModified: new Date('2026-11-22T10:05:59Z') },
          { Key: 'clicks/metadata/snap-1.avro', LastModified: new Date('2026-11-22T10:15Z') },
        ],
      });
    const { byName } = await runDataPath({ auth: COGNITO });
    expect(
      s3.commandCalls(ListObjectsV2Command, { Prefix: 'clicks/' }).map((c) => c.args[0].input.ContinuationToken),
    ).toEqual([undefined, 'page-2']);
    expect(byName('curated output').detail).toBe(
      `no Parquet data file under s3://dp-dev-curated-bucket/clicks/ was written since batch ${BATCH_ID} started (2026-11-22T10:06:00.000Z)`,
    );
  });

  test('survives a huge curated prefix: the listing stops after its page limit and says so', async () => {
    let pages = 0;
    s3.on(ListObjectsV2Command, { Prefix: 'clicks/' }).callsFake(() => {
      pages++;
      return {
        Contents: [{ Key: `clicks/data/old-${pages}.parquet`, LastModified: new Date('2026-11-01') }],
        IsTruncated: true,
        NextContinuationToken: `page-${pages + 1}`,
      };
    });
    const { byName } = await runDataPath({ auth: COGNITO });
    expect(pages).toBe(MAX_CURATED_PAGES);
    expect(byName('curated output').detail).toBe(
      `no Parquet data file under s3://dp-dev-curated-bucket/clicks/ was written since batch ${BATCH_ID} started (2026-11-22T10:06:00.000Z) (listing stopped after ${MAX_CURATED_PAGES} objects, ${MAX_CURATED_PAGES} pages)`,
    );
  });
});

describe('data path: cleanup', () => {
  test('a user that cannot be created fails authentication with the Cognito error, and cleanup still tries to delete it', async () => {
    const fetch = fakeFetch();
    const original = fetch.fetchImpl;
    const failing: Fetch = async (url, init) =>
      init.headers['x-amz-target']?.endsWith('AdminSetUserPassword')
        ? { status: 400, text: async () => JSON.stringify({ __type: 'InvalidPasswordException', message: 'too weak' }) }
        : original(url, init);
    const { byName } = await runDataPath({ auth: COGNITO, fetch: { ...fetch, fetchImpl: failing } });
    expect(byName('authenticate').detail).toBe('InvalidPasswordException: AdminSetUserPassword: too weak');
    expect(fetch.sent.map((s) => s.operation)).toContain('AdminDeleteUser');
  });

  test('a user whose creation failed is not reported as a cleanup failure', async () => {
    const fetch = fakeFetch();
    const original = fetch.fetchImpl;
    const error = (type: string, message: string) => ({
      status: 400,
      text: async () => JSON.stringify({ __type: type, message }),
    });
    const failing: Fetch = async (url, init) => {
      const target = init.headers['x-amz-target'] ?? '';
      if (target.endsWith('AdminCreateUser')) {
        await original(url, init);
        return error('com.amazonaws.cognito.identity.idp.model#NotAuthorizedException', 'not allowed');
      }
      if (target.endsWith('AdminDeleteUser')) {
        await original(url, init);
        return error('UserNotFoundException', 'User does not exist.');
      }
      return original(url, init);
    };
    const { byName } = await runDataPath({ auth: COGNITO, fetch: { ...fetch, fetchImpl: failing } });
    expect(byName('authenticate').detail).toBe('NotAuthorizedException: AdminCreateUser: not allowed');
    expect(byName('cleanup')).toMatchObject({ passed: true, detail: 'removed: nothing' });
  });

  test('cleanup fails naming what it could not remove, and still removes the rest', async () => {
    s3.on(DeleteObjectsCommand).rejects(Object.assign(new Error('Access Denied'), { name: 'AccessDenied' }));
    const { byName, sent } = await runDataPath({ auth: COGNITO });
    expect(byName('cleanup').passed).toBe(false);
    expect(byName('cleanup').detail).toMatch(
      /^could not remove mart batch: AccessDenied: Access Denied\. removed: 3 mart row/,
    );
    expect(sent.at(-1)?.operation).toBe('AdminDeleteUser');
  });

  test('cleanup removes every page of the batch CSV and fails on objects S3 did not delete', async () => {
    s3.on(ListObjectsV2Command, { Prefix: `_mart/clicks/batch_id=${BATCH_ID}/` })
      .resolvesOnce({
        Contents: [{ Key: `_mart/clicks/batch_id=${BATCH_ID}/part-00000.csv` }],
        IsTruncated: true,
        NextContinuationToken: 'next',
      })
      .resolves({ Contents: [{ Key: `_mart/clicks/batch_id=${BATCH_ID}/part-00001.csv` }] });
    const ok = await runDataPath({ auth: COGNITO });
    expect(ok.byName('cleanup').detail).toContain(
      `2 object(s) of s3://dp-dev-curated-bucket/_mart/clicks/batch_id=${BATCH_ID}/`,
    );

    s3.reset();
    mockHealthyDataPath();
    s3.on(DeleteObjectsCommand).resolves({
      Errors: [{ Key: `_mart/clicks/batch_id=${BATCH_ID}/part-00000.csv`, Code: 'AccessDenied', Message: 'denied' }],
    });
    const partial = await runDataPath({ auth: COGNITO });
    expect(partial.byName('cleanup').detail).toMatch(
      /^could not remove mart batch: Error: 1 object\(s\) not deleted, e\.g\. _mart\/clicks\/batch_id=.*\/part-00000\.csv: AccessDenied denied/,
    );
  });

  test('every Data API statement logs in with the loader login secret of the outputs, never another secret', async () => {
    await runDataPath({ auth: COGNITO });
    const secrets = new Set(statements().map((input) => input.secretArn));
    expect([...secrets]).toEqual([OUTPUTS.DATA_MART_LOADER_SECRET_ARN]);
    // Single statements only: the integration-test role may not begin transactions (ApiStack grants it ExecuteStatement only).
    expect(rdsData.calls().every((call) => call.args[0] instanceof ExecuteStatementCommand)).toBe(true);
    // It follows the batch through audit: no Step Functions call at all (the role has no states: permission).
    expect(sfn.calls()).toHaveLength(0);
  });

  test('cleanup fails with the database error when the database refuses the DELETE', async () => {
    rdsData.reset();
    mockMart({
      deleteError: Object.assign(new Error('ERROR: permission denied for table clicks'), {
        name: 'DatabaseErrorException',
      }),
    });
    const { byName } = await runDataPath({ auth: COGNITO });
    expect(byName('cleanup').passed).toBe(false);
    expect(byName('cleanup').detail).toMatch(
      /^could not remove mart rows: DatabaseErrorException: ERROR: permission denied for table clicks\. removed: 1 object\(s\) of s3:\/\/dp-dev-curated-bucket\//,
    );
  });
});

describe('data path: the bound of the wait for the batch', () => {
  const environment = (name: string) => CONFIG.environments.find((e) => e.name === name) as EnvironmentConfig;

  test('is the batch window plus the Glue timeout plus a margin, from the environment config', () => {
    const dev = environment('dev');
    expect(batchWaitMs({ waitTimeoutMs: 60_000 }, dev)).toBe(DEV_BOUND_S * 1000);
    const slow = {
      ...dev,
      etl: { ...dev.etl, glueTimeoutMinutes: 120, batch: { ...dev.etl.batch, maxWaitMinutes: 60 } },
    };
    expect(batchWaitMs({ waitTimeoutMs: 60_000 }, slow)).toBe(
      ((60 + 120 + BATCH_WAIT_MARGIN_MINUTES) * 60 + dev.etl.batch.pollSeconds) * 1000,
    );
  });

  test('bounds the batch check itself by the same figure (plus a minute), once the sample check has read the config', async () => {
    const module = createDataPathChecks({ fetch: fakeFetch().fetchImpl, loadConfig: () => CONFIG, seed: () => 1 });
    const ctx = context();
    const checks = module.checks(ctx);
    const batch = checks.find((check) => check.name === 'data-path/batch');
    // Before the config is read: the context's wait timeout.
    expect(batch?.timeoutMs).toBe(60_000 + 60_000);
    await runChecks(checks.slice(0, 1), ctx);
    expect(batch?.timeoutMs).toBe(DEV_BOUND_S * 1000 + 60_000);
  });

  test("is the context's wait timeout when that is longer", () => {
    expect(batchWaitMs({ waitTimeoutMs: 10 * 3_600_000 }, environment('prod'))).toBe(10 * 3_600_000);
  });
});

describe('data path: registration', () => {
  test('runs after the infrastructure modules', () => {
    expect(CHECK_MODULES.map((module) => module.name)).toEqual(['storage', 'network', 'data-path']);
  });

  test('does not run when its outputs are missing: the test cannot start, naming them', async () => {
    sts.on(GetCallerIdentityCommand).resolves({ Account: '222222222222', Arn: 'arn:aws:iam::222222222222:user/a' });
    const lines: string[] = [];
    const exitCode = await runIntegrationTest({
      argv: ['--env', 'dev', '--only', 'data-path'],
      env: { TARGET_REGION: 'eu-west-1', ...OUTPUTS, API_URL: undefined, DATA_MART_LOADER_SECRET_ARN: '' },
      print: (line) => lines.push(line),
      clock: fakeClock(),
    });
    expect(exitCode).toBe(2);
    expect(lines.join('\n')).toContain('Missing environment variables API_URL, DATA_MART_LOADER_SECRET_ARN');
    expect(rdsData.calls()).toHaveLength(0);
  });
});
