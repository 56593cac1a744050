import { ArnFormat, Duration, Stack, type StackProps, Validations } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as s3 from 'aws-cdk-lib/aws-s3';
import type { Construct } from 'constructs';
import type { EnvironmentConfig } from '../../config/schema';
import { AuditTrail } from '../constructs/audit-trail';
import { logProviderFunction } from '../constructs/provider-log-groups';
import { ZoneBucket } from '../constructs/zone-bucket';
import { removalPolicyOf } from '../constructs/removal-policy';
import { EXPORTS_PREFIX } from '../../lambda/api-shared/contract';

export interface StorageStackProps extends StackProps {
  /** `<platformPrefix>-<env>`, e.g. `dp-dev`: prefixes resource names. */
  readonly prefix: string;
  readonly environment: EnvironmentConfig;
}

/** The four zones of the data lake. */
export type Zone = 'landing' | 'curated' | 'logs' | 'artifacts';

export interface ZoneBuckets {
  /** Files and documents as received: the system of record. */
  readonly landing: s3.IBucket;
  /** Validated, partitioned Parquet (the "gold zone"). */
  readonly curated: s3.IBucket;
  /** Server access logs of the other buckets (SSE-S3). */
  readonly logs: s3.IBucket;
  /** Glue scripts, staging, quarantine, Athena results, exports. */
  readonly artifacts: s3.IBucket;
}

/** S3 bucket names are 3 to 63 characters. */
const MAX_BUCKET_NAME_LENGTH = 63;
/** Days validated rows wait in `staging/` for the curate job before they are cleaned up. */
const STAGING_EXPIRATION_DAYS = 7;
/** Days rejected rows stay in `quarantine/` (the original file stays in landing). */
const QUARANTINE_EXPIRATION_DAYS = 365;
/** Days export files stay downloadable in `exports/`. */
const EXPORTS_EXPIRATION_DAYS = 7;

/**
 * What the account's IAM policies may be allowed on the platform key: every administration and use of a symmetric
 * key except kms:CreateGrant, which the key policy allows only for AWS services (kms:GrantIsForAWSResource). No
 * pattern here matches kms:CreateGrant (`kms:Create*` would).
 */
export const ACCOUNT_KEY_ACTIONS = [
  'kms:Describe*',
  'kms:Get*',
  'kms:List*',
  'kms:Enable*',
  'kms:Disable*',
  'kms:Put*',
  'kms:Update*',
  'kms:Revoke*',
  'kms:Delete*',
  'kms:CreateAlias',
  'kms:RetireGrant',
  'kms:TagResource',
  'kms:UntagResource',
  'kms:ScheduleKeyDeletion',
  'kms:CancelKeyDeletion',
  'kms:RotateKeyOnDemand',
  'kms:Encrypt',
  'kms:Decrypt',
  'kms:ReEncrypt*',
  'kms:GenerateDataKey*',
];

/**
 * The data lake: one KMS key with rotation (or the configured existing key) and the four zone buckets. Every
 * bucket is TLS-only, private, ACL-free and encrypted; landing and curated are versioned; landing objects can only
 * be deleted by one named role.
 */
export class StorageStack extends Stack {
  /**
   * The platform key, the one customer-managed key of the environment: encrypts the buckets; the other stacks use it
   * for their logs, queues, tables, topics, secrets, database and function environments.
   */
  readonly key: kms.IKey;
  readonly buckets: ZoneBuckets;
  /**
   * The zone buckets with their grants; their names are known at synth (`<prefix>-<zone>-<account>-<region>`), so
   * grants and settings in later stacks name them without cross-stack tokens.
   */
  readonly zones: Readonly<Record<Zone, ZoneBucket>>;
  /** ARN of the role allowed to delete landing objects. */
  readonly landingDeleterRoleArn: string;
  /** The trail of landing's and curated's data events, when this environment creates one (`auditTrail.type`). */
  readonly auditTrail?: AuditTrail;

