/**
 * Rotation of the data mart's login secrets against a PostgreSQL that checks passwords (test/helpers/password-postgres)
 * and Secrets Manager faked at the AWS boundary (signed HTTP, test/helpers/fake-secrets-manager). The Data API seam is
 * the SqlExecutor: as the master, a pool connected as the superuser; with a login secret, a connection made with that
 * secret's AWSCURRENT username and password, which is what the Data API does.
 */
import pg from 'pg';
import { MIGRATION_FILES } from '../../../lambda/migrate/migration-files';
import { applyLoginPasswords } from '../../../lambda/shared/mart-logins';
import { applyMigrations, martMigrations, versionedMigrations } from '../../../lambda/migrate/migrations';
import { createRotationHandler, type RotationDependencies } from '../../../lambda/rotate-mart-secret/rotation';
import { SecretsManagerClient } from '../../../lambda/shared/aws/secrets-manager';
import { TransientError } from '../../../lambda/shared/errors';
import { logger } from '../../../lambda/shared/logger';
import { MART_LOGIN_NAMES, MART_LOGINS, type MartLogin } from '../../../lambda/shared/mart-contract';
import type { SqlExecutor, SqlParams, SqlRow } from '../../../lambda/shared/sql';
import { PgExecutor } from '../../helpers/sql-pg';
import { exampleConfig } from '../../helpers/app';
import { clientOptions, type FakeAws, startFakeAws } from '../../helpers/fake-aws';
import { FakeSecretsManager } from '../../helpers/fake-secrets-manager';
import {
  describeWithPasswordAuth,
  type PasswordPostgres,
  startPasswordPostgres,
} from '../../helpers/password-postgres';

const STEPS = ['createSecret', 'setSecret', 'testSecret', 'finishSecret'] as const;

