/**
 * The configuration contract of the platform, as zod schemas.
 *
 * Every value a stack uses comes from here: stacks never read `process.env` or CDK context. Messages are written as
 * "what is expected. Fix: what to do", because `load.ts` prefixes them with the file, the key path and the value.
 */
import * as z from 'zod';
import { COLUMN_TYPE } from './column-type';

export { COLUMN_TYPE };

/** Commercial AWS regions; synth never asks AWS, so the list is kept here. */
export const AWS_REGIONS = [
  'af-south-1',
  'ap-east-1',
  'ap-east-2',
  'ap-northeast-1',
  'ap-northeast-2',
  'ap-northeast-3',
  'ap-south-1',
  'ap-south-2',
  'ap-southeast-1',
  'ap-southeast-2',
  'ap-southeast-3',
  'ap-southeast-4',
  'ap-southeast-5',
  'ap-southeast-7',
  'ca-central-1',
  'ca-west-1',
  'eu-central-1',
  'eu-central-2',
  'eu-north-1',
  'eu-south-1',
  'eu-south-2',
  'eu-west-1',
  'eu-west-2',
  'eu-west-3',
  'il-central-1',
  'me-central-1',
  'me-south-1',
  'mx-central-1',
  'sa-east-1',
  'us-east-1',
  'us-east-2',
  'us-west-1',
  'us-west-2',
] as const;

/** Values CloudWatch Logs accepts for a retention period, in days. */
export const LOG_RETENTION_DAYS = [
  1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653,
] as const;

// Short names keep every derived name within AWS limits: bucket names `<prefix>-<env>-artifacts-<account>-<region>`
// (63 characters) and role names `<prefix>-<env>-integration-test-runner` (64 characters).
const PREFIX = /^[a-z][a-z0-9-]{0,11}$/;
const ENV_NAME = /^[a-z][a-z0-9-]{0,9}$/;

export const accountId = z
  .string({ error: 'must be a string of 12 digits. Fix: quote the account ID, e.g. "111111111111"' })
  .regex(/^\d{12}$/, { error: 'must be a 12-digit AWS account ID. Fix: copy it from `aws sts get-caller-identity`' });

export const region = z.enum(AWS_REGIONS, {
  error: `must be an AWS region code. Fix: use one of ${AWS_REGIONS.join(', ')}`,
});

export const logRetentionDays = z.number().refine((days) => (LOG_RETENTION_DAYS as readonly number[]).includes(days), {
  error: `must be a CloudWatch Logs retention period. Fix: use one of ${LOG_RETENTION_DAYS.join(', ')}`,
});

const positiveInt = (fix: string) =>
  z.number({ error: `must be a whole number. Fix: ${fix}` }).int({ error: `must be a whole number. Fix: ${fix}` });

/** An IPv4 CIDR block; prefix /16 to /24 so the VPC has room for its subnets. */
export const ipv4Cidr = z.string().refine((value) => parseCidr(value) !== undefined, {
  error: 'must be an IPv4 CIDR block with a /16 to /24 prefix whose host bits are zero. Fix: use e.g. "10.10.0.0/16"',
});

export function parseCidr(value: string): { network: number; prefix: number } | undefined {
  const match = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})\/(\d{1,2})$/.exec(value);
  if (!match) return undefined;
  const octets = match.slice(1, 5).map(Number);
  const prefix = Number(match[5]);
  if (octets.some((octet) => octet > 255) || prefix < 16 || prefix > 24) return undefined;
  const address = ((octets[0] << 24) | (octets[1] << 16) | (octets[2] << 8) | octets[3]) >>> 0;
  const mask = (0xffffffff << (32 - prefix)) >>> 0;
  if ((address & mask) >>> 0 !== address) return undefined;
  return { network: address, prefix };
}

export function cidrsOverlap(a: string, b: string): boolean {
  const first = parseCidr(a);
  const second = parseCidr(b);
  if (!first || !second) return false;
  const prefix = Math.min(first.prefix, second.prefix);
  const mask = (0xffffffff << (32 - prefix)) >>> 0;
  return (first.network & mask) >>> 0 === (second.network & mask) >>> 0;
}

// ---------------------------------------------------------------------------------------------------------------
// platform.json
// ---------------------------------------------------------------------------------------------------------------

const githubRepository = z.string().regex(/^[A-Za-z0-9_.-]+\/[A-Za-z0-9_.-]+$/, {
  error: 'must be "owner/repository". Fix: e.g. "my-org/data-platform"',
});

