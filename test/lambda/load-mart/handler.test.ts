/**
 * load-mart through the function's own handler: its RDS Data API client talks to a fake endpoint that checks
 * signatures and answers like Aurora (AWS_ENDPOINT_URL_RDS_DATA), its S3 client lists the batch from s3rver
 * (AWS_ENDPOINT_URL_S3, signatures checked too). The PostgreSQL part loads real part files from s3rver with COPY.
 */
import type {
  ExecuteStatementCommandInput,
  ExecuteStatementCommandOutput,
  SqlParameter,
} from '@aws-sdk/client-rds-data';
import { MIGRATION_FILES } from '../../../lambda/migrate/migration-files';
import { applyMigrations, martMigrations, versionedMigrations } from '../../../lambda/migrate/migrations';
import { InvalidInputError, TransientError } from '../../../lambda/shared/errors';
import { copyStager, s3Source } from '../../helpers/mart-copy';
import { MartLoadError } from '../../../lambda/load-mart/mart-loader';
import { PgExecutor } from '../../helpers/sql-pg';
import { exampleConfig } from '../../helpers/app';
import {
  FAKE_CREDENTIALS,
  type FakeAws,
  type FakeAwsAnswer,
  startFakeAws,
  setLambdaRoleEnvironment,
} from '../../helpers/fake-aws';
import { describeWithCopy, startPostgres, type TestDatabase } from '../../helpers/postgres';
import { type LocalS3, startLocalS3 } from '../validate/local-s3';

process.env.MART_CLUSTER_ARN = 'arn:aws:rds:eu-west-1:222222222222:cluster:dp-dev-data-mart';
process.env.MART_SECRET_ARN = 'arn:aws:secretsmanager:eu-west-1:222222222222:secret:LoaderLoginSecret-AbCdEf';
process.env.MART_DATABASE = 'mart';
process.env.MART_TABLES = JSON.stringify({ impressions: 'impressions', clicks: 'clicks' });
setLambdaRoleEnvironment();
process.env.POWERTOOLS_LOG_LEVEL = 'SILENT';
process.env.POWERTOOLS_METRICS_NAMESPACE = 'Test';
process.env.POWERTOOLS_METRICS_DISABLED = 'true';

/** The Data API operations by request path (restJson1). */
type Operation = 'Execute' | 'BeginTransaction' | 'CommitTransaction' | 'RollbackTransaction';
/** Answers per operation (Execute: see auroraAnswers). */
let answers: Partial<Record<Operation, (input: ExecuteStatementCommandInput) => FakeAwsAnswer>>;
let rdsData: FakeAws;
let local: LocalS3;

type HandlerModule = typeof import('../../../lambda/load-mart/handler');
let loadMart: HandlerModule;
beforeAll(async () => {
  [rdsData, local] = await Promise.all([
    startFakeAws('rds-data', (call) => {
      const answer = answers[call.path.slice(1) as Operation];
      if (!answer) throw new Error(`unexpected call ${call.path}`);
      return answer(call.json as ExecuteStatementCommandInput);
    }),
    startLocalS3([input.bucket, PG_BUCKET], { credentials: [FAKE_CREDENTIALS] }),
  ]);
  process.env.AWS_ENDPOINT_URL_RDS_DATA = rdsData.endpoint;
  process.env.AWS_ENDPOINT_URL_S3 = local.endpoint;
  for (const key of [...partKeys, `${input.prefix}_SUCCESS`]) await local.put(input.bucket, key, 'not read here');
  loadMart = await import('../../../lambda/load-mart/handler');
});
afterAll(async () => {
  delete process.env.AWS_ENDPOINT_URL_RDS_DATA;
  delete process.env.AWS_ENDPOINT_URL_S3;
  await Promise.all([rdsData?.stop(), local?.stop()]);
});

const input = {
  dataset: 'impressions',
  batchId: 'batch-1',
  bucket: 'dp-dev-curated-222222222222-eu-west-1',
  prefix: '_mart/impressions/batch_id=batch-1/',
};
/** The PostgreSQL test's bucket: its batch has one real CSV part. */
const PG_BUCKET = 'dp-dev-curated-pg';
const partKeys = [
  '_mart/impressions/batch_id=batch-1/part-00000.csv.gz',
  '_mart/impressions/batch_id=batch-1/part-00001.csv.gz',
];
const COLUMNS =
  exampleConfig()
    .datasets.find((d) => d.name === 'impressions')
    ?.columns.map((c) => c.name) ?? [];

