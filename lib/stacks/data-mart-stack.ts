import { createHash } from 'node:crypto';
import { CustomResource, Duration, RemovalPolicy, Stack, type StackProps, Token, Validations } from 'aws-cdk-lib';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as kms from 'aws-cdk-lib/aws-kms';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as rds from 'aws-cdk-lib/aws-rds';
import type * as s3 from 'aws-cdk-lib/aws-s3';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import * as cr from 'aws-cdk-lib/custom-resources';
import type { Construct } from 'constructs';
import type { DatasetConfig, EnvironmentConfig } from '../../config/schema';
import { SQL_FILES } from '../../lambda/migrate/sql-files.generated';
import { martDatasets, martTableName } from '../../lambda/shared/mart-ddl';
import { PlatformFunction } from '../constructs/platform-function';

export interface DataMartStackProps extends StackProps {
  /** `<platformPrefix>-<env>`, e.g. `dp-dev`. */
  readonly prefix: string;
  readonly environment: EnvironmentConfig;
  readonly deploymentAccount: string;
  /** VPC with isolated subnets in subnet group 'Data'. */
  readonly vpc: ec2.IVpc;
  /** The platform key: encrypts storage, the master secret, logs and function environments. */
  readonly key: kms.IKey;
  /** Curated zone: the cluster imports `_mart/<dataset>/run_id=<runId>/` batches from it. */
  readonly curatedBucket: s3.IBucket;
  /**
   * Name of the curated bucket, known at synth (`StorageStack.bucketNames.curated`): the import policy names the bucket
   * with it, so the policy and its cdk-nag acknowledgement carry no cross-stack token.
   */
  readonly curatedBucketName: string;
  /** All datasets; those with `mart.enabled` get a mart table. */
  readonly datasets: readonly DatasetConfig[];
}

/** Prefix under which the curate job writes the CSV batches for the mart (agreed object layout). */
export const MART_BATCH_PREFIX = '_mart/';
export const DATABASE_NAME = 'mart';
const MASTER_USERNAME = 'mart_admin';

/**
 * The data mart: Aurora PostgreSQL Serverless v2 in the isolated subnets, reached by application code through the
 * Data API (no NAT, no interface endpoint, no security group ingress). The master password is managed by RDS in
 * Secrets Manager (encrypted with the platform key, rotated by RDS without a rotation function). Schema migrations
 * are applied on deploy by a custom resource.
 */
export class DataMartStack extends Stack {
  readonly cluster: rds.DatabaseCluster;
  /** The RDS-managed master secret (what the Data API authenticates with). */
  readonly secret: secretsmanager.ISecret;
  readonly clusterArn: string;
  readonly databaseName = DATABASE_NAME;
  readonly securityGroup: ec2.SecurityGroup;
  /** Applies the migrations; exposed so tests and later stacks can depend on a migrated schema. */
  readonly migrations: CustomResource;
  /**
   * The state machine's "load data mart" task (lambda/load-mart): input `{ dataset, runId, objectKey, objectVersion?,
   * bucket, prefix }`, output the row counts; errors MartLoadError, TransientError, InvalidInputError.
   */
  readonly loadMartFunction: lambda.IFunction;

  private readonly key: kms.IKey;

