import { exampleConfig } from '../../helpers/app';
import { startPostgres, type TestDatabase } from '../../helpers/postgres';
import { MIGRATION_FILES } from '../../../lambda/migrate/migration-files';
import {
  applyMigrations,
  checksum,
  type Migration,
  MigrationError,
  martMigrations,
  versionedMigrations,
} from '../../../lambda/migrate/migrations';

const files = MIGRATION_FILES;
const datasets = exampleConfig().datasets;
const allMigrations = () => [...versionedMigrations(files), ...martMigrations(datasets)];
/** Every migration version in the order they apply: the versioned files, then the mart tables. */
const allVersions = () => allMigrations().map((migration) => migration.version);

describe('versionedMigrations', () => {
  it('orders files by version number and describes them', () => {
    const migrations = versionedMigrations({ 'V010__later.sql': 'SELECT 2', 'V002__first_one.sql': 'SELECT 1' });
    expect(migrations.map((m) => [m.version, m.description, m.repeatable])).toEqual([
      ['V002', 'first one', false],
      ['V010', 'later', false],
    ]);
  });

  it('fails on a badly named file', () => {
    expect(() => versionedMigrations({ 'add-table.sql': 'SELECT 1' })).toThrow(
      /"add-table.sql" is not named V<number>__<description>.sql\. Fix: rename it/,
    );
  });

  it('fails on two files with the same version', () => {
    expect(() => versionedMigrations({ 'V004__a.sql': 'SELECT 1', 'V0004__b.sql': 'SELECT 2' })).toThrow(
      /same version/,
    );
  });

  it('computes the checksum independently of line endings', () => {
    expect(checksum('SELECT 1;\r\nSELECT 2;\r\n')).toBe(checksum('SELECT 1;\nSELECT 2;\n'));
  });
});

