/**
 * `npm run bench:synth`: wall time of a full `cdk synth` of the example config (median of 3 runs, real bundling,
 * cdk-nag included) and what it produced: pipeline stacks, stage stacks, CloudFormation resources.
 * Target on a 2-core machine: under 15 s.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';

const REPO_ROOT = path.resolve(__dirname, '..');
const RUNS = Number(process.env.BENCH_RUNS ?? 3);

interface Manifest {
  artifacts: Record<string, { type: string; properties?: { templateFile?: string; directoryName?: string } }>;
}

/** Counts stacks and resources in a cloud assembly, descending into nested stage assemblies. */
function countAssembly(dir: string): { stacks: number; resources: number } {
  const manifest = JSON.parse(readFileSync(path.join(dir, 'manifest.json'), 'utf8')) as Manifest;
  let stacks = 0;
  let resources = 0;
  for (const artifact of Object.values(manifest.artifacts)) {
    if (artifact.type === 'aws:cloudformation:stack' && artifact.properties?.templateFile) {
      const template = JSON.parse(readFileSync(path.join(dir, artifact.properties.templateFile), 'utf8'));
      stacks += 1;
      resources += Object.keys(template.Resources ?? {}).length;
    } else if (artifact.type === 'cdk:cloud-assembly' && artifact.properties?.directoryName) {
      const nested = countAssembly(path.join(dir, artifact.properties.directoryName));
      stacks += nested.stacks;
      resources += nested.resources;
    }
  }
  return { stacks, resources };
}

function main(): void {
  const cdk = path.join(REPO_ROOT, 'node_modules', '.bin', 'cdk');
  if (!existsSync(cdk)) throw new Error('node_modules/.bin/cdk not found. Fix: run `npm ci` first');
  const times: number[] = [];
  let counts = { stacks: 0, resources: 0 };
  for (let run = 1; run <= RUNS; run++) {
    const outdir = mkdtempSync(path.join(tmpdir(), 'bench-synth-'));
    const started = process.hrtime.bigint();
    execFileSync(cdk, ['synth', '--quiet', '--output', outdir], {
      cwd: REPO_ROOT,
      stdio: ['ignore', 'ignore', 'inherit'],
    });
    const seconds = Number(process.hrtime.bigint() - started) / 1e9;
    times.push(seconds);
    counts = countAssembly(outdir);
    rmSync(outdir, { recursive: true, force: true });
    console.log(`run ${run}: ${seconds.toFixed(2)} s`);
  }
  times.sort((a, b) => a - b);
  const median = times[Math.floor(times.length / 2)];
  console.log(`full cdk synth: median ${median.toFixed(2)} s over ${RUNS} runs (target < 15 s)`);
  console.log(`synthesized ${counts.stacks} stacks, ${counts.resources} CloudFormation resources`);
}

main();
