/**
 * The validate function as Lambda runs it: SQS batches of EventBridge "Object Created" events -> stage A per message
 * (real stage-object code, local S3, real PostgreSQL), with partial batch responses.
 */
import '../../integration/helpers/lambda-env';
import type { SQSEvent } from 'aws-lambda';
import { replayMessage } from '../../../lambda/validate/contract';
import { createHandler, OUTCOME_METRICS } from '../../../lambda/validate/handler';
import { S3ObjectStore } from '../../../lambda/validate/object-store';
import { runIdOf } from '../../../lambda/validate/runs';
import { createValidator } from '../../../lambda/validate/validate-object';
import { exampleConfig } from '../../helpers/app';
import { startPostgres, type TestDatabase } from '../../helpers/postgres';
import { applyMigrations } from '../../integration/helpers/migrations';
import { type LocalS3, startLocalS3 } from './local-s3';

const LANDING = 'landing';
const ARTIFACTS = 'artifacts';
const datasets = new Map(exampleConfig().datasets.map((dataset) => [dataset.name, dataset]));

let db: TestDatabase;
let s3: LocalS3;
let started: { name: string; input: string }[];
let startAnswer: 'started' | 'exists';

beforeAll(async () => {
  [db, s3] = await Promise.all([startPostgres(), startLocalS3([LANDING, ARTIFACTS])]);
  await applyMigrations(db.executor);
});
afterAll(async () => {
  await Promise.all([db?.stop(), s3?.stop()]);
});
beforeEach(async () => {
  started = [];
  startAnswer = 'started';
  // Each test starts with no loop holding a dataset (leases run on the real clock here).
  await db.executor.query('DELETE FROM audit.dataset_schedules');
});

const handler = () =>
  createHandler({
    executor: db.executor,
    validate: createValidator({ store: new S3ObjectStore(s3.s3), artifactsBucket: ARTIFACTS, datasets }),
    datasets,
    startLeaseSeconds: 300,
    loops: {
      async start(name, input) {
        started.push({ name, input });
        return startAnswer;
      },
    },
    sleep: async () => undefined,
  });

function objectCreated(key: string, versionId: string) {
  return {
    version: '0',
    id: `event-${versionId}`,
    'detail-type': 'Object Created',
    source: 'aws.s3',
    account: '222222222222',
    time: '2026-12-01T10:00:00Z',
    region: 'eu-west-1',
    resources: [`arn:aws:s3:::${LANDING}`],
    detail: { bucket: { name: LANDING }, object: { key, size: 10, 'version-id': versionId } },
  };
}

/** The event of an object in an unversioned bucket (the local S3 copies only the current version). */
function unversioned(event: ReturnType<typeof objectCreated>) {
  const { 'version-id': _version, ...object } = event.detail.object;
  return { ...event, detail: { ...event.detail, object } };
}

function sqsEvent(...bodies: unknown[]): SQSEvent {
  return {
    Records: bodies.map((body, index) => ({
      messageId: `m-${index + 1}`,
      receiptHandle: `r-${index + 1}`,
      body: typeof body === 'string' ? body : JSON.stringify(body),
      attributes: {
        ApproximateReceiveCount: '1',
        SentTimestamp: '0',
        SenderId: 'events',
        ApproximateFirstReceiveTimestamp: '0',
      },
      messageAttributes: {},
      md5OfBody: '',
      eventSource: 'aws:sqs',
      eventSourceARN: 'arn:aws:sqs:eu-west-1:222222222222:dp-dev-landed-objects',
      awsRegion: 'eu-west-1',
    })),
  };
}

const row = (index: number) =>
  JSON.stringify({
    impression_id: `imp-${index.toString(16).padStart(16, '0')}`,
    event_time: '2026-12-01T09:00:00Z',
    event_date: '2026-12-01',
    campaign_id: 1,
    creative_id: 2,
    placement: 'banner',
    bid_price_usd: '0.5',
  });

