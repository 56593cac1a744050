/**
 * The SYNTHESIZED impressions flow, executed locally (aws-local-stepfunctions) with the real handlers: validate
 * against a local S3 (s3rver), audit and the mart loader against a real PostgreSQL with the data mart migrations.
 * Glue and SNS are the only simulated services: the curate job is played by a function that writes the mart CSV
 * batch as curate.py does, and alerts are collected.
 */
process.env.POWERTOOLS_LOG_LEVEL = 'SILENT';
process.env.POWERTOOLS_METRICS_DISABLED = 'true';
process.env.MART_CLUSTER_ARN = 'arn:aws:rds:eu-west-1:222222222222:cluster:dp-dev-mart';
process.env.MART_SECRET_ARN = 'arn:aws:secretsmanager:eu-west-1:222222222222:secret:LoaderLoginSecret-AbCdEf';
process.env.MART_DATABASE = 'mart';
process.env.ARTIFACTS_BUCKET = 'dp-dev-artifacts-222222222222-eu-west-1';
process.env.MART_TABLES = JSON.stringify({ impressions: 'impressions', clicks: 'clicks' });
process.env.AWS_REGION ??= 'eu-west-1';

import { Template } from 'aws-cdk-lib/assertions';
import type { StateMachineDefinition } from 'aws-local-stepfunctions';
import { createHandler as createAuditHandler } from '../../lambda/audit/handler';
import { createHandler as createLoadMartHandler } from '../../lambda/load-mart/handler';
import { copyStager, s3Source } from '../../lambda/shared/mart-copy';
import { PgExecutor } from '../../lambda/shared/sql-pg';
import { createHandler as createValidateHandler } from '../../lambda/validate/handler';
import { S3ObjectStore } from '../../lambda/validate/object-store';
import { FLOW_STATES } from '../../lib/constructs/dataset-flow';
import { OrchestrationStack } from '../../lib/stacks/orchestration-stack';
import { exampleConfig, testApp } from '../helpers/app';
import { describeWithCopy, narrowedTo, type TestDatabase, startPostgres } from '../helpers/postgres';
import { type LocalS3, startLocalS3 } from '../lambda/validate/local-s3';
import { type GlueStartJobRunInput, type SimulateOptions, simulateCurate } from './helpers/curate-simulator';
import { dataMart as buildDataMart, foundation } from './helpers/foundation';
import { applyMigrations } from './helpers/migrations';
import { runExecution } from './helpers/state-machine';
import { synthesizedDefinition } from './helpers/state-machine';

const ACCOUNT = '222222222222';
const REGION = 'eu-west-1';
const LANDING = `dp-dev-landing-${ACCOUNT}-${REGION}`;
const CURATED = `dp-dev-curated-${ACCOUNT}-${REGION}`;
const ARTIFACTS = `dp-dev-artifacts-${ACCOUNT}-${REGION}`;
const impressions = exampleConfig().datasets.find((d) => d.name === 'impressions')!;
const clicks = exampleConfig().datasets.find((d) => d.name === 'clicks')!;

/** The definitions exactly as synthesized for dev (bundling skipped: definitions do not depend on code). */
function synthesizedDefinitions(): Record<'impressions' | 'clicks', StateMachineDefinition> {
  const app = testApp();
  const base = foundation(app, 'dev');
  const dataMart = buildDataMart(app, base);
  const stack = new OrchestrationStack(app, 'Orchestration', {
    ...base.common,
    env: base.env,
    datasets: exampleConfig().datasets,
    storage: base.storage,
    curateJobName: 'dp-dev-curate',
    dataMart,
    loadMartFunction: dataMart.loadMartFunction,
  });
  const template = Template.fromStack(stack);
  const context = { account: ACCOUNT, region: REGION };
  return {
    impressions: synthesizedDefinition(template, 'dp-dev-impressions', context),
    clicks: synthesizedDefinition(template, 'dp-dev-clicks', context),
  };
}

