import type { CloudFormationCustomResourceEvent } from 'aws-lambda';
import { martMigrations, versionedMigrations } from '../../../lambda/migrate/migrations';
import { MIGRATION_FILES } from '../../../lambda/migrate/migration-files';
import { TransientError } from '../../../lambda/shared/errors';
import { SecretsManagerClient } from '../../../lambda/shared/aws/secrets-manager';
import { MART_LOGIN_NAMES, MART_LOGINS, type MartLogin, martDatasets } from '../../../lambda/shared/mart-contract';
import { scramSha256Verifier } from '../../../lambda/shared/scram';
import type { SqlExecutor } from '../../../lambda/shared/sql';
import { exampleConfig } from '../../helpers/app';
import {
  clientOptions,
  type FakeAws,
  type FakeAwsHandler,
  startFakeAws,
  setLambdaRoleEnvironment,
} from '../../helpers/fake-aws';
import { FakeSecretsManager } from '../../helpers/fake-secrets-manager';
import { startPostgres, type TestDatabase } from '../../helpers/postgres';

process.env.MART_CLUSTER_ARN = 'arn:aws:rds:eu-west-1:222222222222:cluster:dp-dev-mart';
process.env.MART_SECRET_ARN = 'arn:aws:secretsmanager:eu-west-1:222222222222:secret:rds!cluster-abc';
process.env.MART_DATABASE = 'mart';
process.env.POWERTOOLS_DEV = 'false';
process.env.POWERTOOLS_LOG_LEVEL = 'SILENT';
setLambdaRoleEnvironment();

type Handler = typeof import('../../../lambda/migrate/handler');

/** What a first deploy applies: every bundled migration, then the mart tables of the example config. */
const ALL = [...versionedMigrations(MIGRATION_FILES), ...martMigrations(exampleConfig().datasets)].map(
  (m) => m.version,
);
let migrate: Handler;
/** The Data API the module's own handler calls; answers come from `dataApi` of the current test. */
let rdsData: FakeAws;
let dataApi: FakeAwsHandler = () => ({
  status: 400,
  body: { __type: 'BadRequestException', message: 'no answer set' },
});
/** Secrets Manager holding the login secrets, as the DataMart stack creates them. */
const store = new FakeSecretsManager();
const loginSecrets = Object.fromEntries(
  MART_LOGIN_NAMES.map((login) => [
    login,
    store.addSecret(`${login}LoginSecret`, {
      engine: 'postgres',
      dbname: 'mart',
      username: MART_LOGINS[login].users[0],
      password: `Generated${login}Password0123456789`,
    }),
  ]),
) as Record<MartLogin, string>;
let secretsManager: FakeAws;
let secrets: SecretsManagerClient;

beforeAll(async () => {
  rdsData = await startFakeAws('rds-data', (call) => dataApi(call));
  secretsManager = await startFakeAws('secretsmanager', store.handle);
  secrets = new SecretsManagerClient(clientOptions(secretsManager));
  process.env.AWS_ENDPOINT_URL_RDS_DATA = rdsData.endpoint;
  process.env.AWS_ENDPOINT_URL_SECRETSMANAGER = secretsManager.endpoint;
  migrate = await import('../../../lambda/migrate/handler');
});
afterAll(async () => {
  await rdsData.stop();
  await secretsManager.stop();
});

const datasets = martDatasets(exampleConfig().datasets);

function event(requestType: 'Create' | 'Update' | 'Delete'): CloudFormationCustomResourceEvent {
  const base = {
    ServiceToken: 'arn:aws:lambda:eu-west-1:222222222222:function:provider',
    ResponseURL: 'https://cloudformation-custom-resource-response-euwest1.s3.amazonaws.com/x',
    StackId: 'arn:aws:cloudformation:eu-west-1:222222222222:stack/dp-dev-data-mart/1',
    RequestId: 'request-1',
    LogicalResourceId: 'Migrations',
    ResourceType: 'Custom::DataMartMigrations',
    ResourceProperties: {
      ServiceToken: 'arn:aws:lambda:eu-west-1:222222222222:function:provider',
      MigrationSetHash: 'abc123',
      Datasets: JSON.stringify(datasets),
      LoginSecrets: JSON.stringify(loginSecrets),
    },
  };
  if (requestType === 'Create') return { ...base, RequestType: 'Create' };
  const existing = { PhysicalResourceId: 'data-mart-migrations', OldResourceProperties: base.ResourceProperties };
  return requestType === 'Update'
    ? { ...base, ...existing, RequestType: 'Update' }
    : { ...base, PhysicalResourceId: 'data-mart-migrations', RequestType: 'Delete' };
}

