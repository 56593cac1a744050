/**
 * npm run bench:mart-load [-- --rows 1000000 --rounds 3]
 *
 * Generates N rows (default 1,000,000) of the impressions dataset as one curated CSV batch (deterministic: same
 * seed, same bytes), then, in a fresh database on DATABASE_URL (default postgres://postgres@127.0.0.1:5432/test):
 *   1. loads it through the loader's local path (COPY into a temp staging table + upsert + audit row), in a child
 *      process so its peak RSS is the loader's alone;
 *   2. loads it again (the idempotent re-load: every row unchanged);
 *   3. loads the same file with `psql \copy` into a plain table identical to the mart table (same columns, primary
 *      key and indexes).
 * Loader and \copy alternate for --rounds rounds (default 3) and the best time of each is compared.
 * Prints rows/s of each, the loader/\copy ratio (target >= 0.7) and the loader's peak RSS (target < 256 MB).
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createWriteStream, mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import pg from 'pg';
import { loadConfig } from '../config/load';

import { applyMigrations, martMigrations, versionedMigrations } from '../lambda/migrate/migrations';
import { copyStager, directorySource } from '../test/helpers/mart-copy';
import { loadBatch } from '../lambda/load-mart/mart-loader';
import { PgExecutor } from '../test/helpers/sql-pg';
import { prng } from '../scripts/generate-sample';
import { readMigrationFiles } from '../test/helpers/migration-files';

const REPO_ROOT = path.resolve(__dirname, '..');
const PLACEMENTS = ['banner', 'video', 'native', 'interstitial'];
const DEVICES = ['desktop', 'mobile', 'tablet', 'ctv', ''];
const COUNTRIES = ['DE', 'FR', 'US', 'GB', 'ES', 'IT', 'NL', 'PL', ''];

async function generate(file: string, rows: number, columns: readonly string[]): Promise<void> {
  const next = prng(42);
  const pick = <T>(values: readonly T[]) => values[Math.floor(next() * values.length)];
  const out = createWriteStream(file, { highWaterMark: 1 << 20 });
  const start = Date.UTC(2024, 2, 1);
  let chunk = `${columns.join(',')}\n`;
  for (let i = 0; i < rows; i++) {
    const at = new Date(start + Math.floor(next() * 86_400_000 * 7));
    const viewable = next();
    chunk += [
      `imp-${i.toString(16).padStart(16, '0')}`,
      at.toISOString(),
      at.toISOString().slice(0, 10),
      1_000_000 + Math.floor(next() * 5_000),
      Math.floor(next() * 100_000),
      pick(PLACEMENTS),
      pick(DEVICES),
      pick(COUNTRIES),
      (next() * 20).toFixed(6),
      viewable < 0.1 ? '' : viewable < 0.6 ? 'true' : 'false',
      viewable < 0.1 ? '' : next().toFixed(4),
    ].join(',');
    chunk += '\n';
    if (chunk.length > 1 << 20) {
      if (!out.write(chunk)) await new Promise<void>((resolve) => out.once('drain', () => resolve()));
      chunk = '';
    }
  }
  out.end(chunk);
  await new Promise<void>((resolve, reject) => out.on('finish', () => resolve()).on('error', reject));
}

/** Child mode: one load through the loader's local path; prints JSON with counts, seconds and peak RSS. */
async function loadOnce(url: string, directory: string, runId: string): Promise<void> {
  const pool = new pg.Pool({ connectionString: url, max: 1 });
  const client = await pool.connect();
  const started = process.hrtime.bigint();
  try {
    const result = await loadBatch(
      new PgExecutor(client),
      {
        dataset: 'impressions',
        table: 'impressions',
        batchId: runId,
        bucket: 'local',
        prefix: directory,
      },
      copyStager(client, directorySource(directory)),
      // Connected as the owner: narrowed to the loader's privileges, as the loader login has in AWS.
      { role: 'mart_loader' },
    );
    const seconds = Number(process.hrtime.bigint() - started) / 1e9;
    // maxRSS is in kilobytes.
    const peakRssMb = process.resourceUsage().maxRSS / 1024;
    process.stdout.write(`${JSON.stringify({ ...result, seconds, peakRssMb })}\n`);
  } finally {
    client.release();
    await pool.end();
  }
}

interface ChildResult {
  rowsStaged: number;
  rowsInserted: number;
  rowsUpdated: number;
  rowsUnchanged: number;
  seconds: number;
  peakRssMb: number;
}

function runLoaderChild(url: string, directory: string, runId: string): ChildResult {
  const child = spawnSync(process.execPath, ['--import', 'tsx', __filename, '--child', url, directory, runId], {
    cwd: REPO_ROOT,
    encoding: 'utf8',
    maxBuffer: 1 << 20,
  });
  if (child.status !== 0) throw new Error(`loader child failed (${child.status}): ${child.stderr}`);
  return JSON.parse(child.stdout.trim().split('\n').at(-1) as string) as ChildResult;
}

