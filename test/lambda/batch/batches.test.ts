/**
 * Stage B's bookkeeping against a real PostgreSQL: the dataset lease, batch creation, completion and failure, and the
 * races the lease serializes (two loops at once; a run staged while a loop goes idle).
 */
import '../../integration/helpers/lambda-env';
import { acquire, BatchNotHeldError, complete, fail, MAX_RUNS_PER_BATCH } from '../../../lambda/batch/batches';
import type { BatchSettings } from '../../../lambda/batch/contract';
import { createHandler, settingsFromEnvironment } from '../../../lambda/batch/handler';
import { InvalidInputError } from '../../../lambda/shared/errors';
import { PgExecutor } from '../../helpers/sql-pg';
import { claimRun, stageRun } from '../../../lambda/validate/runs';
import { exampleConfig } from '../../helpers/app';
import { hasDatabaseServer, startPostgres, type TestDatabase } from '../../helpers/postgres';
import { applyMigrations } from '../../integration/helpers/migrations';

const SETTINGS: BatchSettings = {
  maxBytes: 1000,
  maxWaitSeconds: 300,
  pollSeconds: 60,
  maxAttempts: 3,
  retryDelaySeconds: 300,
  batchLeaseSeconds: 3600,
  startLeaseSeconds: 300,
  maxIterations: 200,
};
const T0 = new Date('2026-12-01T08:00:00.000Z');
const at = (seconds: number) => new Date(T0.getTime() + seconds * 1000);

let db: TestDatabase;
let counter = 0;

beforeAll(async () => {
  db = await startPostgres();
  await applyMigrations(db.executor);
});
afterAll(() => db?.stop());
beforeEach(async () => {
  await db.executor.query('TRUNCATE audit.batch_runs, audit.batches, audit.dataset_schedules, audit.pipeline_runs');
});

/** A run of `dataset` staged at `when` with `bytes` staged bytes; returns its run id. */
async function staged(dataset: string, when: Date, bytes = 100): Promise<string> {
  const object = {
    dataset,
    bucket: 'landing',
    key: `${dataset}/f-${++counter}.ndjson`,
    versionId: 'v',
    landedAt: when,
  };
  const { runId } = await claimRun(db.executor, object, when);
  await stageRun(db.executor, { runId, dataset, rowsValid: 1, rowsRejected: 0, stagedBytes: bytes }, when, 300);
  // Stage A made the run the holder of a loop it started; the tests play that loop under their own names.
  await db.executor.query('DELETE FROM audit.dataset_schedules');
  return runId;
}

const request = (executionName: string, now: Date, iteration = 0) => ({
  dataset: 'impressions',
  executionName,
  iteration,
  now,
  artifactsBucket: 'artifacts',
});

