/**
 * Every custom metric a dashboard or alarm of the Dev stage reads is one the code writes: the handlers run here as
 * Lambda runs them (each with the POWERTOOLS_SERVICE_NAME and namespace its function gets in the synthesized
 * template, in a module registry of its own), over real PostgreSQL and a local S3, and their EMF lines are captured
 * from stdout. Namespaces, metric names, dimension names AND values are compared, so a renamed metric, a dimension
 * added on one side only, or a dataset the dashboards plot but stage A never counts, fails here.
 */
process.env.POWERTOOLS_METRICS_DISABLED = 'false';
process.env.POWERTOOLS_LOG_LEVEL = 'SILENT';

import '../../integration/helpers/lambda-env';
import { Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import type { SQSEvent } from 'aws-lambda';
import { type DatasetConfig, dimensionBuckets, OTHER_DIMENSION_VALUE } from '../../../config/schema';
import type { BatchSettings } from '../../../lambda/batch/contract';
import { GlueClient } from '../../../lambda/job-auditor/glue';
import type { RdsDataApi } from '../../../lambda/shared/aws/rds-data';
import { VALIDATION_DEFAULTS } from '../../../lambda/validate/contract';
import { S3ObjectStore } from '../../../lambda/validate/object-store';
import { DataPlatformStage } from '../../../stages/data-platform-stage';
import { exampleConfig, testApp } from '../../helpers/app';
import { FAKE_CREDENTIALS, FAKE_REGION, type FakeAws, startFakeAws } from '../../helpers/fake-aws';
import { alarmsOf, type MetricRead, metricsRead, type TemplateResource } from '../../helpers/operations';
import { startPostgres, type TestDatabase } from '../../helpers/postgres';
import { CurateSimulator } from '../../integration/helpers/curate-batch-simulator';
import { insertStager } from '../../integration/helpers/insert-stager';
import { applyMigrations } from '../../integration/helpers/migrations';
import { type LocalS3, startLocalS3 } from '../../lambda/validate/local-s3';

type ValidateHandlerModule = typeof import('../../../lambda/validate/handler');
type ValidateObjectModule = typeof import('../../../lambda/validate/validate-object');
type BatchHandlerModule = typeof import('../../../lambda/batch/handler');
type LoadMartModule = typeof import('../../../lambda/load-mart/handler');
type JobAuditorModule = typeof import('../../../lambda/job-auditor/handler');
type DataApiModule = typeof import('../../../lambda/shared/sql-data-api');

const BUCKETS = { landing: 'landing', artifacts: 'artifacts', curated: 'curated' } as const;
const config = exampleConfig();
const datasets = new Map(config.datasets.map((dataset) => [dataset.name, dataset]));

// ------------------------------------------------------------------------------------------------------------------
// The Dev stage as synthesized: what it reads, and the environment of each function.
// ------------------------------------------------------------------------------------------------------------------
const dev = config.environments.find((e) => e.name === 'dev')!;
const stage = new DataPlatformStage(testApp(), 'DevStage', {
  platform: config.platform,
  environment: dev,
  datasets: config.datasets,
});
const resources: Record<string, TemplateResource> = {};
for (const stack of stage.node.children.filter((child): child is Stack => child instanceof Stack)) {
  for (const [id, resource] of Object.entries(Template.fromStack(stack).toJSON().Resources ?? {})) {
    resources[`${stack.stackName}/${id}`] = resource as TemplateResource;
  }
}

/** The environment variables of the one function whose logical ID starts with `idPrefix`. */
function functionEnvironment(idPrefix: string): Record<string, string> {
  const found = Object.entries(resources).filter(
    ([id, resource]) => resource.Type === 'AWS::Lambda::Function' && id.split('/')[1].startsWith(idPrefix),
  );
  expect(found.map(([id]) => id)).toHaveLength(1);
  return (found[0][1].Properties!.Environment as { Variables: Record<string, string> }).Variables;
}

interface EmittedMetric {
  readonly namespace: string;
  readonly name: string;
  readonly dimensions: Record<string, string>;
  readonly value: number;
}

/** The metrics of the EMF lines in `output` (one per metric and dimension set). */
function parseEmf(output: string[]): EmittedMetric[] {
  const metrics: EmittedMetric[] = [];
  for (const line of output.join('').split('\n')) {
    if (!line.startsWith('{"_aws"')) continue;
    const record = JSON.parse(line) as Record<string, unknown> & {
      _aws: { CloudWatchMetrics: { Namespace: string; Dimensions: string[][]; Metrics: { Name: string }[] }[] };
    };
    for (const directive of record._aws.CloudWatchMetrics) {
      for (const set of directive.Dimensions) {
        for (const { Name } of directive.Metrics) {
          const dimensions = Object.fromEntries(set.map((name) => [name, String(record[name])]));
          metrics.push({ namespace: directive.Namespace, name: Name, dimensions, value: Number(record[Name]) });
        }
      }
    }
  }
  return metrics;
}

/**
 * Runs `work` with the function's Powertools environment and fresh copies of the handler modules (`load` requires them
 * in one registry, so they share the function's metrics instance, as in Lambda); returns the EMF it printed.
 */
async function emittedBy<T>(
  functionIdPrefix: string,
  load: () => T,
  work: (modules: T) => Promise<void>,
): Promise<EmittedMetric[]> {
  const variables = functionEnvironment(functionIdPrefix);
  process.env.POWERTOOLS_SERVICE_NAME = variables.POWERTOOLS_SERVICE_NAME;
  process.env.POWERTOOLS_METRICS_NAMESPACE = variables.POWERTOOLS_METRICS_NAMESPACE;
  let modules: T | undefined;
  jest.isolateModules(() => {
    modules = load();
  });
  const output: string[] = [];
  const spy = jest.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
    output.push(String(chunk));
    return true;
  });
  try {
    await work(modules as T);
  } finally {
    spy.mockRestore();
  }
  return parseEmf(output);
}