async function main(): Promise<void> {
  const argument = (name: string, fallback: number) => {
    const index = process.argv.indexOf(name);
    return index === -1 ? fallback : Number(process.argv[index + 1]);
  };
  const rows = argument('--rows', 1_000_000);
  const rounds = argument('--rounds', 3);
  const serverUrl = process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
  const config = loadConfig(path.join(REPO_ROOT, 'config'));
  const impressions = config.datasets.find((d) => d.name === 'impressions');
  if (!impressions) throw new Error('config/datasets/impressions.json is missing');

  const directory = mkdtempSync(path.join(tmpdir(), 'mart-bench-'));
  const file = path.join(directory, 'part-00000.csv');
  const databaseName = `bench_mart_${randomBytes(4).toString('hex')}`;
  const admin = new pg.Client({ connectionString: serverUrl });
  await admin.connect();
  await admin.query(`CREATE DATABASE ${databaseName}`);
  const url = new URL(serverUrl);
  url.pathname = `/${databaseName}`;
  const pool = new pg.Pool({ connectionString: url.toString(), max: 2 });
  // DROP DATABASE ... WITH (FORCE) at the end may still meet a closing connection: not an error of the benchmark.
  pool.on('error', () => undefined);
  try {
    const started = Date.now();
    await generate(
      file,
      rows,
      impressions.columns.map((c) => c.name),
    );
    console.log(
      `generated ${rows.toLocaleString('en')} rows, ${(statSync(file).size / 1e6).toFixed(1)} MB in ${((Date.now() - started) / 1000).toFixed(1)} s`,
    );

    const executor = new PgExecutor(pool);
    await applyMigrations(executor, [...versionedMigrations(readMigrationFiles()), ...martMigrations(config.datasets)]);
    await executor.query('CREATE TABLE public.bench_copy (LIKE mart.impressions INCLUDING ALL)');
    await executor.query('CHECKPOINT').catch(() => undefined);

    // Rounds alternate loader and \copy, each starting from an empty table, and the best time of each counts: on a
    // shared machine that cancels most of the noise a single sequential run suffers.
    const copyOnce = () => {
      const copyStarted = Date.now();
      execFileSync('psql', [
        url.toString(),
        '-v',
        'ON_ERROR_STOP=1',
        '-qc',
        `\\copy public.bench_copy FROM '${file}' WITH (FORMAT csv, HEADER true)`,
      ]);
      return (Date.now() - copyStarted) / 1000;
    };
    const loads: ChildResult[] = [];
    const copies: number[] = [];
    for (let round = 1; round <= rounds; round++) {
      await executor.query('TRUNCATE mart.impressions, public.bench_copy');
      await executor.query('CHECKPOINT').catch(() => undefined);
      loads.push(runLoaderChild(url.toString(), directory, `bench-${round}`));
      await executor.query('CHECKPOINT').catch(() => undefined);
      copies.push(copyOnce());
    }
    const again = runLoaderChild(url.toString(), directory, 'bench-reload');

    const [{ n: copied }] = await executor.query<{ n: number }>('SELECT count(*) AS n FROM public.bench_copy');
    const [{ n: inMart }] = await executor.query<{ n: number }>('SELECT count(*) AS n FROM mart.impressions');
    if (
      copied !== rows ||
      inMart !== rows ||
      loads.some((load) => load.rowsInserted !== rows) ||
      again.rowsUnchanged !== rows
    ) {
      throw new Error(
        `row counts disagree: generated ${rows}, \\copy ${copied}, mart ${inMart}, loads ${JSON.stringify(loads)}, re-load ${JSON.stringify(again)}`,
      );
    }

    const best = (values: number[]) => Math.min(...values);
    const first = {
      seconds: best(loads.map((load) => load.seconds)),
      peakRssMb: Math.max(...loads.map((l) => l.peakRssMb)),
    };
    const copySeconds = best(copies);
    const rate = (seconds: number) => Math.round(rows / seconds);
    const table = [
      ['loader, first load (insert)', first.seconds, rate(first.seconds), first.peakRssMb],
      ['loader, re-load (all unchanged)', again.seconds, rate(again.seconds), again.peakRssMb],
      ['psql \\copy into identical table', copySeconds, rate(copySeconds), Number.NaN],
    ];
    console.log(
      `\nrounds: ${rounds}; loader first loads ${loads.map((l) => l.seconds.toFixed(2)).join(', ')} s; \\copy ${copies.map((c) => c.toFixed(2)).join(', ')} s`,
    );
    console.log('best of the rounds                   seconds     rows/s   peak RSS MB');
    for (const [name, seconds, perSecond, rss] of table) {
      console.log(
        `${String(name).padEnd(36)} ${Number(seconds).toFixed(2).padStart(8)} ${perSecond.toLocaleString('en').padStart(10)}   ${Number.isNaN(rss) ? '-' : Number(rss).toFixed(0).padStart(6)}`,
      );
    }
    const ratio = rate(first.seconds) / rate(copySeconds);
    const peak = Math.max(first.peakRssMb, again.peakRssMb);
    console.log(
      `\nloader / \\copy (first load): ${ratio.toFixed(2)}x (target >= 0.70) ${ratio >= 0.7 ? 'OK' : 'BELOW TARGET'}`,
    );
    console.log(`loader peak RSS: ${peak.toFixed(0)} MB (target < 256 MB) ${peak < 256 ? 'OK' : 'ABOVE TARGET'}`);
  } finally {
    await pool.end();
    await admin.query(`DROP DATABASE IF EXISTS ${databaseName} WITH (FORCE)`);
    await admin.end();
    rmSync(directory, { recursive: true, force: true });
  }
}

if (process.argv[2] === '--child') {
  loadOnce(process.argv[3], process.argv[4], process.argv[5]).catch((error) => {
    console.error(error);
    process.exit(1);
  });
} else {
  main().catch((error) => {
    console.error(error);
    process.exit(1);
  });
}
