import { createHash } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import * as path from 'node:path';
import { CustomResource, Duration, RemovalPolicy, Stack, type StackProps, Validations } from 'aws-cdk-lib';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as kms from 'aws-cdk-lib/aws-kms';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as rds from 'aws-cdk-lib/aws-rds';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import * as cr from 'aws-cdk-lib/custom-resources';
import type { Construct } from 'constructs';
import type { DatasetConfig, EnvironmentConfig } from '../../config/schema';
import { ROTATE_ENV } from '../../lambda/rotate-mart-secret/contract';
import { MART_BATCHES_PREFIX } from '../../lambda/batch/contract';
import { LOAD_MART_ENV, loadMartTables } from '../../lambda/load-mart/contract';
import { MIGRATIONS_DIRECTORY, MIGRATIONS_PROPERTIES, MIGRATIONS_RESOURCE_TYPE } from '../../lambda/migrate/contract';
import {
  MART_CONNECTION_ENV,
  MART_LOGIN_NAMES,
  MART_LOGINS,
  type MartLogin,
  martDatasets,
} from '../../lambda/shared/mart-contract';
import { PlatformFunction } from '../constructs/platform-function';
import type { ZoneBucket } from '../constructs/zone-bucket';
import { removalPolicyOf } from '../constructs/removal-policy';

export interface DataMartStackProps extends StackProps {
  /** `<platformPrefix>-<env>`, e.g. `dp-dev`. */
  readonly prefix: string;
  readonly environment: EnvironmentConfig;
  /** VPC with isolated subnets in subnet group 'Data'. */
  readonly vpc: ec2.IVpc;
  /** The platform key: encrypts storage, the master and login secrets, logs and function environments. */
  readonly key: kms.IKey;
  /** Curated zone: the cluster imports `_mart/<dataset>/batch_id=<batchId>/` batches from it. */
  readonly curated: ZoneBucket;
  /** All datasets; those with `mart.enabled` get a mart table. */
  readonly datasets: readonly DatasetConfig[];
}

/** Prefix under which the curate job writes the CSV batches for the mart (agreed object layout). */
export const DATABASE_NAME = 'mart';
const MASTER_USERNAME = 'mart_admin';

/** Data API actions: single statements, and the transactions most callers also use. */
const SINGLE_STATEMENTS = ['rds-data:ExecuteStatement'];
const TRANSACTIONS = [
  ...SINGLE_STATEMENTS,
  'rds-data:BeginTransaction',
  'rds-data:CommitTransaction',
  'rds-data:RollbackTransaction',
];

/** How much of the Data API a grantee gets. */
export interface DataApiGrantOptions {
  /**
   * Whether it may also begin, commit and roll back transactions (false: ExecuteStatement only, e.g. the
   * integration test, which runs single statements).
   * @default true
   */
  readonly transactions?: boolean;
}

const pascal = (name: string) => name[0].toUpperCase() + name.slice(1);

/**
 * What other stacks need of the data mart: Data API access as one login, and the environment variables that name
 * it. {@link DataMartStack} implements it; tests of later stacks may use a {@link MartDataApi} over stand-ins.
 */
export interface MartAccess {
  /**
   * Lets `grantee` run SQL through the Data API as `login`: the Data API actions on the one cluster, GetSecretValue
   * on that login's secret only, and kms:Decrypt of the platform key through Secrets Manager only. The statements go
   * on the principal's side (a grant through the key would edit the Storage stack's key policy from a later stack:
   * a cross-stack cycle); for a role of an earlier stack, grant to a `GrantPolicy` of the granting stack.
   */
  grantDataApi(grantee: iam.IGrantable, login: MartLogin, options?: DataApiGrantOptions): void;
  /** MART_CLUSTER_ARN, MART_SECRET_ARN (the login's secret) and MART_DATABASE: what the function reads. */
  connectionEnvironment(login: MartLogin): Record<string, string>;
}

