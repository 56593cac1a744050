/**
 * scripts/replay.ts and scripts/status.ts against a real PostgreSQL with the deployed audit schema (the SQL seam the
 * Data API implements in AWS), with STS, CloudFormation, S3 and SQS mocked at the SDK boundary.
 */
import '../integration/helpers/lambda-env';
import { CloudFormationClient, DescribeStacksCommand } from '@aws-sdk/client-cloudformation';
import { HeadObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { GetQueueUrlCommand, SendMessageBatchCommand, SQSClient } from '@aws-sdk/client-sqs';
import { GetCallerIdentityCommand, STSClient } from '@aws-sdk/client-sts';
import { mockClient } from 'aws-sdk-client-mock';
import { runIdOf } from '../../lambda/validate/runs';
import { parseObjectCreated } from '../../lambda/validate/stage-object';
import { AwsClients } from '../../scripts/integration-test/context';
import { runReplay } from '../../scripts/operations/replay';
import { runStatus } from '../../scripts/operations/status';
import { startPostgres, type TestDatabase } from '../helpers/postgres';
import { applyMigrations } from '../integration/helpers/migrations';

const LANDING = 'dp-dev-landing-222222222222-eu-west-1';
const QUEUE_URL = 'https://sqs.eu-west-1.amazonaws.com/222222222222/dp-dev-landed-objects';
const NOW = new Date('2026-12-02T18:00:00.000Z');

const sts = mockClient(STSClient);
const cloudFormation = mockClient(CloudFormationClient);
const s3 = mockClient(S3Client);
const sqs = mockClient(SQSClient);

let db: TestDatabase;

beforeAll(async () => {
  db = await startPostgres();
  await applyMigrations(db.executor);
});
afterAll(() => db?.stop());

beforeEach(async () => {
  for (const mock of [sts, cloudFormation, s3, sqs]) mock.reset();
  sts.on(GetCallerIdentityCommand).resolves({
    Account: '222222222222',
    Arn: 'arn:aws:sts::222222222222:assumed-role/Operator/me',
  });
  const stack = (StackName: string, outputs: Record<string, string>) => ({
    StackName,
    StackStatus: 'UPDATE_COMPLETE' as const,
    CreationTime: new Date('2026-01-01T00:00:00Z'),
    Outputs: Object.entries(outputs).map(([OutputKey, OutputValue]) => ({ OutputKey, OutputValue })),
  });
  cloudFormation.on(DescribeStacksCommand).resolves({
    Stacks: [
      stack('dp-dev-storage', { LandingBucketName: LANDING }),
      stack('dp-dev-data-mart', {
        DataMartClusterArn: 'arn:aws:rds:eu-west-1:222222222222:cluster:dp-dev-data-mart',
        DataMartLoaderSecretArn: 'arn:aws:secretsmanager:eu-west-1:222222222222:secret:loader-AbCdEf',
        DataMartDatabaseName: 'mart',
      }),
    ],
  });
  await db.executor.query('TRUNCATE audit.batch_runs, audit.batches, audit.dataset_schedules, audit.pipeline_runs');
});

interface Run {
  readonly key: string;
  readonly version: string;
  readonly status: string;
  readonly landedAt: string;
  readonly updatedAt?: string;
  readonly dataset?: string;
  readonly error?: string;
  readonly rowsRejected?: number;
  readonly stagedAt?: string;
  readonly stagedBytes?: number;
  /** A run id other than the object's (as if it had landed in another bucket). */
  readonly runId?: string;
}

async function insertRun(run: Run): Promise<string> {
  const runId = run.runId ?? runIdOf({ bucket: LANDING, key: run.key, versionId: run.version });
  await db.executor.query(
    `INSERT INTO audit.pipeline_runs
       (run_id, dataset, object_key, object_version, status, started_at, updated_at, landed_at, error, rows_rejected,
        staged_at, staged_bytes)
     VALUES (:runId, :dataset, :key, :version, :status, :landedAt, :updatedAt, :landedAt, :error, :rowsRejected,
             :stagedAt, :stagedBytes)`,
    {
      runId,
      dataset: run.dataset ?? 'impressions',
      key: run.key,
      version: run.version,
      status: run.status,
      landedAt: new Date(run.landedAt),
      updatedAt: new Date(run.updatedAt ?? run.landedAt),
      error: run.error ?? null,
      rowsRejected: run.rowsRejected ?? null,
      stagedAt: run.stagedAt ? new Date(run.stagedAt) : null,
      stagedBytes: run.stagedBytes ?? null,
    },
  );
  return runId;
}

async function run(script: typeof runReplay, argv: string[]): Promise<{ exitCode: number; lines: string[] }> {
  const lines: string[] = [];
  const exitCode = await script({
    argv,
    print: (line) => lines.push(line),
    now: () => NOW,
    clients: new AwsClients('eu-west-1'),
    executor: () => db.executor,
  });
  return { exitCode, lines };
}

const key = (name: string) => `impressions/ingest_date=2026-12-01/${name}.ndjson`;

describe('replay', () => {
  let ids: Record<string, string>;

  beforeEach(async () => {
    ids = {
      unreadable: await insertRun({
        key: key('unreadable'),
        version: 'va',
        status: 'UNREADABLE',
        landedAt: '2026-12-01T09:00:00Z',
        error: 'not gzip:\n bad header',
      }),
      expired: await insertRun({
        key: key('expired'),
        version: 'vb',
        status: 'NO_VALID_ROWS',
        landedAt: '2026-12-01T10:00:00Z',
      }),
      failed: await insertRun({
        key: key('failed'),
        version: 'vc',
        status: 'FAILED',
        landedAt: '2026-12-01T11:00:00Z',
        error: 'batch abandoned after 3 attempts',
      }),
      stuck: await insertRun({
        key: key('stuck'),
        version: 'vd',
        status: 'RUNNING',
        landedAt: '2026-12-02T00:00:00Z',
      }),
      foreign: await insertRun({
        key: key('foreign'),
        version: 've',
        status: 'UNREADABLE',
        landedAt: '2026-12-01T12:00:00Z',
        runId: 'f'.repeat(32),
      }),
    };
    // Not replayed: still running (updated 30 minutes ago), finished well, of another dataset, landed before --since.
    await insertRun({ key: key('running'), version: 'v1', status: 'RUNNING', landedAt: '2026-12-02T17:30:00Z' });
    await insertRun({ key: key('done'), version: 'v2', status: 'SUCCEEDED', landedAt: '2026-12-01T09:30:00Z' });
    await insertRun({ key: key('staged'), version: 'v3', status: 'STAGED', landedAt: '2026-12-01T09:40:00Z' });
    await insertRun({
      key: 'clicks/ingest_date=2026-12-01/x.ndjson',
      version: 'v4',
      status: 'UNREADABLE',
      landedAt: '2026-12-01T09:00:00Z',
      dataset: 'clicks',
    });
    await insertRun({ key: key('old'), version: 'v5', status: 'UNREADABLE', landedAt: '2026-11-20T09:00:00Z' });

    s3.on(HeadObjectCommand).resolves({ ContentLength: 120 });
    s3.on(HeadObjectCommand, { Key: key('expired') }).rejects(Object.assign(new Error('gone'), { name: 'NotFound' }));
    sqs.on(GetQueueUrlCommand).resolves({ QueueUrl: QUEUE_URL });
    sqs.on(SendMessageBatchCommand).resolves({ Successful: [], Failed: [] });
  });

  test('plans the quarantined, failed and stuck runs of the dataset, and sends nothing without --execute', async () => {
    const { exitCode, lines } = await run(runReplay, [
      '--env',
      'dev',
      '--dataset',
      'impressions',
      '--since',
      '2026-11-25',
    ]);
    expect(exitCode).toBe(0);
    expect(lines).toEqual([
      'Replay of impressions in dp-dev (account 222222222222, eu-west-1) as arn:aws:sts::222222222222:assumed-role/Operator/me, runs landed since 2026-11-25T00:00:00Z: 3 to replay, 2 skipped',
      `RUN                               STATUS         LANDED                OBJECT                                                             ACTION  WHY`,
      `${ids.unreadable}  UNREADABLE     2026-12-01T09:00:00Z  impressions/ingest_date=2026-12-01/unreadable.ndjson (version va)  replay  not gzip: bad header`,
      `${ids.expired}  NO_VALID_ROWS  2026-12-01T10:00:00Z  impressions/ingest_date=2026-12-01/expired.ndjson (version vb)     skip    object version no longer in landing (deleted or expired by the lifecycle)`,
      `${ids.failed}  FAILED         2026-12-01T11:00:00Z  impressions/ingest_date=2026-12-01/failed.ndjson (version vc)      replay  batch abandoned after 3 attempts`,
      `${ids.foreign}  UNREADABLE     2026-12-01T12:00:00Z  impressions/ingest_date=2026-12-01/foreign.ndjson (version ve)     skip    run id is not that of s3://${LANDING}/impressions/ingest_date=2026-12-01/foreign.ndjson (landed in another bucket?)`,
      `${ids.stuck}  RUNNING        2026-12-02T00:00:00Z  impressions/ingest_date=2026-12-01/stuck.ndjson (version vd)       replay`,
      'DRY RUN: nothing sent. Run again with --execute to send 3 replay message(s) to dp-dev-landed-objects.',
    ]);
    expect(s3.commandCalls(HeadObjectCommand).map((call) => call.args[0].input)).toEqual([
      { Bucket: LANDING, Key: key('unreadable'), VersionId: 'va' },
      { Bucket: LANDING, Key: key('expired'), VersionId: 'vb' },
      { Bucket: LANDING, Key: key('failed'), VersionId: 'vc' },
      { Bucket: LANDING, Key: key('stuck'), VersionId: 'vd' },
    ]);
    expect(sqs.calls()).toHaveLength(0);
  });

  test('--execute sends each planned run its Object Created event with the status it was planned from', async () => {
    const { exitCode, lines } = await run(runReplay, ['--env', 'dev', '--dataset', 'impressions', '--execute']);
    expect(exitCode).toBe(0);
    expect(lines.at(-1)).toBe(
      'Sent 4 replay message(s) to dp-dev-landed-objects. Follow them with: npx tsx scripts/status.ts --env dev',
    );
    expect(sqs.commandCalls(GetQueueUrlCommand)[0].args[0].input).toEqual({ QueueName: 'dp-dev-landed-objects' });
    const [send] = sqs.commandCalls(SendMessageBatchCommand);
    expect(send.args[0].input.QueueUrl).toBe(QUEUE_URL);
    const bodies = (send.args[0].input.Entries ?? []).map((entry) => JSON.parse(entry.MessageBody ?? ''));
    // Without --since the run that landed on 2026-11-20 is replayed too (oldest first).
    expect(bodies[0]).toEqual({
      version: '0',
      'detail-type': 'Object Created',
      source: 'aws.s3',
      time: '2026-11-20T09:00:00.000Z',
      detail: {
        bucket: { name: LANDING },
        object: { key: key('old'), size: 120, 'version-id': 'v5' },
        reason: 'Replay',
      },
      replay: { previousStatus: 'UNREADABLE' },
    });
    // Stage A reads each message as the same object version, so it claims the same run (replayOf: the planned status).
    expect(
      bodies.slice(1).map((body) => {
        const object = parseObjectCreated(body);
        return [runIdOf(object), object.replayOf, object.landedAt.toISOString()];
      }),
    ).toEqual([
      [ids.unreadable, 'UNREADABLE', '2026-12-01T09:00:00.000Z'],
      [ids.failed, 'FAILED', '2026-12-01T11:00:00.000Z'],
      [ids.stuck, 'RUNNING', '2026-12-02T00:00:00.000Z'],
    ]);
  });

  test('reports a message SQS refused and exits 1', async () => {
    sqs.on(SendMessageBatchCommand).resolves({
      Successful: [],
      Failed: [{ Id: '1', Code: 'KMS.AccessDeniedException', Message: 'no kms:GenerateDataKey', SenderFault: true }],
    });
    const { exitCode, lines } = await run(runReplay, [
      '--env',
      'dev',
      '--dataset',
      'impressions',
      '--since',
      '2026-11-25',
      '--execute',
    ]);
    expect(exitCode).toBe(1);
    expect(lines.slice(-2)).toEqual([
      'Sent 2 replay message(s) to dp-dev-landed-objects. Follow them with: npx tsx scripts/status.ts --env dev',
      `NOT SENT: run ${ids.failed}: KMS.AccessDeniedException: no kms:GenerateDataKey`,
    ]);
  });

  test('fails before any AWS call on a bad --since, and with the fix on credentials of another account', async () => {
    const bad = await run(runReplay, ['--env', 'dev', '--dataset', 'impressions', '--since', 'yesterday']);
    expect(bad.exitCode).toBe(2);
    expect(bad.lines[0]).toMatch(/^ERROR: --since is "yesterday", not an ISO date\. Fix: e\.g\. --since 2026-12-01/);
    expect(sts.calls()).toHaveLength(0);

    sts.on(GetCallerIdentityCommand).resolves({ Account: '999999999999', Arn: 'arn:aws:iam::999999999999:user/x' });
    const wrong = await run(runReplay, ['--env', 'dev', '--dataset', 'impressions']);
    expect(wrong.exitCode).toBe(2);
    expect(wrong.lines).toEqual([
      'ERROR: The credentials are for account 999999999999 (arn:aws:iam::999999999999:user/x), but dp-dev is deployed in 222222222222. Fix: use credentials of account 222222222222',
    ]);
  });
});

describe('status', () => {
  async function insertBatch(batch: {
    id: string;
    status: string;
    createdAt: string;
    finishedAt?: string;
    oldestLandedAt: string;
    rowsLoaded?: number;
    nextAttemptAt?: string;
    error?: string;
    attempts?: number;
  }): Promise<void> {
    await db.executor.query(
      `INSERT INTO audit.batches
         (batch_id, dataset, status, attempts, run_count, staged_bytes, rows_valid, oldest_landed_at, oldest_staged_at,
          created_at, started_at, finished_at, next_attempt_at, execution_name, manifest_key, rows_loaded, error,
          updated_at)
       VALUES (:id, 'impressions', :status, :attempts, 2, 2048, 40, :oldestLandedAt, :oldestLandedAt, :createdAt,
               :createdAt, :finishedAt, :nextAttemptAt, 'loop-1', 'batches/impressions/manifest.json', :rowsLoaded,
               :error, :createdAt)`,
      {
        id: batch.id,
        status: batch.status,
        attempts: batch.attempts ?? 1,
        oldestLandedAt: new Date(batch.oldestLandedAt),
        createdAt: new Date(batch.createdAt),
        finishedAt: batch.finishedAt ? new Date(batch.finishedAt) : null,
        nextAttemptAt: batch.nextAttemptAt ? new Date(batch.nextAttemptAt) : null,
        rowsLoaded: batch.rowsLoaded ?? null,
        error: batch.error ?? null,
      },
    );
  }

  test('prints per dataset what waits and since when, the runs by outcome, and the last batches', async () => {
    await insertRun({
      key: key('waiting-1'),
      version: 'w1',
      status: 'STAGED',
      landedAt: '2026-12-02T17:45:00Z',
      stagedAt: '2026-12-02T17:50:00Z',
      stagedBytes: 100,
      rowsRejected: 2,
    });
    await insertRun({
      key: key('waiting-2'),
      version: 'w2',
      status: 'STAGED',
      landedAt: '2026-12-02T17:55:00Z',
      stagedAt: '2026-12-02T17:56:00Z',
      stagedBytes: 50,
    });
    await insertRun({
      key: key('done'),
      version: 'd1',
      status: 'SUCCEEDED',
      landedAt: '2026-12-02T09:55:00Z',
      rowsRejected: 1,
    });
    await insertRun({ key: key('bad'), version: 'b1', status: 'UNREADABLE', landedAt: '2026-12-02T11:00:00Z' });
    await insertRun({
      key: key('empty'),
      version: 'e1',
      status: 'NO_VALID_ROWS',
      landedAt: '2026-12-02T11:10:00Z',
      rowsRejected: 7,
    });
    await insertRun({ key: key('failed'), version: 'f1', status: 'FAILED', landedAt: '2026-12-02T11:20:00Z' });
    // Landed before the default 7 days: not counted.
    await insertRun({ key: key('old'), version: 'o1', status: 'UNREADABLE', landedAt: '2026-11-20T00:00:00Z' });
    await insertBatch({
      id: 'b-0',
      status: 'SUCCEEDED',
      createdAt: '2026-12-01T08:00:00Z',
      finishedAt: '2026-12-01T08:05:00Z',
      oldestLandedAt: '2026-12-01T07:58:00Z',
      rowsLoaded: 40,
    });
    await insertBatch({
      id: 'b-1',
      status: 'SUCCEEDED',
      createdAt: '2026-12-02T10:00:00Z',
      finishedAt: '2026-12-02T10:06:00Z',
      oldestLandedAt: '2026-12-02T09:55:00Z',
      rowsLoaded: 40,
    });
    await insertBatch({
      id: 'b-2',
      status: 'FAILED',
      attempts: 2,
      createdAt: '2026-12-02T12:00:00Z',
      oldestLandedAt: '2026-12-02T11:50:00Z',
      nextAttemptAt: '2026-12-02T18:20:00Z',
      error: 'Glue job dp-dev-curate failed:\n OutOfMemory',
    });

    const { exitCode, lines } = await run(runStatus, ['--env', 'dev', '--batches', '2']);
    expect(exitCode).toBe(0);
    expect(lines).toEqual([
      'Status of dp-dev at 2026-12-02T18:00:00Z (runs landed since 2026-11-25T18:00:00Z; last 2 batches per dataset)',
      'DATASET      WAITING RUNS  OLDEST WAITING  LAST BATCH                   LANDING->MART  RUNS  SUCCEEDED  QUARANTINED  FAILED  ROWS REJECTED',
      'clicks       0             -               -                            -              0     0          0            0       0',
      'impressions  2             10m 0s          FAILED 2026-12-02T12:00:00Z  -              6     1          2            1       10',
      '',
      'Last batches',
      'DATASET      BATCH  STATUS     ATTEMPTS  RUNS  ROWS VALID  ROWS LOADED  CREATED               DURATION  LANDING->MART  NOTE',
      'impressions  b-2    FAILED     2         2     40          -            2026-12-02T12:00:00Z  6h 0m     -              next attempt 2026-12-02T18:20:00Z; Glue job dp-dev-curate failed: OutOfMemory',
      'impressions  b-1    SUCCEEDED  1         2     40          40           2026-12-02T10:00:00Z  6m 0s     11m 0s',
      'impressions: 2 quarantined and 1 failed run(s); after a fix: npx tsx scripts/replay.ts --env dev --dataset impressions',
    ]);
  });

  test('says so when no batch has run yet', async () => {
    const { lines } = await run(runStatus, ['--env', 'dev']);
    expect(lines.slice(1)).toEqual([
      'DATASET      WAITING RUNS  OLDEST WAITING  LAST BATCH  LANDING->MART  RUNS  SUCCEEDED  QUARANTINED  FAILED  ROWS REJECTED',
      'clicks       0             -               -           -              0     0          0            0       0',
      'impressions  0             -               -           -              0     0          0            0       0',
      '',
      'Last batches',
      '(no batch yet)',
    ]);
  });
});