export const sourceSchema = z.discriminatedUnion(
  'type',
  [
    z.strictObject({
      type: z.literal('github-connection'),
      repository: githubRepository,
      /** ARN of an AVAILABLE CodeConnections (or CodeStar Connections) connection in the deployment account. */
      connectionArn: z
        .string()
        .regex(/^arn:aws:(codeconnections|codestar-connections):[a-z0-9-]+:\d{12}:connection\/[A-Za-z0-9-]+$/, {
          error:
            'must be a CodeConnections ARN. Fix: create the connection (scripts/configure-account-secrets.ts --create-connection) and paste its ARN',
        }),
    }),
    z.strictObject({
      type: z.literal('github-token'),
      repository: githubRepository,
      /** Name of the Secrets Manager secret (deployment account) holding a GitHub token. */
      tokenSecretName: z
        .string()
        .regex(/^[A-Za-z0-9/_+=.@-]{1,512}$/, {
          error: 'must be a Secrets Manager secret name. Fix: e.g. "github-token"',
        })
        .default('github-token'),
    }),
    z.strictObject({
      type: z.literal('codecommit'),
      repositoryName: z.string().regex(/^[\w.-]{1,100}$/, {
        error: 'must be a CodeCommit repository name. Fix: letters, digits, ".", "_", "-"',
      }),
      /** Create the repository in the deployment account (true) or use an existing one (false). */
      create: z.boolean().default(false),
    }),
  ],
  {
    error: (issue) =>
      issue.code === 'invalid_union'
        ? 'is not a known source type. Fix: use "github-connection" (recommended), "github-token" or "codecommit"'
        : undefined,
  },
);

export const platformSchema = z.strictObject({
  /** Short lower-case prefix of every stack and resource name. */
  prefix: z.string().regex(PREFIX, {
    error: 'must be lower-case letters, digits and "-", starting with a letter, at most 12 characters. Fix: e.g. "dp"',
  }),
  deployment: z.strictObject({
    account: accountId,
    region,
  }),
  source: sourceSchema,
  pipeline: z
    .strictObject({
      mode: z
        .enum(['branch-per-environment', 'promotion'], {
          error: 'must be "branch-per-environment" or "promotion". Fix: pick one (see README, Pipelines)',
        })
        .default('branch-per-environment'),
      /** Branch the single pipeline watches in promotion mode. */
      promotionBranch: z.string().min(1).default('main'),
      /** Order in which environments are deployed (promotion) and pipelines listed. */
      environmentOrder: z.array(z.string().regex(ENV_NAME)).min(1).default(['dev', 'test', 'prod']),
    })
    .prefault({}),
  tags: z.record(z.string().regex(/^[\w .:/=+\-@]{1,128}$/), z.string().max(256)).default({}),
});

// ---------------------------------------------------------------------------------------------------------------
// environments/<env>.json
// ---------------------------------------------------------------------------------------------------------------

const cognitoAuth = z.strictObject({
  type: z.literal('cognito'),
  /** @default 'required' */
  mfa: z.enum(['off', 'optional', 'required']).default('required'),
  /** @default false - users are created by an administrator */
  selfSignUp: z.boolean().default(false),
});
const existingCognitoAuth = z.strictObject({
  type: z.literal('cognito-existing'),
  userPoolArn: z.string().regex(/^arn:aws:cognito-idp:[a-z0-9-]+:\d{12}:userpool\/[\w-]+_[A-Za-z0-9]+$/, {
    error: 'must be a Cognito user pool ARN. Fix: copy it from the Cognito console (User pool overview)',
  }),
});
const iamAuth = z.strictObject({ type: z.literal('iam') });
const lambdaAuthorizer = z.strictObject({
  type: z.literal('lambda-authorizer'),
  functionArn: z.string().regex(/^arn:aws:lambda:[a-z0-9-]+:\d{12}:function:[\w-]+(:[\w-]+)?$/, {
    error: 'must be a Lambda function ARN. Fix: copy the authorizer function ARN from the Lambda console',
  }),
  /** Request header carrying the token. @default 'Authorization' */
  identityHeader: z.string().default('Authorization'),
});

const throttle = z.strictObject({
  rateLimit: z.number().positive({ error: 'must be > 0 requests per second. Fix: e.g. 50' }),
  burstLimit: positiveInt('e.g. 100').positive(),
});

