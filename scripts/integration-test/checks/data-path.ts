/**
 * Data-path checks: sends a small sample (a few valid rows and one invalid row, ids unique per run) of the smallest
 * mart-enabled dataset through the API, authenticating as the environment is configured, then follows the object
 * through audit: stage A validates and stages it (its run RUNNING -> STAGED), stage B takes it into a batch of its
 * dataset (batch RUNNING), curates the batch with one Glue job run and loads the mart once (run and batch
 * SUCCEEDED). It then checks the curated data files, the mart rows and the audit record, removes what it created and
 * says what it had to leave.
 *
 * The Data API calls log in as the data mart's loader login (DATA_MART_LOADER_SECRET_ARN), single statements only:
 * the test reads audit.* and mart.* and deletes its own sample rows from the mart by key (the loader may not
 * TRUNCATE, DROP or DELETE from audit); it never holds the master secret.
 *
 * Auth: `iam` signs the request with the integration-test role (SigV4); `cognito` (a pool the stack creates) signs a
 * throwaway user in (AdminCreateUser, AdminSetUserPassword, AdminInitiateAuth) and deletes it at the end;
 * `cognito-existing` and `lambda-authorizer` give the test no identity, so the API leg is skipped (said in the table)
 * and the sample is put straight into landing, which starts the same flow.
 *
 * The checks run in order and share one run (./data-path-run.ts): a check whose input an earlier check did not
 * produce fails naming it, and the cleanup check always runs.
 */
import { randomBytes, randomInt } from 'node:crypto';
import { Writable } from 'node:stream';
import { CloudFormationClient, DescribeStacksCommand } from '@aws-sdk/client-cloudformation';
import {
  BeginTransactionCommand,
  CommitTransactionCommand,
  ExecuteStatementCommand,
  RDSDataClient,
  RollbackTransactionCommand,
} from '@aws-sdk/client-rds-data';
import {
  DeleteObjectsCommand,
  ListObjectsV2Command,
  type ListObjectsV2CommandOutput,
  PutObjectCommand,
  S3Client,
} from '@aws-sdk/client-s3';
import { type AppConfig, loadConfig } from '../../../config/load';
import type { DatasetConfig, EnvironmentConfig } from '../../../config/schema';
import { DOCUMENT_CONTENT_TYPES } from '../../../lib/constructs/api-templates';
import { martBatchPrefix } from '../../../lambda/batch/contract';
import { martTableName } from '../../../lambda/shared/mart-contract';
import { DataApiExecutor } from '../../../lambda/shared/sql-data-api';
import type { RdsDataApi } from '../../../lambda/shared/aws/rds-data';
import { TransientError } from '../../../lambda/shared/errors';
import type { SqlParams } from '../../../lambda/shared/sql';
import { rowGenerator, writeSample } from '../../generate-sample';
import { type CheckContext, output } from '../context';
import { type Check, CheckFailedError, type CheckModule, waitFor } from '../runner';
import { apiErrorReason, createAndSignIn, deleteUser, type Fetch, parseJson, signedFetch } from './data-path-http';
import {
  type BatchOutputCheck,
  type DataPathRun,
  needs,
  type ObservedBatch,
  type ObservedRun,
  STEP,
  succeededBatch,
} from './data-path-run';
import { CURATED_ATHENA_OUTPUTS, checkCuratedTable } from './curated-athena';

/** Valid rows in the sample; one invalid row follows them. */
export const VALID_ROWS = 3;

/**
 * Added to `etl.batch.maxWaitMinutes` + `etl.glueTimeoutMinutes` for the longest wait for the batch: stage A's
 * validation, one turn of the batch loop (`etl.batch.pollSeconds`, added too), the mart load (at most 16 minutes,
 * OrchestrationStack) and a data mart cluster resuming from auto-pause.
 */
export const BATCH_WAIT_MARGIN_MINUTES = 20;

/** Most pages (1,000 keys each) the curated check lists under `<dataset>/` before it stops. */
export const MAX_CURATED_PAGES = 200;

export interface DataPathOptions {
  /** @default globalThis.fetch */
  readonly fetch?: Fetch;
  /** @default - config/ of the repository, loaded once per run */
  readonly loadConfig?: () => Pick<AppConfig, 'platform' | 'environments' | 'datasets'>;
  /** Seed of the sample generator (ids derive from it). @default - random per run */
  readonly seed?: () => number;
  /** Password of the throwaway Cognito user. @default - random, meets the pool's policy */
  readonly password?: () => string;
  /**
   * Longest wait for the object's run to be staged, batched, curated and loaded.
   * @default - the environment's `etl.batch.maxWaitMinutes` + `etl.batch.pollSeconds` + `etl.glueTimeoutMinutes`
   * + {@link BATCH_WAIT_MARGIN_MINUTES}, or the context's waitTimeoutMs when longer
   */
  readonly batchTimeoutMs?: number;
}

