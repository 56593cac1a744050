import * as path from 'node:path';
import { ArnFormat, Aws, RemovalPolicy, Stack, type StackProps } from 'aws-cdk-lib';
import * as athena from 'aws-cdk-lib/aws-athena';
import * as glue from 'aws-cdk-lib/aws-glue';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as kms from 'aws-cdk-lib/aws-kms';
import * as s3assets from 'aws-cdk-lib/aws-s3-assets';
import type { Construct } from 'constructs';
import type { DatasetConfig, EnvironmentConfig } from '../../config/schema';
import { acknowledgeWildcardResources } from '../constructs/nag-acknowledgements';
import type { StorageStack, Zone } from './storage-stack';

/** Where the Glue scripts live (curate.py and the Spark-free curate_lib.py it imports). */
const GLUE_ASSETS = path.resolve(__dirname, '..', 'assets', 'glue');

export interface CatalogStackProps extends StackProps {
  /** `<platformPrefix>-<env>`, e.g. `dp-dev`. */
  readonly prefix: string;
  readonly environment: EnvironmentConfig;
  /** Every dataset of the platform: one curated table each. */
  readonly datasets: readonly DatasetConfig[];
  /** Zone buckets (by their synth-time names) and the platform key, which encrypts Glue output, logs, bookmarks and
   * Athena results. */
  readonly storage: Pick<StorageStack, 'key' | 'bucketNames'>;
  /** Gets Athena on the workgroup, Glue read on the curated database and the results prefix (Iam stack). */
  readonly dataAnalystRole: iam.IRole;
}

/** Glue type of each dataset column type (config/schema.ts COLUMN_TYPE). */
export function glueType(type: string): string {
  const simple: Record<string, string> = {
    string: 'string',
    integer: 'int',
    bigint: 'bigint',
    double: 'double',
    boolean: 'boolean',
    date: 'date',
    timestamp: 'timestamp',
  };
  if (simple[type]) return simple[type];
  const decimal = /^decimal\((\d{1,2}),(\d{1,2})\)$/.exec(type);
  if (decimal) return `decimal(${decimal[1]},${decimal[2]})`;
  throw new Error(
    `Column type "${type}" has no Glue equivalent. Fix: use string, integer, bigint, double, decimal(p,s), boolean, date or timestamp`,
  );
}

/**
 * The partition column of a dataset's curated table: the configured date column, or `ingest_date`.
 * It is a Hive-style folder (`<column>=YYYY-MM-DD/`) that the curate job overwrites per run, so it is not a data column.
 */
export function partitionColumn(dataset: DatasetConfig): string {
  return dataset.partitioning.by === 'column' ? dataset.partitioning.column : 'ingest_date';
}

/** Glue database name for a zone: Glue and Athena want underscores, not hyphens. */
export function glueDatabaseName(prefix: string, zone: 'landing' | 'curated'): string {
  return `${prefix.replace(/-/g, '_')}_${zone}`;
}

/** First day partition projection enumerates; earlier data is still stored, Athena simply does not list it. */
const PROJECTION_START = '2020-01-01';

/**
 * The Glue Data Catalog and the query side of the lake: databases per zone, one curated table per dataset (with
 * partition projection, so no crawler is needed), the security configuration, the `curate` job and the Athena
 * workgroup analysts use.
 */
export class CatalogStack extends Stack {
  readonly landingDatabaseName: string;
  readonly curatedDatabaseName: string;
  readonly curateJob: glue.CfnJob;
  readonly curateJobName: string;
  readonly curateJobRole: iam.Role;
  readonly securityConfigurationName: string;
  readonly workGroupName: string;
  /** Curated table name per dataset name. */
  readonly curatedTables: Readonly<Record<string, string>>;

  private readonly bucketNames: Readonly<Record<Zone, string>>;

