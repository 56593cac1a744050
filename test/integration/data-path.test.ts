/**
 * The data path end to end, locally: stage A (the real validate function's code) for every landed object, and the
 * SYNTHESIZED stage B state machine (aws-local-stepfunctions) with the real batch and load-mart handlers, against a
 * local S3 and a real PostgreSQL, under a simulated clock (helpers/flow-harness.ts). Glue is simulated.
 */
process.env.POWERTOOLS_LOG_LEVEL = 'SILENT';
process.env.POWERTOOLS_METRICS_DISABLED = 'true';
process.env.AWS_REGION ??= 'eu-west-1';

import { BATCH_STATES } from '../../lib/constructs/batch-stage';
import { FlowHarness } from './helpers/flow-harness';

function impression(index: number, overrides: Record<string, unknown> = {}) {
  return {
    impression_id: `imp-${index.toString(16).padStart(16, '0')}`,
    event_time: '2026-12-01T07:15:00.000Z',
    event_date: '2026-12-01',
    campaign_id: 1000 + index,
    creative_id: 7,
    placement: 'banner',
    device_type: 'mobile',
    country: 'FR',
    bid_price_usd: '0.012345',
    viewable: true,
    viewability_score: 0.75,
    ...overrides,
  };
}
const ndjson = (rows: object[]) => `${rows.map((row) => JSON.stringify(row)).join('\n')}\n`;
const impressionsFile = (first: number, count: number, overrides: Record<string, unknown> = {}) =>
  ndjson(Array.from({ length: count }, (_, i) => impression(first + i, overrides)));
const impressionKey = (name: string) => `impressions/ingest_date=2026-12-01/${name}.ndjson`;

function clicksFile(first: number, count: number): string {
  const header = 'click_id,impression_id,click_time,campaign_id,landing_url,cost_usd,is_fraud_suspected';
  const hex = (n: number) => n.toString(16).padStart(16, '0');
  const lines = Array.from(
    { length: count },
    (_, i) =>
      `clk-${hex(first + i)},imp-${hex(first + i)},2026-12-01T07:20:00Z,${2000 + i},https://example.com,0.5000,false`,
  );
  return `${[header, ...lines].join('\n')}\n`;
}

async function martCount(harness: FlowHarness, table: string): Promise<number> {
  const [row] = await harness.executor.query<{ rows: number }>(`SELECT count(*)::int AS rows FROM mart.${table}`);
  return row.rows;
}

/** A fresh harness per test: its own database, buckets and clock. */
async function withHarness(
  test: (harness: FlowHarness) => Promise<void>,
  options: Parameters<typeof FlowHarness.start>[0] = {},
) {
  const harness = await FlowHarness.start(options);
  try {
    await test(harness);
  } finally {
    await harness.stop();
  }
}

