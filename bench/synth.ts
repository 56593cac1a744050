/**
 * `npm run bench:synth [-- --datasets 100]`: wall time of a full `cdk synth` of the example config (median of 3 runs,
 * real bundling, cdk-nag included) and what it produced: pipeline stacks, stage stacks, CloudFormation resources, and
 * the largest stack (CloudFormation refuses more than 500 resources in one).
 * With `--datasets N`, the config is the example one plus generated datasets (copies of `impressions` under other
 * names) up to N in all. Targets on a 2-core machine: under 15 s for the example config, under 30 s for 100 datasets.
 */
import { execFileSync } from 'node:child_process';
import { cpSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { schemaAccept } from '../scripts/schema-accept';

const REPO_ROOT = path.resolve(__dirname, '..');
const RUNS = Number(process.env.BENCH_RUNS ?? 3);

interface Manifest {
  artifacts: Record<string, { type: string; properties?: { templateFile?: string; directoryName?: string } }>;
}

interface Counts {
  stacks: number;
  resources: number;
  largest: { name: string; resources: number };
}

/** Counts stacks and resources in a cloud assembly, descending into nested stage assemblies. */
function countAssembly(dir: string): Counts {
  const manifest = JSON.parse(readFileSync(path.join(dir, 'manifest.json'), 'utf8')) as Manifest;
  const counts: Counts = { stacks: 0, resources: 0, largest: { name: '-', resources: 0 } };
  for (const [name, artifact] of Object.entries(manifest.artifacts)) {
    if (artifact.type === 'aws:cloudformation:stack' && artifact.properties?.templateFile) {
      const template = JSON.parse(readFileSync(path.join(dir, artifact.properties.templateFile), 'utf8'));
      const resources = Object.keys(template.Resources ?? {}).length;
      counts.stacks += 1;
      counts.resources += resources;
      if (resources > counts.largest.resources) counts.largest = { name, resources };
    } else if (artifact.type === 'cdk:cloud-assembly' && artifact.properties?.directoryName) {
      const nested = countAssembly(path.join(dir, artifact.properties.directoryName));
      counts.stacks += nested.stacks;
      counts.resources += nested.resources;
      if (nested.largest.resources > counts.largest.resources) counts.largest = nested.largest;
    }
  }
  return counts;
}

/** A copy of config/ holding `total` datasets: the example ones and copies of `impressions` under other names. */
function configWithDatasets(total: number): string {
  const dir = mkdtempSync(path.join(tmpdir(), 'bench-config-'));
  cpSync(path.join(REPO_ROOT, 'config'), dir, { recursive: true });
  const datasetsDir = path.join(dir, 'datasets');
  const existing = readdirSync(datasetsDir).filter((file) => file.endsWith('.json'));
  const template = JSON.parse(readFileSync(path.join(datasetsDir, 'impressions.json'), 'utf8'));
  for (let index = existing.length; index < total; index++) {
    const name = `generated_${String(index).padStart(3, '0')}`;
    const dataset = { ...template, name, mart: { ...template.mart, table: name } };
    writeFileSync(path.join(datasetsDir, `${name}.json`), `${JSON.stringify(dataset, null, 2)}\n`);
  }
  // The curated table records of the new datasets, as `npm run schema:accept` writes them.
  const accepted = schemaAccept([], dir);
  if (accepted.exitCode !== 0) throw new Error(`schema:accept of the generated datasets failed: ${accepted.stderr}`);
  return dir;
}

function argument(name: string): string | undefined {
  const index = process.argv.indexOf(`--${name}`);
  return index >= 0 ? process.argv[index + 1] : undefined;
}

function main(): void {
  const cdk = path.join(REPO_ROOT, 'node_modules', '.bin', 'cdk');
  if (!existsSync(cdk)) throw new Error('node_modules/.bin/cdk not found. Fix: run `npm ci` first');
  const datasets = argument('datasets');
  const configDir = datasets === undefined ? undefined : configWithDatasets(Number(datasets));
  const times: number[] = [];
  let counts: Counts = { stacks: 0, resources: 0, largest: { name: '-', resources: 0 } };
  for (let run = 1; run <= RUNS; run++) {
    const outdir = mkdtempSync(path.join(tmpdir(), 'bench-synth-'));
    const started = process.hrtime.bigint();
    execFileSync(cdk, ['synth', '--quiet', '--output', outdir], {
      cwd: REPO_ROOT,
      stdio: ['ignore', 'ignore', 'inherit'],
      env: configDir ? { ...process.env, DATA_PLATFORM_CONFIG_DIR: configDir } : process.env,
    });
    const seconds = Number(process.hrtime.bigint() - started) / 1e9;
    times.push(seconds);
    counts = countAssembly(outdir);
    rmSync(outdir, { recursive: true, force: true });
    console.log(`run ${run}: ${seconds.toFixed(2)} s`);
  }
  times.sort((a, b) => a - b);
  const median = times[Math.floor(times.length / 2)];
  if (configDir) rmSync(configDir, { recursive: true, force: true });
  const what = datasets === undefined ? 'example config' : `${datasets} datasets`;
  const target = datasets === undefined ? 15 : 30;
  console.log(`full cdk synth (${what}): median ${median.toFixed(2)} s over ${RUNS} runs (target < ${target} s)`);
  console.log(`synthesized ${counts.stacks} stacks, ${counts.resources} CloudFormation resources`);
  console.log(
    `largest stack: ${counts.largest.name} with ${counts.largest.resources} resources (CloudFormation limit 500)`,
  );
}

main();
