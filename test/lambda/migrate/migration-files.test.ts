import { MIGRATION_FILES } from '../../../lambda/migrate/migration-files';
import { readMigrationFiles } from '../../helpers/migration-files';

describe("the migrate function's migrations", () => {
  it('are every file of lambda/migrate/sql, with its text (a new file needs its line in migration-files.ts)', () => {
    const files = readMigrationFiles();
    expect(Object.keys(files).length).toBeGreaterThanOrEqual(5);
    expect(MIGRATION_FILES).toEqual(files);
  });
});
