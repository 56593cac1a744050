-- Aurora only: server-side import of curated CSV batches from S3 (aws_s3.table_import_from_s3), used by the loader.
-- On plain PostgreSQL the extension is not available and this migration changes nothing; the loader streams the
-- same files with COPY FROM STDIN instead.
DO $$
BEGIN
  IF EXISTS (SELECT 1 FROM pg_available_extensions WHERE name = 'aws_s3') THEN
    CREATE EXTENSION IF NOT EXISTS aws_s3 CASCADE;
    EXECUTE 'GRANT USAGE ON SCHEMA aws_s3, aws_commons TO mart_loader';
    EXECUTE 'GRANT EXECUTE ON ALL FUNCTIONS IN SCHEMA aws_s3, aws_commons TO mart_loader';
  END IF;
END
$$;
