import { Annotations, Match, Template } from 'aws-cdk-lib/assertions';
import { DataMartStack } from '../../../lib/stacks/data-mart-stack';
import { NetworkStack } from '../../../lib/stacks/network-stack';
import { StorageStack } from '../../../lib/stacks/storage-stack';
import { exampleConfig, exampleEnvironment, testApp } from '../../helpers/app';

function build(name: 'dev' | 'test' | 'prod', datasets = exampleConfig().datasets) {
  const app = testApp();
  const environment = exampleEnvironment(name);
  const env = { account: environment.account, region: environment.region };
  const common = { prefix: `dp-${name}`, environment, deploymentAccount: '111111111111', env };
  const storage = new StorageStack(app, 'Storage', common);
  const network = new NetworkStack(app, 'Network', { ...common, key: storage.key });
  const stack = new DataMartStack(app, 'DataMart', {
    ...common,
    vpc: network.vpc,
    key: storage.key,
    curatedBucket: storage.buckets.curated,
    curatedBucketName: storage.bucketNames.curated,
    datasets,
  });
  return { stack, network, storage, template: Template.fromStack(stack) };
}

const dev = build('dev');
const prod = build('prod');

/**
 * What a cross-stack reference resolves to in the DataMart template: under cdk.json's feature flags, an
 * `Fn::GetStackOutput` of the producing stack's output (its name is the old export name without the stack prefix).
 */
const importOf = (exportName: RegExp) => ({
  'Fn::GetStackOutput': Match.objectLike({
    OutputName: Match.stringLikeRegexp(exportName.source.replace(/^.*?:(?:ExportsOutput)?/, '')),
  }),
});

