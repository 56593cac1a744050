import { Readable } from 'node:stream';
import {
  BeginTransactionCommand,
  CommitTransactionCommand,
  DatabaseErrorException,
  DatabaseResumingException,
  ExecuteStatementCommand,
  type ExecuteStatementCommandInput,
  type ExecuteStatementCommandOutput,
  RDSDataClient,
  RollbackTransactionCommand,
} from '@aws-sdk/client-rds-data';
import { GetObjectCommand, ListObjectsV2Command, S3Client } from '@aws-sdk/client-s3';
import { mockClient } from 'aws-sdk-client-mock';
import { applyMigrations, martMigrations, versionedMigrations } from '../../../lambda/migrate/migrations';
import { readSqlFiles } from '../../../lambda/migrate/bundle-sql';
import { InvalidInputError, TransientError } from '../../../lambda/shared/errors';
import { copyStager, s3Source } from '../../../lambda/shared/mart-copy';
import { MartLoadError } from '../../../lambda/shared/mart-loader';
import { PgExecutor } from '../../../lambda/shared/sql-pg';
import { exampleConfig } from '../../helpers/app';
import { describeWithCopy, startPostgres, type TestDatabase } from '../../helpers/postgres';

process.env.CLUSTER_ARN = 'arn:aws:rds:eu-west-1:222222222222:cluster:dp-dev-data-mart';
process.env.SECRET_ARN = 'arn:aws:secretsmanager:eu-west-1:222222222222:secret:rds!cluster-abc';
process.env.DATABASE_NAME = 'mart';
process.env.MART_TABLES = JSON.stringify({ impressions: 'impressions', clicks: 'clicks' });
process.env.AWS_REGION = 'eu-west-1';
process.env.POWERTOOLS_LOG_LEVEL = 'SILENT';
process.env.POWERTOOLS_METRICS_NAMESPACE = 'Test';
process.env.POWERTOOLS_METRICS_DISABLED = 'true';

type HandlerModule = typeof import('../../../lambda/load-mart/handler');
let loadMart: HandlerModule;
beforeAll(async () => {
  loadMart = await import('../../../lambda/load-mart/handler');
});

const rdsData = mockClient(RDSDataClient);
const s3 = mockClient(S3Client);
afterAll(() => {
  rdsData.restore();
  s3.restore();
});

const input = {
  dataset: 'impressions',
  runId: 'run-1',
  objectKey: 'impressions/ingest_date=2024-03-01/a.ndjson',
  objectVersion: 'v1',
  bucket: 'dp-dev-curated-222222222222-eu-west-1',
  prefix: '_mart/impressions/run_id=run-1/',
};
const partKeys = [
  '_mart/impressions/run_id=run-1/part-00000.csv.gz',
  '_mart/impressions/run_id=run-1/part-00001.csv.gz',
];
const COLUMNS =
  exampleConfig()
    .datasets.find((d) => d.name === 'impressions')
    ?.columns.map((c) => c.name) ?? [];

/** Answers the loader's statements the way Aurora would, through the Data API's record format. */
function auroraAnswers(importError?: Error) {
  return (command: ExecuteStatementCommandInput): Partial<ExecuteStatementCommandOutput> => {
    const sql = command.sql ?? '';
    const count = (label: string, value: number) => ({
      columnMetadata: [{ name: label, label, typeName: 'int8' }],
      records: [[{ stringValue: String(value) }]],
    });
    if (sql.includes('FROM pg_attribute')) {
      return {
        columnMetadata: [
          { name: 'name', label: 'name', typeName: 'name' },
          { name: 'primary_key', label: 'primary_key', typeName: 'bool' },
        ],
        records: COLUMNS.map((name) => [{ stringValue: name }, { booleanValue: name === 'impression_id' }]),
      };
    }
    if (sql.includes('aws_s3.table_import_from_s3')) {
      if (importError) throw importError;
      return {
        records: [[{ stringValue: '2 rows imported' }]],
        columnMetadata: [{ name: 'r', label: 'r', typeName: 'text' }],
      };
    }
    if (sql.includes('AS staged')) return count('staged', 3);
    if (sql.includes('HAVING count(*) > 1')) return { records: [], columnMetadata: [] };
    if (sql.includes('AS updated')) return count('updated', 1);
    if (sql.includes('AS inserted')) return count('inserted', 2);
    return {};
  };
}

