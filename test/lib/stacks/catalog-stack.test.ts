import { Annotations, Match, Template } from 'aws-cdk-lib/assertions';
import type { DatasetConfig } from '../../../config/schema';
import { CatalogStack, glueType, partitionColumn } from '../../../lib/stacks/catalog-stack';
import { exampleConfig, exampleEnvironment, testApp } from '../../helpers/app';
import { foundation, fromStack } from '../../integration/helpers/foundation';

function synth(envName: 'dev' | 'prod' = 'dev') {
  const app = testApp();
  const base = foundation(app, envName);
  const stack = new CatalogStack(app, 'Catalog', {
    ...base.common,
    env: base.env,
    datasets: exampleConfig().datasets,
    storage: base.storage,
    dataAnalystRole: base.iam.dataAnalystRole,
  });
  return { stack, template: Template.fromStack(stack) };
}

const CURATED = 'dp-dev-curated-222222222222-eu-west-1';
const ARTIFACTS = 'dp-dev-artifacts-222222222222-eu-west-1';

const dataset = (name: string): DatasetConfig => {
  const found = exampleConfig().datasets.find((d) => d.name === name);
  if (!found) throw new Error(`example config has no dataset ${name}`);
  return found;
};

describe('CatalogStack', () => {
  const { template, stack } = synth('dev');

  test('one Glue database per zone, named with underscores', () => {
    template.hasResourceProperties('AWS::Glue::Database', {
      DatabaseInput: Match.objectLike({ Name: 'dp_dev_landing' }),
    });
    template.hasResourceProperties('AWS::Glue::Database', {
      DatabaseInput: Match.objectLike({ Name: 'dp_dev_curated' }),
    });
    expect(stack.curatedDatabaseName).toBe('dp_dev_curated');
  });

  test('a curated Parquet table per dataset, typed from the config, partitioned by its date column with projection', () => {
    template.hasResourceProperties('AWS::Glue::Table', {
      DatabaseName: 'dp_dev_curated',
      TableInput: Match.objectLike({
        Name: 'impressions',
        PartitionKeys: [{ Name: 'event_date', Type: 'date' }],
        Parameters: Match.objectLike({
          classification: 'parquet',
          'parquet.compression': 'SNAPPY',
          'projection.enabled': 'true',
          'projection.event_date.type': 'date',
          'projection.event_date.format': 'yyyy-MM-dd',
          'storage.location.template': `s3://${CURATED}/impressions/event_date=\${event_date}/`,
        }),
        StorageDescriptor: Match.objectLike({
          Location: `s3://${CURATED}/impressions/`,
          SerdeInfo: Match.objectLike({
            SerializationLibrary: 'org.apache.hadoop.hive.ql.io.parquet.serde.ParquetHiveSerDe',
          }),
          Columns: Match.arrayWith([
            Match.objectLike({ Name: 'impression_id', Type: 'string' }),
            Match.objectLike({ Name: 'event_time', Type: 'timestamp' }),
            Match.objectLike({ Name: 'campaign_id', Type: 'bigint' }),
            Match.objectLike({ Name: 'creative_id', Type: 'int' }),
            Match.objectLike({ Name: 'bid_price_usd', Type: 'decimal(12,6)' }),
            Match.objectLike({ Name: 'viewable', Type: 'boolean' }),
            Match.objectLike({ Name: 'viewability_score', Type: 'double' }),
          ]),
        }),
      }),
    });
    const impressions = Object.values(template.findResources('AWS::Glue::Table')).find(
      (table) => table.Properties.TableInput.Name === 'impressions',
    );
    const columns = impressions?.Properties.TableInput.StorageDescriptor.Columns.map((c: { Name: string }) => c.Name);
    expect(columns).not.toContain('event_date');
  });

  test('a dataset partitioned by ingest date gets an ingest_date partition', () => {
    expect(partitionColumn(dataset('clicks'))).toBe('ingest_date');
    template.hasResourceProperties('AWS::Glue::Table', {
      TableInput: Match.objectLike({
        Name: 'clicks',
        PartitionKeys: [{ Name: 'ingest_date', Type: 'date' }],
        Parameters: Match.objectLike({ 'projection.ingest_date.type': 'date' }),
      }),
    });
  });

  test('maps every dataset type to its Glue type', () => {
    expect(
      ['string', 'integer', 'bigint', 'double', 'decimal(10,4)', 'boolean', 'date', 'timestamp'].map(glueType),
    ).toEqual(['string', 'int', 'bigint', 'double', 'decimal(10,4)', 'boolean', 'date', 'timestamp']);
  });

  test('fails on a column type Glue cannot represent, naming it and the fix', () => {
    expect(() => glueType('uuid')).toThrow(/Column type "uuid" has no Glue equivalent. Fix: use string/);
  });

  test('security configuration encrypts S3 output, CloudWatch logs and bookmarks with the platform key', () => {
    const keyArn = fromStack('dp-dev-storage', /Key/);
    template.hasResourceProperties('AWS::Glue::SecurityConfiguration', {
      Name: 'dp-dev-glue',
      EncryptionConfiguration: {
        S3Encryptions: [{ S3EncryptionMode: 'SSE-KMS', KmsKeyArn: keyArn }],
        CloudWatchEncryption: { CloudWatchEncryptionMode: 'SSE-KMS', KmsKeyArn: keyArn },
        JobBookmarksEncryption: { JobBookmarksEncryptionMode: 'CSE-KMS', KmsKeyArn: keyArn },
      },
    });
  });

  test('curate job: Glue 5.0 PySpark, sized from the environment, bookmarks, continuous logs, security configuration', () => {
    const etl = exampleEnvironment('dev').etl;
    template.hasResourceProperties('AWS::Glue::Job', {
      Name: 'dp-dev-curate',
      GlueVersion: '5.0',
      Command: Match.objectLike({ Name: 'glueetl', PythonVersion: '3' }),
      WorkerType: etl.glueWorkerType,
      NumberOfWorkers: etl.glueWorkers,
      Timeout: etl.glueTimeoutMinutes,
      SecurityConfiguration: 'dp-dev-glue',
      ExecutionProperty: { MaxConcurrentRuns: 6 },
      DefaultArguments: Match.objectLike({
        '--job-bookmark-option': 'job-bookmark-enable',
        '--enable-continuous-cloudwatch-log': 'true',
        '--extra-py-files': Match.anyValue(),
      }),
    });
  });

  test('curate job role reads staging only, writes curated, and may not touch landing', () => {
    const policies = template.findResources('AWS::IAM::Policy', {
      Properties: { Roles: [{ Ref: stack.getLogicalId(stack.curateJobRole.node.defaultChild as never) }] },
    });
    const statements = Object.values(policies).flatMap((p) => p.Properties.PolicyDocument.Statement);
    const text = JSON.stringify(statements);
    expect(text).toContain('/staging/*');
    expect(text).not.toMatch(/landing/);
    expect(
      statements.some(
        (s: { Action: unknown }) => s.Action === '*' || (Array.isArray(s.Action) && s.Action.includes('*')),
      ),
    ).toBe(false);
    template.hasResourceProperties('AWS::IAM::Policy', {
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({
            Sid: 'ReadStaging',
            Action: ['s3:GetObject', 's3:GetObjectVersion'],
            Resource: `arn:aws:s3:::${ARTIFACTS}/staging/*`,
          }),
        ]),
      },
    });
  });

  test('Athena workgroup enforces its settings, encrypts results in artifacts and limits the scan', () => {
    template.hasResourceProperties('AWS::Athena::WorkGroup', {
      Name: 'dp-dev',
      WorkGroupConfiguration: Match.objectLike({
        EnforceWorkGroupConfiguration: true,
        BytesScannedCutoffPerQuery: exampleEnvironment('dev').etl.athenaScanLimitBytes,
        ResultConfiguration: {
          OutputLocation: `s3://${ARTIFACTS}/athena-results/`,
          EncryptionConfiguration: { EncryptionOption: 'SSE_KMS', KmsKey: Match.anyValue() },
        },
      }),
    });
  });

  test('the analyst role gets Athena on the workgroup and Glue read on the curated database only', () => {
    template.hasResourceProperties('AWS::IAM::Policy', {
      Roles: [fromStack('dp-dev-iam', /DataAnalyst/)],
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({
            Sid: 'QueryThroughWorkGroup',
            Resource: 'arn:aws:athena:eu-west-1:222222222222:workgroup/dp-dev',
          }),
          Match.objectLike({
            Sid: 'CatalogDpDevCurated',
            Action: Match.not(Match.arrayWith(['glue:CreateTable'])),
            Resource: Match.arrayWith(['arn:aws:glue:eu-west-1:222222222222:table/dp_dev_curated/*']),
          }),
        ]),
      },
    });
  });

  test('a landing crawler exists when etl.landingCrawler is on, with the security configuration', () => {
    template.hasResourceProperties('AWS::Glue::Crawler', {
      Name: 'dp-dev-landing',
      DatabaseName: 'dp_dev_landing',
      CrawlerSecurityConfiguration: 'dp-dev-glue',
    });
  });

  test('no crawler when etl.landingCrawler is off, and the workgroup is retained in prod', () => {
    const prod = synth('prod').template;
    expect(exampleEnvironment('prod').etl.landingCrawler).toBe(false);
    prod.resourceCountIs('AWS::Glue::Crawler', 0);
    prod.hasResource('AWS::Athena::WorkGroup', { DeletionPolicy: 'Retain' });
  });

  test('synthesizes without warnings', () => {
    expect(Annotations.fromStack(stack).findWarning('*', Match.anyValue())).toEqual([]);
  });
});
