import { RemovalPolicy, Stack } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as kms from 'aws-cdk-lib/aws-kms';
import * as s3 from 'aws-cdk-lib/aws-s3';
import { Construct } from 'constructs';
import { grantAcknowledgementScope } from './grant-policy';
import { acknowledgeWildcardResources } from './nag-acknowledgements';

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

/** Multipart uploads: abort one's own, list its parts (to resume or complete it). */
const MULTIPART_ACTIONS = ['s3:AbortMultipartUpload', 's3:ListMultipartUploadParts'];

export interface ObjectGrantOptions {
  /** Also object versions (s3:GetObjectVersion, s3:DeleteObjectVersion). @default false */
  readonly versions?: boolean;
}

export interface WriteGrantOptions {
  /** Multipart uploads too (abort, list parts; the key's Decrypt). @default true */
  readonly multipart?: boolean;
}

export interface ListGrantOptions {
  /** Only keys matching these `s3:prefix` patterns. @default - every key */
  readonly prefixes?: readonly string[];
  /** Also s3:ListBucketVersions. @default false */
  readonly versions?: boolean;
  /** Also s3:GetBucketLocation (Athena, Glue crawlers and some SDKs ask for it). @default false */
  readonly location?: boolean;
}

/**
 * A data lake bucket with the platform's non-negotiables: TLS 1.2+ only, public access blocked, ACLs disabled,
 * encrypted, retained unless told otherwise. Access logging is wired here (not through `serverAccessLogsBucket`)
 * so the log bucket is granted through its bucket policy regardless of the `serverAccessLogsUseBucketPolicy`
 * feature flag.
 */
export class ZoneBucket extends Construct {
  readonly bucket: s3.Bucket;
  /**
   * The bucket's name, known at synth: grants and settings in later stacks name the bucket with it, so they carry no
   * cross-stack reference and their cdk-nag findings have stable ids.
   */
  readonly bucketName: string;
  /** The key of SSE-KMS buckets (grants add its use through S3). */
  readonly encryptionKey?: kms.IKey;
  /** Whether the bucket empties itself when its stack deletes it. */
  readonly autoDeleteObjects: boolean;

  constructor(scope: Construct, id: string, props: ZoneBucketProps) {
    super(scope, id);
    const destroy = (props.removal ?? 'retain') === 'destroy';
    this.autoDeleteObjects = destroy;
    this.bucketName = props.bucketName;
    this.encryptionKey = props.encryptionKey;
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

  /** ARN of the bucket, in the partition of `scope`'s stack (the grantee's: S3 ARNs carry no region or account). */
  arnIn(scope: Construct): string {
    return Stack.of(scope).formatArn({ service: 's3', region: '', account: '', resource: this.bucketName });
  }

  /** ARN of the objects matching `keyPattern` (e.g. `exports/*`), in the partition of `scope`'s stack. */
  objectsArnIn(scope: Construct, keyPattern: string): string {
    return `${this.arnIn(scope)}/${keyPattern}`;
  }

  /**
   * Lets `grantee` read the objects under `keyPattern` (s3:GetObject, and s3:GetObjectVersion with `versions`) and
   * decrypt them through S3. `why` is the cdk-nag acknowledgement of a pattern with a wildcard: why it is no narrower.
   */
  grantRead(grantee: iam.IGrantable, keyPattern: string, why: string, options: ObjectGrantOptions = {}): iam.Grant {
    const actions = ['s3:GetObject', ...(options.versions ? ['s3:GetObjectVersion'] : [])];
    return this.grantObjects(grantee, actions, keyPattern, why).combine(this.grantKey(grantee, ['kms:Decrypt']));
  }

  /**
   * Lets `grantee` write objects under `keyPattern`: s3:PutObject, with `multipart` (the default) also aborting and
   * listing the parts of its multipart uploads, and the key through S3 (GenerateDataKey; Decrypt too for multipart
   * uploads, which S3 decrypts the parts of).
   */
  grantWrite(grantee: iam.IGrantable, keyPattern: string, why: string, options: WriteGrantOptions = {}): iam.Grant {
    const multipart = options.multipart ?? true;
    const actions = ['s3:PutObject', ...(multipart ? MULTIPART_ACTIONS : [])];
    const keyActions = multipart ? ['kms:Decrypt', 'kms:GenerateDataKey'] : ['kms:GenerateDataKey'];
    return this.grantObjects(grantee, actions, keyPattern, why).combine(this.grantKey(grantee, keyActions));
  }

  /** Lets `grantee` delete objects under `keyPattern` (and their versions with `versions`). */
  grantDelete(grantee: iam.IGrantable, keyPattern: string, why: string, options: ObjectGrantOptions = {}): iam.Grant {
    const actions = ['s3:DeleteObject', ...(options.versions ? ['s3:DeleteObjectVersion'] : [])];
    return this.grantObjects(grantee, actions, keyPattern, why);
  }

  /** Lets `grantee` list the bucket, or only the keys under `options.prefixes`. */
  grantList(grantee: iam.IGrantable, options: ListGrantOptions = {}): iam.Grant {
    return iam.Grant.addToPrincipal({
      grantee,
      actions: [
        's3:ListBucket',
        ...(options.versions ? ['s3:ListBucketVersions'] : []),
        ...(options.location ? ['s3:GetBucketLocation'] : []),
      ],
      resourceArns: [this.arnIn(grantAcknowledgementScope(grantee))],
      conditions: options.prefixes ? { StringLike: { 's3:prefix': [...options.prefixes] } } : undefined,
    });
  }

  private grantObjects(grantee: iam.IGrantable, actions: string[], keyPattern: string, why: string): iam.Grant {
    const scope = grantAcknowledgementScope(grantee);
    const resource = this.objectsArnIn(scope, keyPattern);
    if (resource.includes('*')) acknowledgeWildcardResources(scope, [{ resource, reason: why }]);
    return iam.Grant.addToPrincipal({ grantee, actions, resourceArns: [resource] });
  }

  /** The bucket key's `actions`, through S3 of this region only (the key cannot be used directly). */
  private grantKey(grantee: iam.IGrantable, actions: string[]): iam.Grant {
    if (!this.encryptionKey) return iam.Grant.drop(grantee, 'SSE-S3 bucket: no key to grant');
    const stack = Stack.of(grantAcknowledgementScope(grantee));
    return iam.Grant.addToPrincipal({
      grantee,
      actions,
      resourceArns: [this.encryptionKey.keyArn],
      conditions: { StringEquals: { 'kms:ViaService': `s3.${stack.region}.amazonaws.com` } },
    });
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
