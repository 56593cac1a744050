/**
 * The versioned migrations, `{ fileName: sql }`: the files of ./sql, carried in the bundle as text (esbuild's `text`
 * loader for `.sql`, PlatformFunction's bundling; a Jest transform in tests). A new migration is a new file and a new
 * line here; test/lambda/migrate/migration-files.test.ts fails when the two differ.
 */
import V001 from './sql/V001__audit_schema.sql';
import V002 from './sql/V002__mart_schema_and_roles.sql';
import V003 from './sql/V003__aws_s3_import.sql';
import V004 from './sql/V004__login_roles.sql';
import V005 from './sql/V005__batches.sql';

export const MIGRATION_FILES: Readonly<Record<string, string>> = {
  'V001__audit_schema.sql': V001,
  'V002__mart_schema_and_roles.sql': V002,
  'V003__aws_s3_import.sql': V003,
  'V004__login_roles.sql': V004,
  'V005__batches.sql': V005,
};