describe('load-mart handler on Aurora (Data API and S3 at the SDK boundary)', () => {
  beforeEach(() => {
    rdsData.reset();
    s3.reset();
    rdsData.on(BeginTransactionCommand).resolves({ transactionId: 'tx-1' });
    rdsData.on(CommitTransactionCommand).resolves({});
    rdsData.on(RollbackTransactionCommand).resolves({});
    s3.on(ListObjectsV2Command).resolves({
      Contents: [...partKeys, '_mart/impressions/run_id=run-1/_SUCCESS'].map((Key) => ({ Key })),
    });
  });

  it('imports every part server-side with aws_s3 as mart_loader and returns the counts', async () => {
    rdsData.on(ExecuteStatementCommand).callsFake(auroraAnswers());
    await expect(loadMart.handler(input)).resolves.toEqual({
      dataset: 'impressions',
      runId: 'run-1',
      table: 'impressions',
      rowsStaged: 3,
      rowsInserted: 2,
      rowsUpdated: 1,
      rowsUnchanged: 0,
    });
    expect(s3.commandCalls(ListObjectsV2Command)[0].args[0].input).toMatchObject({
      Bucket: input.bucket,
      Prefix: input.prefix,
    });
    const statements = rdsData.commandCalls(ExecuteStatementCommand).map((call) => call.args[0].input);
    expect(statements.every((statement) => statement.transactionId === 'tx-1')).toBe(true);
    expect(statements[0].sql).toBe('SET LOCAL ROLE "mart_loader"');
    const imports = statements.filter((statement) => statement.sql?.includes('aws_s3.table_import_from_s3'));
    expect(imports.map((statement) => statement.parameters)).toEqual(
      partKeys.map((key) => [
        { name: 'table', value: { stringValue: 'pg_temp."staging_impressions"' } },
        { name: 'columns', value: { stringValue: COLUMNS.join(',') } },
        { name: 'options', value: { stringValue: '(FORMAT csv, HEADER MATCH)' } },
        { name: 'bucket', value: { stringValue: input.bucket } },
        { name: 'key', value: { stringValue: key } },
        { name: 'region', value: { stringValue: 'eu-west-1' } },
      ]),
    );
    const audit = statements.find((statement) => statement.sql?.includes('audit.pipeline_runs'));
    expect(audit?.parameters).toEqual(
      expect.arrayContaining([
        { name: 'status', value: { stringValue: 'LOADED' } },
        { name: 'rowsLoaded', value: { longValue: 3 } },
        { name: 'objectVersion', value: { stringValue: 'v1' } },
      ]),
    );
    expect(rdsData.commandCalls(CommitTransactionCommand)).toHaveLength(1);
  });

  it('fails with MartLoadError on a bad file: rolls back, then records FAILED in a second transaction', async () => {
    rdsData.on(ExecuteStatementCommand).callsFake(
      auroraAnswers(
        new DatabaseErrorException({
          message: 'ERROR: invalid input syntax for type integer: "eight"',
          $metadata: {},
        }),
      ),
    );
    const attempt = loadMart.handler(input);
    await expect(attempt).rejects.toBeInstanceOf(MartLoadError);
    await expect(attempt).rejects.toThrow(
      /mart."impressions" is unchanged: ERROR: invalid input syntax for type integer/,
    );
    expect(rdsData.commandCalls(RollbackTransactionCommand)).toHaveLength(1);
    const audit = rdsData
      .commandCalls(ExecuteStatementCommand)
      .map((call) => call.args[0].input)
      .filter((statement) => statement.sql?.includes('audit.pipeline_runs'));
    expect(audit.at(-1)?.parameters).toEqual(
      expect.arrayContaining([
        { name: 'status', value: { stringValue: 'FAILED' } },
        { name: 'error', value: { stringValue: expect.stringContaining('invalid input syntax') } },
      ]),
    );
    expect(rdsData.commandCalls(CommitTransactionCommand)).toHaveLength(1);
  });

  it('fails with TransientError while the cluster resumes, without recording anything', async () => {
    rdsData
      .on(BeginTransactionCommand)
      .rejects(new DatabaseResumingException({ message: 'The Aurora DB instance is resuming', $metadata: {} }));
    await expect(loadMart.handler(input)).rejects.toBeInstanceOf(TransientError);
    expect(rdsData.commandCalls(ExecuteStatementCommand)).toHaveLength(0);
  });

  it.each([
    [
      'a prefix outside _mart/',
      { ...input, prefix: 'staging/impressions/run_id=run-1/' },
      /prefix: must be "_mart\/<dataset>\/run_id=<runId>\/"/,
    ],
    [
      'a prefix of another dataset',
      { ...input, prefix: '_mart/clicks/run_id=run-1/' },
      /is not under _mart\/impressions\//,
    ],
    [
      'a dataset without a mart table',
      { ...input, dataset: 'orders', prefix: '_mart/orders/run_id=run-1/' },
      /Dataset "orders" has no mart table \(mart-enabled: impressions, clicks\)/,
    ],
    ['a missing run id', { ...input, runId: undefined }, /runId: /],
  ])('fails with InvalidInputError on %s', async (_case, event, message) => {
    const attempt = loadMart.handler(event);
    await expect(attempt).rejects.toBeInstanceOf(InvalidInputError);
    await expect(attempt).rejects.toThrow(message);
    expect(rdsData.calls()).toHaveLength(0);
  });
});

