/**
 * The foundation stacks (Storage, Iam) of one environment, built the way the stage builds them, for tests of the
 * later stacks (Catalog, Orchestration) that take them as props.
 */
import { type App, Stack, Validations } from 'aws-cdk-lib';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import { IamStack } from '../../../lib/stacks/iam-stack';
import type { DataMartTarget } from '../../../lib/stacks/orchestration-stack';
import { StorageStack } from '../../../lib/stacks/storage-stack';
import { exampleConfig, exampleEnvironment } from '../../helpers/app';

export type EnvironmentName = 'dev' | 'test' | 'prod';

export interface Foundation {
  readonly prefix: string;
  readonly environment: ReturnType<typeof exampleEnvironment>;
  readonly env: { account: string; region: string };
  readonly common: { prefix: string; environment: ReturnType<typeof exampleEnvironment>; deploymentAccount: string };
  readonly storage: StorageStack;
  readonly iam: IamStack;
}

export function foundation(app: App, envName: EnvironmentName = 'dev'): Foundation {
  const environment = exampleEnvironment(envName);
  const prefix = `${exampleConfig().platform.prefix}-${envName}`;
  const env = { account: environment.account, region: environment.region };
  const common = { prefix, environment, deploymentAccount: exampleConfig().platform.deployment.account };
  const storage = new StorageStack(app, 'Storage', { ...common, env, stackName: `${prefix}-storage` });
  const iam = new IamStack(app, 'Iam', { ...common, env, stackName: `${prefix}-iam`, storage });
  return { prefix, environment, env, common, storage, iam };
}

/**
 * Stand-in for the DataMart stack's contract (cluster ARN, secret, database name) while the Orchestration stack is
 * tested on its own.
 */
export function dataMartDouble(app: App, base: Foundation): DataMartTarget {
  const stack = new Stack(app, 'DataMartDouble', { env: base.env });
  const secret = new secretsmanager.Secret(stack, 'Secret', { encryptionKey: base.storage.key });
  Validations.of(secret).acknowledge({
    id: 'AwsSolutions-SMG4',
    reason: 'Test double: the DataMart stack rotates its secret',
  });
  return {
    clusterArn: `arn:aws:rds:${base.env.region}:${base.env.account}:cluster:${base.prefix}-mart`,
    secret,
    databaseName: 'mart',
  };
}
