/** What the command-line scripts share: a usage error (exit 2, the message says the fix) and the environment lookup. */
import type { AppConfig, EnvironmentConfig } from '../../config/schema';

/** The command line is wrong: the script prints the message (which names the fix) and exits with 2. */
export class UsageError extends Error {}

/** The environment `name` of `config`; an unknown name is a usage error listing the configured ones. */
export function environmentNamed(config: AppConfig, name: string): EnvironmentConfig {
  const environment = config.environments.find((candidate) => candidate.name === name);
  if (!environment) {
    throw new UsageError(
      `Unknown environment "${name}". Fix: use one of ${config.environments.map((e) => e.name).join(', ')}`,
    );
  }
  return environment;
}