  constructor(scope: Construct, id: string, props: CatalogStackProps) {
    super(scope, id, props);
    const { prefix, environment, datasets } = props;
    const { key } = props.storage;
    this.bucketNames = props.storage.bucketNames;
    const retain = environment.storage.removalPolicy !== 'destroy';

    this.landingDatabaseName = glueDatabaseName(prefix, 'landing');
    this.curatedDatabaseName = glueDatabaseName(prefix, 'curated');
    const landingDatabase = this.database(
      'LandingDatabase',
      this.landingDatabaseName,
      'Files as received (crawled on demand).',
    );
    const curatedDatabase = this.database('CuratedDatabase', this.curatedDatabaseName, 'Validated, typed Parquet.');

    const tables: Record<string, string> = {};
    for (const dataset of datasets) {
      const table = this.curatedTable(dataset);
      table.node.addDependency(curatedDatabase);
      tables[dataset.name] = dataset.name;
    }
    this.curatedTables = tables;

    this.securityConfigurationName = `${prefix}-glue`;
    const securityConfiguration = new glue.CfnSecurityConfiguration(this, 'SecurityConfiguration', {
      name: this.securityConfigurationName,
      encryptionConfiguration: {
        s3Encryptions: [{ s3EncryptionMode: 'SSE-KMS', kmsKeyArn: key.keyArn }],
        cloudWatchEncryption: { cloudWatchEncryptionMode: 'SSE-KMS', kmsKeyArn: key.keyArn },
        jobBookmarksEncryption: { jobBookmarksEncryptionMode: 'CSE-KMS', kmsKeyArn: key.keyArn },
      },
    });

    if (environment.etl.landingCrawler) {
      const crawler = this.landingCrawler(prefix, key);
      crawler.node.addDependency(landingDatabase, securityConfiguration);
    }

    this.curateJobName = `${prefix}-curate`;
    const scripts = {
      main: new s3assets.Asset(this, 'CurateScript', { path: path.join(GLUE_ASSETS, 'curate.py') }),
      // A folder asset is shipped as a .zip: on --extra-py-files it puts curate_lib.py on sys.path under its own name
      // (a single-file asset would arrive as `<hash>.py`, which `import curate_lib` cannot find).
      lib: new s3assets.Asset(this, 'CurateLib', { path: GLUE_ASSETS, exclude: ['*', '!curate_lib.py'] }),
    };
    this.curateJobRole = this.curateRole(key, [scripts.main, scripts.lib]);
    this.curateJob = new glue.CfnJob(this, 'CurateJob', {
      name: this.curateJobName,
      description: 'Curates the validated rows of one run: typed, de-duplicated Parquet plus the data mart CSV batch.',
      role: this.curateJobRole.roleArn,
      glueVersion: '5.0',
      command: { name: 'glueetl', pythonVersion: '3', scriptLocation: scripts.main.s3ObjectUrl },
      workerType: environment.etl.glueWorkerType,
      numberOfWorkers: environment.etl.glueWorkers,
      timeout: environment.etl.glueTimeoutMinutes,
      // Step Functions retries a failed run with backoff; a second retry layer inside Glue would only hide failures.
      maxRetries: 0,
      // Several files of one dataset may land together: each execution curates its own run, in parallel.
      executionProperty: { maxConcurrentRuns: Math.max(3, 3 * datasets.length) },
      // Runs beyond the concurrency limit wait in Glue's queue instead of failing with ConcurrentRunsExceeded.
      jobRunQueuingEnabled: true,
      securityConfiguration: this.securityConfigurationName,
      defaultArguments: {
        '--extra-py-files': scripts.lib.s3ObjectUrl,
        '--job-bookmark-option': 'job-bookmark-enable',
        '--enable-continuous-cloudwatch-log': 'true',
        '--enable-metrics': 'true',
        '--enable-observability-metrics': 'true',
        '--enable-glue-datacatalog': 'true',
        '--TempDir': this.s3Url('artifacts', 'glue-temp/'),
        '--curated_database': this.curatedDatabaseName,
      },
    });
    this.curateJob.node.addDependency(securityConfiguration);

    this.workGroupName = prefix;
    const workGroup = new athena.CfnWorkGroup(this, 'WorkGroup', {
      name: this.workGroupName,
      description: `Analyst queries over the ${prefix} curated zone.`,
      state: 'ENABLED',
      recursiveDeleteOption: !retain,
      workGroupConfiguration: {
        enforceWorkGroupConfiguration: true,
        publishCloudWatchMetricsEnabled: true,
        bytesScannedCutoffPerQuery: environment.etl.athenaScanLimitBytes,
        engineVersion: { selectedEngineVersion: 'Athena engine version 3' },
        resultConfiguration: {
          outputLocation: this.s3Url('artifacts', 'athena-results/'),
          encryptionConfiguration: { encryptionOption: 'SSE_KMS', kmsKey: key.keyArn },
        },
      },
    });
    workGroup.applyRemovalPolicy(retain ? RemovalPolicy.RETAIN : RemovalPolicy.DESTROY);

    this.grantAnalyst(props.dataAnalystRole, key);
  }

