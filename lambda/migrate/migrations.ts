/**
 * Schema migrations of the data mart.
 *
 * - Versioned migrations: `lambda/migrate/sql/V<nnn>__<description>.sql`, applied once each, in version order, each in its
 *   own transaction, recorded in `audit.schema_migrations` with the SHA-256 of their text. An applied file that was
 *   edited afterwards fails the run (before anything is applied) with both checksums: add a new migration instead.
 * - Repeatable migrations: the mart tables generated from the dataset config (see `mart-ddl.ts`), re-applied whenever
 *   their generated SQL changes; their version is `R__mart_<table>`.
 *
 * Statements are run one by one (the Data API takes one statement per call). A transaction-level advisory lock makes
 * two concurrent runners (two deploys) apply each migration once.
 */
import { createHash } from 'node:crypto';
import { DomainError } from '../shared/errors';
import { martTableSql } from '../shared/mart-ddl';
import { type MartDataset, martTableName } from '../shared/mart-contract';
import type { SqlExecutor } from '../shared/sql';
import { splitStatements } from '../shared/sql-params';

export interface Migration {
  /** `V001` for versioned migrations, `R__mart_<table>` for repeatable ones. */
  readonly version: string;
  readonly description: string;
  readonly sql: string;
  /** SHA-256 (hex) of the SQL with line endings normalized. */
  readonly checksum: string;
  readonly repeatable: boolean;
  /** Where the SQL came from, for messages. */
  readonly source: string;
}

export interface MigrationReport {
  readonly applied: string[];
  readonly unchanged: string[];
  /** Versions recorded in the database that no file defines any more (left alone, reported). */
  readonly unknown: string[];
}

/** The migrations cannot be applied as they are; the message says which and how to fix it. */
export class MigrationError extends DomainError {}

const FILE_NAME = /^V(\d{3,})__([a-z0-9_]+)\.sql$/;
/** Arbitrary constant identifying the migration lock among the cluster's advisory locks. */
const LOCK_KEY = 727_001;

export function checksum(sql: string): string {
  return createHash('sha256').update(sql.replace(/\r\n/g, '\n')).digest('hex');
}

/** Versioned migrations from `{ fileName: sql }`, sorted by version; rejects badly named files and duplicate versions. */
export function versionedMigrations(files: Readonly<Record<string, string>>): Migration[] {
  const migrations = Object.entries(files).map(([fileName, sql]) => {
    const match = FILE_NAME.exec(fileName);
    if (!match) {
      throw new MigrationError(
        `Migration file "${fileName}" is not named V<number>__<description>.sql. Fix: rename it, e.g. V004__add_exports.sql (lower-case description)`,
      );
    }
    return {
      version: `V${match[1]}`,
      number: Number(match[1]),
      description: match[2].replace(/_/g, ' '),
      sql,
      checksum: checksum(sql),
      repeatable: false,
      source: `lambda/migrate/sql/${fileName}`,
    };
  });
  migrations.sort((a, b) => a.number - b.number);
  migrations.forEach((migration, index) => {
    const previous = migrations[index - 1];
    if (previous && previous.number === migration.number) {
      throw new MigrationError(
        `Migrations ${previous.source} and ${migration.source} have the same version ${migration.version}. Fix: renumber the newer one after the highest version`,
      );
    }
  });
  return migrations.map(({ number: _number, ...migration }) => migration);
}

/** One repeatable migration per dataset with the mart enabled. */
export function martMigrations(datasets: readonly MartDataset[]): Migration[] {
  return datasets
    .filter((dataset) => dataset.mart.enabled)
    .map((dataset) => {
      const table = martTableName(dataset);
      const sql = martTableSql(dataset);
      return {
        version: `R__mart_${table}`,
        description: `mart table ${table} from dataset ${dataset.name}`,
        sql,
        checksum: checksum(sql),
        repeatable: true,
        source: `config/datasets/${dataset.name}.json`,
      };
    });
}

const BOOTSTRAP = [
  'CREATE SCHEMA IF NOT EXISTS audit',
  `CREATE TABLE IF NOT EXISTS audit.schema_migrations (
    version     text PRIMARY KEY,
    description text NOT NULL,
    checksum    char(64) NOT NULL,
    repeatable  boolean NOT NULL DEFAULT false,
    applied_at  timestamptz NOT NULL DEFAULT now()
  )`,
];

