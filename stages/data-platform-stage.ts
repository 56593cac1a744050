import { CfnOutput, Stage, type StageProps, Tags } from 'aws-cdk-lib';
import type { Construct } from 'constructs';
import type { DatasetConfig, EnvironmentConfig, PlatformConfig } from '../config/schema';
import type { StageFactory } from '../lib/pipeline/pipeline-stack';
import { API_STAGE_NAME, ApiStack } from '../lib/stacks/api-stack';
import { CatalogStack } from '../lib/stacks/catalog-stack';
import { DataMartStack } from '../lib/stacks/data-mart-stack';
import { IamStack } from '../lib/stacks/iam-stack';
import { grantIntegrationTest } from '../lib/stacks/integration-test-access';
import { NetworkStack } from '../lib/stacks/network-stack';
import { OperationsStack } from '../lib/stacks/operations-stack';
import { OrchestrationStack } from '../lib/stacks/orchestration-stack';
import { StorageStack } from '../lib/stacks/storage-stack';

export interface DataPlatformStageProps extends StageProps {
  readonly platform: PlatformConfig;
  readonly environment: EnvironmentConfig;
  readonly datasets: readonly DatasetConfig[];
  /**
   * Role in this environment's account that runs the integration test (the GitHub Actions deploy role).
   * @default - the pipeline's integration-test runner role in the deployment account
   */
  readonly integrationTestCaller?: string;
}

/**
 * One environment: every stack of the platform, deployed to the environment's account and region. Stacks hand
 * constructs to each other through props; only the pipeline reads the CfnOutputs exposed here.
 */
export class DataPlatformStage extends Stage {
  /** Outputs the post-deploy integration test reads, keyed by the environment variable name it expects. */
  readonly integrationTestOutputs: Record<string, CfnOutput> = {};

  constructor(scope: Construct, id: string, props: DataPlatformStageProps) {
    const { platform, environment } = props;
    super(scope, id, { ...props, env: { account: environment.account, region: environment.region } });

    const prefix = `${platform.prefix}-${environment.name}`;
    const stackName = (stack: string) => `${prefix}-${stack}`;
    const common = { prefix, environment };

    const storage = new StorageStack(this, 'Storage', { ...common, stackName: stackName('storage') });
    const network = new NetworkStack(this, 'Network', { ...common, stackName: stackName('network'), key: storage.key });
    const iam = new IamStack(this, 'Iam', {
      ...common,
      stackName: stackName('iam'),
      deploymentAccount: platform.deployment.account,
      storage,
      integrationTestCaller: props.integrationTestCaller,
    });

    const datasets = props.datasets;
    const dataMart = new DataMartStack(this, 'DataMart', {
      ...common,
      stackName: stackName('data-mart'),
      vpc: network.vpc,
      key: storage.key,
      curated: storage.zones.curated,
      datasets,
    });
    const catalog = new CatalogStack(this, 'Catalog', {
      ...common,
      stackName: stackName('catalog'),
      datasets,
      storage,
      dataAnalystRole: iam.dataAnalystRole,
    });
    const orchestration = new OrchestrationStack(this, 'Orchestration', {
      ...common,
      stackName: stackName('orchestration'),
      datasets,
      storage,
      curateJobName: catalog.curateJobName,
      dataMart,
    });
    // The curate job must exist before the state machines that start it.
    orchestration.addStackDependency(catalog, 'the state machines start the curate job');
    const api = new ApiStack(this, 'Api', {
      ...common,
      stackName: stackName('api'),
      datasets,
      key: storage.key,
      zones: storage.zones,
      mart: dataMart,
      alarmTopic: orchestration.alertTopic,
    });

    // An eighth stack (DESIGN lists seven): alarms and dashboards read every stack, none reads them, so they deploy last.
    new OperationsStack(this, 'Operations', {
      ...common,
      stackName: stackName('operations'),
      datasets,
      alertTopic: orchestration.alertTopic,
      apiName: api.api.restApiName,
      apiStage: API_STAGE_NAME,
      eventStreams: api.ingestion.eventStreams,
      martClusterIdentifier: dataMart.cluster.clusterIdentifier,
      orchestrationDeadLetterQueue: orchestration.deadLetterQueue,
      alarmedDeadLetterQueues: {
        'landed objects': {
          queue: orchestration.objectStage.deadLetterQueue,
          alarm: orchestration.objectStage.deadLetterAlarm,
        },
        exports: { queue: api.exportJobs.deadLetterQueue, alarm: api.exportJobs.deadLetterAlarm },
      },
    });

    // Last, once every stack exists: what the post-deploy integration test may do, in the stacks that own it (the Iam
    // stack keeps the role's own inspection policy). See lib/stacks/integration-test-access.ts.
    grantIntegrationTest(iam.integrationTestRole, { api, catalog, dataMart, storage, datasets, environment });

    this.output(iam, 'IntegrationTestRoleArn', iam.integrationTestRole.roleArn);
    this.output(network, 'VpcId', network.vpc.vpcId);
    this.output(storage, 'KmsKeyArn', storage.key.keyArn);
    for (const [zone, bucket] of Object.entries(storage.buckets)) {
      this.output(storage, `${zone[0].toUpperCase()}${zone.slice(1)}BucketName`, bucket.bucketName);
    }
    this.output(dataMart, 'DataMartClusterArn', dataMart.clusterArn);
    // The integration test logs in as the loader (follows its run in audit, deletes its sample rows): not the master.
    this.output(dataMart, 'DataMartLoaderSecretArn', dataMart.loginSecrets.loader.secretArn);
    this.output(dataMart, 'DataMartDatabaseName', dataMart.databaseName);
    this.output(catalog, 'CuratedDatabaseName', catalog.curatedDatabaseName);
    this.output(catalog, 'AthenaWorkGroup', catalog.workGroupName);
    this.output(orchestration, 'AlertTopicArn', orchestration.alertTopic.topicArn);
    this.output(api, 'ApiUrl', api.url);
    if (api.auth.userPool && api.auth.userPoolClient) {
      this.output(api, 'UserPoolId', api.auth.userPool.userPoolId);
      this.output(api, 'UserPoolClientId', api.auth.userPoolClient.userPoolClientId);
    }

    for (const [key, value] of Object.entries({ ...platform.tags, environment: environment.name })) {
      Tags.of(this).add(key, value);
    }
  }

  /** Adds a CfnOutput to `stack` and registers it for the integration-test step (env var = SCREAMING_SNAKE of id). */
  output(stack: Construct, id: string, value: string): CfnOutput {
    const output = new CfnOutput(stack, id, { value });
    const envName = id.replace(/([a-z0-9])([A-Z])/g, '$1_$2').toUpperCase();
    this.integrationTestOutputs[envName] = output;
    return output;
  }
}

/** The factory `bin/` hands to lib/'s pipelines (lib/ never imports stages/). */
export const createDataPlatformStage: StageFactory = (scope, id, props) => new DataPlatformStage(scope, id, props);
