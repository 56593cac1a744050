/**
 * Data-path checks: sends a small sample (a few valid rows and one invalid row, ids unique per run) of the smallest
 * mart-enabled dataset through the API, authenticating as the environment is configured, waits for the state machine
 * run of that object, checks the curated output, the mart rows and the audit row through the Data API, then removes
 * what it created and says what it had to leave. The Data API calls log in as the data mart's loader login
 * (DATA_MART_LOADER_SECRET_ARN), single statements only: it reads audit.* and mart.* and deletes its own sample rows
 * from the mart by key (the loader may not TRUNCATE, DROP or DELETE from audit); the test never holds the master
 * secret.
 *
 * Auth: `iam` signs the request with the integration-test role (SigV4); `cognito` (a pool the stack creates) signs a
 * throwaway user in (AdminCreateUser, AdminSetUserPassword, AdminInitiateAuth) and deletes it at the end;
 * `cognito-existing` and `lambda-authorizer` give the test no identity, so the API leg is skipped (said in the table)
 * and the sample is put straight into landing, which starts the same flow.
 *
 * The checks run in order and share one run: a check whose input an earlier check did not produce fails naming it,
 * and the cleanup check always runs.
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
  type _Object,
  PutObjectCommand,
  S3Client,
} from '@aws-sdk/client-s3';
import { DescribeExecutionCommand, ListExecutionsCommand, SFNClient } from '@aws-sdk/client-sfn';
import { type AppConfig, loadConfig } from '../../../config/load';
import type { DatasetConfig, EnvironmentConfig } from '../../../config/schema';
import { DOCUMENT_CONTENT_TYPES } from '../../../lib/constructs/api-templates';
import { martTableName } from '../../../lambda/shared/mart-ddl';
import { DataApiExecutor } from '../../../lambda/shared/sql-data-api';
import type { RdsDataApi } from '../../../lambda/shared/aws/rds-data';
import { TransientError } from '../../../lambda/shared/errors';
import type { SqlParams } from '../../../lambda/shared/sql';
import { rowGenerator, writeSample } from '../../generate-sample';
import { type CheckContext, output } from '../context';
import { type Check, CheckFailedError, type CheckModule, waitFor } from '../runner';
import {
  apiErrorReason,
  createAndSignIn,
  deleteUser,
  type Fetch,
  parseJson,
  signedFetch,
  type TestUser,
} from './data-path-http';

/** Valid rows in the sample; one invalid row follows them. */
export const VALID_ROWS = 3;

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
   * Longest wait for the state machine run (validate, Glue curate job, mart load).
   * @default - 30 minutes, or the context's waitTimeoutMs when longer
   */
  readonly executionTimeoutMs?: number;
}

/** What the checks of one run hand to each other. */
interface DataPathRun {
  environment?: EnvironmentConfig;
  prefix?: string;
  dataset?: DatasetConfig;
  seed?: number;
  sample?: string;
  contentType?: string;
  keys?: string[][];
  ingestDate?: string;
  auth?: { kind: 'iam' } | { kind: 'cognito'; idToken: string } | { kind: 'skipped'; reason: string };
  user?: TestUser;
  objectKey?: string;
  /** When the sample was sent (the context's clock). */
  sentAt?: number;
  /** The run of the object, once found; `ended` once it reached a final state (later checks look only then). */
  execution?: { arn: string; name: string; startDate?: Date; ended: boolean };
}

const STEP = {
  sample: 'data-path/sample',
  authenticate: 'data-path/authenticate',
  ingest: 'data-path/ingest',
  execution: 'data-path/state machine run',
  curated: 'data-path/curated output',
  mart: 'data-path/mart rows',
  audit: 'data-path/audit row',
  cleanup: 'data-path/cleanup',
} as const;

export const DATA_PATH_OUTPUTS = [
  'API_URL',
  'LANDING_BUCKET_NAME',
  'CURATED_BUCKET_NAME',
  'DATA_MART_CLUSTER_ARN',
  'DATA_MART_LOADER_SECRET_ARN',
  'DATA_MART_DATABASE_NAME',
] as const;

export function createDataPathChecks(options: DataPathOptions = {}): CheckModule {
  const fetchImpl: Fetch = options.fetch ?? ((url, init) => fetch(url, init));
  return {
    name: 'data-path',
    requiredOutputs: DATA_PATH_OUTPUTS,
    checks: (context) => {
      const run: DataPathRun = {};
      const executionTimeoutMs = options.executionTimeoutMs ?? Math.max(context.waitTimeoutMs, 30 * 60_000);
      const checks: Check[] = [
        { name: STEP.sample, run: () => buildSample(context, run, options) },
        { name: STEP.authenticate, run: () => authenticate(context, run, fetchImpl, options) },
        { name: STEP.ingest, run: () => ingest(context, run, fetchImpl) },
        {
          name: STEP.execution,
          run: () => awaitExecution(context, run, executionTimeoutMs),
          timeoutMs: executionTimeoutMs + 60_000,
        },
        { name: STEP.curated, run: () => curatedOutput(context, run) },
        { name: STEP.mart, run: () => martRows(context, run) },
        { name: STEP.audit, run: () => auditRow(context, run) },
        { name: STEP.cleanup, run: () => cleanup(context, run, fetchImpl) },
      ];
      return checks;
    },
  };
}