export interface MartDataApiProps {
  readonly clusterArn: string;
  readonly databaseName: string;
  /** The key that encrypts the secrets. */
  readonly key: kms.IKey;
  /** Region of the secrets (for the kms:ViaService condition). */
  readonly region: string;
  /** The secret of each login, and the master's. */
  readonly secrets: Readonly<Record<MartLogin | 'master', secretsmanager.ISecret>>;
}

/** The Data API grants and connection environment of a cluster's logins: the one place they are spelled. */
export class MartDataApi implements MartAccess {
  constructor(private readonly props: MartDataApiProps) {}

  grantDataApi(grantee: iam.IGrantable, login: MartLogin, options?: DataApiGrantOptions): void {
    this.grant(grantee, login, options);
  }

  connectionEnvironment(login: MartLogin): Record<string, string> {
    return this.environment(login);
  }

  /** Also for the master login: the DataMart stack's own migrate and rotation functions only. */
  grant(grantee: iam.IGrantable, login: MartLogin | 'master', options: DataApiGrantOptions = {}): void {
    const { props } = this;
    grantee.grantPrincipal.addToPrincipalPolicy(
      new iam.PolicyStatement({
        sid: 'DataApiOnMartCluster',
        actions: [...((options.transactions ?? true) ? TRANSACTIONS : SINGLE_STATEMENTS)],
        resources: [props.clusterArn],
      }),
    );
    this.grantSecretRead(grantee, login);
  }

  /** GetSecretValue of one login's secret, and its decryption through Secrets Manager. */
  grantSecretRead(grantee: iam.IGrantable, login: MartLogin | 'master'): void {
    const principal = grantee.grantPrincipal;
    principal.addToPrincipalPolicy(
      new iam.PolicyStatement({
        sid: `ReadMart${pascal(login)}Secret`,
        actions: ['secretsmanager:GetSecretValue'],
        resources: [this.props.secrets[login].secretArn],
      }),
    );
    principal.addToPrincipalPolicy(this.keyThroughSecretsManager('DecryptMartSecrets', ['kms:Decrypt']));
  }

  /** kms actions on the key that encrypts the secrets, through Secrets Manager only. */
  keyThroughSecretsManager(sid: string, actions: string[]): iam.PolicyStatement {
    return new iam.PolicyStatement({
      sid,
      actions,
      resources: [this.props.key.keyArn],
      conditions: { StringEquals: { 'kms:ViaService': `secretsmanager.${this.props.region}.amazonaws.com` } },
    });
  }

  environment(login: MartLogin | 'master'): Record<string, string> {
    return {
      [MART_CONNECTION_ENV.clusterArn]: this.props.clusterArn,
      [MART_CONNECTION_ENV.secretArn]: this.props.secrets[login].secretArn,
      [MART_CONNECTION_ENV.database]: this.props.databaseName,
    };
  }
}

/**
 * The data mart: Aurora PostgreSQL Serverless v2 in the isolated subnets, reached by application code through the
 * Data API (no NAT, no interface endpoint, no security group ingress). Schema migrations are applied on deploy by a
 * custom resource.
 *
 * Credentials: the master password is managed and rotated by RDS in Secrets Manager; only the migrate function and
 * the rotation function may read it. Application code logs in as a login per purpose (reader, loader: see
 * lambda/shared/mart-contract.ts), each with its own secret encrypted with the platform key and rotated on a
 * schedule by a rotation function that is not in the VPC (it sets passwords through the Data API as the master).
 */
export class DataMartStack extends Stack implements MartAccess {
  readonly cluster: rds.DatabaseCluster;
  /** The RDS-managed master secret: for the migrate and rotation functions of this stack only. */
  readonly masterSecret: secretsmanager.ISecret;
  /** The secret of each login (attached to the cluster, rotated by {@link rotationFunction}). */
  readonly loginSecrets: Readonly<Record<MartLogin, secretsmanager.ISecret>>;
  /** Rotates the login secrets (Secrets Manager invokes it). */
  readonly rotationFunction: lambda.IFunction;
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