describe('data path: stage A per object, stage B per dataset batch (synthesized definition, real handlers)', () => {
  test('many files of one dataset within the wait window become one batch: one Glue run, one mart load', () =>
    withHarness(async (harness) => {
      for (let file = 0; file < 20; file++) {
        harness.schedule(file * 10, impressionKey(`file-${file}`), impressionsFile(file * 5, 5));
      }
      await harness.run();

      expect(harness.glueCalls).toBe(1);
      expect(harness.martLoads).toBe(1);
      expect(harness.curate.runs[0].runIds).toHaveLength(20);
      expect(await harness.runStatuses('impressions')).toEqual({ SUCCEEDED: 20 });
      expect(await harness.batches('impressions')).toEqual([
        expect.objectContaining({ status: 'SUCCEEDED', attempts: 1, run_count: 20, rows_loaded: 100 }),
      ]);
      expect(await martCount(harness, 'impressions')).toBe(100);
      // Dev waits 5 minutes for the oldest run: the batch started once it had waited that long.
      expect(harness.elapsedSeconds).toBeGreaterThanOrEqual(300);
      // The loop that ran the batch went idle and released the dataset.
      expect(harness.executions.map((e) => e.path.at(-1))).toEqual([BATCH_STATES.idle]);
      const [schedule] = await harness.executor.query('SELECT holder FROM audit.dataset_schedules');
      expect(schedule).toEqual({ holder: null });
    }));

  test('files landing while a batch runs go into the next batch, never into the running one', () =>
    withHarness(async (harness) => {
      harness.schedule(0, impressionKey('first'), impressionsFile(0, 3));
      const simulate = harness.glue;
      let landedDuringBatch = false;
      harness.glue = async (input) => {
        if (!landedDuringBatch) {
          landedDuringBatch = true;
          harness.land(impressionKey('during-1'), impressionsFile(100, 2));
          harness.land(impressionKey('during-2'), impressionsFile(200, 2));
        }
        return simulate(input);
      };
      await harness.run();

      expect(harness.curate.runs.map((run) => run.runIds.length)).toEqual([1, 2]);
      const batches = await harness.batches('impressions');
      expect(batches.map((b) => [b.status, b.run_count])).toEqual([
        ['SUCCEEDED', 1],
        ['SUCCEEDED', 2],
      ]);
      // One loop did both batches in a row.
      expect(harness.executions).toHaveLength(1);
      expect(harness.executions[0].path.filter((s) => s === BATCH_STATES.curate)).toHaveLength(2);
      const [{ runs }] = await harness.executor.query<{ runs: number }>(
        'SELECT count(DISTINCT run_id)::int AS runs FROM audit.batch_runs',
      );
      expect(runs).toBe(3);
      expect(await martCount(harness, 'impressions')).toBe(7);
    }));

  test('a failed batch is alerted and retried whole after its delay: same runs, no duplicate rows', () =>
    withHarness(async (harness) => {
      harness.schedule(0, impressionKey('a'), impressionsFile(0, 4));
      harness.schedule(5, impressionKey('b'), impressionsFile(2, 4, { campaign_id: 77 }));
      const simulate = harness.glue;
      let attempts = 0;
      harness.glue = async (input) => {
        attempts++;
        if (attempts === 1) {
          throw Object.assign(new Error('Executor lost'), { name: 'Glue.JobRunFailed' });
        }
        return simulate(input);
      };
      await harness.run();

      const [batch] = await harness.batches('impressions');
      expect(batch).toMatchObject({ status: 'SUCCEEDED', attempts: 2, run_count: 2, error: null });
      expect(harness.curate.runs).toHaveLength(1);
      expect(harness.alerts).toEqual([
        expect.objectContaining({
          Message: expect.objectContaining({ dataset: 'impressions', batchId: batch.batch_id, attempt: 1 }),
        }),
      ]);
      // Keys 2 and 3 came twice: the later file wins, once.
      expect(await martCount(harness, 'impressions')).toBe(6);
      const [{ campaign }] = await harness.executor.query<{ campaign: string }>(
        "SELECT campaign_id::text AS campaign FROM mart.impressions WHERE impression_id = 'imp-0000000000000003'",
      );
      expect(campaign).toBe('77');
      // The retry waited for its delay (5 minutes after the failure).
      expect(harness.elapsedSeconds).toBeGreaterThanOrEqual(300 + 120 + 300);
      expect(await harness.runStatuses('impressions')).toEqual({ SUCCEEDED: 2 });
    }));

  test('a mart load that fails leaves the mart unchanged; the batch is retried whole and loads once', () =>
    withHarness(async (harness) => {
      harness.schedule(0, impressionKey('good'), impressionsFile(0, 3));
      const simulate = harness.glue;
      let attempts = 0;
      harness.glue = async (input) => {
        const result = await simulate(input);
        attempts++;
        if (attempts === 1) {
          // A value PostgreSQL refuses in the first attempt's CSV: the whole load must roll back.
          const prefix = input.Arguments['--mart_path'].replace(/^s3:\/\/[^/]+\//, '');
          const key = `${prefix}part-00000.csv`;
          const csv = await harness.s3.getText('dp-dev-curated-222222222222-eu-west-1', key);
          const lines = csv.split('\n');
          lines[2] = lines[2].replace(/,1001,/, ',not-a-number,');
          await harness.s3.put('dp-dev-curated-222222222222-eu-west-1', key, lines.join('\n'));
        }
        return result;
      };
      await harness.run();

      expect(harness.martLoads).toBe(2);
      const [batch] = await harness.batches('impressions');
      expect(batch).toMatchObject({ status: 'SUCCEEDED', attempts: 2, rows_loaded: 3, error: null });
      expect(harness.alerts).toEqual([
        expect.objectContaining({
          Message: expect.objectContaining({ error: 'MartLoadError', cause: expect.stringMatching(/is unchanged/) }),
        }),
      ]);
      expect(await martCount(harness, 'impressions')).toBe(3);
    }));

  test('a batch that fails every attempt is abandoned: its runs are FAILED, alerted each time, nothing loaded', () =>
    withHarness(
      async (harness) => {
        harness.schedule(0, impressionKey('doomed'), impressionsFile(0, 2));
        harness.glue = async () => {
          throw Object.assign(new Error('bad script'), { name: 'Glue.JobRunFailed' });
        };
        await harness.run();

        const [batch] = await harness.batches('impressions');
        expect(batch).toMatchObject({ status: 'ABANDONED', attempts: 2, error: expect.stringMatching(/bad script/) });
        expect(harness.alerts).toHaveLength(2);
        const [run] = await harness.executor.query('SELECT status, error FROM audit.pipeline_runs');
        expect(run).toMatchObject({
          status: 'FAILED',
          error: expect.stringMatching(/abandoned after 2 of 2 attempts/),
        });
        expect(await martCount(harness, 'impressions')).toBe(0);
      },
      { settings: { maxAttempts: 2 } },
    ));

  test('two datasets get independent loops and batches', () =>
    withHarness(async (harness) => {
      harness.schedule(0, impressionKey('i1'), impressionsFile(0, 3));
      harness.schedule(1, 'clicks/ingest_date=2026-12-01/c1.csv', clicksFile(0, 4));
      harness.schedule(2, impressionKey('i2'), impressionsFile(10, 3));
      harness.schedule(3, 'clicks/ingest_date=2026-12-01/c2.csv', clicksFile(10, 4));
      await harness.run();

      expect(harness.executions.map((e) => e.dataset).sort()).toEqual(['clicks', 'impressions']);
      expect(harness.curate.runs.map((run) => [run.dataset, run.runIds.length]).sort()).toEqual([
        ['clicks', 2],
        ['impressions', 2],
      ]);
      expect(await martCount(harness, 'impressions')).toBe(6);
      expect(await martCount(harness, 'clicks')).toBe(8);
    }));

  test('staged bytes reaching maxBytes start a batch before the wait is over', () =>
    withHarness(
      async (harness) => {
        for (let file = 0; file < 6; file++) {
          harness.schedule(file, impressionKey(`big-${file}`), impressionsFile(file * 10, 10));
        }
        await harness.run();
        // ~3.3 KB per file: the limit takes about three files per batch, well before 5 minutes.
        const batches = await harness.batches('impressions');
        expect(batches.length).toBeGreaterThanOrEqual(2);
        expect(batches.reduce((sum, b) => sum + Number(b.run_count), 0)).toBe(6);
        expect(harness.glueCalls).toBe(batches.length);
        expect(await martCount(harness, 'impressions')).toBe(60);
      },
      { settings: { maxBytes: 8000 } },
    ));

  test('a crashed lock holder: once its lease expires, the next staged run starts a loop that retries its batch', () =>
    withHarness(async (harness) => {
      harness.land(impressionKey('before-crash'), impressionsFile(0, 2));
      await harness.advanceBy(0);
      // Stage A made its run the holder and started a loop; that loop takes a batch, then its execution is lost
      // (nothing records a failure: the batch stays RUNNING under a lease nobody renews).
      const [holder] = harness.discardPending();
      expect(holder).toMatch(/^impressions-[0-9a-f]{32}$/);
      expect(await harness.acquireAs('impressions', holder)).toMatchObject({ decision: { outcome: 'WAIT' } });
      await harness.advanceBy(300);
      expect(await harness.acquireAs('impressions', holder)).toMatchObject({ decision: { outcome: 'BATCH' } });

      // While the lease runs, a newly staged run starts nothing: the dataset has a holder.
      harness.land(impressionKey('during-lease'), impressionsFile(50, 2));
      await harness.run();
      expect(harness.executions).toEqual([]);
      expect((await harness.batches('impressions'))[0]).toMatchObject({ status: 'RUNNING', attempts: 1 });

      // Past the lease (the job timeout plus the load's and a margin), the next staged run takes the dataset over;
      // its loop fails the lost attempt and retries the same batch at once, then batches the rest.
      harness.schedule(
        harness.elapsedSeconds + harness.settings.batchLeaseSeconds,
        impressionKey('after-lease'),
        impressionsFile(60, 2),
      );
      await harness.run();
      const batches = await harness.batches('impressions');
      expect(batches[0]).toMatchObject({
        status: 'SUCCEEDED',
        attempts: 2,
        run_count: 1,
      });
      expect(batches.slice(1).map((b) => [b.status, b.run_count])).toEqual([['SUCCEEDED', 2]]);
      expect(await harness.runStatuses('impressions')).toEqual({ SUCCEEDED: 3 });
      expect(await martCount(harness, 'impressions')).toBe(6);
      expect(harness.executions).toHaveLength(1);
      expect(harness.executions[0].name).not.toBe(holder);
    }));

  test('a message delivered again is processed once: no second run, no duplicate rows', () =>
    withHarness(async (harness) => {
      harness.schedule(0, impressionKey('twice'), impressionsFile(0, 3));
      await harness.advanceBy(1);
      const message = harness.objectCreated(impressionKey('twice'), 100, 'v1');
      expect((await harness.deliver(message)).outcome).toBe('ALREADY_STAGED');
      await harness.run();
      expect((await harness.deliver(message)).outcome).toBe('ALREADY_PROCESSED');
      await harness.run();

      expect(harness.curate.runs).toHaveLength(1);
      expect(await harness.runStatuses('impressions')).toEqual({ SUCCEEDED: 1 });
      expect(await martCount(harness, 'impressions')).toBe(3);
    }));

  test('a file whose rows are all rejected is quarantined and recorded, and starts no batch', () =>
    withHarness(async (harness) => {
      harness.schedule(0, impressionKey('all-bad'), impressionsFile(0, 2, { placement: 'billboard' }));
      await harness.run();
      expect(harness.executions).toEqual([]);
      expect(await harness.runStatuses('impressions')).toEqual({ NO_VALID_ROWS: 1 });
      const [run] = await harness.executor.query<{ run_id: string }>('SELECT run_id FROM audit.pipeline_runs');
      const quarantined = await harness.s3.list(
        'dp-dev-artifacts-222222222222-eu-west-1',
        `quarantine/impressions/ingest_date=2026-12-01/run_id=${run.run_id}/`,
      );
      expect(quarantined).toHaveLength(1);
    }));

  test('a loop that has turned maxIterations times continues in a fresh execution, which finishes the work', () =>
    withHarness(
      async (harness) => {
        harness.schedule(0, impressionKey('slow'), impressionsFile(0, 1));
        await harness.run();
        expect(harness.executions.length).toBeGreaterThanOrEqual(2);
        expect(harness.executions[0].path.at(-1)).toBe(BATCH_STATES.handedOver);
        expect(harness.executions.at(-1)?.path.at(-1)).toBe(BATCH_STATES.idle);
        expect(await harness.runStatuses('impressions')).toEqual({ SUCCEEDED: 1 });
      },
      // 60 s polls over a 5-minute wait: more than 2 turns before the batch is due.
      { settings: { maxIterations: 2 } },
    ));

  test('audit answers freshness: the oldest STAGED run per dataset, and landing -> mart latency per batch', () =>
    withHarness(async (harness) => {
      harness.schedule(0, impressionKey('f1'), impressionsFile(0, 1));
      harness.schedule(30, impressionKey('f2'), impressionsFile(1, 1));
      await harness.advanceBy(60);
      const [fresh] = await harness.executor.query<{ staged_runs: number; oldest_staged_at: Date }>(
        "SELECT staged_runs::int, oldest_staged_at FROM audit.dataset_freshness WHERE dataset = 'impressions'",
      );
      expect(fresh.staged_runs).toBe(2);
      expect(fresh.oldest_staged_at.toISOString()).toBe('2026-12-01T08:00:00.000Z');
      await harness.run();
      const [latency] = await harness.executor.query<{ seconds: number }>(
        'SELECT extract(epoch FROM landing_to_mart)::int AS seconds FROM audit.batch_latency',
      );
      // 5 minutes of waiting for the batch window plus the 2-minute curate run.
      expect(latency.seconds).toBeGreaterThanOrEqual(420);
      expect(latency.seconds).toBeLessThan(600);
    }));
});
