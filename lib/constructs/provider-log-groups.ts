import { CfnResource, type RemovalPolicy, type Stack } from 'aws-cdk-lib';
import type * as kms from 'aws-cdk-lib/aws-kms';
import * as logs from 'aws-cdk-lib/aws-logs';
import type { IConstruct } from 'constructs';

/**
 * The stack-wide provider functions aws-cdk-lib adds on its own, by the construct ID it gives them (a child of the
 * stack). None takes a log group: left alone, each writes to `/aws/lambda/<name>`, a log group CloudFormation does
 * not create (no retention, no KMS key).
 */
export const AWS_CDK_PROVIDERS = {
  /** `autoDeleteObjects: true` on a bucket (destroy environments). */
  s3AutoDeleteObjects: { idPrefix: 'Custom::S3AutoDeleteObjectsCustomResourceProvider', feature: 'autoDeleteObjects' },
  /** `restrictDefaultSecurityGroup: true` on a VPC. */
  vpcRestrictDefaultSecurityGroup: {
    idPrefix: 'Custom::VpcRestrictDefaultSGCustomResourceProvider',
    feature: 'restrictDefaultSecurityGroup',
  },
  /** Bucket notifications, `eventBridgeEnabled: true` included (the ID ends in a hash). */
  bucketNotifications: { idPrefix: 'BucketNotificationsHandler', feature: 'eventBridgeEnabled' },
} as const;

export type AwsCdkProvider = keyof typeof AWS_CDK_PROVIDERS;

export interface ProviderLogGroupOptions {
  /** Encrypts the log group (the environment's platform key). */
  readonly encryptionKey: kms.IKey;
  /** From the environment config. */
  readonly retentionDays: number;
  readonly removalPolicy: RemovalPolicy;
}

/**
 * Gives the function of an aws-cdk-lib provider of `stack` a log group of its own (KMS, retention), set through the
 * function's `LoggingConfig.LogGroup` with an escape hatch. Call it after the construct that adds the provider; it
 * fails naming the provider when aws-cdk-lib no longer creates it under that ID, rather than leave the function
 * logging to a log group nobody created.
 */
export function logProviderFunction(
  stack: Stack,
  provider: AwsCdkProvider,
  options: ProviderLogGroupOptions,
): logs.LogGroup {
  const { idPrefix, feature } = AWS_CDK_PROVIDERS[provider];
  const scopes = stack.node.children.filter((child) => child.node.id.startsWith(idPrefix));
  const functions = scopes.flatMap((scope) => lambdaFunctions(scope));
  if (scopes.length !== 1 || functions.length !== 1) {
    throw new Error(
      `${stack.node.path}: expected one aws-cdk-lib provider "${idPrefix}*" with one AWS::Lambda::Function (added by ${feature}), found ${scopes.length} construct(s) with ${functions.length} function(s). Fix: aws-cdk-lib renamed or reshaped its provider; update AWS_CDK_PROVIDERS in lib/constructs/provider-log-groups.ts`,
    );
  }
  const logGroup = new logs.LogGroup(stack, `${pascalCase(provider)}ProviderLogs`, {
    encryptionKey: options.encryptionKey,
    retention: options.retentionDays as logs.RetentionDays,
    removalPolicy: options.removalPolicy,
  });
  functions[0].addPropertyOverride('LoggingConfig.LogGroup', logGroup.logGroupName);
  return logGroup;
}

function lambdaFunctions(scope: IConstruct): CfnResource[] {
  return scope.node
    .findAll()
    .filter(
      (child): child is CfnResource =>
        CfnResource.isCfnResource(child) && child.cfnResourceType === 'AWS::Lambda::Function',
    );
}

function pascalCase(value: string): string {
  return value[0].toUpperCase() + value.slice(1);
}
