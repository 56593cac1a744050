/**
 * The whole data path, locally, under a simulated clock: objects land in a local S3 (s3rver behind a SigV4 check) and
 * go through the real stage A code (claim -> validate -> STAGED -> loop start, lambda/validate/stage-object.ts)
 * against a real PostgreSQL with the mart migrations; every stage B loop started runs the SYNTHESIZED stage B state
 * machine (aws-local-stepfunctions) with the real batch and load-mart handlers. Glue is the only stand-in
 * (curate-batch-simulator.ts); alerts are collected.
 *
 * Time is discrete events: arrivals are scheduled at simulated times and processed when the clock passes them. The
 * clock moves only where the real system waits: a WaitForBatch state (its seconds, reported to the next Acquire) and
 * a curate job run (`glueSeconds`). Executions run one after the other; a stage A that starts a loop while another
 * runs queues it, as Step Functions would run it alongside (it then finds the lease held, or takes it over).
 *
 * Used by test/integration/data-path.test.ts and bench/flow.ts.
 */
import './lambda-env';
import { Template } from 'aws-cdk-lib/assertions';
import { StateMachine, type StateMachineDefinition } from 'aws-local-stepfunctions';
import type { DatasetConfig } from '../../../config/schema';
import type { BatchSettings } from '../../../lambda/batch/contract';
import { createHandler as createBatchHandler, s3ManifestStore } from '../../../lambda/batch/handler';
import { createHandler as createLoadMartHandler } from '../../../lambda/load-mart/handler';
import type { SqlExecutor, SqlParams, SqlRow } from '../../../lambda/shared/sql';
import { PgExecutor } from '../../helpers/sql-pg';
import { S3ObjectStore } from '../../../lambda/validate/object-store';
import { type StageObjectResult, stageObject } from '../../../lambda/validate/stage-object';
import { createValidator } from '../../../lambda/validate/validate-object';
import { BATCH_STATES } from '../../../lib/constructs/batch-stage';
import { OrchestrationStack } from '../../../lib/stacks/orchestration-stack';
import { exampleConfig, testApp } from '../../helpers/app';
import { type TestDatabase, startPostgres } from '../../helpers/postgres';
import { type LocalS3, startLocalS3 } from '../../lambda/validate/local-s3';
import { CurateSimulator, type GlueJobRunResult, type GlueStartJobRunInput } from './curate-batch-simulator';
import { dataMart as buildDataMart, foundation } from './foundation';
import { insertStager } from './insert-stager';
import { applyMigrations } from './migrations';
import { synthesizedDefinition } from './state-machine';

export const ACCOUNT = '222222222222';
export const REGION = 'eu-west-1';
export const BUCKETS = {
  landing: `dp-dev-landing-${ACCOUNT}-${REGION}`,
  curated: `dp-dev-curated-${ACCOUNT}-${REGION}`,
  artifacts: `dp-dev-artifacts-${ACCOUNT}-${REGION}`,
} as const;
/** The start of simulated time. */
export const EPOCH = new Date('2026-12-01T08:00:00.000Z');

export class SimulatedClock {
  private millis: number;

  constructor(start: Date = EPOCH) {
    this.millis = start.getTime();
  }

  now = (): Date => new Date(this.millis);

  set(at: Date): void {
    this.millis = Math.max(this.millis, at.getTime());
  }
}

/** Counts the Data API requests an executor's use would make: one per statement, two per transaction (begin, commit). */
export class CountingExecutor implements SqlExecutor {
  constructor(
    private readonly inner: SqlExecutor,
    readonly counter = { requests: 0 },
  ) {}

  query<T extends SqlRow = SqlRow>(sql: string, params?: SqlParams): Promise<T[]> {
    this.counter.requests++;
    return this.inner.query<T>(sql, params);
  }

  transaction<T>(work: (tx: SqlExecutor) => Promise<T>): Promise<T> {
    this.counter.requests += 2;
    return this.inner.transaction((tx) => work(new CountingExecutor(tx, this.counter)));
  }
}

export interface FlowHarnessOptions {
  /** Whose synthesized definition and settings. @default 'dev' */
  readonly environment?: 'dev' | 'prod';
  /** Settings overrides (e.g. a small maxBytes). @default - the environment's, as the stack computes them */
  readonly settings?: Partial<BatchSettings>;
  /** Simulated duration of one curate job run. @default 120 */
  readonly glueSeconds?: number;
  /** The database to use (tests may share one). @default - a fresh one */
  readonly database?: TestDatabase;
}