/** An error answer as the Data API sends it: the code in `x-amzn-errortype`, the message in the body. */
const failure = (code: string, message: string): FakeAwsAnswer => ({
  status: 400,
  headers: { 'x-amzn-errortype': code },
  body: { message },
});

/** Answers the loader's statements the way Aurora would, through the Data API's record format. */
function auroraAnswers(importError?: FakeAwsAnswer) {
  return (command: ExecuteStatementCommandInput): FakeAwsAnswer => {
    const sql = command.sql ?? '';
    const result = (output: Partial<ExecuteStatementCommandOutput>): FakeAwsAnswer => ({ body: output });
    const count = (label: string, value: number) =>
      result({
        columnMetadata: [{ name: label, label, typeName: 'int8' }],
        records: [[{ stringValue: String(value) }]],
      });
    if (sql.includes('FROM pg_attribute')) {
      return result({
        columnMetadata: [
          { name: 'name', label: 'name', typeName: 'name' },
          { name: 'primary_key', label: 'primary_key', typeName: 'bool' },
        ],
        records: COLUMNS.map((name) => [{ stringValue: name }, { booleanValue: name === 'impression_id' }]),
      });
    }
    if (sql.includes('aws_s3.table_import_from_s3')) {
      if (importError) return importError;
      return result({
        records: [[{ stringValue: '2 rows imported' }]],
        columnMetadata: [{ name: 'r', label: 'r', typeName: 'text' }],
      });
    }
    if (sql.includes('AS staged')) return count('staged', 3);
    if (sql.includes('HAVING count(*) > 1')) return result({ records: [], columnMetadata: [] });
    if (sql.includes('AS updated')) return count('updated', 1);
    if (sql.includes('AS inserted')) return count('inserted', 2);
    return result({ numberOfRecordsUpdated: 0 });
  };
}

/** The ExecuteStatement requests the handler sent, in order. */
const statements = (): ExecuteStatementCommandInput[] =>
  rdsData.calls.filter((call) => call.path === '/Execute').map((call) => call.json as ExecuteStatementCommandInput);
const callsTo = (operation: Operation) => rdsData.calls.filter((call) => call.path === `/${operation}`);

