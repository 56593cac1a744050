import { Duration, RemovalPolicy } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as actions from 'aws-cdk-lib/aws-cloudwatch-actions';
import * as events from 'aws-cdk-lib/aws-events';
import * as targets from 'aws-cdk-lib/aws-events-targets';
import type * as kms from 'aws-cdk-lib/aws-kms';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import * as lambdaEvents from 'aws-cdk-lib/aws-lambda-event-sources';
import type * as sns from 'aws-cdk-lib/aws-sns';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import type { ZoneBucket } from './zone-bucket';

/** Key prefixes of landing that are not datasets (Firehose error output and the like start with `_`). */
export const NON_DATASET_PREFIX = '_';

export interface ObjectStageProps {
  /** `<platformPrefix>-<env>`: the queue is named `<prefix>-landed-objects`. */
  readonly prefix: string;
  /** The landing zone, whose `Object Created` events start stage A (EventBridge notifications on). */
  readonly landing: ZoneBucket;
  /** lambda/validate: stage A for each message. */
  readonly stageFunction: lambda.Function;
  /** Encrypts both queues; EventBridge must be allowed to use it (key policy). */
  readonly queueKey: kms.IKey;
  /** Receives the events EventBridge could not deliver to the queue. */
  readonly eventDeadLetterQueue: sqs.IQueue;
  /** The dead-letter alarm notifies it. */
  readonly alertTopic: sns.ITopic;
  /** Concurrent stage A invocations at most (protects the Data API from a burst). */
  readonly maxConcurrency: number;
  /** Receives before a message is dead-lettered. @default 5 */
  readonly maxReceiveCount?: number;
  /** @default RemovalPolicy.RETAIN */
  readonly removalPolicy?: RemovalPolicy;
}

/**
 * Stage A of the data path, per object: ONE EventBridge rule for every dataset (Object Created in landing, any key not
 * under `_`) -> an encrypted SQS queue -> the validate function, one message per invocation, with partial batch
 * responses; messages that fail every receive go to a dead-letter queue, alarmed.
 *
 * SQS -> Lambda, not a state machine per object: per 1,000 objects it costs about $0.01 (SQS ~3 requests per message
 * $0.0012, Lambda requests $0.0002, ~0.5 s at 1 GB arm64 $0.0067, Data API ~5 calls $0.0018), against $0.30 for the
 * ~12 transitions of a Standard execution each, and the 15-minute Lambda limit applies instead of Express's 5 minutes
 * (a large file needs it). At idle it costs nothing. One message per invocation: each file gets the whole time budget.
 */
export class ObjectStage extends Construct {
  readonly queue: sqs.Queue;
  readonly deadLetterQueue: sqs.Queue;
  readonly rule: events.Rule;
  readonly deadLetterAlarm: cloudwatch.Alarm;

  constructor(scope: Construct, id: string, props: ObjectStageProps) {
    super(scope, id);
    const removalPolicy = props.removalPolicy ?? RemovalPolicy.RETAIN;
    const timeout = props.stageFunction.timeout ?? Duration.minutes(15);
    const maxReceiveCount = props.maxReceiveCount ?? 5;

    this.deadLetterQueue = new sqs.Queue(this, 'DeadLetterQueue', {
      queueName: `${props.prefix}-landed-objects-dlq`,
      encryption: sqs.QueueEncryption.KMS,
      encryptionMasterKey: props.queueKey,
      enforceSSL: true,
      retentionPeriod: Duration.days(14),
      removalPolicy,
    });
    this.queue = new sqs.Queue(this, 'Queue', {
      queueName: `${props.prefix}-landed-objects`,
      encryption: sqs.QueueEncryption.KMS,
      encryptionMasterKey: props.queueKey,
      // SQS caches the data key: one KMS call per 5 minutes per producer and consumer instead of one per message.
      dataKeyReuse: Duration.minutes(5),
      enforceSSL: true,
      // AWS guidance for Lambda sources: six times the function timeout.
      visibilityTimeout: Duration.seconds(timeout.toSeconds() * 6),
      // Longer than a weekend outage: a message waits for a fix instead of expiring.
      retentionPeriod: Duration.days(14),
      deadLetterQueue: { queue: this.deadLetterQueue, maxReceiveCount },
      removalPolicy,
    });

    this.rule = new events.Rule(this, 'ObjectCreated', {
      description: `Stage A: every object created in ${props.landing.bucketName} (outside ${NON_DATASET_PREFIX}*) is validated.`,
      eventPattern: {
        source: ['aws.s3'],
        detailType: ['Object Created'],
        detail: {
          bucket: { name: [props.landing.bucketName] },
          object: { key: events.Match.anythingButPrefix(NON_DATASET_PREFIX) },
        },
      },
      targets: [
        new targets.SqsQueue(this.queue, {
          deadLetterQueue: props.eventDeadLetterQueue,
          retryAttempts: 8,
          maxEventAge: Duration.hours(24),
        }),
      ],
    });

    props.stageFunction.addEventSource(
      new lambdaEvents.SqsEventSource(this.queue, {
        batchSize: 1,
        reportBatchItemFailures: true,
        maxConcurrency: props.maxConcurrency,
      }),
    );

    this.deadLetterAlarm = new cloudwatch.Alarm(this, 'DeadLetterAlarm', {
      alarmName: `${props.prefix}-landed-objects-dead-letters`,
      alarmDescription: `Landed objects failed stage A ${maxReceiveCount} times. Runbook: docs/operations.md#stage-a-dead-letters`,
      metric: this.deadLetterQueue.metricApproximateNumberOfMessagesVisible({
        period: Duration.minutes(5),
        statistic: 'Maximum',
      }),
      threshold: 1,
      evaluationPeriods: 1,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
    });
    this.deadLetterAlarm.addAlarmAction(new actions.SnsAction(props.alertTopic));
  }
}
