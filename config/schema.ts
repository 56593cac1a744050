/**
 * The configuration contract of the platform, as zod schemas.
 *
 * Every value a stack uses comes from here: stacks never read `process.env` or CDK context. Messages are written as
 * "what is expected. Fix: what to do", because `load.ts` prefixes them with the file, the key path and the value.
 */
import * as z from 'zod';
import { API_ROUTE_KEYS, isApiRouteKey } from '../lib/assets/api/routes';
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

/** A written reason for departing from a production rule (like `approval.waiver`): at least 10 characters. */
const waiver = (why: string) =>
  z
    .string({ error: `must be a sentence saying why ${why}. Fix: write the reason, e.g. who agreed and until when` })
    .trim()
    .min(10, {
      error: `must say in at least 10 characters why ${why}. Fix: write the reason, e.g. who agreed and until when`,
    });

/** The smallest retention a production environment may give its CloudWatch logs. */
export const PRODUCTION_MIN_LOG_RETENTION_DAYS = 365;

/** Enhanced Monitoring intervals RDS accepts (0 turns it off). */
export const ENHANCED_MONITORING_SECONDS = [0, 1, 5, 10, 15, 30, 60] as const;
/** Enhanced Monitoring interval of production environments that do not set one. */
export const PRODUCTION_ENHANCED_MONITORING_SECONDS = 60;

