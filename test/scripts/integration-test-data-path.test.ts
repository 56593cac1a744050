import { CloudFormationClient, DescribeStacksCommand } from '@aws-sdk/client-cloudformation';
import { ExecuteStatementCommand, RDSDataClient } from '@aws-sdk/client-rds-data';
import { DeleteObjectsCommand, ListObjectsV2Command, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { DescribeExecutionCommand, ListExecutionsCommand, SFNClient } from '@aws-sdk/client-sfn';
import { GetCallerIdentityCommand, STSClient } from '@aws-sdk/client-sts';
import { mockClient } from 'aws-sdk-client-mock';
import { loadConfig } from '../../config/load';
import type { EnvironmentConfig } from '../../config/schema';
import { CHECK_MODULES } from '../../scripts/integration-test/checks';
import { createDataPathChecks, VALID_ROWS } from '../../scripts/integration-test/checks/data-path';
import type { Fetch } from '../../scripts/integration-test/checks/data-path-http';
import { runIntegrationTest } from '../../scripts/integration-test/cli';
import { AwsClients, type CheckContext } from '../../scripts/integration-test/context';
import { type CheckResult, type Clock, formatTable, runChecks } from '../../scripts/integration-test/runner';

const s3 = mockClient(S3Client);
const sfn = mockClient(SFNClient);
const rdsData = mockClient(RDSDataClient);
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
};
const OBJECT_KEY = 'clicks/ingest_date=2026-11-22/req-123.csv';
const STATE_MACHINE = 'arn:aws:states:eu-west-1:222222222222:stateMachine:dp-dev-clicks';
const EXECUTION = 'arn:aws:states:eu-west-1:222222222222:execution:dp-dev-clicks:run-1';
const OTHER_EXECUTION = 'arn:aws:states:eu-west-1:222222222222:execution:dp-dev-clicks:run-0';
const STARTED = new Date('2026-11-22T10:00:00Z');

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

function context(environment = 'dev'): CheckContext {
  return {
    environment,
    region: 'eu-west-1',
    outputs: OUTPUTS,
    clients: new AwsClients('eu-west-1', { accessKeyId: 'AKIAEXAMPLE', secretAccessKey: 'secret', sessionToken: 't' }),
    clock: fakeClock(),
    waitTimeoutMs: 60_000,
    pollIntervalMs: 5_000,
  };
}

/** Data API answers by statement: the count of the sample's rows, the audit row, the delete. */
function mockMart(found: { rows?: number; audit?: Record<string, string | number>; deleteError?: Error } = {}): void {
  const rows = found.rows ?? VALID_ROWS;
  const audit = { run_id: 'run-1', status: 'SUCCEEDED', rows_valid: VALID_ROWS, rows_rejected: 1, ...found.audit };
  rdsData.on(ExecuteStatementCommand).callsFake((input: { sql: string }) => {
    if (input.sql.startsWith('SELECT count(*)')) {
      return { columnMetadata: [{ label: 'rows', typeName: 'int8' }], records: [[{ stringValue: String(rows) }]] };
    }
    if (input.sql.includes('audit.pipeline_runs')) {
      const columns = ['run_id', 'status', 'rows_valid', 'rows_rejected', 'error'];
      return {
        columnMetadata: columns.map((label) => ({ label, typeName: label.startsWith('rows') ? 'int8' : 'text' })),
        records: [
          columns.map((column) =>
            audit[column as keyof typeof audit] === undefined
              ? { isNull: true }
              : { stringValue: String(audit[column as keyof typeof audit]) },
          ),
        ],
      };
    }
    if (input.sql.startsWith('DELETE')) {
      if (found.deleteError) throw found.deleteError;
      return {
        columnMetadata: [{ label: 'deleted', typeName: 'int4' }],
        records: Array.from({ length: rows }, () => [{ longValue: 1 }]),
      };
    }
    throw new Error(`unexpected SQL ${input.sql}`);
  });
}

