/**
 * One delivery pipeline (CDK Pipelines) in the deployment account: source -> synth (`npm ci`, `npm test`,
 * `npx cdk synth`) -> self-mutation -> for each environment, in order: [security-change confirmation (production)]
 * [manual approval (when configured)] -> deploy the stage -> integration test. Gates email the environment's alert
 * address.
 */
import { type CfnOutput, Duration, RemovalPolicy, Stack, type StackProps, type Stage, Validations } from 'aws-cdk-lib';
import * as codebuild from 'aws-cdk-lib/aws-codebuild';
import { PipelineType } from 'aws-cdk-lib/aws-codepipeline';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as s3 from 'aws-cdk-lib/aws-s3';
import * as sns from 'aws-cdk-lib/aws-sns';
import * as subscriptions from 'aws-cdk-lib/aws-sns-subscriptions';
import {
  CodeBuildStep,
  CodePipeline,
  ConfirmPermissionsBroadening,
  ManualApprovalStep,
  type Step,
} from 'aws-cdk-lib/pipelines';
import type { Construct } from 'constructs';
import type { DatasetConfig, EnvironmentConfig, PlatformConfig } from '../../config/schema';
import { stageId } from '../stage-id';
import { acknowledgeGeneratedPermissions } from './generated-permissions';
import { IntegrationTestStep } from './integration-test-step';
import { scopeGeneratedWildcards } from './scoped-permissions';
import { pipelineSource, sourceRepositoryStackName } from './source';

/** What the pipeline needs from a stage: a Stage exposing the outputs its integration test reads. */
export interface DeployableStage extends Stage {
  /** Outputs keyed by the environment variable name the integration test expects. */
  readonly integrationTestOutputs: Record<string, CfnOutput>;
}

export interface DeployableStageProps {
  readonly platform: PlatformConfig;
  readonly environment: EnvironmentConfig;
  readonly datasets: readonly DatasetConfig[];
  /**
   * Name of the role, in the environment's own account, that runs the integration test (the GitHub Actions deploy
   * role).
   * @default - the pipeline's integration-test runner role in the deployment account
   */
  readonly integrationTestCaller?: string;
}

/** Builds the stage of one environment (in production: a `DataPlatformStage`). */
export type StageFactory = (scope: Construct, id: string, props: DeployableStageProps) => DeployableStage;

export interface PipelineStackProps extends StackProps {
  readonly platform: PlatformConfig;
  /** Environments this pipeline deploys, in deployment order. */
  readonly environments: readonly EnvironmentConfig[];
  readonly datasets: readonly DatasetConfig[];
  /** Git branch the pipeline watches. */
  readonly branch: string;
  /** Name of the CodePipeline pipeline. */
  readonly pipelineName: string;
  /** Builds each environment's stage. */
  readonly createStage: StageFactory;
}

export { stageId };

export class PipelineStack extends Stack {
  readonly pipeline: CodePipeline;
  /** The deployed stages, in deployment order. */
  readonly stages: readonly DeployableStage[];
  /**
   * Tells the alert email of each gated environment that a deploy waits for an approval or a security-change
   * confirmation. Undefined when no environment of this pipeline is gated.
   */
  readonly gateNotifications?: sns.Topic;
  /** Logs of every CodeBuild step of the pipeline (synth, self-mutation, assets, integration tests). */
  readonly buildLogs: logs.LogGroup;
  /** Receives the server access logs of the pipeline's artifact bucket. */
  readonly accessLogs: s3.Bucket;