  private s3Url(zone: Zone, keyPrefix = ''): string {
    return `s3://${this.bucketNames[zone]}/${keyPrefix}`;
  }

  private bucketArn(zone: Zone): string {
    return `arn:aws:s3:::${this.bucketNames[zone]}`;
  }

  private objectsArn(zone: Zone, pattern: string): string {
    return `${this.bucketArn(zone)}/${pattern}`;
  }

  private database(id: string, name: string, description: string): glue.CfnDatabase {
    return new glue.CfnDatabase(this, id, {
      catalogId: Aws.ACCOUNT_ID,
      databaseInput: { name, description },
    });
  }

  private curatedTable(dataset: DatasetConfig): glue.CfnTable {
    const partition = partitionColumn(dataset);
    const location = this.s3Url('curated', `${dataset.name}/`);
    return new glue.CfnTable(this, `${pascalCase(dataset.name)}Table`, {
      catalogId: Aws.ACCOUNT_ID,
      databaseName: this.curatedDatabaseName,
      tableInput: {
        name: dataset.name,
        description: dataset.description ?? `Curated ${dataset.name} (owner: ${dataset.ownerTeam}).`,
        tableType: 'EXTERNAL_TABLE',
        partitionKeys: [{ name: partition, type: 'date' }],
        parameters: {
          classification: 'parquet',
          'parquet.compression': 'SNAPPY',
          EXTERNAL: 'TRUE',
          'projection.enabled': 'true',
          [`projection.${partition}.type`]: 'date',
          [`projection.${partition}.format`]: 'yyyy-MM-dd',
          [`projection.${partition}.range`]: `${PROJECTION_START},NOW`,
          [`projection.${partition}.interval`]: '1',
          [`projection.${partition}.interval.unit`]: 'DAYS',
          'storage.location.template': `${location}${partition}=\${${partition}}/`,
          owner_team: dataset.ownerTeam,
          primary_key: dataset.primaryKey.join(','),
        },
        storageDescriptor: {
          location,
          inputFormat: 'org.apache.hadoop.hive.ql.io.parquet.MapredParquetInputFormat',
          outputFormat: 'org.apache.hadoop.hive.ql.io.parquet.MapredParquetOutputFormat',
          compressed: true,
          serdeInfo: {
            serializationLibrary: 'org.apache.hadoop.hive.ql.io.parquet.serde.ParquetHiveSerDe',
            parameters: { 'serialization.format': '1' },
          },
          columns: dataset.columns
            .filter((column) => column.name !== partition)
            .map((column) => ({ name: column.name, type: glueType(column.type), comment: column.description })),
        },
      },
    });
  }

  private landingCrawler(prefix: string, key: kms.IKey): glue.CfnCrawler {
    const role = new iam.Role(this, 'LandingCrawlerRole', {
      assumedBy: new iam.ServicePrincipal('glue.amazonaws.com'),
      description: 'Crawls the landing bucket into the landing database (exploration only).',
    });
    const landingObjects = this.objectsArn('landing', '*');
    const policy = new iam.Policy(this, 'LandingCrawlerPolicy', {
      roles: [role],
      statements: [
        new iam.PolicyStatement({ sid: 'ReadLanding', actions: ['s3:GetObject'], resources: [landingObjects] }),
        new iam.PolicyStatement({
          sid: 'ListLanding',
          actions: ['s3:ListBucket', 's3:GetBucketLocation'],
          resources: [this.bucketArn('landing')],
        }),
        new iam.PolicyStatement({ sid: 'DecryptLanding', actions: ['kms:Decrypt'], resources: [key.keyArn] }),
        this.glueCatalogStatement(this.landingDatabaseName, [
          'glue:GetDatabase',
          'glue:GetTable',
          'glue:GetTables',
          'glue:CreateTable',
          'glue:UpdateTable',
          'glue:GetPartition',
          'glue:GetPartitions',
          'glue:BatchCreatePartition',
          'glue:BatchGetPartition',
          'glue:UpdatePartition',
          'glue:BatchUpdatePartition',
        ]),
        this.glueLogStatement('crawlers'),
      ],
    });
    this.acknowledgeWildcards(policy, [
      [landingObjects, 'The crawler explores every dataset folder of landing, read-only.'],
      ...this.catalogWildcards(this.landingDatabaseName, 'The crawler creates and updates landing tables.'),
      ...this.logWildcards('crawlers'),
    ]);
    return new glue.CfnCrawler(this, 'LandingCrawler', {
      name: `${prefix}-landing`,
      description: `Explores ${this.bucketNames.landing} for ad-hoc queries; curated tables never need it.`,
      role: role.roleArn,
      databaseName: this.landingDatabaseName,
      crawlerSecurityConfiguration: this.securityConfigurationName,
      targets: { s3Targets: [{ path: this.s3Url('landing') }] },
      recrawlPolicy: { recrawlBehavior: 'CRAWL_NEW_FOLDERS_ONLY' },
      schemaChangePolicy: { updateBehavior: 'LOG', deleteBehavior: 'LOG' },
    });
  }

