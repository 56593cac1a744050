/**
 * rotate-mart-secret: the rotation function of the data mart's login secrets (reader, loader), invoked by
 * Secrets Manager for each step (see ./rotation.ts). Not in the VPC: it reaches the database through the Data API,
 * as the master user for password changes and with the login's own secret for the final check.
 */
import { RdsDataClient } from '../shared/aws/rds-data';
import { SecretsManagerClient } from '../shared/aws/secrets-manager';
import { requireEnv } from '../shared/env';
import { martTargetFromEnv } from '../shared/mart-connection';
import { DataApiExecutor } from '../shared/sql-data-api';
import { parseLoginSecrets, ROTATE_ENV } from './contract';
import { createRotationHandler } from './rotation';
import { withLambdaContext } from '../shared/logger';

// MART_SECRET_ARN is the master secret here: only this function and migrate hold it.
const master = martTargetFromEnv();
const rdsData = new RdsDataClient();

export const handler = withLambdaContext(
  createRotationHandler({
    secrets: new SecretsManagerClient(),
    master: new DataApiExecutor(rdsData, master),
    asLogin: (secretArn) => new DataApiExecutor(rdsData, { ...master, secretArn }),
    logins: parseLoginSecrets(requireEnv(ROTATE_ENV.loginSecrets)),
  }),
);
