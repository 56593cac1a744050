import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { Annotations, Match, Template } from 'aws-cdk-lib/assertions';
import { acceptedFileOf, LINEAGE_COLUMN_NAMES } from '../../../config/curated-schema';
import { type DatasetConfig, datasetSchema } from '../../../config/schema';
import { CatalogStack, MAINTENANCE_GROUPS, maintenanceGroup } from '../../../lib/stacks/catalog-stack';
import { exampleConfig, exampleEnvironment, REPO_ROOT, testApp } from '../../helpers/app';
import { expectLeastPrivilege, permissionsOfRole, sortPermissions } from '../../helpers/least-privilege';
import { foundation, fromStack } from '../../integration/helpers/foundation';

function build(envName: 'dev' | 'prod' = 'dev', datasets: readonly DatasetConfig[] = exampleConfig().datasets) {
  const app = testApp();
  const base = foundation(app, envName);
  const stack = new CatalogStack(app, 'Catalog', {
    ...base.common,
    env: base.env,
    datasets,
    storage: base.storage,
    dataAnalystRole: base.iam.dataAnalystRole,
  });
  return { stack, base };
}

function synth(envName: 'dev' | 'prod' = 'dev', datasets: readonly DatasetConfig[] = exampleConfig().datasets) {
  const { stack } = build(envName, datasets);
  return { stack, template: Template.fromStack(stack) };
}

const CURATED = 'dp-dev-curated-222222222222-eu-west-1';
const HAS_PYTHON = spawnSync('python3', ['--version']).status === 0;

/** An IAM policy statement as synthesized. */
interface Statement {
  readonly Sid: string;
  readonly Action: string | string[];
  readonly Resource: unknown;
  readonly Condition?: unknown;
}
const ARTIFACTS = 'dp-dev-artifacts-222222222222-eu-west-1';

/** The table resource of a dataset. */
function tableOf(template: Template, name: string) {
  const [table] = Object.values(template.findResources('AWS::Glue::Table', { Properties: { Name: name } }));
  if (!table) throw new Error(`no table ${name}`);
  return table;
}

/** The Iceberg input of a dataset's table. */
function icebergInputOf(template: Template, name: string) {
  return tableOf(template, name).Properties.OpenTableFormatInput.IcebergInput;
}

/** The maintenance nested stack template of a dataset. */
function maintenanceOf(stack: CatalogStack, dataset: string): Template {
  return Template.fromStack(stack.maintenanceStacks[maintenanceGroup(dataset)]);
}