describe('stage B bookkeeping', () => {
  test('waits until the oldest run has waited maxWait while under maxBytes, then takes the runs oldest first', async () => {
    const first = await staged('impressions', at(0), 300);
    const second = await staged('impressions', at(10), 300);
    const third = await staged('impressions', at(20), 300);
    const early = await acquire(db.executor, request('loop-1', at(100)), SETTINGS);
    expect(early).toMatchObject({ outcome: 'WAIT', waitSeconds: 60 });
    const nearly = await acquire(db.executor, request('loop-1', at(270)), SETTINGS);
    expect(nearly).toMatchObject({ outcome: 'WAIT', waitSeconds: 30 });

    const due = await acquire(db.executor, request('loop-1', at(300)), SETTINGS);
    expect(due.outcome).toBe('BATCH');
    expect(due.batch?.manifest.runs.map((run) => [run.runId, run.sequence])).toEqual([
      [first, 1],
      [second, 2],
      [third, 3],
    ]);
    expect(due.batch?.manifest.runs[0].stagingPath).toBe(`s3://artifacts/staging/impressions/run_id=${first}/`);
  });

  test('maxBytes starts a batch at once and bounds it; the rest waits for the next one', async () => {
    const runs = [];
    for (let i = 0; i < 5; i++) runs.push(await staged('impressions', at(i), 400));
    const decision = await acquire(db.executor, request('loop-1', at(5)), SETTINGS);
    expect(decision.outcome).toBe('BATCH');
    expect(decision.batch?.manifest.runs.map((run) => run.runId)).toEqual(runs.slice(0, 3));
    await complete(
      db.executor,
      { dataset: 'impressions', executionName: 'loop-1', batchId: decision.batch!.batchId, now: at(6) },
      SETTINGS,
    );
    const next = await acquire(db.executor, request('loop-1', at(6)), SETTINGS);
    expect(next).toMatchObject({ outcome: 'WAIT' });
    const statuses = await db.executor.query<{ status: string; n: number }>(
      'SELECT status, count(*)::int AS n FROM audit.pipeline_runs GROUP BY status ORDER BY status',
    );
    expect(statuses).toEqual([
      { status: 'STAGED', n: 2 },
      { status: 'SUCCEEDED', n: 3 },
    ]);
  });

  test(`never takes more than ${MAX_RUNS_PER_BATCH} runs in one batch`, async () => {
    await db.executor.query(
      `INSERT INTO audit.pipeline_runs (run_id, dataset, object_key, status, staged_at, staged_bytes, rows_valid)
       SELECT 'r' || n, 'impressions', 'impressions/' || n, 'STAGED', :t0::timestamptz + n * interval '1 ms', 1, 1
         FROM generate_series(1, :count) AS n`,
      { t0: T0, count: MAX_RUNS_PER_BATCH + 5 },
    );
    const decision = await acquire(db.executor, request('loop-1', at(1)), { ...SETTINGS, maxBytes: 1e9 });
    expect(decision.outcome).toBe('BATCH');
    expect(decision.batch?.runCount).toBe(MAX_RUNS_PER_BATCH);
  });

  test('goes IDLE and releases the dataset when nothing waits', async () => {
    await expect(acquire(db.executor, request('loop-1', at(0)), SETTINGS)).resolves.toMatchObject({ outcome: 'IDLE' });
    const [schedule] = await db.executor.query('SELECT holder, lease_expires_at FROM audit.dataset_schedules');
    expect(schedule).toEqual({ holder: null, lease_expires_at: null });
  });

  test('CONTINUE hands the lease to a fresh execution name after maxIterations turns', async () => {
    await staged('impressions', at(0));
    const decision = await acquire(db.executor, request('loop-1', at(1), 200), SETTINGS);
    expect(decision.outcome).toBe('CONTINUE');
    expect(decision.nextExecutionName).toMatch(/^impressions-20261201T080001Z-[0-9a-f]{6}$/);
    await expect(acquire(db.executor, request('loop-1', at(2)), SETTINGS)).resolves.toMatchObject({
      outcome: 'SUPERSEDED',
    });
    await expect(acquire(db.executor, request(decision.nextExecutionName!, at(3)), SETTINGS)).resolves.toMatchObject({
      outcome: 'WAIT',
    });
  });

  test('a failed batch waits retryDelay (doubling), is retried with the same runs, and is abandoned at maxAttempts', async () => {
    const run = await staged('impressions', at(0), 2000);
    const first = await acquire(db.executor, request('loop-1', at(1)), SETTINGS);
    const batchId = first.batch!.batchId;
    const failed = await fail(
      db.executor,
      { dataset: 'impressions', executionName: 'loop-1', batchId, error: 'boom', now: at(2) },
      SETTINGS,
    );
    expect(failed).toEqual({ batchId, status: 'FAILED', attempts: 1, nextAttemptAt: at(302).toISOString() });
    await expect(acquire(db.executor, request('loop-1', at(100)), SETTINGS)).resolves.toMatchObject({
      outcome: 'WAIT',
      waitSeconds: 60,
    });
    const second = await acquire(db.executor, request('loop-1', at(302)), SETTINGS);
    expect(second.batch).toMatchObject({
      batchId,
      attempt: 2,
      manifest: { runs: [expect.objectContaining({ runId: run })] },
    });
    const again = await fail(
      db.executor,
      { dataset: 'impressions', executionName: 'loop-1', batchId, error: 'boom 2', now: at(303) },
      SETTINGS,
    );
    expect(again.nextAttemptAt).toBe(at(303 + 600).toISOString());
    const third = await acquire(db.executor, request('loop-1', at(903)), SETTINGS);
    expect(third.batch).toMatchObject({ batchId, attempt: 3 });
    const last = await fail(
      db.executor,
      { dataset: 'impressions', executionName: 'loop-1', batchId, error: 'boom 3', now: at(904) },
      SETTINGS,
    );
    expect(last.nextAttemptAt).toBeNull();
    const after = await acquire(db.executor, request('loop-1', at(905)), SETTINGS);
    expect(after).toMatchObject({ outcome: 'IDLE', abandoned: [batchId] });
    const [row] = await db.executor.query<{ status: string; error: string }>(
      'SELECT status, error FROM audit.pipeline_runs',
    );
    expect(row).toEqual({ status: 'FAILED', error: `batch ${batchId} abandoned after 3 of 3 attempts: boom 3` });
  });

  test('rejects completing or failing a batch the execution does not hold', async () => {
    await staged('impressions', at(0), 2000);
    const decision = await acquire(db.executor, request('loop-1', at(1)), SETTINGS);
    const batchId = decision.batch!.batchId;
    await expect(
      complete(db.executor, { dataset: 'impressions', executionName: 'loop-2', batchId, now: at(2) }, SETTINGS),
    ).rejects.toBeInstanceOf(BatchNotHeldError);
    await expect(
      fail(db.executor, { dataset: 'impressions', executionName: 'loop-2', batchId, error: 'x', now: at(2) }, SETTINGS),
    ).resolves.toMatchObject({ status: 'NOT_RUNNING' });
    // Completing twice is harmless.
    await complete(db.executor, { dataset: 'impressions', executionName: 'loop-1', batchId, now: at(3) }, SETTINGS);
    await expect(
      complete(db.executor, { dataset: 'impressions', executionName: 'loop-1', batchId, now: at(4) }, SETTINGS),
    ).resolves.toMatchObject({ status: 'SUCCEEDED' });
  });

  // Races need concurrent sessions: a real server (PGlite is one session behind its socket).
  (hasDatabaseServer() ? describe : describe.skip)('races (real server: concurrent sessions)', () => {
    test('survives two loops acquiring at once: one holds the dataset, one batch, no run in two batches', async () => {
      for (let i = 0; i < 10; i++) await staged('impressions', at(i), 10);
      const executor = new PgExecutor(db.pool);
      const decisions = await Promise.all(
        Array.from({ length: 6 }, (_, i) => acquire(executor, request(`loop-${i}`, at(400)), SETTINGS)),
      );
      const outcomes = decisions.map((decision) => decision.outcome).sort();
      expect(outcomes).toEqual(['BATCH', 'SUPERSEDED', 'SUPERSEDED', 'SUPERSEDED', 'SUPERSEDED', 'SUPERSEDED']);
      const [counts] = await db.executor.query<{ batches: number; members: number; distinct_runs: number }>(
        `SELECT (SELECT count(*)::int FROM audit.batches) AS batches, count(*)::int AS members,
                count(DISTINCT run_id)::int AS distinct_runs FROM audit.batch_runs`,
      );
      expect(counts).toEqual({ batches: 1, members: 10, distinct_runs: 10 });
    });

    test('survives a run staged while its loop goes idle: the loop sees the run or the run starts a new loop', async () => {
      const executor = new PgExecutor(db.pool);
      for (let round = 0; round < 20; round++) {
        await db.executor.query(
          'TRUNCATE audit.batch_runs, audit.batches, audit.dataset_schedules, audit.pipeline_runs',
        );
        await db.executor.query(
          `INSERT INTO audit.dataset_schedules (dataset, holder, lease_expires_at, updated_at) VALUES ('impressions', 'loop-1', :until, :now)`,
          { until: at(600), now: T0 },
        );
        const object = { dataset: 'impressions', bucket: 'landing', key: `impressions/race-${round}`, landedAt: at(1) };
        const { runId } = await claimRun(executor, object, at(1));
        const [loop, start] = await Promise.all([
          acquire(executor, request('loop-1', at(2)), SETTINGS),
          stageRun(
            executor,
            { runId, dataset: 'impressions', rowsValid: 1, rowsRejected: 0, stagedBytes: 1 },
            at(2),
            300,
          ),
        ]);
        // Either the loop went idle first and the run became the holder, or the loop saw the run (and keeps it).
        if (loop.outcome === 'IDLE') expect(start.startAs).toBeDefined();
        else expect([loop.outcome, start.holder]).toEqual(['WAIT', 'loop-1']);
      }
    });
  });
});

