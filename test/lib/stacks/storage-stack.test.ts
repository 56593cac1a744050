import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { App } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import type { EnvironmentConfig } from '../../../config/schema';
import { ACCOUNT_KEY_ACTIONS, StorageStack, type Zone } from '../../../lib/stacks/storage-stack';
import { exampleEnvironment, REPO_ROOT, testApp } from '../../helpers/app';
import { expectLeastPrivilege } from '../../helpers/least-privilege';

const ZONES: Zone[] = ['landing', 'curated', 'logs', 'artifacts'];
const EXISTING_KEY_ARN = 'arn:aws:kms:eu-west-1:444444444444:key/0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0';

function storageStack(environment: EnvironmentConfig): { stack: StorageStack; template: Template } {
  const app = testApp();
  const stack = new StorageStack(app, 'Storage', {
    prefix: `dp-${environment.name}`,
    environment,
    env: { account: environment.account, region: environment.region },
  });
  return { stack, template: Template.fromStack(stack) };
}

function withStorage(name: 'dev' | 'prod', storage: Partial<EnvironmentConfig['storage']>): EnvironmentConfig {
  const environment = exampleEnvironment(name);
  return { ...environment, storage: { ...environment.storage, ...storage } };
}

/** Logical ID of a bucket in the template, found by its (explicit) name. */
function bucketId(template: Template, bucketName: string): string {
  const ids = Object.keys(template.findResources('AWS::S3::Bucket', { Properties: { BucketName: bucketName } }));
  expect(ids).toHaveLength(1);
  return ids[0];
}

/** Statements of the bucket policy attached to a bucket. */
function bucketPolicyStatements(template: Template, id: string): Record<string, unknown>[] {
  const policies = Object.values(
    template.findResources('AWS::S3::BucketPolicy', { Properties: { Bucket: { Ref: id } } }),
  );
  expect(policies).toHaveLength(1);
  return policies[0].Properties.PolicyDocument.Statement;
}

function keyId(template: Template): string {
  const ids = Object.keys(template.findResources('AWS::KMS::Key'));
  expect(ids).toHaveLength(1);
  return ids[0];
}

