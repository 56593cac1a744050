/**
 * `npm run bench:flow -- --files 2000 [--interval 1] [--environment dev|prod]`: pushes small files of one dataset
 * through the data path under a simulated clock — the real stage A code for every file, the SYNTHESIZED stage B state
 * machine (aws-local-stepfunctions) with the real batch and load-mart handlers, a local S3 and PostgreSQL (Glue is a
 * local stand-in, see test/integration/helpers/flow-harness.ts) — and prints exactly one line
 *
 *   flow: files=<F> batches=<B> glueRuns=<G> martLoads=<M> transitionsPerFile=<T>
 *
 * then the cost per day of two workloads in Dev and Prod sizing, with the formula and the price constants
 * (scripts/cost/prices.ts), from the figures this run measured (Data API requests and transitions per file and per
 * batch). Target: glueRuns equals the number of batch windows, not files; 1,000,000 events a day under $20 in Dev.
 *
 * Uses DATABASE_URL when set, else the embedded PGlite.
 */
import { gzipSync } from 'node:zlib';
import { loadConfig } from '../config/load';
import type { EnvironmentConfig } from '../config/schema';
import {
  API_GATEWAY_REST_REQUEST,
  AURORA_ACU_HOUR,
  AURORA_MIN_AWAKE_ACU,
  DATA_API_REQUEST,
  FIREHOSE_GB,
  FIREHOSE_RECORD_ROUNDING_BYTES,
  GLUE_DPU_HOUR,
  GLUE_MINIMUM_SECONDS,
  LAMBDA_ARM_GB_SECOND,
  LAMBDA_REQUEST,
  S3_GET_REQUEST,
  S3_PUT_REQUEST,
  SQS_REQUEST,
  STEP_FUNCTIONS_TRANSITION,
} from '../scripts/cost/prices';
import { FlowHarness } from '../test/integration/helpers/flow-harness';

/**
 * Assumptions the local run cannot measure (stated with the table):
 * - a curate job run over a small batch bills ~2 minutes of its DPUs (Glue 5.0 starts in ~10-30 s; a MERGE of a few
 *   MB takes about a minute), unverified until the first real deploy;
 * - stage A runs ~0.2 s per file plus 30 MB/s of uncompressed data at 1 GB (bench:validate measures 26-62 MB/s CPU);
 * - an awake Aurora Serverless v2 bills at least 0.5 ACU, and a steady stream keeps it awake all day;
 * - Firehose writes one object per buffer interval (300 s) at this rate; events are sent one per API request.
 */
const GLUE_BATCH_SECONDS = 120;
const STAGE_A_BASE_SECONDS = 0.2;
const STAGE_A_BYTES_PER_SECOND = 30 * 1024 * 1024;
const STAGE_A_MEMORY_GB = 1;
const STAGE_B_LAMBDA_SECONDS = 0.3;
const STAGE_B_MEMORY_GB = 0.25;
const FIREHOSE_BUFFER_SECONDS = 300;
const EVENT_BYTES = 500;

function argument(name: string, fallback: string): string {
  const index = process.argv.indexOf(`--${name}`);
  return index >= 0 && process.argv[index + 1] !== undefined ? process.argv[index + 1] : fallback;
}

function impressionsFile(first: number, count: number): string {
  const rows = Array.from({ length: count }, (_, i) => {
    const n = first + i;
    return JSON.stringify({
      impression_id: `imp-${n.toString(16).padStart(16, '0')}`,
      event_time: '2026-12-01T07:15:00.000Z',
      event_date: '2026-12-01',
      campaign_id: 1000 + (n % 97),
      creative_id: n % 13,
      placement: 'banner',
      device_type: 'mobile',
      country: 'FR',
      bid_price_usd: '0.012345',
      viewable: true,
      viewability_score: 0.75,
    });
  });
  return `${rows.join('\n')}\n`;
}

interface Measured {
  readonly stageASqlPerFile: number;
  readonly stageBSqlPerBatch: number;
  readonly transitionsPerBatch: number;
}

interface Workload {
  readonly name: string;
  /** Objects stage A sees per day. */
  readonly files: number;
  readonly bytesPerFile: number;
  /** Requests to the API and Firehose records, for event ingestion. */
  readonly apiRequests: number;
  readonly firehoseRecords: number;
  readonly firehoseRecordBytes: number;
}