export const DATA_PATH_OUTPUTS = [
  'API_URL',
  'LANDING_BUCKET_NAME',
  'CURATED_BUCKET_NAME',
  'DATA_MART_CLUSTER_ARN',
  'DATA_MART_LOADER_SECRET_ARN',
  'DATA_MART_DATABASE_NAME',
  ...CURATED_ATHENA_OUTPUTS,
] as const;

/**
 * Checks of what the batch wrote, in order, after the batch check and before the cleanup; each takes the batch from
 * the shared run (`succeededBatch(run)`). The Athena check queries the curated Iceberg table and compares it with
 * the mart rows counted just before.
 */
const BATCH_OUTPUT_CHECKS: readonly BatchOutputCheck[] = [
  { name: STEP.curated, run: curatedOutput },
  { name: STEP.mart, run: martRows },
  { name: STEP.athena, run: curatedTable },
  { name: STEP.audit, run: auditRow },
];

/** The sample's rows in the curated table, through Athena: as many as in the mart, written by the batch. */
async function curatedTable(context: CheckContext, run: DataPathRun): Promise<string> {
  const dataset = needs(run.dataset, STEP.sample);
  const batch = succeededBatch(run);
  const martRowCount = needs(run.martRows, STEP.mart);
  return checkCuratedTable(context, {
    dataset,
    keys: needs(run.keys, STEP.sample),
    martRows: martRowCount,
    batchId: batch.batchId,
  });
}

export function createDataPathChecks(options: DataPathOptions = {}): CheckModule {
  const fetchImpl: Fetch = options.fetch ?? ((url, init) => fetch(url, init));
  return {
    name: 'data-path',
    requiredOutputs: DATA_PATH_OUTPUTS,
    checks: (context) => {
      const run: DataPathRun = {};
      const batchTimeoutMs = () => options.batchTimeoutMs ?? batchWaitMs(context, run.environment);
      const checks: Check[] = [
        { name: STEP.sample, run: () => buildSample(context, run, options) },
        { name: STEP.authenticate, run: () => authenticate(context, run, fetchImpl, options) },
        { name: STEP.ingest, run: () => ingest(context, run, fetchImpl) },
        {
          name: STEP.batch,
          run: () => awaitBatch(context, run, batchTimeoutMs()),
          // Read when the check starts: by then the sample check has read the environment's config.
          get timeoutMs() {
            return batchTimeoutMs() + 60_000;
          },
        },
        ...BATCH_OUTPUT_CHECKS.map((check) => ({ name: check.name, run: () => check.run(context, run) })),
        { name: STEP.cleanup, run: () => cleanup(context, run, fetchImpl) },
      ];
      return checks;
    },
  };
}

export const dataPathChecks: CheckModule = createDataPathChecks();

/** The longest wait for the batch (see {@link DataPathOptions.batchTimeoutMs}). */
export function batchWaitMs(context: Pick<CheckContext, 'waitTimeoutMs'>, environment?: EnvironmentConfig): number {
  if (!environment) return context.waitTimeoutMs;
  const { etl } = environment;
  const fromConfig =
    (etl.batch.maxWaitMinutes + etl.glueTimeoutMinutes + BATCH_WAIT_MARGIN_MINUTES) * 60_000 +
    etl.batch.pollSeconds * 1000;
  return Math.max(fromConfig, context.waitTimeoutMs);
}

// -------------------------------------------------------------------------------------------------------------------
// sample
// -------------------------------------------------------------------------------------------------------------------

