/** The data-events trail of landing and curated, as the Storage stack creates it (or not, for an organization trail). */
import { Match, Template } from 'aws-cdk-lib/assertions';
import type { EnvironmentConfig } from '../../../config/schema';
import { StorageStack } from '../../../lib/stacks/storage-stack';
import { exampleEnvironment, testApp } from '../../helpers/app';

function storageTemplate(environment: EnvironmentConfig): Template {
  const stack = new StorageStack(testApp(), 'Storage', {
    prefix: `dp-${environment.name}`,
    environment,
    env: { account: environment.account, region: environment.region },
  });
  return Template.fromStack(stack);
}

const bucketIdNamed = (template: Template, name: string) =>
  Object.keys(template.findResources('AWS::S3::Bucket', { Properties: { BucketName: name } }))[0];

describe('audit trail (dev example: created, 30 days)', () => {
  const environment = exampleEnvironment('dev');
  const template = storageTemplate(environment);
  const landing = bucketIdNamed(template, 'dp-dev-landing-222222222222-eu-west-1');
  const curated = bucketIdNamed(template, 'dp-dev-curated-222222222222-eu-west-1');
  const audit = bucketIdNamed(template, 'dp-dev-audit-222222222222-eu-west-1');
  const key = Object.keys(template.findResources('AWS::KMS::Key'))[0];

  test('records all S3 data events of landing and curated only, no management events, in one region', () => {
    template.resourceCountIs('AWS::CloudTrail::Trail', 1);
    const dataEvents = (bucket: string) => ({ 'Fn::Join': ['', [{ 'Fn::GetAtt': [bucket, 'Arn'] }, '/']] });
    template.hasResourceProperties('AWS::CloudTrail::Trail', {
      TrailName: 'dp-dev-data-events',
      IsLogging: true,
      IsMultiRegionTrail: false,
      IncludeGlobalServiceEvents: false,
      EnableLogFileValidation: true,
      KMSKeyId: { 'Fn::GetAtt': [key, 'Arn'] },
      S3BucketName: { Ref: audit },
      EventSelectors: [
        {
          DataResources: [{ Type: 'AWS::S3::Object', Values: [dataEvents(landing), dataEvents(curated)] }],
          IncludeManagementEvents: false,
          ReadWriteType: 'All',
        },
      ],
    });
  });

  test('keeps its log files auditTrail.retentionDays in its own bucket, encrypted with the platform key, access-logged', () => {
    expect(environment.auditTrail).toEqual({ type: 'create', retentionDays: 30 });
    template.hasResourceProperties('AWS::S3::Bucket', {
      BucketName: 'dp-dev-audit-222222222222-eu-west-1',
      BucketEncryption: {
        ServerSideEncryptionConfiguration: [
          Match.objectLike({
            ServerSideEncryptionByDefault: { SSEAlgorithm: 'aws:kms', KMSMasterKeyID: { 'Fn::GetAtt': [key, 'Arn'] } },
          }),
        ],
      },
      LifecycleConfiguration: {
        Rules: [Match.objectLike({ Id: 'ExpireTrailLogs', ExpirationInDays: 30, Status: 'Enabled' })],
      },
      LoggingConfiguration: Match.objectLike({ LogFilePrefix: 'audit/' }),
    });
  });

  test('lets CloudTrail use the key for this trail only', () => {
    template.hasResourceProperties('AWS::KMS::Key', {
      KeyPolicy: {
        Statement: Match.arrayWith([
          Match.objectLike({
            Sid: 'AllowTheDataEventsTrailToEncryptItsLogs',
            Principal: { Service: 'cloudtrail.amazonaws.com' },
            Action: ['kms:DescribeKey', 'kms:GenerateDataKey*'],
            Condition: Match.objectLike({
              StringEquals: {
                'aws:SourceArn': 'arn:aws:cloudtrail:eu-west-1:222222222222:trail/dp-dev-data-events',
              },
            }),
          }),
        ]),
      },
    });
  });
});

test('creates no trail and no audit bucket when an organization trail records the data events', () => {
  const environment: EnvironmentConfig = {
    ...exampleEnvironment('prod'),
    auditTrail: { type: 'organization', trailName: 'org-data-events' },
  };
  const template = storageTemplate(environment);
  template.resourceCountIs('AWS::CloudTrail::Trail', 0);
  template.resourceCountIs('AWS::S3::Bucket', 4);
  expect(JSON.stringify(template.toJSON())).not.toContain('cloudtrail.amazonaws.com');
});