interface Sizing {
  readonly name: string;
  readonly environment: EnvironmentConfig;
}

function dayCost(workload: Workload, sizing: Sizing, measured: Measured) {
  const { etl } = sizing.environment;
  const dpus = etl.glueWorkers * Number(etl.glueWorkerType.replace(/^G\.(\d+)X$/, '$1'));
  // A steady stream keeps the loop busy: a batch every maxWait, more when the bytes fill batches first.
  const windows = 86_400 / (etl.batch.maxWaitMinutes * 60);
  const batches = Math.min(
    workload.files,
    Math.max(windows, (workload.files * workload.bytesPerFile) / etl.batch.maxBytes),
  );
  const stageASeconds = STAGE_A_BASE_SECONDS + workload.bytesPerFile / STAGE_A_BYTES_PER_SECOND;
  const stageBInvocationsPerBatch = 3 + (etl.batch.maxWaitMinutes * 60) / etl.batch.pollSeconds;
  const items: [string, number, string][] = [
    [
      'Glue',
      batches * dpus * (Math.max(GLUE_MINIMUM_SECONDS, GLUE_BATCH_SECONDS) / 3600) * GLUE_DPU_HOUR,
      `${batches.toFixed(0)} batches x ${dpus} DPU x ${GLUE_BATCH_SECONDS} s x $${GLUE_DPU_HOUR}/DPU-h`,
    ],
    [
      'Step Functions',
      batches * measured.transitionsPerBatch * STEP_FUNCTIONS_TRANSITION,
      `${batches.toFixed(0)} x ${measured.transitionsPerBatch.toFixed(1)} transitions x $${STEP_FUNCTIONS_TRANSITION}`,
    ],
    [
      'Lambda',
      workload.files * (LAMBDA_REQUEST + stageASeconds * STAGE_A_MEMORY_GB * LAMBDA_ARM_GB_SECOND) +
        batches *
          stageBInvocationsPerBatch *
          (LAMBDA_REQUEST + STAGE_B_LAMBDA_SECONDS * STAGE_B_MEMORY_GB * LAMBDA_ARM_GB_SECOND),
      `files x (req + ${stageASeconds.toFixed(2)} GB-s) + batches x ${stageBInvocationsPerBatch.toFixed(0)} x (req + ${(STAGE_B_LAMBDA_SECONDS * STAGE_B_MEMORY_GB).toFixed(3)} GB-s)`,
    ],
    ['SQS', workload.files * 3 * SQS_REQUEST, 'files x 3 requests (send, receive, delete)'],
    [
      'RDS Data API',
      (workload.files * measured.stageASqlPerFile + batches * measured.stageBSqlPerBatch) * DATA_API_REQUEST,
      `files x ${measured.stageASqlPerFile.toFixed(1)} + batches x ${measured.stageBSqlPerBatch.toFixed(1)} requests (measured)`,
    ],
    [
      'S3 requests',
      workload.files * (S3_GET_REQUEST + S3_PUT_REQUEST) +
        batches * (2 * S3_PUT_REQUEST + (workload.files / batches) * S3_GET_REQUEST + 20 * S3_PUT_REQUEST),
      'files x (GET + PUT) + batches x (manifest, mart CSV, ~20 table writes, staging GETs)',
    ],
    [
      'Firehose',
      (workload.firehoseRecords *
        Math.ceil(workload.firehoseRecordBytes / FIREHOSE_RECORD_ROUNDING_BYTES) *
        FIREHOSE_RECORD_ROUNDING_BYTES *
        FIREHOSE_GB) /
        1024 ** 3,
      `records x 5 KB (rounded up) x $${FIREHOSE_GB}/GB`,
    ],
    ['API Gateway', workload.apiRequests * API_GATEWAY_REST_REQUEST, `${workload.apiRequests} requests`],
    [
      'Aurora awake',
      sizing.environment.dataMart.minCapacityAcu === 0 ? AURORA_MIN_AWAKE_ACU * 24 * AURORA_ACU_HOUR : 0,
      sizing.environment.dataMart.minCapacityAcu === 0
        ? `${AURORA_MIN_AWAKE_ACU} ACU x 24 h x $${AURORA_ACU_HOUR} (would pause when idle)`
        : 'minimum capacity is paid anyway (fixed cost)',
    ],
  ];
  return { items, total: items.reduce((sum, [, cost]) => sum + cost, 0), batches };
}

