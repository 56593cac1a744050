/**
 * Stand-ins for the Storage and Iam stacks' contracts (platform key, zone buckets, roles), so the Catalog and
 * Orchestration stacks can be asserted on their own. The shapes match StorageStack.key/buckets and IamStack's roles.
 */
import { Stack } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as s3 from 'aws-cdk-lib/aws-s3';
import type { Construct } from 'constructs';

export interface Foundation {
  readonly stack: Stack;
  readonly key: kms.Key;
  readonly buckets: { landing: s3.Bucket; curated: s3.Bucket; logs: s3.Bucket; artifacts: s3.Bucket };
  readonly dataAnalystRole: iam.Role;
  readonly dataEngineerRole: iam.Role;
}

const ENV = { account: '222222222222', region: 'eu-west-1' };

export function foundation(scope: Construct, id = 'Foundation'): Foundation {
  const stack = new Stack(scope, id, { env: ENV });
  const key = new kms.Key(stack, 'Key', { enableKeyRotation: true });
  const logs = new s3.Bucket(stack, 'Logs', {
    encryption: s3.BucketEncryption.S3_MANAGED,
    enforceSSL: true,
    blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
    objectOwnership: s3.ObjectOwnership.BUCKET_OWNER_PREFERRED,
    versioned: true,
  });
  const zone = (name: string, eventBridgeEnabled = false) =>
    new s3.Bucket(stack, name, {
      encryption: s3.BucketEncryption.KMS,
      encryptionKey: key,
      enforceSSL: true,
      blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
      versioned: true,
      serverAccessLogsBucket: logs,
      serverAccessLogsPrefix: `${name.toLowerCase()}/`,
      eventBridgeEnabled,
    });
  const principal = new iam.AccountRootPrincipal();
  return {
    stack,
    key,
    buckets: { landing: zone('Landing', true), curated: zone('Curated'), logs, artifacts: zone('Artifacts') },
    dataAnalystRole: new iam.Role(stack, 'DataAnalyst', { assumedBy: principal }),
    dataEngineerRole: new iam.Role(stack, 'DataEngineer', { assumedBy: principal }),
  };
}

export { ENV as FOUNDATION_ENV };