export const environmentSchema = z
  .strictObject({
    /** Environment name; must match the file name. */
    name: z.string().regex(ENV_NAME, {
      error:
        'must be lower-case letters, digits and "-", starting with a letter, at most 10 characters. Fix: e.g. "dev"',
    }),
    account: accountId,
    region,
    /** Git branch that deploys this environment in branch-per-environment mode. */
    branch: z.string().regex(/^[\w./-]{1,100}$/, { error: 'must be a git branch name. Fix: e.g. "dev"' }),
    /** Production environments need a manual approval unless `approval.waiver` explains why not. */
    production: z.boolean().default(false),
    network: z.strictObject({
      /** Explicit AZs: synth never looks them up. At least two. */
      availabilityZones: z
        .array(z.string())
        .min(2, { error: 'must list at least two availability zones. Fix: e.g. ["eu-west-1a", "eu-west-1b"]' })
        .max(6),
      vpcCidr: ipv4Cidr,
      /** NAT gateways for private-with-egress subnets. @default 0 - no NAT, no egress subnets */
      natGateways: positiveInt('0 for none, 1 per AZ at most').min(0).default(0),
      /** Flow log retention. @default 30 */
      flowLogRetentionDays: logRetentionDays.default(30),
    }),
    storage: z
      .strictObject({
        /** "retain" keeps buckets, keys and databases when a stack is deleted; "destroy" removes them with their data. */
        removalPolicy: z.enum(['retain', 'destroy'], {
          error: 'must be "retain" or "destroy". Fix: "retain" for any environment whose data matters',
        }),
        /** Reuse an existing KMS key instead of creating one. @default - a new key with rotation */
        existingKmsKeyArn: z
          .string()
          .regex(/^arn:aws:kms:[a-z0-9-]+:\d{12}:key\/[0-9a-f-]{36}$/, {
            error: 'must be a KMS key ARN (not an alias). Fix: copy the key ARN from the KMS console',
          })
          .optional(),
        lifecycle: z
          .strictObject({
            /** Move objects to S3 Standard-IA after N days. @default 30 */
            infrequentAccessAfterDays: positiveInt('e.g. 30').min(30).default(30),
            /** Move objects to Glacier Instant Retrieval after N days. @default 90 */
            glacierAfterDays: positiveInt('e.g. 90').min(1).default(90),
            /** Delete noncurrent versions after N days. @default 30 */
            noncurrentVersionExpirationDays: positiveInt('e.g. 30').min(1).default(30),
            /** Abort incomplete multipart uploads after N days. @default 7 */
            abortIncompleteMultipartUploadDays: positiveInt('e.g. 7').min(1).default(7),
            /** Expire server access logs after N days. @default 365 */
            accessLogExpirationDays: positiveInt('e.g. 365').min(1).default(365),
          })
          .prefault({}),
        /** Role name (in the target account) allowed to delete objects from landing. @default - `<prefix>-<env>-data-engineer` */
        landingDeleterRoleName: z
          .string()
          .regex(/^[\w+=,.@-]{1,64}$/)
          .optional(),
      })
      .superRefine((storage, ctx) => {
        if (storage.lifecycle.glacierAfterDays <= storage.lifecycle.infrequentAccessAfterDays) {
          ctx.addIssue({
            code: 'custom',
            path: ['lifecycle', 'glacierAfterDays'],
            input: storage.lifecycle.glacierAfterDays,
            message: `must be greater than lifecycle.infrequentAccessAfterDays (${storage.lifecycle.infrequentAccessAfterDays}). Fix: raise it`,
          });
        }
      }),
    /** Retention of Lambda, Step Functions, API and database logs. @default 90 */
    logRetentionDays: logRetentionDays.default(90),
    approval: z
      .strictObject({
        /** Manual approval before this environment is deployed. @default false */
        manual: z.boolean().default(false),
        /** Why a production environment may deploy without approval. */
        waiver: z.string().min(10).optional(),
      })
      .prefault({}),
    alarms: z.strictObject({
      /** Email subscribed to the environment's alert topic. */
      email: z.email({ error: 'must be an email address. Fix: e.g. "data-platform-alerts@example.com"' }),
    }),
    dataMart: z
      .strictObject({
        /** Aurora Serverless v2 minimum capacity; 0 lets the cluster pause when idle. @default 0 */
        minCapacityAcu: z.number().min(0).max(256).default(0),
        /** @default 4 */
        maxCapacityAcu: z.number().min(1).max(256).default(4),
        /** Minutes idle before a cluster with minimum 0 ACU pauses (5 to 1440). @default 10 */
        autoPauseMinutes: positiveInt('between 5 and 1440').min(5).max(1440).default(10),
        /** Number of reader instances. @default 0 */
        readers: positiveInt('0 to 15').min(0).max(15).default(0),
        /** Automated backup retention. @default 7 */
        backupRetentionDays: positiveInt('1 to 35').min(1).max(35).default(7),
      })
      .prefault({})
      .superRefine((mart, ctx) => {
        if (mart.maxCapacityAcu < mart.minCapacityAcu) {
          ctx.addIssue({
            code: 'custom',
            path: ['maxCapacityAcu'],
            input: mart.maxCapacityAcu,
            message: `must be at least minCapacityAcu (${mart.minCapacityAcu}). Fix: raise maxCapacityAcu`,
          });
        }
      }),
    etl: z
      .strictObject({
        /** Glue workers of the curate job. @default 2 */
        glueWorkers: positiveInt('2 to 100').min(2).max(100).default(2),
        /** @default 'G.1X' */
        glueWorkerType: z.enum(['G.1X', 'G.2X', 'G.4X', 'G.8X']).default('G.1X'),
        /** @default 60 */
        glueTimeoutMinutes: positiveInt('e.g. 60').min(1).max(2880).default(60),
        /** Crawl landing for exploration. @default false */
        landingCrawler: z.boolean().default(false),
        /** Athena per-query scan limit. @default 10 GiB */
        athenaScanLimitBytes: positiveInt('at least 10485760 (10 MB)').min(10_485_760).default(10_737_418_240),
        /** Maintenance of every curated Iceberg table (Glue table optimizers); see {@link resolveTableMaintenance}. */
        tableMaintenance: z
          .strictObject({
            /** Days of snapshots (time travel) kept. @default 7, or 30 when `production` is true */
            snapshotRetentionDays: positiveInt('1 to 3650 days')
              .min(1, { error: 'must be at least 1 day. Fix: e.g. 7' })
              .max(3650)
              .optional(),
            /** Snapshots kept whatever their age. @default 10 */
            snapshotsToRetain: positiveInt('1 to 1000')
              .min(1, { error: 'must keep at least 1 snapshot. Fix: e.g. 10' })
              .max(1000)
              .default(10),
            /** Age after which a file no snapshot references is deleted. @default 3 */
            orphanFileRetentionDays: positiveInt('1 to 3650 days')
              .min(1, { error: 'must be at least 1 day. Fix: e.g. 3' })
              .max(3650)
              .default(3),
          })
          .prefault({}),
      })
      .prefault({}),
    api: z
      .strictObject({
        auth: z
          .discriminatedUnion('type', [cognitoAuth, existingCognitoAuth, iamAuth, lambdaAuthorizer], {
            error: (issue) =>
              issue.code === 'invalid_union'
                ? 'is not a known API auth type. Fix: use "cognito", "cognito-existing", "iam" or "lambda-authorizer"'
                : undefined,
          })
          .prefault({ type: 'cognito' }),
        /** Default stage throttling. @default { rateLimit: 50, burstLimit: 100 } */
        throttling: throttle.prefault({ rateLimit: 50, burstLimit: 100 }),
        /** Per-route throttling, keyed "METHOD /path" e.g. "POST /v1/exports". @default {} */
        routeThrottling: z.record(z.string().regex(/^(GET|POST|PUT|DELETE|PATCH) \/\S*$/), throttle).default({}),
        waf: z
          .strictObject({
            enabled: z.boolean().default(false),
            /** Requests per 5 minutes per IP. @default 2000 */
            rateLimitPer5Minutes: positiveInt('at least 100').min(100).default(2000),
          })
          .prefault({}),
      })
      .prefault({}),
  })
  .superRefine((env, ctx) => {
    env.network.availabilityZones.forEach((zone, index) => {
      if (!new RegExp(`^${env.region}[a-z]$`).test(zone)) {
        ctx.addIssue({
          code: 'custom',
          path: ['network', 'availabilityZones', index],
          input: zone,
          message: `is not an availability zone of region ${env.region}. Fix: use "${env.region}a", "${env.region}b", ...`,
        });
      }
    });
    if (new Set(env.network.availabilityZones).size !== env.network.availabilityZones.length) {
      ctx.addIssue({
        code: 'custom',
        path: ['network', 'availabilityZones'],
        input: env.network.availabilityZones,
        message: 'lists an availability zone twice. Fix: list each zone once',
      });
    }
    if (env.network.natGateways > env.network.availabilityZones.length) {
      ctx.addIssue({
        code: 'custom',
        path: ['network', 'natGateways'],
        input: env.network.natGateways,
        message: `is more than the ${env.network.availabilityZones.length} availability zones. Fix: at most one per zone`,
      });
    }
    if (env.production && !env.approval.manual && !env.approval.waiver) {
      ctx.addIssue({
        code: 'custom',
        path: ['approval', 'manual'],
        input: env.approval.manual,
        message:
          'is false for a production environment. Fix: set "approval": { "manual": true }, or explain in "approval.waiver" why Prod may deploy unreviewed',
      });
    }
    const orphanDays = env.etl.tableMaintenance.orphanFileRetentionDays;
    if (orphanDays * 24 * 60 <= env.etl.glueTimeoutMinutes) {
      ctx.addIssue({
        code: 'custom',
        path: ['etl', 'tableMaintenance', 'orphanFileRetentionDays'],
        input: orphanDays,
        message: `is not longer than etl.glueTimeoutMinutes (${env.etl.glueTimeoutMinutes} minutes): files a running curate job has written but not yet committed would be deleted as orphans. Fix: at least ${Math.floor(env.etl.glueTimeoutMinutes / 1440) + 1}`,
      });
    }
    if (env.storage.existingKmsKeyArn) {
      const [, , , keyRegion, keyAccount] = env.storage.existingKmsKeyArn.split(':');
      if (keyRegion !== env.region || keyAccount !== env.account) {
        ctx.addIssue({
          code: 'custom',
          path: ['storage', 'existingKmsKeyArn'],
          input: env.storage.existingKmsKeyArn,
          message: `is not in this environment's account and region (${env.account}, ${env.region}). Fix: use a key from that account and region`,
        });
      }
    }
  });

