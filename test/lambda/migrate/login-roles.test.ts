/**
 * The login users of V004__login_roles.sql, each connected as itself with its password (a server that checks
 * passwords: test/helpers/password-postgres), as the Data API connects with a login secret. What each may do, what it
 * may not (named "rejects ..."), and the application code paths running as the login they use in AWS.
 */
import { randomUUID } from 'node:crypto';
import pg from 'pg';
import { recordJobRun } from '../../../lambda/job-auditor/job-runs';
import { MIGRATION_FILES } from '../../../lambda/migrate/migration-files';
import { applyMigrations, martMigrations, versionedMigrations } from '../../../lambda/migrate/migrations';
import { readPage } from '../../../lambda/api-shared/mart-query';
import { martTablesFromDatasets } from '../../../lambda/api-shared/contract';
import { MART_LOGIN_NAMES, MART_LOGINS, type MartLogin } from '../../../lambda/shared/mart-contract';
import { loadBatch } from '../../../lambda/load-mart/mart-loader';
import { checkLoginUser, setLoginPassword } from '../../../lambda/shared/mart-logins';
import { claimRun } from '../../../lambda/validate/runs';
import { PgExecutor } from '../../helpers/sql-pg';
import { exampleConfig } from '../../helpers/app';
import {
  describeWithPasswordAuth,
  type PasswordPostgres,
  startPasswordPostgres,
} from '../../helpers/password-postgres';

const insertClick = `INSERT INTO mart.clicks (click_id, impression_id, click_time, campaign_id, cost_usd, is_fraud_suspected)
  VALUES ('clk-9000000000000001', 'imp-9000000000000001', now(), 1, 0.5, false)`;