function mockHealthyDataPath(): void {
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
  sfn.on(ListExecutionsCommand).resolves({
    executions: [
      { executionArn: EXECUTION, stateMachineArn: STATE_MACHINE, name: 'run-1', status: 'RUNNING', startDate: STARTED },
      {
        executionArn: OTHER_EXECUTION,
        stateMachineArn: STATE_MACHINE,
        name: 'run-0',
        status: 'SUCCEEDED',
        startDate: STARTED,
      },
    ],
  });
  sfn.on(DescribeExecutionCommand, { executionArn: OTHER_EXECUTION }).resolves({
    executionArn: OTHER_EXECUTION,
    name: 'run-0',
    status: 'SUCCEEDED',
    startDate: STARTED,
    input: JSON.stringify({ detail: { object: { key: 'clicks/ingest_date=2026-11-22/someone-else.csv' } } }),
  });
  sfn
    .on(DescribeExecutionCommand, { executionArn: EXECUTION })
    .resolvesOnce({ executionArn: EXECUTION, name: 'run-1', status: 'RUNNING', startDate: STARTED, input: eventFor() })
    .resolves({ executionArn: EXECUTION, name: 'run-1', status: 'SUCCEEDED', startDate: STARTED, input: eventFor() });
  s3.on(ListObjectsV2Command, { Prefix: 'clicks/ingest_date=2026-11-22/' }).resolves({
    Contents: [
      { Key: 'clicks/ingest_date=2026-11-22/part-00000-old.snappy.parquet', LastModified: new Date('2026-11-21') },
      {
        Key: 'clicks/ingest_date=2026-11-22/part-00000-new.snappy.parquet',
        LastModified: new Date('2026-11-22T10:05Z'),
      },
    ],
  });
  s3.on(ListObjectsV2Command, { Prefix: '_mart/clicks/run_id=run-1/' }).resolves({
    Contents: [{ Key: '_mart/clicks/run_id=run-1/part-00000.csv' }],
  });
  s3.on(DeleteObjectsCommand).resolves({});
  s3.on(PutObjectCommand).resolves({});
  mockMart();
}

function eventFor(key = OBJECT_KEY): string {
  return JSON.stringify({ detail: { bucket: { name: OUTPUTS.LANDING_BUCKET_NAME }, object: { key } } });
}

async function runDataPath(options: {
  auth?: EnvironmentConfig['api']['auth'];
  fetch?: ReturnType<typeof fakeFetch>;
  executionTimeoutMs?: number;
}) {
  const fetch = options.fetch ?? fakeFetch();
  const module = createDataPathChecks({
    fetch: fetch.fetchImpl,
    loadConfig: () => (options.auth ? configWithAuth(options.auth) : CONFIG),
    seed: () => 42,
    password: () => 'Str0ng!Passw0rd-For-Tests',
    executionTimeoutMs: options.executionTimeoutMs ?? 600_000,
  });
  const ctx = context();
  const results = await runChecks(module.checks(ctx), ctx);
  const byName = (name: string): CheckResult => {
    const result = results.find((r) => r.name === `data-path/${name}`);
    if (!result) throw new Error(`no check data-path/${name} in ${results.map((r) => r.name).join(', ')}`);
    return result;
  };
  return { results, byName, sent: fetch.sent, table: formatTable(results) };
}

const COGNITO = { type: 'cognito', mfa: 'optional', selfSignUp: false } as const;

beforeEach(() => {
  for (const mock of [s3, sfn, rdsData, cloudFormation, sts]) mock.reset();
  mockHealthyDataPath();
});

