/**
 * A private PostgreSQL server that checks passwords (scram-sha-256 for every TCP login), for tests of login users
 * and password rotation: the shared test server (DATABASE_URL) trusts every local connection, and PGlite has no
 * authentication, so neither can tell a right password from a wrong one.
 *
 * It is a real `initdb` cluster in a temp directory on a free 127.0.0.1 port (about a second to start), run as the
 * `postgres` OS user when the tests run as root (the server refuses root). Without PostgreSQL's server binaries the
 * tests that need it are skipped with a message ({@link describeWithPasswordAuth}), never passed silently.
 *
 * Usage:
 *   describeWithPasswordAuth('rotation', () => {
 *     let server: PasswordPostgres;
 *     beforeAll(async () => { server = await startPasswordPostgres(); });
 *     afterAll(() => server.stop());
 *   });
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { chownSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import pg from 'pg';

export interface PasswordPostgres {
  readonly host: string;
  readonly port: number;
  /** The superuser `postgres` and its password (what a master user is in these tests). */
  readonly superuser: { readonly user: string; readonly password: string };
  /** Connection string for `user` with `password` to database `mart` (created at start). */
  url(user: string, password: string): string;
  /** Connects as `user` with `password`; rejects as the server does when the password is wrong. */
  connect(user: string, password: string): Promise<pg.Client>;
  /** The server's log so far (every statement is logged: log_statement = all). */
  serverLog(): string;
  /** Stops the server and removes its directory. */
  stop(): Promise<void>;
}

/** Directory of initdb/pg_ctl: `pg_config --bindir`, else the newest /usr/lib/postgresql/<major>/bin. */
export function postgresBinDir(): string | undefined {
  try {
    const dir = execFileSync('pg_config', ['--bindir'], {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'ignore'],
    }).trim();
    if (existsSync(path.join(dir, 'initdb'))) return dir;
  } catch {
    // No pg_config on the PATH: look where Debian and Ubuntu install the server.
  }
  const root = '/usr/lib/postgresql';
  if (!existsSync(root)) return undefined;
  const majors = readdirSync(root)
    .filter((name) => existsSync(path.join(root, name, 'bin', 'initdb')))
    .sort((a, b) => Number(b) - Number(a));
  return majors[0] === undefined ? undefined : path.join(root, majors[0], 'bin');
}

/** Why a password-checking server cannot be started here, or undefined when it can. */
export function passwordServerUnavailable(): string | undefined {
  if (!postgresBinDir()) {
    return "needs PostgreSQL's server binaries (initdb, pg_ctl). Install postgresql (e.g. apt-get install postgresql)";
  }
  if (process.getuid?.() === 0) {
    // The server refuses to run as root: it runs as the postgres OS user the package creates.
    const user = spawnSync('id', ['-u', 'postgres'], { encoding: 'utf8' });
    if (user.status !== 0)
      return 'runs as root without a postgres OS user to start the server as. Fix: useradd postgres';
  }
  return undefined;
}

/** `describe` that runs with a password-checking server and otherwise skips visibly, saying why. */
export function describeWithPasswordAuth(name: string, body: () => void): void {
  const reason = passwordServerUnavailable();
  if (reason === undefined) {
    describe(name, body);
  } else {
    console.warn(`SKIPPED "${name}": a PostgreSQL server that checks passwords ${reason}`);
    describe.skip(name, body);
  }
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

export async function startPasswordPostgres(): Promise<PasswordPostgres> {
  const bin = postgresBinDir();
  if (!bin)
    throw new Error('PostgreSQL server binaries not found. Fix: install postgresql, or use describeWithPasswordAuth');
  const asRoot = process.getuid?.() === 0;
  const dir = mkdtempSync(path.join(tmpdir(), 'pg-password-'));
  const data = path.join(dir, 'data');
  const password = `pw-${Math.random().toString(36).slice(2)}-${Date.now().toString(36)}`;
  writeFileSync(path.join(dir, 'pwfile'), password);
  if (asRoot) {
    const uid = Number(execFileSync('id', ['-u', 'postgres'], { encoding: 'utf8' }).trim());
    const gid = Number(execFileSync('id', ['-g', 'postgres'], { encoding: 'utf8' }).trim());
    chownSync(dir, uid, gid);
    chownSync(path.join(dir, 'pwfile'), uid, gid);
  }
  const run = (tool: string, args: string[]) => {
    const command = asRoot ? 'runuser' : path.join(bin, tool);
    const argv = asRoot ? ['-u', 'postgres', '--', path.join(bin, tool), ...args] : args;
    const result = spawnSync(command, argv, { encoding: 'utf8', timeout: 60_000 });
    if (result.status !== 0) {
      throw new Error(
        `${tool} failed (exit ${result.status}): ${result.stderr || result.stdout || result.error?.message}`,
      );
    }
  };
  const port = await freePort();
  try {
    run('initdb', [
      '-D',
      data,
      '-U',
      'postgres',
      `--pwfile=${path.join(dir, 'pwfile')}`,
      '--auth-host=scram-sha-256',
      '--auth-local=scram-sha-256',
      '--no-sync',
    ]);
    run('pg_ctl', [
      '-D',
      data,
      '-l',
      path.join(dir, 'server.log'),
      '-w',
      '-o',
      // Every statement is logged, so tests can show what a statement log would hold.
      `-p ${port} -k ${dir} -c listen_addresses=127.0.0.1 -c fsync=off -c password_encryption=scram-sha-256 -c log_statement=all`,
      'start',
    ]);
  } catch (error) {
    rmSync(dir, { recursive: true, force: true });
    throw error;
  }
  const host = '127.0.0.1';
  const url = (user: string, pass: string, database = 'mart') =>
    `postgres://${encodeURIComponent(user)}:${encodeURIComponent(pass)}@${host}:${port}/${database}`;
  const admin = new pg.Client({ connectionString: url('postgres', password, 'postgres') });
  await admin.connect();
  await admin.query('CREATE DATABASE mart');
  await admin.end();
  return {
    host,
    port,
    superuser: { user: 'postgres', password },
    url: (user, pass) => url(user, pass),
    async connect(user, pass) {
      const client = new pg.Client({ connectionString: url(user, pass) });
      try {
        await client.connect();
      } catch (error) {
        await client.end().catch(() => undefined);
        throw error;
      }
      return client;
    },
    serverLog: () => readFileSync(path.join(dir, 'server.log'), 'utf8'),
    async stop() {
      try {
        run('pg_ctl', ['-D', data, '-m', 'immediate', '-w', 'stop']);
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    },
  };
}
