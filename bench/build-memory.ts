/**
 * `npm run bench:build-memory [-- <command ...>]`: peak memory of the pipeline's synth step commands, to size its
 * CodeBuild build (lib/pipeline/pipeline-stack.ts, SYNTH_COMPUTE). Runs each command (default: the synth step's
 * `npm test` with its worker limit, then `npx cdk synth`) and samples, every 100 ms, the summed RSS of the whole process
 * tree (npm, jest and its workers, esbuild, postgres-in-wasm ...) from /proc; prints the peak and the wall time.
 * Linux only. DATABASE_URL is removed, as in CodeBuild, so the database tests use the embedded PGlite.
 */
import { spawn } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import * as path from 'node:path';
import { SYNTH_COMMANDS } from '../lib/pipeline/pipeline-stack';

const REPO_ROOT = path.resolve(__dirname, '..');
const PAGE_KB = 4;

/** Parent of each process, from /proc/<pid>/stat. */
function parents(): Map<number, number> {
  const result = new Map<number, number>();
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      // The command name (field 2) may hold spaces: fields after its closing parenthesis are fixed.
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      result.set(Number(entry), Number(fields[1]));
    } catch {
      // The process ended between the listing and the read.
    }
  }
  return result;
}

function rssKb(pid: number): number {
  try {
    const statm = readFileSync(`/proc/${pid}/statm`, 'utf8').split(' ');
    return Number(statm[1]) * PAGE_KB;
  } catch {
    return 0;
  }
}

/** Summed RSS of `root` and all its descendants, and the largest single process. */
function treeRssKb(root: number): { total: number; largest: number } {
  const parentOf = parents();
  const tree = new Set([root]);
  let grew = true;
  while (grew) {
    grew = false;
    for (const [pid, parent] of parentOf) {
      if (!tree.has(pid) && tree.has(parent)) {
        tree.add(pid);
        grew = true;
      }
    }
  }
  let total = 0;
  let largest = 0;
  for (const pid of tree) {
    const rss = rssKb(pid);
    total += rss;
    largest = Math.max(largest, rss);
  }
  return { total, largest };
}

interface Measurement {
  readonly peakMb: number;
  readonly largestProcessMb: number;
  readonly seconds: number;
  readonly exitCode: number | null;
}

async function measure(command: string): Promise<Measurement> {
  const env = { ...process.env };
  delete env.DATABASE_URL;
  const started = Date.now();
  const child = spawn('bash', ['-c', command], { cwd: REPO_ROOT, env, stdio: ['ignore', 'ignore', 'inherit'] });
  let peakKb = 0;
  let largestKb = 0;
  const timer = setInterval(() => {
    if (!child.pid) return;
    const { total, largest } = treeRssKb(child.pid);
    peakKb = Math.max(peakKb, total);
    largestKb = Math.max(largestKb, largest);
  }, 100);
  const exitCode = await new Promise<number | null>((resolve) => child.on('exit', resolve));
  clearInterval(timer);
  const mb = (kb: number) => Math.round(kb / 1024);
  return {
    peakMb: mb(peakKb),
    largestProcessMb: mb(largestKb),
    seconds: Math.round((Date.now() - started) / 1000),
    exitCode,
  };
}

async function main(): Promise<void> {
  const given = process.argv.slice(2).join(' ');
  const commands: string[] = given ? [given] : SYNTH_COMMANDS.filter((command) => command !== 'npm ci');
  for (const command of commands) {
    const { peakMb, largestProcessMb, seconds, exitCode } = await measure(command);
    console.log(
      `${command}: peak RSS of the process tree ${peakMb} MB (largest single process ${largestProcessMb} MB), ${seconds} s, exit code ${exitCode}`,
    );
  }
}

main().catch((error) => {
  console.error(error);
  process.exitCode = 1;
});
