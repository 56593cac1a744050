import { type CfnElement, Stack } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as s3 from 'aws-cdk-lib/aws-s3';
import { acknowledgeGeneratedPermissions, flatten } from '../../../lib/pipeline/generated-permissions';
import { nagApp } from '../../helpers/nag';
import { synthAndReadViolations } from './nag-report';

/** An artifact bucket like the one CDK Pipelines creates, and two roles: one using it, one reaching elsewhere. */
function buildStack() {
  const app = nagApp();
  const stack = new Stack(app, 'Grants', { env: { account: '111111111111', region: 'eu-west-1' } });
  const artifactBucket = new s3.Bucket(stack, 'ArtifactsBucket', {
    encryptionKey: new kms.Key(stack, 'ArtifactsKey', { enableKeyRotation: true }),
  });
  const builder = new iam.Role(stack, 'Builder', { assumedBy: new iam.ServicePrincipal('codebuild.amazonaws.com') });
  artifactBucket.grantReadWrite(builder);
  const reacher = new iam.Role(stack, 'Reacher', { assumedBy: new iam.ServicePrincipal('codebuild.amazonaws.com') });
  reacher.addToPolicy(
    new iam.PolicyStatement({
      actions: ['s3:GetObject*'],
      resources: [artifactBucket.arnForObjects('*'), 'arn:aws:s3:::somebody-elses-bucket/*'],
    }),
  );
  const bucketLogicalId = stack.getLogicalId(artifactBucket.node.defaultChild as CfnElement);
  return { app, bucketLogicalId, acknowledged: acknowledgeGeneratedPermissions(stack, [artifactBucket]) };
}

describe('acknowledgeGeneratedPermissions', () => {
  test('acknowledges the wildcard grants on the artifact bucket and its key, on that policy only', () => {
    const { acknowledged, bucketLogicalId } = buildStack();
    expect(acknowledged.get('Grants/Builder/DefaultPolicy')?.sort()).toEqual(
      [
        'Action::kms:GenerateDataKey*',
        'Action::kms:ReEncrypt*',
        'Action::s3:Abort*',
        'Action::s3:DeleteObject*',
        'Action::s3:GetBucket*',
        'Action::s3:GetObject*',
        'Action::s3:List*',
        `Resource::<${bucketLogicalId}.Arn>/*`,
      ].sort(),
    );
  });

  test('leaves a grant that also reaches another bucket unacknowledged', () => {
    const { acknowledged, bucketLogicalId } = buildStack();
    // The artifact objects resource alone is explainable; the action wildcard is not, since it also covers
    // somebody-elses-bucket, and neither is that bucket's wildcard.
    expect(acknowledged.get('Grants/Reacher/DefaultPolicy')).toEqual([`Resource::<${bucketLogicalId}.Arn>/*`]);
  });

  test('cdk-nag then reports only the unexplained grants', () => {
    const { app } = buildStack();
    const errors = synthAndReadViolations(app)
      .filter((violation) => violation.severity === 'error' && violation.rule.startsWith('AwsSolutions-IAM5'))
      .map((violation) => `${violation.rule} at ${violation.path}`);
    expect(errors.sort()).toEqual([
      'AwsSolutions-IAM5[Action::s3:GetObject*] at Grants/Reacher/DefaultPolicy/Resource',
      'AwsSolutions-IAM5[Resource::arn:aws:s3:::somebody-elses-bucket/*] at Grants/Reacher/DefaultPolicy/Resource',
    ]);
  });
});

describe('flatten', () => {
  test('renders CloudFormation intrinsics the way cdk-nag names findings', () => {
    expect(
      flatten({
        'Fn::Join': ['', ['arn:', { Ref: 'AWS::Partition' }, ':logs:eu-west-1:1:log-group:', { Ref: 'P' }, ':*']],
      }),
    ).toBe('arn:<AWS::Partition>:logs:eu-west-1:1:log-group:<P>:*');
    expect(flatten({ 'Fn::GetAtt': ['Bucket', 'Arn'] })).toBe('<Bucket.Arn>');
    // biome-ignore lint/suspicious/noTemplateCurlyInString: a CloudFormation Fn::Sub string, not a JavaScript template
    expect(flatten({ 'Fn::Sub': 'arn:${AWS::Partition}:iam::1:role/x' })).toBe('arn:<AWS::Partition>:iam::1:role/x');
  });
});