// ------------------------------------------------------------------------------------------------------------------
// Fixtures generated from the dataset config: a row for every dimension bucket the dashboards plot.
// ------------------------------------------------------------------------------------------------------------------
const hex = (n: number) => n.toString(16).padStart(16, '0');

/** The value of a column for a bucket: the value itself, or null for "other" (the column is then nullable). */
function bucketValue(dataset: DatasetConfig, column: string, bucket: string): unknown {
  const type = dataset.columns.find((c) => c.name === column)!.type;
  if (bucket === OTHER_DIMENSION_VALUE) return null;
  return type === 'boolean' ? bucket === 'true' : bucket;
}

/** Rows of the example datasets, varied so that every bucket of every dimension gets at least one. */
function rowsCoveringBuckets(dataset: DatasetConfig, first: number): Record<string, unknown>[] {
  const bucketsPerColumn = dataset.metrics.dimensions.map((d) => ({
    column: d.column,
    buckets: dimensionBuckets(dataset.columns, d),
  }));
  const count = Math.max(1, ...bucketsPerColumn.map((b) => b.buckets.length));
  return Array.from({ length: count }, (_, i) => {
    const row =
      dataset.name === 'impressions'
        ? {
            impression_id: `imp-${hex(first + i)}`,
            event_time: '2026-12-01T07:15:00.000Z',
            event_date: '2026-12-01',
            campaign_id: 1000 + i,
            creative_id: 7,
            placement: 'banner',
            device_type: 'mobile',
            country: 'FR',
            bid_price_usd: '0.012345',
            viewable: true,
            viewability_score: 0.75,
          }
        : {
            click_id: `clk-${hex(first + i)}`,
            impression_id: `imp-${hex(first + i)}`,
            click_time: '2026-12-01T07:20:00Z',
            campaign_id: 2000 + i,
            landing_url: 'https://example.com',
            cost_usd: '0.5000',
            is_fraud_suspected: false,
          };
    const values: Record<string, unknown> = { ...row };
    for (const { column, buckets } of bucketsPerColumn) {
      values[column] = bucketValue(dataset, column, buckets[i % buckets.length]);
    }
    return values;
  });
}