describe.each(['dev', 'prod'] as const)('StorageStack (%s example)', (name) => {
  const environment = exampleEnvironment(name);
  const { stack, template } = storageStack(environment);
  const nameOf = (zone: Zone) => `dp-${name}-${zone}-${environment.account}-eu-west-1`;

  it('names the four zone buckets <prefix>-<zone>-<account>-<region>, and the audit trail bucket <prefix>-audit-...', () => {
    template.resourceCountIs('AWS::S3::Bucket', 5);
    bucketId(template, `dp-${name}-audit-${environment.account}-eu-west-1`);
    for (const zone of ZONES) {
      expect(stack.zones[zone].bucketName).toBe(nameOf(zone));
      bucketId(template, nameOf(zone));
    }
    expect(Object.keys(stack.buckets).sort()).toEqual([...ZONES].sort());
  });

  it.each(ZONES)('denies every S3 action without TLS on %s', (zone) => {
    const id = bucketId(template, nameOf(zone));
    expect(bucketPolicyStatements(template, id)).toContainEqual({
      Action: 's3:*',
      Condition: { Bool: { 'aws:SecureTransport': 'false' } },
      Effect: 'Deny',
      Principal: { AWS: '*' },
      Resource: [{ 'Fn::GetAtt': [id, 'Arn'] }, { 'Fn::Join': ['', [{ 'Fn::GetAtt': [id, 'Arn'] }, '/*']] }],
    });
  });

  it.each(ZONES)('denies every S3 action over TLS older than 1.2 on %s', (zone) => {
    const id = bucketId(template, nameOf(zone));
    expect(bucketPolicyStatements(template, id)).toContainEqual({
      Action: 's3:*',
      Condition: { NumericLessThan: { 's3:TlsVersion': 1.2 } },
      Effect: 'Deny',
      Principal: { AWS: '*' },
      Resource: [{ 'Fn::GetAtt': [id, 'Arn'] }, { 'Fn::Join': ['', [{ 'Fn::GetAtt': [id, 'Arn'] }, '/*']] }],
    });
  });

  it.each(ZONES)('blocks public access and disables ACLs on %s', (zone) => {
    template.hasResourceProperties('AWS::S3::Bucket', {
      BucketName: nameOf(zone),
      PublicAccessBlockConfiguration: {
        BlockPublicAcls: true,
        BlockPublicPolicy: true,
        IgnorePublicAcls: true,
        RestrictPublicBuckets: true,
      },
      OwnershipControls: { Rules: [{ ObjectOwnership: 'BucketOwnerEnforced' }] },
    });
    const bucket = template.findResources('AWS::S3::Bucket', { Properties: { BucketName: nameOf(zone) } });
    expect(Object.values(bucket)[0].Properties.AccessControl).toBeUndefined();
  });

  it.each(['landing', 'curated', 'artifacts'] as const)(
    'encrypts %s with the platform key and a bucket key',
    (zone) => {
      template.hasResourceProperties('AWS::S3::Bucket', {
        BucketName: nameOf(zone),
        BucketEncryption: {
          ServerSideEncryptionConfiguration: [
            {
              BucketKeyEnabled: true,
              ServerSideEncryptionByDefault: {
                SSEAlgorithm: 'aws:kms',
                KMSMasterKeyID: { 'Fn::GetAtt': [keyId(template), 'Arn'] },
              },
            },
          ],
        },
      });
    },
  );

  it('encrypts the logs bucket with SSE-S3, the only encryption S3 server access logging can write', () => {
    template.hasResourceProperties('AWS::S3::Bucket', {
      BucketName: nameOf('logs'),
      BucketEncryption: {
        ServerSideEncryptionConfiguration: [{ ServerSideEncryptionByDefault: { SSEAlgorithm: 'AES256' } }],
      },
    });
  });

  it.each([
    ['landing', 'Landing'],
    ['curated', 'Curated'],
    ['artifacts', 'Artifacts'],
  ] as const)(
    'logs access to %s into the logs bucket, granted to the logging service for that bucket only',
    (zone, sid) => {
      const logsId = bucketId(template, nameOf('logs'));
      const sourceId = bucketId(template, nameOf(zone));
      template.hasResourceProperties('AWS::S3::Bucket', {
        BucketName: nameOf(zone),
        LoggingConfiguration: { DestinationBucketName: { Ref: logsId }, LogFilePrefix: `${zone}/` },
      });
      expect(bucketPolicyStatements(template, logsId)).toContainEqual({
        Sid: `AllowAccessLogsFrom${sid}`,
        Action: 's3:PutObject',
        Effect: 'Allow',
        Principal: { Service: 'logging.s3.amazonaws.com' },
        Resource: { 'Fn::Join': ['', [{ 'Fn::GetAtt': [logsId, 'Arn'] }, `/${zone}/*`]] },
        Condition: {
          ArnLike: { 'aws:SourceArn': { 'Fn::GetAtt': [sourceId, 'Arn'] } },
          StringEquals: { 'aws:SourceAccount': environment.account },
        },
      });
    },
  );

  it('does not log the logs bucket into itself', () => {
    const logs = template.findResources('AWS::S3::Bucket', { Properties: { BucketName: nameOf('logs') } });
    expect(Object.values(logs)[0].Properties.LoggingConfiguration).toBeUndefined();
  });

  it('versions landing and curated only', () => {
    for (const zone of ['landing', 'curated'] as const) {
      template.hasResourceProperties('AWS::S3::Bucket', {
        BucketName: nameOf(zone),
        VersioningConfiguration: { Status: 'Enabled' },
      });
    }
    for (const zone of ['logs', 'artifacts'] as const) {
      const bucket = template.findResources('AWS::S3::Bucket', { Properties: { BucketName: nameOf(zone) } });
      expect(Object.values(bucket)[0].Properties.VersioningConfiguration).toBeUndefined();
    }
  });

  it.each(['landing', 'curated'] as const)('tiers %s with the lifecycle numbers of the config', (zone) => {
    const lifecycle = environment.storage.lifecycle;
    template.hasResourceProperties('AWS::S3::Bucket', {
      BucketName: nameOf(zone),
      LifecycleConfiguration: {
        Rules: [
          {
            Id: 'Tiering',
            Status: 'Enabled',
            AbortIncompleteMultipartUpload: { DaysAfterInitiation: lifecycle.abortIncompleteMultipartUploadDays },
            NoncurrentVersionExpiration: { NoncurrentDays: lifecycle.noncurrentVersionExpirationDays },
            Transitions: [
              { StorageClass: 'STANDARD_IA', TransitionInDays: lifecycle.infrequentAccessAfterDays },
              { StorageClass: 'GLACIER_IR', TransitionInDays: lifecycle.glacierAfterDays },
            ],
          },
        ],
      },
    });
  });

  it('expires access logs after accessLogExpirationDays and aborts incomplete uploads everywhere', () => {
    const lifecycle = environment.storage.lifecycle;
    template.hasResourceProperties('AWS::S3::Bucket', {
      BucketName: nameOf('logs'),
      LifecycleConfiguration: {
        Rules: [
          Match.objectLike({
            ExpirationInDays: lifecycle.accessLogExpirationDays,
            AbortIncompleteMultipartUpload: { DaysAfterInitiation: lifecycle.abortIncompleteMultipartUploadDays },
          }),
        ],
      },
    });
    template.hasResourceProperties('AWS::S3::Bucket', {
      BucketName: nameOf('artifacts'),
      LifecycleConfiguration: {
        Rules: Match.arrayWith([
          Match.objectLike({
            AbortIncompleteMultipartUpload: { DaysAfterInitiation: lifecycle.abortIncompleteMultipartUploadDays },
          }),
          Match.objectLike({ Prefix: 'staging/', ExpirationInDays: 7 }),
          Match.objectLike({ Prefix: 'quarantine/', ExpirationInDays: 365 }),
          Match.objectLike({ Prefix: 'exports/', ExpirationInDays: 7 }),
        ]),
      },
    });
  });

  it('grants no wildcard action on a wildcard resource, and no managed policy beyond Lambda basic execution', () => {
    expectLeastPrivilege(template);
  });

  it('sends landing object events to EventBridge', () => {
    template.resourceCountIs('Custom::S3BucketNotifications', 1);
    template.hasResourceProperties('Custom::S3BucketNotifications', {
      BucketName: { Ref: bucketId(template, nameOf('landing')) },
      NotificationConfiguration: { EventBridgeConfiguration: {} },
    });
  });

  it('creates the platform key with rotation and the alias alias/<prefix>-data', () => {
    template.hasResourceProperties('AWS::KMS::Key', { EnableKeyRotation: true });
    template.hasResourceProperties('AWS::KMS::Alias', {
      AliasName: `alias/dp-${name}-data`,
      TargetKeyId: { 'Fn::GetAtt': [keyId(template), 'Arn'] },
    });
  });

  it('lets CloudWatch Logs encrypt log groups of this account and region only with the platform key', () => {
    template.hasResourceProperties('AWS::KMS::Key', {
      KeyPolicy: {
        Statement: Match.arrayWith([
          Match.objectLike({
            Principal: { Service: 'logs.eu-west-1.amazonaws.com' },
            Condition: {
              ArnLike: {
                'kms:EncryptionContext:aws:logs:arn': `arn:aws:logs:eu-west-1:${environment.account}:log-group:*`,
              },
            },
          }),
        ]),
      },
    });
  });
  it('lets CloudWatch alarms of this account only publish to topics encrypted with the platform key', () => {
    template.hasResourceProperties('AWS::KMS::Key', {
      KeyPolicy: {
        Statement: Match.arrayWith([
          Match.objectLike({
            Principal: { Service: 'cloudwatch.amazonaws.com' },
            Action: ['kms:Decrypt', 'kms:GenerateDataKey*'],
            Condition: { StringEquals: { 'aws:SourceAccount': environment.account } },
          }),
        ]),
      },
    });
  });
  it('lets the account use and manage the key through IAM, but create grants only for AWS resources', () => {
    const [key] = Object.values(template.findResources('AWS::KMS::Key'));
    const statements = key.Properties.KeyPolicy.Statement as Record<string, unknown>[];
    const root = { AWS: `arn:aws:iam::${environment.account}:root` };
    expect(statements.filter((statement) => JSON.stringify(statement.Principal) === JSON.stringify(root))).toEqual([
      {
        Sid: 'EnableIamPoliciesOfThisAccount',
        Effect: 'Allow',
        Principal: root,
        Action: [...ACCOUNT_KEY_ACTIONS].sort(),
        Resource: '*',
      },
      {
        Sid: 'AllowGrantsForAwsResourcesOnly',
        Effect: 'Allow',
        Principal: root,
        Action: 'kms:CreateGrant',
        Resource: '*',
        Condition: { Bool: { 'kms:GrantIsForAWSResource': 'true' } },
      },
    ]);
    // No wildcard of the account's statement matches kms:CreateGrant.
    const matches = (pattern: string) => new RegExp(`^${pattern.replace(/\*/g, '.*')}$`).test('kms:CreateGrant');
    expect(ACCOUNT_KEY_ACTIONS.filter(matches)).toEqual([]);
  });

  it('lets EventBridge rules of this account and region dead-letter to queues encrypted with the platform key', () => {
    template.hasResourceProperties('AWS::KMS::Key', {
      KeyPolicy: {
        Statement: Match.arrayWith([
          {
            Sid: 'AllowEventBridgeRulesOfThisAccountToDeadLetter',
            Effect: 'Allow',
            Principal: { Service: 'events.amazonaws.com' },
            Action: ['kms:Decrypt', 'kms:GenerateDataKey'],
            Resource: '*',
            Condition: {
              StringEquals: { 'aws:SourceAccount': environment.account },
              ArnLike: { 'aws:SourceArn': `arn:aws:events:eu-west-1:${environment.account}:rule/*` },
            },
          },
        ]),
      },
    });
  });

  it("gives aws-cdk-lib's provider functions of the stack log groups of their own, encrypted, with retention", () => {
    const logGroups = template.findResources('AWS::Logs::LogGroup');
    const expected =
      name === 'dev'
        ? ['BucketNotificationsProviderLogs', 'S3AutoDeleteObjectsProviderLogs']
        : ['BucketNotificationsProviderLogs'];
    expect(Object.keys(logGroups).map((id) => id.replace(/[0-9A-F]{8}$/, ''))).toEqual(expected);
    for (const [id, logGroup] of Object.entries(logGroups)) {
      expect(logGroup.Properties).toEqual({
        KmsKeyId: { 'Fn::GetAtt': [keyId(template), 'Arn'] },
        RetentionInDays: environment.logRetentionDays,
      });
      expect(logGroup.DeletionPolicy).toBe(name === 'dev' ? 'Delete' : 'Retain');
      template.hasResourceProperties('AWS::Lambda::Function', { LoggingConfig: { LogGroup: { Ref: id } } });
    }
    const functions = Object.values(template.findResources('AWS::Lambda::Function'));
    expect(functions).toHaveLength(expected.length);
  });
});