  constructor(scope: Construct, id: string, props: DataMartStackProps) {
    super(scope, id, props);
    const { environment, prefix, key, vpc } = props;
    const mart = environment.dataMart;
    const retain = environment.storage.removalPolicy === 'retain';
    this.key = key;

    const engine = rds.DatabaseClusterEngine.auroraPostgres({
      // 16.3+ is needed for 0 ACU (auto-pause).
      version: rds.AuroraPostgresEngineVersion.VER_16_6,
    });

    this.securityGroup = new ec2.SecurityGroup(this, 'SecurityGroup', {
      vpc,
      description: `${prefix} data mart: no ingress (application code uses the Data API)`,
      allowAllOutbound: false,
    });

    const s3ImportRole = new iam.Role(this, 'S3ImportRole', {
      assumedBy: new iam.ServicePrincipal('rds.amazonaws.com'),
      description: `${prefix} data mart: aws_s3.table_import_from_s3 of curated ${MART_BATCH_PREFIX} batches`,
    });
    const curatedArn = `arn:${this.partition}:s3:::${props.curatedBucketName}`;
    s3ImportRole.addToPolicy(
      new iam.PolicyStatement({ actions: ['s3:GetObject'], resources: [`${curatedArn}/${MART_BATCH_PREFIX}*`] }),
    );
    s3ImportRole.addToPolicy(
      new iam.PolicyStatement({
        actions: ['s3:ListBucket'],
        resources: [curatedArn],
        conditions: { StringLike: { 's3:prefix': [`${MART_BATCH_PREFIX}*`] } },
      }),
    );
    s3ImportRole.addToPolicy(
      new iam.PolicyStatement({
        actions: ['kms:Decrypt'],
        resources: [key.keyArn],
        conditions: { StringEquals: { 'kms:ViaService': `s3.${environment.region}.amazonaws.com` } },
      }),
    );
    Validations.of(s3ImportRole).acknowledge({
      // cdk-nag names the partition as a literal when the partition-literals flag resolves it, else as a token.
      id: `AwsSolutions-IAM5[Resource::arn:${Token.isUnresolved(this.partition) ? '<AWS::Partition>' : this.partition}:s3:::${props.curatedBucketName}/${MART_BATCH_PREFIX}*]`,
      reason: `Reads any batch file under curated ${MART_BATCH_PREFIX} (the run ids are not known at deploy time), nothing else`,
    });

    const clusterIdentifier = `${prefix}-data-mart`;
    // Created here (not by RDS) so it has a retention and is encrypted with the platform key.
    const postgresLogs = new logs.LogGroup(this, 'PostgresLogs', {
      logGroupName: `/aws/rds/cluster/${clusterIdentifier}/postgresql`,
      retention: environment.logRetentionDays as logs.RetentionDays,
      encryptionKey: key,
      removalPolicy: retain ? RemovalPolicy.RETAIN : RemovalPolicy.DESTROY,
    });

    // Enhanced Monitoring writes OS metrics to RDSOSMetrics, a log group RDS would create unencrypted with its own
    // retention: created here with the platform key and the environment's retention. Its name is fixed by RDS and
    // shared by the account's instances (one environment per account here).
    const monitoringSeconds = mart.enhancedMonitoringSeconds;
    const monitoringLogs =
      monitoringSeconds > 0
        ? new logs.LogGroup(this, 'EnhancedMonitoringLogs', {
            logGroupName: 'RDSOSMetrics',
            retention: environment.logRetentionDays as logs.RetentionDays,
            encryptionKey: key,
            removalPolicy: retain ? RemovalPolicy.RETAIN : RemovalPolicy.DESTROY,
          })
        : undefined;

    const readers = Array.from({ length: mart.readers }, (_, index) =>
      rds.ClusterInstance.serverlessV2(`Reader${index + 1}`, {
        // The first reader follows the writer's capacity so it can take over after a failover.
        scaleWithWriter: index === 0,
        publiclyAccessible: false,
        autoMinorVersionUpgrade: true,
      }),
    );

    this.cluster = new rds.DatabaseCluster(this, 'Cluster', {
      engine,
      clusterIdentifier,
      defaultDatabaseName: DATABASE_NAME,
      credentials: rds.Credentials.fromUsername(MASTER_USERNAME, { encryptionKey: key }),
      manageMasterUserPassword: true,
      writer: rds.ClusterInstance.serverlessV2('Writer', { publiclyAccessible: false, autoMinorVersionUpgrade: true }),
      readers,
      serverlessV2MinCapacity: mart.minCapacityAcu,
      serverlessV2MaxCapacity: mart.maxCapacityAcu,
      serverlessV2AutoPauseDuration: mart.minCapacityAcu === 0 ? Duration.minutes(mart.autoPauseMinutes) : undefined,
      vpc,
      vpcSubnets: { subnetGroupName: 'Data' },
      securityGroups: [this.securityGroup],
      storageEncrypted: true,
      storageEncryptionKey: key,
      enableDataApi: true,
      iamAuthentication: true,
      parameterGroup: new rds.ParameterGroup(this, 'Parameters', {
        engine,
        description: `${prefix} data mart: TLS only`,
        parameters: { 'rds.force_ssl': '1' },
      }),
      backup: { retention: Duration.days(mart.backupRetentionDays) },
      deletionProtection: retain,
      removalPolicy: retain ? RemovalPolicy.SNAPSHOT : RemovalPolicy.DESTROY,
      copyTagsToSnapshot: true,
      cloudwatchLogsExports: ['postgresql'],
      s3ImportRole,
      // Per instance, every N seconds (dataMart.enhancedMonitoringSeconds), through a role aws-cdk-lib creates.
      monitoringInterval: monitoringSeconds > 0 ? Duration.seconds(monitoringSeconds) : undefined,
    });
    this.cluster.node.addDependency(postgresLogs);
    if (monitoringLogs) {
      this.cluster.node.addDependency(monitoringLogs);
      Validations.of(this.cluster.node.findChild('MonitoringRole')).acknowledge({
        id: 'AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AmazonRDSEnhancedMonitoringRole]',
        reason:
          'The AWS-maintained policy RDS documents for Enhanced Monitoring: writes the RDSOSMetrics log group, nothing else',
      });
    }
    this.clusterArn = this.cluster.clusterArn;

    const cfnCluster = this.cluster.node.defaultChild as rds.CfnDBCluster;
    this.secret = secretsmanager.Secret.fromSecretAttributes(this, 'MasterSecret', {
      secretCompleteArn: cfnCluster.attrMasterUserSecretSecretArn,
      encryptionKey: key,
    });

    if (!retain) {
      Validations.of(this.cluster).acknowledge({
        id: 'AwsSolutions-RDS10',
        reason: `Environment ${environment.name} has storage.removalPolicy "destroy": its data is disposable, so the cluster is deletable`,
      });
    }
    Validations.of(this.cluster).acknowledge({
      id: 'AwsSolutions-RDS11',
      reason:
        'No network path reaches the port (no security group ingress; access is through the Data API), so a non-default port adds nothing',
    });

    this.migrations = this.createMigrations(props);
    this.loadMartFunction = this.createLoadMartFunction(props, curatedArn);
  }