interface AppliedRow extends Record<string, unknown> {
  version: string;
  checksum: string;
  repeatable: boolean;
}

/**
 * Applies what is pending: versioned migrations first (in order), then repeatable ones whose SQL changed.
 * Fails without applying anything when an applied migration was edited or a new one is older than an applied one.
 */
export async function applyMigrations(
  executor: SqlExecutor,
  migrations: readonly Migration[],
  log: (message: string, details?: Record<string, unknown>) => void = () => undefined,
): Promise<MigrationReport> {
  await executor.transaction(async (tx) => {
    await tx.query('SELECT pg_advisory_xact_lock(:key)', { key: LOCK_KEY });
    for (const statement of BOOTSTRAP) await tx.query(statement);
  });
  const applied = new Map(
    (await executor.query<AppliedRow>('SELECT version, checksum, repeatable FROM audit.schema_migrations')).map(
      (row) => [row.version, row],
    ),
  );
  const versioned = migrations.filter((migration) => !migration.repeatable);
  verify(versioned, applied);

  const report: MigrationReport = {
    applied: [],
    unchanged: [],
    unknown: [...applied.keys()].filter((version) => !migrations.some((m) => m.version === version)),
  };
  for (const migration of [...versioned, ...migrations.filter((m) => m.repeatable)]) {
    const done = applied.get(migration.version);
    if (done && done.checksum.trim() === migration.checksum) {
      report.unchanged.push(migration.version);
      continue;
    }
    const ran = await applyOne(executor, migration);
    (ran ? report.applied : report.unchanged).push(migration.version);
    if (ran) log('migration applied', { version: migration.version, description: migration.description });
  }
  return report;
}

function verify(versioned: readonly Migration[], applied: ReadonlyMap<string, AppliedRow>): void {
  for (const migration of versioned) {
    const done = applied.get(migration.version);
    if (done && done.checksum.trim() !== migration.checksum) {
      throw new MigrationError(
        `Migration ${migration.version} (${migration.source}) was edited after it was applied: applied checksum ${done.checksum.trim()}, file checksum ${migration.checksum}. Fix: restore the file as it was applied and put the change in a new migration with a higher version`,
      );
    }
  }
  // `versioned` is sorted: anything pending before the last applied one would run out of order.
  const lastApplied = versioned.reduce((last, m, index) => (applied.has(m.version) ? index : last), -1);
  const stray = versioned.slice(0, Math.max(lastApplied, 0)).find((m) => !applied.has(m.version));
  const highestApplied = versioned[lastApplied];
  if (stray && highestApplied) {
    throw new MigrationError(
      `Migration ${stray.version} (${stray.source}) is not applied but ${highestApplied.version} already is, so it would run out of order. Fix: renumber it after the highest applied version`,
    );
  }
}

/** Applies one migration in its own transaction; returns false when a concurrent runner applied it first. */
async function applyOne(executor: SqlExecutor, migration: Migration): Promise<boolean> {
  const statements = splitStatements(migration.sql);
  try {
    return await executor.transaction(async (tx) => {
      await tx.query('SELECT pg_advisory_xact_lock(:key)', { key: LOCK_KEY });
      const [current] = await tx.query<{ checksum: string }>(
        'SELECT checksum FROM audit.schema_migrations WHERE version = :version',
        { version: migration.version },
      );
      if (current && current.checksum.trim() === migration.checksum) return false;
      if (current && !migration.repeatable) {
        throw new MigrationError(
          `Migration ${migration.version} was applied by another runner with checksum ${current.checksum.trim()} while this one has ${migration.checksum}. Fix: deploy one version of the migrations at a time`,
        );
      }
      for (const statement of statements) await tx.query(statement);
      await tx.query(
        `INSERT INTO audit.schema_migrations (version, description, checksum, repeatable)
         VALUES (:version, :description, :checksum, :repeatable)
         ON CONFLICT (version) DO UPDATE
           SET description = EXCLUDED.description, checksum = EXCLUDED.checksum, applied_at = now()`,
        {
          version: migration.version,
          description: migration.description,
          checksum: migration.checksum,
          repeatable: migration.repeatable,
        },
      );
      return true;
    });
  } catch (error) {
    if (error instanceof DomainError) throw error;
    throw new MigrationError(
      `Migration ${migration.version} (${migration.source}) failed and was rolled back: ${(error as Error).message}. Fix: correct it (nothing of it was applied) and deploy again`,
    );
  }
}