describe('DataMartStack cluster', () => {
  it('is Aurora PostgreSQL 16 Serverless v2 with storage encrypted by the platform key', () => {
    dev.template.hasResourceProperties('AWS::RDS::DBCluster', {
      Engine: 'aurora-postgresql',
      EngineVersion: Match.stringLikeRegexp('^16\\.'),
      StorageEncrypted: true,
      KmsKeyId: importOf(/Storage:ExportsOutputFnGetAttKey.*Arn/),
      DatabaseName: 'mart',
      DBClusterIdentifier: 'dp-dev-data-mart',
    });
    dev.template.hasResourceProperties('AWS::RDS::DBInstance', {
      DBInstanceClass: 'db.serverless',
      PubliclyAccessible: false,
    });
  });

  it('turns on the Data API and IAM authentication, and forces TLS through its parameter group', () => {
    dev.template.hasResourceProperties('AWS::RDS::DBCluster', {
      EnableHttpEndpoint: true,
      EnableIAMDatabaseAuthentication: true,
      DBClusterParameterGroupName: { Ref: Match.stringLikeRegexp('^Parameters') },
    });
    dev.template.hasResourceProperties('AWS::RDS::DBClusterParameterGroup', {
      Family: 'aurora-postgresql16',
      Parameters: { 'rds.force_ssl': '1' },
    });
  });

  it('lets RDS manage and rotate the master password in a secret encrypted with the platform key', () => {
    dev.template.hasResourceProperties('AWS::RDS::DBCluster', {
      ManageMasterUserPassword: true,
      MasterUsername: 'mart_admin',
      MasterUserSecret: { KmsKeyId: importOf(/Storage:ExportsOutputFnGetAttKey.*Arn/) },
      MasterUserPassword: Match.absent(),
    });
    dev.template.resourceCountIs('AWS::SecretsManager::Secret', 0);
    dev.template.resourceCountIs('AWS::SecretsManager::RotationSchedule', 0);
  });

  it('scales to zero with auto-pause in dev, from the environment config', () => {
    const mart = exampleEnvironment('dev').dataMart;
    dev.template.hasResourceProperties('AWS::RDS::DBCluster', {
      ServerlessV2ScalingConfiguration: {
        MinCapacity: 0,
        MaxCapacity: mart.maxCapacityAcu,
        SecondsUntilAutoPause: mart.autoPauseMinutes * 60,
      },
    });
    dev.template.resourceCountIs('AWS::RDS::DBInstance', 1);
  });

  it('keeps a minimum capacity and the configured readers in prod, without auto-pause', () => {
    const mart = exampleEnvironment('prod').dataMart;
    prod.template.hasResourceProperties('AWS::RDS::DBCluster', {
      ServerlessV2ScalingConfiguration: {
        MinCapacity: mart.minCapacityAcu,
        MaxCapacity: mart.maxCapacityAcu,
        SecondsUntilAutoPause: Match.absent(),
      },
    });
    prod.template.resourceCountIs('AWS::RDS::DBInstance', 1 + mart.readers);
    prod.template.hasResourceProperties('AWS::RDS::DBInstance', { PromotionTier: 1 });
  });

  it('places the cluster in the isolated Data subnets behind a security group with no ingress', () => {
    const dataSubnets = dev.network.vpc.selectSubnets({ subnetGroupName: 'Data' }).subnetIds;
    expect(dataSubnets.length).toBeGreaterThanOrEqual(2);
    dev.template.hasResourceProperties('AWS::RDS::DBSubnetGroup', {
      SubnetIds: dataSubnets.map(() => importOf(/Network:ExportsOutputRefVpc.*Data.*Subnet/)),
    });
    const groups = dev.template.findResources('AWS::EC2::SecurityGroup');
    expect(Object.keys(groups)).toHaveLength(1);
    const [group] = Object.values(groups);
    expect(group.Properties.SecurityGroupIngress).toBeUndefined();
    expect(group.Properties.SecurityGroupEgress).toEqual([
      expect.objectContaining({ CidrIp: '255.255.255.255/32', Description: 'Disallow all traffic' }),
    ]);
    dev.template.resourceCountIs('AWS::EC2::SecurityGroupIngress', 0);
  });

  it('protects prod from deletion and snapshots it on removal', () => {
    prod.template.hasResource('AWS::RDS::DBCluster', {
      Properties: Match.objectLike({ DeletionProtection: true, BackupRetentionPeriod: 14, CopyTagsToSnapshot: true }),
      DeletionPolicy: 'Snapshot',
      UpdateReplacePolicy: 'Snapshot',
    });
  });

  it('lets dev be deleted with its data, as its config says', () => {
    dev.template.hasResource('AWS::RDS::DBCluster', {
      Properties: Match.objectLike({ DeletionProtection: false, BackupRetentionPeriod: 1 }),
      DeletionPolicy: 'Delete',
    });
  });

  it('exports Postgres logs to an encrypted log group with the environment retention', () => {
    dev.template.hasResourceProperties('AWS::RDS::DBCluster', { EnableCloudwatchLogsExports: ['postgresql'] });
    dev.template.hasResourceProperties('AWS::Logs::LogGroup', {
      LogGroupName: '/aws/rds/cluster/dp-dev-data-mart/postgresql',
      RetentionInDays: exampleEnvironment('dev').logRetentionDays,
      KmsKeyId: importOf(/Storage:ExportsOutputFnGetAttKey.*Arn/),
    });
  });
});