describe('validate handler (stage A over SQS)', () => {
  test('stages each object, starts its dataset loop once, and reports only the failed messages', async () => {
    const key = 'impressions/ingest_date=2026-12-01/good.ndjson';
    await s3.put(LANDING, key, `${row(1)}\n${row(2)}\n`);
    const missing = 'impressions/ingest_date=2026-12-01/never-written.ndjson';
    const response = await handler()(
      sqsEvent(objectCreated(key, 'v1'), 'not json at all', { source: 'aws.ec2' }, objectCreated(missing, 'v9')),
      { getRemainingTimeInMillis: () => 900_000 },
    );

    expect(response).toEqual({
      batchItemFailures: [{ itemIdentifier: 'm-2' }, { itemIdentifier: 'm-3' }, { itemIdentifier: 'm-4' }],
    });
    const runId = runIdOf({ bucket: LANDING, key, versionId: 'v1' });
    expect(started).toEqual([
      {
        name: `impressions-${runId}`,
        input: JSON.stringify({
          dataset: 'impressions',
          iteration: 0,
          decision: { outcome: 'START', waitSeconds: 0, reason: 'started' },
        }),
      },
    ]);
    const runs = await db.executor.query<{ object_key: string; status: string; error: string | null }>(
      'SELECT object_key, status, error FROM audit.pipeline_runs ORDER BY object_key',
    );
    expect(runs).toEqual([
      { object_key: key, status: 'STAGED', error: null },
      // The object that could not be read is recorded FAILED with why; its message is retried, then dead-lettered.
      { object_key: missing, status: 'FAILED', error: expect.stringMatching(/^NotFoundError: /) },
    ]);
  });

  test('a message delivered again after its run was staged only makes sure the loop runs', async () => {
    const key = 'impressions/ingest_date=2026-12-01/again.ndjson';
    await s3.put(LANDING, key, `${row(3)}\n`);
    const message = objectCreated(key, 'v2');
    await handler()(sqsEvent(message));
    const before = await s3.list(ARTIFACTS, 'staging/impressions/');
    const response = await handler()(sqsEvent(message));
    expect(response.batchItemFailures).toEqual([]);
    expect(started.map((start) => start.name)).toEqual([
      expect.stringMatching(/^impressions-/),
      expect.stringMatching(/^impressions-/),
    ]);
    expect(await s3.list(ARTIFACTS, 'staging/impressions/')).toEqual(before);
  });

  test('an execution name already used by an ended loop is replaced by a fresh one under the lease', async () => {
    const key = 'impressions/ingest_date=2026-12-01/renamed.ndjson';
    await s3.put(LANDING, key, `${row(4)}\n`);
    startAnswer = 'exists';
    await handler()(sqsEvent(objectCreated(key, 'v3')));
    expect(started).toHaveLength(2);
    expect(started[1].name).toMatch(new RegExp(`^${started[0].name}-[0-9a-f]{8}$`));
    const [schedule] = await db.executor.query<{ holder: string }>(
      "SELECT holder FROM audit.dataset_schedules WHERE dataset = 'impressions'",
    );
    expect(schedule.holder).toBe(started[1].name);
  });

  test('an object under an unknown dataset folder is recorded with the reason, not validated, not retried', async () => {
    const response = await handler()(sqsEvent(objectCreated('orders/ingest_date=2026-12-01/x.csv', 'v4')));
    expect(response.batchItemFailures).toEqual([]);
    const [run] = await db.executor.query<{ dataset: string; status: string; error: string }>(
      "SELECT dataset, status, error FROM audit.pipeline_runs WHERE dataset = 'orders'",
    );
    expect(run).toEqual({
      dataset: 'orders',
      status: 'UNREADABLE',
      error: expect.stringMatching(/^no dataset named "orders" is configured \(known: clicks, impressions\)/),
    });
  });

  test('rejects a file when the invocation has no time left beyond the margin: quarantined and recorded, not retried', async () => {
    const key = 'impressions/ingest_date=2026-12-01/late.ndjson';
    await s3.put(LANDING, key, `${row(5)}\n`);
    const response = await createHandler(
      {
        executor: db.executor,
        validate: createValidator({ store: new S3ObjectStore(s3.s3), artifactsBucket: ARTIFACTS, datasets }),
        datasets,
        startLeaseSeconds: 300,
        loops: { start: async () => 'started' },
        sleep: async () => undefined,
      },
      { timeBudgetMarginSeconds: 60 },
    )(sqsEvent(unversioned(objectCreated(key, 'v5'))), { getRemainingTimeInMillis: () => 59_000 });
    expect(response.batchItemFailures).toEqual([]);
    const [run] = await db.executor.query<{ status: string; error: string }>(
      'SELECT status, error FROM audit.pipeline_runs WHERE object_key = :key',
      { key },
    );
    expect(run).toEqual({
      status: 'UNREADABLE',
      error: expect.stringMatching(/^did not finish within the time budget: /),
    });
  });

  test('fails the cold start when a limit variable is malformed', async () => {
    process.env.VALIDATE_MAX_REJECTED_ROWS = 'many';
    try {
      await jest.isolateModulesAsync(async () => {
        await expect(import('../../../lambda/validate/handler')).rejects.toThrow(
          'Environment variable VALIDATE_MAX_REJECTED_ROWS is "many", not a whole number >= 0. Fix: set etl.validation.maxRejectedRows in config/environments/<env>.json and redeploy (default 10000)',
        );
      });
    } finally {
      delete process.env.VALIDATE_MAX_REJECTED_ROWS;
    }
  });

  test('re-runs a quarantined object only for a replay message planned from its status, once', async () => {
    const key = 'impressions/ingest_date=2026-12-01/replayed.ndjson';
    await s3.put(LANDING, key, `${row(6)}\n`);
    const event = unversioned(objectCreated(key, 'v6'));
    const noTimeLeft = { getRemainingTimeInMillis: () => 59_000 };
    const enoughTime = { getRemainingTimeInMillis: () => 900_000 };
    const runOf = async () =>
      (
        await db.executor.query<{ run_id: string; status: string; landed_at: Date }>(
          'SELECT run_id, status, landed_at FROM audit.pipeline_runs WHERE object_key = :key',
          { key },
        )
      )[0];
    await handler()(sqsEvent(event), noTimeLeft);
    const quarantined = await runOf();
    expect(quarantined.status).toBe('UNREADABLE');

    // Normal traffic (the same event again) never re-opens a finished run, nor does a replay planned from another status.
    const replay = (previousStatus: 'UNREADABLE' | 'NO_VALID_ROWS') =>
      replayMessage({ bucket: LANDING, key, landedAt: new Date(event.time), previousStatus });
    await handler()(sqsEvent(event, replay('NO_VALID_ROWS')), enoughTime);
    expect(await runOf()).toEqual(quarantined);
    expect(started).toEqual([]);

    const response = await handler()(sqsEvent(replay('UNREADABLE')), enoughTime);
    expect(response.batchItemFailures).toEqual([]);
    expect(await runOf()).toEqual({ ...quarantined, status: 'STAGED' });
    expect(started.map((start) => start.name)).toEqual([`impressions-${quarantined.run_id}`]);
    const staging = await s3.list(ARTIFACTS, `staging/impressions/run_id=${quarantined.run_id}/`);
    expect(staging).toHaveLength(1);

    // The same replay delivered twice: the run is staged already, nothing is validated again.
    await handler()(sqsEvent(replay('UNREADABLE')), enoughTime);
    expect(await runOf()).toEqual({ ...quarantined, status: 'STAGED' });
    expect(await s3.list(ARTIFACTS, `staging/impressions/run_id=${quarantined.run_id}/`)).toEqual(staging);
  });

  test('names one EMF count per outcome', () => {
    expect(new Set(Object.values(OUTCOME_METRICS)).size).toBe(Object.keys(OUTCOME_METRICS).length);
  });
});
