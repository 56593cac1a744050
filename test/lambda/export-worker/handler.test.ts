/**
 * The export worker end to end: real PostgreSQL (migrated mart), a local S3-compatible server (s3rver, which handles
 * the SDK v3 multipart calls: create, upload part, complete) and DynamoDB mocked at the SDK boundary.
 * s3rver does not implement AbortMultipartUpload (405), so the abort-on-failure test mocks S3 instead.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import {
  AbortMultipartUploadCommand,
  CreateBucketCommand,
  CreateMultipartUploadCommand,
  GetObjectCommand,
  S3Client,
  UploadPartCommand,
} from '@aws-sdk/client-s3';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient, GetCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import type { SQSEvent } from 'aws-lambda';
import { mockClient } from 'aws-sdk-client-mock';
import S3rver from 's3rver';
import { ExportJobs, type ExportJob } from '../../../lambda/shared/api-export-jobs';
import { martTablesFromDatasets } from '../../../lambda/shared/api-marts';
import { TransientError } from '../../../lambda/shared/errors';
import type { SqlExecutor } from '../../../lambda/shared/sql';
import { exampleConfig } from '../../helpers/app';
import { startPostgres, type TestDatabase } from '../../helpers/postgres';
import { CLICK_COUNT, martTables, migrateAndSeed } from '../mart-query/mart-fixture';

process.env.EXPORTS_TABLE = 'dp-dev-export-jobs';
process.env.MART_TABLES = JSON.stringify(martTablesFromDatasets(exampleConfig().datasets));
process.env.MART_CLUSTER_ARN = 'arn:aws:rds:eu-west-1:222222222222:cluster:dp-dev-mart';
process.env.MART_SECRET_ARN = 'arn:aws:secretsmanager:eu-west-1:222222222222:secret:mart-master-AbCdEf';
process.env.MART_DATABASE = 'mart';
process.env.ARTIFACTS_BUCKET = 'dp-dev-artifacts-222222222222-eu-west-1';
process.env.KMS_KEY_ARN = 'arn:aws:kms:eu-west-1:222222222222:key/11111111-2222-3333-4444-555555555555';
process.env.EXPORT_PAGE_ROWS = '1000';
process.env.POWERTOOLS_LOG_LEVEL = 'SILENT';
process.env.POWERTOOLS_METRICS_NAMESPACE = 'DataPlatformTest';
process.env.AWS_REGION = 'eu-west-1';

const BUCKET = process.env.ARTIFACTS_BUCKET;
const KMS_KEY_ARN = process.env.KMS_KEY_ARN;
const ddb = mockClient(DynamoDBDocumentClient);

type WorkerModule = typeof import('../../../lambda/export-worker/handler');
let worker: WorkerModule;
let db: TestDatabase;
let s3server: S3rver;
let s3: S3Client;

beforeAll(async () => {
  worker = await import('../../../lambda/export-worker/handler');
  db = await startPostgres();
  await migrateAndSeed(db.executor);
  s3server = new S3rver({
    port: 0,
    address: '127.0.0.1',
    silent: true,
    directory: mkdtempSync(path.join(tmpdir(), 's3rver-')),
  });
  const { port } = await s3server.run();
  s3 = new S3Client({
    endpoint: `http://127.0.0.1:${port}`,
    region: 'eu-west-1',
    forcePathStyle: true,
    credentials: { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' },
  });
  await s3.send(new CreateBucketCommand({ Bucket: BUCKET }));
});
afterAll(async () => {
  ddb.restore();
  await s3server?.close();
  await db?.stop();
});

/** The job store: an in-memory table behind the mocked DynamoDB document client, updated as the worker updates it. */
function jobStore(initial: ExportJob): { current: () => ExportJob; statuses: string[] } {
  let job = { ...initial };
  const statuses: string[] = [];
  ddb.reset();
  ddb.on(GetCommand).callsFake(async () => ({ Item: job }));
  ddb.on(UpdateCommand).callsFake(async (input) => {
    const values = input.ExpressionAttributeValues as Record<string, unknown>;
    const names = input.ExpressionAttributeNames as Record<string, string>;
    for (const [placeholder, field] of Object.entries(names))
      job = { ...job, [field]: values[`:${placeholder.slice(1)}`] };
    statuses.push(job.status);
    return {};
  });
  return { current: () => job, statuses };
}