  private readonly dataApi: MartDataApi;

  constructor(scope: Construct, id: string, props: DataMartStackProps) {
    super(scope, id, props);
    const { environment, prefix, key, vpc } = props;
    const mart = environment.dataMart;
    const retain = environment.storage.removalPolicy === 'retain';

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
      description: `${prefix} data mart: aws_s3.table_import_from_s3 of curated ${MART_BATCHES_PREFIX} batches`,
    });
    const batches = `Reads any batch file under curated ${MART_BATCHES_PREFIX} (the run ids are not known at deploy time), nothing else`;
    props.curated.grantRead(s3ImportRole, `${MART_BATCHES_PREFIX}*`, batches);
    props.curated.grantList(s3ImportRole, { prefixes: [`${MART_BATCHES_PREFIX}*`] });

    const clusterIdentifier = `${prefix}-data-mart`;
    // Created here (not by RDS) so it has a retention and is encrypted with the platform key.
    const postgresLogs = new logs.LogGroup(this, 'PostgresLogs', {
      logGroupName: `/aws/rds/cluster/${clusterIdentifier}/postgresql`,
      retention: environment.logRetentionDays as logs.RetentionDays,
      encryptionKey: key,
      removalPolicy: removalPolicyOf(environment),
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
            removalPolicy: removalPolicyOf(environment),
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
        description: `${prefix} data mart: TLS only, no statement logs, password changes by the master only`,
        parameters: {
          'rds.force_ssl': '1',
          // Statements are not logged (the default, stated so a change is deliberate): ALTER ROLE carries only a SCRAM
          // verifier, never a password, but a statement log is no place for credentials of any kind.
          log_statement: 'none',
          // Only members of rds_password (the master, V004) may set passwords: a login user cannot change its own
          // password and lock out the functions that share its secret.
          'rds.restrict_password_commands': '1',
        },
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
    this.masterSecret = secretsmanager.Secret.fromSecretAttributes(this, 'MasterSecret', {
      secretCompleteArn: cfnCluster.attrMasterUserSecretSecretArn,
      encryptionKey: key,
    });
    this.loginSecrets = Object.fromEntries(
      MART_LOGIN_NAMES.map((login) => [login, this.createLoginSecret(props, login)]),
    ) as Record<MartLogin, secretsmanager.ISecret>;
    this.dataApi = new MartDataApi({
      clusterArn: this.clusterArn,
      databaseName: this.databaseName,
      key,
      region: this.region,
      secrets: { ...this.loginSecrets, master: this.masterSecret },
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
    this.rotationFunction = this.createRotation(props);
    this.loadMartFunction = this.createLoadMartFunction(props);
  }

  grantDataApi(grantee: iam.IGrantable, login: MartLogin, options?: DataApiGrantOptions): void {
    this.dataApi.grantDataApi(grantee, login, options);
  }

  connectionEnvironment(login: MartLogin): Record<string, string> {
    return this.dataApi.connectionEnvironment(login);
  }

  /**
   * One login's secret: JSON with `username` (the first user of the pair; rotation alternates), a generated
   * `password` and, once attached to the cluster, `host`, `port`, `engine`, `dbClusterIdentifier` (with `dbname`:
   * what Secrets Manager's RDS secrets hold; the Data API reads `username` and `password`).
   */
  private createLoginSecret(props: DataMartStackProps, login: MartLogin): secretsmanager.ISecret {
    const definition = MART_LOGINS[login];
    const secret = new secretsmanager.Secret(this, `${pascal(login)}LoginSecret`, {
      description: `${props.prefix} data mart login ${login}: ${definition.purpose} (users ${definition.users.join(', ')}, rotated)`,
      generateSecretString: {
        secretStringTemplate: JSON.stringify({
          engine: 'postgres',
          dbname: DATABASE_NAME,
          username: definition.users[0],
        }),
        generateStringKey: 'password',
        // Letters and digits only (~190 bits): nothing JSON, SQL or SASLprep would change.
        passwordLength: 32,
        excludePunctuation: true,
        includeSpace: false,
        requireEachIncludedType: true,
      },
      // Recreated with the stack, the migrate function sets its password: nothing is lost with it.
      removalPolicy: RemovalPolicy.DESTROY,
    });
    // The platform key, set on the resource rather than as `encryptionKey`: the L2 would add a statement to the
    // Storage stack's key policy (its own grant to the account through Secrets Manager, and another one from the
    // rotation schedule). The key policy already lets the account's IAM policies use the key, and every principal
    // gets its kms permission on its own side (MartDataApi).
    (secret.node.defaultChild as secretsmanager.CfnSecret).kmsKeyId = props.key.keyArn;
    return secret.attach(this.cluster);
  }

  private loginSecretArns(): Record<MartLogin, string> {
    return Object.fromEntries(MART_LOGIN_NAMES.map((login) => [login, this.loginSecrets[login].secretArn])) as Record<
      MartLogin,
      string
    >;
  }

  /**
   * The rotation function and one schedule per login secret. Not in the VPC and no endpoint: it changes passwords
   * through the Data API as the master. RotationSchedule grants it GetSecretValue, PutSecretValue,
   * UpdateSecretVersionStage and DescribeSecret on each of the login secrets, GetRandomPassword (no resource-level
   * permissions), and lets Secrets Manager invoke it.
   */
  private createRotation(props: DataMartStackProps): lambda.IFunction {
    const { environment, key } = props;
    const rotate = new PlatformFunction(this, 'RotateLoginSecretsFunction', {
      handlerDir: 'rotate-mart-secret',
      serviceName: 'data-mart-rotate-login-secrets',
      description: `${props.prefix}: rotates the data mart login secrets (alternating users, through the Data API)`,
      starResourceReason:
        'X-Ray tracing (xray:PutTraceSegments, PutTelemetryRecords) and secretsmanager:GetRandomPassword support no resource-level permissions',
      // Room for an auto-paused cluster to resume during a step.
      timeout: Duration.minutes(5),
      logRetentionDays: environment.logRetentionDays,
      encryptionKey: key,
      logRemovalPolicy: removalPolicyOf(environment),
      environment: {
        ...this.dataApi.environment('master'),
        [ROTATE_ENV.loginSecrets]: this.toJsonString(this.loginSecretArns()),
      },
    });
    // As the master to set passwords; the final check logs in with the login secret itself (same cluster actions).
    this.dataApi.grant(rotate, 'master');
    // PutSecretValue encrypts the new version with the platform key, through Secrets Manager.
    rotate.addToRolePolicy(
      this.dataApi.keyThroughSecretsManager('EncryptMartSecrets', ['kms:Encrypt', 'kms:GenerateDataKey']),
    );
    for (const login of MART_LOGIN_NAMES) {
      const schedule = (this.loginSecrets[login] as secretsmanager.SecretTargetAttachment).addRotationSchedule(
        'RotationSchedule',
        {
          rotationLambda: rotate,
          automaticallyAfter: Duration.days(environment.dataMart.loginRotationDays),
        },
      );
      // The first rotation runs when the schedule is created: the users must exist, with the initial passwords set.
      schedule.node.addDependency(this.migrations);
    }
    // Secrets Manager of this account only may invoke it (RotationSchedule's permission names no source).
    for (const child of rotate.node.findAll()) {
      if (child instanceof lambda.CfnPermission && child.principal === 'secretsmanager.amazonaws.com') {
        child.sourceAccount = this.account;
      }
    }
    return rotate;
  }

  private createLoadMartFunction(props: DataMartStackProps): lambda.IFunction {
    const { environment, key } = props;
    const loadMart = new PlatformFunction(this, 'LoadMartFunction', {
      handlerDir: 'load-mart',
      serviceName: 'data-mart-load',
      description: `${props.prefix}: loads curated ${MART_BATCHES_PREFIX} batches into the data mart (server-side S3 import)`,
      // The cluster may have to resume first; the import itself runs in the database.
      timeout: Duration.minutes(5),
      logRetentionDays: environment.logRetentionDays,
      encryptionKey: key,
      logRemovalPolicy: removalPolicyOf(environment),
      environment: {
        ...this.connectionEnvironment('loader'),
        [LOAD_MART_ENV.martTables]: JSON.stringify(loadMartTables(props.datasets)),
      },
    });
    this.grantDataApi(loadMart, 'loader');
    // It lists the batch's part files; the cluster's import role reads them.
    props.curated.grantList(loadMart, { prefixes: [`${MART_BATCHES_PREFIX}*`] });
    return loadMart;
  }

  private createMigrations(props: DataMartStackProps): CustomResource {
    const { environment, key } = props;
    const datasets = JSON.stringify(martDatasets(props.datasets));
    // Changes whenever a bundled migration or the mart part of the dataset config changes: that deploy re-runs them.
    const migrationSetHash = createHash('sha256')
      .update(JSON.stringify(migrationFiles()))
      .update(datasets)
      .digest('hex');

    const migrate = new PlatformFunction(this, 'MigrateFunction', {
      handlerDir: 'migrate',
      serviceName: 'data-mart-migrate',
      description: `${props.prefix}: applies the data mart schema migrations through the Data API`,
      // Long enough to wait for an auto-paused cluster to resume and apply DDL; the Provider allows 15 minutes.
      timeout: Duration.minutes(14),
      logRetentionDays: environment.logRetentionDays,
      encryptionKey: key,
      logRemovalPolicy: removalPolicyOf(environment),
      environment: this.dataApi.environment('master'),
    });
    // As the master (it owns the schemas), and reading every login secret to set the initial passwords.
    this.dataApi.grant(migrate, 'master');
    for (const login of MART_LOGIN_NAMES) this.dataApi.grantSecretRead(migrate, login);

    const providerLogs = new logs.LogGroup(this, 'MigrationsProviderLogs', {
      retention: environment.logRetentionDays as logs.RetentionDays,
      encryptionKey: key,
      removalPolicy: removalPolicyOf(environment),
    });
    const provider = new cr.Provider(this, 'MigrationsProvider', {
      onEventHandler: migrate,
      logGroup: providerLogs,
      providerFunctionEnvEncryption: key,
    });

    const migrations = new CustomResource(this, 'Migrations', {
      serviceToken: provider.serviceToken,
      resourceType: MIGRATIONS_RESOURCE_TYPE,
      properties: {
        [MIGRATIONS_PROPERTIES.migrationSetHash]: migrationSetHash,
        [MIGRATIONS_PROPERTIES.datasets]: datasets,
        // A replaced secret re-runs the custom resource, which sets the password its user now has.
        [MIGRATIONS_PROPERTIES.loginSecrets]: this.toJsonString(this.loginSecretArns()),
      },
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
        id: `AwsSolutions-IAM5[Resource::<${this.getLogicalId(migrate.node.defaultChild as lambda.CfnFunction)}.Arn>:*]`,
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
/** The migrate function's versioned migrations (lambda/migrate/sql), `{ fileName: sql }` in file-name order. */
function migrationFiles(): Record<string, string> {
  const dir = path.join(__dirname, '..', '..', 'lambda', 'migrate', MIGRATIONS_DIRECTORY);
  const names = readdirSync(dir)
    .filter((name) => name.endsWith('.sql'))
    .sort();
  return Object.fromEntries(names.map((name) => [name, readFileSync(path.join(dir, name), 'utf8')]));
}
