/**
 * One delivery pipeline (CDK Pipelines) in the deployment account: source -> synth (`npm ci`, `npm test`,
 * `npx cdk synth`) -> self-mutation -> for each environment, in order: [manual approval] [security-change
 * confirmation] -> deploy the stage -> integration test.
 */
import { type CfnOutput, Stack, type StackProps, type Stage } from 'aws-cdk-lib';
import * as codebuild from 'aws-cdk-lib/aws-codebuild';
import {
  CodeBuildStep,
  CodePipeline,
  ConfirmPermissionsBroadening,
  ManualApprovalStep,
  type Step,
} from 'aws-cdk-lib/pipelines';
import type { Construct } from 'constructs';
import type { DatasetConfig, EnvironmentConfig, PlatformConfig } from '../../config/schema';
import { IntegrationTestStep } from './integration-test-step';
import { pipelineSource } from './source';

/** What the pipeline needs from a stage: a Stage exposing the outputs its integration test reads. */
export interface DeployableStage extends Stage {
  /** Outputs keyed by the environment variable name the integration test expects. */
  readonly integrationTestOutputs: Record<string, CfnOutput>;
}

export interface DeployableStageProps {
  readonly platform: PlatformConfig;
  readonly environment: EnvironmentConfig;
  readonly datasets: readonly DatasetConfig[];
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

/** Stable construct ID of an environment's stage: `dev` -> `Dev`, `eu-prod` -> `EuProd`. */
export function stageId(environmentName: string): string {
  return environmentName
    .split('-')
    .map((part) => part.charAt(0).toUpperCase() + part.slice(1))
    .join('');
}

export class PipelineStack extends Stack {
  readonly pipeline: CodePipeline;
  /** The deployed stages, in deployment order. */
  readonly stages: readonly DeployableStage[];

  constructor(scope: Construct, id: string, props: PipelineStackProps) {
    super(scope, id, props);
    const { platform } = props;
    if (props.environments.length === 0) {
      throw new Error(
        `Pipeline ${props.pipelineName} received no environments to deploy. Fix: pass at least one environment from config/environments/`,
      );
    }

    const source = pipelineSource(this, platform.source, props.branch);

    this.pipeline = new CodePipeline(this, 'Pipeline', {
      pipelineName: props.pipelineName,
      crossAccountKeys: true,
      enableKeyRotation: true,
      selfMutation: true,
      synth: new CodeBuildStep('Synth', {
        input: source,
        commands: ['npm ci', 'npm test', 'npx cdk synth'],
        primaryOutputDirectory: 'cdk.out',
      }),
      codeBuildDefaults: {
        buildEnvironment: { buildImage: codebuild.LinuxBuildImage.STANDARD_7_0 },
        partialBuildSpec: codebuild.BuildSpec.fromObject({
          version: '0.2',
          phases: { install: { 'runtime-versions': { nodejs: 22 } } },
        }),
      },
    });

    this.stages = props.environments.map((environment) => {
      const prefix = `${platform.prefix}-${environment.name}`;
      const id = stageId(environment.name);
      const stage = props.createStage(this, id, { platform, environment, datasets: props.datasets });

      const pre: Step[] = [];
      if (environment.approval.manual) {
        pre.push(
          new ManualApprovalStep(`Approve${id}`, {
            comment: `Deploy ${prefix} to account ${environment.account} (${environment.region})?`,
          }),
        );
      }
      if (environment.production) {
        pre.push(new ConfirmPermissionsBroadening(`ConfirmSecurityChanges${id}`, { stage }));
      }
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
  }
}