describe('migrations against PostgreSQL', () => {
  let db: TestDatabase;
  beforeAll(async () => {
    db = await startPostgres();
  });
  afterAll(() => db?.stop());

  it('applies every migration on a fresh database, then does nothing on a second run', async () => {
    const first = await applyMigrations(db.executor, allMigrations());
    expect(first.applied).toEqual(allVersions());
    expect(allVersions()).toEqual(expect.arrayContaining(['V001', 'V005', 'R__mart_clicks', 'R__mart_impressions']));
    expect(first.unchanged).toEqual([]);

    const second = await applyMigrations(db.executor, allMigrations());
    expect(second.applied).toEqual([]);
    expect(second.unchanged).toEqual(allVersions());

    const recorded = await db.executor.query<{ version: string; checksum: string }>(
      'SELECT version, checksum FROM audit.schema_migrations ORDER BY applied_at, version',
    );
    expect(new Map(recorded.map((row) => [row.version, row.checksum]))).toEqual(
      new Map(allMigrations().map((m) => [m.version, m.checksum])),
    );
  });

  it('creates the mart tables from the dataset config with their types, primary key and indexes', async () => {
    const columns = await db.executor.query(
      `SELECT column_name, data_type, numeric_precision, numeric_scale, is_nullable
         FROM information_schema.columns WHERE table_schema = 'mart' AND table_name = 'impressions'
        ORDER BY ordinal_position`,
    );
    expect(columns.map((c) => c.column_name)).toEqual(
      datasets.find((d) => d.name === 'impressions')?.columns.map((c) => c.name),
    );
    expect(columns).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ column_name: 'impression_id', data_type: 'text', is_nullable: 'NO' }),
        expect.objectContaining({ column_name: 'event_time', data_type: 'timestamp with time zone' }),
        expect.objectContaining({ column_name: 'campaign_id', data_type: 'bigint' }),
        expect.objectContaining({ column_name: 'creative_id', data_type: 'integer' }),
        expect.objectContaining({ column_name: 'bid_price_usd', data_type: 'numeric', numeric_precision: 12 }),
        expect.objectContaining({ column_name: 'viewability_score', data_type: 'double precision' }),
        expect.objectContaining({ column_name: 'viewable', data_type: 'boolean', is_nullable: 'YES' }),
        expect.objectContaining({ column_name: 'event_date', data_type: 'date' }),
      ]),
    );
    const indexes = await db.executor.query<{ indexdef: string }>(
      `SELECT indexdef FROM pg_indexes WHERE schemaname = 'mart' AND tablename = 'impressions' ORDER BY indexname`,
    );
    expect(indexes.map((i) => i.indexdef)).toEqual([
      expect.stringMatching(/impressions_campaign_id_event_date_idx .*\(campaign_id, event_date\)/),
      expect.stringMatching(/UNIQUE INDEX impressions_pkey .*\(impression_id\)/),
    ]);
  });

  it('applies a column added to the dataset config, and only that repeatable migration', async () => {
    const changed = datasets.map((d) =>
      d.name === 'clicks' ? { ...d, columns: [...d.columns, { name: 'referrer', type: 'string', nullable: true }] } : d,
    );
    const report = await applyMigrations(db.executor, [...versionedMigrations(files), ...martMigrations(changed)]);
    expect(report.applied).toEqual(['R__mart_clicks']);
    const [column] = await db.executor.query(
      `SELECT data_type FROM information_schema.columns WHERE table_schema = 'mart' AND table_name = 'clicks' AND column_name = 'referrer'`,
    );
    expect(column).toEqual({ data_type: 'text' });
  });

  it('fails when a dataset column type changes, naming the column and asking for a versioned migration', async () => {
    const changed = datasets.map((d) =>
      d.name === 'clicks'
        ? { ...d, columns: d.columns.map((c) => (c.name === 'cost_usd' ? { ...c, type: 'decimal(14,4)' } : c)) }
        : d,
    );
    await expect(
      applyMigrations(db.executor, [...versionedMigrations(files), ...martMigrations(changed)]),
    ).rejects.toThrow(
      /R__mart_clicks .* failed and was rolled back: .*cost_usd is numeric\(10,4\) NOT NULL, config says numeric\(14,4\) NOT NULL\. Fix: add a versioned migration/,
    );
  });

  it('fails when an applied migration was edited, naming the version and both checksums, before applying anything', async () => {
    const tampered = {
      ...files,
      'V002__mart_schema_and_roles.sql': `${files['V002__mart_schema_and_roles.sql']}\n-- edited`,
    };
    const pending = { ...tampered, 'V900__never_applied.sql': 'CREATE TABLE audit.should_not_exist (id int)' };
    const migrations = versionedMigrations(pending);
    const edited = migrations.find((m) => m.version === 'V002') as Migration;
    const original = versionedMigrations(files).find((m) => m.version === 'V002') as Migration;

    const attempt = applyMigrations(db.executor, migrations);
    await expect(attempt).rejects.toBeInstanceOf(MigrationError);
    await expect(attempt).rejects.toThrow(
      `Migration V002 (lambda/migrate/sql/V002__mart_schema_and_roles.sql) was edited after it was applied: applied checksum ${original.checksum}, file checksum ${edited.checksum}. Fix: restore the file as it was applied and put the change in a new migration with a higher version`,
    );
    const [table] = await db.executor.query("SELECT to_regclass('audit.should_not_exist') AS name");
    expect(table).toEqual({ name: null });
  });

  it('fails a migration that errors, rolls back all of its statements and records nothing', async () => {
    const broken = {
      ...files,
      'V901__broken.sql':
        "CREATE TABLE audit.half_done (id int);\nINSERT INTO audit.half_done VALUES ('not a number');",
    };
    await expect(applyMigrations(db.executor, versionedMigrations(broken))).rejects.toThrow(
      /Migration V901 \(lambda\/migrate\/sql\/V901__broken.sql\) failed and was rolled back: invalid input syntax for type integer.*Fix: correct it/,
    );
    const [table] = await db.executor.query("SELECT to_regclass('audit.half_done') AS name");
    expect(table).toEqual({ name: null });
    const recorded = await db.executor.query("SELECT 1 FROM audit.schema_migrations WHERE version = 'V901'");
    expect(recorded).toEqual([]);
  });

  it('fails a new migration numbered below an applied one', async () => {
    await applyMigrations(db.executor, versionedMigrations({ ...files, 'V050__marker.sql': 'SELECT 1' }));
    await expect(
      applyMigrations(
        db.executor,
        versionedMigrations({ ...files, 'V050__marker.sql': 'SELECT 1', 'V040__late.sql': 'SELECT 1' }),
      ),
    ).rejects.toThrow(/V040 .* is not applied but V050 already is, so it would run out of order\. Fix: renumber it/);
  });
});

