/**
 * The SYNTHESIZED impressions flow, executed locally (aws-local-stepfunctions) with the real handlers: validate
 * against a local S3 (s3rver), audit and the mart loader against a real PostgreSQL with the data mart migrations.
 * Glue and SNS are the only simulated services: the curate job is played by a function that writes the mart CSV
 * batch as curate.py does, and alerts are collected.
 */
process.env.POWERTOOLS_LOG_LEVEL = 'SILENT';
process.env.POWERTOOLS_METRICS_DISABLED = 'true';
process.env.MART_CLUSTER_ARN = 'arn:aws:rds:eu-west-1:222222222222:cluster:dp-dev-mart';
process.env.MART_SECRET_ARN = 'arn:aws:secretsmanager:eu-west-1:222222222222:secret:dp-dev-mart-AbCdEf';
process.env.MART_DATABASE = 'mart';
process.env.ARTIFACTS_BUCKET = 'dp-dev-artifacts-222222222222-eu-west-1';

import * as lambda from 'aws-cdk-lib/aws-lambda';
import { Template } from 'aws-cdk-lib/assertions';
import type { StateMachineDefinition } from 'aws-local-stepfunctions';
import { createHandler as createAuditHandler } from '../../lambda/audit/handler';
import { createHandler as createValidateHandler } from '../../lambda/validate/handler';
import { S3ObjectStore } from '../../lambda/validate/object-store';
import { FLOW_STATES } from '../../lib/constructs/dataset-flow';
import { OrchestrationStack } from '../../lib/stacks/orchestration-stack';
import { exampleConfig, testApp } from '../helpers/app';
import { type TestDatabase, startPostgres } from '../helpers/postgres';
import { type LocalS3, startLocalS3 } from '../lambda/validate/local-s3';
import { type GlueStartJobRunInput, simulateCurate } from './helpers/curate-simulator';
import { dataMartDouble, foundation } from './helpers/foundation';
import { applyMigrations } from './helpers/migrations';
import { runExecution } from './helpers/state-machine';
import { synthesizedDefinition } from './helpers/state-machine';

const ACCOUNT = '222222222222';
const REGION = 'eu-west-1';
const LANDING = `dp-dev-landing-${ACCOUNT}-${REGION}`;
const CURATED = `dp-dev-curated-${ACCOUNT}-${REGION}`;
const ARTIFACTS = `dp-dev-artifacts-${ACCOUNT}-${REGION}`;
const impressions = exampleConfig().datasets.find((d) => d.name === 'impressions')!;

/** The definition exactly as synthesized for dev (bundling skipped: definitions do not depend on code). */
function impressionsDefinition(): StateMachineDefinition {
  const app = testApp();
  const base = foundation(app, 'dev');
  const dataMart = dataMartDouble(app, base);
  const stack = new OrchestrationStack(app, 'Orchestration', {
    ...base.common,
    env: base.env,
    datasets: exampleConfig().datasets,
    storage: base.storage,
    curateJobName: 'dp-dev-curate',
    dataMart,
    loadMartFunction: lambda.Function.fromFunctionAttributes(base.storage, 'LoaderDouble', {
      functionArn: `arn:aws:lambda:${REGION}:${ACCOUNT}:function:dp-dev-load-mart`,
      sameEnvironment: true,
    }),
  });
  return synthesizedDefinition(Template.fromStack(stack), 'dp-dev-impressions', { account: ACCOUNT, region: REGION });
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
let db: TestDatabase;
let s3: LocalS3;
let audit: ReturnType<typeof createAuditHandler>;
let validate: ReturnType<typeof createValidateHandler>;

beforeAll(async () => {
  definition = impressionsDefinition();
  [db, s3] = await Promise.all([startPostgres(), startLocalS3([LANDING, CURATED, ARTIFACTS])]);
  await applyMigrations(db.executor);
  audit = createAuditHandler({ executor: db.executor });
  validate = createValidateHandler({ store: new S3ObjectStore(s3.s3), artifactsBucket: ARTIFACTS });
});
afterAll(async () => {
  await Promise.all([db?.stop(), s3?.stop()]);
});

interface Calls {
  validate: number;
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
    [FLOW_STATES.alert]: async (input: unknown) => {
      calls.alerts.push(input);
      return { MessageId: `message-${calls.alerts.length}` };
    },
  };
}

const newCalls = (): Calls => ({ validate: 0, curate: [], alerts: [] });
const curateForReal = (input: GlueStartJobRunInput) => simulateCurate(s3.s3, impressions, input);

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
