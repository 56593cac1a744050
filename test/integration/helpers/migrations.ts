/**
 * Brings a test database to the deployed schema with the data mart's own migration runner: the versioned migrations
 * (lib/assets/sql, as bundled into the migrate function) and the mart tables generated from the dataset config.
 */
import {
  martMigrations,
  versionedMigrations,
  applyMigrations as runMigrations,
} from '../../../lambda/migrate/migrations';
import { SQL_FILES } from '../../../lambda/migrate/sql-files.generated';
import type { SqlExecutor } from '../../../lambda/shared/sql';
import { exampleConfig } from '../../helpers/app';

export async function applyMigrations(executor: SqlExecutor): Promise<void> {
  await runMigrations(executor, [...versionedMigrations(SQL_FILES), ...martMigrations(exampleConfig().datasets)]);
}