  constructor(scope: Construct, id: string, props: PipelineStackProps) {
    super(scope, id, props);
    const { platform } = props;
    if (props.environments.length === 0) {
      throw new Error(
        `Pipeline ${props.pipelineName} received no environments to deploy. Fix: pass at least one environment from config/environments/`,
      );
    }

    const source = pipelineSource(this, platform.source, props.branch);
    // One log group for every build of this pipeline, so build logs expire instead of piling up forever.
    this.buildLogs = new logs.LogGroup(this, 'BuildLogs', {
      retention: BUILD_LOG_RETENTION,
      removalPolicy: RemovalPolicy.RETAIN,
    });

    this.pipeline = new CodePipeline(this, 'Pipeline', {
      pipelineName: props.pipelineName,
      pipelineType: PipelineType.V2,
      crossAccountKeys: true,
      enableKeyRotation: true,
      selfMutation: true,
      synth: new CodeBuildStep('Synth', {
        input: source,
        commands: [...SYNTH_COMMANDS],
        primaryOutputDirectory: 'cdk.out',
        buildEnvironment: { computeType: SYNTH_COMPUTE },
      }),
      codeBuildDefaults: {
        buildEnvironment: { buildImage: codebuild.LinuxBuildImage.STANDARD_7_0 },
        partialBuildSpec: codebuild.BuildSpec.fromObject({
          version: '0.2',
          phases: { install: { 'runtime-versions': { nodejs: 22 } } },
        }),
        logging: { cloudWatch: { logGroup: this.buildLogs } },
      },
    });

    this.gateNotifications = this.createGateNotifications(props.environments);

    this.stages = props.environments.map((environment) => {
      const prefix = `${platform.prefix}-${environment.name}`;
      const id = stageId(environment.name);
      const stage = props.createStage(this, id, { platform, environment, datasets: props.datasets });

      const pre = preDeploySteps(id, prefix, environment, stage, this.gateNotifications);
      const test = new IntegrationTestStep(this, `IntegrationTest${id}`, {
        prefix,
        environment,
        input: source,
        outputs: stage.integrationTestOutputs,
      });
      this.pipeline.addStage(stage, { pre, post: [test.step] });
      return stage;
    });

    // Build now (not lazily at synth) so the generated resources exist for tests and acknowledgements.
    this.pipeline.buildPipeline();
    const createsRepository = platform.source.type === 'codecommit' && platform.source.create;
    scopeGeneratedWildcards(this, this.pipeline, {
      dependencyStackNames: createsRepository ? [sourceRepositoryStackName(platform)] : [],
    });
    this.accessLogs = this.logArtifactBucketAccess();
    const replicationBuckets = Object.values(this.pipeline.pipeline.crossRegionSupport)
      .map((support) => support.replicationBucket)
      .filter((bucket) => bucket !== this.pipeline.pipeline.artifactBucket);
    acknowledgeGeneratedPermissions(this, [this.pipeline.pipeline.artifactBucket, ...replicationBuckets]);
    for (const bucket of replicationBuckets) {
      Validations.of(bucket).acknowledge({
        id: 'AwsSolutions-S1',
        reason:
          "CDK Pipelines' cross-region replication bucket: holds copies of pipeline artifacts for deploys to its region; the source artifact bucket is access-logged",
      });
    }
  }

  private createGateNotifications(environments: readonly EnvironmentConfig[]): sns.Topic | undefined {
    const gated = environments.filter((environment) => environment.production || environment.approval.manual);
    if (gated.length === 0) return undefined;
    const topic = new sns.Topic(this, 'GateNotifications', {
      displayName: `${this.stackName}: deploy waiting for approval`,
      enforceSSL: true,
    });
    // Encrypted with the AWS managed key aws/sns, whose key policy already lets this account's principals publish
    // through SNS. Set on the L1 so that grantPublish adds no KMS statement (it would be a key/* wildcard).
    (topic.node.defaultChild as sns.CfnTopic).kmsMasterKeyId = 'alias/aws/sns';
    for (const email of new Set(gated.map((environment) => environment.alarms.email))) {
      topic.addSubscription(new subscriptions.EmailSubscription(email));
    }
    return topic;
  }