describe('load-mart handler on Aurora (Data API and S3 at their API boundary)', () => {
  beforeEach(() => {
    rdsData.calls.length = 0;
    local.requests.length = 0;
    answers = {
      BeginTransaction: () => ({ body: { transactionId: 'tx-1' } }),
      CommitTransaction: () => ({ body: { transactionStatus: 'Transaction Committed' } }),
      RollbackTransaction: () => ({ body: { transactionStatus: 'Rollback Complete' } }),
    };
  });

  it('imports every part server-side with aws_s3 as the loader login and returns the counts', async () => {
    answers.Execute = auroraAnswers();
    await expect(loadMart.handler(input)).resolves.toEqual({
      dataset: 'impressions',
      batchId: 'batch-1',
      table: 'impressions',
      rowsStaged: 3,
      rowsInserted: 2,
      rowsUpdated: 1,
      rowsUnchanged: 0,
    });
    const listing = local.requests.find((request) => request.query['list-type'] === '2');
    // The SDK addresses the bucket by path on an IP endpoint: `/<bucket>/?list-type=2&prefix=...`.
    expect(listing).toMatchObject({ method: 'GET', path: `/${input.bucket}/`, query: { prefix: input.prefix } });
    const sent = statements();
    expect(sent.every((statement) => statement.transactionId === 'tx-1')).toBe(true);
    // Logged in as the loader login: its secret, and no SET ROLE (the session already is the right user).
    expect(sent.every((statement) => statement.secretArn === process.env.MART_SECRET_ARN)).toBe(true);
    expect(sent.some((statement) => /\bSET (LOCAL )?ROLE\b/i.test(statement.sql ?? ''))).toBe(false);
    const imports = sent.filter((statement) => statement.sql?.includes('aws_s3.table_import_from_s3'));
    expect(imports.map((statement) => statement.parameters)).toEqual(
      partKeys.map((key) => [
        { name: 'table', value: { stringValue: 'pg_temp."staging_impressions"' } },
        { name: 'columns', value: { stringValue: COLUMNS.map((column) => `"${column}"`).join(',') } },
        { name: 'options', value: { stringValue: '(FORMAT csv, HEADER MATCH)' } },
        { name: 'bucket', value: { stringValue: input.bucket } },
        { name: 'key', value: { stringValue: key } },
        { name: 'region', value: { stringValue: 'eu-west-1' } },
      ]),
    );
    // The batch row says how many rows it loaded, in the load's own transaction.
    const audit = sent.find((statement) => statement.sql?.includes('audit.batches'));
    expect(audit?.parameters).toEqual(
      expect.arrayContaining<SqlParameter>([
        { name: 'batchId', value: { stringValue: 'batch-1' } },
        { name: 'rowsLoaded', value: { longValue: 3 } },
      ]),
    );
    expect(callsTo('CommitTransaction')).toHaveLength(1);
  });

  it('fails with MartLoadError on a bad file: rolls back, then records why on the batch in a second transaction', async () => {
    answers.Execute = auroraAnswers(
      failure('DatabaseErrorException', 'ERROR: invalid input syntax for type integer: "eight"'),
    );
    const attempt = loadMart.handler(input);
    await expect(attempt).rejects.toBeInstanceOf(MartLoadError);
    await expect(attempt).rejects.toThrow(
      /mart."impressions" is unchanged: ERROR: invalid input syntax for type integer/,
    );
    expect(callsTo('RollbackTransaction')).toHaveLength(1);
    const audit = statements().filter((statement) => statement.sql?.includes('audit.batches'));
    expect(audit.at(-1)?.parameters).toEqual(
      expect.arrayContaining([
        { name: 'batchId', value: { stringValue: 'batch-1' } },
        { name: 'error', value: { stringValue: expect.stringContaining('invalid input syntax') } },
      ]),
    );
    expect(callsTo('CommitTransaction')).toHaveLength(1);
  });

  it('fails with TransientError while the cluster resumes, without recording anything', async () => {
    answers.BeginTransaction = () => failure('DatabaseResumingException', 'The Aurora DB instance is resuming');
    await expect(loadMart.handler(input)).rejects.toBeInstanceOf(TransientError);
    expect(statements()).toHaveLength(0);
  });

  it.each([
    [
      'a prefix outside _mart/',
      { ...input, prefix: 'staging/impressions/batch_id=batch-1/' },
      /prefix: must be "_mart\/<dataset>\/batch_id=<batchId>\/"/,
    ],
    [
      'a prefix of another dataset',
      { ...input, prefix: '_mart/clicks/batch_id=batch-1/' },
      /is not the batch's folder _mart\/impressions\/batch_id=batch-1\//,
    ],
    [
      'a dataset without a mart table',
      { ...input, dataset: 'orders', prefix: '_mart/orders/batch_id=batch-1/' },
      /Dataset "orders" has no mart table \(mart-enabled: impressions, clicks\)/,
    ],
    ['a missing batch id', { ...input, batchId: undefined }, /batchId: /],
  ])('fails with InvalidInputError on %s', async (_case, event, message) => {
    const attempt = loadMart.handler(event);
    await expect(attempt).rejects.toBeInstanceOf(InvalidInputError);
    await expect(attempt).rejects.toThrow(message);
    expect(rdsData.calls).toHaveLength(0);
  });
});

describeWithCopy('load-mart handler on PostgreSQL (files from S3 through COPY)', () => {
  let db: TestDatabase;
  beforeAll(async () => {
    db = await startPostgres();
    await applyMigrations(db.executor, [
      ...versionedMigrations(MIGRATION_FILES),
      ...martMigrations(exampleConfig().datasets),
    ]);
  });
  afterAll(() => db?.stop());

  it('loads the listed parts into the mart table and is idempotent', async () => {
    const csv = `${COLUMNS.join(',')}\nimp-00000000000000a1,2024-03-01T00:00:00Z,2024-03-01,1,2,banner,,,0.5,,\n`;
    await local.put(PG_BUCKET, `${input.prefix}part-00000.csv`, csv);
    await local.put(PG_BUCKET, `${input.prefix}_SUCCESS`, '');
    const pgInput = { ...input, bucket: PG_BUCKET };
    const client = await db.pool.connect();
    try {
      const s3Client = local.s3;
      const onEvent = loadMart.createHandler({
        executor: new PgExecutor(client),
        s3: s3Client,
        region: 'eu-west-1',
        martTables: { impressions: 'impressions' },
        stagerFor: (event) => copyStager(client, s3Source(s3Client, event.bucket, event.prefix)),
      });
      await expect(onEvent(pgInput)).resolves.toMatchObject({ rowsStaged: 1, rowsInserted: 1, rowsUnchanged: 0 });
      await expect(onEvent(pgInput)).resolves.toMatchObject({ rowsStaged: 1, rowsInserted: 0, rowsUnchanged: 1 });
    } finally {
      client.release();
    }
    const rows = await db.executor.query('SELECT impression_id, bid_price_usd FROM mart.impressions');
    expect(rows).toEqual([{ impression_id: 'imp-00000000000000a1', bid_price_usd: '0.500000' }]);
  });
});