// ---------------------------------------------------------------------------------------------------------------
// datasets/<dataset>.json
// ---------------------------------------------------------------------------------------------------------------

const IDENTIFIER = /^[a-z][a-z0-9_]{0,62}$/;
const identifier = z.string().regex(IDENTIFIER, {
  error: 'must be a lower-case SQL identifier (letters, digits, "_", starting with a letter). Fix: e.g. "event_time"',
});

export const columnSchema = z.strictObject({
  name: identifier,
  type: z.string().refine(
    (type) => {
      const match = COLUMN_TYPE.exec(type);
      return match !== null && (match[2] === undefined || Number(match[3]) <= Number(match[2]));
    },
    {
      error:
        'must be one of string, integer, bigint, double, decimal(p,s), boolean, date, timestamp. Fix: e.g. "decimal(12,4)" (s <= p <= 38)',
    },
  ),
  /** @default true */
  nullable: z.boolean().default(true),
  /** Allowed values (string columns). */
  enum: z.array(z.string()).min(1).optional(),
  /** Regular expression every value must match (string columns). */
  pattern: z
    .string()
    .refine(
      (source) => {
        try {
          new RegExp(source);
          return true;
        } catch {
          return false;
        }
      },
      { error: 'must be a valid regular expression. Fix: test it with `new RegExp(...)` in node' },
    )
    .optional(),
  description: z.string().optional(),
});