/** Aurora Serverless v2 capacity: half-ACU steps from `min` to 256 (what RDS and aws-cdk-lib accept). */
const acu = (min: number, example: string) =>
  z
    .number({ error: `must be a number of ACUs. Fix: ${example}` })
    .min(min, { error: `must be between ${min} and 256 ACUs. Fix: ${example}` })
    .max(256, { error: `must be between ${min} and 256 ACUs. Fix: ${example}` })
    .multipleOf(0.5, {
      error: `must be a multiple of 0.5: Aurora Serverless v2 capacity moves in half-ACU steps. Fix: ${example}`,
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

/** Subnet groups the VPC address plan leaves room for in every AZ (Data, Public, Egress), whether or not NAT is on. */
export const PLANNED_SUBNET_GROUPS = 3;
/** Smallest subnet AWS allows. */
export const SMALLEST_SUBNET_PREFIX = 28;

/**
 * Prefix of each VPC subnet: the VPC CIDR split into room for {@link PLANNED_SUBNET_GROUPS} groups in every AZ, so
 * adding the NAT groups later keeps the `Data` subnets (and the database in them) where they are.
 */
export function dataSubnetPrefix(vpcCidr: string, availabilityZones: number): number {
  const vpcPrefix = Number(vpcCidr.split('/')[1]);
  return vpcPrefix + Math.ceil(Math.log2(PLANNED_SUBNET_GROUPS * availabilityZones));
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
// Tags
// ---------------------------------------------------------------------------------------------------------------

/** Characters AWS accepts in tag keys and values (the pattern of the tagging APIs). */
const TAG_CHARACTERS = /^[\p{L}\p{Z}\p{N}_.:/=+\-@]*$/u;
/** Prefix AWS reserves, in any case, for its own tag keys and values. */
const RESERVED_TAG_PREFIX = /^aws:/i;
/** Tag keys the stage sets on every resource itself (data-platform-stage.ts): a user tag of that key is overwritten. */
export const PLATFORM_TAG_KEYS = ['environment'] as const;
/**
 * User tags per resource: AWS allows 50, the platform sets `environment` and aws-cdk-lib sets up to three more on
 * VPC resources (`Name`, `aws-cdk:subnet-name`, `aws-cdk:subnet-type`).
 */
export const MAX_USER_TAGS = 45;

interface TagProblem {
  readonly path: (string | number)[];
  readonly message: string;
  readonly params: { readonly received: string };
}

/** What AWS (or the platform) would refuse in a set of tags, as issues on `tags` or `tags.<key>`. */
function tagProblems(tags: Record<string, string>): TagProblem[] {
  const problems: TagProblem[] = [];
  const keys = Object.keys(tags);
  const characters = '(Unicode letters, digits, spaces and _ . : / = + - @)';
  const onKey = (key: string, message: string) =>
    problems.push({ path: [], message, params: { received: `has key ${JSON.stringify(key)}` } });
  for (const key of keys) {
    const length = [...key].length;
    if (RESERVED_TAG_PREFIX.test(key)) {
      onKey(key, 'starts with "aws:", a prefix AWS reserves for its own tags (deploys fail). Fix: drop the prefix');
    } else if (length < 1 || length > 128) {
      onKey(key, `is ${length} characters; AWS tag keys are 1 to 128. Fix: shorten it`);
    } else if (!TAG_CHARACTERS.test(key)) {
      onKey(key, `holds characters AWS refuses in tag keys. Fix: use only ${characters}`);
    } else if ((PLATFORM_TAG_KEYS as readonly string[]).includes(key)) {
      onKey(key, 'is the tag the platform sets to the environment name on every resource. Fix: use another key');
    }
    const value = tags[key];
    const valueLength = [...value].length;
    const onValue = (message: string) =>
      problems.push({ path: [key], message, params: { received: `has value ${JSON.stringify(value)}` } });
    if (RESERVED_TAG_PREFIX.test(value)) {
      onValue('starts with "aws:", a prefix AWS reserves for its own tags (deploys fail). Fix: drop the prefix');
    } else if (valueLength > 256) {
      onValue(`is ${valueLength} characters; AWS tag values are at most 256. Fix: shorten it`);
    } else if (!TAG_CHARACTERS.test(value)) {
      onValue(`holds characters AWS refuses in tag values. Fix: use only ${characters}`);
    }
  }
  if (keys.length > MAX_USER_TAGS) {
    problems.push({
      path: [],
      message: `AWS allows 50 tags per resource and the platform and aws-cdk-lib set up to ${50 - MAX_USER_TAGS}. Fix: keep at most ${MAX_USER_TAGS}`,
      params: { received: `has ${keys.length} tags` },
    });
  }
  return problems;
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

/** Delivery engines: CDK Pipelines in the deployment account, or GitHub Actions workflows with OIDC (no keys). */
export const DELIVERY_ENGINES = ['codepipeline', 'github-actions'] as const;

export const deliverySchema = z
  .strictObject({
    /** @default 'codepipeline' - self-mutating CDK Pipelines in the deployment account */
    engine: z
      .enum(DELIVERY_ENGINES, {
        error:
          'must be "codepipeline" or "github-actions". Fix: "codepipeline" for CDK Pipelines in the deployment account, "github-actions" for the workflows of `npm run workflows` (see docs/setting-up-real-accounts.md)',
      })
      .default('codepipeline'),
    github: z
      .strictObject({
        /**
         * The GitHub repository whose workflows deploy, as in the OIDC token's `sub` (`repo:<owner>/<name>:...`).
         * @default - `source.repository` when the source is on GitHub
         */
        repository: githubRepository.optional(),
      })
      .prefault({}),
  })
  .prefault({});

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
  /** Tags of every resource of every environment (AWS tag rules; see {@link tagProblems}). @default {} */
  tags: z
    .record(z.string(), z.string({ error: 'must be a string. Fix: quote the tag value' }))
    .default({})
    .superRefine((tags, ctx) => {
      for (const problem of tagProblems(tags)) ctx.addIssue({ code: 'custom', ...problem });
    }),
  /** What delivers the environments (a CodeCommit source needs "codepipeline": load.ts). @default { engine: 'codepipeline' } */
  delivery: deliverySchema,
});

// ---------------------------------------------------------------------------------------------------------------
// environments/<env>.json
// ---------------------------------------------------------------------------------------------------------------

const cognitoAuth = z.strictObject({
  type: z.literal('cognito'),
  /** @default 'required' */
  mfa: z
    .enum(['off', 'optional', 'required'], {
      error: 'must be "off", "optional" or "required". Fix: "required" (production environments need it)',
    })
    .default('required'),
  /** Why a production environment's user pool may do without required MFA. @default - none: production requires MFA */
  mfaWaiver: waiver('this production user pool may sign users in without MFA').optional(),
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
        /** Why a production environment may destroy its data with its stacks. @default - none: production retains */
        removalPolicyWaiver: waiver("this production environment's data may be deleted with its stacks").optional(),
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
        minCapacityAcu: acu(0, 'e.g. 0 (pauses when idle), 0.5 or 2').default(0),
        /** @default 4 */
        maxCapacityAcu: acu(1, 'e.g. 4').default(4),
        /** Minutes idle before a cluster with minimum 0 ACU pauses (5 to 1440). @default 10 */
        autoPauseMinutes: positiveInt('between 5 and 1440').min(5).max(1440).default(10),
        /** Number of reader instances. @default 0 */
        readers: positiveInt('0 to 15').min(0).max(15).default(0),
        /** Automated backup retention. @default 7 */
        backupRetentionDays: positiveInt('1 to 35').min(1).max(35).default(7),
        /**
         * Enhanced Monitoring (OS metrics of each instance, every N seconds, in the RDSOSMetrics log group); 0 is off.
         * @default 60 in a production environment, 0 otherwise
         */
        enhancedMonitoringSeconds: z
          .union(
            ENHANCED_MONITORING_SECONDS.map((seconds) => z.literal(seconds)),
            {
              error: `must be one of ${ENHANCED_MONITORING_SECONDS.join(', ')} seconds (0 turns Enhanced Monitoring off). Fix: e.g. 60`,
            },
          )
          .optional(),
        /** Days between rotations of the login secrets (reader, loader). @default 30 */
        loginRotationDays: positiveInt('1 to 365, e.g. 30').min(1).max(365).default(30),
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
        /**
         * Stage A: most landed objects validated at once (SQS event source maximum concurrency). Bounds the Data API
         * sessions a burst of files opens. @default 10
         */
        validateConcurrency: positiveInt('2 to 1000').min(2).max(1000).default(10),
        /**
         * Stage B: when the staged runs of a dataset become one batch (one curate job run, one mart load). A batch
         * starts when the dataset's waiting runs reach `maxBytes` of staged data or the oldest has waited
         * `maxWaitMinutes`, whichever comes first; one batch per dataset at a time.
         */
        batch: z
          .strictObject({
            /** Staged bytes that start a batch at once (and the most one batch takes). @default 536870912 (512 MiB) */
            maxBytes: positiveInt('at least 1048576 (1 MiB)').min(1_048_576).default(536_870_912),
            /** Longest a staged run waits for its batch. @default 15 */
            maxWaitMinutes: positiveInt('1 to 1440').min(1).max(1440).default(15),
            /**
             * How often a waiting batch loop looks at the staged runs again (it only runs while runs wait, so an idle
             * platform polls nothing). @default 60
             */
            pollSeconds: positiveInt('10 to 900').min(10).max(900).default(60),
            /** Attempts of a failed batch (same runs each time) before it is abandoned and its runs marked FAILED. @default 3 */
            maxAttempts: positiveInt('1 to 10').min(1).max(10).default(3),
            /** Wait before the second attempt of a failed batch; doubles for each later one. @default 5 */
            retryDelayMinutes: positiveInt('1 to 1440').min(1).max(1440).default(5),
          })
          .prefault({}),
        /**
         * What one landed file may cost the validate function. Beyond a limit reading stops at once and the file is
         * quarantined whole (status UNREADABLE, a reason naming the limit, the value reached and this key); nothing
         * of it is staged. The function has 1024 MB and 15 minutes, and validates ~50-100 MB of text per second.
         */
        validation: z
          .strictObject({
            /**
             * Text a gzip file may inflate to. 10 GiB is ~2-4 minutes of validation, well inside the 15-minute
             * function, and far above what producers send in one file (Firehose batches are at most 128 MB).
             * @default 10737418240 (10 GiB)
             */
            maxInflatedBytes: positiveInt('at least 1048576 (1 MiB), e.g. 10737418240 (10 GiB)')
              .min(1_048_576)
              .default(10_737_418_240),
            /**
             * Inflated bytes per compressed byte, checked once 16 MiB of text are out. NDJSON and CSV compress 4-20x
             * (repeated keys and codes: up to ~50x); deflate's ceiling is ~1032x, which is what bombs use. 100 keeps
             * twice the margin over the most repetitive genuine exports, and stops a 1000x bomb 16 KiB into its input.
             * @default 100
             */
            maxInflationRatio: z
              .number({ error: 'must be a number. Fix: e.g. 100' })
              .min(2, { error: 'must be at least 2 (genuine text compresses 4x or more). Fix: e.g. 100' })
              .default(100),
            /**
             * Size of a file that is not compressed: the same 10 GiB as for inflated text, so that gzip or not, a file
             * costs the same at most. @default 10737418240 (10 GiB)
             */
            maxUncompressedObjectBytes: positiveInt('at least 1048576 (1 MiB), e.g. 10737418240 (10 GiB)')
              .min(1_048_576)
              .default(10_737_418_240),
            /**
             * Rejected rows written per file; one more and the file is quarantined whole. Rejected rows are for a
             * person to read and land again: beyond 10,000 the file is wrong as a whole (format, schema version), and
             * per-row reasons only multiply the output (a 3 KB gzip of `{}` lines once wrote 9 GB of them). 0 refuses
             * a file at its first bad row. @default 10000
             */
            maxRejectedRows: positiveInt('0 or more, e.g. 10000').min(0).default(10_000),
            /**
             * Characters of one record (NDJSON line, JSON array element, CSV record), so at least as many bytes. Flat
             * records of scalar columns take a few KB; 1 Mi leaves room for long text while one record, its parsed
             * value and its rejected-row copy stay a few MB of the function's memory. At most 16 Mi.
             * @default 1048576
             */
            maxRecordChars: positiveInt('between 1024 and 16777216, e.g. 1048576')
              .min(1024)
              .max(16_777_216)
              .default(1_048_576),
            /**
             * Seconds of the invocation kept back to quarantine a file that could not be read in time (abort the
             * staged upload, copy the file, write its reason) instead of timing out and being retried. 60 s covers
             * the copy of the largest file (10 GiB, copied in parallel parts) with room. @default 60
             */
            timeBudgetMarginSeconds: positiveInt('between 10 and 300, e.g. 60').min(10).max(300).default(60),
          })
          .prefault({}),
        /**
         * The freshness alarm fires when a run has waited longer than this in STAGED (oldest staged run of any
         * dataset). Must exceed what a healthy run waits: `batch.maxWaitMinutes` + `glueTimeoutMinutes` + the mart
         * load (16 minutes). @default - that sum plus 30 minutes
         */
        freshnessAlarmMinutes: positiveInt('e.g. 120 (minutes)').min(5).max(10080).optional(),
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
        routeThrottling: z
          .record(z.string(), throttle)
          .default({})
          .superRefine((routes, ctx) => {
            for (const route of Object.keys(routes).filter((key) => !isApiRouteKey(key))) {
              ctx.addIssue({
                code: 'custom',
                message: `names no route of the API. Fix: use one of ${API_ROUTE_KEYS.join(', ')}`,
                params: { received: `has key ${JSON.stringify(route)}` },
              });
            }
          }),
        /**
         * Largest file an upload URL (POST /v1/datasets/{dataset}/uploads) accepts, in bytes: the caller declares the
         * size and the URL is signed for exactly that Content-Length. At most 5 GiB, S3's limit for one PUT.
         * @default 1073741824 (1 GiB)
         */
        maxUploadBytes: positiveInt('e.g. 1073741824 (1 GiB), at most 5368709120 (5 GiB)')
          .min(1, { error: 'must be at least 1. Fix: e.g. 1073741824 (1 GiB)' })
          .max(5_368_709_120, {
            error: 'must be at most 5368709120 (5 GiB), the largest object one S3 PUT can write. Fix: lower it',
          })
          .default(1_073_741_824),
        waf: z
          .strictObject({
            enabled: z.boolean().default(false),
            /** Requests per 5 minutes per IP. @default 2000 */
            rateLimitPer5Minutes: positiveInt('at least 100').min(100).default(2000),
          })
          .prefault({}),
      })
      .prefault({}),
    /**
     * Where the S3 data events of landing and curated are recorded (who read or wrote which object): a trail the
     * platform creates (KMS-encrypted with the platform key, its own bucket, objects expired after `retentionDays`),
     * or an existing organization trail that already records them (the platform then creates nothing).
     * @default { type: 'create', retentionDays: 365 }
     */
    auditTrail: z
      .discriminatedUnion(
        'type',
        [
          z.strictObject({
            type: z.literal('create'),
            /** Days the trail's log files are kept. @default 365 */
            retentionDays: positiveInt('1 to 3653 days, e.g. 365').min(1).max(3653).default(365),
          }),
          z.strictObject({
            type: z.literal('organization'),
            /** Name of the organization trail (management account) that records these buckets' data events. */
            trailName: z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._-]{2,127}$/, {
              error:
                'must be a CloudTrail trail name (3 to 128 letters, digits, ".", "_", "-"). Fix: copy it from the CloudTrail console of the management account',
            }),
          }),
        ],
        {
          error: (issue) =>
            issue.code === 'invalid_union'
              ? 'is not a known audit trail type. Fix: use "create" or "organization"'
              : undefined,
        },
      )
      .prefault({ type: 'create' }),
    /** Buffering of the Firehose streams behind POST /v1/datasets/{dataset}/events (one stream per dataset). */
    events: z
      .strictObject({
        /** MiB a stream gathers before it delivers an object to landing (1 to 128). @default 64 */
        bufferSizeMiB: positiveInt('1 to 128').min(1).max(128).default(64),
        /** Longest wait before a delivery, whatever the size (0 to 900 seconds). @default 300 */
        bufferIntervalSeconds: positiveInt('0 to 900').min(0).max(900).default(300),
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
    const subnets = dataSubnetPrefix(env.network.vpcCidr, env.network.availabilityZones.length);
    if (subnets > SMALLEST_SUBNET_PREFIX) {
      ctx.addIssue({
        code: 'custom',
        path: ['network', 'vpcCidr'],
        input: env.network.vpcCidr,
        message: `is too small: it leaves /${subnets} subnets for ${PLANNED_SUBNET_GROUPS} subnet groups in ${env.network.availabilityZones.length} availability zones, and AWS subnets are at most /${SMALLEST_SUBNET_PREFIX}. Fix: use a larger block (e.g. a /20 or /16) or fewer availability zones`,
      });
    }
    productionRules(env, ctx);
    const healthyWaitMinutes = healthyStagedMinutes(env.etl);
    if (env.etl.freshnessAlarmMinutes !== undefined && env.etl.freshnessAlarmMinutes <= healthyWaitMinutes) {
      ctx.addIssue({
        code: 'custom',
        path: ['etl', 'freshnessAlarmMinutes'],
        input: env.etl.freshnessAlarmMinutes,
        message: `is not more than a healthy run may wait in STAGED (${healthyWaitMinutes} minutes: etl.batch.maxWaitMinutes ${env.etl.batch.maxWaitMinutes} + etl.glueTimeoutMinutes ${env.etl.glueTimeoutMinutes} + ${MART_LOAD_MINUTES} for the mart load): the alarm would fire on every slow but healthy batch. Fix: at least ${healthyWaitMinutes + 1}, or remove it for the default`,
      });
    }
    if (
      env.production &&
      env.auditTrail.type === 'create' &&
      env.auditTrail.retentionDays < PRODUCTION_MIN_LOG_RETENTION_DAYS
    ) {
      ctx.addIssue({
        code: 'custom',
        path: ['auditTrail', 'retentionDays'],
        input: env.auditTrail.retentionDays,
        message: `keeps the audit trail of a production environment less than ${PRODUCTION_MIN_LOG_RETENTION_DAYS} days. Fix: at least ${PRODUCTION_MIN_LOG_RETENTION_DAYS}`,
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
  })
  // Defaults that depend on another key, resolved once here.
  .transform((env) => ({
    ...env,
    etl: {
      ...env.etl,
      freshnessAlarmMinutes: env.etl.freshnessAlarmMinutes ?? healthyStagedMinutes(env.etl) + FRESHNESS_MARGIN_MINUTES,
    },
    dataMart: {
      ...env.dataMart,
      enhancedMonitoringSeconds:
        env.dataMart.enhancedMonitoringSeconds ?? (env.production ? PRODUCTION_ENHANCED_MONITORING_SECONDS : 0),
    },
  }));

/** Longest mart load of a batch (the LoadMart task's timeout in lib/constructs/batch-stage.ts). */
export const MART_LOAD_MINUTES = 16;
/** What the default freshness threshold adds to the longest healthy wait. */
export const FRESHNESS_MARGIN_MINUTES = 30;

/** Longest a run waits in STAGED when all is well: its batch's wait, the curate job, the mart load. */
export function healthyStagedMinutes(etl: {
  readonly batch: { readonly maxWaitMinutes: number };
  readonly glueTimeoutMinutes: number;
}): number {
  return etl.batch.maxWaitMinutes + etl.glueTimeoutMinutes + MART_LOAD_MINUTES;
}

/** The parts of an environment the production rules look at. */
interface ProductionRuleInput {
  readonly production: boolean;
  readonly logRetentionDays: number;
  readonly network: { readonly flowLogRetentionDays: number };
  readonly storage: { readonly removalPolicy: 'retain' | 'destroy'; readonly removalPolicyWaiver?: string };
  readonly api: { readonly auth: { readonly type: string; readonly mfa?: string; readonly mfaWaiver?: string } };
}

/**
 * What a production environment may not do without a written waiver (data destroyed with its stacks, sign-in without
 * MFA), and may not do at all (logs kept under a year). A waiver that waives nothing is refused, so none goes stale.
 */
function productionRules(env: ProductionRuleInput, ctx: z.RefinementCtx): void {
  const issue = (path: (string | number)[], input: unknown, message: string, params?: Record<string, unknown>) =>
    ctx.addIssue({ code: 'custom', path, input, message, params });
  const { storage } = env;
  if (env.production && storage.removalPolicy === 'destroy' && storage.removalPolicyWaiver === undefined) {
    issue(
      ['storage', 'removalPolicy'],
      storage.removalPolicy,
      'would delete the buckets, the key and the database with their data when a stack of this production environment is deleted. Fix: set "retain", or explain in "storage.removalPolicyWaiver" (at least 10 characters) why this data may be destroyed',
    );
  }
  if (storage.removalPolicyWaiver !== undefined && !(env.production && storage.removalPolicy === 'destroy')) {
    issue(
      ['storage', 'removalPolicyWaiver'],
      storage.removalPolicyWaiver,
      `waives nothing: it only applies to a production environment with "removalPolicy": "destroy" (this one is ${env.production ? 'production' : 'not production'}, removalPolicy "${storage.removalPolicy}"). Fix: remove it`,
    );
  }
  const { auth } = env.api;
  if (auth.type === 'cognito') {
    if (env.production && auth.mfa !== 'required' && auth.mfaWaiver === undefined) {
      issue(
        ['api', 'auth', 'mfa'],
        auth.mfa,
        'lets users of this production API sign in with a password alone. Fix: set "mfa": "required", or explain in "api.auth.mfaWaiver" (at least 10 characters) why this user pool may do without',
      );
    }
    if (auth.mfaWaiver !== undefined && !(env.production && auth.mfa !== 'required')) {
      issue(
        ['api', 'auth', 'mfaWaiver'],
        auth.mfaWaiver,
        `waives nothing: it only applies to a production environment whose "mfa" is not "required" (this one is ${env.production ? 'production' : 'not production'}, mfa "${auth.mfa}"). Fix: remove it`,
      );
    }
  }
  if (env.production) {
    const retentions: [string[], number][] = [
      [['logRetentionDays'], env.logRetentionDays],
      [['network', 'flowLogRetentionDays'], env.network.flowLogRetentionDays],
    ];
    for (const [path, days] of retentions) {
      if (days < PRODUCTION_MIN_LOG_RETENTION_DAYS) {
        issue(
          path,
          days,
          `keeps the logs of a production environment less than ${PRODUCTION_MIN_LOG_RETENTION_DAYS} days. Fix: use one of ${LOG_RETENTION_DAYS.filter((d) => d >= PRODUCTION_MIN_LOG_RETENTION_DAYS).join(', ')}`,
          { default: days },
        );
      }
    }
  }
}

// ---------------------------------------------------------------------------------------------------------------
// datasets/<dataset>.json
// ---------------------------------------------------------------------------------------------------------------

const IDENTIFIER = /^[a-z][a-z0-9_]{0,62}$/;
const identifier = z.string().regex(IDENTIFIER, {
  error: 'must be a lower-case SQL identifier (letters, digits, "_", starting with a letter). Fix: e.g. "event_time"',
});

/**
 * Column names the platform adds to every row on its way: `_ingest_date` and `_record` (staged by lambda/validate,
 * contract.ts STAGED_METADATA), `_batch_id` and `_run_id` (lineage of the curated Iceberg tables; the hidden partition
 * of an ingest-date dataset is `day(_ingest_date)`). The curate job's work columns are namespaced `_curate_*`. Config
 * identifiers start with a letter, so no dataset column can take these names; the check names them anyway.
 */
export const RESERVED_COLUMN_NAMES = ['_batch_id', '_ingest_date', '_record', '_run_id'] as const;
/** Longest mart table name: PostgreSQL truncates identifiers to 63 bytes, and the primary key is `<table>_pkey`. */
export const MAX_MART_TABLE_NAME = 63 - '_pkey'.length;
/** Largest decimal precision Spark, Parquet, Glue and Athena accept (PostgreSQL would take more). */
const MAX_DECIMAL_PRECISION = 38;

const columnName = z.string().superRefine((name, ctx) => {
  if ((RESERVED_COLUMN_NAMES as readonly string[]).includes(name)) {
    ctx.addIssue({
      code: 'custom',
      message: `is a column the platform adds to every row (reserved: ${RESERVED_COLUMN_NAMES.join(', ')}). Fix: rename the column`,
    });
  } else if (!IDENTIFIER.test(name)) {
    ctx.addIssue({
      code: 'custom',
      message:
        'must be a lower-case SQL identifier (letters, digits, "_", starting with a letter). Fix: e.g. "event_time"',
    });
  }
});

export const columnSchema = z.strictObject({
  name: columnName,
  type: z.string().refine(
    (type) => {
      const match = COLUMN_TYPE.exec(type);
      if (match === null) return false;
      if (match[2] === undefined) return true;
      const [precision, scale] = [Number(match[2]), Number(match[3])];
      return precision >= 1 && precision <= MAX_DECIMAL_PRECISION && scale <= precision;
    },
    {
      error: `must be one of string, integer, bigint, double, decimal(p,s), boolean, date, timestamp. Fix: e.g. "decimal(12,4)" (1 <= p <= ${MAX_DECIMAL_PRECISION}, s <= p)`,
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

/** Metric dimension columns per dataset at most. */
export const MAX_METRIC_DIMENSIONS = 2;
/** Named values per dimension column at most (the rest count as {@link OTHER_DIMENSION_VALUE}). */
export const MAX_DIMENSION_VALUES = 10;
/** Dimension names stage A's metrics carry already (lambda/shared/metrics-contract.ts). */
export const RESERVED_DIMENSION_NAMES = ['service', 'dataset'] as const;
/** The value a dimension takes for anything outside its list, nulls included. */
export const OTHER_DIMENSION_VALUE = 'other';

interface DimensionColumn {
  readonly name: string;
  readonly type: string;
  readonly enum?: readonly string[];
}

/** The values a metric dimension counts by name: its own list, the column's enum, or true/false. */
export function dimensionValues(
  columns: readonly DimensionColumn[],
  dimension: { readonly column: string; readonly values?: readonly string[] },
): readonly string[] {
  const column = columns.find((c) => c.name === dimension.column);
  return dimension.values ?? column?.enum ?? (column?.type === 'boolean' ? ['true', 'false'] : []);
}

/**
 * The series stage A can write for a dimension: its values, and "other" when some accepted row can fall outside them
 * (a nullable column, a column without enum, or values that leave part of the enum out).
 */
export function dimensionBuckets(
  columns: readonly (DimensionColumn & { readonly nullable?: boolean })[],
  dimension: { readonly column: string; readonly values?: readonly string[] },
): readonly string[] {
  const column = columns.find((c) => c.name === dimension.column);
  const values = dimensionValues(columns, dimension);
  const possible = column?.enum ?? (column?.type === 'boolean' ? ['true', 'false'] : undefined);
  const unlisted = possible === undefined || possible.some((value) => !values.includes(value));
  return unlisted || column?.nullable !== false ? [...values, OTHER_DIMENSION_VALUE] : values;
}

function metricDimensionProblems(
  columns: readonly DimensionColumn[],
  dimensions: readonly { readonly column: string; readonly values?: readonly string[] }[],
  issue: (path: (string | number)[], input: unknown, message: string) => void,
): void {
  dimensions.forEach((dimension, index) => {
    const column = columns.find((c) => c.name === dimension.column);
    if (column === undefined) {
      issue(
        [index, 'column'],
        dimension.column,
        `is not a column of the dataset. Fix: use one of ${columns.map((c) => c.name).join(', ')}`,
      );
      return;
    }
    if ((RESERVED_DIMENSION_NAMES as readonly string[]).includes(dimension.column)) {
      issue(
        [index, 'column'],
        dimension.column,
        `is a dimension every stage A metric already has (${RESERVED_DIMENSION_NAMES.join(', ')}). Fix: rename the column or pick another`,
      );
    }
    if (dimensions.findIndex((d) => d.column === dimension.column) !== index) {
      issue([index, 'column'], dimension.column, 'is named twice. Fix: remove one');
    }
    if (column.type !== 'string' && column.type !== 'boolean') {
      issue(
        [index, 'column'],
        dimension.column,
        `has type ${column.type}: only string and boolean columns have few enough values to be a metric dimension (each value is a metric). Fix: pick a string column with an enum (or "values") or a boolean`,
      );
      return;
    }
    const values = dimensionValues(columns, dimension);
    if (values.length === 0) {
      issue(
        [index, 'values'],
        dimension.values,
        `is missing: column ${dimension.column} has no enum, so its values are unbounded. Fix: list up to ${MAX_DIMENSION_VALUES} values to count by name (the rest count as "${OTHER_DIMENSION_VALUE}")`,
      );
    } else if (values.length > MAX_DIMENSION_VALUES) {
      issue(
        [index, 'values'],
        dimension.values,
        `is missing: the enum of ${dimension.column} has ${values.length} values, more than ${MAX_DIMENSION_VALUES}. Fix: list up to ${MAX_DIMENSION_VALUES} of them (the rest count as "${OTHER_DIMENSION_VALUE}")`,
      );
    }
    values.forEach((value, valueIndex) => {
      if (value === OTHER_DIMENSION_VALUE) {
        issue([index, 'values', valueIndex], value, `is the value every unlisted value counts as. Fix: remove it`);
      } else if (dimension.values && column.enum && !column.enum.includes(value)) {
        issue(
          [index, 'values', valueIndex],
          value,
          `is not in the enum of ${dimension.column}. Fix: use one of ${column.enum.join(', ')}`,
        );
      } else if (dimension.values && column.type === 'boolean' && value !== 'true' && value !== 'false') {
        issue([index, 'values', valueIndex], value, 'is not a boolean. Fix: "true" or "false"');
      }
    });
  });
}

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
    /**
     * What stage A counts for the dashboards. Each dimension column adds one metric per listed value (and one for
     * "other") to the accepted-rows metric, so the allow-list is short: {@link MAX_METRIC_DIMENSIONS} columns of
     * {@link MAX_DIMENSION_VALUES} values at most; values outside the list (and nulls) are counted as "other".
     * @default { dimensions: [], ratios: [] }
     */
    metrics: z
      .strictObject({
        dimensions: z
          .array(
            z.strictObject({
              /** A string (enum) or boolean column. */
              column: identifier,
              /** Values counted by name. @default - the column's enum, or true/false for a boolean */
              values: z
                .array(z.string().min(1).max(64))
                .min(1)
                .max(MAX_DIMENSION_VALUES, {
                  error: `must list at most ${MAX_DIMENSION_VALUES} values (each is a metric). Fix: keep the most frequent, the rest count as "${OTHER_DIMENSION_VALUE}"`,
                })
                .optional(),
            }),
          )
          .max(MAX_METRIC_DIMENSIONS, {
            error: `must name at most ${MAX_METRIC_DIMENSIONS} columns (each multiplies the metrics stage A writes). Fix: keep the ${MAX_METRIC_DIMENSIONS} the business dashboard needs`,
          })
          .default([]),
        /** Ratio widgets of the business dashboard: this dataset's accepted rows over another's (e.g. clicks / impressions). */
        ratios: z
          .array(
            z.strictObject({
              /** Widget title, e.g. "Click-through rate". */
              label: z.string().min(1).max(60),
              /** The dataset whose accepted rows divide this one's. */
              denominator: identifier,
            }),
          )
          .max(5, { error: 'must declare at most 5 ratios. Fix: keep the ones the business dashboard needs' })
          .default([]),
      })
      .prefault({}),
    mart: z
      .strictObject({
        /** Load curated batches into the data mart. @default false */
        enabled: z.boolean().default(false),
        /** Mart table name in schema `mart`. @default - the dataset name */
        table: identifier
          .max(MAX_MART_TABLE_NAME, {
            error: `must be at most ${MAX_MART_TABLE_NAME} characters (PostgreSQL names its primary key "<table>_pkey" within 63). Fix: shorten it`,
          })
          .optional(),
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
    if (dataset.mart.enabled && dataset.mart.table === undefined && dataset.name.length > MAX_MART_TABLE_NAME) {
      ctx.addIssue({
        code: 'custom',
        path: ['mart', 'table'],
        message: `defaults to the dataset name, which is longer than the ${MAX_MART_TABLE_NAME} characters a mart table may have (PostgreSQL names its primary key "<table>_pkey" within 63). Fix: set a shorter "mart.table"`,
        params: { received: 'is not set' },
      });
    }
    metricDimensionProblems(dataset.columns, dataset.metrics.dimensions, (path, input, message) =>
      ctx.addIssue({ code: 'custom', path: ['metrics', 'dimensions', ...path], input, message }),
    );
    dataset.metrics.ratios.forEach((ratio, index) => {
      if (ratio.denominator === dataset.name) {
        ctx.addIssue({
          code: 'custom',
          path: ['metrics', 'ratios', index, 'denominator'],
          input: ratio.denominator,
          message: 'is this dataset: the ratio would always be 1. Fix: name another dataset',
        });
      }
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