describe('StorageStack removal', () => {
  it('retains every bucket and the key, without auto-delete, when storage.removalPolicy is retain (prod)', () => {
    const { template } = storageStack(exampleEnvironment('prod'));
    const buckets = Object.values(template.findResources('AWS::S3::Bucket'));
    expect(buckets).toHaveLength(5);
    for (const bucket of buckets) {
      expect(bucket.DeletionPolicy).toBe('Retain');
      expect(bucket.UpdateReplacePolicy).toBe('Retain');
    }
    template.hasResource('AWS::KMS::Key', { DeletionPolicy: 'Retain' });
    template.resourceCountIs('Custom::S3AutoDeleteObjects', 0);
  });

  it('deletes and empties every bucket when storage.removalPolicy is destroy (dev)', () => {
    const { template } = storageStack(exampleEnvironment('dev'));
    const buckets = template.findResources('AWS::S3::Bucket');
    for (const [id, bucket] of Object.entries(buckets)) {
      expect(bucket.DeletionPolicy).toBe('Delete');
      template.hasResourceProperties('Custom::S3AutoDeleteObjects', { BucketName: { Ref: id } });
    }
    template.resourceCountIs('Custom::S3AutoDeleteObjects', 5);
    template.hasResource('AWS::KMS::Key', { DeletionPolicy: 'Delete' });
  });
});

