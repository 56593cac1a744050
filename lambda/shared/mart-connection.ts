/**
 * The environment variables a function reaches the data mart with (the RDS Data API target). One spelling, set by
 * the stacks from the DataMart stack and read here; side-effect free, so lib/ may import it.
 */
import type { DataApiTarget } from './sql-data-api';
import { requireEnv } from './env';

export const MART_ENV = {
  clusterArn: 'MART_CLUSTER_ARN',
  secretArn: 'MART_SECRET_ARN',
  database: 'MART_DATABASE',
} as const;

/** The Data API target from the environment (fails fast, naming the variable, when one is missing). */
export function martTargetFromEnvironment(env: NodeJS.ProcessEnv = process.env): DataApiTarget {
  return {
    resourceArn: requireEnv(MART_ENV.clusterArn, env),
    secretArn: requireEnv(MART_ENV.secretArn, env),
    database: requireEnv(MART_ENV.database, env),
  };
}
