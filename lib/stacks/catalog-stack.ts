import * as path from 'node:path';
import { ArnFormat, Aws, NestedStack, Stack, type StackProps } from 'aws-cdk-lib';
import * as athena from 'aws-cdk-lib/aws-athena';
import * as glue from 'aws-cdk-lib/aws-glue';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as kms from 'aws-cdk-lib/aws-kms';
import * as s3assets from 'aws-cdk-lib/aws-s3-assets';
import type { Construct } from 'constructs';
import {
  type CuratedTableSchema,
  curatedTableSchema,
  icebergType,
  identifierFieldIds,
  PARTITION_FIELD_ID,
} from '../../config/curated-schema';
import { type DatasetConfig, type EnvironmentConfig, resolveTableMaintenance } from '../../config/schema';
import { acknowledgeWildcardResources } from '../constructs/nag-acknowledgements';
import { GrantPolicy, InlinePolicyGrantee } from '../constructs/grant-policy';
import type { ZoneBucket } from '../constructs/zone-bucket';
import type { StorageStack, Zone } from './storage-stack';
import { removalPolicyOf } from '../constructs/removal-policy';

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
  readonly storage: Pick<StorageStack, 'key' | 'zones'>;
  /** Gets Athena on the workgroup, Glue read on the curated database and the results prefix (Iam stack). */
  readonly dataAnalystRole: iam.IRole;
}

/** Glue database name for a zone: Glue and Athena want underscores, not hyphens. */
export function glueDatabaseName(prefix: string, zone: 'landing' | 'curated'): string {
  return `${prefix.replace(/-/g, '_')}_${zone}`;
}

/**
 * Table maintenance (roles and Glue table optimizers) lives in this many nested stacks, so that the Catalog stack holds
 * one resource per dataset and stays far below CloudFormation's 500 (four per dataset would pass it at ~120 datasets).
 * A dataset's group is a hash of its name: it never moves when datasets come and go. Never change this number: an
 * optimizer that moved to another group would be created there before it is deleted here, which Glue refuses.
 */
export const MAINTENANCE_GROUPS = 4;

/** The maintenance group (nested stack) of a dataset: FNV-1a of its name. */
export function maintenanceGroup(dataset: string): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < dataset.length; i++) {
    hash ^= dataset.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193) >>> 0;
  }
  return hash % MAINTENANCE_GROUPS;
}

/** Glue writes the logs of each table optimizer type to one fixed log group. */
const OPTIMIZER_LOG_GROUPS = [
  '/aws-glue/iceberg-compaction/logs',
  '/aws-glue/iceberg-retention/logs',
  '/aws-glue/iceberg-orphan-file-deletion/logs',
] as const;

