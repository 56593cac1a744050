/**
 * The login users of the data mart (see ./mart-contract.ts): reading a login's secret, setting a user's password
 * as the master user, and checking a user is what its login says. Used by the migrate function (initial passwords on
 * deploy) and the rotation function (every rotation); both run these statements through the Data API as the master.
 *
 * Passwords never appear in SQL text: the statement carries a SCRAM-SHA-256 verifier computed here (./scram.ts), and
 * nothing here logs or echoes the password or the verifier.
 */
import type { SecretsManagerApi } from './aws/secrets-manager';
import { DomainError } from './errors';
import { logger } from './logger';
import { MART_LOGIN_NAMES, MART_LOGINS, type MartLogin } from './mart-contract';
import { SCRAM_VERIFIER, scramSha256Verifier } from './scram';
import type { SqlExecutor } from './sql';

/** A login secret is unusable or names a user its login does not have. Never retried: a person must look. */
export class LoginSecretError extends DomainError {}

/** A login user in the database is not what its login needs (missing, wrong groups, extra attributes ...). */
export class LoginRoleError extends DomainError {}

/** The JSON of a login secret: what the Data API reads (username, password) and the usual RDS fields. */
export interface LoginSecretValue {
  readonly username: string;
  readonly password: string;
  readonly [field: string]: unknown;
}

/** Lengths GetRandomPassword and CloudFormation's generated passwords are asked for (32) fit comfortably. */
const PASSWORD = /^[\x21-\x7e]{16,128}$/;
/** Secrets Manager version ids (ClientRequestToken): 32 to 64 characters. */
const VERSION_ID = /^[A-Za-z0-9_-]{32,64}$/;

const quoteIdentifier = (name: string) => `"${name.replace(/"/g, '""')}"`;
const shown = (value: unknown) => JSON.stringify(typeof value === 'string' ? value.slice(0, 64) : value);

/**
 * Parses a login secret's SecretString; `where` names it in errors (e.g. `secret arn:... version v1`).
 * Fails without quoting the password.
 */
export function parseLoginSecret(text: string | undefined, login: MartLogin, where: string): LoginSecretValue {
  let value: unknown;
  try {
    value = JSON.parse(text ?? '');
  } catch {
    throw new LoginSecretError(
      `${where} (login ${login}) is not JSON. Fix: store {"username": "${MART_LOGINS[login].users[0]}", "password": "..."} as the secret string`,
    );
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new LoginSecretError(`${where} (login ${login}) is not a JSON object. Fix: store {"username", "password"}`);
  }
  const { username, password } = value as Record<string, unknown>;
  const users: readonly string[] = MART_LOGINS[login].users;
  if (typeof username !== 'string' || !users.includes(username)) {
    throw new LoginSecretError(
      `${where} (login ${login}) names user ${shown(username)}, which is not a user of that login. Fix: set "username" to ${users.join(' or ')}; no other user's password is ever set from this secret`,
    );
  }
  if (typeof password !== 'string' || !PASSWORD.test(password)) {
    throw new LoginSecretError(
      `${where} (login ${login}) has no usable "password" (${typeof password === 'string' ? `${password.length} characters` : typeof password}; 16 to 128 printable ASCII characters without spaces are needed). Fix: rotate the secret, which generates one`,
    );
  }
  return value as LoginSecretValue;
}

/** What COMMENT ON ROLE records after a password is set: which secret version the password came from. */
export function passwordMarker(versionId: string): string {
  if (!VERSION_ID.test(versionId)) {
    throw new LoginSecretError(
      `Secret version id ${shown(versionId)} is not 32 to 64 letters, digits, '-' or '_'. Fix: pass the version id Secrets Manager returned`,
    );
  }
  return `password of secret version ${versionId}`;
}

/**
 * Sets `username`'s password to `password` (as a SCRAM verifier) and records the secret version it came from, in one
 * transaction. Only users of a login are accepted, so a tampered secret cannot reach the master or any other role.
 * Repeating it is harmless (same password, new salt).
 */
