/**
 * Credentials of the integration test. In the pipeline, the CodeBuild runner role assumes the target account's
 * integration-test role (INTEGRATION_TEST_ROLE_ARN); by hand, without that variable, the caller's own credentials
 * (default provider chain) are used.
 */
import {
  AssumeRoleCommand,
  type AssumeRoleCommandOutput,
  GetCallerIdentityCommand,
  STSClient,
} from '@aws-sdk/client-sts';
import type { AwsClients, AwsCredentials } from './context';

export interface IntegrationTestCredentials {
  /** Undefined: use the default provider chain. */
  readonly credentials?: AwsCredentials;
  /** Human-readable origin, printed before the checks. */
  readonly source: string;
}

export async function integrationTestCredentials(options: {
  readonly roleArn?: string;
  readonly region: string;
  readonly environment: string;
}): Promise<IntegrationTestCredentials> {
  if (!options.roleArn) {
    return { source: "the caller's credentials (INTEGRATION_TEST_ROLE_ARN is not set)" };
  }
  const sts = new STSClient({ region: options.region });
  let response: AssumeRoleCommandOutput;
  try {
    response = await sts.send(
      new AssumeRoleCommand({
        RoleArn: options.roleArn,
        RoleSessionName: `integration-test-${options.environment}`,
        DurationSeconds: 3600,
      }),
    );
  } catch (error) {
    throw new Error(
      `Cannot assume the integration-test role ${options.roleArn}: ${(error as Error).name}: ${(error as Error).message}. ` +
        "Fix: in the pipeline, check that the runner role name matches the role's trust policy; by hand, unset INTEGRATION_TEST_ROLE_ARN to use your own credentials",
    );
  } finally {
    sts.destroy();
  }
  const credentials = response.Credentials;
  if (!credentials?.AccessKeyId || !credentials.SecretAccessKey) {
    throw new Error(
      `AssumeRole on ${options.roleArn} returned no credentials. Fix: retry; if it persists, check STS in ${options.region}`,
    );
  }
  return {
    credentials: {
      accessKeyId: credentials.AccessKeyId,
      secretAccessKey: credentials.SecretAccessKey,
      sessionToken: credentials.SessionToken,
      expiration: credentials.Expiration,
    },
    source: `assumed role ${options.roleArn}`,
  };
}

/**
 * Fails fast, before any check, when there are no usable credentials or they belong to another account than the
 * environment's (e.g. the wrong profile by hand). GetCallerIdentity needs no IAM permission.
 */
export async function verifyAccount(clients: AwsClients, expectedAccount: string, prefix: string): Promise<string> {
  let identity: { Account?: string; Arn?: string };
  try {
    identity = await clients.get(STSClient).send(new GetCallerIdentityCommand({}));
  } catch (error) {
    throw new Error(
      `No usable AWS credentials (${(error as Error).name}: ${(error as Error).message}). Fix: set AWS_PROFILE or sign in (aws sso login) for account ${expectedAccount}`,
    );
  }
  if (identity.Account !== expectedAccount) {
    throw new Error(
      `The credentials are for account ${identity.Account} (${identity.Arn}), but ${prefix} is deployed in ${expectedAccount}. Fix: use credentials of account ${expectedAccount}`,
    );
  }
  return identity.Arn ?? expectedAccount;
}