export interface ExecutionRecord {
  readonly name: string;
  readonly dataset: string;
  readonly status: 'SUCCEEDED' | 'FAILED';
  /** Names of the states entered, in order. */
  readonly path: string[];
  readonly error?: string;
}

interface Arrival {
  readonly at: number;
  readonly key: string;
  readonly body: string | Buffer;
  readonly sequence: number;
}

/** A curate stand-in: the simulator by default; tests replace it to fail or to land files mid-batch. */
export type GlueStep = (input: GlueStartJobRunInput) => Promise<GlueJobRunResult>;

export class FlowHarness {
  readonly clock = new SimulatedClock();
  readonly curate: CurateSimulator;
  readonly executions: ExecutionRecord[] = [];
  readonly alerts: unknown[] = [];
  readonly stageResults: StageObjectResult[] = [];
  /** Curate job runs attempted (the stand-in's own `runs` counts the ones that succeeded). */
  glueCalls = 0;
  martLoads = 0;
  /** States entered over every execution. */
  transitions = 0;
  /** Data API requests stage A and stage B would make. */
  readonly stageASql: CountingExecutor;
  readonly stageBSql: CountingExecutor;
  /** The mart loads' requests, and the rows they staged (locally one INSERT each, on Aurora one import per file). */
  readonly loadSql: CountingExecutor;
  martRowsStaged = 0;
  /** Replaceable: runs each curate job run (default: advance the clock `glueSeconds`, then simulate). */
  glue: GlueStep;

  private readonly arrivals: Arrival[] = [];
  private readonly pending: { name: string; input: unknown }[] = [];
  private arrivalCounter = 0;
  private versionCounter = 0;

  private constructor(
    readonly db: TestDatabase,
    readonly s3: LocalS3,
    readonly definition: StateMachineDefinition,
    readonly settings: BatchSettings,
    readonly datasets: ReadonlyMap<string, DatasetConfig>,
    private readonly ownsDatabase: boolean,
    private readonly glueSeconds: number,
  ) {
    this.curate = new CurateSimulator(s3.s3, datasets);
    this.stageASql = new CountingExecutor(db.executor);
    this.stageBSql = new CountingExecutor(db.executor);
    this.loadSql = new CountingExecutor(db.executor);
    this.glue = async (input) => {
      await this.advanceBy(this.glueSeconds);
      return this.curate.run(input);
    };
  }

  static async start(options: FlowHarnessOptions = {}): Promise<FlowHarness> {
    const environment = options.environment ?? 'dev';
    const app = testApp();
    const base = foundation(app, environment);
    const dataMart = buildDataMart(app, base);
    const stack = new OrchestrationStack(app, 'Orchestration', {
      ...base.common,
      env: base.env,
      datasets: exampleConfig().datasets,
      storage: base.storage,
      curateJobName: `${base.prefix}-curate`,
      dataMart,
    });
    const definition = synthesizedDefinition(Template.fromStack(stack), `${base.prefix}-batches`, {
      account: base.env.account,
      region: base.env.region,
    });
    const [db, s3] = await Promise.all([options.database ?? startPostgres(), startLocalS3(Object.values(BUCKETS))]);
    if (options.database === undefined) await applyMigrations(db.executor);
    const datasets = new Map(exampleConfig().datasets.map((dataset) => [dataset.name, dataset]));
    return new FlowHarness(
      db,
      s3,
      definition,
      { ...stack.batchSettings, ...options.settings },
      datasets,
      options.database === undefined,
      options.glueSeconds ?? 120,
    );
  }

  async stop(): Promise<void> {
    await Promise.all([this.ownsDatabase ? this.db.stop() : undefined, this.s3.stop()]);
  }

  get executor(): SqlExecutor {
    return this.db.executor;
  }

  /** Seconds since the start of simulated time. */
  get elapsedSeconds(): number {
    return (this.clock.now().getTime() - EPOCH.getTime()) / 1000;
  }