async function buildSample(context: CheckContext, run: DataPathRun, options: DataPathOptions): Promise<string> {
  const config = (options.loadConfig ?? loadConfig)();
  const environment = config.environments.find((e) => e.name === context.environment);
  if (!environment) throw new CheckFailedError(`environment ${context.environment} is not in the configuration`);
  const candidates = config.datasets
    .filter((dataset) => dataset.mart.enabled)
    .sort((a, b) => a.columns.length - b.columns.length || a.name.localeCompare(b.name));
  const dataset = candidates[0];
  if (!dataset) {
    throw new CheckFailedError('no dataset has mart.enabled true: the data path to the mart cannot be checked');
  }
  run.environment = environment;
  run.prefix = `${config.platform.prefix}-${environment.name}`;

  const seed = options.seed?.() ?? randomInt(1, 2 ** 31 - 1);
  const date = new Date(context.clock.now()).toISOString().slice(0, 10);
  const sampleOptions = { dataset, rows: VALID_ROWS + 1, badEvery: VALID_ROWS + 1, seed, date };
  const chunks: string[] = [];
  await writeSample(
    sampleOptions,
    new Writable({
      write(chunk, _encoding, callback) {
        chunks.push(String(chunk));
        callback();
      },
    }),
  );
  const next = rowGenerator(sampleOptions);
  const keyColumns = dataset.primaryKey.map((name) => dataset.columns.findIndex((column) => column.name === name));
  run.keys = Array.from({ length: VALID_ROWS }, (_, index) => {
    const { values } = next(index);
    return keyColumns.map((column) => String(values[column]));
  });
  run.dataset = dataset;
  run.seed = seed;
  run.sample = chunks.join('');
  run.contentType = contentTypeOf(dataset.format);
  return `${dataset.name}: ${VALID_ROWS} valid rows + 1 invalid (seed ${seed}, keys ${run.keys.map((key) => key.join('/')).join(', ')})`;
}

function contentTypeOf(format: DatasetConfig['format']): string {
  const entry = Object.entries(DOCUMENT_CONTENT_TYPES).find(([, extension]) => extension === format);
  return entry ? entry[0] : 'application/octet-stream';
}

// -------------------------------------------------------------------------------------------------------------------
// authenticate and ingest
// -------------------------------------------------------------------------------------------------------------------

async function authenticate(
  context: CheckContext,
  run: DataPathRun,
  fetchImpl: Fetch,
  options: DataPathOptions,
): Promise<string> {
  const environment = needs(run.environment, STEP.sample);
  const prefix = needs(run.prefix, STEP.sample);
  const auth = environment.api.auth;
  switch (auth.type) {
    case 'iam':
      run.auth = { kind: 'iam' };
      return "IAM: requests are SigV4-signed with the test's credentials";
    case 'cognito': {
      const pool = await userPoolOf(context, prefix);
      const username = `integration-test-${randomBytes(6).toString('hex')}@example.com`;
      const password = options.password?.() ?? strongPassword();
      const signedIn = await createAndSignIn(context, fetchImpl, pool, username, password).catch((error) => {
        // The user may exist although a later call failed: the cleanup deletes it.
        run.user = { userPoolId: pool.userPoolId, username };
        throw error;
      });
      run.user = signedIn.user;
      if (signedIn.challenge) {
        run.auth = {
          kind: 'skipped',
          reason: `the user pool asks ${signedIn.challenge} (api.auth.mfa "${auth.mfa}"), which a throwaway user cannot answer`,
        };
        return `SKIPPED API leg: ${run.auth.reason}; the sample goes straight to landing`;
      }
      run.auth = { kind: 'cognito', idToken: needs(signedIn.idToken, STEP.authenticate) };
      return `Cognito: throwaway user ${username} signed in to ${pool.userPoolId}`;
    }
    default:
      run.auth = {
        kind: 'skipped',
        reason: `api.auth.type "${auth.type}" gives the integration test no identity to call the API with`,
      };
      return `SKIPPED API leg: ${run.auth.reason}; the sample goes straight to landing`;
  }
}

/**
 * UserPoolId and UserPoolClientId are outputs of the Api stack only when it creates the pool, so the module cannot
 * require them as stage outputs: they are read from the deployed `<prefix>-api` stack (DescribeStacks is allowed).
 */
async function userPoolOf(context: CheckContext, prefix: string): Promise<{ userPoolId: string; clientId: string }> {
  const outputs = context.outputs;
  if (outputs.USER_POOL_ID && outputs.USER_POOL_CLIENT_ID) {
    return { userPoolId: outputs.USER_POOL_ID, clientId: outputs.USER_POOL_CLIENT_ID };
  }
  const stackName = `${prefix}-api`;
  const { Stacks = [] } = await context.clients
    .get(CloudFormationClient)
    .send(new DescribeStacksCommand({ StackName: stackName }));
  const value = (key: string) => Stacks[0]?.Outputs?.find((o) => o.OutputKey === key)?.OutputValue;
  const userPoolId = value('UserPoolId');
  const clientId = value('UserPoolClientId');
  if (!userPoolId || !clientId) {
    throw new CheckFailedError(
      `stack ${stackName} has no UserPoolId/UserPoolClientId outputs although api.auth.type is "cognito". Fix: deploy the environment's current config`,
    );
  }
  return { userPoolId, clientId };
}

