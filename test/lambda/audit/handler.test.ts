import { type TestDatabase, startPostgres } from '../../helpers/postgres';
import { applyMigrations } from '../../integration/helpers/migrations';

process.env.POWERTOOLS_LOG_LEVEL = 'SILENT';
process.env.POWERTOOLS_METRICS_DISABLED = 'true';
process.env.MART_CLUSTER_ARN = 'arn:aws:rds:eu-west-1:222222222222:cluster:dp-dev-mart';
process.env.MART_SECRET_ARN = 'arn:aws:secretsmanager:eu-west-1:222222222222:secret:dp-dev-mart-AbCdEf';
process.env.MART_DATABASE = 'mart';

// Imported after the environment is set: the handler reads it at module load, as in Lambda.
import { createHandler } from '../../../lambda/audit/handler';
import { MAX_ERROR_LENGTH } from '../../../lambda/audit/runs';

let db: TestDatabase;
let audit: ReturnType<typeof createHandler>;

beforeAll(async () => {
  db = await startPostgres();
  await applyMigrations(db.executor);
  audit = createHandler({ executor: db.executor });
});
afterAll(() => db.stop());

let sequence = 0;
function run(overrides: Record<string, unknown> = {}) {
  sequence += 1;
  return {
    dataset: 'impressions',
    bucket: 'dp-dev-landing',
    key: `impressions/ingest_date=2026-11-22/file-${sequence}.ndjson`,
    versionId: `v${sequence}`,
    size: 1234,
    runId: `run-${sequence}`,
    executionArn: `arn:aws:states:eu-west-1:222222222222:execution:dp-dev-impressions:run-${sequence}`,
    ...overrides,
  };
}

async function row(runId: string) {
  const { rows } = await db.pool.query('SELECT * FROM audit.pipeline_runs WHERE run_id = $1', [runId]);
  return rows[0];
}

const validation = { rowsTotal: 10, rowsValid: 8, rowsRejected: 2, quarantineKey: 'quarantine/x/rejected.ndjson' };

describe('audit handler', () => {
  test('claim inserts a RUNNING row for a new object version', async () => {
    const first = run();
    await expect(audit({ action: 'claim', run: first })).resolves.toEqual({ outcome: 'CLAIMED', runId: first.runId });
    expect(await row(first.runId)).toMatchObject({
      dataset: 'impressions',
      object_key: first.key,
      object_version: first.versionId,
      status: 'RUNNING',
      finished_at: null,
    });
  });

  test('a re-delivered object version is ALREADY_PROCESSED while the first run is running or succeeded', async () => {
    const first = run();
    await audit({ action: 'claim', run: first });
    const redelivery = { ...first, runId: 'run-redelivered' };
    await expect(audit({ action: 'claim', run: redelivery })).resolves.toEqual({
      outcome: 'ALREADY_PROCESSED',
      runId: 'run-redelivered',
      existingRunId: first.runId,
      existingStatus: 'RUNNING',
    });
    await audit({ action: 'finish', run: first, status: 'SUCCEEDED', validation, load: { rowsLoaded: 8 } });
    await expect(audit({ action: 'claim', run: { ...first, runId: 'run-later' } })).resolves.toMatchObject({
      outcome: 'ALREADY_PROCESSED',
      existingStatus: 'SUCCEEDED',
    });
    expect(await row('run-redelivered')).toBeUndefined();
  });

  test('a new version of the same key is a new run', async () => {
    const first = run();
    await audit({ action: 'claim', run: first });
    const second = { ...first, versionId: 'another-version', runId: 'run-new-version' };
    await expect(audit({ action: 'claim', run: second })).resolves.toMatchObject({ outcome: 'CLAIMED' });
  });

  test('retrying the same execution claim is idempotent', async () => {
    const first = run();
    await audit({ action: 'claim', run: first });
    await expect(audit({ action: 'claim', run: first })).resolves.toEqual({ outcome: 'CLAIMED', runId: first.runId });
  });

  test('a FAILED object version may be claimed again by a replay', async () => {
    const first = run();
    await audit({ action: 'claim', run: first });
    await audit({ action: 'fail', run: first, error: 'States.TaskFailed', cause: 'job failed' });
    const replay = { ...first, runId: `${first.runId}-replay` };
    await expect(audit({ action: 'claim', run: replay })).resolves.toMatchObject({ outcome: 'CLAIMED' });
    expect(await row(replay.runId)).toMatchObject({ status: 'RUNNING', error: null });
  });

  test('unversioned objects (version "null") are claimed once too', async () => {
    const first = run({ versionId: 'null' });
    await audit({ action: 'claim', run: first });
    expect((await row(first.runId)).object_version).toBeNull();
    await expect(audit({ action: 'claim', run: { ...first, runId: 'run-null-again' } })).resolves.toMatchObject({
      outcome: 'ALREADY_PROCESSED',
    });
  });

  test('finish SUCCEEDED records counts and the loaded rows', async () => {
    const first = run();
    await audit({ action: 'claim', run: first });
    await expect(
      audit({
        action: 'finish',
        run: first,
        status: 'SUCCEEDED',
        validation,
        curate: { jobRunId: 'jr_1' },
        load: { rowsLoaded: 8 },
      }),
    ).resolves.toEqual({ recorded: true, runId: first.runId, status: 'SUCCEEDED' });
    const recorded = await row(first.runId);
    expect(recorded).toMatchObject({ status: 'SUCCEEDED', error: null });
    expect(Number(recorded.rows_valid)).toBe(8);
    expect(Number(recorded.rows_rejected)).toBe(2);
    expect(Number(recorded.rows_loaded)).toBe(8);
    expect(recorded.finished_at).toBeInstanceOf(Date);
  });

  test('finish UNREADABLE keeps the reason', async () => {
    const first = run();
    await audit({ action: 'claim', run: first });
    await audit({
      action: 'finish',
      run: first,
      status: 'UNREADABLE',
      validation: { rowsTotal: 0, rowsValid: 0, rowsRejected: 0, reason: 'not gzip' },
    });
    expect(await row(first.runId)).toMatchObject({ status: 'UNREADABLE', error: 'not gzip' });
  });

  test('fail records the error and cause, truncated', async () => {
    const first = run();
    await audit({ action: 'claim', run: first });
    await audit({ action: 'fail', run: first, error: 'MartLoadError', cause: 'x'.repeat(10_000) });
    const recorded = await row(first.runId);
    expect(recorded.status).toBe('FAILED');
    expect(recorded.error.startsWith('MartLoadError: xxx')).toBe(true);
    expect(recorded.error).toHaveLength(MAX_ERROR_LENGTH);
  });

  test('fail creates the row when the claim itself failed', async () => {
    const first = run();
    await audit({ action: 'fail', run: first, error: 'TransientError', cause: 'cluster resuming' });
    expect(await row(first.runId)).toMatchObject({ status: 'FAILED', error: 'TransientError: cluster resuming' });
  });

  test('fails with InvalidInputError naming the problem on an unknown action', async () => {
    await expect(audit({ action: 'delete', run: run() })).rejects.toMatchObject({
      name: 'InvalidInputError',
      message: expect.stringMatching(/"action" must be one of claim, finish, fail/),
    });
  });

  test('fails with InvalidInputError when the run is incomplete', async () => {
    await expect(audit({ action: 'claim', run: { dataset: 'impressions' } })).rejects.toMatchObject({
      name: 'InvalidInputError',
      message: expect.stringMatching(/run\.key/),
    });
  });
});
