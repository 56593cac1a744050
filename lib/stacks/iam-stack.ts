import { Duration, Stack, type StackProps, Validations } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import type { Construct } from 'constructs';
import type { EnvironmentConfig } from '../../config/schema';
import { acknowledgeWildcardResources } from '../constructs/nag-acknowledgements';
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
  /** What it may do in later stacks is granted in one place: lib/stacks/integration-test-access.ts. */
  readonly integrationTestRole: iam.IRole;

  constructor(scope: Construct, id: string, props: IamStackProps) {
    super(scope, id, props);
    const { prefix, environment, deploymentAccount, storage } = props;
    this.addStackDependency(storage);

    const humansWithMfa = new iam.AccountRootPrincipal().withConditions({
      Bool: { 'aws:MultiFactorAuthPresent': 'true' },
    });

    const dataEngineerRoleName = `${prefix}-data-engineer`;
    const dataEngineerRole = new iam.Role(this, 'DataEngineerRole', {
      roleName: dataEngineerRoleName,
      description: `Data engineers of ${prefix}: read and write landing, curated and artifacts`,
      assumedBy: humansWithMfa,
      maxSessionDuration: MAX_SESSION,
    });
    const lakeZones: Zone[] = ['landing', 'curated', 'artifacts'];
    for (const zone of lakeZones) {
      const bucket = storage.zones[zone];
      const why = `Data engineers work on any object of ${zone} (the bucket itself is named, not a wildcard)`;
      bucket.grantList(dataEngineerRole, { versions: true, location: true });
      bucket.grantRead(dataEngineerRole, '*', why, { versions: true });
      bucket.grantWrite(dataEngineerRole, '*', why);
      // Landing objects only when the landing bucket policy names this role as the deleter (else a dead grant).
      if (zone !== 'landing') bucket.grantDelete(dataEngineerRole, '*', why);
      else if (storage.landingDeleterRoleArn === this.roleArn(dataEngineerRoleName)) {
        bucket.grantDelete(dataEngineerRole, '*', why, { versions: true });
      }
    }
    this.dataEngineerRole = dataEngineerRole;

    const dataAnalystRole = new iam.Role(this, 'DataAnalystRole', {
      roleName: `${prefix}-data-analyst`,
      description: `Data analysts of ${prefix}: read the curated zone only`,
      assumedBy: humansWithMfa,
      maxSessionDuration: MAX_SESSION,
    });
    storage.zones.curated.grantList(dataAnalystRole, { location: true });
    storage.zones.curated.grantRead(
      dataAnalystRole,
      '*',
      'Analysts read any curated table file; the bucket is named and nothing else is readable',
    );
    this.dataAnalystRole = dataAnalystRole;

    // Exactly one caller: the pipeline's test runner (deployment account) or the workflow's deploy role (this account).
    const caller = props.integrationTestCaller
      ? { account: environment.account, roleName: props.integrationTestCaller, what: 'the GitHub Actions deploy role' }
      : {
          account: deploymentAccount,
          roleName: `${prefix}-integration-test-runner`,
          what: "the pipeline's integration-test step",
        };
    const callerArn = this.roleArn(caller.roleName, caller.account);
    const integrationTestRole = new iam.Role(this, 'IntegrationTestRole', {
      roleName: `${prefix}-integration-test`,
      description: `Read-only post-deploy checks of ${prefix}, assumed by ${caller.what} only`,
      assumedBy: new iam.AccountPrincipal(caller.account).withConditions({
        ArnEquals: { 'aws:PrincipalArn': callerArn },
      }),
      maxSessionDuration: MAX_SESSION,
    });
    const stacksOfThisEnvironment = this.formatArn({
      service: 'cloudformation',
      resource: 'stack',
      resourceName: `${prefix}-*/*`,
    });
    const integrationTestPolicy = new iam.Policy(this, 'IntegrationTestPolicy', {
      roles: [integrationTestRole],
      statements: [
        // Bucket settings (encryption, policy, versioning, public access block): no grant of the bucket covers them.
        new iam.PolicyStatement({
          sid: 'InspectBuckets',
          actions: [
            's3:GetEncryptionConfiguration',
            's3:GetBucketPolicy',
            's3:GetBucketVersioning',
            's3:GetBucketPublicAccessBlock',
            's3:ListBucket',
          ],
          resources: Object.values(storage.zones).map((bucket) => bucket.arnIn(this)),
        }),
        // Describe* of EC2 have no resource-level permissions: nothing to grant them on.
        new iam.PolicyStatement({
          sid: 'InspectNetwork',
          actions: ['ec2:DescribeVpcs', 'ec2:DescribeVpcEndpoints', 'ec2:DescribeFlowLogs'],
          resources: ['*'],
        }),
        // Reading the key's settings, which key.grant* (use of the key) does not cover.
        new iam.PolicyStatement({
          sid: 'InspectKey',
          actions: ['kms:DescribeKey', 'kms:GetKeyRotationStatus'],
          resources: [storage.key.keyArn],
        }),
        // The stacks are not constructs of this stage's app at this point: named by pattern.
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
    acknowledgeWildcardResources(integrationTestPolicy, [
      {
        resource: stacksOfThisEnvironment,
        reason: `DescribeStacks on the stacks of this environment only (${prefix}-*), whose stack IDs change on re-creation`,
      },
    ]);
    this.integrationTestRole = integrationTestRole;
  }

  /** ARN of the role `roleName` of `account` (this stack's by default), in this stack's partition. */
  private roleArn(roleName: string, account: string = this.account): string {
    return this.formatArn({ service: 'iam', region: '', account, resource: 'role', resourceName: roleName });
  }
}
