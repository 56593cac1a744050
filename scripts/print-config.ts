/**
 * Prints values of the VALIDATED configuration for the bootstrap scripts, so bash never parses JSON by hand.
 *
 *   npx tsx scripts/print-config.ts deployment         KEY=value lines for the deployment account
 *   npx tsx scripts/print-config.ts environment <env>  KEY=value lines for one environment's account
 *   npx tsx scripts/print-config.ts policy <account>   the CloudFormation execution policy JSON for that account
 *
 * `--policy-file <path>` after `deployment` or `environment <env>` also writes that account's execution policy to
 * <path>, which saves the bootstrap scripts a second start of Node.js.
 *
 * KEY=value lines are meant to be read with `IFS= read -r line` and split at the first "=" (never `eval`): values
 * never hold a newline. TAG lines repeat, one `TAG=key=value` per platform tag; BOOTSTRAP_REGION lines (deployment)
 * list the regions the deployment account is bootstrapped in.
 * Exit codes: 0 ok, 2 usage error (unknown command or environment), 7 invalid configuration.
 * DATA_PLATFORM_CONFIG_DIR points at another config directory (tests use it).
 */
import { writeFileSync } from 'node:fs';
import { ConfigError, DEFAULT_CONFIG_DIR, loadConfig } from '../config/load';
import type { AppConfig } from '../config/schema';
import {
  executionPolicyArn,
  executionPolicyForAccount,
  executionPolicyName,
  PARTITION,
} from './policies/execution-policy';

export const EXIT_USAGE = 2;
export const EXIT_INVALID_CONFIG = 7;

const USAGE = `Usage: print-config.ts deployment | environment <env> [--policy-file <path>] | policy <account-id>`;

export class UsageError extends Error {}

export interface PrintConfigResult {
  /** What to print on stdout. */
  readonly stdout: string;
  /** The execution policy to write to `--policy-file`, when asked for. */
  readonly policyFile?: { readonly path: string; readonly content: string };
}

/** Works out what to print; throws UsageError (or ConfigError from the loader). */
export function printConfig(args: readonly string[], config: AppConfig): PrintConfigResult {
  const policyFlag = args.indexOf('--policy-file');
  const policyPath = policyFlag === -1 ? undefined : args[policyFlag + 1];
  if (policyFlag !== -1 && !policyPath) throw new UsageError(`--policy-file needs a path. ${USAGE}`);
  const [command, argument] = policyFlag === -1 ? args : args.slice(0, policyFlag);
  const withPolicy = (values: Values): PrintConfigResult => {
    const account = values.find(([key]) => key === 'ACCOUNT')![1];
    return {
      stdout: keyValueLines(values),
      ...(policyPath ? { policyFile: { path: policyPath, content: policyJson(config, account) } } : {}),
    };
  };
  switch (command) {
    case 'deployment':
      return withPolicy(deploymentValues(config));
    case 'environment':
      return withPolicy(environmentValues(config, argument));
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
    ...commonValues(config, environment.account),
  ];
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