describeWithCopy('load-mart handler on PostgreSQL (files from S3 through COPY)', () => {
  let db: TestDatabase;
  beforeAll(async () => {
    db = await startPostgres();
    await applyMigrations(db.executor, [
      ...versionedMigrations(readSqlFiles()),
      ...martMigrations(exampleConfig().datasets),
    ]);
  });
  afterAll(() => db?.stop());

  it('loads the listed parts into the mart table and is idempotent', async () => {
    s3.reset();
    const csv = `${COLUMNS.join(',')}\nimp-00000000000000a1,2024-03-01T00:00:00Z,2024-03-01,1,2,banner,,,0.5,,\n`;
    s3.on(ListObjectsV2Command).resolves({ Contents: [{ Key: `${input.prefix}part-00000.csv` }] });
    s3.on(GetObjectCommand).callsFake(() => ({ Body: Readable.from([csv]) }));
    const client = await db.pool.connect();
    try {
      const s3Client = new S3Client({ region: 'eu-west-1' });
      const onEvent = loadMart.createHandler({
        executor: new PgExecutor(client),
        s3: s3Client,
        region: 'eu-west-1',
        martTables: { impressions: 'impressions' },
        stagerFor: (event) => copyStager(client, s3Source(s3Client, event.bucket, event.prefix)),
      });
      await expect(onEvent(input)).resolves.toMatchObject({ rowsStaged: 1, rowsInserted: 1, rowsUnchanged: 0 });
      await expect(onEvent(input)).resolves.toMatchObject({ rowsStaged: 1, rowsInserted: 0, rowsUnchanged: 1 });
    } finally {
      client.release();
    }
    const rows = await db.executor.query('SELECT impression_id, bid_price_usd FROM mart.impressions');
    expect(rows).toEqual([{ impression_id: 'imp-00000000000000a1', bid_price_usd: '0.500000' }]);
  });
});