describe('StorageStack landing delete protection', () => {
  function denyStatement(template: Template, environment: EnvironmentConfig) {
    const landingId = bucketId(template, `dp-${environment.name}-landing-${environment.account}-eu-west-1`);
    const deny = bucketPolicyStatements(template, landingId).filter(
      (statement) => statement.Sid === 'DenyLandingDeletesExceptDeleterRole',
    );
    expect(deny).toHaveLength(1);
    return { landingId, deny: deny[0] };
  }

  it('denies object and version deletes to everyone except the data engineer role (prod)', () => {
    const environment = exampleEnvironment('prod');
    const { template } = storageStack(environment);
    const { landingId, deny } = denyStatement(template, environment);
    expect(deny).toEqual({
      Sid: 'DenyLandingDeletesExceptDeleterRole',
      Effect: 'Deny',
      Principal: { AWS: '*' },
      Action: ['s3:DeleteObject', 's3:DeleteObjectVersion'],
      Resource: { 'Fn::Join': ['', [{ 'Fn::GetAtt': [landingId, 'Arn'] }, '/*']] },
      Condition: { ArnNotLike: { 'aws:PrincipalArn': ['arn:aws:iam::444444444444:role/dp-prod-data-engineer'] } },
    });
  });

  it('also exempts the auto-delete provider role when the bucket empties itself on deletion (dev)', () => {
    const environment = exampleEnvironment('dev');
    const { template } = storageStack(environment);
    const { deny } = denyStatement(template, environment);
    const providerRoles = Object.keys(
      template.findResources('AWS::IAM::Role', {
        Properties: { ManagedPolicyArns: Match.anyValue() },
      }),
    ).filter((id) => id.startsWith('CustomS3AutoDeleteObjectsCustomResourceProviderRole'));
    expect(providerRoles).toHaveLength(1);
    expect(deny.Condition).toEqual({
      ArnNotLike: {
        'aws:PrincipalArn': [
          'arn:aws:iam::222222222222:role/dp-dev-data-engineer',
          { 'Fn::GetAtt': [providerRoles[0], 'Arn'] },
        ],
      },
    });
    // The custom resource that empties landing runs while the bucket policy (and its exemption) still exists.
    const landingId = bucketId(template, 'dp-dev-landing-222222222222-eu-west-1');
    const [landingPolicyId] = Object.keys(
      template.findResources('AWS::S3::BucketPolicy', { Properties: { Bucket: { Ref: landingId } } }),
    );
    template.hasResource('Custom::S3AutoDeleteObjects', {
      Properties: { BucketName: { Ref: landingId } },
      DependsOn: Match.arrayWith([landingPolicyId]),
    });
  });

  it('exempts storage.landingDeleterRoleName instead of the data engineer when configured', () => {
    const environment = withStorage('prod', { landingDeleterRoleName: 'landing-janitor' });
    const { stack, template } = storageStack(environment);
    const { deny } = denyStatement(template, environment);
    expect(deny.Condition).toEqual({
      ArnNotLike: { 'aws:PrincipalArn': ['arn:aws:iam::444444444444:role/landing-janitor'] },
    });
    expect(stack.landingDeleterRoleArn).toBe('arn:aws:iam::444444444444:role/landing-janitor');
  });
});