/**
 * The Glue Data Catalog and the query side of the lake: databases per zone, one curated Apache Iceberg table per
 * dataset with its maintenance (compaction, snapshot retention, orphan file deletion), the security configuration, the
 * `curate` job that MERGEs each batch into its table, and the Athena workgroup analysts use.
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
  /** The curated Iceberg table of each dataset, by dataset name. */
  readonly icebergTables: Readonly<Record<string, glue.CfnTable>>;
  /** The nested stacks that maintain the tables (see {@link MAINTENANCE_GROUPS}), by group. */
  readonly maintenanceStacks: Readonly<Record<number, NestedStack>>;

  private readonly zones: Readonly<Record<Zone, ZoneBucket>>;

  constructor(scope: Construct, id: string, props: CatalogStackProps) {
    super(scope, id, props);
    const { prefix, environment, datasets } = props;
    const { key } = props.storage;
    this.zones = props.storage.zones;
    const retain = environment.storage.removalPolicy !== 'destroy';

    this.landingDatabaseName = glueDatabaseName(prefix, 'landing');
    this.curatedDatabaseName = glueDatabaseName(prefix, 'curated');
    const landingDatabase = this.database(
      'LandingDatabase',
      this.landingDatabaseName,
      'Files as received (crawled on demand).',
    );
    const curatedDatabase = this.database(
      'CuratedDatabase',
      this.curatedDatabaseName,
      'Validated, typed Apache Iceberg tables, one per dataset.',
    );

    const maintenance = resolveTableMaintenance(environment);
    const tables: Record<string, glue.CfnTable> = {};
    const groups: Record<number, NestedStack> = {};
    for (const dataset of datasets) {
      const table = this.icebergTable(dataset);
      table.node.addDependency(curatedDatabase);
      table.applyRemovalPolicy(removalPolicyOf(environment));
      tables[dataset.name] = table;
      const group = maintenanceGroup(dataset.name);
      groups[group] ??= new NestedStack(this, `TableMaintenance${group}`, {
        description: `Maintenance (compaction, snapshot retention, orphan files) of ${prefix} curated tables, group ${group}`,
      });
      this.maintainTable(groups[group], dataset, maintenance);
      groups[group].nestedStackResource?.addResourceDependency(table, 'the optimizers maintain this table');
    }
    this.icebergTables = tables;
    this.maintenanceStacks = groups;
    this.curatedTables = Object.fromEntries(datasets.map((dataset) => [dataset.name, dataset.name]));

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
      description:
        'Applies one batch of staged runs to its curated Iceberg table (one MERGE by primary key) and writes the data mart CSV batch.',
      role: this.curateJobRole.roleArn,
      glueVersion: '5.0',
      command: { name: 'glueetl', pythonVersion: '3', scriptLocation: scripts.main.s3ObjectUrl },
      workerType: environment.etl.glueWorkerType,
      numberOfWorkers: environment.etl.glueWorkers,
      timeout: environment.etl.glueTimeoutMinutes,
      // Step Functions retries a failed run with backoff; a second retry layer inside Glue would only hide failures.
      maxRetries: 0,
      // One batch per dataset at a time (the batch state machine's lock): datasets run side by side.
      executionProperty: { maxConcurrentRuns: Math.max(1, datasets.length) },
      // Runs beyond the concurrency limit wait in Glue's queue instead of failing with ConcurrentRunsExceeded.
      jobRunQueuingEnabled: true,
      securityConfiguration: this.securityConfigurationName,
      // The batch state machine adds --dataset, --batch_id, --manifest_path, --mart_path and --dataset_config.
      defaultArguments: {
        // Glue 5.0's Iceberg runtime; curate_lib.spark_conf makes the Glue Data Catalog the Iceberg catalog.
        '--datalake-formats': 'iceberg',
        '--extra-py-files': scripts.lib.s3ObjectUrl,
        // The manifest names what to read; a retried batch reads all of it again.
        '--job-bookmark-option': 'job-bookmark-disable',
        '--enable-continuous-cloudwatch-log': 'true',
        '--enable-metrics': 'true',
        '--enable-observability-metrics': 'true',
        '--TempDir': this.s3Url('artifacts', 'glue-temp/'),
        '--curated_database': this.curatedDatabaseName,
        '--artifacts_bucket': this.zones.artifacts.bucketName,
        '--curated_bucket': this.zones.curated.bucketName,
        '--kms_key_arn': key.keyArn,
      },
    });
    this.curateJob.node.addDependency(securityConfiguration, ...Object.values(tables));

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
    workGroup.applyRemovalPolicy(removalPolicyOf(environment));

    this.grantAnalyst(props.dataAnalystRole);
  }

  private s3Url(zone: Zone, keyPrefix = ''): string {
    return `s3://${this.zones[zone].bucketName}/${keyPrefix}`;
  }

  private database(id: string, name: string, description: string): glue.CfnDatabase {
    return new glue.CfnDatabase(this, id, {
      catalogId: Aws.ACCOUNT_ID,
      databaseInput: { name, description },
    });
  }

  /**
   * The dataset's Iceberg v2 table, defined only through `OpenTableFormatInput` (no `TableInput`: with one, Glue strips
   * the Iceberg parameters on the first stack update). Glue writes its first metadata.json under the location; later
   * updates (a nullable column appended, see config/curated-schema.ts) go through Glue's UpdateTable as a new schema.
   */
  private icebergTable(dataset: DatasetConfig): glue.CfnTable {
    const schema = curatedTableSchema(dataset);
    const source = schema.fields.find((field) => field.name === schema.partition.source)!;
    const identifiers = identifierFieldIds(schema);
    return new glue.CfnTable(this, `${pascalCase(dataset.name)}IcebergTable`, {
      catalogId: Aws.ACCOUNT_ID,
      databaseName: this.curatedDatabaseName,
      name: dataset.name,
      openTableFormatInput: {
        icebergInput: {
          metadataOperation: 'CREATE',
          version: '2',
          icebergTableInput: {
            location: this.s3Url('curated', `${dataset.name}/`),
            schema: {
              schemaId: 0,
              type: 'struct',
              fields: schema.fields.map((field) => ({
                id: field.id,
                name: field.name,
                type: icebergType(field.type),
                required: field.required,
                ...(field.doc === undefined ? {} : { doc: truncate(field.doc, 255) }),
              })),
              ...(identifiers === undefined ? {} : { identifierFieldIds: identifiers }),
            },
            partitionSpec: {
              specId: 0,
              fields: [
                {
                  name: schema.partition.name,
                  sourceId: source.id,
                  transform: schema.partition.transform,
                  fieldId: PARTITION_FIELD_ID,
                },
              ],
            },
            properties: icebergTableProperties(dataset, schema),
          },
        },
      },
    });
  }

  /**
   * Glue table optimizers of one table, under a role that can touch only that table's files, its catalog entry, its
   * optimizer log groups and (through S3) the platform key.
   */
  private maintainTable(
    scope: Construct,
    dataset: DatasetConfig,
    maintenance: ReturnType<typeof resolveTableMaintenance>,
  ): void {
    const name = pascalCase(dataset.name);
    const logGroups = OPTIMIZER_LOG_GROUPS.map((group) =>
      this.formatArn({
        service: 'logs',
        resource: 'log-group',
        resourceName: `${group}:*`,
        arnFormat: ArnFormat.COLON_RESOURCE_NAME,
      }),
    );
    const document = new iam.PolicyDocument();
    const role = new iam.Role(scope, `${name}MaintenanceRole`, {
      assumedBy: new iam.ServicePrincipal('glue.amazonaws.com'),
      description: `Glue table optimizers of the curated table ${this.curatedDatabaseName}.${dataset.name}`,
      // Inline: one resource per table (the stack counts them), created with the role the optimizers depend on.
      inlinePolicies: { TableMaintenance: document },
    });
    const grantee = new InlinePolicyGrantee(role, document);
    const curated = this.zones.curated;
    const tableFiles = `Iceberg names the data and metadata files of ${dataset.name} itself.`;
    // Orphan file deletion only reads and deletes; compaction and snapshot expiry also write.
    curated.grantRead(grantee, `${dataset.name}/*`, tableFiles);
    curated.grantWrite(grantee, `${dataset.name}/*`, tableFiles);
    curated.grantDelete(grantee, `${dataset.name}/*`, tableFiles);
    curated.grantList(grantee, { prefixes: [`${dataset.name}/`, `${dataset.name}/*`] });
    // The Glue catalog and log groups are no constructs of ours: named by formatArn.
    document.addStatements(
      new iam.PolicyStatement({
        sid: 'TableMetadata',
        actions: ['glue:GetTable', 'glue:UpdateTable'],
        resources: [
          this.formatArn({ service: 'glue', resource: 'catalog' }),
          this.formatArn({ service: 'glue', resource: 'database', resourceName: this.curatedDatabaseName }),
          this.formatArn({
            service: 'glue',
            resource: 'table',
            resourceName: `${this.curatedDatabaseName}/${dataset.name}`,
          }),
        ],
      }),
    );
    document.addStatements(
      new iam.PolicyStatement({
        sid: 'OptimizerLogs',
        actions: ['logs:CreateLogGroup', 'logs:CreateLogStream', 'logs:PutLogEvents'],
        resources: logGroups,
      }),
    );
    acknowledgeWildcardResources(
      role,
      logGroups.map((resource) => ({
        resource,
        reason: 'Glue names the log streams of each optimizer run in its fixed log group.',
      })),
    );
    const optimizer = (
      id: string,
      type: 'compaction' | 'retention' | 'orphan_file_deletion',
      configuration: Omit<glue.CfnTableOptimizer.TableOptimizerConfigurationProperty, 'roleArn' | 'enabled'>,
    ) => {
      const resource = new glue.CfnTableOptimizer(scope, `${name}${id}`, {
        catalogId: Aws.ACCOUNT_ID,
        databaseName: this.curatedDatabaseName,
        tableName: dataset.name,
        type,
        tableOptimizerConfiguration: { roleArn: role.roleArn, enabled: true, ...configuration },
      });
      resource.node.addDependency(role);
    };
    // Bin-packing folds the merge-on-read delete files of the batches into rewritten data files off the write path.
    optimizer('Compaction', 'compaction', {
      compactionConfiguration: { icebergConfiguration: { strategy: 'binpack' } },
    });
    optimizer('SnapshotRetention', 'retention', {
      retentionConfiguration: {
        icebergConfiguration: {
          snapshotRetentionPeriodInDays: maintenance.snapshotRetentionDays,
          numberOfSnapshotsToRetain: maintenance.snapshotsToRetain,
          cleanExpiredFiles: true,
        },
      },
    });
    optimizer('OrphanFileDeletion', 'orphan_file_deletion', {
      orphanFileDeletionConfiguration: {
        icebergConfiguration: {
          orphanFileRetentionPeriodInDays: maintenance.orphanFileRetentionDays,
          location: this.s3Url('curated', `${dataset.name}/`),
        },
      },
    });
  }

  private landingCrawler(prefix: string, key: kms.IKey): glue.CfnCrawler {
    const role = new iam.Role(this, 'LandingCrawlerRole', {
      assumedBy: new iam.ServicePrincipal('glue.amazonaws.com'),
      description: 'Crawls the landing bucket into the landing database (exploration only).',
    });
    const landing = this.zones.landing;
    landing.grantRead(role, '*', 'The crawler explores every dataset folder of landing, read-only.');
    landing.grantList(role, { location: true });
    const policy = new iam.Policy(this, 'LandingCrawlerPolicy', {
      roles: [role],
      statements: [
        // Glue decrypts with the security configuration's key itself (bookmarks, logs), not only through S3.
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
      ...this.catalogWildcards(this.landingDatabaseName, 'The crawler creates and updates landing tables.'),
      ...this.logWildcards('crawlers'),
    ]);
    return new glue.CfnCrawler(this, 'LandingCrawler', {
      name: `${prefix}-landing`,
      description: `Explores ${this.zones.landing.bucketName} for ad-hoc queries; curated tables never need it.`,
      role: role.roleArn,
      databaseName: this.landingDatabaseName,
      crawlerSecurityConfiguration: this.securityConfigurationName,
      targets: { s3Targets: [{ path: this.s3Url('landing') }] },
      recrawlPolicy: { recrawlBehavior: 'CRAWL_NEW_FOLDERS_ONLY' },
      schemaChangePolicy: { updateBehavior: 'LOG', deleteBehavior: 'LOG' },
    });
  }

  /**
   * Least privilege for the curate job: read the batch manifests and the staging, write the curated tables and mart
   * batches, commit to its own tables in the catalog, use the key, log.
   */
  private curateRole(key: kms.IKey, scripts: s3assets.Asset[]): iam.Role {
    const role = new iam.Role(this, 'CurateJobRole', {
      assumedBy: new iam.ServicePrincipal('glue.amazonaws.com'),
      description: 'Runs the curate Glue job.',
    });
    const { artifacts, curated } = this.zones;
    artifacts.grantRead(
      role,
      'batches/*',
      'Each batch reads its own batches/<dataset>/batch_id=<id>/manifest.json, known only at run time.',
    );
    artifacts.grantRead(
      role,
      'staging/*',
      'A batch reads the staging/<dataset>/run_id=<id>/ folders its manifest lists, known only at run time.',
      { versions: true },
    );
    const temp = 'Spark writes temporary files of any name under glue-temp/.';
    artifacts.grantRead(role, 'glue-temp/*', temp);
    artifacts.grantWrite(role, 'glue-temp/*', temp);
    artifacts.grantDelete(role, 'glue-temp/*', temp);
    artifacts.grantList(role, { prefixes: ['staging/*', 'glue-temp/*'] });
    const tables =
      'The curated bucket holds only what this job writes: each table under <dataset>/ (Iceberg names its files) and the _mart/ CSV batches.';
    curated.grantRead(role, '*', tables);
    curated.grantWrite(role, '*', tables);
    curated.grantDelete(role, '*', tables);
    curated.grantList(role, { location: true });
    const policy = new iam.Policy(this, 'CurateJobPolicy', {
      roles: [role],
      statements: [
        new iam.PolicyStatement({
          sid: 'ReadScripts',
          actions: ['s3:GetObject'],
          // The two script objects only (asset.grantRead would open the whole bootstrap assets bucket).
          resources: scripts.map((script) =>
            this.formatArn({
              service: 's3',
              region: '',
              account: '',
              resource: script.s3BucketName,
              resourceName: script.s3ObjectKey,
            }),
          ),
        }),
        // The security configuration's key, used by Glue itself (job bookmarks CSE-KMS, logs), not only through S3.
        new iam.PolicyStatement({
          sid: 'UseKey',
          actions: ['kms:Decrypt', 'kms:Encrypt', 'kms:GenerateDataKey', 'kms:DescribeKey'],
          resources: [key.keyArn],
        }),
        // UpdateTable is the Iceberg commit (GlueCatalog swaps metadata_location) and ALTER TABLE ADD COLUMNS.
        this.glueCatalogStatement(this.curatedDatabaseName, [
          'glue:GetDatabase',
          'glue:GetTable',
          'glue:GetTables',
          'glue:UpdateTable',
        ]),
        // PutMetricData has no resource type; the condition keeps it to the Glue namespace.
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
      ...this.catalogWildcards(
        this.curatedDatabaseName,
        'The job commits to the curated tables, the only tables there.',
      ),
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

  /**
   * Lets `role` run queries on the curated tables through the workgroup (the integration test checks a batch through
   * Athena): start, follow and stop queries, read the tables' catalog entries and files, write and read results.
   * Analysts get more through their own policy (see the Iam stack for their S3 read).
   */
  grantCuratedQuery(id: string, role: iam.IRole): iam.Policy {
    // In a policy of this stack: the role's own (Iam stack) must not name this stack's tables.
    const policy = new GrantPolicy(this, id, { roles: [role] });
    policy.addStatements(
      this.workGroupQueryStatement([]),
      this.glueCatalogStatement(this.curatedDatabaseName, ['glue:GetDatabase', 'glue:GetTable', 'glue:GetTables']),
    );
    const { artifacts, curated } = this.zones;
    for (const name of Object.keys(this.icebergTables)) {
      curated.grantRead(policy, `${name}/*`, 'Athena reads the files the Iceberg metadata names.');
    }
    const results = 'Athena names each result object after its query id.';
    artifacts.grantRead(policy, 'athena-results/*', results);
    artifacts.grantWrite(policy, 'athena-results/*', results);
    curated.grantList(policy, { location: true });
    artifacts.grantList(policy, { location: true });
    this.acknowledgeWildcards(
      policy,
      this.catalogWildcards(this.curatedDatabaseName, 'Queries read the curated tables, nothing else.'),
    );
    return policy;
  }

  /**
   * Running queries in the workgroup and reading their results, plus `extra` actions on it. The workgroup and the
   * catalog are L1 resources without grants: named by formatArn.
   */
  private workGroupQueryStatement(extra: readonly string[]): iam.PolicyStatement {
    return new iam.PolicyStatement({
      sid: 'QueryThroughWorkGroup',
      actions: [
        'athena:StartQueryExecution',
        'athena:StopQueryExecution',
        'athena:GetQueryExecution',
        'athena:GetQueryResults',
        ...extra,
        'athena:GetWorkGroup',
      ],
      resources: [this.formatArn({ service: 'athena', resource: 'workgroup', resourceName: this.workGroupName })],
    });
  }

  /** Analysts query curated tables through the workgroup and read their own results: nothing else. */
  private grantAnalyst(role: iam.IRole): void {
    const policy = new GrantPolicy(this, 'AnalystQueryPolicy', { roles: [role] });
    policy.addStatements(
      // An analyst's client also streams results and lists its query history.
      this.workGroupQueryStatement([
        'athena:GetQueryResultsStream',
        'athena:BatchGetQueryExecution',
        'athena:ListQueryExecutions',
      ]),
      this.glueCatalogStatement(this.curatedDatabaseName, CATALOG_READ),
    );
    const { artifacts } = this.zones;
    const results = 'Athena names each result object after its query id.';
    artifacts.grantRead(policy, 'athena-results/*', results);
    artifacts.grantWrite(policy, 'athena-results/*', results);
    artifacts.grantList(policy, { location: true, prefixes: ['athena-results/*'] });
    this.acknowledgeWildcards(
      policy,
      this.catalogWildcards(this.curatedDatabaseName, 'Analysts read every curated table, nothing else.'),
    );
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

/**
 * Iceberg table properties: merge-on-read writes, metadata hygiene, what the table is. Nothing that other settings
 * tune (the retention is the optimizer's): every change here is an update of the table's Iceberg metadata.
 */
function icebergTableProperties(dataset: DatasetConfig, schema: CuratedTableSchema): Record<string, string> {
  return {
    'write.format.default': 'parquet',
    'write.parquet.compression-codec': 'zstd',
    // A MERGE writes the batch's rows plus position-delete files instead of rewriting every data file it touches
    // (copy-on-write): a 1 MB batch into a 10 GB day costs ~1 MB, not ~10 GB. Compaction folds the deletes later.
    'write.merge.mode': 'merge-on-read',
    'write.update.mode': 'merge-on-read',
    'write.delete.mode': 'merge-on-read',
    // Rows are clustered by partition before they are written: one file per touched day, not one per task and day.
    'write.merge.distribution-mode': 'hash',
    'write.metadata.delete-after-commit.enabled': 'true',
    'write.metadata.previous-versions-max': '100',
    comment: truncate(dataset.description ?? `Curated ${dataset.name} (owner: ${dataset.ownerTeam}).`, 255),
    owner_team: dataset.ownerTeam,
    primary_key: schema.primaryKey.join(','),
  };
}

function truncate(text: string, max: number): string {
  return text.length <= max ? text : `${text.slice(0, max - 1)}…`;
}
