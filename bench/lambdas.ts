/**
 * npm run bench:lambdas: for every `lambda/<name>/handler.ts`, bundles it exactly as PlatformFunction does
 * (functionBundleOptions: esbuild, minified, node22, CommonJS, source map, everything bundled) and prints the bundle
 * size and the median time to `require` it in a fresh `node --enable-source-maps` process (as Lambda runs it:
 * PlatformFunction sets NODE_OPTIONS) over 20 runs.
 * Targets: the API functions (a caller waits on their cold start) under 200 KB and 50 ms median load; the
 * asynchronous ones (S3 through the AWS SDK) under 1 MB.
 *
 * Required environment variables are given dummy values so module-load checks pass: known names get realistic values
 * (e.g. MART_TABLES from the dataset config); any other name a handler asks for (requireEnv's message names it) is
 * discovered by loading the bundle once and gets "dummy".
 * A bundle that requires a package from node_modules at run time (nothing should: the SDK is bundled) is flagged.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { builtinModules } from 'node:module';
import { cpus, loadavg, tmpdir } from 'node:os';
import * as path from 'node:path';
import { buildSync } from 'esbuild';
import { loadConfig } from '../config/load';
import { martTablesFromDatasets } from '../lambda/api-shared/contract';
import { DATASETS_GLOBAL } from '../lambda/shared/datasets-contract';
import { functionBundleOptions } from '../lib/constructs/platform-function';

const REPO_ROOT = path.resolve(__dirname, '..');
const RUNS = 20;
/** The functions a caller waits on (API Gateway proxies): small signed clients and presigning, no SDK client. */
const API_FUNCTIONS = new Set(['export-request', 'export-status', 'mart-query', 'upload-url']);
const TARGETS = {
  api: { sizeKb: 200, loadMs: 50 },
  async: { sizeKb: 1024, loadMs: undefined },
} as const;

const config = loadConfig(path.join(REPO_ROOT, 'config'));
const KNOWN_ENV: Record<string, string> = {
  AWS_REGION: 'eu-west-1',
  AWS_ACCESS_KEY_ID: 'AKIAIOSFODNN7EXAMPLE',
  AWS_SECRET_ACCESS_KEY: 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY',
  POWERTOOLS_SERVICE_NAME: 'bench',
  POWERTOOLS_METRICS_NAMESPACE: 'Bench',
  POWERTOOLS_LOG_LEVEL: 'SILENT',
  MART_TABLES: JSON.stringify(martTablesFromDatasets(config.datasets)),
  DATASETS: JSON.stringify(config.datasets.map((dataset) => dataset.name)),
  MART_CLUSTER_ARN: 'arn:aws:rds:eu-west-1:222222222222:cluster:dp-dev-mart',
  MART_SECRET_ARN: 'arn:aws:secretsmanager:eu-west-1:222222222222:secret:mart-AbCdEf',
  MART_DATABASE: 'mart',
  MART_LOGIN_SECRETS: JSON.stringify({
    reader: 'arn:aws:secretsmanager:eu-west-1:222222222222:secret:reader-AbCdEf',
    loader: 'arn:aws:secretsmanager:eu-west-1:222222222222:secret:loader-AbCdEf',
  }),
  KMS_KEY_ARN: 'arn:aws:kms:eu-west-1:222222222222:key/11111111-2222-3333-4444-555555555555',
  URL_EXPIRY_SECONDS: '900',
  MAX_UPLOAD_BYTES: '1073741824',
  EXPORT_RETENTION_DAYS: '7',
  EXPORT_PAGE_ROWS: '1000',
  CURATED_BUCKET: 'dp-dev-curated-222222222222-eu-west-1',
  BATCH_SETTINGS: JSON.stringify({
    maxBytes: 536870912,
    maxWaitSeconds: 300,
    pollSeconds: 60,
    maxAttempts: 3,
    retryDelaySeconds: 300,
    batchLeaseSeconds: 3360,
    startLeaseSeconds: 300,
    maxIterations: 200,
  }),
  BATCH_STATE_MACHINE_ARN: 'arn:aws:states:eu-west-1:222222222222:stateMachine:dp-dev-batches',
  BATCH_START_LEASE_SECONDS: '300',
};

interface Result {
  readonly name: string;
  readonly bytes: number;
  /** require() of the bundle, any external module it requires included. */
  readonly medianMs?: number;
  readonly p90Ms?: number;
  /** Packages the bundle requires from node_modules at run time (should be none). */
  readonly externalModules?: readonly string[];
  readonly error?: string;
}

function handlers(): string[] {
  const lambdaDir = path.join(REPO_ROOT, 'lambda');
  return readdirSync(lambdaDir)
    .filter((name) => existsSync(path.join(lambdaDir, name, 'handler.ts')))
    .sort();
}

/** What the stacks inject at bundle time (PlatformFunction bundleDefines), per handler directory. */
const BUNDLE_DEFINES: Record<string, Record<string, unknown>> = {
  validate: { [DATASETS_GLOBAL]: config.datasets },
  batch: { [DATASETS_GLOBAL]: config.datasets },
};

function bundle(name: string, outDir: string): string {
  const outfile = path.join(outDir, name, 'index.js');
  buildSync(functionBundleOptions(name, outfile, BUNDLE_DEFINES[name]));
  return outfile;
}