  /** IAM statements to run SQL through the Data API with the master secret (for a function of this or a later stack). */
  dataApiStatements(): iam.PolicyStatement[] {
    return [
      new iam.PolicyStatement({
        actions: [
          'rds-data:ExecuteStatement',
          'rds-data:BatchExecuteStatement',
          'rds-data:BeginTransaction',
          'rds-data:CommitTransaction',
          'rds-data:RollbackTransaction',
        ],
        resources: [this.clusterArn],
      }),
      new iam.PolicyStatement({
        actions: ['secretsmanager:GetSecretValue', 'secretsmanager:DescribeSecret'],
        resources: [this.secret.secretArn],
      }),
      new iam.PolicyStatement({
        actions: ['kms:Decrypt'],
        resources: [this.key.keyArn],
        conditions: { StringEquals: { 'kms:ViaService': `secretsmanager.${this.region}.amazonaws.com` } },
      }),
    ];
  }

  /** Environment variables a function needs to reach the mart through the Data API. */
  dataApiEnvironment(): Record<string, string> {
    return { CLUSTER_ARN: this.clusterArn, SECRET_ARN: this.secret.secretArn, DATABASE_NAME: this.databaseName };
  }

  private createLoadMartFunction(props: DataMartStackProps, curatedArn: string): lambda.IFunction {
    const { environment, key } = props;
    const martTables = Object.fromEntries(
      martDatasets(props.datasets).map((dataset) => [dataset.name, martTableName(dataset)]),
    );
    const loadMart = new PlatformFunction(this, 'LoadMartFunction', {
      handlerDir: 'load-mart',
      serviceName: 'data-mart-load',
      description: `${props.prefix}: loads curated ${MART_BATCH_PREFIX} batches into the data mart (server-side S3 import)`,
      // The cluster may have to resume first; the import itself runs in the database.
      timeout: Duration.minutes(5),
      logRetentionDays: environment.logRetentionDays,
      encryptionKey: key,
      logRemovalPolicy: environment.storage.removalPolicy === 'retain' ? RemovalPolicy.RETAIN : RemovalPolicy.DESTROY,
      environment: { ...this.dataApiEnvironment(), MART_TABLES: JSON.stringify(martTables) },
    });
    for (const statement of this.dataApiStatements()) loadMart.function.addToRolePolicy(statement);
    // It lists the batch's part files; the cluster's import role reads them.
    loadMart.function.addToRolePolicy(
      new iam.PolicyStatement({
        actions: ['s3:ListBucket'],
        resources: [curatedArn],
        conditions: { StringLike: { 's3:prefix': [`${MART_BATCH_PREFIX}*`] } },
      }),
    );
    acknowledgePlatformFunction(loadMart);
    return loadMart.function;
  }