/** 24 characters with lower and upper case letters, digits and symbols (the created pool requires all four, 14+). */
function strongPassword(): string {
  const sets = ['abcdefghijkmnopqrstuvwxyz', 'ABCDEFGHJKLMNPQRSTUVWXYZ', '23456789', '!#%+-.=?^_~'];
  const all = sets.join('');
  const chars = sets.map((set) => set[randomInt(set.length)]);
  while (chars.length < 24) chars.push(all[randomInt(all.length)]);
  for (let i = chars.length - 1; i > 0; i--) {
    const j = randomInt(i + 1);
    [chars[i], chars[j]] = [chars[j], chars[i]];
  }
  return chars.join('');
}

async function ingest(context: CheckContext, run: DataPathRun, fetchImpl: Fetch): Promise<string> {
  const dataset = needs(run.dataset, STEP.sample);
  const sample = needs(run.sample, STEP.sample);
  const contentType = needs(run.contentType, STEP.sample);
  const auth = needs(run.auth, STEP.authenticate);
  run.sentAt = context.clock.now();

  if (auth.kind === 'skipped') {
    const date = new Date(context.clock.now()).toISOString().slice(0, 10);
    const extension = DOCUMENT_CONTENT_TYPES[contentType as keyof typeof DOCUMENT_CONTENT_TYPES];
    const key = `${dataset.name}/ingest_date=${date}/integration-test-${randomBytes(8).toString('hex')}.${extension}`;
    const bucket = output(context, 'LANDING_BUCKET_NAME');
    try {
      await context.clients
        .get(S3Client)
        .send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: sample, ContentType: contentType }));
    } catch (error) {
      if ((error as Error).name === 'AccessDenied') {
        throw new CheckFailedError(
          `S3 PutObject of s3://${bucket}/${key} was denied. Fix: grant the integration-test role s3:PutObject on landing ${dataset.name}/ingest_date=* (and kms:GenerateDataKey through S3)`,
        );
      }
      throw error;
    }
    run.objectKey = key;
    run.ingestDate = date;
    return `API leg skipped (${auth.reason}): put s3://${bucket}/${key}`;
  }

  const apiUrl = output(context, 'API_URL');
  const url = `${apiUrl.endsWith('/') ? apiUrl : `${apiUrl}/`}v1/datasets/${dataset.name}/objects`;
  const request = { url, method: 'POST', headers: { 'content-type': contentType }, body: sample };
  const response =
    auth.kind === 'iam'
      ? await signedFetch(context, fetchImpl, 'execute-api', request)
      : await fetchImpl(url, { ...request, headers: { ...request.headers, authorization: auth.idToken } }).then(
          async (r) => ({ status: r.status, text: await r.text() }),
        );
  if (response.status !== 202) {
    throw new CheckFailedError(`POST ${url} answered ${apiErrorReason(response.status, response.text)}`);
  }
  const key = (parseJson(response.text) as { key?: unknown } | undefined)?.key;
  if (typeof key !== 'string' || !key.startsWith(`${dataset.name}/`)) {
    throw new CheckFailedError(
      `POST ${url} answered 202 without an object key under ${dataset.name}/: ${response.text}`,
    );
  }
  run.objectKey = key;
  run.ingestDate = /ingest_date=(\d{4}-\d{2}-\d{2})/.exec(key)?.[1];
  return `202, landing key ${key}`;
}

// -------------------------------------------------------------------------------------------------------------------
// the run through audit: staged, batched, curated and loaded
// -------------------------------------------------------------------------------------------------------------------

/** The object's run and its batch, in one statement (the latest run of the object, should there be several). */
const RUN_AND_BATCH_SQL = `SELECT r.run_id, r.status, r.rows_valid, r.rows_rejected, r.error, r.staged_at, r.batch_id,
       b.status AS batch_status, b.attempts AS batch_attempts, b.run_count AS batch_run_count,
       b.started_at AS batch_started_at, b.finished_at AS batch_finished_at, b.next_attempt_at AS batch_next_attempt_at,
       b.rows_loaded AS batch_rows_loaded, b.glue_job_run_id AS batch_glue_job_run_id, b.error AS batch_error
  FROM audit.pipeline_runs r LEFT JOIN audit.batches b ON b.batch_id = r.batch_id
 WHERE r.dataset = :dataset AND r.object_key = :objectKey
 ORDER BY r.started_at DESC
 LIMIT 1`;

interface RunAndBatchRow extends Record<string, unknown> {
  run_id: string;
  status: string;
  rows_valid: number | null;
  rows_rejected: number | null;
  error: string | null;
  staged_at: Date | null;
  batch_id: string | null;
  batch_status: string | null;
  batch_attempts: number | null;
  batch_run_count: number | null;
  batch_started_at: Date | null;
  batch_finished_at: Date | null;
  batch_next_attempt_at: Date | null;
  batch_rows_loaded: number | null;
  batch_glue_job_run_id: string | null;
  batch_error: string | null;
}

