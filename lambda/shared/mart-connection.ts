/** The Data API target of a function, read from the variables of ./mart-contract.ts. */
import { requireEnv } from './env';
import { MART_CONNECTION_ENV } from './mart-contract';
import type { DataApiTarget } from './sql-data-api';

/** The Data API target from the environment, read once at cold start; fails naming the missing variable. */
export function martTargetFromEnv(env: NodeJS.ProcessEnv = process.env): DataApiTarget {
  return {
    resourceArn: requireEnv(MART_CONNECTION_ENV.clusterArn, env),
    secretArn: requireEnv(MART_CONNECTION_ENV.secretArn, env),
    database: requireEnv(MART_CONNECTION_ENV.database, env),
  };
}