describe('database roles', () => {
  let db: TestDatabase;
  beforeAll(async () => {
    db = await startPostgres();
    await applyMigrations(db.executor, allMigrations());
  });
  afterAll(() => db?.stop());

  /** Runs `sql` as `role` in a transaction that is always rolled back. */
  async function asRole(role: string, sql: string): Promise<void> {
    const client = await db.pool.connect();
    try {
      await client.query('BEGIN');
      await client.query(`SET LOCAL ROLE ${role}`);
      await client.query(sql);
    } finally {
      await client.query('ROLLBACK').catch(() => undefined);
      client.release();
    }
  }
  const insertClick = `INSERT INTO mart.clicks (click_id, impression_id, click_time, campaign_id, cost_usd, is_fraud_suspected)
    VALUES ('clk-0000000000000001', 'imp-0000000000000001', now(), 1, 0.5, false)`;

  it('lets mart_reader read the mart', async () => {
    await expect(asRole('mart_reader', 'SELECT count(*) FROM mart.impressions')).resolves.toBeUndefined();
  });

  it('fails when mart_reader writes the mart or reads the audit schema', async () => {
    await expect(asRole('mart_reader', insertClick)).rejects.toThrow(/permission denied for table clicks/);
    await expect(asRole('mart_reader', 'SELECT * FROM audit.pipeline_runs')).rejects.toThrow(/permission denied/);
  });

  it('lets mart_loader write mart and audit rows through a temp staging table', async () => {
    await expect(asRole('mart_loader', insertClick)).resolves.toBeUndefined();
    await expect(
      asRole(
        'mart_loader',
        "INSERT INTO audit.pipeline_runs (run_id, dataset, object_key, status) VALUES ('r1', 'clicks', 'k', 'RUNNING')",
      ),
    ).resolves.toBeUndefined();
    await expect(
      asRole('mart_loader', 'CREATE TEMP TABLE staging (LIKE mart.clicks) ON COMMIT DROP'),
    ).resolves.toBeUndefined();
  });

  it('fails when mart_loader creates objects in any schema, truncates, deletes audit rows or touches the migration history', async () => {
    await expect(asRole('mart_loader', 'CREATE TABLE mart.sneaky (id int)')).rejects.toThrow(
      /permission denied for schema mart/,
    );
    await expect(asRole('mart_loader', 'CREATE TABLE audit.sneaky (id int)')).rejects.toThrow(
      /permission denied for schema audit/,
    );
    await expect(asRole('mart_loader', 'CREATE TABLE public.sneaky (id int)')).rejects.toThrow(
      /permission denied for schema public/,
    );
    // DELETE on mart.* is the loader's (the integration test's cleanup, V004); TRUNCATE and audit rows are not.
    await expect(asRole('mart_loader', 'TRUNCATE mart.clicks')).rejects.toThrow(/permission denied for table clicks/);
    await expect(asRole('mart_loader', 'DELETE FROM audit.pipeline_runs')).rejects.toThrow(
      /permission denied for table pipeline_runs/,
    );
    await expect(asRole('mart_loader', 'DROP TABLE mart.clicks')).rejects.toThrow(/must be owner of table clicks/);
    await expect(asRole('mart_loader', 'SELECT * FROM audit.schema_migrations')).rejects.toThrow(/permission denied/);
  });

  it('leaves ownership of the schemas and tables to the migration user', async () => {
    const owners = await db.executor.query<{ owner: string }>(
      `SELECT DISTINCT pg_get_userbyid(nspowner) AS owner FROM pg_namespace WHERE nspname IN ('mart', 'audit')
       UNION SELECT DISTINCT tableowner FROM pg_tables WHERE schemaname IN ('mart', 'audit')`,
    );
    const [{ current_user: migrator }] = await db.executor.query<{ current_user: string }>('SELECT current_user');
    expect(owners).toEqual([{ owner: migrator }]);
  });
});