/** Reads the object's run and batch and records them on the shared run. */
async function observe(context: CheckContext, run: DataPathRun): Promise<void> {
  const dataset = needs(run.dataset, STEP.sample);
  const objectKey = needs(run.objectKey, STEP.ingest);
  const [row] = await martQuery<RunAndBatchRow>(context, RUN_AND_BATCH_SQL, { dataset: dataset.name, objectKey });
  if (!row) return;
  run.pipelineRun = {
    runId: row.run_id,
    status: row.status,
    rowsValid: numberOrNull(row.rows_valid),
    rowsRejected: numberOrNull(row.rows_rejected),
    error: row.error,
    stagedAt: row.staged_at,
  };
  run.batch =
    row.batch_id && row.batch_status && row.batch_started_at
      ? {
          batchId: row.batch_id,
          status: row.batch_status,
          attempts: Number(row.batch_attempts ?? 0),
          runCount: Number(row.batch_run_count ?? 0),
          startedAt: row.batch_started_at,
          finishedAt: row.batch_finished_at,
          nextAttemptAt: row.batch_next_attempt_at,
          rowsLoaded: numberOrNull(row.batch_rows_loaded),
          glueJobRunId: row.batch_glue_job_run_id,
          error: row.batch_error,
        }
      : undefined;
}

const numberOrNull = (value: unknown): number | null => (value === null || value === undefined ? null : Number(value));
const iso = (date: Date | null | undefined) => (date ? date.toISOString() : 'unknown');
const clip = (text: string | null | undefined, length = 500) => (text ?? '').replace(/\s+/g, ' ').slice(0, length);

/** Final states of a run that no batch will load (lambda/validate/runs.ts). */
const STAGE_A_FAILURES = new Set(['FAILED', 'NO_VALID_ROWS', 'UNREADABLE']);

/**
 * Where the run is, for the wait: a phase (for the path seen) and a state (for a timeout message), `done` once run
 * and batch SUCCEEDED. Throws when it cannot succeed any more: the run failed in stage A or its batch was abandoned
 * (a FAILED batch is waited for: stage B retries it).
 */
function judge(run: DataPathRun, key: string): { phase: string; state: string; done?: true } {
  const observed = run.pipelineRun;
  if (!observed) return { phase: 'no audit row', state: `no audit row for ${key} yet (stage A has not claimed it)` };
  const batch = run.batch;
  const name = `run ${observed.runId}`;
  if (observed.status === 'SUCCEEDED' && batch?.status === 'SUCCEEDED') {
    return { phase: 'SUCCEEDED', state: `${name} SUCCEEDED in batch ${batch.batchId}`, done: true };
  }
  if (batch?.status === 'ABANDONED') {
    throw new CheckFailedError(
      `batch ${batch.batchId} of ${name} was ABANDONED after ${batch.attempts} attempt(s): ${clip(batch.error) || 'no error recorded'} (its runs are FAILED: replay them after the fix)`,
    );
  }
  if (batch?.status === 'FAILED') {
    // Stage B retries a failed batch whole (or abandons it after its last attempt): wait for that, within the bound.
    return {
      phase: 'batch FAILED',
      state: `batch ${batch.batchId} of ${name} FAILED on attempt ${batch.attempts}: ${clip(batch.error) || 'no error recorded'} (stage B retries it${batch.nextAttemptAt ? ` at ${iso(batch.nextAttemptAt)}` : ' or abandons it'})`,
    };
  }
  if (STAGE_A_FAILURES.has(observed.status)) {
    throw new CheckFailedError(
      `${name} of ${key} ended ${observed.status} in stage A: ${clip(observed.error) || 'no error recorded'} (rows_valid ${observed.rowsValid}, rows_rejected ${observed.rowsRejected})`,
    );
  }
  if (observed.status === 'SUCCEEDED') {
    throw new CheckFailedError(
      `${name} is SUCCEEDED but ${batch ? `its batch ${batch.batchId} is ${batch.status}` : 'names no batch'}: the audit rows disagree`,
    );
  }
  if (observed.status === 'RUNNING') return { phase: 'RUNNING', state: `${name} RUNNING (stage A is validating)` };
  if (observed.status === 'STAGED' && !batch) {
    return { phase: 'STAGED', state: `${name} STAGED at ${iso(observed.stagedAt)}, waiting for its batch` };
  }
  if (observed.status === 'STAGED' && batch) {
    return {
      phase: `batch ${batch.status}`,
      state: `${name} in batch ${batch.batchId} ${batch.status} (attempt ${batch.attempts}, started ${iso(batch.startedAt)})`,
    };
  }
  return { phase: observed.status, state: `${name} ${observed.status}` };
}