  /** An object that will land `atSeconds` after the start of simulated time. */
  schedule(atSeconds: number, key: string, body: string | Buffer): void {
    this.arrivals.push({ at: EPOCH.getTime() + atSeconds * 1000, key, body, sequence: this.arrivalCounter++ });
    this.arrivals.sort((a, b) => a.at - b.at || a.sequence - b.sequence);
  }

  /** An object landing now (stage A runs when the harness next processes arrivals). */
  land(key: string, body: string | Buffer): void {
    this.schedule(this.elapsedSeconds, key, body);
  }

  /** Processes arrivals and loops until nothing is left to do. */
  async run(): Promise<void> {
    for (;;) {
      await this.advanceBy(0);
      const next = this.pending.shift();
      if (next !== undefined) {
        await this.execute(next.name, next.input);
        continue;
      }
      const arrival = this.arrivals[0];
      if (arrival === undefined) return;
      await this.advanceTo(arrival.at);
    }
  }

  /** Moves the clock forward, running stage A for every object that lands meanwhile, at its time. */
  async advanceBy(seconds: number): Promise<void> {
    await this.advanceTo(this.clock.now().getTime() + seconds * 1000);
  }

  private async advanceTo(at: number): Promise<void> {
    while (this.arrivals.length > 0 && this.arrivals[0].at <= at) {
      const arrival = this.arrivals.shift() as Arrival;
      this.clock.set(new Date(arrival.at));
      await this.stageA(arrival);
    }
    this.clock.set(new Date(at));
  }

  /** What EventBridge hands stage A for a new object. */
  objectCreated(key: string, size: number, versionId: string): unknown {
    return {
      version: '0',
      id: `event-${versionId}`,
      'detail-type': 'Object Created',
      source: 'aws.s3',
      account: ACCOUNT,
      time: this.clock.now().toISOString(),
      region: REGION,
      resources: [`arn:aws:s3:::${BUCKETS.landing}`],
      detail: {
        version: '0',
        bucket: { name: BUCKETS.landing },
        object: { key, size, etag: 'etag', 'version-id': versionId, sequencer: '0001' },
        'request-id': 'request',
        requester: ACCOUNT,
        'source-ip-address': '10.0.0.1',
        reason: 'PutObject',
      },
    };
  }

  /** Stage A for one message, as the validate function runs it (also used to re-deliver a message). */
  async deliver(message: unknown): Promise<StageObjectResult> {
    const result = await stageObject(
      {
        executor: this.stageASql,
        validate: createValidator({
          store: new S3ObjectStore(this.s3.s3),
          artifactsBucket: BUCKETS.artifacts,
          datasets: this.datasets,
        }),
        datasets: this.datasets,
        startLeaseSeconds: this.settings.startLeaseSeconds,
        now: this.clock.now,
        loops: {
          start: async (name, input) => {
            if (this.executions.some((execution) => execution.name === name)) return 'exists';
            if (!this.pending.some((execution) => execution.name === name)) {
              this.pending.push({ name, input: JSON.parse(input) });
            }
            return 'started';
          },
        },
      },
      message,
    );
    this.stageResults.push(result);
    return result;
  }

  private async stageA(arrival: Arrival): Promise<void> {
    await this.s3.put(BUCKETS.landing, arrival.key, arrival.body);
    const size = Buffer.byteLength(arrival.body);
    await this.deliver(this.objectCreated(arrival.key, size, `v${++this.versionCounter}`));
  }

  /** Forgets the queued executions (as if they were lost before their first step); returns their names. */
  discardPending(): string[] {
    return this.pending.splice(0).map((execution) => execution.name);
  }

  /** One `acquire` step as the execution `executionName` (e.g. to play a holder that then crashes). */
  async acquireAs(dataset: string, executionName: string, iteration = 0): Promise<unknown> {
    return this.batchHandler()({ action: 'acquire', dataset, executionName, iteration });
  }

  private batchHandler() {
    return createBatchHandler({
      executor: this.stageBSql,
      manifests: s3ManifestStore(this.s3.s3),
      settings: this.settings,
      datasets: this.datasets,
      artifactsBucket: BUCKETS.artifacts,
      curatedBucket: BUCKETS.curated,
      now: this.clock.now,
    });
  }

  /** Queues a stage B execution (as an operator or a stage A would start it). */
  startLoop(name: string, input: unknown): void {
    this.pending.push({ name, input });
  }

