import { Duration, Stack } from 'aws-cdk-lib';
import * as cloudtrail from 'aws-cdk-lib/aws-cloudtrail';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import type * as s3 from 'aws-cdk-lib/aws-s3';
import { Construct } from 'constructs';
import { ZoneBucket } from './zone-bucket';

export interface AuditTrailProps {
  /** `<platformPrefix>-<env>`: the trail is `<prefix>-data-events`. */
  readonly prefix: string;
  /** Name of the trail's own log bucket. */
  readonly bucketName: string;
  /** Buckets whose S3 data events (object reads and writes) are recorded. */
  readonly buckets: readonly s3.IBucket[];
  /** Encrypts the log files and their bucket. A created key also gets the statements CloudTrail needs. */
  readonly key: kms.IKey;
  /** Days the log files are kept. */
  readonly retentionDays: number;
  /** Server access logs of the trail bucket. */
  readonly accessLogs: { readonly destination: ZoneBucket; readonly prefix: string };
  readonly removal: 'retain' | 'destroy';
}

/**
 * A single-region trail that records only the S3 data events of the given buckets (who read, wrote or deleted which
 * object), into its own bucket, encrypted with the platform key. Management events are left to the account's own
 * trail (a second copy of them would be billed). Data events cost $0.10 per 100,000: nothing at idle.
 */
export class AuditTrail extends Construct {
  readonly trail: cloudtrail.Trail;
  readonly bucket: ZoneBucket;
  readonly trailName: string;

  constructor(scope: Construct, id: string, props: AuditTrailProps) {
    super(scope, id);
    const stack = Stack.of(this);
    this.trailName = `${props.prefix}-data-events`;
    const trailArn = stack.formatArn({ service: 'cloudtrail', resource: 'trail', resourceName: this.trailName });

    this.bucket = new ZoneBucket(this, 'TrailBucket', {
      bucketName: props.bucketName,
      encryptionKey: props.key,
      versioned: true,
      lifecycleRules: [
        {
          id: 'ExpireTrailLogs',
          expiration: Duration.days(props.retentionDays),
          noncurrentVersionExpiration: Duration.days(1),
          abortIncompleteMultipartUploadAfter: Duration.days(1),
        },
      ],
      accessLogs: props.accessLogs,
      removal: props.removal,
    });

    // A key the platform created gets what CloudTrail needs, for this trail only; an existing key must allow it
    // already (README, existing KMS key).
    if (props.key instanceof kms.Key) {
      props.key.addToResourcePolicy(
        new iam.PolicyStatement({
          sid: 'AllowTheDataEventsTrailToEncryptItsLogs',
          principals: [new iam.ServicePrincipal('cloudtrail.amazonaws.com')],
          actions: ['kms:GenerateDataKey*', 'kms:DescribeKey'],
          resources: ['*'],
          conditions: {
            StringEquals: { 'aws:SourceArn': trailArn },
            StringLike: {
              'kms:EncryptionContext:aws:cloudtrail:arn': stack.formatArn({
                service: 'cloudtrail',
                region: '*',
                resource: 'trail',
                resourceName: '*',
              }),
            },
          },
        }),
      );
    }

    this.trail = new cloudtrail.Trail(this, 'Resource', {
      trailName: this.trailName,
      bucket: this.bucket.bucket,
      encryptionKey: props.key,
      enableFileValidation: true,
      isMultiRegionTrail: false,
      includeGlobalServiceEvents: false,
      managementEvents: cloudtrail.ReadWriteType.NONE,
    });
    this.trail.addS3EventSelector(
      props.buckets.map((bucket) => ({ bucket })),
      { readWriteType: cloudtrail.ReadWriteType.ALL, includeManagementEvents: false },
    );
  }
}