const context = (remainingMs: number) => ({ getRemainingTimeInMillis: () => remainingMs });

describe('migrate handler on PostgreSQL', () => {
  let db: TestDatabase;
  beforeAll(async () => {
    db = await startPostgres();
  });
  afterAll(() => db?.stop());

  const logins = 'reader:mart_reader_a,loader:mart_loader_a';

  it('applies the bundled migrations and the mart tables on Create, and nothing new on Update', async () => {
    const onEvent = migrate.createHandler(() => db.executor, secrets);
    await expect(onEvent(event('Create'), context(900_000))).resolves.toEqual({
      PhysicalResourceId: 'data-mart-migrations',
      Data: { Applied: ALL.join(','), Total: String(ALL.length), Logins: logins },
    });
    await expect(onEvent(event('Update'), context(900_000))).resolves.toEqual({
      PhysicalResourceId: 'data-mart-migrations',
      Data: { Applied: 'none', Total: String(ALL.length), Logins: logins },
    });
    const [table] = await db.executor.query("SELECT to_regclass('mart.impressions')::text AS name");
    expect(table).toEqual({ name: 'mart.impressions' });
  });

  it('retries with backoff while the cluster resumes, then applies', async () => {
    let failures = 2;
    const resuming: SqlExecutor = {
      query: (sql, params) => db.executor.query(sql, params),
      transaction: (work) => {
        if (failures > 0) {
          failures--;
          return Promise.reject(new TransientError('The data mart cluster is not available yet (resuming)'));
        }
        return db.executor.transaction(work);
      },
    };
    const waits: number[] = [];
    const onEvent = migrate.createHandler(() => resuming, secrets, {
      sleep: async (ms) => {
        waits.push(ms);
      },
      delaysMs: [10, 20],
    });
    await expect(onEvent(event('Update'), context(900_000))).resolves.toEqual({
      PhysicalResourceId: 'data-mart-migrations',
      Data: { Applied: 'none', Total: String(ALL.length), Logins: logins },
    });
    expect(waits).toEqual([10, 20]);
    expect(failures).toBe(0);
  });

  /** The stored verifier of `user` and the comment that names the secret version it came from. */
  async function storedPassword(user: string) {
    const [row] = await db.executor.query<{ verifier: string | null; marker: string | null }>(
      `SELECT rolpassword AS verifier, shobj_description(oid, 'pg_authid') AS marker FROM pg_authid WHERE rolname = :user`,
      { user },
    );
    return row;
  }

  it("sets each login's user to its secret's password, stored only as a SCRAM verifier of that password", async () => {
    await migrate.createHandler(() => db.executor, secrets)(event('Update'), context(900_000));
    for (const login of MART_LOGIN_NAMES) {
      const { username, password } = store.valueAt(loginSecrets[login]) as { username: string; password: string };
      const stored = await storedPassword(username);
      const [, iterations, salt] = /^SCRAM-SHA-256\$(\d+):([^$]+)\$/.exec(stored?.verifier ?? '') ?? [];
      // Recomputed from the secret's password with the stored salt: the same verifier, so that password logs in.
      expect(stored?.verifier).toBe(scramSha256Verifier(password, Buffer.from(salt, 'base64'), Number(iterations)));
      const version = Object.entries(store.stages(loginSecrets[login])).find(([, s]) => s.includes('AWSCURRENT'))?.[0];
      expect(stored?.marker).toBe(`password of secret version ${version}`);
    }
  });

  it.each(['postgres', 'mart_admin', 'mart_loader_a', 'mart_reader'])(
    'rejects a reader secret that names %s, setting no password from it',
    async (username) => {
      const tampered = store.addSecret(`tampered-${username}`, { username, password: 'AttackerChosen0123456789abc' });
      const before = await storedPassword(username);
      const withTampered = {
        ...event('Update'),
        ResourceProperties: {
          ...event('Update').ResourceProperties,
          LoginSecrets: JSON.stringify({ ...loginSecrets, reader: tampered }),
        },
      };
      await expect(
        migrate.createHandler(() => db.executor, secrets)(
          withTampered as CloudFormationCustomResourceEvent,
          context(900_000),
        ),
      ).rejects.toThrow(
        new RegExp(
          `secret ${tampered} version .* \\(login reader\\) names user "${username}", which is not a user of that login`,
        ),
      );
      expect(await storedPassword(username)).toEqual(before);
    },
  );
});