/** `count` datasets of three columns each, as a config would define them. */
function generatedDatasets(count: number): DatasetConfig[] {
  return Array.from({ length: count }, (_, index) =>
    datasetSchema.parse({
      name: `dataset_${String(index).padStart(3, '0')}`,
      ownerTeam: 'team',
      format: 'ndjson',
      columns: [
        { name: 'id', type: 'string', nullable: false },
        { name: 'at', type: 'timestamp', nullable: false },
        { name: 'value', type: 'double' },
      ],
      primaryKey: ['id'],
    }),
  );
}

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

  test('a curated Iceberg v2 table per dataset, defined only through OpenTableFormatInput, under curated/<dataset>/', () => {
    template.resourceCountIs('AWS::Glue::Table', exampleConfig().datasets.length);
    const table = tableOf(template, 'impressions');
    // A TableInput next to the Iceberg input makes Glue drop the Iceberg parameters on the first update.
    expect(table.Properties.TableInput).toBeUndefined();
    expect(table.Properties).toEqual(
      expect.objectContaining({ CatalogId: { Ref: 'AWS::AccountId' }, DatabaseName: 'dp_dev_curated' }),
    );
    const input = icebergInputOf(template, 'impressions');
    expect(input).toEqual(expect.objectContaining({ MetadataOperation: 'CREATE', Version: '2' }));
    expect(input.IcebergTableInput.Location).toBe(`s3://${CURATED}/impressions/`);
    expect(stack.curatedTables).toEqual({ clicks: 'clicks', impressions: 'impressions' });
  });

  test('columns typed from the config (every type), lineage first, the primary key as identifier field', () => {
    const { Schema } = icebergInputOf(template, 'impressions').IcebergTableInput;
    expect(Schema).toEqual(expect.objectContaining({ SchemaId: 0, Type: 'struct', IdentifierFieldIds: [5] }));
    const fields = Schema.Fields.map((f: { Id: number; Name: string; Type: string; Required: boolean }) => [
      f.Id,
      f.Name,
      f.Type,
      f.Required,
    ]);
    expect(fields).toEqual([
      [1, '_batch_id', 'string', true],
      [2, '_run_id', 'string', true],
      [3, '_ingest_date', 'date', true],
      [4, '_record', 'long', true],
      [5, 'impression_id', 'string', true],
      [6, 'event_time', 'timestamptz', true],
      [7, 'event_date', 'date', true],
      [8, 'campaign_id', 'long', true],
      [9, 'creative_id', 'int', true],
      [10, 'placement', 'string', true],
      [11, 'device_type', 'string', false],
      [12, 'country', 'string', false],
      [13, 'bid_price_usd', 'decimal(12,6)', true],
      [14, 'viewable', 'boolean', false],
      [15, 'viewability_score', 'double', false],
    ]);
  });

  test('the table definition is the accepted schema of config/curated-schemas (same names, ids and types)', () => {
    for (const dataset of exampleConfig().datasets) {
      const accepted = JSON.parse(readFileSync(acceptedFileOf(path.join(REPO_ROOT, 'config'), dataset.name), 'utf8'));
      const { Schema } = icebergInputOf(template, dataset.name).IcebergTableInput;
      expect(Schema.Fields.map((f: { Id: number; Name: string }) => [f.Id, f.Name])).toEqual(
        accepted.fields.map((f: { id: number; name: string }) => [f.id, f.name]),
      );
      expect(Schema.Fields.slice(0, 4).map((f: { Name: string }) => f.Name)).toEqual(LINEAGE_COLUMN_NAMES);
    }
  });

  test('hidden partitioning: day(<date column>), or day(_ingest_date) for datasets partitioned by ingest date', () => {
    expect(icebergInputOf(template, 'impressions').IcebergTableInput.PartitionSpec).toEqual({
      SpecId: 0,
      Fields: [{ Name: 'event_date_day', SourceId: 7, Transform: 'day', FieldId: 1000 }],
    });
    expect(icebergInputOf(template, 'clicks').IcebergTableInput.PartitionSpec).toEqual({
      SpecId: 0,
      Fields: [{ Name: '_ingest_date_day', SourceId: 3, Transform: 'day', FieldId: 1000 }],
    });
  });

  test("merge-on-read writes, zstd Parquet, metadata clean-up; the retention is the optimizer's alone", () => {
    expect(icebergInputOf(template, 'clicks').IcebergTableInput.Properties).toEqual(
      expect.objectContaining({
        'write.format.default': 'parquet',
        'write.parquet.compression-codec': 'zstd',
        'write.merge.mode': 'merge-on-read',
        'write.update.mode': 'merge-on-read',
        'write.delete.mode': 'merge-on-read',
        'write.merge.distribution-mode': 'hash',
        'write.metadata.delete-after-commit.enabled': 'true',
        comment: 'One row per click on an impression, from the click tracker (CSV exports).',
        primary_key: 'click_id',
      }),
    );
    // A retention change must not update the table: the optimizer carries it.
    const properties = Object.keys(icebergInputOf(template, 'clicks').IcebergTableInput.Properties);
    expect(properties.filter((key) => key.startsWith('history.'))).toEqual([]);
  });

  test('tables are destroyed with a destroy environment and retained elsewhere', () => {
    expect(tableOf(template, 'clicks').DeletionPolicy).toBe('Delete');
    const prod = synth('prod');
    expect(tableOf(prod.template, 'clicks').DeletionPolicy).toBe('Retain');
  });

  describe('table maintenance', () => {
    test('compaction, snapshot retention and orphan file deletion per table, a week of snapshots in Dev', () => {
      for (const dataset of exampleConfig().datasets) {
        const maintenance = maintenanceOf(stack, dataset.name);
        const optimizer = (type: string) =>
          Object.values(
            maintenance.findResources('AWS::Glue::TableOptimizer', {
              Properties: { TableName: dataset.name, Type: type },
            }),
          );
        expect(optimizer('compaction')).toHaveLength(1);
        maintenance.hasResourceProperties('AWS::Glue::TableOptimizer', {
          CatalogId: { Ref: 'AWS::AccountId' },
          DatabaseName: 'dp_dev_curated',
          TableName: dataset.name,
          Type: 'compaction',
          TableOptimizerConfiguration: Match.objectLike({
            Enabled: true,
            CompactionConfiguration: { IcebergConfiguration: { Strategy: 'binpack' } },
          }),
        });
        maintenance.hasResourceProperties('AWS::Glue::TableOptimizer', {
          TableName: dataset.name,
          Type: 'retention',
          TableOptimizerConfiguration: Match.objectLike({
            Enabled: true,
            RetentionConfiguration: {
              IcebergConfiguration: {
                SnapshotRetentionPeriodInDays: 7,
                NumberOfSnapshotsToRetain: 10,
                CleanExpiredFiles: true,
              },
            },
          }),
        });
        maintenance.hasResourceProperties('AWS::Glue::TableOptimizer', {
          TableName: dataset.name,
          Type: 'orphan_file_deletion',
          TableOptimizerConfiguration: Match.objectLike({
            Enabled: true,
            OrphanFileDeletionConfiguration: {
              IcebergConfiguration: {
                OrphanFileRetentionPeriodInDays: 3,
                Location: `s3://${CURATED}/${dataset.name}/`,
              },
            },
          }),
        });
      }
    });

    test('a month of snapshots in Prod', () => {
      const prod = synth('prod');
      maintenanceOf(prod.stack, 'impressions').hasResourceProperties('AWS::Glue::TableOptimizer', {
        Type: 'retention',
        TableOptimizerConfiguration: Match.objectLike({
          RetentionConfiguration: { IcebergConfiguration: Match.objectLike({ SnapshotRetentionPeriodInDays: 30 }) },
        }),
      });
    });

    test("each table's optimizers run as a role that touches only that table's files, entry, logs and (via S3) the key", () => {
      const maintenance = maintenanceOf(stack, 'impressions');
      const roles = maintenance.findResources('AWS::IAM::Role', {
        Properties: { Description: Match.stringLikeRegexp('dp_dev_curated.impressions$') },
      });
      expect(Object.keys(roles)).toHaveLength(1);
      const [role] = Object.values(roles);
      expect(role.Properties.AssumeRolePolicyDocument.Statement).toEqual([
        expect.objectContaining({ Principal: { Service: 'glue.amazonaws.com' }, Action: 'sts:AssumeRole' }),
      ]);
      const statements = role.Properties.Policies.flatMap(
        (policy: { PolicyDocument: { Statement: unknown[] } }) => policy.PolicyDocument.Statement,
      );
      const bySid: Record<string, Statement> = Object.fromEntries(statements.map((s: Statement) => [s.Sid, s]));
      const [roleId] = Object.keys(roles);
      const tableFiles = `arn:aws:s3:::${CURATED}/impressions/*`;
      expect(permissionsOfRole(maintenance, roleId, 's3')).toEqual(
        sortPermissions([
          ...[
            's3:AbortMultipartUpload',
            's3:DeleteObject',
            's3:GetObject',
            's3:ListMultipartUploadParts',
            's3:PutObject',
          ].map((action) => ({ effect: 'Allow', action, resource: tableFiles })),
          {
            effect: 'Allow',
            action: 's3:ListBucket',
            resource: `arn:aws:s3:::${CURATED}`,
            condition: { StringLike: { 's3:prefix': ['impressions/', 'impressions/*'] } },
          },
        ]),
      );
      expect(permissionsOfRole(maintenance, roleId, 'kms')).toEqual(
        ['kms:Decrypt', 'kms:GenerateDataKey'].map((action) => ({
          effect: 'Allow',
          action,
          resource: expect.anything(),
          condition: { StringEquals: { 'kms:ViaService': 's3.eu-west-1.amazonaws.com' } },
        })),
      );
      expect(bySid.TableMetadata.Action).toEqual(['glue:GetTable', 'glue:UpdateTable']);
      expect(bySid.TableMetadata.Resource).toEqual([
        'arn:aws:glue:eu-west-1:222222222222:catalog',
        'arn:aws:glue:eu-west-1:222222222222:database/dp_dev_curated',
        'arn:aws:glue:eu-west-1:222222222222:table/dp_dev_curated/impressions',
      ]);
      expect([...(bySid.OptimizerLogs.Resource as string[])].sort()).toEqual([
        'arn:aws:logs:eu-west-1:222222222222:log-group:/aws-glue/iceberg-compaction/logs:*',
        'arn:aws:logs:eu-west-1:222222222222:log-group:/aws-glue/iceberg-orphan-file-deletion/logs:*',
        'arn:aws:logs:eu-west-1:222222222222:log-group:/aws-glue/iceberg-retention/logs:*',
      ]);
      // Nothing of another table, of landing or of artifacts.
      const text = JSON.stringify(statements);
      expect(text).not.toMatch(/clicks|landing|artifacts|table\/dp_dev_curated\/\*/);
      maintenance.hasResourceProperties('AWS::Glue::TableOptimizer', {
        TableName: 'impressions',
        TableOptimizerConfiguration: Match.objectLike({
          RoleArn: { 'Fn::GetAtt': [maintenance.getResourceId('AWS::IAM::Role'), 'Arn'] },
        }),
      });
      for (const nested of Object.values(stack.maintenanceStacks)) expectLeastPrivilege(Template.fromStack(nested));
    });

    test('maintenance lives in nested stacks chosen by a stable hash, each after the tables it maintains', () => {
      expect(maintenanceGroup('impressions')).toBe(maintenanceGroup('impressions'));
      const groups = new Set(generatedDatasets(40).map((dataset) => maintenanceGroup(dataset.name)));
      expect([...groups].sort()).toEqual([0, 1, 2, 3].slice(0, MAINTENANCE_GROUPS));
      for (const dataset of exampleConfig().datasets) {
        const nested = stack.maintenanceStacks[maintenanceGroup(dataset.name)];
        const resource = nested.nestedStackResource!;
        expect(template.toJSON().Resources[stack.getLogicalId(resource)].DependsOn).toContain(
          stack.getLogicalId(stack.icebergTables[dataset.name]),
        );
      }
    });

    test('100 datasets stay far below 500 resources in the Catalog stack and in each maintenance stack', () => {
      const big = synth('dev', generatedDatasets(100));
      const count = (t: Template) => Object.keys(t.toJSON().Resources).length;
      const catalogResources = count(big.template);
      expect(catalogResources).toBeLessThan(150);
      const nested = Object.values(big.stack.maintenanceStacks).map((n) => count(Template.fromStack(n)));
      expect(nested).toHaveLength(MAINTENANCE_GROUPS);
      expect(nested.reduce((a, b) => a + b, 0)).toBe(4 * 100);
      expect(Math.max(...nested)).toBeLessThan(200);
    });
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

  test('curate job: Glue 5.0 with Iceberg, sized from the environment, one run per dataset at a time, no bookmarks', () => {
    const etl = exampleEnvironment('dev').etl;
    template.hasResourceProperties('AWS::Glue::Job', {
      Name: 'dp-dev-curate',
      GlueVersion: '5.0',
      Command: Match.objectLike({ Name: 'glueetl', PythonVersion: '3' }),
      WorkerType: etl.glueWorkerType,
      NumberOfWorkers: etl.glueWorkers,
      Timeout: etl.glueTimeoutMinutes,
      MaxRetries: 0,
      SecurityConfiguration: 'dp-dev-glue',
      ExecutionProperty: { MaxConcurrentRuns: exampleConfig().datasets.length },
      JobRunQueuingEnabled: true,
      DefaultArguments: {
        '--datalake-formats': 'iceberg',
        '--extra-py-files': Match.stringLikeRegexp('\\.zip$'),
        '--job-bookmark-option': 'job-bookmark-disable',
        '--enable-continuous-cloudwatch-log': 'true',
        '--enable-metrics': 'true',
        '--enable-observability-metrics': 'true',
        '--TempDir': `s3://${ARTIFACTS}/glue-temp/`,
        '--curated_database': 'dp_dev_curated',
        '--artifacts_bucket': ARTIFACTS,
        '--curated_bucket': CURATED,
        '--kms_key_arn': fromStack('dp-dev-storage', /Key/),
      },
    });
    const [job] = Object.values(template.findResources('AWS::Glue::Job'));
    expect(job.DependsOn).toEqual(expect.arrayContaining(['ClicksIcebergTable', 'ImpressionsIcebergTable']));
  });

  // Needs python3 (as test/lib/assets/glue/python.test.ts, which says so when it is missing).
  (HAS_PYTHON ? test : test.skip)(
    "the job's default arguments plus the batch state machine's are what curate.py parses",
    () => {
      const [job] = Object.values(template.findResources('AWS::Glue::Job'));
      const defaults = { ...job.Properties.DefaultArguments } as Record<string, unknown>;
      defaults['--kms_key_arn'] = 'arn:aws:kms:eu-west-1:222222222222:key/0f8e5c1a-1111-4a2b-9c3d-1234567890ab';
      const dataset = exampleConfig().datasets.find((d) => d.name === 'impressions')!;
      const batch = 'b-2026-12-02T10.00.00Z';
      const fromStateMachine = {
        '--dataset': 'impressions',
        '--batch_id': batch,
        '--manifest_path': `s3://${ARTIFACTS}/batches/impressions/batch_id=${batch}/manifest.json`,
        '--mart_path': `s3://${CURATED}/_mart/impressions/batch_id=${batch}/`,
        '--dataset_config': JSON.stringify(dataset),
      };
      const argv = ['curate.py', '--JOB_NAME', 'dp-dev-curate'];
      for (const [name, value] of Object.entries({ ...defaults, ...fromStateMachine })) argv.push(name, String(value));
      const script = [
        'import json, sys',
        `sys.path.insert(0, ${JSON.stringify(path.join(REPO_ROOT, 'lib', 'assets', 'glue'))})`,
        'import curate_lib',
        'args = curate_lib.parse_args(sys.argv[1:])',
        'print(json.dumps({"table": curate_lib.table_identifier(args), "conf": dict(curate_lib.spark_conf(args)), "temp": curate_lib.changes_temp_path(args)}))',
      ].join('\n');
      const run = spawnSync('python3', ['-c', script, ...argv], { encoding: 'utf8' });
      expect(run.stderr).toBe('');
      const parsed = JSON.parse(run.stdout);
      expect(parsed.table).toBe('glue_catalog.`dp_dev_curated`.`impressions`');
      expect(parsed.conf['spark.sql.catalog.glue_catalog.warehouse']).toBe(`s3://${CURATED}/`);
      expect(parsed.conf['spark.sql.catalog.glue_catalog.s3.sse.type']).toBe('kms');
      expect(parsed.temp).toBe(`s3://${ARTIFACTS}/glue-temp/curate/impressions/batch_id=${batch}/changes/`);
    },
  );

  test('curate job role: reads manifests and staging, writes curated, commits to curated tables only, never landing', () => {
    const policies = template.findResources('AWS::IAM::Policy', {
      Properties: { Roles: [{ Ref: stack.getLogicalId(stack.curateJobRole.node.defaultChild as never) }] },
    });
    const statements = Object.values(policies).flatMap((p) => p.Properties.PolicyDocument.Statement);
    const bySid: Record<string, Statement> = Object.fromEntries(statements.map((s: Statement) => [s.Sid, s]));
    const roleId = stack.getLogicalId(stack.curateJobRole.node.defaultChild as never);
    const objects = (bucket: string, pattern: string, actions: string[]) =>
      actions.map((action) => ({ effect: 'Allow', action, resource: `arn:aws:s3:::${bucket}/${pattern}` }));
    const readWriteDelete = [
      's3:AbortMultipartUpload',
      's3:DeleteObject',
      's3:GetObject',
      's3:ListMultipartUploadParts',
      's3:PutObject',
    ];
    const s3 = permissionsOfRole(template, roleId, 's3').filter(
      (p) => !JSON.stringify(p.resource).includes('cdk-') /* the two script objects of the assets bucket */,
    );
    expect(s3).toEqual(
      sortPermissions([
        ...objects(ARTIFACTS, 'batches/*', ['s3:GetObject']),
        ...objects(ARTIFACTS, 'staging/*', ['s3:GetObject', 's3:GetObjectVersion']),
        ...objects(ARTIFACTS, 'glue-temp/*', readWriteDelete),
        ...objects(CURATED, '*', readWriteDelete),
        {
          effect: 'Allow',
          action: 's3:ListBucket',
          resource: `arn:aws:s3:::${ARTIFACTS}`,
          condition: { StringLike: { 's3:prefix': ['staging/*', 'glue-temp/*'] } },
        },
        { effect: 'Allow', action: 's3:ListBucket', resource: `arn:aws:s3:::${CURATED}` },
        { effect: 'Allow', action: 's3:GetBucketLocation', resource: `arn:aws:s3:::${CURATED}` },
      ]),
    );
    expect(bySid.CatalogDpDevCurated).toEqual(
      expect.objectContaining({
        Action: ['glue:GetDatabase', 'glue:GetTable', 'glue:GetTables', 'glue:UpdateTable'],
        Resource: [
          'arn:aws:glue:eu-west-1:222222222222:catalog',
          'arn:aws:glue:eu-west-1:222222222222:database/dp_dev_curated',
          'arn:aws:glue:eu-west-1:222222222222:table/dp_dev_curated/*',
        ],
      }),
    );
    const text = JSON.stringify(statements);
    expect(text).not.toMatch(/landing|CreateTable|DeleteTable/);
    expectLeastPrivilege(template);
  });

  test('Athena workgroup enforces its settings, encrypts results in artifacts and limits the scan', () => {
    template.hasResourceProperties('AWS::Athena::WorkGroup', {
      Name: 'dp-dev',
      WorkGroupConfiguration: Match.objectLike({
        EnforceWorkGroupConfiguration: true,
        BytesScannedCutoffPerQuery: exampleEnvironment('dev').etl.athenaScanLimitBytes,
        EngineVersion: { SelectedEngineVersion: 'Athena engine version 3' },
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

  test('grantCuratedQuery lets a role query the curated tables through the workgroup and read their files', () => {
    const { stack: granting, base } = build('dev');
    granting.grantCuratedQuery('IntegrationTestQueryPolicy', base.iam.integrationTestRole);
    const granted = Template.fromStack(granting);
    granted.hasResourceProperties('AWS::IAM::Policy', {
      Roles: [fromStack('dp-dev-iam', /IntegrationTest/)],
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({
            Sid: 'QueryThroughWorkGroup',
            Action: Match.arrayWith(['athena:GetQueryResults', 'athena:StartQueryExecution']),
            Resource: 'arn:aws:athena:eu-west-1:222222222222:workgroup/dp-dev',
          }),
        ]),
      },
    });
    const roleId = /IntegrationTest/;
    const policies = Object.values(
      granted.findResources('AWS::IAM::Policy', { Properties: { Roles: [fromStack('dp-dev-iam', roleId)] } }),
    );
    expect(policies).toHaveLength(1);
    const s3 = sortPermissions(
      policies[0].Properties.PolicyDocument.Statement.flatMap(
        (st: { Action: string | string[]; Resource: unknown; Effect: string; Condition?: unknown }) =>
          [st.Action]
            .flat()
            .filter((a) => a.startsWith('s3:'))
            .flatMap((action) =>
              [st.Resource].flat().map((resource) => ({
                effect: st.Effect,
                action,
                resource,
                ...(st.Condition ? { condition: st.Condition } : {}),
              })),
            ),
      ),
    );
    const results = `arn:aws:s3:::${ARTIFACTS}/athena-results/*`;
    expect(s3).toEqual(
      sortPermissions([
        { effect: 'Allow', action: 's3:GetObject', resource: `arn:aws:s3:::${CURATED}/clicks/*` },
        { effect: 'Allow', action: 's3:GetObject', resource: `arn:aws:s3:::${CURATED}/impressions/*` },
        ...['s3:AbortMultipartUpload', 's3:GetObject', 's3:ListMultipartUploadParts', 's3:PutObject'].map((action) => ({
          effect: 'Allow',
          action,
          resource: results,
        })),
        ...['s3:GetBucketLocation', 's3:ListBucket'].flatMap((action) =>
          [CURATED, ARTIFACTS].map((bucket) => ({ effect: 'Allow', action, resource: `arn:aws:s3:::${bucket}` })),
        ),
      ]),
    );
    // The key through S3 only.
    for (const statement of policies[0].Properties.PolicyDocument.Statement) {
      if ([statement.Action].flat().some((a: string) => a.startsWith('kms:'))) {
        expect(statement.Condition).toEqual({ StringEquals: { 'kms:ViaService': 's3.eu-west-1.amazonaws.com' } });
      }
    }
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