async function awaitBatch(context: CheckContext, run: DataPathRun, timeoutMs: number): Promise<string> {
  const key = needs(run.objectKey, STEP.ingest);
  const phases: string[] = [];
  await waitFor(
    context,
    `the run of ${key} to be staged, batched, curated and loaded (audit.pipeline_runs and audit.batches)`,
    async () => {
      await observe(context, run);
      const { phase, state, done } = judge(run, key);
      if (phases.at(-1) !== phase) phases.push(phase);
      return { value: done, state };
    },
    timeoutMs,
  );
  run.batchSucceeded = true;
  const observed = run.pipelineRun as ObservedRun;
  const batch = run.batch as ObservedBatch;
  return `run ${observed.runId} SUCCEEDED in batch ${batch.batchId} (attempt ${batch.attempts}, ${batch.runCount} run(s), ${batch.rowsLoaded ?? 'no'} mart row(s) loaded); seen: ${phases.join(' -> ')}`;
}

/**
 * Data files the batch wrote: Parquet objects under `<dataset>/` of curated newer than the start of the batch's last
 * attempt. Both layouts match: Hive-style partitions (`<dataset>/ingest_date=.../part-*.parquet`) and Iceberg data
 * files (`<dataset>/data/...parquet`; its metadata is JSON and Avro). At most {@link MAX_CURATED_PAGES} pages.
 */
async function curatedOutput(context: CheckContext, run: DataPathRun): Promise<string> {
  const dataset = needs(run.dataset, STEP.sample);
  const batch = succeededBatch(run);
  const bucket = output(context, 'CURATED_BUCKET_NAME');
  const prefix = `${dataset.name}/`;
  const s3 = context.clients.get(S3Client);
  let written = 0;
  let listed = 0;
  let pages = 0;
  let token: string | undefined;
  do {
    const page: ListObjectsV2CommandOutput = await s3.send(
      new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix, ContinuationToken: token }),
    );
    pages++;
    for (const object of page.Contents ?? []) {
      listed++;
      if (object.Key?.endsWith('.parquet') && object.LastModified && object.LastModified >= batch.startedAt) written++;
    }
    token = page.IsTruncated ? page.NextContinuationToken : undefined;
  } while (token && pages < MAX_CURATED_PAGES);
  const since = `since batch ${batch.batchId} started (${iso(batch.startedAt)})`;
  const cut = token ? ` (listing stopped after ${listed} objects, ${MAX_CURATED_PAGES} pages)` : '';
  if (written === 0) {
    throw new CheckFailedError(`no Parquet data file under s3://${bucket}/${prefix} was written ${since}${cut}`);
  }
  return `${written} Parquet data file(s) under s3://${bucket}/${prefix} written ${since}${cut}`;
}

/** The Data API through the script's SDK client (only Lambda code avoids the SDK, for its cold start). */
function sdkRdsData(client: RDSDataClient): RdsDataApi {
  return {
    executeStatement: (input) => client.send(new ExecuteStatementCommand(input)),
    beginTransaction: (input) => client.send(new BeginTransactionCommand(input)),
    commitTransaction: (input) => client.send(new CommitTransactionCommand(input)),
    rollbackTransaction: (input) => client.send(new RollbackTransactionCommand(input)),
  };
}

function martExecutor(context: CheckContext): DataApiExecutor {
  return new DataApiExecutor(sdkRdsData(context.clients.get(RDSDataClient)), {
    resourceArn: output(context, 'DATA_MART_CLUSTER_ARN'),
    secretArn: output(context, 'DATA_MART_LOADER_SECRET_ARN'),
    database: output(context, 'DATA_MART_DATABASE_NAME'),
  });
}

/** Runs one statement as the loader, waiting (bounded) while an auto-paused cluster resumes. */
async function martQuery<T extends Record<string, unknown>>(
  context: CheckContext,
  sql: string,
  params: SqlParams,
): Promise<T[]> {
  const executor = martExecutor(context);
  return waitFor(context, 'the data mart cluster to resume', async () => {
    try {
      return { value: await executor.query<T>(sql, params), state: 'answered' };
    } catch (error) {
      if (error instanceof TransientError) return { state: error.message };
      if ((error as Error).name === 'AccessDeniedException') {
        throw new CheckFailedError(
          `the Data API refused the query (${(error as Error).message}). Fix: grant the integration-test role rds-data:ExecuteStatement on the mart cluster and secretsmanager:GetSecretValue on the loader login's secret (DataMartStack.dataApiStatements('loader'))`,
        );
      }
      throw error;
    }
  });
}