/** An EventBridge "Object Created" event from the landing bucket, as the rule delivers it to the state machine. */
function objectCreated(key: string, versionId: string, size: number) {
  return {
    version: '0',
    id: `event-${versionId}`,
    'detail-type': 'Object Created',
    source: 'aws.s3',
    account: ACCOUNT,
    time: '2026-11-22T10:00:00Z',
    region: REGION,
    resources: [`arn:aws:s3:::${LANDING}`],
    detail: {
      version: '0',
      bucket: { name: LANDING },
      object: { key, size, etag: 'etag', 'version-id': versionId, sequencer: '0001' },
      'request-id': 'request',
      requester: ACCOUNT,
      'source-ip-address': '10.0.0.1',
      reason: 'PutObject',
    },
  };
}

function impression(index: number, overrides: Record<string, unknown> = {}) {
  return {
    impression_id: `imp-${index.toString(16).padStart(16, '0')}`,
    event_time: '2026-11-22T09:15:00.000Z',
    event_date: '2026-11-22',
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

let definition: StateMachineDefinition;
let clicksDefinition: StateMachineDefinition;
let db: TestDatabase;
let s3: LocalS3;
let audit: ReturnType<typeof createAuditHandler>;
let validate: ReturnType<typeof createValidateHandler>;

beforeAll(async () => {
  ({ impressions: definition, clicks: clicksDefinition } = synthesizedDefinitions());
  [db, s3] = await Promise.all([startPostgres(), startLocalS3([LANDING, CURATED, ARTIFACTS])]);
  await applyMigrations(db.executor);
  // With the loader login's privileges, as the audit and load-mart functions have in AWS.
  audit = createAuditHandler({ executor: narrowedTo(db.executor, 'mart_loader_a') });
  validate = createValidateHandler({ store: new S3ObjectStore(s3.s3), artifactsBucket: ARTIFACTS });
});
afterAll(async () => {
  await Promise.all([db?.stop(), s3?.stop()]);
});

interface Calls {
  validate: number;
  loads: number;
  curate: GlueStartJobRunInput[];
  alerts: unknown[];
}

/** Local handlers per task state: the real Lambdas, a simulated Glue job, collected alerts. */
function handlers(calls: Calls, glue: (input: GlueStartJobRunInput) => Promise<unknown>) {
  const auditTask = (input: unknown) => audit(input) as never;
  return {
    [FLOW_STATES.claim]: auditTask,
    [FLOW_STATES.recordNothingToCurate]: auditTask,
    [FLOW_STATES.recordSuccess]: auditTask,
    [FLOW_STATES.recordFailure]: auditTask,
    [FLOW_STATES.validate]: async (input: unknown) => {
      calls.validate += 1;
      return (await validate(input)) as never;
    },
    [FLOW_STATES.curate]: async (input: unknown) => {
      calls.curate.push(input as GlueStartJobRunInput);
      return (await glue(input as GlueStartJobRunInput)) as never;
    },
    [FLOW_STATES.loadMart]: async (input: unknown) => {
      calls.loads += 1;
      return (await loadMart(input)) as never;
    },
    [FLOW_STATES.alert]: async (input: unknown) => {
      calls.alerts.push(input);
      return { MessageId: `message-${calls.alerts.length}` };
    },
  };
}

const newCalls = (): Calls => ({ validate: 0, loads: 0, curate: [], alerts: [] });
const curateForReal = (input: GlueStartJobRunInput, options?: SimulateOptions) =>
  simulateCurate(s3.s3, impressions, input, options);

/**
 * The real load-mart handler. Locally the batch is streamed with COPY FROM STDIN over the client that holds the load
 * transaction (on Aurora the cluster imports it from S3 itself), so each invocation gets its own pooled client.
 */
async function loadMart(input: unknown) {
  const client = await db.pool.connect();
  try {
    const handler = createLoadMartHandler({
      executor: narrowedTo(new PgExecutor(client), 'mart_loader_a'),
      s3: s3.s3,
      region: REGION,
      martTables: { impressions: 'impressions', clicks: 'clicks' },
      stagerFor: (event) => copyStager(client, s3Source(s3.s3, event.bucket, event.prefix)),
    });
    return await handler(input);
  } finally {
    client.release();
  }
}

async function martRows() {
  const { rows } = await db.pool.query(
    'SELECT impression_id, campaign_id::text, country, bid_price_usd::text FROM mart.impressions ORDER BY impression_id',
  );
  return rows;
}

async function pipelineRun(runId: string) {
  const { rows } = await db.pool.query('SELECT * FROM audit.pipeline_runs WHERE run_id = $1', [runId]);
  return rows[0];
}

describe('impressions state machine (synthesized definition, real handlers)', () => {
  test('all rows rejected: quarantined with reasons, recorded NO_VALID_ROWS, nothing curated', async () => {
    const key = 'impressions/ingest_date=2026-11-22/all-bad.ndjson';
    await s3.put(
      LANDING,
      key,
      ndjson([impression(1, { placement: 'billboard' }), impression(2, { campaign_id: 'x' })]),
    );
    const calls = newCalls();
    const result = await runExecution(definition, objectCreated(key, 'v-all-bad', 100), {
      executionName: 'run-all-bad',
      handlers: handlers(calls, curateForReal),
    });

    expect(result.status).toBe('SUCCEEDED');
    expect(result.path).toContain(FLOW_STATES.nothingToCurate);
    expect(calls.curate).toEqual([]);
    expect(await pipelineRun('run-all-bad')).toMatchObject({ status: 'NO_VALID_ROWS', object_key: key });
    expect(Number((await pipelineRun('run-all-bad')).rows_rejected)).toBe(2);
    const quarantined = await s3.list(ARTIFACTS, 'quarantine/impressions/ingest_date=2026-11-22/run_id=run-all-bad/');
    expect(quarantined).toHaveLength(1);
    expect(await s3.getText(ARTIFACTS, quarantined[0])).toMatch(/billboard/);
  });

  test('Glue keeps refusing the run: retried with backoff, then audit FAILED, an alert, and a failed execution', async () => {
    const key = 'impressions/ingest_date=2026-11-22/glue-busy.ndjson';
    await s3.put(LANDING, key, ndjson([impression(10), impression(11)]));
    const calls = newCalls();
    const busy = async () => {
      throw Object.assign(new Error('Concurrent runs exceeded for dp-dev-curate'), {
        name: 'Glue.ConcurrentRunsExceededException',
      });
    };
    const result = await runExecution(definition, objectCreated(key, 'v-glue-busy', 200), {
      executionName: 'run-glue-busy',
      handlers: handlers(calls, busy),
    });

    expect(result).toMatchObject({ status: 'FAILED', error: 'Glue.ConcurrentRunsExceededException' });
    // One attempt and the 5 retries of the concurrency retrier.
    expect(calls.curate).toHaveLength(6);
    expect(result.retries[FLOW_STATES.curate]).toBe(5);
    expect(result.path.slice(-3)).toEqual([FLOW_STATES.recordFailure, FLOW_STATES.alert, FLOW_STATES.failed]);
    expect(await pipelineRun('run-glue-busy')).toMatchObject({
      status: 'FAILED',
      error: expect.stringMatching(/^Glue.ConcurrentRunsExceededException: Concurrent runs exceeded/),
    });
    expect(calls.alerts).toHaveLength(1);
    expect(calls.alerts[0]).toMatchObject({
      Message: {
        dataset: 'impressions',
        key,
        runId: 'run-glue-busy',
        error: 'Glue.ConcurrentRunsExceededException',
      },
    });
  });

  test('a re-delivered event for the same object version is processed once', async () => {
    const key = 'impressions/ingest_date=2026-11-22/redelivered.ndjson';
    await s3.put(LANDING, key, ndjson([impression(20, { country: 'france' })]));
    const calls = newCalls();
    const event = objectCreated(key, 'v-redelivered', 100);
    const first = await runExecution(definition, event, {
      executionName: 'run-first',
      handlers: handlers(calls, curateForReal),
    });
    const second = await runExecution(definition, event, {
      executionName: 'run-second',
      handlers: handlers(calls, curateForReal),
    });

    expect(first.status).toBe('SUCCEEDED');
    expect(second.status).toBe('SUCCEEDED');
    expect(second.path).toContain(FLOW_STATES.alreadyProcessed);
    expect(second.path).not.toContain(FLOW_STATES.validate);
    expect(calls.validate).toBe(1);
    const { rows } = await db.pool.query('SELECT run_id FROM audit.pipeline_runs WHERE object_key = $1', [key]);
    expect(rows).toEqual([{ run_id: 'run-first' }]);
  });
});

describeWithCopy('impressions state machine to the mart (synthesized definition, real handlers)', () => {
  test('happy path: valid rows are curated and loaded into mart.impressions, the rejected one quarantined', async () => {
    const key = 'impressions/ingest_date=2026-11-22/happy.ndjson';
    const rows = [
      impression(100),
      impression(101, { country: null, viewable: null }),
      impression(102, { placement: 'x' }),
    ];
    // A later record of the same key wins (curate de-duplicates on the primary key).
    rows.push(impression(100, { bid_price_usd: '0.500000' }));
    await s3.put(LANDING, key, ndjson(rows));
    const calls = newCalls();
    const result = await runExecution(definition, objectCreated(key, 'v-happy', 500), {
      executionName: 'run-happy',
      handlers: handlers(calls, curateForReal),
    });

    expect(result.status).toBe('SUCCEEDED');
    expect(result.path).toEqual([
      FLOW_STATES.describeRun,
      FLOW_STATES.claim,
      FLOW_STATES.alreadyClaimed,
      FLOW_STATES.validate,
      FLOW_STATES.hasValidRows,
      FLOW_STATES.curate,
      FLOW_STATES.loadMart,
      FLOW_STATES.recordSuccess,
      FLOW_STATES.succeeded,
    ]);
    expect(calls.curate[0].Arguments).toMatchObject({
      '--dataset': 'impressions',
      '--run_id': 'run-happy',
      '--staging_path': `s3://${ARTIFACTS}/staging/impressions/run_id=run-happy/`,
      '--curated_path': `s3://${CURATED}/impressions/`,
      '--mart_path': `s3://${CURATED}/_mart/impressions/run_id=run-happy/`,
    });
    expect(JSON.parse(calls.curate[0].Arguments['--dataset_config'])).toMatchObject({ name: 'impressions' });
    expect(await martRows()).toEqual([
      { impression_id: 'imp-0000000000000064', campaign_id: '1100', country: 'FR', bid_price_usd: '0.500000' },
      { impression_id: 'imp-0000000000000065', campaign_id: '1101', country: null, bid_price_usd: '0.012345' },
    ]);
    const run = await pipelineRun('run-happy');
    expect(run).toMatchObject({ status: 'SUCCEEDED', error: null });
    expect([Number(run.rows_valid), Number(run.rows_rejected), Number(run.rows_loaded)]).toEqual([3, 1, 2]);
  });

  test('mart load failure: the batch is rolled back, the mart is unchanged, audit FAILED, alert, failed execution', async () => {
    const before = await martRows();
    const key = 'impressions/ingest_date=2026-11-22/bad-batch.ndjson';
    await s3.put(LANDING, key, ndjson([impression(200), impression(201)]));
    const calls = newCalls();
    // The second row of the batch gets a bid price the mart's numeric(12,6) column cannot hold.
    const badBatch = (input: GlueStartJobRunInput) =>
      curateForReal(input, { rewriteBatch: (csv) => csv.replace(/0\.012345(?![\s\S]*0\.012345)/, 'not-a-price') });
    const result = await runExecution(definition, objectCreated(key, 'v-bad-batch', 300), {
      executionName: 'run-bad-batch',
      handlers: handlers(calls, badBatch),
    });

    expect(result).toMatchObject({ status: 'FAILED', error: 'MartLoadError' });
    expect(result.retries[FLOW_STATES.loadMart]).toBeUndefined();
    expect(calls.loads).toBe(1);
    expect(await martRows()).toEqual(before);
    expect(await pipelineRun('run-bad-batch')).toMatchObject({
      status: 'FAILED',
      error: expect.stringMatching(/^MartLoadError: .*is unchanged/),
    });
    expect(calls.alerts).toEqual([
      expect.objectContaining({ Message: expect.objectContaining({ runId: 'run-bad-batch', error: 'MartLoadError' }) }),
    ]);
  });

  test('the same object delivered twice is loaded once', async () => {
    const key = 'impressions/ingest_date=2026-11-22/twice.ndjson';
    await s3.put(LANDING, key, ndjson([impression(300), impression(301)]));
    const calls = newCalls();
    const event = objectCreated(key, 'v-twice', 200);
    const first = await runExecution(definition, event, {
      executionName: 'run-twice-1',
      handlers: handlers(calls, curateForReal),
    });
    const afterFirst = await martRows();
    const second = await runExecution(definition, event, {
      executionName: 'run-twice-2',
      handlers: handlers(calls, curateForReal),
    });

    expect([first.status, second.status]).toEqual(['SUCCEEDED', 'SUCCEEDED']);
    expect(second.path).toEqual([
      FLOW_STATES.describeRun,
      FLOW_STATES.claim,
      FLOW_STATES.alreadyClaimed,
      FLOW_STATES.alreadyProcessed,
    ]);
    expect([calls.validate, calls.curate.length, calls.loads]).toEqual([1, 1, 1]);
    expect(await martRows()).toEqual(afterFirst);
    expect(afterFirst.filter((row) => row.impression_id.startsWith('imp-000000000000012'))).toHaveLength(2);
  });

  test('clicks (CSV, partitioned by ingest date) flows through its own state machine into mart.clicks', async () => {
    const key = 'clicks/ingest_date=2026-11-22/export.csv';
    const header = 'click_id,impression_id,click_time,campaign_id,landing_url,cost_usd,is_fraud_suspected';
    const csv = [
      header,
      'clk-00000000000000c1,imp-0000000000000064,2026-11-22T09:16:00Z,1100,"https://example.com/a,b",0.1200,false',
      'clk-00000000000000c2,imp-0000000000000065,2026-11-22T09:17:00Z,1101,,0.3400,true',
    ].join('\n');
    await s3.put(LANDING, key, `${csv}\n`);
    const calls = newCalls();
    const result = await runExecution(clicksDefinition, objectCreated(key, 'v-clicks', csv.length), {
      executionName: 'run-clicks',
      handlers: handlers(calls, (input) => simulateCurate(s3.s3, clicks, input)),
    });

    expect(result.status).toBe('SUCCEEDED');
    expect(calls.curate[0].Arguments).toMatchObject({
      '--dataset': 'clicks',
      '--mart_path': `s3://${CURATED}/_mart/clicks/run_id=run-clicks/`,
    });
    const { rows } = await db.pool.query(
      'SELECT click_id, landing_url, cost_usd::text, is_fraud_suspected FROM mart.clicks ORDER BY click_id',
    );
    expect(rows).toEqual([
      {
        click_id: 'clk-00000000000000c1',
        landing_url: 'https://example.com/a,b',
        cost_usd: '0.1200',
        is_fraud_suspected: false,
      },
      { click_id: 'clk-00000000000000c2', landing_url: null, cost_usd: '0.3400', is_fraud_suspected: true },
    ]);
    expect(await pipelineRun('run-clicks')).toMatchObject({ dataset: 'clicks', status: 'SUCCEEDED' });
  });
});