  private async execute(name: string, input: unknown): Promise<void> {
    const batch = this.batchHandler();
    const loadMart = createLoadMartHandler({
      executor: this.loadSql,
      s3: this.s3.s3,
      region: REGION,
      martTables: Object.fromEntries(
        [...this.datasets.values()].filter((d) => d.mart.enabled).map((d) => [d.name, d.mart.table ?? d.name]),
      ),
      stagerFor: (event, keys) => insertStager(this.s3.s3, event.bucket, keys),
    });
    const machine = new StateMachine(this.definition, { validationOptions: { checkArn: false } });
    const noWaits = Object.fromEntries(
      Object.entries(this.definition.States)
        .filter(([, state]) => 'Retry' in state)
        .map(([stateName]) => [stateName, 0]),
    );
    const execution = machine.run(input as never, {
      overrides: {
        taskResourceLocalHandlers: {
          [BATCH_STATES.acquire]: async (event) => {
            await this.advanceBy(Number((event as { waitedSeconds?: number }).waitedSeconds ?? 0));
            return (await batch(event)) as never;
          },
          [BATCH_STATES.complete]: async (event) => (await batch(event)) as never,
          [BATCH_STATES.recordFailure]: async (event) => (await batch(event)) as never,
          [BATCH_STATES.curate]: async (event) => {
            this.glueCalls++;
            return (await this.glue(event as unknown as GlueStartJobRunInput)) as never;
          },
          [BATCH_STATES.loadMart]: async (event) => {
            this.martLoads++;
            const loaded = await loadMart(event);
            this.martRowsStaged += loaded.rowsStaged;
            return loaded as never;
          },
          [BATCH_STATES.alert]: async (event) => {
            this.alerts.push(event);
            return { MessageId: `message-${this.alerts.length}` };
          },
          [BATCH_STATES.alertStop]: async (event) => {
            this.alerts.push(event);
            return { MessageId: `message-${this.alerts.length}` };
          },
          [BATCH_STATES.continueAsNew]: async (event) => {
            const { Name, Input } = event as { Name: string; Input: unknown };
            this.pending.push({ name: Name, input: typeof Input === 'string' ? JSON.parse(Input) : Input });
            return { ExecutionArn: `arn:aws:states:${REGION}:${ACCOUNT}:execution:dp-dev-batches:${Name}` };
          },
        },
        waitTimeOverrides: { [BATCH_STATES.wait]: 0 },
        retryIntervalOverrides: noWaits,
      },
      context: {
        Execution: {
          Id: `arn:aws:states:${REGION}:${ACCOUNT}:execution:dp-dev-batches:${name}`,
          Name: name,
          StartTime: this.clock.now().toISOString(),
          Input: input as never,
        },
      },
    });
    const path: string[] = [];
    const events = (async () => {
      for await (const event of execution.eventLogs) {
        if (event.type === 'StateEntered') path.push(event.state.name);
      }
    })();
    const dataset = String((input as { dataset?: string }).dataset);
    try {
      await execution.result;
      await events;
      this.executions.push({ name, dataset, status: 'SUCCEEDED', path });
    } catch (error) {
      await events.catch(() => undefined);
      const failure = error as Error & { cause?: { name?: string } };
      this.executions.push({ name, dataset, status: 'FAILED', path, error: failure.cause?.name ?? failure.name });
    }
    this.transitions += path.length;
  }

  /** audit.batches of a dataset, oldest first. */
  async batches(dataset: string): Promise<Record<string, unknown>[]> {
    return this.executor.query(
      `SELECT batch_id, status, attempts, run_count, staged_bytes, rows_loaded, error
         FROM audit.batches WHERE dataset = :dataset ORDER BY created_at, batch_id`,
      { dataset },
    );
  }

  /** Pipeline runs of a dataset by status. */
  async runStatuses(dataset: string): Promise<Record<string, number>> {
    const rows = await this.executor.query<{ status: string; runs: number }>(
      'SELECT status, count(*)::int AS runs FROM audit.pipeline_runs WHERE dataset = :dataset GROUP BY status',
      { dataset },
    );
    return Object.fromEntries(rows.map((row) => [row.status, row.runs]));
  }
}

/** A PgExecutor over the harness database (for direct SQL in tests). */
export function executorOf(db: TestDatabase): SqlExecutor {
  return new PgExecutor(db.pool);
}
