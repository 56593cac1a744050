import { type RemovalPolicy, Stack } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as firehose from 'aws-cdk-lib/aws-kinesisfirehose';
import type * as kms from 'aws-cdk-lib/aws-kms';
import * as logs from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import { eventStreamName } from './api-templates';
import { acknowledgeWildcardResources } from './nag-acknowledgements';
import type { ZoneBucket } from './zone-bucket';
import { ResourceScopedPolicies } from './resource-scoped-policies';

/** Firehose's limit on delivery stream names. */
const STREAM_NAME_MAX_CHARS = 64;

/**
 * Where Firehose puts what it could not deliver, per dataset. Outside every `<dataset>/` prefix on purpose: stage A
 * reacts to objects created under `<dataset>/` only, and these are not landed data.
 */
export const FIREHOSE_ERRORS_PREFIX = '_firehose-errors/';

/**
 * The extension of the objects the streams deliver. It replaces the `.gz` Firehose appends for GZIP, so stage A's
 * validator (formatOf: the key's extension first, `.gz` stripped) reads them as NDJSON whatever the dataset's own
 * file format; it detects gzip by the content's magic bytes.
 */
export const EVENT_FILE_EXTENSION = '.ndjson.gz';

export interface EventBuffering {
  /** Buffer size before a delivery, MiB (1 to 128). */
  readonly sizeMiB: number;
  /** Longest wait before a delivery, seconds (0 to 900). */
  readonly intervalSeconds: number;
}

export interface EventStreamsProps {
  /** `<platformPrefix>-<env>`: the streams are named `<prefix>-<dataset>-events`. */
  readonly prefix: string;
  /** Names of the configured datasets: one stream each. */
  readonly datasets: readonly string[];
  /** The landing bucket. */
  readonly landing: ZoneBucket;
  /** The platform key: server-side encryption of the streams, SSE-KMS of the delivered objects, the delivery logs. */
  readonly key: kms.IKey;
  readonly buffering: EventBuffering;
  /** Retention of the delivery error logs (a CloudWatch Logs retention value). */
  readonly logRetentionDays: number;
  /** Of the delivery log group and its streams. */
  readonly removalPolicy: RemovalPolicy;
}

/**
 * One Firehose delivery stream per dataset (DirectPut, written by the API's events route) into landing:
 * `<dataset>/ingest_date=<UTC date of the oldest record>/<stream>-<version>-<time>-<uuid>.ndjson.gz`, GZIP, SSE-KMS
 * with the platform key (the stream itself is encrypted with it too). Records that cannot be delivered go to
 * `_firehose-errors/<dataset>/<error type>/ingest_date=.../`. One role for all streams, allowed to write exactly
 * those prefixes; delivery errors are logged to one encrypted log group, one log stream per stream.
 *
 * Two resources per dataset (the stream and its log stream): 100 datasets add 200.
 */
export class EventStreams extends Construct {
  /** The delivery role (assumed by Firehose only, for this environment's streams). */
  readonly role: iam.Role;
  readonly logGroup: logs.LogGroup;
  /** Stream name per dataset. */
  readonly streamNames: Readonly<Record<string, string>>;
  /** Stream ARNs, literal (built from the names), in dataset order. */
  readonly streamArns: readonly string[];