  constructor(scope: Construct, id: string, props: StorageStackProps) {
    super(scope, id, props);
    const { environment, prefix } = props;
    const { storage } = environment;
    const lifecycle = storage.lifecycle;
    const removal = storage.removalPolicy;

    this.key = storage.existingKmsKeyArn
      ? kms.Key.fromKeyArn(this, 'Key', storage.existingKmsKeyArn)
      : this.createKey(props);

    const bucketName = (zone: Zone | 'audit') => {
      const name = `${prefix}-${zone}-${environment.account}-${environment.region}`;
      if (name.length > MAX_BUCKET_NAME_LENGTH) {
        throw new Error(
          `Bucket name "${name}" of environment ${environment.name} is ${name.length} characters; S3 allows ${MAX_BUCKET_NAME_LENGTH}. Fix: shorten the platform prefix ("${prefix.slice(0, prefix.length - environment.name.length - 1)}") or the environment name ("${environment.name}") by ${name.length - MAX_BUCKET_NAME_LENGTH} characters`,
        );
      }
      return name;
    };
    // Every name is checked before any bucket is made (landing first: the error names the zone users know).
    const names: Record<Zone, string> = {
      landing: bucketName('landing'),
      curated: bucketName('curated'),
      logs: bucketName('logs'),
      artifacts: bucketName('artifacts'),
    };
    const abortUploads = Duration.days(lifecycle.abortIncompleteMultipartUploadDays);
    const tieringRules: s3.LifecycleRule[] = [
      {
        id: 'Tiering',
        abortIncompleteMultipartUploadAfter: abortUploads,
        transitions: [
          {
            storageClass: s3.StorageClass.INFREQUENT_ACCESS,
            transitionAfter: Duration.days(lifecycle.infrequentAccessAfterDays),
          },
          {
            storageClass: s3.StorageClass.GLACIER_INSTANT_RETRIEVAL,
            transitionAfter: Duration.days(lifecycle.glacierAfterDays),
          },
        ],
        noncurrentVersionExpiration: Duration.days(lifecycle.noncurrentVersionExpirationDays),
      },
    ];

    const logs = new ZoneBucket(this, 'Logs', {
      bucketName: names.logs,
      removal,
      lifecycleRules: [
        {
          id: 'ExpireAccessLogs',
          expiration: Duration.days(lifecycle.accessLogExpirationDays),
          abortIncompleteMultipartUploadAfter: abortUploads,
        },
      ],
    });
    const landing = new ZoneBucket(this, 'Landing', {
      bucketName: names.landing,
      encryptionKey: this.key,
      versioned: true,
      eventBridgeEnabled: true,
      lifecycleRules: tieringRules,
      accessLogs: { destination: logs, prefix: 'landing/' },
      removal,
    });
    const curated = new ZoneBucket(this, 'Curated', {
      bucketName: names.curated,
      encryptionKey: this.key,
      versioned: true,
      lifecycleRules: tieringRules,
      accessLogs: { destination: logs, prefix: 'curated/' },
      removal,
    });
    const artifacts = new ZoneBucket(this, 'Artifacts', {
      bucketName: names.artifacts,
      encryptionKey: this.key,
      lifecycleRules: [
        { id: 'AbortIncompleteUploads', abortIncompleteMultipartUploadAfter: abortUploads },
        { id: 'ExpireStaging', prefix: 'staging/', expiration: Duration.days(STAGING_EXPIRATION_DAYS) },
        { id: 'ExpireQuarantine', prefix: 'quarantine/', expiration: Duration.days(QUARANTINE_EXPIRATION_DAYS) },
        { id: 'ExpireExports', prefix: EXPORTS_PREFIX, expiration: Duration.days(EXPORTS_EXPIRATION_DAYS) },
      ],
      accessLogs: { destination: logs, prefix: 'artifacts/' },
      removal,
    });
    // S3 data events of landing and curated (issue 14), unless an organization trail named in config records them.
    if (environment.auditTrail.type === 'create') {
      this.auditTrail = new AuditTrail(this, 'AuditTrail', {
        prefix,
        bucketName: bucketName('audit'),
        buckets: [landing.bucket, curated.bucket],
        key: this.key,
        retentionDays: environment.auditTrail.retentionDays,
        accessLogs: { destination: logs, prefix: 'audit/' },
        removal,
      });
    }
    this.zones = { landing, curated, logs, artifacts };
    this.buckets = {
      landing: landing.bucket,
      curated: curated.bucket,
      logs: logs.bucket,
      artifacts: artifacts.bucket,
    };

    // Landing is the system of record: only the named role (and, in destroy environments, the provider that
    // empties the bucket when the stack is deleted) may delete objects or versions.
    const deleterRoleName = storage.landingDeleterRoleName ?? `${prefix}-data-engineer`;
    this.landingDeleterRoleArn = this.formatArn({
      service: 'iam',
      region: '',
      resource: 'role',
      resourceName: deleterRoleName,
    });
    const allowedDeleters = [this.landingDeleterRoleArn, landing.autoDeleteRoleArn].filter(
      (arn): arn is string => arn !== undefined,
    );
    landing.bucket.addToResourcePolicy(
      new iam.PolicyStatement({
        sid: 'DenyLandingDeletesExceptDeleterRole',
        effect: iam.Effect.DENY,
        principals: [new iam.AnyPrincipal()],
        actions: ['s3:DeleteObject', 's3:DeleteObjectVersion'],
        resources: [landing.bucket.arnForObjects('*')],
        conditions: { ArnNotLike: { 'aws:PrincipalArn': allowedDeleters } },
      }),
    );
    this.acknowledgeNotificationsHandler();

    // aws-cdk-lib's provider functions of this stack log to log groups of ours (KMS, retention), not /aws/lambda/*.
    const providerLogs = {
      encryptionKey: this.key,
      retentionDays: environment.logRetentionDays,
      removalPolicy: removalPolicyOf(environment),
    };
    logProviderFunction(this, 'bucketNotifications', providerLogs);
    if (landing.autoDeleteObjects) logProviderFunction(this, 's3AutoDeleteObjects', providerLogs);
  }