function exportJob(id: string, request: Partial<ExportJob['request']> = {}): ExportJob {
  return {
    id,
    status: 'QUEUED',
    requestedBy: 'cognito:6f1c2a4e-0000-4000-8000-00000000beef',
    request: { table: 'clicks', filters: [], format: 'csv', ...request },
    createdAt: '2026-11-22T14:00:00.000Z',
    updatedAt: '2026-11-22T14:00:00.000Z',
    expiresAt: 1_795_962_400,
  };
}

function sqsEvent(body: string, receiveCount = 1): SQSEvent {
  return {
    Records: [
      {
        messageId: '059f36b4-87a3-44ab-83d2-661975830a7d',
        receiptHandle: 'AQEBwJnKyrHigUMZj6rYigCgxlaS3SLy0a...',
        body,
        attributes: {
          ApproximateReceiveCount: String(receiveCount),
          SentTimestamp: '1795356000000',
          SenderId: 'AROAEXAMPLE:dp-dev-export-request',
          ApproximateFirstReceiveTimestamp: '1795356000001',
        },
        messageAttributes: {},
        md5OfBody: 'e4e68fb7bd0e697a0ae8f1bb342846b3',
        eventSource: 'aws:sqs',
        eventSourceARN: 'arn:aws:sqs:eu-west-1:222222222222:dp-dev-export-jobs',
        awsRegion: 'eu-west-1',
      },
    ],
  };
}

function workerFor(executor: SqlExecutor = db.executor, pageRows = 1000, client: S3Client = s3) {
  return worker.createHandler({
    jobs: new ExportJobs(
      DynamoDBDocumentClient.from(new DynamoDBClient({ region: 'eu-west-1' })),
      'dp-dev-export-jobs',
    ),
    executor,
    tables: martTables,
    target: { s3: client, bucket: BUCKET, kmsKeyArn: KMS_KEY_ARN, partBytes: 5 * 1024 * 1024 },
    pageRows,
  });
}

async function readExport(id: string): Promise<{ text: string; contentType?: string }> {
  const object = await s3.send(new GetObjectCommand({ Bucket: BUCKET, Key: `exports/${id}.csv` }));
  return { text: await object.Body!.transformToString(), contentType: object.ContentType };
}

