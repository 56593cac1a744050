import { permissionsOfRole } from '../../helpers/least-privilege';
import { Annotations, Match, Template } from 'aws-cdk-lib/assertions';
import { DataMartStack } from '../../../lib/stacks/data-mart-stack';
import { NetworkStack } from '../../../lib/stacks/network-stack';
import { StorageStack } from '../../../lib/stacks/storage-stack';
import { exampleConfig, exampleEnvironment, testApp } from '../../helpers/app';

function build(name: 'dev' | 'test' | 'prod', datasets = exampleConfig().datasets) {
  const app = testApp();
  const environment = exampleEnvironment(name);
  const env = { account: environment.account, region: environment.region };
  const common = { prefix: `dp-${name}`, environment, env };
  const storage = new StorageStack(app, 'Storage', common);
  const network = new NetworkStack(app, 'Network', { ...common, key: storage.key });
  const stack = new DataMartStack(app, 'DataMart', {
    ...common,
    vpc: network.vpc,
    key: storage.key,
    curated: storage.zones.curated,
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
    // The secrets of this stack are the two logins' (below; $0.40/month each); the master's is RDS's own.
    dev.template.resourceCountIs('AWS::SecretsManager::Secret', 2);
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
    const bucket = dev.storage.zones.curated.bucketName;
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
    expect(permissionsOfRole(dev.template, 'S3ImportRole')).toEqual([
      {
        effect: 'Allow',
        action: 'kms:Decrypt',
        resource: {
          'Fn::GetStackOutput': expect.objectContaining({ OutputName: expect.stringMatching(/FnGetAttKey.*Arn/) }),
        },
        condition: { StringEquals: { 'kms:ViaService': 's3.eu-west-1.amazonaws.com' } },
      },
      { effect: 'Allow', action: 's3:GetObject', resource: `arn:aws:s3:::${bucket}/_mart/*` },
      {
        effect: 'Allow',
        action: 's3:ListBucket',
        resource: `arn:aws:s3:::${bucket}`,
        condition: { StringLike: { 's3:prefix': ['_mart/*'] } },
      },
    ]);
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
          MART_CLUSTER_ARN: Match.anyValue(),
          MART_SECRET_ARN: { 'Fn::GetAtt': [Match.stringLikeRegexp('^Cluster'), 'MasterUserSecret.SecretArn'] },
          MART_DATABASE: 'mart',
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
            Action: 'secretsmanager:GetSecretValue',
            Resource: { 'Fn::GetAtt': [Match.stringLikeRegexp('^Cluster'), 'MasterUserSecret.SecretArn'] },
          }),
          Match.objectLike({
            Action: 'kms:Decrypt',
            Condition: { StringEquals: { 'kms:ViaService': 'secretsmanager.eu-west-1.amazonaws.com' } },
          }),
          // It reads the login secrets to set the users' initial passwords.
          ...['Reader', 'Loader'].map((login) =>
            Match.objectLike({
              Action: 'secretsmanager:GetSecretValue',
              Resource: { Ref: Match.stringLikeRegexp(`^${login}LoginSecretAttachment`) },
            }),
          ),
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
          MART_SECRET_ARN: { Ref: Match.stringLikeRegexp('^LoaderLoginSecretAttachment') },
          MART_DATABASE: 'mart',
          MART_TABLES: JSON.stringify({ clicks: 'clicks', impressions: 'impressions' }),
        }),
      },
    });
    const bucket = dev.storage.zones.curated.bucketName;
    dev.template.hasResourceProperties('AWS::IAM::Policy', {
      Roles: [{ Ref: Match.stringLikeRegexp('^LoadMartFunction') }],
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({ Action: Match.arrayWith(['rds-data:ExecuteStatement']) }),
          Match.objectLike({
            Action: 'secretsmanager:GetSecretValue',
            Resource: { Ref: Match.stringLikeRegexp('^LoaderLoginSecretAttachment') },
          }),
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

describe('DataMartStack login secrets and their rotation', () => {
  const functionId = (template: Template, handlerEnv: string) =>
    Object.entries(template.findResources('AWS::Lambda::Function')).find(
      ([, fn]) => fn.Properties.Environment?.Variables?.[handlerEnv] !== undefined,
    )?.[0];

  it('creates one secret per login with the first user of its pair and a generated password, encrypted with the platform key', () => {
    for (const [login, user] of [
      ['Reader', 'mart_reader_a'],
      ['Loader', 'mart_loader_a'],
    ]) {
      const secrets = dev.template.findResources('AWS::SecretsManager::Secret', {
        Properties: {
          KmsKeyId: importOf(/Storage:ExportsOutputFnGetAttKey.*Arn/),
          GenerateSecretString: Match.objectLike({
            SecretStringTemplate: JSON.stringify({ engine: 'postgres', dbname: 'mart', username: user }),
            GenerateStringKey: 'password',
            PasswordLength: 32,
            ExcludePunctuation: true,
            IncludeSpace: false,
          }),
        },
      });
      const secret = Object.keys(secrets);
      expect(secret).toEqual([expect.stringMatching(new RegExp(`^${login}LoginSecret`))]);
      // Attached to the cluster: Secrets Manager adds host, port and the cluster identifier.
      dev.template.hasResourceProperties('AWS::SecretsManager::SecretTargetAttachment', {
        SecretId: { Ref: secret[0] },
        TargetType: 'AWS::RDS::DBCluster',
        TargetId: { Ref: Match.stringLikeRegexp('^Cluster') },
      });
    }
  });

  it('rotates each login secret with the rotation function, every dataMart.loginRotationDays, after the migrations', () => {
    const schedules = Object.values(dev.template.findResources('AWS::SecretsManager::RotationSchedule'));
    expect(schedules).toHaveLength(2);
    const rotationFunction = functionId(dev.template, 'MART_LOGIN_SECRETS');
    const migrations = Object.keys(dev.template.findResources('Custom::DataMartMigrations'))[0];
    for (const schedule of schedules) {
      expect(schedule.Properties).toEqual({
        SecretId: { Ref: expect.stringMatching(/^(Reader|Loader)LoginSecretAttachment/) },
        RotationLambdaARN: { 'Fn::GetAtt': [rotationFunction, 'Arn'] },
        RotationRules: { ScheduleExpression: `rate(${exampleEnvironment('dev').dataMart.loginRotationDays} days)` },
      });
      expect(schedule.DependsOn).toContain(migrations);
    }
    expect(exampleEnvironment('dev').dataMart.loginRotationDays).toBe(30);
  });

  it('takes the rotation interval from the environment config', () => {
    const environment = exampleEnvironment('test');
    const app = testApp();
    const env = { account: environment.account, region: environment.region };
    const weekly = { ...environment, dataMart: { ...environment.dataMart, loginRotationDays: 7 } };
    const common = { prefix: 'dp-test', environment: weekly, env };
    const storage = new StorageStack(app, 'Storage', common);
    const stack = new DataMartStack(app, 'DataMart', {
      ...common,
      vpc: new NetworkStack(app, 'Network', { ...common, key: storage.key }).vpc,
      key: storage.key,
      curated: storage.zones.curated,
      datasets: exampleConfig().datasets,
    });
    Template.fromStack(stack).allResourcesProperties('AWS::SecretsManager::RotationSchedule', {
      RotationRules: { ScheduleExpression: 'rate(7 days)' },
    });
  });

  it('runs the rotation function outside the VPC, as the master, on the login secrets of this stack only', () => {
    const rotationFunction = functionId(dev.template, 'MART_LOGIN_SECRETS') as string;
    const fn = dev.template.findResources('AWS::Lambda::Function')[rotationFunction];
    expect(fn.Properties.VpcConfig).toBeUndefined();
    expect(fn.Properties.Timeout).toBe(300);
    expect(fn.Properties.Environment.Variables).toMatchObject({
      MART_SECRET_ARN: { 'Fn::GetAtt': [expect.stringMatching(/^Cluster/), 'MasterUserSecret.SecretArn'] },
      MART_DATABASE: 'mart',
    });
    const logins = JSON.stringify(fn.Properties.Environment.Variables.MART_LOGIN_SECRETS);
    for (const login of ['Reader', 'Loader']) expect(logins).toMatch(new RegExp(`${login}LoginSecretAttachment`));
    dev.template.hasResourceProperties('AWS::IAM::Policy', {
      Roles: [{ Ref: Match.stringLikeRegexp('^RotateLoginSecretsFunction') }],
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({
            Action: ['kms:Encrypt', 'kms:GenerateDataKey'],
            Condition: { StringEquals: { 'kms:ViaService': 'secretsmanager.eu-west-1.amazonaws.com' } },
          }),
          Match.objectLike({
            Action: [
              'secretsmanager:DescribeSecret',
              'secretsmanager:GetSecretValue',
              'secretsmanager:PutSecretValue',
              'secretsmanager:UpdateSecretVersionStage',
            ],
            Resource: ['Loader', 'Reader'].map((login) => ({
              Ref: Match.stringLikeRegexp(`^${login}LoginSecretAttachment`),
            })),
          }),
        ]),
      },
    });
    // Only Secrets Manager, and only on behalf of this account, may invoke it.
    dev.template.hasResourceProperties('AWS::Lambda::Permission', {
      FunctionName: { 'Fn::GetAtt': [rotationFunction, 'Arn'] },
      Principal: 'secretsmanager.amazonaws.com',
      SourceAccount: '222222222222',
    });
    expect(Object.values(dev.template.findResources('AWS::Lambda::Permission'))).toHaveLength(1);
  });

  it("passes the login secrets to the migrations, so a replaced secret re-runs them and sets its user's password", () => {
    const [migrations] = Object.values(dev.template.findResources('Custom::DataMartMigrations'));
    const text = JSON.stringify(migrations.Properties.LoginSecrets);
    for (const login of ['reader', 'loader']) expect(text).toContain(`\\"${login}\\":`);
    expect(text).not.toContain('tester');
    for (const login of ['Reader', 'Loader']) expect(text).toMatch(new RegExp(`${login}LoginSecretAttachment`));
  });

  it('logs no statements and lets only the master set passwords, through the parameter group', () => {
    dev.template.hasResourceProperties('AWS::RDS::DBClusterParameterGroup', {
      Parameters: { 'rds.force_ssl': '1', log_statement: 'none', 'rds.restrict_password_commands': '1' },
    });
  });

  it("adds nothing to the Storage stack's key policy (every kms permission is on the principal's side)", () => {
    const keyPolicy = JSON.stringify(Template.fromStack(dev.storage).findResources('AWS::KMS::Key'));
    expect(keyPolicy).not.toContain('secretsmanager');
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
