/**
 * Builds an ApiStack the way the stage does (real Storage and Iam stacks, a stand-in for the data mart's Data API
 * target, the integration-test role's grants in the Api stack), for the stack, nag and OpenAPI tests.
 */
import type { App } from 'aws-cdk-lib';
import type { Template } from 'aws-cdk-lib/assertions';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import type { DatasetConfig, EnvironmentConfig } from '../../../../config/schema';
import { ApiStack } from '../../../../lib/stacks/api-stack';
import { MartDataApi } from '../../../../lib/stacks/data-mart-stack';
import { IamStack } from '../../../../lib/stacks/iam-stack';
import { grantIntegrationTestApi } from '../../../../lib/stacks/integration-test-access';
import { StorageStack } from '../../../../lib/stacks/storage-stack';
import { exampleConfig, exampleEnvironment } from '../../../helpers/app';

export function buildApiStack(
  app: App,
  envName: 'dev' | 'test' | 'prod',
  apiOverride: Partial<EnvironmentConfig['api']> = {},
  options: { readonly datasets?: readonly DatasetConfig[] } = {},
): ApiStack {
  const base = exampleEnvironment(envName);
  const environment: EnvironmentConfig = { ...base, api: { ...base.api, ...apiOverride } };
  const config = exampleConfig();
  const env = { account: environment.account, region: environment.region };
  const common = { prefix: `dp-${envName}`, environment, env };
  const storage = new StorageStack(app, 'Storage', common);
  const iam = new IamStack(app, 'Iam', { ...common, deploymentAccount: config.platform.deployment.account, storage });
  // Like the DataMart stack's secrets: encrypted with the platform key of the Storage stack (imported, so they add
  // no resource; the real ones live in the DataMart stack). The grants are the DataMart stack's own (MartDataApi).
  const secretArn = (name: string) =>
    `arn:aws:secretsmanager:${environment.region}:${environment.account}:secret:${name}-AbCdEf`;
  const standIn = (id: string, name: string) =>
    secretsmanager.Secret.fromSecretAttributes(storage, id, {
      secretCompleteArn: secretArn(name),
      encryptionKey: storage.key,
    });
  const mart = new MartDataApi({
    clusterArn: `arn:aws:rds:${environment.region}:${environment.account}:cluster:dp-${envName}-mart`,
    databaseName: 'mart',
    key: storage.key,
    region: environment.region,
    secrets: {
      reader: standIn('MartReaderSecretStandIn', 'ReaderLoginSecret'),
      loader: standIn('MartLoaderSecretStandIn', 'LoaderLoginSecret'),
      master: standIn('MartMasterSecretStandIn', 'rds!cluster-0a1b2c3d'),
    },
  });
  const datasets = options.datasets ?? config.datasets;
  const api = new ApiStack(app, 'Api', { ...common, datasets, key: storage.key, zones: storage.zones, mart });
  // The Api stack's share of what the stage grants the integration-test role at its end.
  grantIntegrationTestApi(iam.integrationTestRole, { api, dataMart: mart, storage, datasets, environment });
  return api;
}

/** "METHOD /path" of every AWS::ApiGateway::Method of a template, rebuilt from the resource tree. */
export function synthesizedRoutes(template: Template): string[] {
  const resources = template.findResources('AWS::ApiGateway::Resource');
  const pathOf = (resourceId: unknown): string => {
    const ref = (resourceId as { Ref?: string }).Ref;
    if (!ref) return ''; // Fn::GetAtt RootResourceId
    const resource = resources[ref].Properties as { ParentId: unknown; PathPart: string };
    return `${pathOf(resource.ParentId)}/${resource.PathPart}`;
  };
  return Object.values(template.findResources('AWS::ApiGateway::Method')).map((method) => {
    const { HttpMethod, ResourceId } = method.Properties as { HttpMethod: string; ResourceId: unknown };
    return `${HttpMethod} ${pathOf(ResourceId) || '/'}`;
  });
}

/**
 * `count` datasets like the example ones (`generated_000`, ...), for the tests of a large configuration: generated
 * here rather than committed as files. Only the example datasets keep their mart.
 */
export function generatedDatasets(count: number): DatasetConfig[] {
  const examples = exampleConfig().datasets;
  const generated = Array.from({ length: Math.max(0, count - examples.length) }, (_, i) => ({
    ...examples[i % examples.length],
    name: `generated_${String(i).padStart(3, '0')}`,
    mart: { ...examples[i % examples.length].mart, enabled: false, table: undefined },
  }));
  return [...examples, ...generated].slice(0, count);
}