describe('migrate handler at the Data API boundary', () => {
  beforeEach(() => {
    rdsData.calls.length = 0;
  });

  it('does nothing on Delete', async () => {
    await expect(migrate.handler(event('Delete'), context(900_000))).resolves.toEqual({
      PhysicalResourceId: 'data-mart-migrations',
    });
    expect(rdsData.calls).toHaveLength(0);
  });

  it('fails with TransientError when the cluster is still resuming at the deadline', async () => {
    // Every Data API operation answers as a paused cluster does.
    dataApi = (call) => ({
      status: 400,
      headers: { 'x-amzn-errortype': 'DatabaseResumingException' },
      body: {
        message: call.path === '/Execute' ? 'The Aurora DB instance is resuming' : 'resuming',
      },
    });
    // 60 s of the remaining time are kept for the Provider framework, so no retry fits in 61 s.
    await expect(migrate.handler(event('Create'), context(61_000))).rejects.toBeInstanceOf(TransientError);
    expect(rdsData.calls.length).toBeGreaterThan(0);
    expect(rdsData.calls[0].json).toMatchObject({
      resourceArn: process.env.MART_CLUSTER_ARN,
      secretArn: process.env.MART_SECRET_ARN,
      database: 'mart',
    });
  });

  it.each(['varchar', 'decimal(4,5)', 'decimal(123,2)'])(
    'fails on a column of type %s (not in the config grammar) before touching the database',
    async (type) => {
      const [first, ...rest] = datasets;
      const bad = [{ ...first, columns: [{ ...first.columns[0], type }, ...first.columns.slice(1)] }, ...rest];
      const withBadType = {
        ...event('Create'),
        ResourceProperties: { ...event('Create').ResourceProperties, Datasets: JSON.stringify(bad) },
      };
      await expect(migrate.handler(withBadType as CloudFormationCustomResourceEvent, context(900_000))).rejects.toThrow(
        /Invalid Datasets property: 0\.columns\.0\.type: must be one of string, integer, bigint/,
      );
      expect(rdsData.calls).toHaveLength(0);
    },
  );

  it('fails on login secrets that do not name every login, before touching the database', async () => {
    const partial = {
      ...event('Create'),
      ResourceProperties: {
        ...event('Create').ResourceProperties,
        LoginSecrets: JSON.stringify({ reader: loginSecrets.reader }),
      },
    };
    await expect(migrate.handler(partial as CloudFormationCustomResourceEvent, context(900_000))).rejects.toThrow(
      /Invalid migrations custom resource event: ResourceProperties.LoginSecrets.loader: /,
    );
    expect(rdsData.calls).toHaveLength(0);
  });

  it('fails on a malformed event, saying which property is wrong', async () => {
    const bad = { ...event('Create'), ResourceProperties: { ServiceToken: 'x', Datasets: 'not json' } };
    await expect(migrate.handler(bad as CloudFormationCustomResourceEvent, context(900_000))).rejects.toThrow(
      /Invalid migrations custom resource event: ResourceProperties.MigrationSetHash: .*ResourceProperties.Datasets: is not valid JSON/,
    );
  });
});