describe('DataMartStack Enhanced Monitoring', () => {
  it('monitors every prod instance every 60 s, into an RDSOSMetrics log group encrypted with the platform key', () => {
    const instances = Object.values(prod.template.findResources('AWS::RDS::DBInstance'));
    expect(instances).toHaveLength(2);
    const [roleId] = Object.keys(
      prod.template.findResources('AWS::IAM::Role', {
        Properties: {
          AssumeRolePolicyDocument: {
            Statement: [Match.objectLike({ Principal: { Service: 'monitoring.rds.amazonaws.com' } })],
          },
        },
      }),
    );
    const [[logGroupId, logGroup]] = Object.entries(
      prod.template.findResources('AWS::Logs::LogGroup', { Properties: { LogGroupName: 'RDSOSMetrics' } }),
    );
    expect(logGroup.DeletionPolicy).toBe('Retain');
    prod.template.hasResourceProperties('AWS::Logs::LogGroup', {
      LogGroupName: 'RDSOSMetrics',
      RetentionInDays: 365,
      KmsKeyId: importOf(/Key/),
    });
    for (const instance of instances) {
      expect(instance.Properties).toMatchObject({
        MonitoringInterval: 60,
        MonitoringRoleArn: { 'Fn::GetAtt': [roleId, 'Arn'] },
      });
      expect(instance.DependsOn).toContain(logGroupId);
    }
  });

  it('is off by default outside production (dev)', () => {
    for (const instance of Object.values(dev.template.findResources('AWS::RDS::DBInstance'))) {
      expect(instance.Properties.MonitoringInterval).toBeUndefined();
    }
    dev.template.resourcePropertiesCountIs('AWS::Logs::LogGroup', { LogGroupName: 'RDSOSMetrics' }, 0);
  });
});

describe('DataMartStack S3 import role', () => {
  it('is associated with the cluster for s3Import and reads only curated _mart/ batches', () => {
    const bucket = dev.storage.bucketNames.curated;
    dev.template.hasResourceProperties('AWS::RDS::DBCluster', {
      AssociatedRoles: [
        { FeatureName: 's3Import', RoleArn: { 'Fn::GetAtt': [Match.stringLikeRegexp('^S3ImportRole'), 'Arn'] } },
      ],
    });
    dev.template.hasResourceProperties('AWS::IAM::Role', {
      AssumeRolePolicyDocument: Match.objectLike({
        Statement: [Match.objectLike({ Principal: { Service: 'rds.amazonaws.com' } })],
      }),
    });
    dev.template.hasResourceProperties('AWS::IAM::Policy', {
      Roles: [{ Ref: Match.stringLikeRegexp('^S3ImportRole') }],
      PolicyDocument: {
        Statement: [
          {
            Action: 's3:GetObject',
            Effect: 'Allow',
            Resource: `arn:aws:s3:::${bucket}/_mart/*`,
          },
          {
            Action: 's3:ListBucket',
            Effect: 'Allow',
            Resource: `arn:aws:s3:::${bucket}`,
            Condition: { StringLike: { 's3:prefix': ['_mart/*'] } },
          },
          {
            Action: 'kms:Decrypt',
            Effect: 'Allow',
            Resource: importOf(/Storage:ExportsOutputFnGetAttKey.*Arn/),
            Condition: { StringEquals: { 'kms:ViaService': 's3.eu-west-1.amazonaws.com' } },
          },
        ],
      },
    });
  });
});