describe('export worker on PostgreSQL and a local S3', () => {
  test('writes the whole table as CSV to exports/<id>.csv, paging by key, and marks the job SUCCEEDED', async () => {
    const id = '0b6c1d53-6f3e-4a64-9d3c-8a3c1f0e0001';
    const store = jobStore(exportJob(id));
    // Pages of 4 rows: 25 rows take 7 queries, each continuing after the last key.
    const result = await workerFor(db.executor, 4)(sqsEvent(JSON.stringify({ id })));
    expect(store.current().error).toBeUndefined();
    expect(result).toEqual({ batchItemFailures: [] });

    const { text, contentType } = await readExport(id);
    const lines = text.split('\r\n');
    expect(lines[0]).toBe('click_id,impression_id,click_time,campaign_id,landing_url,cost_usd,is_fraud_suspected');
    expect(lines[1]).toBe(
      'clk-0000000000000000,imp-0000000000000000,2026-11-01T10:00:00.000Z,100,"https://example.com/?a=1,b=""2""",0.2500,true',
    );
    expect(lines[2]).toBe('clk-0000000000000001,imp-0000000000000001,2026-11-02T10:00:00.000Z,101,,1.2500,false');
    expect(lines.slice(1, -1)).toHaveLength(CLICK_COUNT);
    expect(new Set(lines.slice(1, -1)).size).toBe(CLICK_COUNT);
    expect(lines.at(-1)).toBe('');
    expect(contentType).toBe('text/csv; charset=utf-8');

    expect(store.statuses).toEqual(['RUNNING', 'SUCCEEDED']);
    expect(store.current()).toEqual(
      expect.objectContaining({
        status: 'SUCCEEDED',
        objectKey: `exports/${id}.csv`,
        rowCount: CLICK_COUNT,
        bytes: Buffer.byteLength(text),
        attempts: 1,
      }),
    );
  });

  test('applies the whitelisted filters', async () => {
    const id = '0b6c1d53-6f3e-4a64-9d3c-8a3c1f0e0002';
    const store = jobStore(
      exportJob(id, {
        filters: [
          { column: 'campaign_id', operator: 'eq', value: '101' },
          { column: 'click_id', operator: 'lt', value: 'clk-0000000000000010' },
        ],
      }),
    );
    await workerFor()(sqsEvent(JSON.stringify({ id })));
    const rows = (await readExport(id)).text.trim().split('\r\n').slice(1);
    expect(rows.map((row) => row.split(',')[0])).toEqual([
      'clk-0000000000000001',
      'clk-0000000000000004',
      'clk-0000000000000007',
      'clk-000000000000000a',
      'clk-000000000000000d',
    ]);
    expect(store.current().rowCount).toBe(5);
  });

  test('streams a large export in several multipart parts', async () => {
    // About 8 MB of impressions: more than one 5 MiB part.
    await db.executor.query(
      `INSERT INTO mart.impressions (impression_id, event_time, event_date, campaign_id, creative_id, placement,
         device_type, country, bid_price_usd, viewable, viewability_score)
       SELECT 'imp-' || lpad(to_hex(n), 16, '0'), timestamptz '2026-11-01T00:00:00Z' + n * interval '1 second',
              date '2026-11-01', 4000000000 + n, n % 100, 'video', 'desktop', 'FR', 1.5, n % 2 = 0,
              0.123456789
         FROM generate_series(1000000, 1060000) AS n`,
    );
    const id = '0b6c1d53-6f3e-4a64-9d3c-8a3c1f0e0003';
    const store = jobStore(exportJob(id, { table: 'impressions' }));
    const commands: string[] = [];
    const counting = new S3Client(
      await s3.config.endpoint!().then((endpoint) => ({
        endpoint: `${endpoint.protocol}//${endpoint.hostname}:${endpoint.port}`,
        region: 'eu-west-1',
        forcePathStyle: true,
        credentials: { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' },
      })),
    );
    counting.middlewareStack.add(
      (next, context) => (args) => {
        commands.push(context.commandName as string);
        return next(args);
      },
      { step: 'initialize' },
    );
    await workerFor(db.executor, 5000, counting)(sqsEvent(JSON.stringify({ id })));
    expect(commands.filter((name) => name === 'UploadPartCommand')).toHaveLength(2);
    const { text } = await readExport(id);
    expect(store.current().status).toBe('SUCCEEDED');
    expect(store.current().rowCount).toBe(60_002);
    expect(store.current().bytes).toBeGreaterThan(5 * 1024 * 1024);
    expect(Buffer.byteLength(text)).toBe(store.current().bytes);
    expect(text.trim().split('\r\n')).toHaveLength(60_003);
  });

  test('ignores a duplicate delivery of a finished job (SQS is at-least-once)', async () => {
    const id = '0b6c1d53-6f3e-4a64-9d3c-8a3c1f0e0004';
    const store = jobStore({ ...exportJob(id), status: 'SUCCEEDED' });
    await expect(workerFor()(sqsEvent(JSON.stringify({ id })))).resolves.toEqual({ batchItemFailures: [] });
    expect(store.statuses).toEqual([]);
  });

  test('fails a job whose request is no longer valid at once, without a retry', async () => {
    const id = '0b6c1d53-6f3e-4a64-9d3c-8a3c1f0e0005';
    const store = jobStore(exportJob(id, { filters: [{ column: 'landing_url', operator: 'eq', value: 'x' }] }));
    await expect(workerFor()(sqsEvent(JSON.stringify({ id })))).resolves.toEqual({ batchItemFailures: [] });
    expect(store.current()).toEqual(
      expect.objectContaining({ status: 'FAILED', error: expect.stringMatching(/cannot be filtered on in clicks/) }),
    );
  });

  test('retries a transient failure through SQS, then fails the job on the last delivery', async () => {
    const id = '0b6c1d53-6f3e-4a64-9d3c-8a3c1f0e0006';
    const resuming: SqlExecutor = {
      query: async () => {
        throw new TransientError('The data mart cluster is not available yet (DatabaseResumingException); retry later');
      },
      transaction: async () => {
        throw new TransientError('The data mart cluster is not available yet (DatabaseResumingException); retry later');
      },
    };
    const store = jobStore(exportJob(id));
    const first = await workerFor(resuming)(sqsEvent(JSON.stringify({ id }), 1));
    expect(first).toEqual({ batchItemFailures: [{ itemIdentifier: '059f36b4-87a3-44ab-83d2-661975830a7d' }] });
    expect(store.current()).toEqual(
      expect.objectContaining({ status: 'QUEUED', error: expect.stringMatching(/^Attempt 1 failed, retrying/) }),
    );
    const last = await workerFor(resuming)(sqsEvent(JSON.stringify({ id }), 3));
    expect(last.batchItemFailures).toHaveLength(1);
    expect(store.current()).toEqual(
      expect.objectContaining({
        status: 'FAILED',
        attempts: 2,
        error: expect.stringMatching(/^Gave up after 3 attempts/),
      }),
    );
  });

  test('fails a malformed message back to SQS (it ends in the DLQ, never silently dropped)', async () => {
    jobStore(exportJob('0b6c1d53-6f3e-4a64-9d3c-8a3c1f0e0007'));
    for (const body of ['not json', '{"id": "../../etc/passwd"}', '{}']) {
      const result = await workerFor()(sqsEvent(body));
      expect(result.batchItemFailures).toHaveLength(1);
    }
  });
});

describe('export worker at the S3 API boundary', () => {
  // Created in the test, not at collection time: mockClient patches every S3Client, the s3rver one included.
  let restore: (() => void) | undefined;
  afterEach(() => restore?.());

  test('writes SSE-KMS with the platform key and aborts the upload when the export fails midway', async () => {
    const s3mock = mockClient(S3Client);
    restore = () => s3mock.restore();
    s3mock.on(CreateMultipartUploadCommand).resolves({ UploadId: 'upload-1' });
    s3mock.on(UploadPartCommand).resolves({ ETag: '"etag-1"' });
    s3mock.on(AbortMultipartUploadCommand).resolves({});
    let pages = 0;
    const failsOnSecondPage: SqlExecutor = {
      query: (sql, params) => db.executor.query(sql, params),
      transaction: async (work) => {
        pages += 1;
        if (pages === 2) throw new Error('connection reset by peer');
        return db.executor.transaction(work);
      },
    };
    const id = '0b6c1d53-6f3e-4a64-9d3c-8a3c1f0e0008';
    jobStore(exportJob(id));
    const result = await workerFor(
      failsOnSecondPage,
      5,
      new S3Client({ region: 'eu-west-1' }),
    )(sqsEvent(JSON.stringify({ id })));
    expect(result.batchItemFailures).toHaveLength(1);
    expect(s3mock.commandCalls(CreateMultipartUploadCommand)[0].args[0].input).toEqual(
      expect.objectContaining({
        Bucket: BUCKET,
        Key: `exports/${id}.csv`,
        ServerSideEncryption: 'aws:kms',
        SSEKMSKeyId: KMS_KEY_ARN,
      }),
    );
    expect(s3mock.commandCalls(AbortMultipartUploadCommand)[0].args[0].input).toEqual({
      Bucket: BUCKET,
      Key: `exports/${id}.csv`,
      UploadId: 'upload-1',
    });
  });
});
