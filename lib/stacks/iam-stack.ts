import { Duration, Stack, type StackProps, Validations } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import type { Construct } from 'constructs';
import type { EnvironmentConfig } from '../../config/schema';
import type { StorageStack, Zone } from './storage-stack';

export interface IamStackProps extends StackProps {
  /** `<platformPrefix>-<env>`, e.g. `dp-dev`: prefixes role names. */
  readonly prefix: string;
  readonly environment: EnvironmentConfig;
  /** Account of the delivery pipeline, the only one that may assume the integration-test role. */
  readonly deploymentAccount: string;
  /** The buckets and key the roles work with. */
  readonly storage: StorageStack;
  /**
   * Role of this environment's account that may assume the integration-test role instead of the pipeline's runner
   * (the GitHub Actions deploy role, `platform.delivery.engine: "github-actions"`).
   * @default - the pipeline's integration-test runner role in the deployment account
   */
  readonly integrationTestCaller?: string;
}

/** Role sessions last at most one hour: people re-authenticate with MFA, the pipeline re-assumes per run. */
const MAX_SESSION = Duration.hours(1);

/**
 * Roles that span stacks: data engineer (reads and writes the lake, the only one who may delete landing objects),
 * data analyst (reads curated, nothing else here; the catalog stack adds Athena/Glue through its own policy) and
 * the integration-test role the deployment account's pipeline assumes for its read-only post-deploy checks.
 * Later stacks grant more to these roles with an `iam.Policy` of their own (never from this stack).
 */
export class IamStack extends Stack {
  readonly dataEngineerRole: iam.IRole;
  readonly dataAnalystRole: iam.IRole;
  readonly integrationTestRole: iam.IRole;