  /** Least privilege for the curate job: read staging, write curated, use the key, read its own tables, log. */
  private curateRole(key: kms.IKey, scripts: s3assets.Asset[]): iam.Role {
    const role = new iam.Role(this, 'CurateJobRole', {
      assumedBy: new iam.ServicePrincipal('glue.amazonaws.com'),
      description: 'Runs the curate Glue job.',
    });
    const staging = this.objectsArn('artifacts', 'staging/*');
    const temp = this.objectsArn('artifacts', 'glue-temp/*');
    const curated = this.objectsArn('curated', '*');
    const policy = new iam.Policy(this, 'CurateJobPolicy', {
      roles: [role],
      statements: [
        new iam.PolicyStatement({
          sid: 'ReadScripts',
          actions: ['s3:GetObject'],
          // The two script objects only (asset.grantRead would open the whole bootstrap assets bucket).
          resources: scripts.map((script) => `arn:aws:s3:::${script.s3BucketName}/${script.s3ObjectKey}`),
        }),
        new iam.PolicyStatement({
          sid: 'ReadStaging',
          actions: ['s3:GetObject', 's3:GetObjectVersion'],
          resources: [staging],
        }),
        new iam.PolicyStatement({
          sid: 'UseTempDir',
          actions: ['s3:GetObject', 's3:PutObject', 's3:DeleteObject', 's3:AbortMultipartUpload'],
          resources: [temp],
        }),
        new iam.PolicyStatement({
          sid: 'ListStagingAndTemp',
          actions: ['s3:ListBucket'],
          resources: [this.bucketArn('artifacts')],
          conditions: { StringLike: { 's3:prefix': ['staging/*', 'glue-temp/*'] } },
        }),
        new iam.PolicyStatement({
          sid: 'WriteCurated',
          actions: ['s3:GetObject', 's3:PutObject', 's3:DeleteObject', 's3:AbortMultipartUpload'],
          resources: [curated],
        }),
        new iam.PolicyStatement({
          sid: 'ListCurated',
          actions: ['s3:ListBucket', 's3:GetBucketLocation'],
          resources: [this.bucketArn('curated')],
        }),
        new iam.PolicyStatement({
          sid: 'UseKey',
          actions: ['kms:Decrypt', 'kms:Encrypt', 'kms:GenerateDataKey', 'kms:DescribeKey'],
          resources: [key.keyArn],
        }),
        this.glueCatalogStatement(this.curatedDatabaseName, CATALOG_READ),
        new iam.PolicyStatement({
          sid: 'GlueMetrics',
          actions: ['cloudwatch:PutMetricData'],
          resources: ['*'],
          conditions: { StringEquals: { 'cloudwatch:namespace': 'Glue' } },
        }),
        this.glueLogStatement('jobs'),
      ],
    });
    this.acknowledgeWildcards(policy, [
      [staging, 'Each run reads its own staging/<dataset>/run_id=<id>/ folder, known only at run time.'],
      [temp, 'Spark writes temporary files of any name under glue-temp/.'],
      [curated, 'The job owns the curated bucket: Parquet per dataset and the _mart/ CSV batches.'],
      ...this.catalogWildcards(this.curatedDatabaseName, 'The job reads the schema of its own curated tables.'),
      ...this.logWildcards('jobs'),
      ['*', 'cloudwatch:PutMetricData has no resource type; it is limited to the Glue namespace.'],
    ]);
    return role;
  }

  /** Glue catalog actions on one database and its tables. */
  private glueCatalogStatement(databaseName: string, actions: string[]): iam.PolicyStatement {
    return new iam.PolicyStatement({
      sid: `Catalog${pascalCase(databaseName)}`,
      actions,
      resources: [
        this.formatArn({ service: 'glue', resource: 'catalog' }),
        this.formatArn({ service: 'glue', resource: 'database', resourceName: databaseName }),
        this.formatArn({ service: 'glue', resource: 'table', resourceName: `${databaseName}/*` }),
      ],
    });
  }