export const datasetSchema = z
  .strictObject({
    name: identifier,
    ownerTeam: z.string().min(1),
    description: z.string().optional(),
    format: z.enum(['json', 'ndjson', 'csv'], {
      error: 'must be "json", "ndjson" or "csv" (any of them may be gzip-compressed). Fix: pick the producer format',
    }),
    columns: z.array(columnSchema).min(1),
    primaryKey: z.array(identifier).min(1),
    partitioning: z
      .discriminatedUnion('by', [
        z.strictObject({ by: z.literal('ingest-date') }),
        z.strictObject({ by: z.literal('column'), column: identifier }),
      ])
      .prefault({ by: 'ingest-date' }),
    mart: z
      .strictObject({
        /** Load curated batches into the data mart. @default false */
        enabled: z.boolean().default(false),
        /** Mart table name in schema `mart`. @default - the dataset name */
        table: identifier.optional(),
        /** Columns the API may filter on (equality / range). @default - the primary key */
        filterableColumns: z.array(identifier).optional(),
        /** Extra indexes, each a list of columns. @default [] */
        indexes: z.array(z.array(identifier).min(1)).default([]),
      })
      .prefault({}),
  })
  .superRefine((dataset, ctx) => {
    const names = dataset.columns.map((column) => column.name);
    const known = new Set(names);
    names.forEach((name, index) => {
      if (names.indexOf(name) !== index) {
        ctx.addIssue({
          code: 'custom',
          path: ['columns', index, 'name'],
          input: name,
          message: 'is declared twice. Fix: rename or remove one',
        });
      }
    });
    const mustExist = (path: (string | number)[], column: string) => {
      if (!known.has(column)) {
        ctx.addIssue({
          code: 'custom',
          path,
          input: column,
          message: `is not a column of the dataset. Fix: use one of ${names.join(', ')}`,
        });
      }
    };
    dataset.primaryKey.forEach((column, index) => {
      mustExist(['primaryKey', index], column);
    });
    dataset.primaryKey.forEach((column, index) => {
      if (dataset.columns.find((c) => c.name === column)?.nullable) {
        ctx.addIssue({
          code: 'custom',
          path: ['primaryKey', index],
          input: column,
          message: 'is a nullable column. Fix: set "nullable": false on that column',
        });
      }
    });
    if (dataset.partitioning.by === 'column') {
      mustExist(['partitioning', 'column'], dataset.partitioning.column);
      const type = dataset.columns.find((c) => c.name === (dataset.partitioning as { column: string }).column)?.type;
      if (type !== undefined && type !== 'date') {
        ctx.addIssue({
          code: 'custom',
          path: ['partitioning', 'column'],
          input: dataset.partitioning.column,
          message: `has type ${type}; partition columns must be of type date. Fix: partition by a date column or by "ingest-date"`,
        });
      }
    }
    dataset.mart.filterableColumns?.forEach((column, index) => {
      mustExist(['mart', 'filterableColumns', index], column);
    });
    dataset.mart.indexes.forEach((index, i) => {
      index.forEach((column, j) => {
        mustExist(['mart', 'indexes', i, j], column);
      });
    });
    dataset.columns.forEach((column, index) => {
      if ((column.enum || column.pattern) && column.type !== 'string') {
        ctx.addIssue({
          code: 'custom',
          path: ['columns', index, column.enum ? 'enum' : 'pattern'],
          input: column.enum ?? column.pattern,
          message: `applies only to string columns, not ${column.type}. Fix: remove it or make the column a string`,
        });
      }
    });
  });