describe('data path: happy path with a created Cognito user pool', () => {
  test('sends the sample through the API as a throwaway user, follows the run to the mart and cleans up', async () => {
    const { results, byName, sent, table } = await runDataPath({ auth: COGNITO });
    expect(results.map((r) => [r.name, r.passed, r.detail])).toEqual(
      results.map((r) => [r.name, true, expect.any(String)]),
    );
    expect(results.map((r) => r.name)).toEqual([
      'data-path/sample',
      'data-path/authenticate',
      'data-path/ingest',
      'data-path/state machine run',
      'data-path/curated output',
      'data-path/mart rows',
      'data-path/audit row',
      'data-path/cleanup',
    ]);
    expect(table).toMatch(/^data-path\/state machine run +PASS +\d+ +execution run-1 SUCCEEDED$/m);
    expect(byName('sample').detail).toMatch(/^clicks: 3 valid rows \+ 1 invalid \(seed 42, keys clk-[0-9a-f]{16}, /);
    expect(byName('authenticate').detail).toMatch(/Cognito: throwaway user integration-test-[0-9a-f]+@example.com/);
    expect(byName('ingest').detail).toBe(`202, landing key ${OBJECT_KEY}`);
    expect(byName('curated output').detail).toBe(
      '1 Parquet object(s) under s3://dp-dev-curated-bucket/clicks/ingest_date=2026-11-22/ written by the run',
    );
    expect(byName('mart rows').detail).toBe('3 of 3 valid rows in mart."clicks"');
    expect(byName('audit row').detail).toBe('run run-1: status SUCCEEDED, rows_valid 3, rows_rejected 1');

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

  test('the mart rows are counted and deleted by the sample keys, the run batch is removed, and what stays is named', async () => {
    const { byName } = await runDataPath({ auth: COGNITO });
    const statements = rdsData.commandCalls(ExecuteStatementCommand).map((call) => call.args[0].input);
    const count = statements.find((s) => s.sql?.startsWith('SELECT count(*)'));
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
    const deleted = statements.find((s) => s.sql?.startsWith('DELETE'));
    expect(deleted?.parameters?.map((p) => p.value?.stringValue)).toEqual(keys);
    expect(s3.commandCalls(DeleteObjectsCommand)[0].args[0].input).toEqual({
      Bucket: 'dp-dev-curated-bucket',
      Delete: { Objects: [{ Key: '_mart/clicks/run_id=run-1/part-00000.csv' }] },
    });
    const cleanup = byName('cleanup').detail;
    expect(cleanup).toContain('removed: 3 mart row(s) from mart."clicks"; 1 object(s) of s3://dp-dev-curated-bucket/');
    expect(cleanup).toContain('user integration-test-');
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
    // The run started by the object the test put.
    sfn.on(DescribeExecutionCommand, { executionArn: EXECUTION }).callsFake(() => ({
      executionArn: EXECUTION,
      name: 'run-1',
      status: 'SUCCEEDED',
      startDate: STARTED,
      input: eventFor(s3.commandCalls(PutObjectCommand)[0]?.args[0].input.Key),
    }));
    const { results, byName, sent } = await runDataPath({ auth: auth as EnvironmentConfig['api']['auth'] });
    expect(results.filter((r) => !r.passed)).toEqual([]);
    expect(byName('authenticate').detail).toMatch(
      /^SKIPPED API leg: api.auth.type ".*" gives the integration test no identity/,
    );
    expect(sent).toEqual([]);
    const put = s3.commandCalls(PutObjectCommand)[0].args[0].input;
    expect(put).toMatchObject({ Bucket: 'dp-dev-landing-bucket', ContentType: 'text/csv' });
    expect(put.Key).toMatch(/^clicks\/ingest_date=2026-11-22\/integration-test-[0-9a-f]{16}\.csv$/);
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
    expect(byName('state machine run').detail).toBe('not run: data-path/ingest did not complete');
  });
});

describe('data path: failures', () => {
  test('a failed execution fails the check, naming the execution and its error; cleanup still runs', async () => {
    sfn.on(DescribeExecutionCommand, { executionArn: EXECUTION }).resolves({
      executionArn: EXECUTION,
      name: 'run-1',
      status: 'FAILED',
      startDate: STARTED,
      input: eventFor(),
      error: 'MartLoadError',
      cause: 'column "cost_usd" is of type numeric',
    });
    const { byName, sent } = await runDataPath({ auth: COGNITO });
    expect(byName('state machine run')).toMatchObject({
      passed: false,
      detail: `execution ${EXECUTION} ended FAILED: MartLoadError: column "cost_usd" is of type numeric`,
    });
    // The run exists, so the checks after it still look (and report what they find).
    expect(byName('cleanup').passed).toBe(true);
    expect(sent.map((s) => s.operation)).toContain('AdminDeleteUser');
    expect(rdsData.commandCalls(ExecuteStatementCommand).some((c) => c.args[0].input.sql?.startsWith('DELETE'))).toBe(
      true,
    );
  });

  test('a run that never finishes times out with a message naming what was awaited', async () => {
    sfn.on(DescribeExecutionCommand, { executionArn: EXECUTION }).resolves({
      executionArn: EXECUTION,
      name: 'run-1',
      status: 'RUNNING',
      startDate: STARTED,
      input: eventFor(),
    });
    const { byName, sent } = await runDataPath({ auth: COGNITO, executionTimeoutMs: 120_000 });
    expect(byName('state machine run')).toMatchObject({
      passed: false,
      detail: `timed out after 120 s waiting for the execution of dp-dev-clicks for ${OBJECT_KEY} to finish (last seen: execution run-1 RUNNING)`,
    });
    expect(byName('mart rows').detail).toBe('not run: data-path/state machine run did not complete');
    expect(sent.map((s) => s.operation)).toContain('AdminDeleteUser');
  });

  test('no execution for the object at all times out saying so', async () => {
    sfn.on(ListExecutionsCommand).resolves({ executions: [] });
    const { byName } = await runDataPath({ auth: COGNITO, executionTimeoutMs: 60_000 });
    expect(byName('state machine run').detail).toBe(
      `timed out after 60 s waiting for the execution of dp-dev-clicks for ${OBJECT_KEY} to finish (last seen: no execution has ${OBJECT_KEY} as input yet)`,
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
    expect(byName('state machine run').detail).toBe('not run: data-path/ingest did not complete');
    expect(byName('cleanup').passed).toBe(true);
    expect(sent.at(-1)?.operation).toBe('AdminDeleteUser');
    expect(sfn.calls()).toHaveLength(0);
  });

  test('mart rows missing and a wrong audit row fail with what was expected and found', async () => {
    rdsData.reset();
    mockMart({ rows: 2, audit: { status: 'FAILED', rows_valid: 3, rows_rejected: 1, error: 'load failed' } });
    const { byName } = await runDataPath({ auth: COGNITO });
    expect(byName('mart rows').detail).toBe('expected 3 rows of the sample in mart."clicks", found 2');
    expect(byName('audit row').detail).toBe(
      'expected status SUCCEEDED, rows_valid 3, rows_rejected 1 for run run-1; found status FAILED, rows_valid 3, rows_rejected 1 (load failed)',
    );
  });

  test('no fresh curated Parquet fails naming the prefix and the run', async () => {
    s3.on(ListObjectsV2Command, { Prefix: 'clicks/ingest_date=2026-11-22/' }).resolves({
      Contents: [{ Key: 'clicks/ingest_date=2026-11-22/part-old.parquet', LastModified: new Date('2026-11-21') }],
    });
    const { byName } = await runDataPath({ auth: COGNITO });
    expect(byName('curated output').detail).toBe(
      'no Parquet object under s3://dp-dev-curated-bucket/clicks/ingest_date=2026-11-22/ was written since execution run-1 started',
    );
  });

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

  test('every Data API statement logs in with the loader login secret of the outputs, never another secret', async () => {
    await runDataPath({ auth: COGNITO });
    const secrets = new Set(rdsData.commandCalls(ExecuteStatementCommand).map((call) => call.args[0].input.secretArn));
    expect([...secrets]).toEqual([OUTPUTS.DATA_MART_LOADER_SECRET_ARN]);
    // Single statements only: the integration-test role may not begin transactions (ApiStack grants it ExecuteStatement only).
    expect(rdsData.calls().every((call) => call.args[0] instanceof ExecuteStatementCommand)).toBe(true);
  });

  test('cleanup fails with the database error when the database refuses the DELETE', async () => {
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
    expect(sfn.calls()).toHaveLength(0);
  });
});