/**
 * The packages a bundle requires from node_modules (not Node.js built-ins). The SDK's optional CRT signer (SigV4a
 * only, required inside a try block) is not counted.
 */
function externalModules(file: string): string[] {
  const text = readFileSync(file, 'utf8');
  const names = [...text.matchAll(/require\("([^"]+)"\)/g)].map((match) => match[1]);
  return [...new Set(names)].filter(
    (name) => !name.startsWith('node:') && !builtinModules.includes(name) && name !== '@aws-sdk/signature-v4-crt',
  );
}

/** Loads the bundle in a fresh process; returns the milliseconds `require` took. */
function loadOnce(file: string, env: NodeJS.ProcessEnv): number {
  const script = `const t=process.hrtime.bigint();require(${JSON.stringify(file)});process.stdout.write(String(Number(process.hrtime.bigint()-t)/1e6));`;
  const output = execFileSync(process.execPath, ['--enable-source-maps', '-e', script], {
    env,
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  return Number(output);
}

/** Finds the environment a handler needs to load, adding "dummy" for each variable requireEnv reports missing. */
function environmentFor(file: string): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {
    PATH: process.env.PATH,
    NODE_PATH: path.join(REPO_ROOT, 'node_modules'),
    ...KNOWN_ENV,
  };
  for (let attempt = 0; attempt < 20; attempt++) {
    try {
      loadOnce(file, env);
      return env;
    } catch (error) {
      const stderr = String((error as { stderr?: string }).stderr ?? error);
      const missing = /Environment variable (\w+) is not set/.exec(stderr)?.[1];
      if (!missing || env[missing] !== undefined)
        throw new Error(stderr.split('\n').find((l) => /Error/.test(l)) ?? stderr);
      env[missing] = 'dummy';
    }
  }
  throw new Error('more than 20 missing environment variables');
}

function percentile(values: readonly number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  const index = (sorted.length - 1) * p;
  const low = Math.floor(index);
  const high = Math.ceil(index);
  return sorted[low] + (sorted[high] - sorted[low]) * (index - low);
}

function main(): void {
  const outDir = mkdtempSync(path.join(tmpdir(), 'bench-lambdas-'));
  const results: Result[] = [];
  try {
    for (const name of handlers()) {
      let file: string;
      try {
        file = bundle(name, outDir);
      } catch (error) {
        results.push({ name, bytes: 0, error: `bundle failed: ${(error as Error).message.split('\n')[0]}` });
        continue;
      }
      const bytes = statSync(file).size;
      try {
        const env = environmentFor(file);
        const times = Array.from({ length: RUNS }, () => loadOnce(file, env));
        results.push({
          name,
          bytes,
          medianMs: percentile(times, 0.5),
          p90Ms: percentile(times, 0.9),
          externalModules: externalModules(file),
        });
      } catch (error) {
        results.push({ name, bytes, error: `load failed: ${(error as Error).message.slice(0, 160)}` });
      }
    }
  } finally {
    rmSync(outDir, { recursive: true, force: true });
  }

  const [load1] = loadavg();
  console.log(
    `Lambda bundles (esbuild minified, node22, cjs, source map, all bundled); load = require() in a fresh node ${process.version} --enable-source-maps, ${RUNS} runs`,
  );
  console.log(`Machine: ${cpus().length} CPUs, load average ${load1.toFixed(1)} (timings scale with it).`);
  console.log(
    `Targets: api (a caller waits) < ${TARGETS.api.sizeKb} KB and < ${TARGETS.api.loadMs} ms median; async < ${TARGETS.async.sizeKb} KB.\n`,
  );
  // The longest function name sets the first column.
  const width = Math.max(16, ...results.map((result) => result.name.length + 1));
  console.log(
    `${'function'.padEnd(width)} ${'kind'.padEnd(5)} ${'bundle KB'.padStart(10)} ${'load median ms'.padStart(15)} ${'load p90 ms'.padStart(12)}  targets`,
  );
  let failures = 0;
  for (const result of results) {
    const kind = API_FUNCTIONS.has(result.name) ? 'api' : 'async';
    const target = TARGETS[kind];
    const kb = result.bytes / 1024;
    const head = `${result.name.padEnd(width)} ${kind.padEnd(5)} ${kb.toFixed(1).padStart(10)}`;
    if (result.error) {
      failures += 1;
      console.log(`${head} ${'-'.padStart(15)} ${'-'.padStart(12)}  ${result.error}`);
      continue;
    }
    const misses = [
      kb >= target.sizeKb ? `size >= ${target.sizeKb} KB` : '',
      target.loadMs !== undefined && (result.medianMs ?? 0) >= target.loadMs ? `load >= ${target.loadMs} ms` : '',
      result.externalModules?.length ? `requires ${result.externalModules.join(', ')}` : '',
    ].filter(Boolean);
    console.log(
      `${head} ${result.medianMs!.toFixed(1).padStart(15)} ${result.p90Ms!.toFixed(1).padStart(12)}  ${misses.length ? `MISSED: ${misses.join(', ')}` : 'ok'}`,
    );
  }
  if (failures > 0) process.exitCode = 1;
}

main();