  /**
   * CDK Pipelines creates the artifact bucket without server access logs: send them to a bucket of their own.
   * (Server access logging cannot deliver to SSE-KMS buckets, hence SSE-S3 here.)
   */
  private logArtifactBucketAccess(): s3.Bucket {
    const artifactBucket = this.pipeline.pipeline.artifactBucket;
    const accessLogs = new s3.Bucket(this, 'AccessLogs', {
      encryption: s3.BucketEncryption.S3_MANAGED,
      enforceSSL: true,
      blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
      objectOwnership: s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
      versioned: true,
      lifecycleRules: [{ expiration: Duration.days(365), noncurrentVersionExpiration: Duration.days(30) }],
      removalPolicy: RemovalPolicy.RETAIN,
    });
    accessLogs.addToResourcePolicy(
      new iam.PolicyStatement({
        sid: 'S3ServerAccessLogsOfArtifactBucket',
        principals: [new iam.ServicePrincipal('logging.s3.amazonaws.com')],
        actions: ['s3:PutObject'],
        resources: [accessLogs.arnForObjects(`${ARTIFACT_LOG_PREFIX}*`)],
        conditions: {
          ArnLike: { 'aws:SourceArn': artifactBucket.bucketArn },
          StringEquals: { 'aws:SourceAccount': this.account },
        },
      }),
    );
    const cfnArtifactBucket = artifactBucket.node.defaultChild as s3.CfnBucket;
    cfnArtifactBucket.loggingConfiguration = {
      destinationBucketName: accessLogs.bucketName,
      logFilePrefix: ARTIFACT_LOG_PREFIX,
    };
    Validations.of(accessLogs).acknowledge({
      id: 'AwsSolutions-S1',
      reason:
        'This bucket is the server access log destination of the artifact bucket; logging it into itself would loop',
    });
    return accessLogs;
  }
}

const SYNTH_TEST_WORKERS = 2;
/**
 * The synth step. Jest runs as many workers as the build has vCPUs by default; two keep its memory what
 * `npm run bench:build-memory` measures on a 2-core machine, whatever the build size.
 */
export const SYNTH_COMMANDS = ['npm ci', `npm test -- --maxWorkers=${SYNTH_TEST_WORKERS}`, 'npx cdk synth'] as const;
/**
 * Size of the synth build. `npm run bench:build-memory` (2 jest workers, embedded PGlite as in CodeBuild, summed RSS
 * of the process tree, an upper bound) measured 3,207 MB for `npm test` (largest single process 1,044 MB) and
 * 1,033 MB for `npx cdk synth` (2026-12, 90 test files). BUILD_GENERAL1_SMALL has 3 GB: too small. MEDIUM has 7 GB
 * and 4 vCPUs: 2.2 times the peak. Two workers rather than four keep that margin (about 1 GB more per worker).
 */
export const SYNTH_COMPUTE = codebuild.ComputeType.MEDIUM;

const ARTIFACT_LOG_PREFIX = 'artifact-bucket/';
/** Build logs are kept a year: long enough to audit any deploy of the last releases. */
const BUILD_LOG_RETENTION = logs.RetentionDays.ONE_YEAR;

/**
 * Gates before a stage: the security-change confirmation before every production environment, and a manual approval
 * where the environment asks for one. The confirmation runs first, so the approver sees whether it had to stop.
 */
function preDeploySteps(
  id: string,
  prefix: string,
  environment: EnvironmentConfig,
  stage: Stage,
  notificationTopic: sns.ITopic | undefined,
): Step[] {
  const confirmation = environment.production
    ? new ConfirmPermissionsBroadening(`ConfirmSecurityChanges${id}`, { stage, notificationTopic })
    : undefined;
  const approval = environment.approval.manual
    ? new ManualApprovalStep(`Approve${id}`, {
        comment: `Deploy ${prefix} to account ${environment.account} (${environment.region})?`,
        notificationTopic,
      })
    : undefined;
  if (approval && confirmation) approval.addStepDependency(confirmation);
  return [confirmation, approval].filter((step): step is Step => step !== undefined);
}
