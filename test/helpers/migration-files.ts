/**
 * The migrate function's versioned migrations read from lambda/migrate/sql, for code that runs outside Jest and the
 * bundle (benchmarks and local harnesses under tsx, which has no text loader for `.sql`).
 */
import { readdirSync, readFileSync } from 'node:fs';
import * as path from 'node:path';

export const MIGRATIONS_DIR = path.resolve(__dirname, '..', '..', 'lambda', 'migrate', 'sql');

/** `{ fileName: sql }` of every `.sql` file, in file-name order (as lambda/migrate/migration-files.ts lists them). */
export function readMigrationFiles(dir: string = MIGRATIONS_DIR): Record<string, string> {
  const files: Record<string, string> = {};
  for (const name of readdirSync(dir)
    .filter((file) => file.endsWith('.sql'))
    .sort()) {
    files[name] = readFileSync(path.join(dir, name), 'utf8');
  }
  return files;
}
