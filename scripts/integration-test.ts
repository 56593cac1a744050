#!/usr/bin/env node
/**
 * Post-deploy integration test of one environment, run by the pipeline after each stage deploy and by hand:
 *
 *   npx tsx scripts/integration-test.ts --env dev [--only storage,network] [--from-stacks]
 *
 * Reads the stage outputs from environment variables (LANDING_BUCKET_NAME, VPC_ID, KMS_KEY_ARN ...), or with
 * --from-stacks from the deployed `<prefix>-<env>-*` stacks; assumes INTEGRATION_TEST_ROLE_ARN when it is set (the
 * pipeline), else uses the caller's credentials; checks the environment through the AWS SDK and prints a table.
 * Exit code: 0 all checks passed, 1 some check failed, 2 the test could not start (arguments, outputs, credentials).
 */
import { runIntegrationTest } from './integration-test/cli';

runIntegrationTest({ argv: process.argv.slice(2), env: process.env, print: (line) => console.log(line) }).then(
  (exitCode) => {
    process.exitCode = exitCode;
  },
);
