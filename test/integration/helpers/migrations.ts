/**
 * Brings a test database to the deployed schema with the data mart's own migration runner: the versioned migrations
 * (lambda/migrate/sql, as bundled into the migrate function; read from disk: bench:flow runs this under tsx) and the mart tables generated from the dataset config.
 */
import {
  martMigrations,
  versionedMigrations,
  applyMigrations as runMigrations,
} from '../../../lambda/migrate/migrations';
import { readMigrationFiles } from '../../helpers/migration-files';
import type { SqlExecutor } from '../../../lambda/shared/sql';
import { exampleConfig } from '../../helpers/app';

export async function applyMigrations(executor: SqlExecutor): Promise<void> {
  await runMigrations(executor, [
    ...versionedMigrations(readMigrationFiles()),
    ...martMigrations(exampleConfig().datasets),
  ]);
}
