/**
 * The Aurora import path (aws_s3.table_import_from_s3) against a real PostgreSQL, with a stand-in for the extension's
 * function that does what matters here: it puts the column list into the statement as written, as Aurora's COPY does.
 */
import { s3ImportStager } from '../../../lambda/load-mart/s3-import';
import { startPostgres, type TestDatabase } from '../../helpers/postgres';

let db: TestDatabase;

beforeAll(async () => {
  db = await startPostgres();
  for (const statement of [
    'CREATE SCHEMA aws_commons',
    'CREATE TYPE aws_commons._s3_uri_1 AS (bucket text, key text, region text)',
    `CREATE FUNCTION aws_commons.create_s3_uri(bucket text, key text, region text) RETURNS aws_commons._s3_uri_1
       LANGUAGE sql AS $$ SELECT ROW(bucket, key, region)::aws_commons._s3_uri_1 $$`,
    'CREATE SCHEMA aws_s3',
    `CREATE FUNCTION aws_s3.table_import_from_s3(table_name text, column_list text, options text,
       s3_info aws_commons._s3_uri_1) RETURNS text LANGUAGE plpgsql AS $$
     BEGIN
       EXECUTE format('SELECT %s FROM %s LIMIT 0', column_list, table_name);
       RETURN '0 rows imported';
     END $$`,
  ]) {
    await db.executor.query(statement);
  }
});
afterAll(() => db?.stop());

describe('s3ImportStager', () => {
  it('survives columns named like SQL keywords: the column list reaches the COPY quoted', async () => {
    const staged = await db.executor.transaction(async (tx) => {
      await tx.query(
        'CREATE TEMP TABLE "staging_orders" ("order" integer, "user" text, "select" boolean) ON COMMIT DROP',
      );
      return s3ImportStager({
        bucket: 'curated',
        keys: ['_mart/orders/run_id=r1/part-00000.csv'],
        region: 'eu-west-1',
      })(tx, { name: 'pg_temp."staging_orders"', columns: ['order', 'user', 'select'] });
    });
    expect(staged).toBeUndefined();
  });

  it('the same list unquoted is what PostgreSQL refuses (the stand-in is not lenient)', async () => {
    const attempt = db.executor.transaction(async (tx) => {
      await tx.query('CREATE TEMP TABLE "staging_orders" ("order" integer, "user" text) ON COMMIT DROP');
      await tx.query(
        "SELECT aws_s3.table_import_from_s3('pg_temp.\"staging_orders\"', 'order,user', '', aws_commons.create_s3_uri('b', 'k', 'r'))",
      );
    });
    await expect(attempt).rejects.toThrow(/^syntax error at or near/);
  });
});