describe('DataMartStack migrations', () => {
  it('runs the migrate function through a Provider-backed custom resource after the cluster exists', () => {
    const resources = dev.template.findResources('Custom::DataMartMigrations');
    const [migrations] = Object.values(resources);
    expect(migrations.DependsOn).toEqual(expect.arrayContaining([expect.stringMatching(/^ClusterWriter/)]));
    expect(JSON.parse(migrations.Properties.Datasets)).toEqual([
      expect.objectContaining({ name: 'clicks', primaryKey: ['click_id'] }),
      expect.objectContaining({ name: 'impressions', primaryKey: ['impression_id'] }),
    ]);
    expect(migrations.Properties.MigrationSetHash).toMatch(/^[0-9a-f]{64}$/);
  });

  it('changes the migration set hash when the mart part of a dataset changes', () => {
    const [hashBefore] = Object.values(dev.template.findResources('Custom::DataMartMigrations')).map(
      (r) => r.Properties.MigrationSetHash,
    );
    const datasets = exampleConfig().datasets.map((d) =>
      d.name === 'clicks' ? { ...d, mart: { ...d.mart, indexes: [...d.mart.indexes, ['click_time']] } } : d,
    );
    const [hashAfter] = Object.values(build('dev', datasets).template.findResources('Custom::DataMartMigrations')).map(
      (r) => r.Properties.MigrationSetHash,
    );
    expect(hashAfter).not.toBe(hashBefore);
  });

  it('gives the migrate function the Data API on this cluster and the master secret, outside the VPC', () => {
    dev.template.hasResourceProperties('AWS::Lambda::Function', {
      Runtime: 'nodejs22.x',
      Timeout: 840,
      VpcConfig: Match.absent(),
      Environment: {
        Variables: Match.objectLike({
          CLUSTER_ARN: Match.anyValue(),
          SECRET_ARN: { 'Fn::GetAtt': [Match.stringLikeRegexp('^Cluster'), 'MasterUserSecret.SecretArn'] },
          DATABASE_NAME: 'mart',
        }),
      },
    });
    dev.template.hasResourceProperties('AWS::IAM::Policy', {
      Roles: [{ Ref: Match.stringLikeRegexp('^MigrateFunction') }],
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({
            Action: Match.arrayWith(['rds-data:BeginTransaction', 'rds-data:ExecuteStatement']),
            Resource: Match.objectLike({ 'Fn::Join': Match.anyValue() }),
          }),
          Match.objectLike({
            Action: ['secretsmanager:DescribeSecret', 'secretsmanager:GetSecretValue'],
            Resource: { 'Fn::GetAtt': [Match.stringLikeRegexp('^Cluster'), 'MasterUserSecret.SecretArn'] },
          }),
          Match.objectLike({
            Action: 'kms:Decrypt',
            Condition: { StringEquals: { 'kms:ViaService': 'secretsmanager.eu-west-1.amazonaws.com' } },
          }),
        ]),
      },
    });
  });
});

describe('DataMartStack load-mart function', () => {
  it('reaches the mart through the Data API, knows the mart tables and may only list curated _mart/ batches', () => {
    dev.template.hasResourceProperties('AWS::Lambda::Function', {
      Runtime: 'nodejs22.x',
      VpcConfig: Match.absent(),
      Environment: {
        Variables: Match.objectLike({
          SECRET_ARN: { 'Fn::GetAtt': [Match.stringLikeRegexp('^Cluster'), 'MasterUserSecret.SecretArn'] },
          DATABASE_NAME: 'mart',
          MART_TABLES: JSON.stringify({ clicks: 'clicks', impressions: 'impressions' }),
        }),
      },
    });
    const bucket = dev.storage.bucketNames.curated;
    dev.template.hasResourceProperties('AWS::IAM::Policy', {
      Roles: [{ Ref: Match.stringLikeRegexp('^LoadMartFunction') }],
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({ Action: Match.arrayWith(['rds-data:ExecuteStatement']) }),
          {
            Action: 's3:ListBucket',
            Effect: 'Allow',
            Resource: `arn:aws:s3:::${bucket}`,
            Condition: { StringLike: { 's3:prefix': ['_mart/*'] } },
          },
        ]),
      },
    });
    const loaderPolicies = dev.template.findResources('AWS::IAM::Policy', {
      Properties: { Roles: [{ Ref: Match.stringLikeRegexp('^LoadMartFunction') }] },
    });
    expect(JSON.stringify(loaderPolicies)).not.toContain('s3:GetObject');
  });
});

describe('DataMartStack synthesis', () => {
  it('produces no warnings or errors from aws-cdk-lib', () => {
    // App-wide, set by cdk.json (not loaded by testApp()): not about this stack.
    const appWide = /crossStackReferencesDefaultStrong/;
    for (const { stack } of [dev, prod]) {
      const warnings = Annotations.fromStack(stack)
        .findWarning('*', Match.anyValue())
        .filter((warning) => !appWide.test(String(warning.entry.data)));
      expect(warnings).toEqual([]);
      expect(Annotations.fromStack(stack).findError('*', Match.anyValue())).toEqual([]);
    }
  });
});