export const dataPathChecks: CheckModule = createDataPathChecks();

/** The run of the object, when it reached a final state (else the check fails as not run). */
function endedExecution(run: DataPathRun): NonNullable<DataPathRun['execution']> {
  const execution = needs(run.execution, STEP.execution);
  if (!execution.ended) throw new CheckFailedError(`not run: ${STEP.execution} did not complete`);
  return execution;
}

/** Fails a check whose input an earlier check should have produced. */
function needs<T>(value: T | undefined, step: string): T {
  if (value === undefined) throw new CheckFailedError(`not run: ${step} did not complete`);
  return value;
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
// state machine run, curated output, mart, audit
// -------------------------------------------------------------------------------------------------------------------

/** ARN of `<prefix>-<dataset>` in the environment's account, region and partition (from the cluster ARN output). */
function stateMachineArn(context: CheckContext, run: DataPathRun): string {
  const partition = output(context, 'DATA_MART_CLUSTER_ARN').split(':')[1] || 'aws';
  const account = needs(run.environment, STEP.sample).account;
  return `arn:${partition}:states:${context.region}:${account}:stateMachine:${run.prefix}-${run.dataset?.name}`;
}

async function awaitExecution(context: CheckContext, run: DataPathRun, timeoutMs: number): Promise<string> {
  const key = needs(run.objectKey, STEP.ingest);
  const sfn = context.clients.get(SFNClient);
  const machine = stateMachineArn(context, run);
  /** Executions already described whose input is another object. */
  const others = new Set<string>();
  // The key as it appears inside the event JSON (and URL-encoded, as S3 writes keys into some notifications).
  const forms = [JSON.stringify(key).slice(1, -1), encodeURIComponent(key)];
  // Executions started well before the object was sent cannot be its run (5 minutes of clock skew allowed).
  const earliest = needs(run.sentAt, STEP.ingest) - 5 * 60_000;
  const execution = await waitFor(
    context,
    `the execution of ${machine.split(':').pop()} for ${key} to finish`,
    async () => {
      const { executions = [] } = await sfn.send(
        new ListExecutionsCommand({ stateMachineArn: machine, maxResults: 50 }),
      );
      for (const listed of executions) {
        if (!listed.executionArn || others.has(listed.executionArn)) continue;
        if (listed.startDate && listed.startDate.getTime() < earliest) continue;
        const described = await sfn.send(new DescribeExecutionCommand({ executionArn: listed.executionArn }));
        if (!forms.some((form) => described.input?.includes(form))) {
          if (described.status !== 'RUNNING') others.add(listed.executionArn);
          continue;
        }
        run.execution = {
          arn: listed.executionArn,
          name: described.name ?? listed.name ?? listed.executionArn.split(':').pop() ?? '',
          startDate: described.startDate,
          ended: described.status !== 'RUNNING' && described.status !== 'PENDING_REDRIVE',
        };
        if (described.status === 'SUCCEEDED') return { value: run.execution, state: 'SUCCEEDED' };
        if (run.execution.ended) {
          throw new CheckFailedError(
            `execution ${listed.executionArn} ended ${described.status}: ${described.error ?? 'no error name'}: ${(described.cause ?? 'no cause').slice(0, 500)}`,
          );
        }
        return { state: `execution ${run.execution.name} ${described.status}` };
      }
      return { state: `no execution has ${key} as input yet` };
    },
    timeoutMs,
  );
  return `execution ${execution.name} SUCCEEDED`;
}

async function curatedOutput(context: CheckContext, run: DataPathRun): Promise<string> {
  const dataset = needs(run.dataset, STEP.sample);
  const execution = endedExecution(run);
  const bucket = output(context, 'CURATED_BUCKET_NAME');
  const prefix =
    dataset.partitioning.by === 'ingest-date' && run.ingestDate
      ? `${dataset.name}/ingest_date=${run.ingestDate}/`
      : `${dataset.name}/`;
  const written: _Object[] = [];
  let token: string | undefined;
  do {
    const page = await context.clients
      .get(S3Client)
      .send(new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix, ContinuationToken: token }));
    for (const object of page.Contents ?? []) {
      const fresh = !execution.startDate || !object.LastModified || object.LastModified >= execution.startDate;
      if (fresh && object.Key?.endsWith('.parquet')) written.push(object);
    }
    token = page.IsTruncated ? page.NextContinuationToken : undefined;
  } while (token);
  if (written.length === 0) {
    throw new CheckFailedError(
      `no Parquet object under s3://${bucket}/${prefix} was written since execution ${execution.name} started`,
    );
  }
  return `${written.length} Parquet object(s) under s3://${bucket}/${prefix} written by the run`;
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

