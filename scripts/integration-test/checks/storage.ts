/**
 * Storage checks: every zone bucket exists, is encrypted as designed (SSE-KMS with the platform key; the logs bucket
 * SSE-S3, which is what S3 server access logging can deliver to), denies non-TLS requests, blocks public access, and
 * landing/curated are versioned.
 */
import {
  GetBucketEncryptionCommand,
  GetBucketPolicyCommand,
  GetBucketVersioningCommand,
  GetPublicAccessBlockCommand,
  HeadBucketCommand,
  S3Client,
} from '@aws-sdk/client-s3';
import { type CheckContext, output } from '../context';
import { type Check, CheckFailedError, type CheckModule } from '../runner';

interface Zone {
  readonly name: 'landing' | 'curated' | 'logs' | 'artifacts';
  readonly encryption: 'platform-key' | 'sse-s3';
  readonly versioned: boolean;
}

export const ZONES: readonly Zone[] = [
  { name: 'landing', encryption: 'platform-key', versioned: true },
  { name: 'curated', encryption: 'platform-key', versioned: true },
  { name: 'logs', encryption: 'sse-s3', versioned: false },
  { name: 'artifacts', encryption: 'platform-key', versioned: false },
];

const bucketVariable = (zone: Zone) => `${zone.name.toUpperCase()}_BUCKET_NAME`;

export const storageChecks: CheckModule = {
  name: 'storage',
  requiredOutputs: ['KMS_KEY_ARN', ...ZONES.map(bucketVariable)],
  checks: () =>
    ZONES.flatMap((zone) => {
      const bucket = (context: CheckContext) => output(context, bucketVariable(zone));
      const checks: Check[] = [
        { name: `storage/${zone.name} exists`, run: (context) => bucketExists(context, bucket(context)) },
        {
          name: `storage/${zone.name} encryption`,
          run: (context) =>
            zone.encryption === 'sse-s3'
              ? bucketUsesSseS3(context, bucket(context))
              : bucketUsesKey(context, bucket(context), output(context, 'KMS_KEY_ARN')),
        },
        {
          name: `storage/${zone.name} TLS-only policy`,
          run: (context) => bucketDeniesInsecureTransport(context, bucket(context)),
        },
        {
          name: `storage/${zone.name} public access block`,
          run: (context) => bucketBlocksPublicAccess(context, bucket(context)),
        },
      ];
      if (zone.versioned) {
        checks.push({
          name: `storage/${zone.name} versioning`,
          run: (context) => bucketIsVersioned(context, bucket(context)),
        });
      }
      return checks;
    }),
};

