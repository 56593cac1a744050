import { randomBytes } from 'node:crypto';
import { LoginSecretError, parseLoginSecret, setLoginPassword } from '../../../lambda/shared/mart-logins';
import { scramSha256Verifier } from '../../../lambda/shared/scram';
import type { SqlExecutor } from '../../../lambda/shared/sql';
import { startPostgres, type TestDatabase } from '../../helpers/postgres';

const PASSWORD = 'Abcdefghij0123456789Klmnopqrstuv';
const where = 'secret arn:aws:secretsmanager:eu-west-1:222222222222:secret:reader-AbCdEf version v1';

describe('scramSha256Verifier', () => {
  let db: TestDatabase;
  beforeAll(async () => {
    db = await startPostgres();
  });
  afterAll(() => db?.stop());

  it('computes exactly the verifier PostgreSQL stores for the same password, salt and iterations', async () => {
    const role = `scram_check_${randomBytes(4).toString('hex')}`;
    await db.executor.query("SET password_encryption = 'scram-sha-256'");
    try {
      await db.executor.query(`CREATE ROLE ${role} PASSWORD '${PASSWORD}'`);
      const [{ verifier }] = await db.executor.query<{ verifier: string }>(
        'SELECT rolpassword AS verifier FROM pg_authid WHERE rolname = :role',
        { role },
      );
      const [, iterations, salt] = /^SCRAM-SHA-256\$(\d+):([^$]+)\$/.exec(verifier) ?? [];
      expect(scramSha256Verifier(PASSWORD, Buffer.from(salt, 'base64'), Number(iterations))).toBe(verifier);
    } finally {
      await db.executor.query(`DROP ROLE IF EXISTS ${role}`);
    }
  });

  it('uses a new random salt each time, so no two verifiers of one password are equal', () => {
    expect(scramSha256Verifier(PASSWORD)).not.toBe(scramSha256Verifier(PASSWORD));
    expect(scramSha256Verifier(PASSWORD)).toMatch(
      /^SCRAM-SHA-256\$4096:[A-Za-z0-9+/]{22}==\$[A-Za-z0-9+/=]{44}:[A-Za-z0-9+/=]{44}$/,
    );
  });

  it.each([['with a space'], ['ünïcödé-password-0123456789'], ['tab\there-0123456789']])(
    'rejects %j (SASLprep would change it), without quoting it',
    (password) => {
      expect(() => scramSha256Verifier(password)).toThrow(/outside printable ASCII or spaces/);
      try {
        scramSha256Verifier(password);
      } catch (error) {
        expect((error as Error).message).not.toContain(password);
      }
    },
  );
});

describe('parseLoginSecret', () => {
  it('accepts a login secret with one of its users and a usable password, keeping the other fields', () => {
    const text = JSON.stringify({ username: 'mart_reader_b', password: PASSWORD, host: 'h', port: 5432 });
    expect(parseLoginSecret(text, 'reader', where)).toEqual({
      username: 'mart_reader_b',
      password: PASSWORD,
      host: 'h',
      port: 5432,
    });
  });

  it.each([
    ['not JSON', '{"username": "mart_reader_a", "password": ', /is not JSON/],
    ['an array', '[]', /is not a JSON object/],
    ['null', 'null', /is not a JSON object/],
    ['the master user', JSON.stringify({ username: 'mart_admin', password: PASSWORD }), /names user "mart_admin"/],
    ['another login', JSON.stringify({ username: 'mart_loader_a', password: PASSWORD }), /names user "mart_loader_a"/],
    ['a group role', JSON.stringify({ username: 'mart_reader', password: PASSWORD }), /names user "mart_reader"/],
    ['no username', JSON.stringify({ password: PASSWORD }), /names user undefined/],
    ['a short password', JSON.stringify({ username: 'mart_reader_a', password: 'Short123' }), /8 characters/],
    [
      'a password with a space',
      JSON.stringify({ username: 'mart_reader_a', password: `${PASSWORD} x` }),
      /34 characters/,
    ],
    [
      'a huge password',
      JSON.stringify({ username: 'mart_reader_a', password: 'x'.repeat(100_000) }),
      /100000 characters/,
    ],
    ['a numeric password', JSON.stringify({ username: 'mart_reader_a', password: 1234567890123456 }), /number/],
  ])('rejects a secret holding %s, naming the secret and never the password', (_what, text, reason) => {
    let message = '';
    try {
      parseLoginSecret(text, 'reader', where);
    } catch (error) {
      expect(error).toBeInstanceOf(LoginSecretError);
      message = (error as Error).message;
    }
    expect(message).toMatch(reason);
    expect(message).toContain(where);
    expect(message).toContain('Fix:');
    expect(message).not.toContain(PASSWORD);
    expect(message.length).toBeLessThan(600);
  });
});

describe('setLoginPassword', () => {
  it('keeps even the verifier out of a database error that quotes the statement', async () => {
    let sent = '';
    const quoting: SqlExecutor = {
      query: async () => [],
      transaction: async (work) =>
        work({
          query: async (sql: string) => {
            if (sql.startsWith('SELECT')) return [{ login: true }] as never[];
            sent = sql;
            throw new Error(`ERROR: syntax error in statement: ${sql}`);
          },
          transaction: () => Promise.reject(new Error('unused')),
        }),
    };
    const attempt = setLoginPassword(
      quoting,
      'loader',
      { username: 'mart_loader_b', password: PASSWORD },
      '0b7f3c3e-8d1f-4c57-9a4e-2f9d8e1c6a01',
    );
    await expect(attempt).rejects.toThrow(
      /syntax error in statement: ALTER ROLE "mart_loader_b" WITH LOGIN PASSWORD '<verifier>'/,
    );
    expect(sent).toMatch(/PASSWORD 'SCRAM-SHA-256\$4096:/);
    expect(sent).not.toContain(PASSWORD);
  });

  it('fails naming the fix when Aurora restricts password commands to rds_password', async () => {
    const restricted: SqlExecutor = {
      query: async () => [],
      transaction: async (work) =>
        work({
          query: async (sql: string) => {
            if (sql.startsWith('SELECT')) return [{ login: true }] as never[];
            throw new Error('ERROR: must be a member of rds_password to alter passwords');
          },
          transaction: () => Promise.reject(new Error('unused')),
        }),
    };
    await expect(
      setLoginPassword(
        restricted,
        'reader',
        { username: 'mart_reader_a', password: PASSWORD },
        '0b7f3c3e-8d1f-4c57-9a4e-2f9d8e1c6a01',
      ),
    ).rejects.toThrow(/The master user may not set passwords .*Fix: GRANT rds_password TO the master user/);
  });

  it('rejects a user outside the login before any SQL', async () => {
    const none: SqlExecutor = {
      query: () => Promise.reject(new Error('no SQL expected')),
      transaction: () => Promise.reject(new Error('no SQL expected')),
    };
    await expect(
      setLoginPassword(
        none,
        'loader',
        { username: 'postgres', password: PASSWORD },
        '0b7f3c3e-8d1f-4c57-9a4e-2f9d8e1c6a01',
      ),
    ).rejects.toThrow(/User "postgres" is not a user of login loader/);
    await expect(
      setLoginPassword(none, 'loader', { username: 'mart_loader_a', password: PASSWORD }, "x'; DROP ROLE postgres; --"),
    ).rejects.toThrow(/is not 32 to 64 letters, digits/);
  });
});