  private catalogWildcards(databaseName: string, reason: string): [string, string][] {
    return [[this.formatArn({ service: 'glue', resource: 'table', resourceName: `${databaseName}/*` }), reason]];
  }

  private glueLogGroupsArn(kind: 'jobs' | 'crawlers'): string {
    return this.formatArn({
      service: 'logs',
      resource: 'log-group',
      resourceName: `/aws-glue/${kind}*`,
      arnFormat: ArnFormat.COLON_RESOURCE_NAME,
    });
  }

  /** Glue writes logs to `/aws-glue/<kind>*` log groups, encrypted with the key of the security configuration. */
  private glueLogStatement(kind: 'jobs' | 'crawlers'): iam.PolicyStatement {
    const logGroups = this.glueLogGroupsArn(kind);
    return new iam.PolicyStatement({
      sid: `Logs${pascalCase(kind)}`,
      actions: ['logs:CreateLogGroup', 'logs:CreateLogStream', 'logs:PutLogEvents', 'logs:AssociateKmsKey'],
      resources: [logGroups, `${logGroups}:*`],
    });
  }

  private logWildcards(kind: 'jobs' | 'crawlers'): [string, string][] {
    const logGroups = this.glueLogGroupsArn(kind);
    const reason = `Glue names its own log groups and streams under /aws-glue/${kind}.`;
    return [
      [logGroups, reason],
      [`${logGroups}:*`, reason],
    ];
  }

  /** Acknowledges IAM5 for each [wildcard resource, reason] of `policy`, by exact finding id. */
  private acknowledgeWildcards(policy: iam.Policy, wildcards: [string, string][]): void {
    acknowledgeWildcardResources(
      policy,
      wildcards.map(([resource, reason]) => ({ resource, reason })),
    );
  }

  /** Analysts query curated tables through the workgroup and read their own results: nothing else. */
  private grantAnalyst(role: iam.IRole, key: kms.IKey): void {
    const workGroupArn = this.formatArn({ service: 'athena', resource: 'workgroup', resourceName: this.workGroupName });
    const results = this.objectsArn('artifacts', 'athena-results/*');
    const policy = new iam.Policy(this, 'AnalystQueryPolicy', {
      roles: [role],
      statements: [
        new iam.PolicyStatement({
          sid: 'QueryThroughWorkGroup',
          actions: [
            'athena:StartQueryExecution',
            'athena:StopQueryExecution',
            'athena:GetQueryExecution',
            'athena:GetQueryResults',
            'athena:GetQueryResultsStream',
            'athena:BatchGetQueryExecution',
            'athena:ListQueryExecutions',
            'athena:GetWorkGroup',
          ],
          resources: [workGroupArn],
        }),
        this.glueCatalogStatement(this.curatedDatabaseName, CATALOG_READ),
        new iam.PolicyStatement({
          sid: 'QueryResults',
          actions: ['s3:GetObject', 's3:PutObject', 's3:AbortMultipartUpload', 's3:ListMultipartUploadParts'],
          resources: [results],
        }),
        new iam.PolicyStatement({
          sid: 'ListQueryResults',
          actions: ['s3:ListBucket', 's3:GetBucketLocation'],
          resources: [this.bucketArn('artifacts')],
          conditions: { StringLike: { 's3:prefix': ['athena-results/*'] } },
        }),
        new iam.PolicyStatement({
          sid: 'EncryptResultsThroughS3',
          actions: ['kms:Decrypt', 'kms:GenerateDataKey'],
          resources: [key.keyArn],
          conditions: { StringEquals: { 'kms:ViaService': `s3.${this.region}.amazonaws.com` } },
        }),
      ],
    });
    this.acknowledgeWildcards(policy, [
      [results, 'Athena names each result object after its query id.'],
      ...this.catalogWildcards(this.curatedDatabaseName, 'Analysts read every curated table, nothing else.'),
    ]);
  }
}

/** Read-only Glue catalog actions. */
const CATALOG_READ = ['glue:GetDatabase', 'glue:GetTable', 'glue:GetTables', 'glue:GetPartition', 'glue:GetPartitions'];

function pascalCase(value: string): string {
  return value
    .split(/[^A-Za-z0-9]+/)
    .filter(Boolean)
    .map((part) => part[0].toUpperCase() + part.slice(1))
    .join('');
}
