/**
 * A small stand-in for DataPlatformStage in pipeline tests: one stack with one bucket and the outputs the integration
 * test reads. The pipeline must not depend on which stacks a stage holds, and this keeps structure tests fast.
 */
import { CfnOutput, Stack, Stage } from 'aws-cdk-lib';
import * as s3 from 'aws-cdk-lib/aws-s3';
import type { Construct } from 'constructs';
import type { DeployableStage, DeployableStageProps, StageFactory } from '../../../lib/pipeline/pipeline-stack';

export class StageDouble extends Stage implements DeployableStage {
  readonly integrationTestOutputs: Record<string, CfnOutput>;

  constructor(scope: Construct, id: string, props: DeployableStageProps) {
    super(scope, id, { env: { account: props.environment.account, region: props.environment.region } });
    const prefix = `${props.platform.prefix}-${props.environment.name}`;
    const stack = new Stack(this, 'Storage', { stackName: `${prefix}-storage` });
    const bucket = new s3.Bucket(stack, 'Landing', {
      enforceSSL: true,
      encryption: s3.BucketEncryption.S3_MANAGED,
      blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
    });
    this.integrationTestOutputs = {
      LANDING_BUCKET_NAME: new CfnOutput(stack, 'LandingBucketName', { value: bucket.bucketName }),
      INTEGRATION_TEST_ROLE_ARN: new CfnOutput(stack, 'IntegrationTestRoleArn', {
        value: `arn:aws:iam::${props.environment.account}:role/${prefix}-integration-test`,
      }),
    };
  }
}

export const stageDouble: StageFactory = (scope, id, props) => new StageDouble(scope, id, props);
