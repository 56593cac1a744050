import { GlueClient } from '../../../lambda/job-auditor/glue';
import { FAKE_CREDENTIALS, FAKE_REGION, type FakeAws, type FakeAwsHandler, startFakeAws } from '../../helpers/fake-aws';
import { type TestDatabase, startPostgres } from '../../helpers/postgres';
import { applyMigrations } from '../../integration/helpers/migrations';

process.env.POWERTOOLS_LOG_LEVEL = 'SILENT';
process.env.POWERTOOLS_METRICS_DISABLED = 'true';
process.env.MART_CLUSTER_ARN = 'arn:aws:rds:eu-west-1:222222222222:cluster:dp-dev-mart';
process.env.MART_SECRET_ARN = 'arn:aws:secretsmanager:eu-west-1:222222222222:secret:dp-dev-mart-AbCdEf';
process.env.MART_DATABASE = 'mart';

import { createHandler } from '../../../lambda/job-auditor/handler';

let db: TestDatabase;
let glue: FakeAws;
/** How the fake Glue answers GetJobRun in the current test. */
let getJobRun: FakeAwsHandler;
let jobAuditor: ReturnType<typeof createHandler>;

beforeAll(async () => {
  db = await startPostgres();
  await applyMigrations(db.executor);
  glue = await startFakeAws('glue', (call) => {
    if (call.target !== 'AWSGlue.GetJobRun') throw new Error(`unexpected call ${call.target}`);
    return getJobRun(call);
  });
  jobAuditor = createHandler({
    executor: db.executor,
    glue: new GlueClient({
      endpoint: glue.endpoint,
      region: FAKE_REGION,
      credentials: FAKE_CREDENTIALS,
      retryBaseDelayMs: 1,
    }),
  });
});
afterAll(async () => {
  await glue.stop();
  await db.stop();
});
beforeEach(() => {
  glue.calls.length = 0;
  getJobRun = () => ({ status: 500, body: { message: 'no answer set' } });
});

/** Glue's JSON answers carry timestamps as epoch seconds. */
const epochSeconds = (iso: string) => Date.parse(iso) / 1000;

/** A "Glue Job State Change" event as EventBridge delivers it. */
function stateChange(state: string, jobRunId: string, message = `Job run ${state.toLowerCase()}`) {
  return {
    version: '0',
    id: `event-${jobRunId}-${state}`,
    'detail-type': 'Glue Job State Change',
    source: 'aws.glue',
    account: '222222222222',
    time: '2026-11-22T10:15:00Z',
    region: 'eu-west-1',
    resources: [],
    detail: { jobName: 'dp-dev-curate', severity: state === 'SUCCEEDED' ? 'INFO' : 'ERROR', state, jobRunId, message },
  };
}

async function jobRun(jobRunId: string) {
  const { rows } = await db.pool.query('SELECT * FROM audit.job_runs WHERE job_run_id = $1', [jobRunId]);
  return rows[0];
}

describe('job-auditor handler', () => {
  test('records a succeeded run, linked to its batch through --batch_id', async () => {
    getJobRun = (call) => {
      const { JobName, RunId } = call.json as { JobName: string; RunId: string };
      if (JobName !== 'dp-dev-curate' || RunId !== 'jr_ok') {
        return { status: 400, body: { __type: 'EntityNotFoundException', message: `${JobName}/${RunId} not found` } };
      }
      return {
        body: {
          JobRun: {
            Id: 'jr_ok',
            JobName: 'dp-dev-curate',
            JobRunState: 'SUCCEEDED',
            Arguments: { '--batch_id': 'exec-123', '--dataset': 'impressions' },
            StartedOn: epochSeconds('2026-11-22T10:10:00Z'),
            CompletedOn: epochSeconds('2026-11-22T10:14:59Z'),
          },
        },
      };
    };
    await expect(jobAuditor(stateChange('SUCCEEDED', 'jr_ok'))).resolves.toEqual({
      jobName: 'dp-dev-curate',
      jobRunId: 'jr_ok',
      state: 'SUCCEEDED',
      batchId: 'exec-123',
    });
    const row = await jobRun('jr_ok');
    expect(row).toMatchObject({
      job_name: 'dp-dev-curate',
      batch_id: 'exec-123',
      state: 'SUCCEEDED',
      error: null,
    });
    expect(row.started_at.toISOString()).toBe('2026-11-22T10:10:00.000Z');
    expect(row.finished_at.toISOString()).toBe('2026-11-22T10:14:59.000Z');
    expect(glue.calls.map((call) => call.json)).toEqual([
      { JobName: 'dp-dev-curate', RunId: 'jr_ok', PredecessorsIncluded: false },
    ]);
  });

  test.each(['FAILED', 'TIMEOUT', 'STOPPED'])('records a %s run with its error message', async (state) => {
    const id = `jr_${state.toLowerCase()}`;
    getJobRun = () => ({
      body: {
        JobRun: {
          Id: id,
          JobRunState: state,
          Arguments: { '--batch_id': `exec-${state}` },
          ErrorMessage: `${state} because`,
        },
      },
    });
    await jobAuditor(stateChange(state, id));
    expect(await jobRun(id)).toMatchObject({ state, batch_id: `exec-${state}`, error: `${state} because` });
  });

  test('a duplicate delivery of the same event keeps one row', async () => {
    getJobRun = () => ({ body: { JobRun: { Id: 'jr_dup', Arguments: { '--batch_id': 'exec-dup' } } } });
    await jobAuditor(stateChange('FAILED', 'jr_dup', 'first'));
    await jobAuditor(stateChange('FAILED', 'jr_dup', 'first'));
    const { rows } = await db.pool.query("SELECT count(*)::int AS n FROM audit.job_runs WHERE job_run_id = 'jr_dup'");
    expect(rows[0].n).toBe(1);
    expect((await jobRun('jr_dup')).error).toBe('first');
  });

  test('a run started outside the state machine (no --batch_id) is recorded without a batch', async () => {
    getJobRun = () => ({ body: { JobRun: { Id: 'jr_manual', Arguments: {} } } });
    await jobAuditor(stateChange('SUCCEEDED', 'jr_manual'));
    expect(await jobRun('jr_manual')).toMatchObject({ batch_id: null, state: 'SUCCEEDED' });
  });

  test('fails (so Lambda retries, then dead-letters) when Glue cannot be asked about the run', async () => {
    getJobRun = () => ({ status: 400, body: { __type: 'ThrottlingException', message: 'Rate exceeded' } });
    await expect(jobAuditor(stateChange('FAILED', 'jr_throttled'))).rejects.toThrow('Rate exceeded');
    expect(await jobRun('jr_throttled')).toBeUndefined();
  });

  test('fails with InvalidInputError on a non-final state, naming the field', async () => {
    await expect(jobAuditor(stateChange('RUNNING', 'jr_running'))).rejects.toMatchObject({
      name: 'InvalidInputError',
      message: expect.stringMatching(/detail\.state/),
    });
  });
});
