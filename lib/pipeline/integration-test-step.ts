/**
 * The post-deploy step of every stage: runs `scripts/integration-test.ts` against the freshly deployed environment,
 * with the stage's CfnOutputs as environment variables, assuming the environment's integration-test role.
 */
import { type CfnOutput, Duration, Stack } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import { CodeBuildStep, type IFileSetProducer } from 'aws-cdk-lib/pipelines';
import { Construct } from 'constructs';
import type { EnvironmentConfig } from '../../config/schema';

export interface IntegrationTestStepProps {
  /** Resource name prefix of the environment, `<platformPrefix>-<env>`, e.g. `dp-dev`. */
  readonly prefix: string;
  readonly environment: EnvironmentConfig;
  /** The checked-out repository (the pipeline source). */
  readonly input: IFileSetProducer;
  /** Stage outputs keyed by the environment variable the script reads (e.g. `LANDING_BUCKET_NAME`). */
  readonly outputs: Record<string, CfnOutput>;
  /**
   * How long the integration test may run.
   *
   * @default Duration.minutes(30)
   */
  readonly timeout?: Duration;
}

/** Name of the role the test step runs as; the target account's integration-test role trusts exactly this name. */
export function integrationTestRunnerRoleName(prefix: string): string {
  return `${prefix}-integration-test-runner`;
}

/** ARN of the integration-test role in the target account (created by the Iam stack of the stage). */
export function integrationTestRoleArn(scope: Construct, prefix: string, environment: EnvironmentConfig): string {
  return Stack.of(scope).formatArn({
    service: 'iam',
    region: '',
    account: environment.account,
    resource: 'role',
    resourceName: `${prefix}-integration-test`,
  });
}

/**
 * Holds the CodeBuild role of the integration-test step (in the pipeline stack) and the step itself.
 * The role may assume only the environment's integration-test role: every AWS call of the test goes through it.
 */
export class IntegrationTestStep extends Construct {
  readonly role: iam.Role;
  readonly step: CodeBuildStep;

  constructor(scope: Construct, id: string, props: IntegrationTestStepProps) {
    super(scope, id);
    const { prefix, environment } = props;
    const targetRoleArn = integrationTestRoleArn(this, prefix, environment);

    this.role = new iam.Role(this, 'RunnerRole', {
      roleName: integrationTestRunnerRoleName(prefix),
      assumedBy: new iam.ServicePrincipal('codebuild.amazonaws.com'),
      description: `Runs the post-deploy integration test of ${prefix}; may only assume ${prefix}-integration-test in ${environment.account}`,
    });
    this.role.addToPolicy(
      new iam.PolicyStatement({
        sid: 'AssumeIntegrationTestRole',
        actions: ['sts:AssumeRole'],
        resources: [targetRoleArn],
      }),
    );

    this.step = new CodeBuildStep('IntegrationTest', {
      input: props.input,
      role: this.role,
      timeout: props.timeout ?? Duration.minutes(30),
      commands: ['npm ci', `npx tsx scripts/integration-test.ts --env ${environment.name}`],
      env: { TARGET_REGION: environment.region },
      envFromCfnOutputs: props.outputs,
    });
  }
}
