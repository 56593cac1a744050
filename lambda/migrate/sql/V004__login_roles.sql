-- Login users per purpose (lambda/shared/mart-connection.ts MART_LOGINS), each login behind its own Secrets Manager
-- secret, so that no application function needs the master secret:
--
--   mart_reader_a, mart_reader_b   member of mart_reader   API functions: read mart.*
--   mart_loader_a, mart_loader_b   member of mart_loader   stage A and B functions: mart loads, audit rows; and the
--                                                          post-deploy integration test (its checks and cleanup)
--
-- Two users per login, so a rotation never changes the password of the user in use: the secret names one of them,
-- the rotation function (lambda/rotate-mart-secret) gives the other a new password, checks it, then switches the
-- secret to it. The users are created here without a password (they cannot log in with one until it is set): the
-- migrate function sets the password of the user each secret names, read from the secret and sent as a SCRAM
-- verifier, so no password is in this file, in a template parameter, a statement log or an argv.
--
-- The users own nothing and cannot create roles, databases or objects; SET ROLE can only reach their own groups,
-- which own nothing either, and RESET ROLE returns to the user itself.

-- Roles are cluster-wide: another database on the same server (or a concurrent test) may create them first.
DO $$
DECLARE
  grant_spec text[];
BEGIN
  FOREACH grant_spec SLICE 1 IN ARRAY ARRAY[
    ['mart_reader_a', 'mart_reader'], ['mart_reader_b', 'mart_reader'],
    ['mart_loader_a', 'mart_loader'], ['mart_loader_b', 'mart_loader']
  ] LOOP
    IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = grant_spec[1]) THEN
      BEGIN
        EXECUTE format(
          'CREATE ROLE %I LOGIN INHERIT NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS',
          grant_spec[1]
        );
      EXCEPTION WHEN duplicate_object OR unique_violation THEN
        NULL;
      END;
    END IF;
    IF NOT EXISTS (
      SELECT 1 FROM pg_auth_members m
      WHERE m.member = (SELECT oid FROM pg_roles WHERE rolname = grant_spec[1])
        AND m.roleid = (SELECT oid FROM pg_roles WHERE rolname = grant_spec[2])
    ) THEN
      BEGIN
        EXECUTE format('GRANT %I TO %I', grant_spec[2], grant_spec[1]);
      EXCEPTION WHEN unique_violation THEN
        NULL;
      END;
    END IF;
  END LOOP;
END
$$;

-- The integration test logs in as the loader: it follows its run and batch in audit.* and, at the end, deletes its
-- own sample rows from the mart by primary key. Hence DELETE on mart.* (not on audit.*, the record of every run):
-- - it adds no real capability: the loader already has UPDATE on every mart row, so it could overwrite all data;
-- - the loader's secret is read only by the stage A and B functions and the integration-test role, which only the
--   post-deploy test step assumes (or the GitHub deploy role, when that lands);
-- - a separate tester login would cost a Secrets Manager secret ($0.40/month per environment) and push Dev past its
--   idle budget ($5/month, $3 of it KMS).
-- Still no TRUNCATE, DROP, ALTER or CREATE: the loader owns nothing.
GRANT DELETE ON ALL TABLES IN SCHEMA mart TO mart_loader;
ALTER DEFAULT PRIVILEGES IN SCHEMA mart GRANT DELETE ON TABLES TO mart_loader;

-- Aurora only: with rds.restrict_password_commands on (the cluster's parameter group), only members of rds_password
-- may set passwords, so a login user cannot change its own; the master (this migration's user) sets them all. Should
-- the grant be refused, the migrate function's password step fails next, saying so.
DO $$
BEGIN
  IF EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'rds_password')
     AND NOT pg_has_role(current_user, 'rds_password', 'MEMBER') THEN
    BEGIN
      EXECUTE format('GRANT rds_password TO %I', current_user);
    EXCEPTION WHEN insufficient_privilege THEN
      RAISE WARNING 'could not grant rds_password to %: setting login passwords needs it', current_user;
    END;
  END IF;
END
$$;

-- Temp tables are the loader's staging: nobody else needs them (PUBLIC has TEMPORARY by default).
DO $$
BEGIN
  EXECUTE format('REVOKE TEMPORARY ON DATABASE %I FROM PUBLIC', current_database());
  EXECUTE format('GRANT TEMPORARY ON DATABASE %I TO mart_loader', current_database());
END
$$;
