/**
 * Prints values of the VALIDATED configuration for the bootstrap scripts, so bash never parses JSON by hand.
 *
 *   npx tsx scripts/print-config.ts deployment         KEY=value lines for the deployment account
 *   npx tsx scripts/print-config.ts environment <env>  KEY=value lines for one environment's account
 *   npx tsx scripts/print-config.ts policy <account>   the CloudFormation execution policy JSON for that account
 *
 * `--policy-file <path>` after `deployment` or `environment <env>` also writes that account's execution policy to
 * <path>, which saves the bootstrap scripts a second start of Node.js.
 * `--github-dir <dir>` after `environment <env>` writes the environment's GitHub Actions OIDC roles
 * (scripts/policies/github-roles.ts) to <dir>: `<role>.trust.json`, `<role>.policy.json` and `<role>.description`,
 * and prints GITHUB_REPOSITORY, OIDC_PROVIDER_ARN and one `GITHUB_ROLE=<name> <max session seconds> <sub>` line per
 * role. The repository is `--github-repo <owner/name>`, else the configured one (`delivery.engine: "github-actions"`).
 *
 * KEY=value lines are meant to be read with `IFS= read -r line` and split at the first "=" (never `eval`): values
 * never hold a newline. TAG lines repeat, one `TAG=key=value` per platform tag; BOOTSTRAP_REGION lines (deployment)
 * list the regions the deployment account is bootstrapped in.
 * Exit codes: 0 ok, 2 usage error (unknown command or environment), 7 invalid configuration.
 * DATA_PLATFORM_CONFIG_DIR points at another config directory (tests use it).
 */
import { writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { ConfigError, DEFAULT_CONFIG_DIR, loadConfig } from '../config/load';
import type { AppConfig } from '../config/schema';
import { UsageError } from './lib/usage';
import { GITHUB_OIDC_AUDIENCE, GITHUB_OIDC_HOST, githubRepository } from '../lib/github-actions/delivery';
import { type GitHubRole, githubRoles, oidcProviderArn } from './policies/github-roles';
import {
  executionPolicyArn,
  executionPolicyForAccount,
  executionPolicyName,
  PARTITION,
} from './policies/execution-policy';

export const EXIT_USAGE = 2;
export const EXIT_INVALID_CONFIG = 7;

const USAGE =
  'Usage: print-config.ts deployment | environment <env> [--policy-file <path>] [--github-repo <owner/name>] [--github-dir <dir>] | policy <account-id>';

export interface PrintConfigResult {
  /** What to print on stdout. */
  readonly stdout: string;
  /** The execution policy to write to `--policy-file`, when asked for. */
  readonly policyFile?: { readonly path: string; readonly content: string };
  /** The GitHub OIDC role documents to write under `--github-dir`, when asked for. */
  readonly githubFiles?: readonly { readonly path: string; readonly content: string }[];
}

const FLAGS = ['--policy-file', '--github-repo', '--github-dir'] as const;
type Flag = (typeof FLAGS)[number];

/** Splits `args` into words and the value of each flag (each flag takes one value). */
function parseFlags(args: readonly string[]): { words: string[]; flags: Partial<Record<Flag, string>> } {
  const words: string[] = [];
  const flags: Partial<Record<Flag, string>> = {};
  for (let i = 0; i < args.length; i++) {
    const flag = FLAGS.find((candidate) => candidate === args[i]);
    if (!flag) {
      words.push(args[i]);
      continue;
    }
    const value = args[i + 1];
    if (!value || value.startsWith('--')) throw new UsageError(`${flag} needs a value. ${USAGE}`);
    flags[flag] = value;
    i++;
  }
  return { words, flags };
}

/** Works out what to print; throws UsageError (or ConfigError from the loader). */
export function printConfig(args: readonly string[], config: AppConfig): PrintConfigResult {
  const { words, flags } = parseFlags(args);
  const policyPath = flags['--policy-file'];
  const [command, argument] = words;
  const withPolicy = (values: Values, githubFiles?: PrintConfigResult['githubFiles']): PrintConfigResult => {
    const account = values.find(([key]) => key === 'ACCOUNT')![1];
    return {
      stdout: keyValueLines(values),
      ...(policyPath ? { policyFile: { path: policyPath, content: policyJson(config, account) } } : {}),
      ...(githubFiles ? { githubFiles } : {}),
    };
  };
  if (command !== 'environment' && (flags['--github-repo'] || flags['--github-dir'])) {
    throw new UsageError(`--github-repo and --github-dir go with "environment <env>". ${USAGE}`);
  }
  switch (command) {
    case 'deployment':
      return withPolicy(deploymentValues(config));
    case 'environment': {
      const values = environmentValues(config, argument);
      const github = githubValues(config, argument!, flags['--github-repo'], flags['--github-dir']);
      return withPolicy([...values, ...github.values], github.files);
    }
    case 'policy': {
      if (!argument || !/^\d{12}$/.test(argument)) {
        throw new UsageError(
          `policy needs a 12-digit account ID, received ${JSON.stringify(argument ?? '')}. ${USAGE}`,
        );
      }
      return { stdout: policyJson(config, argument) };
    }
    default:
      throw new UsageError(`unknown command ${JSON.stringify(command ?? '')}. ${USAGE}`);
  }
}

type Values = [key: string, value: string][];

function policyJson(config: AppConfig, account: string): string {
  try {
    return `${JSON.stringify(executionPolicyForAccount(config, account), null, 2)}\n`;
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
}

function commonValues(config: AppConfig, account: string): Values {
  const { platform } = config;
  return [
    ['PREFIX', platform.prefix],
    ['PARTITION', PARTITION],
    ['DEPLOYMENT_ACCOUNT', platform.deployment.account],
    ['DEPLOYMENT_REGION', platform.deployment.region],
    ['SOURCE_TYPE', platform.source.type],
    ['PIPELINE_MODE', platform.pipeline.mode],
    ['POLICY_NAME', executionPolicyName(config)],
    ['POLICY_ARN', executionPolicyArn(config, account)],
    ...Object.entries(platform.tags).map(([key, value]): [string, string] => ['TAG', `${key}=${value}`]),
  ];
}

function deploymentValues(config: AppConfig): Values {
  const { account, region } = config.platform.deployment;
  // Pipelines keep cross-region support stacks in the deployment account, in each environment's region.
  const bootstrapRegions = [...new Set([region, ...config.environments.map((environment) => environment.region)])];
  return [
    ['ACCOUNT', account],
    ['REGION', region],
    ...bootstrapRegions.map((bootstrapRegion): [string, string] => ['BOOTSTRAP_REGION', bootstrapRegion]),
    ...commonValues(config, account),
  ];
}

function environmentValues(config: AppConfig, name: string | undefined): Values {
  const names = config.environments.map((environment) => environment.name);
  const environment = config.environments.find((candidate) => candidate.name === name);
  if (!environment) {
    throw new UsageError(
      `unknown environment ${JSON.stringify(name ?? '')}. Fix: use one of ${names.join(', ')} (files in config/environments/)`,
    );
  }
  return [
    ['ENVIRONMENT', environment.name],
    ['ACCOUNT', environment.account],
    ['REGION', environment.region],
    ['BRANCH', environment.branch],
    ['DELIVERY_ENGINE', config.platform.delivery.engine],
    ...commonValues(config, environment.account),
  ];
}

/**
 * The GitHub OIDC roles of the environment, for `--github-repo` or the configured GitHub engine; none otherwise.
 * Documents are returned as files under `dir` (required when there are roles).
 */
function githubValues(
  config: AppConfig,
  name: string,
  repositoryFlag: string | undefined,
  dir: string | undefined,
): { values: Values; files?: { path: string; content: string }[] } {
  const { platform } = config;
  const repository =
    repositoryFlag ?? (platform.delivery.engine === 'github-actions' ? githubRepository(platform) : undefined);
  if (repository === undefined) return { values: [] };
  if (!dir) throw new UsageError(`--github-dir is needed to write the GitHub roles' policies. ${USAGE}`);
  const environment = config.environments.find((candidate) => candidate.name === name)!;
  let roles: GitHubRole[];
  try {
    roles = githubRoles(config, environment, repository);
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
  const json = (document: unknown) => `${JSON.stringify(document, null, 2)}\n`;
  return {
    values: [
      ['GITHUB_REPOSITORY', repository],
      ['OIDC_PROVIDER_ARN', oidcProviderArn(environment.account)],
      ['OIDC_PROVIDER_URL', `https://${GITHUB_OIDC_HOST}`],
      ['OIDC_AUDIENCE', GITHUB_OIDC_AUDIENCE],
      ...roles.map((role): [string, string] => [
        'GITHUB_ROLE',
        `${role.name} ${role.maxSessionSeconds} ${role.subject}`,
      ]),
    ],
    files: roles.flatMap((role) => [
      { path: path.join(dir, `${role.name}.trust.json`), content: json(role.trustPolicy) },
      { path: path.join(dir, `${role.name}.policy.json`), content: json(role.permissions) },
      { path: path.join(dir, `${role.name}.description`), content: role.description },
    ]),
  };
}

function keyValueLines(values: Values): string {
  for (const [key, value] of values) {
    // Tag values are free text in the schema; a control character would break the line protocol.
    if (/[\p{Cc}]/u.test(value)) {
      throw new UsageError(
        `${key} value ${JSON.stringify(value)} holds a control character (e.g. a newline). Fix: remove it from the configuration`,
      );
    }
  }
  return values.map(([key, value]) => `${key}=${value}\n`).join('');
}

function main(): void {
  try {
    const config = loadConfig(process.env.DATA_PLATFORM_CONFIG_DIR ?? DEFAULT_CONFIG_DIR);
    const result = printConfig(process.argv.slice(2), config);
    if (result.policyFile) writeFileSync(result.policyFile.path, result.policyFile.content);
    for (const file of result.githubFiles ?? []) writeFileSync(file.path, file.content);
    process.stdout.write(result.stdout);
  } catch (error) {
    if (error instanceof ConfigError) {
      process.stderr.write(`${error.message}\n`);
      process.exit(EXIT_INVALID_CONFIG);
    }
    if (error instanceof UsageError) {
      process.stderr.write(`print-config: ${error.message}\n`);
      process.exit(EXIT_USAGE);
    }
    throw error;
  }
}

if (require.main === module) main();
