import { RemovalPolicy, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as s3 from 'aws-cdk-lib/aws-s3';
import { logProviderFunction } from '../../../lib/constructs/provider-log-groups';
import { testApp } from '../../helpers/app';

const KEY_ARN = 'arn:aws:kms:eu-west-1:222222222222:key/0a1b2c3d-0000-4000-8000-000000000000';

function stackWithKey(): { stack: Stack; key: kms.IKey } {
  const stack = new Stack(testApp(), 'Test', { env: { account: '222222222222', region: 'eu-west-1' } });
  return { stack, key: kms.Key.fromKeyArn(stack, 'Key', KEY_ARN) };
}

describe('logProviderFunction', () => {
  test("points the provider's function at a log group of the stack, encrypted, with retention", () => {
    const { stack, key } = stackWithKey();
    new s3.Bucket(stack, 'Bucket', { removalPolicy: RemovalPolicy.DESTROY, autoDeleteObjects: true });
    logProviderFunction(stack, 's3AutoDeleteObjects', {
      encryptionKey: key,
      retentionDays: 30,
      removalPolicy: RemovalPolicy.DESTROY,
    });
    const template = Template.fromStack(stack);
    template.hasResource('AWS::Logs::LogGroup', {
      Properties: { KmsKeyId: KEY_ARN, RetentionInDays: 30 },
      DeletionPolicy: 'Delete',
    });
    const [logGroupId] = Object.keys(template.findResources('AWS::Logs::LogGroup'));
    expect(logGroupId).toMatch(/^S3AutoDeleteObjectsProviderLogs/);
    template.hasResourceProperties('AWS::Lambda::Function', { LoggingConfig: { LogGroup: { Ref: logGroupId } } });
  });

  test('fails, naming the provider and the fix, when aws-cdk-lib no longer creates it under that ID', () => {
    const { stack, key } = stackWithKey();
    expect(() =>
      logProviderFunction(stack, 'bucketNotifications', {
        encryptionKey: key,
        retentionDays: 30,
        removalPolicy: RemovalPolicy.RETAIN,
      }),
    ).toThrow(
      new Error(
        'Test: expected one aws-cdk-lib provider "BucketNotificationsHandler*" with one AWS::Lambda::Function (added by eventBridgeEnabled), found 0 construct(s) with 0 function(s). Fix: aws-cdk-lib renamed or reshaped its provider; update AWS_CDK_PROVIDERS in lib/constructs/provider-log-groups.ts',
      ),
    );
  });
});
