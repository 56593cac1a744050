/**
 * migrate: the onEvent handler of the data mart's migrations custom resource (Provider framework).
 * Create/Update: apply pending migrations through the Data API as the master user (retrying while an auto-paused
 * cluster resumes), then set the password of the user each login secret names, read from the secret (AWSCURRENT) and
 * sent as a SCRAM verifier (lambda/shared/mart-logins.ts): the first deploy creates the secrets with generated
 * passwords, and a redeploy re-applies the current ones (harmless; the rotation function changes only the other user
 * of a login, so a deploy during a rotation cannot undo it).
 * Delete: nothing (the schema lives and dies with the cluster).
 *
 * Resource properties: MIGRATIONS_PROPERTIES of ./contract.ts.
 */
import type { CloudFormationCustomResourceEvent } from 'aws-lambda';
import * as z from 'zod/mini';
import { COLUMN_TYPE } from '../../config/column-type';
import { TransientError } from '../shared/errors';
import { parseEvent } from '../shared/parse-event';
import { logger, withLambdaContext } from '../shared/logger';
import { martTargetFromEnv } from '../shared/mart-connection';
import { MART_LOGIN_NAMES, type MartLogin, type MartDataset } from '../shared/mart-contract';
import { applyLoginPasswords } from '../shared/mart-logins';
import type { SqlExecutor } from '../shared/sql';
import { RdsDataClient } from '../shared/aws/rds-data';
import { type SecretsManagerApi, SecretsManagerClient } from '../shared/aws/secrets-manager';
import { DataApiExecutor } from '../shared/sql-data-api';
import '../shared/zod-locale';
import { MIGRATIONS_PROPERTIES, PHYSICAL_RESOURCE_ID } from './contract';
import { applyMigrations, type MigrationReport, martMigrations, versionedMigrations } from './migrations';
import { MIGRATION_FILES } from './migration-files';

/**
 * A column type of the config grammar (the rule of config/schema.ts columnSchema.type, without loading the config
 * schema: that costs ~20 ms of cold start, and the datasets were validated at synth already).
 */
const columnType = z.string().check(
  z.refine(
    (type) => {
      const match = COLUMN_TYPE.exec(type);
      return match !== null && (match[2] === undefined || Number(match[3]) <= Number(match[2]));
    },
    { error: 'must be one of string, integer, bigint, double, decimal(p,s), boolean, date, timestamp' },
  ),
);

const martDatasetSchema = z.object({
  name: z.string(),
  columns: z.array(z.object({ name: z.string(), type: columnType, nullable: z.boolean() })).check(z.minLength(1)),
  primaryKey: z.array(z.string()).check(z.minLength(1)),
  mart: z.object({
    enabled: z.boolean(),
    table: z.optional(z.string()),
    indexes: z.array(z.array(z.string())),
  }),
});

/** JSON text parsed inside a schema (zod/mini hands a transform the parse payload: the issue is pushed as classic zod's would be). */
const jsonText = () =>
  z.pipe(
    z.string(),
    z.transform((text: string, payload) => {
      try {
        return JSON.parse(text) as unknown;
      } catch {
        payload.issues.push({ code: 'custom', message: 'is not valid JSON', input: text });
        return z.NEVER;
      }
    }),
  );

/** login -> secret ARN, every login exactly once. */
const loginSecretsSchema = z.strictObject(
  Object.fromEntries(
    MART_LOGIN_NAMES.map((login) => [login, z.string().check(z.regex(/^arn:[a-z-]+:secretsmanager:/))]),
  ) as Record<MartLogin, z.ZodMiniString>,
);

const eventSchema = z.object({
  RequestType: z.enum(['Create', 'Update', 'Delete']),
  ResourceProperties: z.object({
    [MIGRATIONS_PROPERTIES.migrationSetHash]: z.string().check(z.minLength(1)),
    [MIGRATIONS_PROPERTIES.datasets]: jsonText(),
    [MIGRATIONS_PROPERTIES.loginSecrets]: z.pipe(jsonText(), loginSecretsSchema),
  }),
});

export interface MigrateOptions {
  /** Waits between attempts while the cluster resumes. @default - real timers */
  readonly sleep?: (milliseconds: number) => Promise<void>;
  /** Backoff delays; the last one repeats until the deadline. @default 2, 5, 10, 20, 30 s */
  readonly delaysMs?: readonly number[];
}

interface OnEventResponse {
  readonly PhysicalResourceId: string;
  readonly Data?: Record<string, string>;
}

/** Builds the handler around an executor factory (tests pass one over a real PostgreSQL). */
export function createHandler(
  executorFor: () => SqlExecutor,
  secrets: SecretsManagerApi,
  options: MigrateOptions = {},
) {
  const sleep = options.sleep ?? ((ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms)));
  const delays = options.delaysMs ?? [2_000, 5_000, 10_000, 20_000, 30_000];

  return async (
    event: CloudFormationCustomResourceEvent,
    context?: { getRemainingTimeInMillis(): number },
  ): Promise<OnEventResponse> => {
    const { RequestType, ResourceProperties } = parseEvent(eventSchema, event, {
      what: 'migrations custom resource event',
      fix: 'set MigrationSetHash and Datasets (JSON) on the custom resource (lib/stacks/data-mart-stack.ts)',
      // Its ResponseURL is a presigned URL: never in a message.
      quoteEvent: false,
    });
    if (RequestType === 'Delete') return { PhysicalResourceId: PHYSICAL_RESOURCE_ID };

    const datasets = parseEvent(z.array(martDatasetSchema), ResourceProperties[MIGRATIONS_PROPERTIES.datasets], {
      what: 'Datasets property',
      fix: 'pass the mart-enabled dataset configs',
      quoteEvent: false,
    });
    const migrations = [...versionedMigrations(MIGRATION_FILES), ...martMigrations(datasets as MartDataset[])];
    const executor = executorFor();
    // Leave a minute for the Provider framework to report back before the function times out.
    const deadline = Date.now() + (context ? context.getRemainingTimeInMillis() - 60_000 : 10 * 60_000);

    for (let attempt = 0; ; attempt++) {
      try {
        const report: MigrationReport = await applyMigrations(executor, migrations, (message, details) =>
          logger.info(message, details ?? {}),
        );
        logger.info('migrations done', { ...report, hash: ResourceProperties[MIGRATIONS_PROPERTIES.migrationSetHash] });
        if (report.unknown.length > 0) {
          logger.warn('applied migrations that no file defines any more', { versions: report.unknown });
        }
        // After the migrations, which create the users (and on a retry, again: setting a password twice is harmless).
        const logins = await applyLoginPasswords(
          executor,
          secrets,
          ResourceProperties[MIGRATIONS_PROPERTIES.loginSecrets],
        );
        return {
          PhysicalResourceId: PHYSICAL_RESOURCE_ID,
          Data: {
            Applied: report.applied.join(',') || 'none',
            Total: String(migrations.length),
            Logins: logins.join(','),
          },
        };
      } catch (error) {
        const delay = delays[Math.min(attempt, delays.length - 1)];
        if (!(error instanceof TransientError) || Date.now() + delay > deadline) throw error;
        logger.info('data mart not available yet, retrying', {
          attempt: attempt + 1,
          delayMs: delay,
          error: error.message,
        });
        await sleep(delay);
      }
    }
  };
}

// The master secret: migrations own the schemas, and only the master may set the login users' passwords.
const target = martTargetFromEnv();
const rdsData = new RdsDataClient();

export const handler = withLambdaContext(
  createHandler(() => new DataApiExecutor(rdsData, target), new SecretsManagerClient()),
);