  private createMigrations(props: DataMartStackProps): CustomResource {
    const { environment, key } = props;
    const retain = environment.storage.removalPolicy === 'retain';
    const datasets = JSON.stringify(martDatasets(props.datasets));
    // Changes whenever a bundled migration or the mart part of the dataset config changes: that deploy re-runs them.
    const migrationSetHash = createHash('sha256').update(JSON.stringify(SQL_FILES)).update(datasets).digest('hex');

    const migrate = new PlatformFunction(this, 'MigrateFunction', {
      handlerDir: 'migrate',
      serviceName: 'data-mart-migrate',
      description: `${props.prefix}: applies the data mart schema migrations through the Data API`,
      // Long enough to wait for an auto-paused cluster to resume and apply DDL; the Provider allows 15 minutes.
      timeout: Duration.minutes(14),
      logRetentionDays: environment.logRetentionDays,
      encryptionKey: key,
      logRemovalPolicy: retain ? RemovalPolicy.RETAIN : RemovalPolicy.DESTROY,
      environment: this.dataApiEnvironment(),
    });
    for (const statement of this.dataApiStatements()) migrate.function.addToRolePolicy(statement);
    acknowledgePlatformFunction(migrate);

    const providerLogs = new logs.LogGroup(this, 'MigrationsProviderLogs', {
      retention: environment.logRetentionDays as logs.RetentionDays,
      encryptionKey: key,
      removalPolicy: retain ? RemovalPolicy.RETAIN : RemovalPolicy.DESTROY,
    });
    const provider = new cr.Provider(this, 'MigrationsProvider', {
      onEventHandler: migrate.function,
      logGroup: providerLogs,
      providerFunctionEnvEncryption: key,
    });

    const migrations = new CustomResource(this, 'Migrations', {
      serviceToken: provider.serviceToken,
      resourceType: 'Custom::DataMartMigrations',
      properties: { MigrationSetHash: migrationSetHash, Datasets: datasets },
    });
    // The Data API needs a running writer instance, not only the cluster resource.
    migrations.node.addDependency(this.cluster);

    const frameworkFunction = provider.node.findChild('framework-onEvent');
    Validations.of(frameworkFunction).acknowledge(
      {
        id: 'AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole]',
        reason: 'The Provider framework function of aws-cdk-lib uses AWSLambdaBasicExecutionRole for its own logs',
      },
      {
        id: `AwsSolutions-IAM5[Resource::<${this.getLogicalId(migrate.function.node.defaultChild as lambda.CfnFunction)}.Arn>:*]`,
        reason:
          'The Provider framework may invoke any version of the one migrate function, as generated by aws-cdk-lib',
      },
    );
    Validations.of(frameworkFunction).acknowledge({
      id: 'AwsSolutions-L1',
      reason: 'The Provider framework function runtime is chosen by aws-cdk-lib and upgraded with it',
    });
    return migrations;
  }
}

/** Findings every PlatformFunction has (same reasons as the other stacks give). */
function acknowledgePlatformFunction(fn: PlatformFunction): void {
  Validations.of(fn.function).acknowledge({
    id: 'AwsSolutions-L1',
    reason: 'Node.js 22 is the runtime the platform fixes in PlatformFunction (supported LTS); upgrades go through it',
  });
  Validations.of(fn.function.role as iam.IRole).acknowledge(
    {
      id: 'AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole]',
      reason: 'The AWS-maintained policy lets the function write its own logs and nothing else',
    },
    {
      id: 'AwsSolutions-IAM5[Resource::*]',
      reason: 'X-Ray tracing (xray:PutTraceSegments, PutTelemetryRecords) supports no resource-level permissions',
    },
  );
}