  /** `eventBridgeEnabled` adds aws-cdk-lib's stack-wide notifications handler; its role is not ours to shape. */
  private acknowledgeNotificationsHandler(): void {
    const handlers = this.node.children.filter((child) => child.node.id.startsWith('BucketNotificationsHandler'));
    for (const handler of handlers) {
      Validations.of(handler).acknowledge({
        id: 'AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole]',
        reason:
          'aws-cdk-lib handler that turns on EventBridge notifications of the landing bucket at deploy time; the managed policy only lets it write its own logs',
      });
    }
  }

  private createKey(props: StorageStackProps): kms.Key {
    const { environment, prefix } = props;
    const { account } = environment;
    const key = new kms.Key(this, 'Key', {
      alias: `alias/${prefix}-data`,
      description: `Encrypts the data of ${prefix}: buckets, logs, queues, secrets`,
      enableKeyRotation: true,
      removalPolicy: removalPolicyOf(environment),
      // Instead of aws-cdk-lib's default (kms:* for the account), which would allow kms:CreateGrant to any principal
      // the account's IAM policies name.
      policy: new iam.PolicyDocument({
        statements: [
          new iam.PolicyStatement({
            sid: 'EnableIamPoliciesOfThisAccount',
            principals: [new iam.AccountRootPrincipal()],
            actions: ACCOUNT_KEY_ACTIONS,
            resources: ['*'],
          }),
          // RDS, Lambda, Secrets Manager, DynamoDB ... create grants on the key for the resources they encrypt.
          new iam.PolicyStatement({
            sid: 'AllowGrantsForAwsResourcesOnly',
            principals: [new iam.AccountRootPrincipal()],
            actions: ['kms:CreateGrant'],
            resources: ['*'],
            conditions: { Bool: { 'kms:GrantIsForAWSResource': 'true' } },
          }),
        ],
      }),
    });
    // The orchestration dead-letter queue is encrypted with this key, and EventBridge sends the events its rules
    // cannot deliver there: the key policy must allow it, for rules of this account and region only. Static ARNs,
    // so no later stack's resource is referenced here (no cycle between the stacks).
    key.addToResourcePolicy(
      new iam.PolicyStatement({
        sid: 'AllowEventBridgeRulesOfThisAccountToDeadLetter',
        principals: [new iam.ServicePrincipal('events.amazonaws.com')],
        actions: ['kms:Decrypt', 'kms:GenerateDataKey'],
        resources: ['*'],
        conditions: {
          StringEquals: { 'aws:SourceAccount': account },
          ArnLike: { 'aws:SourceArn': this.formatArn({ service: 'events', resource: 'rule', resourceName: '*' }) },
        },
      }),
    );
    // Log groups of the later stacks (Lambda, Step Functions, API) are encrypted with this key; CloudWatch Logs
    // needs the key policy to allow it, limited to log groups of this account and region.
    key.addToResourcePolicy(
      new iam.PolicyStatement({
        sid: 'AllowCloudWatchLogsOfThisAccount',
        principals: [new iam.ServicePrincipal(`logs.${environment.region}.amazonaws.com`)],
        actions: ['kms:Encrypt*', 'kms:Decrypt*', 'kms:ReEncrypt*', 'kms:GenerateDataKey*', 'kms:Describe*'],
        resources: ['*'],
        conditions: {
          ArnLike: {
            'kms:EncryptionContext:aws:logs:arn': this.formatArn({
              service: 'logs',
              resource: 'log-group',
              resourceName: '*',
              arnFormat: ArnFormat.COLON_RESOURCE_NAME,
            }),
          },
        },
      }),
    );
    // The alert topic is encrypted with this key; CloudWatch alarms can publish to it only if the key lets the
    // CloudWatch service generate data keys, limited to alarms of this account.
    key.addToResourcePolicy(
      new iam.PolicyStatement({
        sid: 'AllowCloudWatchAlarmsOfThisAccountToPublish',
        principals: [new iam.ServicePrincipal('cloudwatch.amazonaws.com')],
        actions: ['kms:Decrypt', 'kms:GenerateDataKey*'],
        resources: ['*'],
        conditions: { StringEquals: { 'aws:SourceAccount': environment.account } },
      }),
    );
    return key;
  }
}