async function main(): Promise<void> {
  const files = Number(argument('files', '2000'));
  const interval = Number(argument('interval', '1'));
  const environmentName = argument('environment', 'dev') as 'dev' | 'prod';
  const rowsPerFile = 5;
  const harness = await FlowHarness.start({ environment: environmentName });
  try {
    const started = Date.now();
    for (let file = 0; file < files; file++) {
      harness.schedule(
        file * interval,
        `impressions/ingest_date=2026-12-01/bench-${file}.ndjson.gz`,
        gzipSync(impressionsFile(file * rowsPerFile, rowsPerFile)),
      );
    }
    await harness.run();
    const [{ batches }] = await harness.executor.query<{ batches: number }>(
      "SELECT count(*)::int AS batches FROM audit.batches WHERE status = 'SUCCEEDED'",
    );
    const [{ runs }] = await harness.executor.query<{ runs: number }>(
      "SELECT count(*)::int AS runs FROM audit.pipeline_runs WHERE status = 'SUCCEEDED'",
    );
    if (runs !== files) throw new Error(`only ${runs} of ${files} files reached the mart`);
    const transitionsPerFile = harness.transitions / files;
    console.log(
      `flow: files=${files} batches=${batches} glueRuns=${harness.glueCalls} martLoads=${harness.martLoads} transitionsPerFile=${transitionsPerFile.toFixed(3)}`,
    );
    const maxWait = harness.settings.maxWaitSeconds;
    const span = harness.elapsedSeconds;
    console.log(
      `(${environmentName} settings: batch window ${maxWait} s; ${files} files over ${((files - 1) * interval).toFixed(0)} s of simulated time, done at ${span.toFixed(0)} s; ` +
        `${Math.ceil(span / maxWait)} windows at most; ${((Date.now() - started) / 1000).toFixed(1)} s of wall time)`,
    );

    const measured: Measured = {
      stageASqlPerFile: harness.stageASql.counter.requests / files,
      // The local stager INSERTs each row; on Aurora the load imports each part file with one statement (1 here).
      stageBSqlPerBatch:
        (harness.stageBSql.counter.requests +
          harness.loadSql.counter.requests -
          harness.martRowsStaged +
          harness.martLoads) /
        batches,
      transitionsPerBatch: harness.transitions / batches,
    };
    const config = loadConfig();
    const sizings: Sizing[] = ['dev', 'prod'].map((name) => ({
      name,
      environment: config.environments.find((environment) => environment.name === name) as EnvironmentConfig,
    }));
    const workloads: Workload[] = [
      {
        name: '10,000 files of 100 KB',
        files: 10_000,
        bytesPerFile: 100 * 1024,
        apiRequests: 0,
        firehoseRecords: 0,
        firehoseRecordBytes: 0,
      },
      {
        name: '1,000,000 events (events route)',
        files: 86_400 / FIREHOSE_BUFFER_SECONDS,
        bytesPerFile: (1_000_000 * EVENT_BYTES) / (86_400 / FIREHOSE_BUFFER_SECONDS),
        apiRequests: 1_000_000,
        firehoseRecords: 1_000_000,
        firehoseRecordBytes: EVENT_BYTES,
      },
    ];
    console.log('\ncost per day (USD), from the figures above and scripts/cost/prices.ts (us-east-1 list prices):');
    for (const workload of workloads) {
      for (const sizing of sizings) {
        const { items, total } = dayCost(workload, sizing, measured);
        console.log(`\n${workload.name}, ${sizing.name} sizing: $${total.toFixed(2)} per day`);
        for (const [name, cost, formula] of items) {
          console.log(`  ${name.padEnd(15)} ${`$${cost.toFixed(4)}`.padStart(10)}  ${formula}`);
        }
      }
    }
    console.log(
      `\nassumptions: a curate run bills ${GLUE_BATCH_SECONDS} s; stage A ${STAGE_A_BASE_SECONDS} s + 30 MB/s at 1 GB; Firehose flushes every ${FIREHOSE_BUFFER_SECONDS} s; ${EVENT_BYTES}-byte events, one per request; a steady stream keeps Dev's Aurora awake.`,
    );
  } finally {
    await harness.stop();
  }
}

main().then(
  () => process.exit(0),
  (error) => {
    console.error(error);
    process.exit(1);
  },
);