  constructor(scope: Construct, id: string, props: EventStreamsProps) {
    super(scope, id);
    const stack = Stack.of(this);
    const { prefix, datasets, key, landing } = props;
    const names: Record<string, string> = {};
    for (const dataset of datasets) {
      const name = eventStreamName(prefix, dataset);
      if (name.length > STREAM_NAME_MAX_CHARS) {
        throw new Error(
          `Dataset ${JSON.stringify(dataset)}: its event stream name ${JSON.stringify(name)} has ${name.length} characters, Firehose allows ${STREAM_NAME_MAX_CHARS}. Fix: shorten the dataset name to at most ${STREAM_NAME_MAX_CHARS - (name.length - dataset.length)} characters`,
        );
      }
      names[dataset] = name;
    }
    this.streamNames = names;
    this.streamArns = datasets.map((dataset) =>
      stack.formatArn({ service: 'firehose', resource: 'deliverystream', resourceName: names[dataset] }),
    );

    this.logGroup = new logs.LogGroup(this, 'DeliveryLogs', {
      retention: props.logRetentionDays as logs.RetentionDays,
      encryptionKey: key,
      removalPolicy: props.removalPolicy,
    });

    const streamsOfThisEnvironment = stack.formatArn({
      service: 'firehose',
      resource: 'deliverystream',
      resourceName: eventStreamName(prefix, '*'),
    });
    this.role = new iam.Role(this, 'DeliveryRole', {
      description: `Firehose delivers ${prefix} events to landing/<dataset>/ingest_date=*/ and nothing else`,
      assumedBy: new iam.ServicePrincipal('firehose.amazonaws.com', {
        // Only this account's streams of this environment may use the role (confused-deputy protection).
        conditions: {
          StringEquals: { 'aws:SourceAccount': stack.account },
          ArnLike: { 'aws:SourceArn': streamsOfThisEnvironment },
        },
      }),
    });
    const bucketArn = landing.arnIn(this);
    const errorObjects = `${bucketArn}/${FIREHOSE_ERRORS_PREFIX}*`;
    // Firehose's own set of S3 calls, and a key condition on the bucket's encryption context, which the bucket's
    // grants do not cover: written here, for this role only.
    const statements = [
      // What Firehose's S3 delivery calls on the bucket itself (location, multipart uploads in progress).
      new iam.PolicyStatement({
        sid: 'LandingBucket',
        actions: ['s3:GetBucketLocation', 's3:ListBucket', 's3:ListBucketMultipartUploads'],
        resources: [bucketArn],
      }),
      new iam.PolicyStatement({
        sid: 'DeliveryErrors',
        actions: ['s3:PutObject', 's3:AbortMultipartUpload'],
        resources: [errorObjects],
      }),
      // SSE-KMS of the delivered objects, through S3 only, for this bucket only (S3 Bucket Keys: the context is the
      // bucket ARN).
      new iam.PolicyStatement({
        sid: 'EncryptDeliveredObjects',
        actions: ['kms:GenerateDataKey', 'kms:Decrypt'],
        resources: [key.keyArn],
        conditions: {
          StringEquals: {
            'kms:ViaService': `s3.${stack.region}.amazonaws.com`,
            'kms:EncryptionContext:aws:s3:arn': bucketArn,
          },
        },
      }),
      new iam.PolicyStatement({
        sid: 'DeliveryLogs',
        actions: ['logs:PutLogEvents'],
        resources: [this.logGroup.logGroupArn],
      }),
    ];
    for (const statement of statements) this.role.addToPolicy(statement);
    acknowledgeWildcardResources(this.role, [
      { resource: errorObjects, reason: `Objects Firehose could not deliver, under ${FIREHOSE_ERRORS_PREFIX} only` },
      {
        resource: this.logGroup.logGroupArn,
        reason: 'Log streams of the one delivery log group of these streams (one per stream)',
      },
    ]);
    const landingWrites = new ResourceScopedPolicies(this, 'LandingWrites', {
      roles: [this.role],
      actions: ['s3:PutObject', 's3:AbortMultipartUpload'],
      resources: datasets.map((dataset) => `${bucketArn}/${dataset}/ingest_date=*`),
      wildcardReason: (resource) =>
        `Objects the dataset's stream delivers under ${resource.slice(bucketArn.length + 1)}: Firehose names them`,
    });

    for (const dataset of datasets) {
      const datasetScope = new Construct(this, pascalCase(dataset));
      const logStream = new logs.LogStream(datasetScope, 'LogStream', {
        logGroup: this.logGroup,
        logStreamName: names[dataset],
        removalPolicy: props.removalPolicy,
      });
      const stream = new firehose.CfnDeliveryStream(datasetScope, 'Resource', {
        deliveryStreamName: names[dataset],
        deliveryStreamType: 'DirectPut',
        deliveryStreamEncryptionConfigurationInput: { keyType: 'CUSTOMER_MANAGED_CMK', keyArn: key.keyArn },
        extendedS3DestinationConfiguration: {
          bucketArn,
          roleArn: this.role.roleArn,
          prefix: `${dataset}/ingest_date=!{timestamp:yyyy-MM-dd}/`,
          errorOutputPrefix: `${FIREHOSE_ERRORS_PREFIX}${dataset}/!{firehose:error-output-type}/ingest_date=!{timestamp:yyyy-MM-dd}/`,
          bufferingHints: {
            sizeInMBs: props.buffering.sizeMiB,
            intervalInSeconds: props.buffering.intervalSeconds,
          },
          compressionFormat: 'GZIP',
          fileExtension: EVENT_FILE_EXTENSION,
          encryptionConfiguration: { kmsEncryptionConfig: { awskmsKeyArn: key.keyArn } },
          cloudWatchLoggingOptions: {
            enabled: true,
            logGroupName: this.logGroup.logGroupName,
            logStreamName: logStream.logStreamName,
          },
        },
      });
      // Firehose checks its role's access when the stream is created: the policies must be in place first.
      stream.node.addDependency(this.role, ...landingWrites.policies);
    }
  }

  /** Lets `role` put record batches into every stream (the API's integration role), nothing else. */
  grantPutRecordBatch(scope: Construct, id: string, role: iam.IRole): ResourceScopedPolicies {
    return new ResourceScopedPolicies(scope, id, {
      roles: [role],
      actions: ['firehose:PutRecordBatch'],
      resources: this.streamArns,
      wildcardReason: () => 'unused: stream ARNs hold no wildcard',
    });
  }
}

/** `page_views` -> `PageViews`: a construct ID from a dataset name. */
function pascalCase(name: string): string {
  return name
    .split('_')
    .map((part) => part.charAt(0).toUpperCase() + part.slice(1))
    .join('');
}
