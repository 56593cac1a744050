/**
 * npm run bench:validate: throughput and peak memory of the validate logic on large files.
 *
 * Generates (once, cached in the OS temp dir) a ~200 MB and a ~50 MB impressions NDJSON file, CSV files of the same
 * rows and a gzip of the large NDJSON, then for each file runs, each in its own child process so peak RSS is honest:
 * - floor: the bare loop that only splits lines and JSON.parses them (for CSV: splits lines and fields);
 * - validate: lambda/validate's validateFile with S3 replaced by local files at the ObjectStore seam (same readers,
 *   checks, part buffering and writers as in Lambda).
 * Prints MB/s of text (wall clock and per CPU second), rows per CPU second, peak RSS and the ratio to the floor (rows
 * per CPU second: fair across formats, and steady on a shared machine where wall time measures the neighbours).
 * Targets: >= 0.5x the floor, peak RSS under 200 MB and flat from 50 MB to 200 MB.
 *
 * Options: --sizes 50,200 (MB of NDJSON), --bad-every K (default 1000), --repeat N (default 3, best time kept),
 * --keep (keep the generated files for the next run).
 */
import { spawnSync } from 'node:child_process';
import { once } from 'node:events';
import { createReadStream, createWriteStream, existsSync, mkdirSync, rmSync, statSync } from 'node:fs';
import { copyFile, open, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { PassThrough } from 'node:stream';
import { StringDecoder } from 'node:string_decoder';
import { createGzip } from 'node:zlib';
import { buildSync } from 'esbuild';
import { type ObjectStore, ObjectWriter, type PartSink } from '../lambda/validate/object-store';
import { validateFile } from '../lambda/validate/validate-file';
import { loadDataset, type SampleFormat, writeSample } from '../scripts/generate-sample';

const WORK_DIR = path.join(tmpdir(), 'validate-bench');
const SEED = 11;
/** Chunk size of the local reads: what an S3 GetObject body typically yields. */
const READ_CHUNK = 64 * 1024;

interface Measurement {
  readonly mode: 'floor' | 'validate';
  readonly seconds: number;
  /** User + system CPU time of the work: what the code costs, whatever else the machine is doing. */
  readonly cpuSeconds: number;
  readonly textBytes: number;
  readonly rows: number;
  readonly peakRssMb: number;
  readonly detail?: string;
}

// ------------------------------------------------------------------------------------------------------------------
// Child side: one measurement per process.
// ------------------------------------------------------------------------------------------------------------------

/** Local files behind the ObjectStore seam: buckets are folders of `root`. */
class FileObjectStore implements ObjectStore {
  constructor(private readonly root: string) {}

  private file(bucket: string, key: string): string {
    const file = path.join(this.root, bucket, key);
    mkdirSync(path.dirname(file), { recursive: true });
    return file;
  }

  async read(location: { bucket: string; key: string }): Promise<AsyncIterable<Uint8Array>> {
    return createReadStream(path.join(this.root, location.bucket, location.key), { highWaterMark: READ_CHUNK });
  }

  createWriter(bucket: string, key: string): ObjectWriter {
    const file = this.file(bucket, key);
    let handle: Awaited<ReturnType<typeof open>> | undefined;
    // Parts are shipped in order, so each one's position in the file is known when it is shipped; like S3 parts,
    // two can be in flight while the next one fills.
    let position = 0;
    const sink: PartSink = {
      putWhole: (body) => writeFile(file, body),
      begin: async () => {
        handle = await open(file, 'w');
      },
      uploadPart: async (_partNumber, body) => {
        const at = position;
        position += body.length;
        await handle!.write(body, 0, body.length, at);
      },
      complete: async () => {
        await handle!.close();
      },
      abort: async () => {
        await handle?.close();
        rmSync(file, { force: true });
      },
    };
    return new ObjectWriter(sink);
  }

  async put(bucket: string, key: string, body: string): Promise<void> {
    await writeFile(this.file(bucket, key), body);
  }

  async copy(from: { bucket: string; key: string }, to: { bucket: string; key: string }): Promise<void> {
    await copyFile(path.join(this.root, from.bucket, from.key), this.file(to.bucket, to.key));
  }
}

async function floor(
  file: string,
  format: SampleFormat,
): Promise<Omit<Measurement, 'seconds' | 'cpuSeconds' | 'peakRssMb'>> {
  const decoder = new StringDecoder('utf8');
  let rest = '';
  let rows = 0;
  let textBytes = 0;
  let checksum = 0;
  for await (const chunk of createReadStream(file, { highWaterMark: READ_CHUNK })) {
    textBytes += (chunk as Buffer).length;
    const text = rest + decoder.write(chunk as Buffer);
    let start = 0;
    let newline = text.indexOf('\n');
    while (newline >= 0) {
      const line = text.slice(start, newline);
      // Keep the result alive so the work is not optimized away.
      if (format === 'csv') checksum += line.split(',').length;
      else {
        try {
          checksum += JSON.parse(line) === null ? 0 : 1;
        } catch {
          checksum--; // the malformed sample rows
        }
      }
      rows++;
      start = newline + 1;
      newline = text.indexOf('\n', start);
    }
    rest = text.slice(start);
  }
  return { mode: 'floor', textBytes, rows, detail: `checksum ${checksum}` };
}

/** Output folder of a validate child; removed by the child after the measurement. */
const OUTPUT_ROOT = path.join(WORK_DIR, `out-${process.pid}`);

async function validate(file: string): Promise<Omit<Measurement, 'seconds' | 'cpuSeconds' | 'peakRssMb'>> {
  const root = OUTPUT_ROOT;
  const landing = path.join(root, 'landing');
  const key = `impressions/ingest_date=2026-11-22/${path.basename(file)}`;
  mkdirSync(path.dirname(path.join(landing, key)), { recursive: true });
  rmSync(path.join(landing, key), { force: true });
  // The landed file is a hard link to the sample: no copy, same bytes.
  const { linkSync } = await import('node:fs');
  linkSync(file, path.join(landing, key));
  const result = await validateFile({
    store: new FileObjectStore(root),
    input: { bucket: 'landing', key, dataset: 'impressions', runId: `bench-${process.pid}` },
    // Parsed by the config schema, as the synth does before bundling them into the function.
    dataset: loadDataset('impressions'),
    artifactsBucket: 'artifacts',
  });
  const { output } = result;
  return {
    mode: 'validate',
    textBytes: result.decode.bytesOut,
    rows: output.rowsTotal,
    detail: `${output.status} valid ${output.rowsValid} rejected ${output.rowsRejected}, staged in ${result.stagedParts} parts`,
  };
}

async function child(mode: string, file: string, format: SampleFormat): Promise<void> {
  const started = process.hrtime.bigint();
  const cpuStarted = process.cpuUsage();
  const result = mode === 'floor' ? await floor(file, format) : await validate(file);
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  const cpu = process.cpuUsage(cpuStarted);
  const cpuSeconds = (cpu.user + cpu.system) / 1e6;
  // maxRSS is in kilobytes: the peak resident set of this process over its whole life.
  const peakRssMb = process.resourceUsage().maxRSS / 1024;
  rmSync(OUTPUT_ROOT, { recursive: true, force: true });
  process.stdout.write(`${JSON.stringify({ ...result, seconds, cpuSeconds, peakRssMb })}\n`);
}

// ------------------------------------------------------------------------------------------------------------------
// Parent side: generate, measure in children, report.
// ------------------------------------------------------------------------------------------------------------------

async function generate(file: string, rows: number, format: SampleFormat, gzip: boolean, badEvery: number) {
  if (existsSync(file)) return;
  const partial = `${file}.partial`;
  const out = createWriteStream(partial);
  const zip = gzip ? createGzip() : undefined;
  zip?.pipe(out);
  const target = zip ?? out;
  await writeSample({ dataset: loadDataset('impressions'), rows, format, seed: SEED, badEvery }, target);
  target.end();
  await once(out, 'finish');
  const { renameSync } = await import('node:fs');
  renameSync(partial, file);
}

/** Average NDJSON row size of the sample, to size the files in MB. */
async function bytesPerRow(badEvery: number): Promise<number> {
  const sample = new PassThrough();
  let bytes = 0;
  sample.on('data', (chunk: Buffer) => {
    bytes += chunk.length;
  });
  await writeSample({ dataset: loadDataset('impressions'), rows: 20_000, seed: SEED, badEvery }, sample);
  return bytes / 20_000;
}

/**
 * The children run this file bundled to plain JavaScript (as Lambda runs the bundled handler), so their RSS is not
 * inflated by the TypeScript loader of the parent.
 */
const CHILD_SCRIPT = path.join(WORK_DIR, 'bench-validate-child.js');

function bundleChild(): void {
  buildSync({
    entryPoints: [__filename],
    bundle: true,
    platform: 'node',
    target: 'node20',
    outfile: CHILD_SCRIPT,
    logLevel: 'error',
  });
}

function measureOnce(mode: 'floor' | 'validate', file: string, format: SampleFormat): Measurement {
  const run = spawnSync(process.execPath, [CHILD_SCRIPT, '--child', mode, file, format], {
    encoding: 'utf8',
    maxBuffer: 1024 * 1024,
  });
  if (run.status !== 0) throw new Error(`bench child ${mode} ${file} failed (exit ${run.status}):\n${run.stderr}`);
  return JSON.parse(run.stdout.trim().split('\n').pop()!);
}

/**
 * Best time of `repeat` runs (the machine is shared: the fastest run is the least disturbed one), with the highest
 * peak RSS seen in any of them.
 */
function measure(mode: 'floor' | 'validate', file: string, format: SampleFormat, repeat: number): Measurement {
  const runs = Array.from({ length: repeat }, () => measureOnce(mode, file, format));
  const fastest = runs.reduce((best, run) => (run.cpuSeconds < best.cpuSeconds ? run : best));
  return {
    ...fastest,
    seconds: Math.min(...runs.map((run) => run.seconds)),
    peakRssMb: Math.max(...runs.map((run) => run.peakRssMb)),
  };
}

/** Throughput per CPU second: on a shared machine, wall time mostly measures the neighbours. */
const rowsPerCpuSecond = (m: Measurement) => m.rows / m.cpuSeconds;
const mbPerCpuSecond = (m: Measurement) => m.textBytes / 1e6 / m.cpuSeconds;
const mbPerSecond = (m: Measurement) => m.textBytes / 1e6 / m.seconds;

async function parent(argv: readonly string[]): Promise<void> {
  const flag = (name: string) => {
    const index = argv.indexOf(name);
    return index >= 0 ? argv[index + 1] : undefined;
  };
  const sizes = (flag('--sizes') ?? '50,200').split(',').map(Number);
  const badEvery = Number(flag('--bad-every') ?? 1000);
  const repeat = Number(flag('--repeat') ?? 3);
  mkdirSync(WORK_DIR, { recursive: true });
  bundleChild();
  const rowBytes = await bytesPerRow(badEvery);

  const table = [
    ['file', 'MB on disk', 'rows', 'MB/s wall', 'MB/s CPU', 'rows/s CPU', 'ratio to floor', 'peak RSS MB'],
  ];
  const results: { ratio: number; rss: number }[] = [];
  for (const size of sizes) {
    const rows = Math.round((size * 1e6) / rowBytes);
    const base = path.join(WORK_DIR, `impressions-${size}mb-seed${SEED}-bad${badEvery}`);
    const largest = size === Math.max(...sizes);
    process.stderr.write(
      `generating ${rows} rows (${size} MB of NDJSON) as ndjson, csv${largest ? ', ndjson.gz' : ''} ...\n`,
    );
    await generate(`${base}.ndjson`, rows, 'ndjson', false, badEvery);
    await generate(`${base}.csv`, rows, 'csv', false, badEvery);
    if (largest) await generate(`${base}.ndjson.gz`, rows, 'ndjson', true, badEvery);

    process.stderr.write(`measuring ${size} MB (best of ${repeat}) ...\n`);
    const floorRun = measure('floor', `${base}.ndjson`, 'ndjson', repeat);
    table.push([
      `floor: split + JSON.parse, ndjson ${size} MB`,
      (statSync(`${base}.ndjson`).size / 1e6).toFixed(1),
      String(floorRun.rows),
      mbPerSecond(floorRun).toFixed(1),
      mbPerCpuSecond(floorRun).toFixed(1),
      String(Math.round(rowsPerCpuSecond(floorRun))),
      '1.00x',
      floorRun.peakRssMb.toFixed(0),
    ]);
    const variants: [string, string][] = [
      [`validate ndjson ${size} MB`, `${base}.ndjson`],
      [`validate csv, same rows`, `${base}.csv`],
      ...(largest ? ([[`validate ndjson.gz, same rows`, `${base}.ndjson.gz`]] as [string, string][]) : []),
    ];
    for (const [label, file] of variants) {
      const run = measure('validate', file, file.endsWith('.csv') ? 'csv' : 'ndjson', repeat);
      // Rows per CPU second compare the formats fairly (the same rows take fewer bytes as CSV).
      const ratio = rowsPerCpuSecond(run) / rowsPerCpuSecond(floorRun);
      results.push({ ratio, rss: run.peakRssMb });
      table.push([
        label,
        (statSync(file).size / 1e6).toFixed(1),
        String(run.rows),
        mbPerSecond(run).toFixed(1),
        mbPerCpuSecond(run).toFixed(1),
        String(Math.round(rowsPerCpuSecond(run))),
        `${ratio.toFixed(2)}x`,
        run.peakRssMb.toFixed(0),
      ]);
      process.stderr.write(`  ${label}: ${run.detail}\n`);
    }
  }
  const widths = table[0].map((_, column) => Math.max(...table.map((row) => row[column].length)));
  const render = (row: string[]) =>
    row.map((cell, column) => (column === 0 ? cell.padEnd(widths[column]) : cell.padStart(widths[column]))).join('  ');
  process.stdout.write(
    `\nvalidate benchmark (node ${process.version} ${process.arch}, ${READ_CHUNK / 1024} KiB reads, best CPU time of ${repeat} runs)\n`,
  );
  process.stdout.write(`${table.map(render).join('\n')}\n\n`);
  const rss = results.map((r) => r.rss);
  process.stdout.write(
    `targets: ratio >= 0.5x (worst ${Math.min(...results.map((r) => r.ratio)).toFixed(2)}x); peak RSS < 200 MB (max ${Math.max(...rss).toFixed(0)} MB); flat as the file grows (spread ${(Math.max(...rss) - Math.min(...rss)).toFixed(0)} MB)\n`,
  );
  if (!argv.includes('--keep')) rmSync(WORK_DIR, { recursive: true, force: true });
}

const argv = process.argv.slice(2);
const run = argv[0] === '--child' ? child(argv[1], argv[2], argv[3] as SampleFormat) : parent(argv);
run.catch((error: Error) => {
  process.stderr.write(`${error.stack ?? error.message}\n`);
  process.exit(1);
});