/** Runs a query, waiting (bounded) while an auto-paused cluster resumes. */
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
  endedExecution(run);
  const table = `mart.${quote(martTableName(dataset))}`;
  const { where, params } = keyCondition(dataset, keys);
  const [row] = await martQuery<{ rows: number }>(
    context,
    `SELECT count(*) AS rows FROM ${table} WHERE ${where}`,
    params,
  );
  const count = Number(row?.rows ?? 0);
  if (count !== keys.length) {
    throw new CheckFailedError(`expected ${keys.length} rows of the sample in ${table}, found ${count}`);
  }
  return `${count} of ${keys.length} valid rows in ${table}`;
}

async function auditRow(context: CheckContext, run: DataPathRun): Promise<string> {
  const dataset = needs(run.dataset, STEP.sample);
  const key = needs(run.objectKey, STEP.ingest);
  endedExecution(run);
  const rows = await martQuery<{
    run_id: string;
    status: string;
    rows_valid: number | null;
    rows_rejected: number | null;
    error: string | null;
  }>(
    context,
    `SELECT run_id, status, rows_valid, rows_rejected, error FROM audit.pipeline_runs
     WHERE dataset = :dataset AND object_key = :objectKey`,
    { dataset: dataset.name, objectKey: key },
  );
  const [row] = rows;
  if (!row) throw new CheckFailedError(`audit.pipeline_runs has no row for ${dataset.name} ${key}`);
  const found = `status ${row.status}, rows_valid ${row.rows_valid}, rows_rejected ${row.rows_rejected}`;
  if (row.status !== 'SUCCEEDED' || Number(row.rows_valid) !== VALID_ROWS || Number(row.rows_rejected) !== 1) {
    throw new CheckFailedError(
      `expected status SUCCEEDED, rows_valid ${VALID_ROWS}, rows_rejected 1 for run ${row.run_id}; found ${found}${row.error ? ` (${row.error.slice(0, 200)})` : ''}`,
    );
  }
  return `run ${row.run_id}: ${found}`;
}

// -------------------------------------------------------------------------------------------------------------------
// cleanup
// -------------------------------------------------------------------------------------------------------------------

/**
 * Removes what the run created where the role may: the mart rows (as the loader login, through the Data API), the
 * run's mart batch under curated `_mart/`, the throwaway user. Landing denies deletes to every role but the data
 * engineer's, the curated Parquet partitions are shared with real data and the audit row is the record of the run:
 * those are left and named. Fails when something it should remove could not be.
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

  const { dataset, keys } = run;
  if (dataset && keys && run.execution?.ended) {
    await attempt('mart rows', async () => {
      const table = `mart.${quote(martTableName(dataset))}`;
      const { where, params } = keyCondition(dataset, keys);
      const deleted = await martQuery(context, `DELETE FROM ${table} WHERE ${where} RETURNING 1 AS deleted`, params);
      return `${deleted.length} mart row(s) from ${table}`;
    });
    await attempt('mart batch', async () => {
      const bucket = output(context, 'CURATED_BUCKET_NAME');
      const prefix = `_mart/${dataset.name}/run_id=${run.execution?.name}/`;
      const s3 = context.clients.get(S3Client);
      const { Contents = [] } = await s3.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix }));
      const objects = Contents.flatMap((object) => (object.Key ? [{ Key: object.Key }] : []));
      if (objects.length === 0) return undefined;
      const result = await s3.send(new DeleteObjectsCommand({ Bucket: bucket, Delete: { Objects: objects } }));
      if (result.Errors?.length) {
        throw new Error(
          `${result.Errors.length} object(s) not deleted, e.g. ${result.Errors[0].Key}: ${result.Errors[0].Code} ${result.Errors[0].Message ?? ''}`,
        );
      }
      return `${objects.length} object(s) of s3://${bucket}/${prefix}`;
    });
    left.push(
      `the sample's rows in the curated Parquet of ${dataset.name} (partitions are shared with real data; keys ${keys.map((k) => k.join('/')).join(', ')})`,
    );
    left.push(`audit.pipeline_runs row of run ${run.execution.name} (the record of the run)`);
  } else if (dataset && keys && run.objectKey) {
    // Deleting now could race the load: the rows (if any) stay, with the keys to find them.
    left.push(
      `mart rows with keys ${keys.map((k) => k.join('/')).join(', ')} and the _mart/ batch, if ${run.execution ? `run ${run.execution.name}` : 'a run'} still loads them`,
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