describeWithPasswordAuth('login users on PostgreSQL with password authentication', () => {
  let server: PasswordPostgres;
  let owner: pg.Pool;
  const passwords = {} as Record<MartLogin, string>;
  const versions = {} as Record<MartLogin, string>;
  const clients: pg.Client[] = [];

  /** A session of `login`'s first user, logged in with its password. */
  async function session(login: MartLogin): Promise<pg.Client> {
    const client = await server.connect(MART_LOGINS[login].users[0], passwords[login]);
    clients.push(client);
    return client;
  }

  /** Runs `sql` as `login` in a transaction that is always rolled back; resolves to the rows. */
  async function as(login: MartLogin, sql: string): Promise<unknown[]> {
    const client = await session(login);
    try {
      await client.query('BEGIN');
      return (await client.query(sql)).rows;
    } finally {
      await client.query('ROLLBACK').catch(() => undefined);
      await client.end();
    }
  }

  beforeAll(async () => {
    server = await startPasswordPostgres();
    owner = new pg.Pool({ connectionString: server.url(server.superuser.user, server.superuser.password), max: 3 });
    const master = new PgExecutor(owner);
    await applyMigrations(master, [
      ...versionedMigrations(MIGRATION_FILES),
      ...martMigrations(exampleConfig().datasets),
    ]);
    for (const login of MART_LOGIN_NAMES) {
      passwords[login] = `Pw${login}${randomUUID().replace(/-/g, '')}`;
      versions[login] = randomUUID();
      await setLoginPassword(
        master,
        login,
        { username: MART_LOGINS[login].users[0], password: passwords[login] },
        versions[login],
      );
    }
    await owner.query(
      "INSERT INTO audit.pipeline_runs (run_id, dataset, object_key, status) VALUES ('run-x', 'clicks', 'k', 'SUCCEEDED')",
    );
    await owner.query(insertClick);
  }, 120_000);

  afterAll(async () => {
    await Promise.all(clients.map((client) => client.end().catch(() => undefined)));
    await owner?.end();
    await server?.stop();
  });

  it('makes every user what its login says: LOGIN, exactly its groups, nothing elevated', async () => {
    const master = new PgExecutor(owner);
    for (const login of MART_LOGIN_NAMES) {
      await expect(
        checkLoginUser(master, login, MART_LOGINS[login].users[0], versions[login]),
      ).resolves.toBeUndefined();
    }
    const [attributes] = (
      await owner.query(
        `SELECT bool_or(rolsuper OR rolcreaterole OR rolcreatedb OR rolreplication OR rolbypassrls) AS elevated,
                bool_and(rolcanlogin) AS login
           FROM pg_roles WHERE rolname LIKE 'mart\\_%\\_a' OR rolname LIKE 'mart\\_%\\_b'`,
      )
    ).rows;
    expect(attributes).toEqual({ elevated: false, login: true });
  });

  it('owns nothing: every schema, table and function of the mart belongs to the migration user', async () => {
    const { rows } = await owner.query(
      `SELECT DISTINCT pg_get_userbyid(relowner) AS owner FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
        WHERE n.nspname IN ('mart', 'audit')
       UNION SELECT DISTINCT pg_get_userbyid(nspowner) FROM pg_namespace WHERE nspname IN ('mart', 'audit')`,
    );
    expect(rows).toEqual([{ owner: 'postgres' }]);
  });

  it('lets the reader read the mart', async () => {
    await expect(as('reader', 'SELECT count(*)::int AS n FROM mart.clicks')).resolves.toEqual([{ n: 1 }]);
  });

  it('rejects writes, DDL, temp tables and the audit schema for the reader', async () => {
    for (const [sql, refusal] of [
      [insertClick, /permission denied for table clicks/],
      ["UPDATE mart.clicks SET cost_usd = 0 WHERE click_id = 'clk-9000000000000001'", /permission denied/],
      ['DELETE FROM mart.clicks', /permission denied for table clicks/],
      ['TRUNCATE mart.clicks', /permission denied for table clicks/],
      ['CREATE TABLE mart.sneaky (id int)', /permission denied for schema mart/],
      ['CREATE TABLE public.sneaky (id int)', /permission denied for schema public/],
      ['CREATE TEMP TABLE sneaky (id int)', /permission denied to create temporary tables/],
      ['SELECT * FROM audit.pipeline_runs', /permission denied for schema audit/],
      ['SELECT * FROM audit.schema_migrations', /permission denied for schema audit/],
    ] as const) {
      await expect(as('reader', sql)).rejects.toThrow(refusal);
    }
  });

  it('rejects SET ROLE and RESET ROLE into more privilege from the reader', async () => {
    for (const [sql, refusal] of [
      ['SET ROLE mart_loader', /permission denied to set role "mart_loader"/],
      ['SET ROLE postgres', /permission denied to set role "postgres"/],
      ['SET ROLE mart_reader_b', /permission denied to set role "mart_reader_b"/],
      ['SET SESSION AUTHORIZATION postgres', /permission denied to set session authorization/],
      ['ALTER ROLE mart_reader_a CREATEROLE', /permission denied/],
      ['GRANT mart_loader TO mart_reader_a', /permission denied to grant role "mart_loader"|must have admin option/],
      ['CREATE ROLE sneaky LOGIN', /permission denied to create role/],
    ] as const) {
      await expect(as('reader', sql)).rejects.toThrow(refusal);
    }
    // Its own group is reachable and holds nothing more; RESET ROLE returns to the user itself, still read-only.
    const client = await session('reader');
    try {
      await client.query('BEGIN');
      await client.query('SET ROLE mart_reader');
      await client.query('RESET ROLE');
      expect((await client.query('SELECT current_user AS user')).rows).toEqual([{ user: 'mart_reader_a' }]);
      await expect(client.query(insertClick)).rejects.toThrow(/permission denied for table clicks/);
    } finally {
      await client.query('ROLLBACK').catch(() => undefined);
      await client.end();
    }
  });

  it('lets the loader write mart and audit rows through a temp staging table', async () => {
    for (const sql of [
      'CREATE TEMP TABLE staging (LIKE mart.clicks) ON COMMIT DROP',
      "INSERT INTO audit.pipeline_runs (run_id, dataset, object_key, status) VALUES ('r1', 'clicks', 'k1', 'RUNNING')",
      "UPDATE mart.clicks SET cost_usd = 0.75 WHERE click_id = 'clk-9000000000000001' RETURNING 1 AS updated",
    ]) {
      await expect(as('loader', sql)).resolves.toEqual(expect.any(Array));
    }
  });

  it('rejects create, drop, alter and truncate by the loader, any delete from audit, and the migration history', async () => {
    for (const [sql, refusal] of [
      ['CREATE TABLE mart.sneaky (id int)', /permission denied for schema mart/],
      ['CREATE TABLE audit.sneaky (id int)', /permission denied for schema audit/],
      ['CREATE TABLE public.sneaky (id int)', /permission denied for schema public/],
      ['CREATE SCHEMA sneaky', /permission denied for database/],
      ['DROP TABLE mart.clicks', /must be owner of table clicks/],
      ['ALTER TABLE mart.clicks ADD COLUMN sneaky int', /must be owner of table clicks/],
      ['CREATE INDEX sneaky ON mart.clicks (cost_usd)', /must be owner of table clicks/],
      ['ALTER TABLE mart.clicks OWNER TO mart_loader_a', /must be owner of table clicks/],
      ['DROP SCHEMA mart CASCADE', /must be owner of schema mart/],
      ['TRUNCATE mart.clicks', /permission denied for table clicks/],
      ['TRUNCATE audit.pipeline_runs', /permission denied for table pipeline_runs/],
      ['DELETE FROM audit.pipeline_runs', /permission denied for table pipeline_runs/],
      ['DELETE FROM audit.batches', /permission denied for table batches/],
      ['DELETE FROM audit.batch_runs', /permission denied for table batch_runs/],
      ['DELETE FROM audit.dataset_schedules', /permission denied for table dataset_schedules/],
      ['DELETE FROM audit.job_runs', /permission denied for table job_runs/],
      ['DROP TABLE audit.batches', /must be owner of table batches/],
      ['ALTER TABLE audit.pipeline_runs DROP CONSTRAINT pipeline_runs_object_key', /must be owner of table/],
      ['SELECT * FROM audit.schema_migrations', /permission denied for table schema_migrations/],
      ['DELETE FROM audit.schema_migrations', /permission denied for table schema_migrations/],
      ['SET ROLE mart_reader', /permission denied to set role "mart_reader"/],
      ['SET ROLE postgres', /permission denied to set role "postgres"/],
    ] as const) {
      await expect(as('loader', sql).then(() => `${sql}: allowed`)).rejects.toThrow(refusal);
    }
  });

  it('lets the loader do what the integration test does: read its run and its batch, delete its sample rows by key', async () => {
    await expect(as('loader', "SELECT status FROM audit.pipeline_runs WHERE run_id = 'run-x'")).resolves.toEqual([
      { status: 'SUCCEEDED' },
    ]);
    await expect(as('loader', 'SELECT count(*)::int AS n FROM audit.batches')).resolves.toEqual([{ n: 0 }]);
    await expect(
      as('loader', `DELETE FROM mart.clicks WHERE "click_id"::text IN ('clk-9000000000000001') RETURNING 1 AS deleted`),
    ).resolves.toEqual([{ deleted: 1 }]);
  });

  it('gives the loader DELETE on mart tables created later too (default privileges), and the reader still none', async () => {
    await owner.query('CREATE TABLE mart.later_table (id int PRIMARY KEY)');
    try {
      await owner.query('INSERT INTO mart.later_table VALUES (1)');
      await expect(as('loader', 'DELETE FROM mart.later_table WHERE id = 1 RETURNING id')).resolves.toEqual([
        { id: 1 },
      ]);
      await expect(as('reader', 'DELETE FROM mart.later_table')).rejects.toThrow(
        /permission denied for table later_table/,
      );
    } finally {
      await owner.query('DROP TABLE mart.later_table');
    }
  });

  it('has no tester login or cleanup role: the integration test uses the loader (one secret less per environment)', async () => {
    const { rows } = await owner.query("SELECT rolname FROM pg_roles WHERE rolname LIKE 'mart\\_test%' ORDER BY 1");
    expect(rows).toEqual([]);
  });

  it('runs the API read, the audit writes and a mart load as the logins they use in AWS, without SET ROLE', async () => {
    const reader = new PgExecutor(await session('reader'));
    const clicks = martTablesFromDatasets(exampleConfig().datasets).find((table) => table.table === 'clicks');
    await expect(readPage(reader, clicks!, [], undefined, 10)).resolves.toEqual(expect.any(Array));

    const loaderClient = await session('loader');
    const loader = new PgExecutor(loaderClient);
    const run = {
      dataset: 'clicks',
      bucket: 'landing',
      key: `clicks/ingest_date=2026-01-01/${randomUUID()}.csv`,
      landedAt: new Date(),
    };
    const claim = await claimRun(loader, run, new Date());
    expect(claim).toMatchObject({ outcome: 'CLAIMED' });
    const batchId = `batch-${randomUUID()}`;
    await expect(
      recordJobRun(loader, {
        jobName: 'curate',
        jobRunId: `jr-${randomUUID()}`,
        state: 'SUCCEEDED',
        batchId,
        startedAt: new Date(),
        finishedAt: new Date(),
        error: null,
      }),
    ).resolves.toBeUndefined();
    const loaded = await loadBatch(
      loader,
      {
        dataset: 'clicks',
        table: 'clicks',
        batchId,
        bucket: 'curated',
        prefix: `_mart/clicks/batch_id=${batchId}/`,
      },
      async (tx, staging) => {
        await tx.query(
          `INSERT INTO ${staging.name} (click_id, impression_id, click_time, campaign_id, cost_usd, is_fraud_suspected)
           VALUES ('clk-9000000000000002', 'imp-9000000000000002', now(), 2, 1.5, false)`,
        );
        return undefined;
      },
    );
    expect(loaded).toMatchObject({ rowsStaged: 1, rowsInserted: 1 });
    // The reader sees what the loader loaded, and still cannot write it.
    await expect(
      reader.query("SELECT click_id FROM mart.clicks WHERE click_id = 'clk-9000000000000002'"),
    ).resolves.toEqual([{ click_id: 'clk-9000000000000002' }]);
  });
});