describe('StorageStack bucket names', () => {
  it('fails when <prefix>-<zone>-<account>-<region> is longer than S3 allows', () => {
    const environment = { ...exampleEnvironment('dev'), name: 'development-sandbox' };
    const app = testApp();
    expect(
      () =>
        new StorageStack(app, 'Storage', {
          prefix: 'analytics-platform-x-development-sandbox',
          environment,
          env: { account: environment.account, region: environment.region },
        }),
    ).toThrow(
      /Bucket name "analytics-platform-x-development-sandbox-landing-222222222222-eu-west-1" of environment development-sandbox is 71 characters; S3 allows 63\. Fix: shorten the platform prefix \("analytics-platform-x"\) or the environment name \("development-sandbox"\) by 8 characters/,
    );
  });
});

describe('StorageStack with an existing key', () => {
  const { stack, template } = storageStack(withStorage('prod', { existingKmsKeyArn: EXISTING_KEY_ARN }));

  it('creates no key and no alias', () => {
    template.resourceCountIs('AWS::KMS::Key', 0);
    template.resourceCountIs('AWS::KMS::Alias', 0);
    expect(stack.key.keyArn).toBe(EXISTING_KEY_ARN);
  });

  it.each(['landing', 'curated', 'artifacts'] as const)('encrypts %s with the existing key', (zone) => {
    template.hasResourceProperties('AWS::S3::Bucket', {
      BucketName: `dp-prod-${zone}-444444444444-eu-west-1`,
      BucketEncryption: {
        ServerSideEncryptionConfiguration: [
          {
            BucketKeyEnabled: true,
            ServerSideEncryptionByDefault: { SSEAlgorithm: 'aws:kms', KMSMasterKeyID: EXISTING_KEY_ARN },
          },
        ],
      },
    });
  });
});

