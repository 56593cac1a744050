import { RemovalPolicy, Stack } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as kms from 'aws-cdk-lib/aws-kms';
import * as s3 from 'aws-cdk-lib/aws-s3';
import { Construct } from 'constructs';

/** Construct ID aws-cdk-lib gives the stack-wide provider behind `autoDeleteObjects`. */
const AUTO_DELETE_PROVIDER_ID = 'Custom::S3AutoDeleteObjectsCustomResourceProvider';

export interface ZoneBucketAccessLogs {
  /** Bucket receiving the server access logs (SSE-S3: S3 logging cannot write to SSE-KMS targets). */
  readonly destination: ZoneBucket;
  /** Key prefix of this bucket's logs in the destination, e.g. `landing/`. */
  readonly prefix: string;
}

export interface ZoneBucketProps {
  /** Explicit bucket name. */
  readonly bucketName: string;
  /** SSE-KMS key (with an S3 bucket key, to cut KMS requests). @default - SSE-S3 */
  readonly encryptionKey?: kms.IKey;
  /** @default false */
  readonly versioned?: boolean;
  /** @default - none */
  readonly lifecycleRules?: s3.LifecycleRule[];
  /** Where server access logs go. @default - no access logs (only for the log bucket itself) */
  readonly accessLogs?: ZoneBucketAccessLogs;
  /** Send object events to EventBridge. @default false */
  readonly eventBridgeEnabled?: boolean;
  /** `destroy` also empties the bucket on deletion. @default 'retain' */
  readonly removal?: 'retain' | 'destroy';
}

/**
 * A data lake bucket with the platform's non-negotiables: TLS 1.2+ only, public access blocked, ACLs disabled,
 * encrypted, retained unless told otherwise. Access logging is wired here (not through `serverAccessLogsBucket`)
 * so the log bucket is granted through its bucket policy regardless of the `serverAccessLogsUseBucketPolicy`
 * feature flag.
 */
export class ZoneBucket extends Construct {
  readonly bucket: s3.Bucket;
  /** Whether the bucket empties itself when its stack deletes it. */
  readonly autoDeleteObjects: boolean;

  constructor(scope: Construct, id: string, props: ZoneBucketProps) {
    super(scope, id);
    const destroy = (props.removal ?? 'retain') === 'destroy';
    this.autoDeleteObjects = destroy;
    this.bucket = new s3.Bucket(this, 'Resource', {
      bucketName: props.bucketName,
      enforceSSL: true,
      // Also refuses TLS 1.0/1.1, which S3 still accepts by default.
      minimumTLSVersion: 1.2,
      blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
      objectOwnership: s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
      ...(props.encryptionKey
        ? { encryption: s3.BucketEncryption.KMS, encryptionKey: props.encryptionKey, bucketKeyEnabled: true }
        : { encryption: s3.BucketEncryption.S3_MANAGED }),
      versioned: props.versioned ?? false,
      lifecycleRules: props.lifecycleRules,
      eventBridgeEnabled: props.eventBridgeEnabled ?? false,
      removalPolicy: destroy ? RemovalPolicy.DESTROY : RemovalPolicy.RETAIN,
      autoDeleteObjects: destroy,
    });

    if (props.accessLogs) {
      const { destination, prefix } = props.accessLogs;
      const cfnBucket = this.bucket.node.defaultChild as s3.CfnBucket;
      cfnBucket.loggingConfiguration = { destinationBucketName: destination.bucket.bucketName, logFilePrefix: prefix };
      destination.bucket.addToResourcePolicy(
        new iam.PolicyStatement({
          sid: `AllowAccessLogsFrom${id}`,
          principals: [new iam.ServicePrincipal('logging.s3.amazonaws.com')],
          actions: ['s3:PutObject'],
          resources: [destination.bucket.arnForObjects(`${prefix}*`)],
          conditions: {
            ArnLike: { 'aws:SourceArn': this.bucket.bucketArn },
            StringEquals: { 'aws:SourceAccount': Stack.of(this).account },
          },
        }),
      );
    }
  }

  /**
   * Role ARN of the stack's auto-delete-objects provider, when this bucket empties itself on deletion: policies
   * that deny deletes must exempt it, or the stack cannot be deleted.
   */
  get autoDeleteRoleArn(): string | undefined {
    if (!this.autoDeleteObjects) return undefined;
    const provider = Stack.of(this).node.tryFindChild(AUTO_DELETE_PROVIDER_ID) as { roleArn?: string } | undefined;
    if (!provider?.roleArn) {
      throw new Error(
        `ZoneBucket ${this.node.path}: autoDeleteObjects is on but the stack has no "${AUTO_DELETE_PROVIDER_ID}" with a role ARN (received ${provider === undefined ? 'no such construct' : 'a construct without roleArn'}). Fix: aws-cdk-lib renamed its auto-delete provider; update AUTO_DELETE_PROVIDER_ID in lib/constructs/zone-bucket.ts`,
      );
    }
    return provider.roleArn;
  }
}
