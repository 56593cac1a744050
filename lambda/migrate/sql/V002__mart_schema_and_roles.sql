-- The mart schema and the two application roles.
--
-- mart_loader: writes mart tables (INSERT/UPDATE, through staging tables it creates as TEMP) and audit rows.
-- mart_reader: reads mart tables.
-- Both are NOLOGIN group roles and own nothing: schemas and tables belong to the user that runs the migrations
-- (the cluster's master user), so neither role can create, alter or drop objects. Application code logs in through
-- the Data API with the master secret and narrows itself with SET LOCAL ROLE; people and BI tools inside the VPC log
-- in as mart_reader_iam with IAM database authentication (created by this migration only where rds_iam exists).
CREATE SCHEMA IF NOT EXISTS mart;

-- Roles are cluster-wide: another database on the same server (or a concurrent test) may create them first.
DO $$
DECLARE
  role_name text;
BEGIN
  FOREACH role_name IN ARRAY ARRAY['mart_loader', 'mart_reader'] LOOP
    IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = role_name) THEN
      BEGIN
        EXECUTE format('CREATE ROLE %I NOLOGIN', role_name);
      EXCEPTION WHEN duplicate_object OR unique_violation THEN
        NULL;
      END;
    END IF;
  END LOOP;
END
$$;

-- Nobody but the owner creates objects, in any schema.
REVOKE CREATE ON SCHEMA public FROM PUBLIC;
REVOKE ALL ON SCHEMA mart FROM PUBLIC;
REVOKE ALL ON SCHEMA audit FROM PUBLIC;

GRANT USAGE ON SCHEMA mart TO mart_loader, mart_reader;
GRANT USAGE ON SCHEMA audit TO mart_loader;

GRANT SELECT, INSERT, UPDATE ON ALL TABLES IN SCHEMA audit TO mart_loader;
GRANT SELECT, INSERT, UPDATE ON ALL TABLES IN SCHEMA mart TO mart_loader;
GRANT SELECT ON ALL TABLES IN SCHEMA mart TO mart_reader;
-- The migration history is the owner's business only.
REVOKE ALL ON audit.schema_migrations FROM mart_loader;

-- Tables the owner creates later (mart tables generated from the dataset config, new audit tables) get the same grants.
ALTER DEFAULT PRIVILEGES IN SCHEMA mart GRANT SELECT, INSERT, UPDATE ON TABLES TO mart_loader;
ALTER DEFAULT PRIVILEGES IN SCHEMA mart GRANT SELECT ON TABLES TO mart_reader;
ALTER DEFAULT PRIVILEGES IN SCHEMA audit GRANT SELECT, INSERT, UPDATE ON TABLES TO mart_loader;

-- Aurora only: an IAM-authenticated login for readers inside the VPC (no password exists, so none needs rotating).
DO $$
BEGIN
  IF EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'rds_iam')
     AND NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'mart_reader_iam') THEN
    CREATE ROLE mart_reader_iam LOGIN IN ROLE mart_reader, rds_iam;
  END IF;
END
$$;
