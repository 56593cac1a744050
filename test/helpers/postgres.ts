/**
 * A fresh PostgreSQL database per test file.
 *
 * - `DATABASE_URL` set (CI: postgres://postgres@127.0.0.1:5432/test): a uniquely named database is created on that
 *   server and dropped by `stop()`. Roles are cluster-wide, so SQL that creates roles must tolerate a concurrent
 *   creator (the migrations do).
 * - Otherwise: an embedded PGlite (PostgreSQL compiled to WASM) served over the wire protocol by
 *   `@electric-sql/pglite-socket` on a free 127.0.0.1 port, so `npm test` passes on a machine with only Node.
 *   PGlite is one single-user session behind the socket: roles, GRANT and SET ROLE work, but COPY ... FROM STDIN does
 *   not (the socket loses protocol sync), there are no other databases and no extensions beyond its bundled ones.
 *   Tests that need COPY use {@link describeWithCopy}, which skips them visibly under PGlite.
 *
 * Usage:
 *   let db: TestDatabase;
 *   beforeAll(async () => { db = await startPostgres(); });
 *   afterAll(() => db.stop());
 */
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import * as path from 'node:path';
import pg from 'pg';
import type { SqlExecutor } from '../../lambda/shared/sql';
import { PgExecutor } from './sql-pg';

const REPO_ROOT = path.resolve(__dirname, '..', '..');

export interface TestDatabase {
  /** Connection string of the fresh database. */
  readonly url: string;
  readonly pool: pg.Pool;
  /** A {@link PgExecutor} over `pool`. */
  readonly executor: SqlExecutor;
  /** 'server' when DATABASE_URL gave a real server, 'pglite' for the embedded one. */
  readonly kind: 'server' | 'pglite';
  /** Whether COPY ... FROM STDIN works (real servers only). */
  readonly supportsCopyFromStdin: boolean;
  /** Closes the pool and drops the database (or stops PGlite). */
  stop(): Promise<void>;
}

/** Whether this test run has a real server (DATABASE_URL). */
export const hasDatabaseServer = (): boolean => Boolean(process.env.DATABASE_URL);

export async function startPostgres(): Promise<TestDatabase> {
  const serverUrl = process.env.DATABASE_URL;
  return serverUrl ? startOnServer(serverUrl) : startPglite();
}

async function startOnServer(serverUrl: string): Promise<TestDatabase> {
  const name = `test_${Date.now().toString(36)}_${randomBytes(4).toString('hex')}`;
  const admin = new pg.Client({ connectionString: serverUrl });
  await admin.connect().catch((error: Error) => {
    throw new Error(
      `Cannot connect to DATABASE_URL (${redact(serverUrl)}): ${error.message}. Fix: start PostgreSQL or unset DATABASE_URL to use the embedded PGlite`,
    );
  });
  try {
    await admin.query(`CREATE DATABASE ${name}`);
  } finally {
    await admin.end();
  }
  const url = new URL(serverUrl);
  url.pathname = `/${name}`;
  const pool = new pg.Pool({ connectionString: url.toString(), max: 5 });
  // An idle client the server disconnects (stop() drops the database WITH (FORCE)) must not crash the test file.
  pool.on('error', () => undefined);
  return {
    url: url.toString(),
    pool,
    executor: new PgExecutor(pool),
    kind: 'server',
    supportsCopyFromStdin: true,
    async stop() {
      await pool.end();
      const dropper = new pg.Client({ connectionString: serverUrl });
      await dropper.connect();
      try {
        await dropper.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      } finally {
        await dropper.end();
      }
    },
  };
}

/**
 * PGlite runs in a child Node process: its CJS build loads the WASM with a dynamic `import()`, which jest's VM refuses
 * without --experimental-vm-modules; a separate process also keeps the WASM heap out of the test worker.
 */
const PGLITE_SERVER_SCRIPT = `
import { PGlite } from '@electric-sql/pglite';
import { PGLiteSocketServer } from '@electric-sql/pglite-socket';
const db = await PGlite.create();
const server = new PGLiteSocketServer({ db, host: '127.0.0.1', port: 0, maxConnections: 10 });
await server.start();
process.stdout.write('LISTENING ' + server.getServerConn() + '\\n');
const shutdown = async () => { await server.stop(); await db.close(); process.exit(0); };
process.on('SIGTERM', shutdown);
process.stdin.on('end', shutdown);
process.stdin.resume();
`;

async function startPglite(): Promise<TestDatabase> {
  const child = spawn(process.execPath, ['--input-type=module', '-e', PGLITE_SERVER_SCRIPT], {
    cwd: REPO_ROOT,
    stdio: ['pipe', 'pipe', 'inherit'],
  });
  const address = await new Promise<string>((resolve, reject) => {
    let output = '';
    const timer = setTimeout(() => reject(new Error('embedded PGlite did not start within 60 s')), 60_000);
    child.stdout.on('data', (chunk: Buffer) => {
      output += chunk.toString();
      const match = /LISTENING (\S+)/.exec(output);
      if (match) {
        clearTimeout(timer);
        resolve(match[1]);
      }
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`embedded PGlite exited with code ${code} before listening. Fix: set DATABASE_URL`));
    });
  });
  const url = `postgres://postgres@${address}/postgres`;
  const pool = new pg.Pool({ connectionString: url, max: 3 });
  // PGlite drops a socket it cannot serve; the failing query reports it, the pool must not crash the worker.
  pool.on('error', () => undefined);
  return {
    url,
    pool,
    executor: new PgExecutor(pool),
    kind: 'pglite',
    supportsCopyFromStdin: false,
    async stop() {
      await pool.end();
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.stdin.end();
      await exited;
    },
  };
}

/**
 * `describe` for tests that need COPY FROM STDIN: runs them against a real server, and without DATABASE_URL skips
 * them with a message on the console (never a silent pass).
 */
export function describeWithCopy(name: string, body: () => void): void {
  if (hasDatabaseServer()) {
    describe(name, body);
  } else {
    console.warn(
      `SKIPPED "${name}": needs COPY FROM STDIN, which the embedded PGlite cannot do. Run with DATABASE_URL=postgres://postgres@127.0.0.1:5432/test`,
    );
    describe.skip(name, body);
  }
}

function redact(url: string): string {
  return url.replace(/\/\/([^:@/]+):[^@/]*@/, '//$1:***@');
}

/**
 * `executor` narrowed to `role` (SET LOCAL ROLE at the start of every transaction; a lone query gets its own), for
 * tests connected as the owner that should run with a login user's privileges, as the Data API session of that login
 * would in AWS. Only the test harness narrows this way: application code logs in as the login itself.
 */
export function narrowedTo(executor: SqlExecutor, role: string): SqlExecutor {
  if (!/^[a-z_][a-z0-9_]*$/.test(role)) throw new Error(`not a role name: ${role}`);
  const narrowed: SqlExecutor = {
    transaction: (work) =>
      executor.transaction(async (tx) => {
        await tx.query(`SET LOCAL ROLE ${role}`);
        return work(tx);
      }),
    query: (sql, params) => narrowed.transaction((tx) => tx.query(sql, params)),
  };
  return narrowed;
}