export async function bucketExists(context: CheckContext, bucket: string): Promise<string> {
  try {
    await context.clients.get(S3Client).send(new HeadBucketCommand({ Bucket: bucket }));
  } catch (error) {
    const status = (error as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode;
    if (status === 404 || (error as Error).name === 'NotFound' || (error as Error).name === 'NoSuchBucket') {
      throw new CheckFailedError(`bucket ${bucket} does not exist`);
    }
    throw error;
  }
  return bucket;
}

async function defaultEncryption(context: CheckContext, bucket: string) {
  const response = await context.clients.get(S3Client).send(new GetBucketEncryptionCommand({ Bucket: bucket }));
  const rule = response.ServerSideEncryptionConfiguration?.Rules?.[0];
  return { sse: rule?.ApplyServerSideEncryptionByDefault, bucketKey: rule?.BucketKeyEnabled === true };
}

export async function bucketUsesKey(context: CheckContext, bucket: string, keyArn: string): Promise<string> {
  const { sse, bucketKey } = await defaultEncryption(context, bucket);
  if (sse?.SSEAlgorithm !== 'aws:kms') {
    throw new CheckFailedError(
      `expected SSE-KMS with ${keyArn}, found ${sse?.SSEAlgorithm ?? 'no default encryption'}`,
    );
  }
  if (!sameKey(sse.KMSMasterKeyID, keyArn)) {
    throw new CheckFailedError(
      `expected the platform key ${keyArn}, found ${sse.KMSMasterKeyID ?? 'the AWS managed key aws/s3'}`,
    );
  }
  return `SSE-KMS with the platform key${bucketKey ? ', bucket key on' : ''}`;
}

export async function bucketUsesSseS3(context: CheckContext, bucket: string): Promise<string> {
  const { sse } = await defaultEncryption(context, bucket);
  if (sse?.SSEAlgorithm !== 'AES256') {
    throw new CheckFailedError(
      `expected SSE-S3 (AES256, required by server access logging), found ${sse?.SSEAlgorithm ?? 'no default encryption'}`,
    );
  }
  return 'SSE-S3';
}

interface PolicyStatement {
  readonly Effect?: string;
  readonly Principal?: unknown;
  readonly Action?: string | string[];
  readonly Condition?: Record<string, Record<string, unknown>>;
}

export async function bucketDeniesInsecureTransport(context: CheckContext, bucket: string): Promise<string> {
  let policyText: string | undefined;
  try {
    policyText = (await context.clients.get(S3Client).send(new GetBucketPolicyCommand({ Bucket: bucket }))).Policy;
  } catch (error) {
    if ((error as Error).name === 'NoSuchBucketPolicy')
      throw new CheckFailedError(`bucket ${bucket} has no bucket policy`);
    throw error;
  }
  const statements = (JSON.parse(policyText ?? '{}') as { Statement?: PolicyStatement | PolicyStatement[] }).Statement;
  const denies = [statements ?? []]
    .flat()
    .some(
      (statement) =>
        statement.Effect === 'Deny' &&
        isEveryone(statement.Principal) &&
        [statement.Action ?? []].flat().includes('s3:*') &&
        String(statement.Condition?.Bool?.['aws:SecureTransport']) === 'false',
    );
  if (!denies) {
    throw new CheckFailedError('bucket policy has no Deny of s3:* for everyone when aws:SecureTransport is false');
  }
  return 'denies s3:* without TLS';
}

export async function bucketBlocksPublicAccess(context: CheckContext, bucket: string): Promise<string> {
  let configuration: Record<string, boolean | undefined> | undefined;
  try {
    configuration = (await context.clients.get(S3Client).send(new GetPublicAccessBlockCommand({ Bucket: bucket })))
      .PublicAccessBlockConfiguration as Record<string, boolean | undefined> | undefined;
  } catch (error) {
    if ((error as Error).name === 'NoSuchPublicAccessBlockConfiguration') {
      throw new CheckFailedError(`bucket ${bucket} has no public access block`);
    }
    throw error;
  }
  const settings = ['BlockPublicAcls', 'IgnorePublicAcls', 'BlockPublicPolicy', 'RestrictPublicBuckets'];
  const off = settings.filter((setting) => configuration?.[setting] !== true);
  if (off.length > 0) throw new CheckFailedError(`public access block has ${off.join(', ')} off`);
  return 'all four settings on';
}

export async function bucketIsVersioned(context: CheckContext, bucket: string): Promise<string> {
  const { Status } = await context.clients.get(S3Client).send(new GetBucketVersioningCommand({ Bucket: bucket }));
  if (Status !== 'Enabled')
    throw new CheckFailedError(`expected versioning Enabled, found ${Status ?? 'never enabled'}`);
  return 'versioning enabled';
}

function isEveryone(principal: unknown): boolean {
  if (principal === '*') return true;
  const aws = (principal as { AWS?: unknown } | undefined)?.AWS;
  return aws === '*' || (Array.isArray(aws) && aws.includes('*'));
}

/** The configured key may be written as a key ARN, a key id or (never here) an alias: compare the key ids. */
function sameKey(configured: string | undefined, keyArn: string): boolean {
  if (!configured) return false;
  const keyId = (value: string) => value.slice(value.lastIndexOf('/') + 1);
  return configured === keyArn || keyId(configured) === keyId(keyArn);
}
