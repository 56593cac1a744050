import { readFileSync } from 'node:fs';
import { GENERATED_FILE, readSqlFiles, renderGeneratedModule } from '../../../lambda/migrate/bundle-sql';
import { SQL_FILES } from '../../../lambda/migrate/sql-files.generated';

describe('bundled migration files', () => {
  it('match lib/assets/sql (run `npx tsx lambda/migrate/bundle-sql.ts` after editing a migration)', () => {
    expect(SQL_FILES).toEqual(readSqlFiles());
    expect(readFileSync(GENERATED_FILE, 'utf8')).toBe(renderGeneratedModule(readSqlFiles()));
  });
});