/** Snapshot retention when `etl.tableMaintenance.snapshotRetentionDays` is not set: a week of time travel, a month in production. */
export const DEFAULT_SNAPSHOT_RETENTION_DAYS = { production: 30, other: 7 } as const;

/** `etl.tableMaintenance` with its defaults resolved (the snapshot retention depends on `production`). */
export function resolveTableMaintenance(environment: EnvironmentConfig): {
  readonly snapshotRetentionDays: number;
  readonly snapshotsToRetain: number;
  readonly orphanFileRetentionDays: number;
} {
  const maintenance = environment.etl.tableMaintenance;
  return {
    snapshotRetentionDays:
      maintenance.snapshotRetentionDays ??
      (environment.production ? DEFAULT_SNAPSHOT_RETENTION_DAYS.production : DEFAULT_SNAPSHOT_RETENTION_DAYS.other),
    snapshotsToRetain: maintenance.snapshotsToRetain,
    orphanFileRetentionDays: maintenance.orphanFileRetentionDays,
  };
}

export type PlatformConfig = z.infer<typeof platformSchema>;
export type SourceConfig = PlatformConfig['source'];
export type EnvironmentConfig = z.infer<typeof environmentSchema>;
export type ApiAuthConfig = EnvironmentConfig['api']['auth'];
export type DatasetConfig = z.infer<typeof datasetSchema>;
export type ColumnConfig = DatasetConfig['columns'][number];

/** The whole validated configuration: what `bin/` hands to the pipelines and stages. */
export interface AppConfig {
  readonly platform: PlatformConfig;
  /** Environments in `platform.pipeline.environmentOrder` order. */
  readonly environments: readonly EnvironmentConfig[];
  readonly datasets: readonly DatasetConfig[];
}