export async function setLoginPassword(
  master: SqlExecutor,
  login: MartLogin,
  secret: LoginSecretValue,
  versionId: string,
): Promise<void> {
  const users: readonly string[] = MART_LOGINS[login].users;
  if (!users.includes(secret.username)) {
    throw new LoginSecretError(
      `User ${shown(secret.username)} is not a user of login ${login}. Fix: use ${users.join(' or ')}`,
    );
  }
  const marker = passwordMarker(versionId);
  const verifier = scramSha256Verifier(secret.password);
  if (!SCRAM_VERIFIER.test(verifier)) throw new Error('The computed SCRAM verifier has an unexpected form');
  const user = quoteIdentifier(secret.username);
  try {
    await master.transaction(async (tx) => {
      const [role] = await tx.query<{ login: boolean }>(
        'SELECT rolcanlogin AS login FROM pg_roles WHERE rolname = :user',
        {
          user: secret.username,
        },
      );
      if (!role) {
        throw new LoginRoleError(
          `Database user ${secret.username} (login ${login}) does not exist. Fix: deploy the data mart migrations (V004__login_roles.sql creates it) before rotating`,
        );
      }
      // Utility statements take no bind parameters: the verifier (base64 and '$:' only, checked above) is inlined.
      await tx.query(`ALTER ROLE ${user} WITH LOGIN PASSWORD '${verifier}'`);
      await tx.query(`COMMENT ON ROLE ${user} IS '${marker}'`);
    });
  } catch (error) {
    // A database error may quote the statement: keep even the verifier out of messages and logs.
    if (error instanceof Error && error.message.includes(verifier)) {
      error.message = error.message.split(verifier).join('<verifier>');
    }
    if (error instanceof Error && /must be a member of rds_password/.test(error.message)) {
      throw new LoginRoleError(
        `The master user may not set passwords (${error.message}). Fix: GRANT rds_password TO the master user (V004__login_roles.sql tries to), or set rds.restrict_password_commands to 0 in the cluster parameter group (lib/stacks/data-mart-stack.ts)`,
      );
    }
    throw error;
  }
}

type RoleRow = {
  readonly can_login: boolean;
  readonly elevated: string;
  readonly inherits: boolean;
  readonly valid_until: Date | null;
  readonly marker: string | null;
  readonly groups: string | null;
};

/**
 * Checks, as the master, that `username` is a usable user of `login` whose password came from secret version
 * `versionId`: it exists, may log in, inherits, is a member of exactly the login's groups, has no attribute beyond
 * that (superuser, createrole, createdb, replication, bypassrls), its password has not expired. Lists every problem.
 */
export async function checkLoginUser(
  master: SqlExecutor,
  login: MartLogin,
  username: string,
  versionId: string,
): Promise<void> {
  const expected = passwordMarker(versionId);
  const [role] = await master.query<RoleRow>(
    `SELECT r.rolcanlogin AS can_login, r.rolinherit AS inherits, r.rolvaliduntil AS valid_until,
            concat_ws(',', CASE WHEN r.rolsuper THEN 'superuser' END, CASE WHEN r.rolcreaterole THEN 'createrole' END,
                      CASE WHEN r.rolcreatedb THEN 'createdb' END, CASE WHEN r.rolreplication THEN 'replication' END,
                      CASE WHEN r.rolbypassrls THEN 'bypassrls' END) AS elevated,
            shobj_description(r.oid, 'pg_authid') AS marker,
            (SELECT string_agg(DISTINCT g.rolname::text, ',')
               FROM pg_auth_members m JOIN pg_roles g ON g.oid = m.roleid WHERE m.member = r.oid) AS groups
       FROM pg_roles r WHERE r.rolname = :username`,
    { username },
  );
  if (!role) {
    throw new LoginRoleError(
      `Database user ${username} (login ${login}) does not exist. Fix: deploy the data mart migrations (V004__login_roles.sql)`,
    );
  }
  const problems: string[] = [];
  if (!role.can_login) problems.push('it cannot log in (NOLOGIN)');
  if (!role.inherits) problems.push("it does not inherit its groups' privileges (NOINHERIT)");
  if (role.elevated) problems.push(`it has attributes it must not have: ${role.elevated}`);
  if (role.valid_until !== null && role.valid_until.getTime() <= Date.now()) {
    problems.push(`its password expired at ${role.valid_until.toISOString()}`);
  }
  const groups = [...MART_LOGINS[login].groups].sort().join(',');
  const actual = (role.groups ?? '').split(',').filter(Boolean).sort().join(',');
  if (actual !== groups) problems.push(`it is a member of [${actual}] instead of exactly [${groups}]`);
  if (role.marker !== expected) {
    problems.push(
      `its password was not set from this secret version (recorded: ${role.marker === null ? 'none' : shown(role.marker)})`,
    );
  }
  if (problems.length > 0) {
    throw new LoginRoleError(
      `Database user ${username} (login ${login}) is not ready: ${problems.join('; ')}. Fix: run setSecret for version ${versionId} again, or repair the role with the migrations (V004__login_roles.sql)`,
    );
  }
}

/** Sets the password of the user each login secret names (AWSCURRENT), as the master, through `executor`. */
export async function applyLoginPasswords(
  executor: SqlExecutor,
  secrets: SecretsManagerApi,
  loginSecrets: Readonly<Record<MartLogin, string>>,
): Promise<string[]> {
  const done: string[] = [];
  for (const login of MART_LOGIN_NAMES) {
    const secretArn = loginSecrets[login];
    const current = await secrets.getSecretValue({ SecretId: secretArn });
    const versionId = current.VersionId ?? '';
    const secret = parseLoginSecret(current.SecretString, login, `secret ${secretArn} version ${versionId}`);
    await setLoginPassword(executor, login, secret, versionId);
    // The user and version only: never the password or its verifier.
    logger.info('login password set', { login, user: secret.username, secretVersion: versionId });
    done.push(`${login}:${secret.username}`);
  }
  return done;
}