const quote = (identifier: string) => `"${identifier.replace(/"/g, '""')}"`;

/** `WHERE` condition and parameters selecting the sample's valid rows by primary key. */
function keyCondition(dataset: DatasetConfig, keys: readonly string[][]): { where: string; params: SqlParams } {
  const params: Record<string, string> = {};
  const tuples = keys.map((key, row) => {
    const names = key.map((value, column) => {
      params[`k${row}_${column}`] = value;
      return `:k${row}_${column}`;
    });
    return names.length === 1 ? names[0] : `(${names.join(', ')})`;
  });
  const columns = dataset.primaryKey.map(quote);
  const left = columns.length === 1 ? columns[0] : `(${columns.join(', ')})`;
  // Parameters arrive as text: compare the key columns as text so any key type works.
  const leftText = columns.length === 1 ? `${left}::text` : `(${columns.map((c) => `${c}::text`).join(', ')})`;
  return { where: `${leftText} IN (${tuples.join(', ')})`, params };
}

async function martRows(context: CheckContext, run: DataPathRun): Promise<string> {
  const dataset = needs(run.dataset, STEP.sample);
  const keys = needs(run.keys, STEP.sample);
  succeededBatch(run);
  const table = `mart.${quote(martTableName(dataset))}`;
  const { where, params } = keyCondition(dataset, keys);
  const [row] = await martQuery<{ rows: number }>(
    context,
    `SELECT count(*) AS rows FROM ${table} WHERE ${where}`,
    params,
  );
  const count = Number(row?.rows ?? 0);
  run.martRows = count;
  if (count !== keys.length) {
    throw new CheckFailedError(`expected ${keys.length} rows of the sample in ${table}, found ${count}`);
  }
  return `${count} of ${keys.length} valid rows in ${table}`;
}

/** The audit record as it stands now: the run SUCCEEDED with the sample's counts, in the batch that SUCCEEDED. */
async function auditRow(context: CheckContext, run: DataPathRun): Promise<string> {
  const dataset = needs(run.dataset, STEP.sample);
  const key = needs(run.objectKey, STEP.ingest);
  const awaited = succeededBatch(run);
  const [row] = await martQuery<RunAndBatchRow>(context, RUN_AND_BATCH_SQL, { dataset: dataset.name, objectKey: key });
  if (!row) throw new CheckFailedError(`audit.pipeline_runs has no row for ${dataset.name} ${key}`);
  const found = `status ${row.status}, rows_valid ${row.rows_valid}, rows_rejected ${row.rows_rejected}`;
  const batch = `batch ${row.batch_id ?? '(none)'} ${row.batch_status ?? 'not in audit.batches'}`;
  const problems: string[] = [];
  if (row.status !== 'SUCCEEDED' || Number(row.rows_valid) !== VALID_ROWS || Number(row.rows_rejected) !== 1) {
    problems.push(
      `expected status SUCCEEDED, rows_valid ${VALID_ROWS}, rows_rejected 1 for run ${row.run_id}; found ${found}${row.error ? ` (${clip(row.error, 200)})` : ''}`,
    );
  }
  if (row.batch_id !== awaited.batchId || row.batch_status !== 'SUCCEEDED') {
    problems.push(`expected batch ${awaited.batchId} SUCCEEDED; found ${batch}`);
  }
  if (problems.length > 0) throw new CheckFailedError(problems.join('; '));
  return `run ${row.run_id}: ${found}; ${batch} (attempt ${row.batch_attempts}, ${row.batch_run_count} run(s), rows_loaded ${row.batch_rows_loaded ?? 'none'})`;
}

// -------------------------------------------------------------------------------------------------------------------
// cleanup
// -------------------------------------------------------------------------------------------------------------------

/**
 * Whether stage A or B may still load the sample into the mart (deleting its rows now could race that load): no audit
 * row yet, a run being validated or waiting, a stage A failure (its message is retried), or a batch running or waiting
 * for its next attempt.
 */
function mayStillLoad(run: DataPathRun): boolean {
  const observed = run.pipelineRun;
  if (!observed) return true;
  if (run.batch) return run.batch.status === 'RUNNING' || run.batch.status === 'FAILED';
  return observed.status === 'RUNNING' || observed.status === 'STAGED' || observed.status === 'FAILED';
}