describe('batch handler', () => {
  const handler = createHandler({
    executor: { query: async () => [], transaction: async () => undefined as never },
    manifests: { put: async () => undefined },
    settings: SETTINGS,
    datasets: new Map(exampleConfig().datasets.map((dataset) => [dataset.name, dataset])),
    artifactsBucket: 'artifacts',
    curatedBucket: 'curated',
  });

  test.each([
    ['an unknown action', { action: 'explode', dataset: 'impressions', executionName: 'x' }, /action/],
    [
      'a dataset name that is not an identifier',
      { action: 'acquire', dataset: 'Drop Table', executionName: 'x', iteration: 0 },
      /dataset/,
    ],
    [
      'an execution name Step Functions would refuse',
      { action: 'acquire', dataset: 'impressions', executionName: 'a b', iteration: 0 },
      /executionName/,
    ],
    [
      'a batch id with a slash',
      { action: 'complete', dataset: 'impressions', executionName: 'x', batchId: '../x' },
      /batchId/,
    ],
  ])('rejects %s with InvalidInputError', async (_name, event, field) => {
    const attempt = handler(event);
    await expect(attempt).rejects.toBeInstanceOf(InvalidInputError);
    await expect(attempt).rejects.toThrow(field);
  });

  test('rejects a dataset that is not configured, naming the configured ones', async () => {
    await expect(handler({ action: 'acquire', dataset: 'orders', executionName: 'x', iteration: 0 })).rejects.toThrow(
      'Unknown dataset "orders". Fix: use one of clicks, impressions',
    );
  });

  test('fails fast on malformed settings, naming the variable', () => {
    expect(() => settingsFromEnvironment({ BATCH_SETTINGS: '{' })).toThrow(/BATCH_SETTINGS is not JSON/);
    expect(() => settingsFromEnvironment({ BATCH_SETTINGS: '{"maxBytes": -1}' })).toThrow(
      /BATCH_SETTINGS is invalid \(maxBytes: .*\)\. Fix: redeploy the Orchestration stack/,
    );
    expect(() => settingsFromEnvironment({})).toThrow(/BATCH_SETTINGS is not set/);
  });
});
