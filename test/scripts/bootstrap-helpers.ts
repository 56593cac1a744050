/**
 * Runs the real bootstrap scripts with a fake `aws` (and a fake `npx`) first on PATH. The fakes record their argv,
 * one JSON array per line, and answer like the AWS CLI for the calls the scripts make.
 */
import { spawnSync } from 'node:child_process';
import {
  chmodSync,
  copyFileSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';

export const REPO_ROOT = path.resolve(__dirname, '..', '..');

/** Answers of the fake AWS CLI. */
export interface FakeAws {
  /** Account returned by sts get-caller-identity. @default - the call fails like expired credentials */
  readonly account?: string;
  /** The execution policy exists, with this default document. @default - get-policy answers NoSuchEntity */
  readonly existingDocument?: object;
  /** Number of versions the existing policy has. @default 1 */
  readonly versionCount?: number;
  /** The GitHub OIDC provider exists, with these audiences (tab-separated). @default - it does not exist */
  readonly oidcClientIds?: string;
  /** Every IAM role asked for exists. @default false */
  readonly rolesExist?: boolean;
}

export interface RunOptions {
  readonly fakeAws?: FakeAws | 'absent';
  /** Text written to the script's stdin. @default '' (closed) */
  readonly stdin?: string;
  /** Configuration directory (DATA_PLATFORM_CONFIG_DIR). @default - the repository's config/ */
  readonly configDir?: string;
}

export interface RunResult {
  readonly status: number | null;
  readonly stdout: string;
  readonly stderr: string;
  /** argv of every `aws` call (without the leading "aws"). */
  readonly awsCalls: string[][];
  /** argv of every `npx` call. */
  readonly npxCalls: string[][];
  /** Rendered execution policy files the script left in its TMPDIR. */
  readonly policyFilesLeft: string[];
  /** GitHub OIDC role documents the script left in its TMPDIR, by file name, parsed when JSON. */
  readonly githubFilesLeft: Record<string, unknown>;
}

const FAKE_AWS = path.join(__dirname, 'bootstrap-fake-aws.sh');
const FAKE_NPX = path.join(__dirname, 'bootstrap-fake-npx.sh');

export function runScript(script: string, args: readonly string[], options: RunOptions = {}): RunResult {
  const dir = mkdtempSync(path.join(tmpdir(), 'bootstrap-test-'));
  const bin = path.join(dir, 'bin');
  const fakeAws = options.fakeAws ?? { account: undefined };
  mkdirSync(bin);
  installExecutable(FAKE_NPX, path.join(bin, 'npx'));
  if (fakeAws !== 'absent') {
    installExecutable(FAKE_AWS, path.join(bin, 'aws'));
    if (fakeAws.existingDocument)
      writeFileSync(path.join(dir, 'document.json'), JSON.stringify(fakeAws.existingDocument));
  }
  const env: NodeJS.ProcessEnv = {
    HOME: dir,
    TMPDIR: dir,
    // /usr/bin and /bin hold bash, node and coreutils but no aws; the fakes come first.
    PATH: `${bin}:/usr/bin:/bin`,
    FAKE_LOG_DIR: dir,
    ...(options.configDir ? { DATA_PLATFORM_CONFIG_DIR: options.configDir } : {}),
    ...(fakeAws !== 'absent' && fakeAws.account ? { FAKE_ACCOUNT: fakeAws.account } : {}),
    ...(fakeAws !== 'absent' && fakeAws.versionCount ? { FAKE_VERSION_COUNT: String(fakeAws.versionCount) } : {}),
    ...(fakeAws !== 'absent' && fakeAws.oidcClientIds ? { FAKE_OIDC_CLIENT_IDS: fakeAws.oidcClientIds } : {}),
    ...(fakeAws !== 'absent' && fakeAws.rolesExist ? { FAKE_ROLES_EXIST: '1' } : {}),
  };
  const result = spawnSync('bash', [path.join(REPO_ROOT, 'scripts', script), ...args], {
    cwd: REPO_ROOT,
    env,
    input: options.stdin ?? '',
    encoding: 'utf8',
    timeout: 60_000,
  });
  const calls = {
    awsCalls: readCalls(path.join(dir, 'aws.log')),
    npxCalls: readCalls(path.join(dir, 'npx.log')),
    policyFilesLeft: readdirSync(dir).filter((file) => file.startsWith('cdk-cfn-execution-policy.')),
    githubFilesLeft: githubFiles(dir),
  };
  rmSync(dir, { recursive: true, force: true });
  return { status: result.status, stdout: result.stdout, stderr: result.stderr, ...calls };
}

/** True when a test machine has `aws` in /usr/bin or /bin, which the fake-PATH tests rely on not being there. */
export function realAwsOnBasePath(): boolean {
  return existsSync('/usr/bin/aws') || existsSync('/bin/aws');
}

function installExecutable(source: string, target: string): void {
  copyFileSync(source, target);
  chmodSync(target, 0o755);
}

function readCalls(file: string): string[][] {
  if (!existsSync(file)) return [];
  return readFileSync(file, 'utf8')
    .split('\n')
    .filter((line) => line.length > 0)
    .map((line) => JSON.parse(line) as string[]);
}

function githubFiles(dir: string): Record<string, unknown> {
  const files: Record<string, unknown> = {};
  for (const sub of readdirSync(dir).filter((entry) => entry.startsWith('github-oidc-roles.'))) {
    for (const file of readdirSync(path.join(dir, sub))) {
      const text = readFileSync(path.join(dir, sub, file), 'utf8');
      files[file] = file.endsWith('.json') ? JSON.parse(text) : text;
    }
  }
  return files;
}
