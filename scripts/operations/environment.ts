/**
 * What the operator scripts (replay.ts, status.ts) share: the environment from config/, the caller's credentials
 * checked against its account, the stage outputs read from the deployed `<prefix>-<env>-*` stacks (as
 * `integration-test.ts --from-stacks` reads them), and the data mart through the RDS Data API as the loader login.
 */
import {
  BeginTransactionCommand,
  CommitTransactionCommand,
  ExecuteStatementCommand,
  RDSDataClient,
  RollbackTransactionCommand,
} from '@aws-sdk/client-rds-data';
import { ConfigError, loadConfig } from '../../config/load';
import { environmentNamed, UsageError } from '../lib/usage';
import type { EnvironmentConfig } from '../../config/schema';
import type { SqlExecutor } from '../../lambda/shared/sql';
import { type DataApiTarget, DataApiExecutor } from '../../lambda/shared/sql-data-api';
import { AwsClients } from '../integration-test/context';
import { verifyAccount } from '../integration-test/credentials';
import { MissingOutputsError, readStageOutputs } from '../integration-test/outputs';
import { outputsOfDeployedStacks } from '../integration-test/stack-outputs';

/** Stage outputs every operator script reads (DataPlatformStage's CfnOutputs, as variable names). */
export const MART_OUTPUTS = ['DATA_MART_CLUSTER_ARN', 'DATA_MART_LOADER_SECRET_ARN', 'DATA_MART_DATABASE_NAME'];

export interface OperatorOptions {
  readonly argv: readonly string[];
  readonly print: (line: string) => void;
  /** Config directory. @default - config/ of the repository */
  readonly configDir?: string;
  /** @default - the system clock */
  readonly now?: () => Date;
  /** AWS clients (tests mock the SDK clients). @default - clients in the environment's region, caller's credentials */
  readonly clients?: AwsClients;
  /** The SQL seam. @default - the RDS Data API as the loader login ({@link dataApiExecutor}) */
  readonly executor?: (target: DataApiTarget, clients: AwsClients) => SqlExecutor;
}

/** A problem that stops a script before it does anything (exit code 2), with the fix. */

export interface OperatorContext {
  readonly environment: EnvironmentConfig;
  /** `<platform prefix>-<env>`, e.g. `dp-dev`. */
  readonly prefix: string;
  readonly datasets: readonly string[];
  readonly outputs: Readonly<Record<string, string>>;
  readonly clients: AwsClients;
  readonly executor: SqlExecutor;
  readonly caller: string;
}

/** Loads config, checks the credentials' account, reads the stage outputs and opens the data mart. */
export async function openEnvironment(
  options: OperatorOptions,
  environmentName: string,
  requiredOutputs: readonly string[],
): Promise<OperatorContext> {
  const config = options.configDir === undefined ? loadConfig() : loadConfig(options.configDir);
  const environment = environmentNamed(config, environmentName);
  const prefix = `${config.platform.prefix}-${environment.name}`;
  const clients = options.clients ?? new AwsClients(environment.region);
  // Its errors (no credentials, another account) say the fix: printed as they are.
  const caller = await verifyAccount(clients, environment.account, prefix).catch((error: Error) => {
    throw new UsageError(error.message);
  });
  const outputs = readStageOutputs(
    await outputsOfDeployedStacks(clients, prefix),
    [...MART_OUTPUTS, ...requiredOutputs],
    prefix,
  );
  const target: DataApiTarget = {
    resourceArn: outputs.DATA_MART_CLUSTER_ARN,
    secretArn: outputs.DATA_MART_LOADER_SECRET_ARN,
    database: outputs.DATA_MART_DATABASE_NAME,
  };
  const executor = (options.executor ?? dataApiExecutor)(target, clients);
  return { environment, prefix, datasets: config.datasets.map((d) => d.name), outputs, clients, executor, caller };
}

/** The Data API through the SDK client (scripts use the SDK; only Lambda code avoids it, for its cold start). */
export function dataApiExecutor(target: DataApiTarget, clients: AwsClients): SqlExecutor {
  const client = clients.get(RDSDataClient);
  return new DataApiExecutor(
    {
      executeStatement: (input) => client.send(new ExecuteStatementCommand(input)),
      beginTransaction: (input) => client.send(new BeginTransactionCommand(input)),
      commitTransaction: (input) => client.send(new CommitTransactionCommand(input)),
      rollbackTransaction: (input) => client.send(new RollbackTransactionCommand(input)),
    },
    target,
  );
}

/** Prints the error of a script that stopped: known problems as their message, others with their name. */
export function reportError(error: unknown, print: (line: string) => void): number {
  const known = error instanceof UsageError || error instanceof MissingOutputsError || error instanceof ConfigError;
  print(`ERROR: ${known ? (error as Error).message : `${(error as Error).name}: ${(error as Error).message}`}`);
  return 2;
}

/** `--since`: an ISO date or date-time; undefined when not given. */
export function parseSince(text: string | undefined, usage: string): Date | undefined {
  if (text === undefined) return undefined;
  const date = /^\d{4}-\d{2}-\d{2}(T[\d:.]+(Z|[+-]\d{2}:?\d{2})?)?$/.test(text) ? new Date(text) : new Date(Number.NaN);
  if (Number.isNaN(date.getTime())) {
    throw new UsageError(
      `--since is "${text}", not an ISO date. Fix: e.g. --since 2026-12-01 or --since 2026-12-01T08:00:00Z. ${usage}`,
    );
  }
  return date;
}

/** Aligned columns, header first; cells are already text. */
export function formatRows(header: readonly string[], rows: readonly (readonly string[])[]): string[] {
  const widths = header.map((title, column) => Math.max(title.length, ...rows.map((row) => row[column].length)));
  const render = (row: readonly string[]) =>
    row
      .map((cell, column) => cell.padEnd(widths[column]))
      .join('  ')
      .trimEnd();
  return [render(header), ...rows.map(render)];
}

/** `3h 12m`, `4m 10s`, `12s`; `-` for none. */
export function formatSeconds(seconds: number | null | undefined): string {
  if (seconds === null || seconds === undefined) return '-';
  const s = Math.max(0, Math.round(seconds));
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m ${s % 60}s`;
  if (s < 86_400) return `${Math.floor(s / 3600)}h ${Math.floor((s % 3600) / 60)}m`;
  return `${Math.floor(s / 86_400)}d ${Math.floor((s % 86_400) / 3600)}h`;
}

/** A timestamp as ISO, to the second. */
export function formatTime(value: Date | null | undefined): string {
  return value ? value.toISOString().replace(/\.\d{3}Z$/, 'Z') : '-';
}

/** An error message on one line of at most 100 characters, for a table cell. */
export function oneLine(text: string): string {
  const flat = text.replace(/\s+/g, ' ').trim();
  return flat.length > 100 ? `${flat.slice(0, 97)}...` : flat;
}