describeWithPasswordAuth('login secret rotation against PostgreSQL with password authentication', () => {
  let server: PasswordPostgres;
  let masterPool: pg.Pool;
  let master: SqlExecutor;
  let fake: FakeAws;
  let store: FakeSecretsManager;
  let secrets: SecretsManagerClient;
  let arns: Record<MartLogin, string>;

  /** What the Data API does with a secret ARN: log in with its AWSCURRENT username and password, per statement. */
  const asLogin = (secretArn: string): SqlExecutor => ({
    async query<T extends SqlRow = SqlRow>(sql: string, params?: SqlParams): Promise<T[]> {
      const { username, password } = store.valueAt(secretArn) as { username: string; password: string };
      const client = await server.connect(username, password);
      try {
        return await new PgExecutor(client).query<T>(sql, params);
      } finally {
        await client.end();
      }
    },
    transaction: () => Promise.reject(new Error('not used by the rotation')),
  });

  const handlerWith = (overrides: Partial<RotationDependencies> = {}) =>
    createRotationHandler({
      secrets,
      master,
      asLogin,
      logins: Object.fromEntries(MART_LOGIN_NAMES.map((login) => [arns[login], login])),
      verifyDelayMs: 1,
      resumeDelaysMs: [1],
      ...overrides,
    });

  /** Whether `user` can log in with `password` (the server checks it with SCRAM-SHA-256). */
  async function logsIn(user: string, password: string): Promise<boolean> {
    try {
      const client = await server.connect(user, password);
      await client.end();
      return true;
    } catch (error) {
      if (/password authentication failed/.test((error as Error).message)) return false;
      throw error;
    }
  }

  const current = (login: MartLogin) => store.valueAt(arns[login]) as { username: string; password: string };

  beforeAll(async () => {
    logger.setLogLevel('SILENT');
    server = await startPasswordPostgres();
    masterPool = new pg.Pool({
      connectionString: server.url(server.superuser.user, server.superuser.password),
      max: 3,
    });
    master = new PgExecutor(masterPool);
    await applyMigrations(master, [
      ...versionedMigrations(MIGRATION_FILES),
      ...martMigrations(exampleConfig().datasets),
    ]);
    store = new FakeSecretsManager();
    fake = await startFakeAws('secretsmanager', store.handle);
    secrets = new SecretsManagerClient(clientOptions(fake));
    arns = Object.fromEntries(
      MART_LOGIN_NAMES.map((login) => [
        login,
        store.addSecret(`${login}LoginSecret`, {
          engine: 'postgres',
          dbname: 'mart',
          host: server.host,
          port: server.port,
          username: MART_LOGINS[login].users[0],
          password: `Initial${login}Password0123456789`,
        }),
      ]),
    ) as Record<MartLogin, string>;
    // What the migrate function does on deploy.
    await applyLoginPasswords(master, secrets, arns);
  }, 120_000);

  afterAll(async () => {
    await masterPool?.end();
    await fake?.stop();
    await server?.stop();
  });

  it('starts from the passwords migrate set: each secret logs its first user in, the second user has none', async () => {
    for (const login of MART_LOGIN_NAMES) {
      const { username, password } = current(login);
      expect(username).toBe(MART_LOGINS[login].users[0]);
      await expect(logsIn(username, password)).resolves.toBe(true);
      await expect(logsIn(username, 'not-the-password-0123456789')).resolves.toBe(false);
      await expect(logsIn(MART_LOGINS[login].users[1], password)).resolves.toBe(false);
    }
  });

  it('rotates through the four steps: the other user gets the new password, the user in use keeps working', async () => {
    const rotate = handlerWith();
    const before = current('reader');
    const token = store.startRotation(arns.reader);
    const event = (Step: string) => ({ SecretId: arns.reader, ClientRequestToken: token, Step });

    await expect(rotate(event('createSecret'))).resolves.toEqual({ step: 'createSecret', outcome: 'created' });
    const pending = store.valueAt(arns.reader, 'AWSPENDING') as { username: string; password: string; host: string };
    expect(pending).toMatchObject({ username: 'mart_reader_b', host: server.host, dbname: 'mart', engine: 'postgres' });
    expect(pending.password).toMatch(/^[A-Za-z0-9]{32}$/);

    await expect(rotate(event('setSecret'))).resolves.toEqual({ step: 'setSecret', outcome: 'password set' });
    await expect(logsIn('mart_reader_b', pending.password)).resolves.toBe(true);
    // The user in use is untouched throughout.
    await expect(logsIn(before.username, before.password)).resolves.toBe(true);

    await expect(rotate(event('testSecret'))).resolves.toEqual({ step: 'testSecret', outcome: 'tested' });
    await expect(rotate(event('finishSecret'))).resolves.toEqual({ step: 'finishSecret', outcome: 'finished' });
    expect(current('reader')).toEqual(pending);
    const stages = store.stages(arns.reader);
    expect(stages[token]).toContain('AWSCURRENT');
    expect(Object.values(stages).filter((s) => s.includes('AWSPREVIOUS'))).toHaveLength(1);
    await expect(logsIn(before.username, before.password)).resolves.toBe(true);
  });

  it('the next rotation changes the first user: its new password works and its old one fails', async () => {
    const rotate = handlerWith();
    const inUse = current('reader');
    expect(inUse.username).toBe('mart_reader_b');
    const initial = 'Initialreader' + 'Password0123456789';
    await expect(logsIn('mart_reader_a', initial)).resolves.toBe(true);
    const token = store.startRotation(arns.reader);
    for (const Step of STEPS) await rotate({ SecretId: arns.reader, ClientRequestToken: token, Step });
    const now = current('reader');
    expect(now.username).toBe('mart_reader_a');
    await expect(logsIn('mart_reader_a', now.password)).resolves.toBe(true);
    await expect(logsIn('mart_reader_a', initial)).resolves.toBe(false);
    await expect(logsIn(inUse.username, inUse.password)).resolves.toBe(true);
  });

  it('keeps every password out of the function logs and the server statement log (only a SCRAM verifier is sent)', async () => {
    const lines: string[] = [];
    const write = jest.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
      lines.push(String(chunk));
      return true;
    });
    logger.setLogLevel('DEBUG');
    try {
      const token = store.startRotation(arns.loader);
      for (const Step of STEPS) await handlerWith()({ SecretId: arns.loader, ClientRequestToken: token, Step });
    } finally {
      logger.setLogLevel('SILENT');
      write.mockRestore();
    }
    const functionLog = lines.join('');
    expect(functionLog).toContain('rotation step done');
    const statementLog = server.serverLog();
    expect(statementLog).toMatch(/ALTER ROLE "mart_loader_[ab]" WITH LOGIN PASSWORD 'SCRAM-SHA-256\$4096:/);
    // Every password any version ever held, the one this rotation generated among them.
    const passwords = [...store.secrets.values()].flatMap((secret) =>
      [...secret.versions.values()].map((v) => (JSON.parse(v.secretString) as { password: string }).password),
    );
    expect(passwords).toContain(current('loader').password);
    for (const password of passwords) {
      expect(functionLog).not.toContain(password);
      expect(statementLog).not.toContain(password);
    }
    expect(functionLog).not.toContain('SCRAM-SHA-256$');
  });

  it('createSecret is idempotent: a retry keeps the version and the password of the first attempt', async () => {
    const rotate = handlerWith();
    const versionsBefore = Object.keys(store.stages(arns.loader)).length;
    const token = store.startRotation(arns.loader);
    const event = { SecretId: arns.loader, ClientRequestToken: token, Step: 'createSecret' };
    await expect(rotate(event)).resolves.toMatchObject({ outcome: 'created' });
    const first = store.valueAt(arns.loader, 'AWSPENDING');
    await expect(rotate(event)).resolves.toMatchObject({ outcome: 'already created' });
    expect(store.valueAt(arns.loader, 'AWSPENDING')).toEqual(first);
    expect(Object.keys(store.stages(arns.loader))).toHaveLength(versionsBefore + 1);
  });

  it('retries of setSecret, testSecret and finishSecret are harmless, and a finished version is left alone', async () => {
    const rotate = handlerWith();
    const token = store.startRotation(arns.loader);
    const event = (Step: string) => ({ SecretId: arns.loader, ClientRequestToken: token, Step });
    const before = current('loader');
    for (const Step of STEPS) {
      await rotate(event(Step));
      await rotate(event(Step));
    }
    const after = current('loader');
    expect(after.username).not.toBe(before.username);
    await expect(logsIn(after.username, after.password)).resolves.toBe(true);
    await expect(logsIn(before.username, before.password)).resolves.toBe(true);
    for (const Step of STEPS) {
      await expect(rotate(event(Step))).resolves.toEqual({ step: Step, outcome: 'already current' });
    }
    expect(current('loader')).toEqual(after);
  });

  it('waits while the cluster resumes, then sets the password', async () => {
    let resuming = 2;
    const slowMaster: SqlExecutor = {
      query: (sql, params) => master.query(sql, params),
      transaction: (work) =>
        resuming-- > 0
          ? Promise.reject(new TransientError('The data mart cluster is not available yet (resuming)'))
          : master.transaction(work),
    };
    const waits: number[] = [];
    const rotate = handlerWith({
      master: slowMaster,
      resumeDelaysMs: [7],
      sleep: async (ms) => {
        waits.push(ms);
      },
    });
    const token = store.startRotation(arns.loader);
    for (const Step of STEPS) await rotate({ SecretId: arns.loader, ClientRequestToken: token, Step });
    expect(waits).toEqual([7, 7]);
    const now = current('loader');
    await expect(logsIn(now.username, now.password)).resolves.toBe(true);
  });

  it('fails testSecret when setSecret has not set this version', async () => {
    const rotate = handlerWith();
    const token = store.startRotation(arns.loader);
    const event = (Step: string) => ({ SecretId: arns.loader, ClientRequestToken: token, Step });
    await rotate(event('createSecret'));
    await expect(rotate(event('testSecret'))).rejects.toThrow(
      /is not ready: its password was not set from this secret version \(recorded: "password of secret version [0-9a-f-]+"\)/,
    );
    // Completed properly it passes.
    await rotate(event('setSecret'));
    await expect(rotate(event('testSecret'))).resolves.toMatchObject({ outcome: 'tested' });
    await rotate(event('finishSecret'));
  });

  it('puts AWSCURRENT back and fails finishSecret when the new version cannot log in', async () => {
    const rotate = handlerWith({ verifyAttempts: 2 });
    const before = current('loader');
    const token = store.startRotation(arns.loader);
    const event = (Step: string) => ({ SecretId: arns.loader, ClientRequestToken: token, Step });
    for (const Step of ['createSecret', 'setSecret', 'testSecret']) await rotate(event(Step));
    const pending = store.valueAt(arns.loader, 'AWSPENDING') as { username: string };
    // The password changes behind the rotation's back (as a broken setSecret would leave it).
    await master.query(`ALTER ROLE ${pending.username} PASSWORD 'SomethingElse0123456789abcdef'`);

    await expect(rotate(event('finishSecret'))).rejects.toThrow(
      new RegExp(
        `Logging in with the new version ${token} .* failed: error: password authentication failed for user "${pending.username}"\\. AWSCURRENT is back on version`,
      ),
    );
    expect(current('loader')).toEqual(before);
    expect(store.stages(arns.loader)[token]).toEqual(['AWSPENDING', 'AWSPREVIOUS']);
    await expect(logsIn(before.username, before.password)).resolves.toBe(true);
    // A retry after the repair finishes.
    await rotate(event('setSecret'));
    await expect(rotate(event('finishSecret'))).resolves.toMatchObject({ outcome: 'finished' });
  });

  it('finishes unconfirmed when the Data API keeps using the previous version (both users work)', async () => {
    const previousUser = current('reader').username;
    const stale: RotationDependencies['asLogin'] = () => ({
      query: async <T extends SqlRow = SqlRow>() => [{ login: previousUser }] as unknown as T[],
      transaction: () => Promise.reject(new Error('unused')),
    });
    const rotate = handlerWith({ asLogin: stale, verifyAttempts: 3 });
    const token = store.startRotation(arns.reader);
    const results = [];
    for (const Step of STEPS) results.push(await rotate({ SecretId: arns.reader, ClientRequestToken: token, Step }));
    expect(results.at(-1)).toEqual({ step: 'finishSecret', outcome: 'finished (not confirmed)' });
    const now = current('reader');
    expect(now.username).not.toBe(previousUser);
    await expect(logsIn(now.username, now.password)).resolves.toBe(true);
  });

  it('rejects a secret it was not made for, before touching anything', async () => {
    const other = store.addSecret('someone-elses-secret', { username: 'postgres', password: 'x'.repeat(32) });
    const token = store.startRotation(other);
    await expect(handlerWith()({ SecretId: other, ClientRequestToken: token, Step: 'createSecret' })).rejects.toThrow(
      new RegExp(`Secret ${other} is not a data mart login secret`),
    );
    expect(Object.keys(store.stages(other))).toHaveLength(2);
    await expect(logsIn('postgres', server.superuser.password)).resolves.toBe(true);
  });

  it('rejects a pending version that names the master or any user outside the login, and sets no password', async () => {
    const rotate = handlerWith();
    for (const username of ['postgres', 'mart_loader_a', 'mart_reader']) {
      const token = store.startRotation(arns.reader);
      // Someone with PutSecretValue writes the pending version instead of createSecret.
      await secrets.putSecretValue({
        SecretId: arns.reader,
        ClientRequestToken: token,
        SecretString: JSON.stringify({ ...current('reader'), username, password: 'AttackerChosen0123456789abcdef' }),
        VersionStages: ['AWSPENDING'],
      });
      for (const Step of ['createSecret', 'setSecret']) {
        await expect(rotate({ SecretId: arns.reader, ClientRequestToken: token, Step })).rejects.toThrow(
          new RegExp(`names user "${username}", which is not a user of that login`),
        );
      }
      await expect(
        logsIn(username === 'mart_reader' ? 'mart_reader_a' : username, 'AttackerChosen0123456789abcdef'),
      ).resolves.toBe(false);
    }
    await expect(logsIn('postgres', server.superuser.password)).resolves.toBe(true);
  });

  it('rejects a pending version that names the user in use, which would break every caller', async () => {
    const rotate = handlerWith();
    const inUse = current('loader');
    const token = store.startRotation(arns.loader);
    await secrets.putSecretValue({
      SecretId: arns.loader,
      ClientRequestToken: token,
      SecretString: JSON.stringify({ ...inUse, password: 'SamePairOtherPassword0123456789' }),
      VersionStages: ['AWSPENDING'],
    });
    await expect(rotate({ SecretId: arns.loader, ClientRequestToken: token, Step: 'setSecret' })).rejects.toThrow(
      new RegExp(`names ${inUse.username}, the user in use`),
    );
    await expect(logsIn(inUse.username, inUse.password)).resolves.toBe(true);
  });

  it('rejects a malformed event and a version that is not pending', async () => {
    const rotate = handlerWith();
    await expect(rotate({ SecretId: arns.reader, Step: 'createSecret' })).rejects.toThrow(
      /Invalid rotation event: ClientRequestToken: /,
    );
    await expect(
      rotate({ SecretId: arns.reader, ClientRequestToken: 'a'.repeat(36), Step: 'dropEverything' }),
    ).rejects.toThrow(/Invalid rotation event: Step: /);
    await expect(
      rotate({ SecretId: arns.reader, ClientRequestToken: 'b'.repeat(36), Step: 'setSecret' }),
    ).rejects.toThrow(/has no version b{36} staged for rotation/);
  });
});