/** The file of `rows` in the dataset's format (CSV: nulls are empty fields). */
function fileOf(dataset: DatasetConfig, rows: Record<string, unknown>[], extraLines: string[] = []): string {
  if (dataset.format === 'csv') {
    const names = dataset.columns.map((c) => c.name);
    const lines = rows.map((row) => names.map((name) => (row[name] === null ? '' : String(row[name]))).join(','));
    return `${[names.join(','), ...lines, ...extraLines].join('\n')}\n`;
  }
  return `${[...rows.map((row) => JSON.stringify(row)), ...extraLines].join('\n')}\n`;
}

const fileKey = (dataset: string, name: string) =>
  `${dataset}/ingest_date=2026-12-01/${name}.${datasets.get(dataset)!.format === 'csv' ? 'csv' : 'ndjson'}`;

function sqsEvent(bodies: unknown[]): SQSEvent {
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

const objectCreated = (key: string, eventId: string) => ({
  version: '0',
  id: `event-${eventId}`,
  'detail-type': 'Object Created',
  source: 'aws.s3',
  account: '222222222222',
  time: '2026-12-01T07:30:00Z',
  region: 'eu-west-1',
  resources: [`arn:aws:s3:::${BUCKETS.landing}`],
  // No version: the local S3 copies (quarantines) only the current version of an object.
  detail: { bucket: { name: BUCKETS.landing }, object: { key, size: 10 } },
});

// ------------------------------------------------------------------------------------------------------------------
// The run: stage A over every kind of file, stage B (fail, retry, curate, load, complete) per dataset, the
// job-auditor on a failed curate run, Data API failures.
// ------------------------------------------------------------------------------------------------------------------
let db: TestDatabase;
let s3: LocalS3;
let glue: FakeAws;
const emitted: EmittedMetric[] = [];
/** What stage A emitted for one file holding a single rejected row (the "quiet" check). */
let singleRejection: EmittedMetric[] = [];
let singleRejectionFailures: unknown[] = [];

const validateModules = () => ({
  handler: require('../../../lambda/validate/handler') as ValidateHandlerModule,
  validateObject: require('../../../lambda/validate/validate-object') as ValidateObjectModule,
});

/** Stage A over `files` (key -> body); returns the loop names it started. */
function stageA(
  files: Record<string, string>,
  extraBodies: unknown[] = [],
  onResponse: (failures: unknown[]) => void = () => undefined,
) {
  const started: string[] = [];
  const run = emittedBy('ValidateFunction', validateModules, async ({ handler, validateObject }) => {
    let version = 0;
    const events: unknown[] = [];
    for (const [key, body] of Object.entries(files)) {
      await s3.put(BUCKETS.landing, key, body);
      events.push(objectCreated(key, `v${++version}-${key}`));
    }
    const response = await handler.createHandler({
      executor: db.executor,
      validate: validateObject.createValidator({
        store: new S3ObjectStore(s3.s3),
        artifactsBucket: BUCKETS.artifacts,
        datasets,
        // The smallest record limit: a long line makes a file unreadable (quarantined whole).
        settings: { ...VALIDATION_DEFAULTS, maxRecordChars: 1024 },
      }),
      datasets,
      startLeaseSeconds: 300,
      loops: {
        async start(name) {
          started.push(name);
          return 'started';
        },
      },
      sleep: async () => undefined,
    })(sqsEvent([...events, ...extraBodies]), { getRemainingTimeInMillis: () => 900_000 });
    onResponse(response.batchItemFailures);
  });
  return { run, started };
}

beforeAll(async () => {
  [db, s3] = await Promise.all([startPostgres(), startLocalS3(Object.values(BUCKETS))]);
  await applyMigrations(db.executor);

  // A file with exactly one rejected row, on its own first (what must not alarm).
  const impressions = datasets.get('impressions')!;
  const lone = stageA(
    { [fileKey('impressions', 'one-bad-row')]: fileOf(impressions, [], ['{"impression_id":1}']) },
    [],
    (f) => {
      singleRejectionFailures = f;
    },
  );
  singleRejection = await lone.run;
  emitted.push(...singleRejection);
  await db.executor.query('DELETE FROM audit.dataset_schedules');

  // Stage A: per dataset, a file covering every dimension bucket with one bad row, a file of bad rows only, an
  // unreadable file; and a message that is not JSON.
  const files: Record<string, string> = {};
  for (const dataset of config.datasets) {
    files[fileKey(dataset.name, 'good')] = fileOf(dataset, rowsCoveringBuckets(dataset, 1), ['not a valid row']);
    files[fileKey(dataset.name, 'all-bad')] = fileOf(dataset, [], ['not a valid row']);
    files[fileKey(dataset.name, 'too-long')] = fileOf(dataset, [], [`"${'x'.repeat(2000)}"`]);
  }
  const a = stageA(files, ['not json']);
  emitted.push(...(await a.run));
  const loops = new Map<string, string>();
  for (const name of a.started) loops.set(name.split('-')[0], name);
  expect([...loops.keys()].sort()).toEqual(config.datasets.map((d) => d.name).sort());

  // Stage B per dataset: acquire -> fail -> acquire (retry) -> curate (simulated) -> load -> complete.
  const settings = JSON.parse(functionEnvironment('BatchFunction').BATCH_SETTINGS) as BatchSettings;
  // An hour after stage A staged the runs (on the real clock): past any batch wait.
  let now = new Date(Date.now() + 3_600_000);
  const batchModules = () => require('../../../lambda/batch/handler') as BatchHandlerModule;
  const batchHandler = (module: BatchHandlerModule) =>
    module.createHandler({
      executor: db.executor,
      manifests: { put: (bucket, key, body) => s3.put(bucket, key, body) },
      settings,
      datasets,
      artifactsBucket: BUCKETS.artifacts,
      curatedBucket: BUCKETS.curated,
      now: () => now,
    });
  const curate = new CurateSimulator(s3.s3, datasets);
  type Work = { batchId: string; glueArguments: Record<string, string>; load: Record<string, string> };
  const works = new Map<string, Work>();
  emitted.push(
    ...(await emittedBy('BatchFunction', batchModules, async (module) => {
      const batch = batchHandler(module);
      for (const [dataset, executionName] of loops) {
        const first = (await batch({ action: 'acquire', dataset, executionName, iteration: 0 })) as {
          decision: { outcome: string; batch?: Work };
        };
        expect(first.decision.outcome).toBe('BATCH');
        await batch({
          action: 'fail',
          dataset,
          executionName,
          batchId: first.decision.batch!.batchId,
          error: 'States.TaskFailed',
          cause: 'simulated curate failure',
        });
      }
      now = new Date(now.getTime() + (settings.retryDelaySeconds + 1) * 1000);
      for (const [dataset, executionName] of loops) {
        const retry = (await batch({ action: 'acquire', dataset, executionName, iteration: 1 })) as {
          decision: { outcome: string; batch?: Work };
        };
        expect(retry.decision.outcome).toBe('BATCH');
        works.set(dataset, retry.decision.batch!);
        await curate.run({ JobName: 'dp-dev-curate', Arguments: retry.decision.batch!.glueArguments });
      }
    })),
  );
  emitted.push(
    ...(await emittedBy(
      'LoadMartFunction',
      // The handler's SDK is the isolated registry's copy: its paginators accept only a client of that copy.
      () => ({
        handler: require('../../../lambda/load-mart/handler') as LoadMartModule,
        sdk: require('@aws-sdk/client-s3') as typeof import('@aws-sdk/client-s3'),
      }),
      async ({ handler, sdk }) => {
        const loadMart = handler.createHandler({
          executor: db.executor,
          s3: new sdk.S3Client(s3.clientConfig),
          region: 'eu-west-1',
          martTables: Object.fromEntries(config.datasets.map((d) => [d.name, d.mart.table ?? d.name])),
          stagerFor: (event, keys) => insertStager(s3.s3, event.bucket, keys),
        });
        for (const work of works.values()) await loadMart(work.load);
      },
    )),
  );
  now = new Date(now.getTime() + 600_000);
  emitted.push(
    ...(await emittedBy('BatchFunction', batchModules, async (module) => {
      const batch = batchHandler(module);
      for (const [dataset, executionName] of loops) {
        await batch({
          action: 'complete',
          dataset,
          executionName,
          batchId: works.get(dataset)!.batchId,
          jobRunId: 'jr_1',
          rowsLoaded: 1,
        });
      }
    })),
  );

  // The job-auditor on a failed curate run.
  glue = await startFakeAws('glue', () => ({
    body: {
      JobRun: {
        Id: 'jr_failed',
        JobName: 'dp-dev-curate',
        JobRunState: 'FAILED',
        Arguments: { '--batch_id': 'b-1', '--dataset': 'impressions' },
        StartedOn: Date.parse('2026-12-01T10:00:00Z') / 1000,
        CompletedOn: Date.parse('2026-12-01T10:05:00Z') / 1000,
        ExecutionTime: 300,
        MaxCapacity: 2,
        ErrorMessage: 'simulated',
      },
    },
  }));
  emitted.push(
    ...(await emittedBy(
      'JobAuditorFunction',
      () => require('../../../lambda/job-auditor/handler') as JobAuditorModule,
      async (module) => {
        await module.createHandler({
          executor: db.executor,
          glue: new GlueClient({ endpoint: glue.endpoint, region: FAKE_REGION, credentials: FAKE_CREDENTIALS }),
        })({
          version: '0',
          id: 'event-1',
          'detail-type': 'Glue Job State Change',
          source: 'aws.glue',
          account: '222222222222',
          time: '2026-12-01T10:05:00Z',
          region: 'eu-west-1',
          resources: [],
          detail: { jobName: 'dp-dev-curate', severity: 'ERROR', state: 'FAILED', jobRunId: 'jr_failed' },
        });
      },
    )),
  );

  // The Data API executor (any function's): a failing statement, and a resuming cluster.
  emitted.push(
    ...(await emittedBy(
      'BatchFunction',
      () => require('../../../lambda/shared/sql-data-api') as DataApiModule,
      async ({ DataApiExecutor }) => {
        for (const name of ['BadRequestException', 'DatabaseResumingException']) {
          const failing = {
            executeStatement: async () => {
              throw Object.assign(new Error(`simulated ${name}`), { name });
            },
          } as unknown as RdsDataApi;
          const executor = new DataApiExecutor(failing, { resourceArn: 'arn', secretArn: 'arn', database: 'mart' });
          await expect(executor.query('SELECT 1')).rejects.toThrow(`simulated ${name}`);
        }
      },
    )),
  );
}, 120_000);

afterAll(async () => {
  await Promise.all([db?.stop(), s3?.stop(), glue?.stop()]);
});

/** Metrics the templates produce themselves (log metric filters). */
function filterMetrics(): EmittedMetric[] {
  return Object.values(resources)
    .filter((resource) => resource.Type === 'AWS::Logs::MetricFilter')
    .flatMap((resource) =>
      (resource.Properties!.MetricTransformations as { MetricNamespace: string; MetricName: string }[]).map((t) => ({
        namespace: t.MetricNamespace,
        name: t.MetricName,
        dimensions: {},
        value: 1,
      })),
    );
}

const key = (metric: { namespace: string; name: string; dimensions: Readonly<Record<string, string>> }) =>
  `${metric.namespace} ${metric.name} ${JSON.stringify(Object.entries(metric.dimensions).sort())}`;

test('every custom metric a dashboard or alarm reads is written by the handlers (or a metric filter)', () => {
  const namespace = functionEnvironment('ValidateFunction').POWERTOOLS_METRICS_NAMESPACE;
  const reads = metricsRead(resources);
  const custom = reads.filter((read) => !read.namespace.startsWith('AWS/'));
  // Any namespace outside AWS's is the platform's own: no other one may be read.
  expect([...new Set(custom.map((read) => read.namespace))]).toEqual([namespace]);
  // The check covers what matters: the alarms' platform metrics, stage A's per dataset and dimension, stage B's.
  expect(custom.length).toBeGreaterThanOrEqual(50);

  const written = new Set([...emitted, ...filterMetrics()].map(key));
  const missing = custom
    .filter((read) => !written.has(key(read)))
    .map((read: MetricRead) => `${read.where}: ${key(read)}`);
  expect(missing).toEqual([]);
});

test('the functions write their metrics under the namespace and service the dashboards expect', () => {
  // Each function's service: its metrics carry it (the comparison above matched them value for value).
  const services = ['ValidateFunction', 'BatchFunction', 'JobAuditorFunction', 'LoadMartFunction'].map(
    (id) => functionEnvironment(id).POWERTOOLS_SERVICE_NAME,
  );
  expect(services).toEqual(['validate', 'batch', 'job-auditor', 'data-mart-load']);
  // Platform-wide metrics carry service "platform" whatever the function: one series per environment.
  const platformWide = emitted.filter((m) => m.dimensions.service === 'platform').map((m) => m.name);
  expect([...new Set(platformWide)].sort()).toEqual([
    'BatchesFailed',
    'DataApiErrors',
    'GlueJobRunsUnsuccessful',
    'MartResumeWaits',
    'OldestStagedAgeSeconds',
  ]);
  for (const metric of emitted.filter((m) => m.dimensions.service === 'platform')) {
    expect(Object.keys(metric.dimensions)).toEqual(['service']);
  }
});

test('stage A counts accepted rows per dimension value only for the allow-listed columns, "other" for the rest', () => {
  const byDimension = emitted.filter((m) => m.name === 'RowsAccepted');
  const columns = new Set(byDimension.flatMap((m) => Object.keys(m.dimensions)));
  expect([...columns].sort()).toEqual(['dataset', 'device_type', 'is_fraud_suspected', 'placement', 'service']);
  // Nulls of device_type count as "other"; every line carries one dimension column at most.
  expect(byDimension.some((m) => m.dimensions.device_type === OTHER_DIMENSION_VALUE)).toBe(true);
  for (const metric of byDimension) expect(Object.keys(metric.dimensions)).toHaveLength(3);
});

test('a file with a single rejected row breaches no alarm and fails no invocation', () => {
  expect(singleRejection.find((m) => m.name === 'RowsRejected')?.value).toBe(1);
  expect(singleRejectionFailures).toEqual([]);
  const breaches: string[] = [];
  for (const { id, properties } of alarmsOf(resources).metricAlarms) {
    const alarmKey = key({
      namespace: String(properties.Namespace),
      name: String(properties.MetricName),
      dimensions: Object.fromEntries(
        ((properties.Dimensions ?? []) as { Name: string; Value: string }[]).map((d) => [d.Name, d.Value]),
      ),
    });
    const values = singleRejection.filter((m) => key(m) === alarmKey).map((m) => m.value);
    if (values.length === 0) continue;
    const value = properties.Statistic === 'Maximum' ? Math.max(...values) : values.reduce((a, b) => a + b, 0);
    const threshold = Number(properties.Threshold);
    const breached =
      properties.ComparisonOperator === 'GreaterThanThreshold'
        ? value > threshold
        : properties.ComparisonOperator === 'GreaterThanOrEqualToThreshold'
          ? value >= threshold
          : false;
    if (breached) breaches.push(`${id}: ${value}`);
  }
  expect(breaches).toEqual([]);
});