  constructor(scope: Construct, id: string, props: IamStackProps) {
    super(scope, id, props);
    const { prefix, environment, deploymentAccount, storage } = props;
    this.addStackDependency(storage);

    // Bucket ARNs from the synth-time names: no cross-stack tokens, and nag findings name the real bucket.
    const bucketArn = (zone: Zone) => `arn:aws:s3:::${storage.bucketNames[zone]}`;
    const objectsArn = (zone: Zone) => `${bucketArn(zone)}/*`;
    const humansWithMfa = new iam.AccountRootPrincipal().withConditions({
      Bool: { 'aws:MultiFactorAuthPresent': 'true' },
    });
    // Decrypt/encrypt only on behalf of S3 in this region: the key is not usable directly by these roles.
    const keyThroughS3 = { StringEquals: { 'kms:ViaService': `s3.${environment.region}.amazonaws.com` } };

    const dataEngineerRoleName = `${prefix}-data-engineer`;
    const dataEngineerRoleArn = `arn:aws:iam::${environment.account}:role/${dataEngineerRoleName}`;
    const dataEngineerRole = new iam.Role(this, 'DataEngineerRole', {
      roleName: dataEngineerRoleName,
      description: `Data engineers of ${prefix}: read and write landing, curated and artifacts`,
      assumedBy: humansWithMfa,
      maxSessionDuration: MAX_SESSION,
    });
    const lakeZones: Zone[] = ['landing', 'curated', 'artifacts'];
    const engineerPolicy = new iam.Policy(this, 'DataEngineerPolicy', {
      roles: [dataEngineerRole],
      statements: [
        new iam.PolicyStatement({
          sid: 'ListLakeBuckets',
          actions: ['s3:ListBucket', 's3:ListBucketVersions', 's3:GetBucketLocation'],
          resources: lakeZones.map(bucketArn),
        }),
        new iam.PolicyStatement({
          sid: 'ReadWriteLakeObjects',
          actions: ['s3:GetObject', 's3:GetObjectVersion', 's3:PutObject', 's3:AbortMultipartUpload'],
          resources: lakeZones.map(objectsArn),
        }),
        new iam.PolicyStatement({
          sid: 'DeleteWorkingObjects',
          actions: ['s3:DeleteObject'],
          resources: [objectsArn('curated'), objectsArn('artifacts')],
        }),
        // Only when the landing bucket policy names this role as the deleter; otherwise it would be a dead grant.
        ...(storage.landingDeleterRoleArn === dataEngineerRoleArn
          ? [
              new iam.PolicyStatement({
                sid: 'DeleteLandingObjects',
                actions: ['s3:DeleteObject', 's3:DeleteObjectVersion'],
                resources: [objectsArn('landing')],
              }),
            ]
          : []),
        new iam.PolicyStatement({
          sid: 'UseDataKeyThroughS3',
          actions: ['kms:Decrypt', 'kms:GenerateDataKey'],
          resources: [storage.key.keyArn],
          conditions: keyThroughS3,
        }),
      ],
    });
    Validations.of(engineerPolicy).acknowledge({
      id: `AwsSolutions-IAM5[Resource::${objectsArn('landing')}]`,
      reason: 'Data engineers work on any object of landing (the bucket itself is named, not a wildcard)',
    });
    Validations.of(engineerPolicy).acknowledge({
      id: `AwsSolutions-IAM5[Resource::${objectsArn('curated')}]`,
      reason: 'Data engineers work on any object of curated (the bucket itself is named, not a wildcard)',
    });
    Validations.of(engineerPolicy).acknowledge({
      id: `AwsSolutions-IAM5[Resource::${objectsArn('artifacts')}]`,
      reason: 'Data engineers work on any object of artifacts (the bucket itself is named, not a wildcard)',
    });
    this.dataEngineerRole = dataEngineerRole;

    const dataAnalystRole = new iam.Role(this, 'DataAnalystRole', {
      roleName: `${prefix}-data-analyst`,
      description: `Data analysts of ${prefix}: read the curated zone only`,
      assumedBy: humansWithMfa,
      maxSessionDuration: MAX_SESSION,
    });
    const analystPolicy = new iam.Policy(this, 'DataAnalystPolicy', {
      roles: [dataAnalystRole],
      statements: [
        new iam.PolicyStatement({
          sid: 'ListCurated',
          actions: ['s3:ListBucket', 's3:GetBucketLocation'],
          resources: [bucketArn('curated')],
        }),
        new iam.PolicyStatement({
          sid: 'ReadCuratedObjects',
          actions: ['s3:GetObject'],
          resources: [objectsArn('curated')],
        }),
        new iam.PolicyStatement({
          sid: 'DecryptThroughS3',
          actions: ['kms:Decrypt'],
          resources: [storage.key.keyArn],
          conditions: keyThroughS3,
        }),
      ],
    });
    Validations.of(analystPolicy).acknowledge({
      id: `AwsSolutions-IAM5[Resource::${objectsArn('curated')}]`,
      reason: 'Analysts read any curated table file; the bucket is named and nothing else is readable',
    });
    this.dataAnalystRole = dataAnalystRole;

    // Exactly one caller: the pipeline's test runner (deployment account) or the workflow's deploy role (this account).
    const caller = props.integrationTestCaller
      ? { account: environment.account, roleName: props.integrationTestCaller, what: 'the GitHub Actions deploy role' }
      : {
          account: deploymentAccount,
          roleName: `${prefix}-integration-test-runner`,
          what: "the pipeline's integration-test step",
        };
    const callerArn = `arn:aws:iam::${caller.account}:role/${caller.roleName}`;
    const integrationTestRole = new iam.Role(this, 'IntegrationTestRole', {
      roleName: `${prefix}-integration-test`,
      description: `Read-only post-deploy checks of ${prefix}, assumed by ${caller.what} only`,
      assumedBy: new iam.AccountPrincipal(caller.account).withConditions({
        ArnEquals: { 'aws:PrincipalArn': callerArn },
      }),
      maxSessionDuration: MAX_SESSION,
    });
    const stacksOfThisEnvironment = `arn:aws:cloudformation:${environment.region}:${environment.account}:stack/${prefix}-*/*`;
    const integrationTestPolicy = new iam.Policy(this, 'IntegrationTestPolicy', {
      roles: [integrationTestRole],
      statements: [
        new iam.PolicyStatement({
          sid: 'InspectBuckets',
          actions: [
            's3:GetEncryptionConfiguration',
            's3:GetBucketPolicy',
            's3:GetBucketVersioning',
            's3:GetBucketPublicAccessBlock',
            's3:ListBucket',
          ],
          resources: (['landing', 'curated', 'logs', 'artifacts'] as const).map(bucketArn),
        }),
        new iam.PolicyStatement({
          sid: 'InspectNetwork',
          actions: ['ec2:DescribeVpcs', 'ec2:DescribeVpcEndpoints', 'ec2:DescribeFlowLogs'],
          resources: ['*'],
        }),
        new iam.PolicyStatement({
          sid: 'InspectKey',
          actions: ['kms:DescribeKey', 'kms:GetKeyRotationStatus'],
          resources: [storage.key.keyArn],
        }),
        new iam.PolicyStatement({
          sid: 'ReadStackOutputs',
          actions: ['cloudformation:DescribeStacks'],
          resources: [stacksOfThisEnvironment],
        }),
      ],
    });
    Validations.of(integrationTestPolicy).acknowledge({
      id: 'AwsSolutions-IAM5[Resource::*]',
      reason:
        'ec2:DescribeVpcs, DescribeVpcEndpoints and DescribeFlowLogs support no resource-level permissions; they are read-only',
    });
    Validations.of(integrationTestPolicy).acknowledge({
      id: `AwsSolutions-IAM5[Resource::${stacksOfThisEnvironment}]`,
      reason: `DescribeStacks on the stacks of this environment only (${prefix}-*), whose stack IDs change on re-creation`,
    });
    this.integrationTestRole = integrationTestRole;
  }
}
