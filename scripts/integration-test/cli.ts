/**
 * `npx tsx scripts/integration-test.ts --env <env> [--only <module>] [--from-stacks]`: checks a deployed environment
 * through the AWS SDK, prints a table of checks and returns the exit code (0 all passed, 1 some check failed, 2 could
 * not start). `--from-stacks` reads the stage outputs from the deployed stacks instead of environment variables.
 */
import { parseArgs } from 'node:util';
import { ConfigError, loadConfig } from '../../config/load';
import { environmentNamed, UsageError } from '../lib/usage';
import { CHECK_MODULES } from './checks';
import { AwsClients, type CheckContext } from './context';
import { integrationTestCredentials, verifyAccount } from './credentials';
import { MissingOutputsError, readStageOutputs } from './outputs';
import { outputsOfDeployedStacks } from './stack-outputs';
import { type CheckModule, type Clock, formatTable, runChecks, systemClock } from './runner';

export const USAGE =
  'Usage: npx tsx scripts/integration-test.ts --env <environment> [--only <module>[,<module>...]] [--from-stacks]';

export interface IntegrationTestOptions {
  readonly argv: readonly string[];
  readonly env: Readonly<Record<string, string | undefined>>;
  readonly print: (line: string) => void;
  /** @default CHECK_MODULES */
  readonly modules?: readonly CheckModule[];
  /** @default systemClock */
  readonly clock?: Clock;
  /** Longest bounded wait inside a check. @default 300_000 (5 minutes) */
  readonly waitTimeoutMs?: number;
  /** @default 10_000 */
  readonly pollIntervalMs?: number;
  /** Config directory. @default - config/ of the repository */
  readonly configDir?: string;
}

/** Thrown for problems that stop the test before any check runs (exit code 2). */

export async function runIntegrationTest(options: IntegrationTestOptions): Promise<number> {
  const { print } = options;
  try {
    const { environmentName, only, fromStacks } = parseArguments(options.argv);
    const config = options.configDir === undefined ? loadConfig() : loadConfig(options.configDir);
    const environment = environmentNamed(config, environmentName);
    const prefix = `${config.platform.prefix}-${environment.name}`;
    const modules = selectModules(options.modules ?? CHECK_MODULES, only);
    const required = modules.flatMap((module) => module.requiredOutputs);
    const env = withoutBlanks(options.env);
    // Outputs given as variables are checked before any AWS call, unless they are to be read from the stacks.
    if (!fromStacks) readStageOutputs(env, required, prefix);

    const region = env.TARGET_REGION ?? environment.region;
    const { credentials, source } = await integrationTestCredentials({
      roleArn: env.INTEGRATION_TEST_ROLE_ARN,
      region,
      environment: environment.name,
    });
    const clients = new AwsClients(region, credentials);
    const caller = await verifyAccount(clients, environment.account, prefix);
    const outputs = readStageOutputs(
      fromStacks ? { ...(await outputsOfDeployedStacks(clients, prefix)), ...env } : env,
      required,
      prefix,
    );

    print(`Integration test of ${prefix} (account ${environment.account}, ${region}) as ${caller}, using ${source}`);
    const context: CheckContext = {
      environment: environment.name,
      region,
      outputs,
      clients,
      clock: options.clock ?? systemClock,
      waitTimeoutMs: options.waitTimeoutMs ?? 300_000,
      pollIntervalMs: options.pollIntervalMs ?? 10_000,
    };
    const checks = modules.flatMap((module) => module.checks(context));
    // A check may wait (bounded) for a resource to settle: give it that long plus time for its own calls.
    const results = await runChecks(checks, context, { defaultTimeoutMs: context.waitTimeoutMs + 60_000 });

    print(formatTable(results));
    const failed = results.filter((result) => !result.passed);
    if (failed.length > 0) {
      print(
        `FAILED: ${failed.length} of ${results.length} checks failed for ${prefix}: ${failed.map((r) => r.name).join('; ')}`,
      );
      return 1;
    }
    print(`PASSED: all ${results.length} checks passed for ${prefix}`);
    return 0;
  } catch (error) {
    // Everything here stopped the test before the checks: say why, and the fix when we know it.
    const known = error instanceof UsageError || error instanceof MissingOutputsError || error instanceof ConfigError;
    print(`ERROR: ${known ? (error as Error).message : `${(error as Error).name}: ${(error as Error).message}`}`);
    return 2;
  }
}

function parseArguments(argv: readonly string[]): { environmentName: string; only?: string[]; fromStacks: boolean } {
  let values: { env?: string; only?: string; 'from-stacks'?: boolean };
  try {
    ({ values } = parseArgs({
      args: [...argv],
      options: { env: { type: 'string' }, only: { type: 'string' }, 'from-stacks': { type: 'boolean' } },
      strict: true,
      allowPositionals: false,
    }));
  } catch (error) {
    throw new UsageError(`${(error as Error).message}. ${USAGE}`);
  }
  if (!values.env) throw new UsageError(`--env is required. ${USAGE}`);
  const only = values.only
    ?.split(',')
    .map((name) => name.trim())
    .filter(Boolean);
  return { environmentName: values.env, only, fromStacks: values['from-stacks'] ?? false };
}

function selectModules(modules: readonly CheckModule[], only: readonly string[] | undefined): readonly CheckModule[] {
  if (!only) return modules;
  const unknown = only.filter((name) => !modules.some((module) => module.name === name));
  if (unknown.length > 0) {
    throw new UsageError(
      `--only names unknown module(s) ${unknown.join(', ')}. Fix: use ${modules.map((m) => m.name).join(', ')}`,
    );
  }
  return modules.filter((module) => only.includes(module.name));
}

/** The environment variables that hold something (CodeBuild passes unset outputs as empty strings), trimmed. */
function withoutBlanks(env: Readonly<Record<string, string | undefined>>): Record<string, string> {
  return Object.fromEntries(
    Object.entries(env)
      .map(([name, value]) => [name, value?.trim() ?? ''])
      .filter(([, value]) => value !== ''),
  );
}