describe('StorageStack under the feature flags of cdk.json (as `cdk synth` runs it)', () => {
  const { context } = JSON.parse(readFileSync(path.join(REPO_ROOT, 'cdk.json'), 'utf8'));
  const app = new App({ context: { ...context, 'aws:cdk:bundling-stacks': [] } });
  const environment = exampleEnvironment('prod');
  const stack = new StorageStack(app, 'Storage', {
    prefix: 'dp-prod',
    environment,
    env: { account: environment.account, region: environment.region },
  });
  const template = Template.fromStack(stack);

  it('keeps ACLs disabled on the logs bucket and grants log delivery through the bucket policy only', () => {
    const logsId = bucketId(template, 'dp-prod-logs-444444444444-eu-west-1');
    const logs = template.findResources('AWS::S3::Bucket')[logsId];
    expect(logs.Properties.AccessControl).toBeUndefined();
    expect(logs.Properties.OwnershipControls).toEqual({ Rules: [{ ObjectOwnership: 'BucketOwnerEnforced' }] });
    const grants = bucketPolicyStatements(template, logsId).filter(
      (statement) => JSON.stringify(statement.Principal) === '{"Service":"logging.s3.amazonaws.com"}',
    );
    expect(grants.map((statement) => statement.Sid)).toEqual([
      'AllowAccessLogsFromLanding',
      'AllowAccessLogsFromCurated',
      'AllowAccessLogsFromArtifacts',
      'AllowAccessLogsFromTrailBucket',
    ]);
  });
});