/**
 * Removes what the run created where the role may: the sample's mart rows by key (as the loader login, through the
 * Data API) once nothing can load them any more, the batch's `_mart/<dataset>/batch_id=<id>/` CSV once it SUCCEEDED,
 * the throwaway user. It leaves, and names: the landing object (landing denies deletes to every role but the data
 * engineer's), the sample's rows in curated (shared with real data) and the audit rows (the record of the run and its
 * batch). Fails when something it should remove could not be.
 */
async function cleanup(context: CheckContext, run: DataPathRun, fetchImpl: Fetch): Promise<string> {
  const removed: string[] = [];
  const left: string[] = [];
  const failed: string[] = [];
  const attempt = async (what: string, work: () => Promise<string | undefined>) => {
    try {
      const done = await work();
      if (done) removed.push(done);
    } catch (error) {
      failed.push(`${what}: ${(error as Error).name}: ${(error as Error).message}`.replace(/\s+/g, ' '));
    }
  };

  const { dataset, keys, batch } = run;
  const keyList = keys?.map((k) => k.join('/')).join(', ');
  if (dataset && keys && run.objectKey) {
    if (!mayStillLoad(run)) {
      await attempt('mart rows', async () => {
        const table = `mart.${quote(martTableName(dataset))}`;
        const { where, params } = keyCondition(dataset, keys);
        const deleted = await martQuery(context, `DELETE FROM ${table} WHERE ${where} RETURNING 1 AS deleted`, params);
        return `${deleted.length} mart row(s) from ${table}`;
      });
    } else {
      left.push(
        `mart rows with keys ${keyList}, if ${batch ? `batch ${batch.batchId} (${batch.status})` : `run ${run.pipelineRun?.runId ?? 'of the object'}`} still loads them`,
      );
    }
  }
  if (dataset && batch) {
    const bucket = output(context, 'CURATED_BUCKET_NAME');
    const prefix = martBatchPrefix(dataset.name, batch.batchId);
    if (batch.status === 'SUCCEEDED') {
      await attempt('mart batch', () => removePrefix(context, bucket, prefix));
    } else {
      left.push(`s3://${bucket}/${prefix} (batch ${batch.status}: kept for the investigation or the retry)`);
    }
    left.push(
      `the sample's rows in the curated table of ${dataset.name} (shared with real data; keys ${keyList ?? 'unknown'})`,
    );
  }
  if (run.pipelineRun) {
    left.push(
      `audit rows of run ${run.pipelineRun.runId}${batch ? ` and batch ${batch.batchId}` : ''} (the record of the run)`,
    );
  }
  if (run.objectKey) {
    left.push(
      `s3://${output(context, 'LANDING_BUCKET_NAME')}/${run.objectKey} (landing denies deletes to all but the data engineer role)`,
    );
  }
  const user = run.user;
  if (user) {
    await attempt('test user', async () => {
      try {
        await deleteUser(context, fetchImpl, user);
      } catch (error) {
        // Its creation failed: nothing to remove.
        if ((error as Error).name === 'UserNotFoundException') return undefined;
        throw error;
      }
      return `user ${user.username}`;
    });
  }

  const summary = [
    `removed: ${removed.length > 0 ? removed.join('; ') : 'nothing'}`,
    ...(left.length > 0 ? [`left: ${left.join('; ')}`] : []),
  ].join('. ');
  if (failed.length > 0) throw new CheckFailedError(`could not remove ${failed.join('; ')}. ${summary}`);
  return summary;
}

/** Deletes every object under `prefix` (page by page); undefined when there was none. */
async function removePrefix(context: CheckContext, bucket: string, prefix: string): Promise<string | undefined> {
  const s3 = context.clients.get(S3Client);
  let count = 0;
  let token: string | undefined;
  do {
    const page: ListObjectsV2CommandOutput = await s3.send(
      new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix, ContinuationToken: token }),
    );
    const objects = (page.Contents ?? []).flatMap((object) => (object.Key ? [{ Key: object.Key }] : []));
    if (objects.length > 0) {
      const result = await s3.send(new DeleteObjectsCommand({ Bucket: bucket, Delete: { Objects: objects } }));
      if (result.Errors?.length) {
        throw new Error(
          `${result.Errors.length} object(s) not deleted, e.g. ${result.Errors[0].Key}: ${result.Errors[0].Code} ${result.Errors[0].Message ?? ''}`,
        );
      }
      count += objects.length;
    }
    token = page.IsTruncated ? page.NextContinuationToken : undefined;
  } while (token);
  return count === 0 ? undefined : `${count} object(s) of s3://${bucket}/${prefix}`;
}
