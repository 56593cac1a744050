import { Duration, type RemovalPolicy, Stack, type StackProps, Validations } from 'aws-cdk-lib';
import * as events from 'aws-cdk-lib/aws-events';
import * as targets from 'aws-cdk-lib/aws-events-targets';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as destinations from 'aws-cdk-lib/aws-lambda-destinations';
import * as sns from 'aws-cdk-lib/aws-sns';
import * as subscriptions from 'aws-cdk-lib/aws-sns-subscriptions';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import type { Construct } from 'constructs';
import type { DatasetConfig, EnvironmentConfig } from '../../config/schema';
import { BATCH_ENV, type BatchSettings } from '../../lambda/batch/contract';
import { FINAL_JOB_STATES } from '../../lambda/job-auditor/contract';
import { DATASETS_GLOBAL } from '../../lambda/shared/datasets-contract';
import { VALIDATE_ENV, validationEnvironment } from '../../lambda/validate/contract';
import { BatchStage } from '../constructs/batch-stage';
import { ObjectStage } from '../constructs/object-stage';
import { PlatformFunction } from '../constructs/platform-function';
import type { DataMartStack, MartAccess } from './data-mart-stack';
import type { StorageStack } from './storage-stack';
import { removalPolicyOf } from '../constructs/removal-policy';

export interface OrchestrationStackProps extends StackProps {
  /** `<platformPrefix>-<env>`, e.g. `dp-dev`. */
  readonly prefix: string;
  readonly environment: EnvironmentConfig;
  /** Every configured dataset (the functions carry their definitions; no resource is per dataset). */
  readonly datasets: readonly DatasetConfig[];
  /** Zone buckets and the platform key. */
  readonly storage: Pick<StorageStack, 'key' | 'zones'>;
  /** Name of the curate Glue job (Catalog stack). */
  readonly curateJobName: string;
  /**
   * Audit rows go through the Data API to the data mart, as its loader login; its loader function (lambda/load-mart)
   * is stage B's load step for datasets with `mart.enabled`.
   */
  readonly dataMart: MartAccess & Pick<DataMartStack, 'loadMartFunction'>;
}

/** Lease margin beyond the steps a lease covers (function start, retries of a resuming Aurora). */
const LEASE_MARGIN_SECONDS = 600;
/** Time a new stage B loop has to take its lease; also its lease between two steps. */
const START_LEASE_SECONDS = 300;
/** The mart load task's timeout (BatchStage LoadMart). */
const LOAD_TIMEOUT_SECONDS = 16 * 60;
/** Loop turns per execution before it continues in a fresh one (~10 history events a turn, of 25,000 allowed). */
const MAX_ITERATIONS = 200;

/**
 * From landing to the mart, in two stages whose resources do not grow with the datasets: stage A per object
 * ({@link ObjectStage}: rule -> queue -> validate, which stages the run) and stage B per dataset and batch
 * ({@link BatchStage}: one curate job run and one mart load per batch). Also the alert topic, the job-auditor that
 * records every curate job run, and the dead-letter queue of every asynchronous delivery.
 */
export class OrchestrationStack extends Stack {
  readonly alertTopic: sns.Topic;
  readonly deadLetterQueue: sqs.Queue;
  readonly objectStage: ObjectStage;
  readonly batchStage: BatchStage;
  readonly validateFunction: PlatformFunction;
  readonly batchFunction: PlatformFunction;
  readonly jobAuditorFunction: PlatformFunction;
  /** What stage B runs on (from `etl.batch`), as the batch function receives it. */
  readonly batchSettings: BatchSettings;

  private readonly props: OrchestrationStackProps;

  constructor(scope: Construct, id: string, props: OrchestrationStackProps) {
    super(scope, id, props);
    this.props = props;
    const { prefix, environment, datasets, storage } = props;
    const removalPolicy = removalPolicyOf(environment);

    this.alertTopic = new sns.Topic(this, 'AlertTopic', {
      topicName: `${prefix}-alerts`,
      displayName: `${prefix} data platform alerts`,
      masterKey: storage.key,
      enforceSSL: true,
    });
    this.alertTopic.addSubscription(new subscriptions.EmailSubscription(environment.alarms.email));

    this.deadLetterQueue = this.createDeadLetterQueue(removalPolicy);

    // Audit rows are written as the loader login (mart_loader): never the master.
    const martEnv = props.dataMart.connectionEnvironment('loader');
    const { batch } = environment.etl;
    this.batchSettings = {
      maxBytes: batch.maxBytes,
      maxWaitSeconds: batch.maxWaitMinutes * 60,
      pollSeconds: batch.pollSeconds,
      maxAttempts: batch.maxAttempts,
      retryDelaySeconds: batch.retryDelayMinutes * 60,
      batchLeaseSeconds: environment.etl.glueTimeoutMinutes * 60 + LOAD_TIMEOUT_SECONDS + LEASE_MARGIN_SECONDS,
      startLeaseSeconds: START_LEASE_SECONDS,
      maxIterations: MAX_ITERATIONS,
    };

    this.batchFunction = this.platformFunction('BatchFunction', 'batch', removalPolicy, {
      description: 'Stage B: decides, records and fails the batches of each dataset (audit.batches), writes manifests.',
      environment: {
        ...martEnv,
        [BATCH_ENV.artifactsBucket]: storage.zones.artifacts.bucketName,
        [BATCH_ENV.curatedBucket]: storage.zones.curated.bucketName,
        [BATCH_ENV.settings]: JSON.stringify(this.batchSettings),
      },
      timeout: Duration.seconds(90),
      // The curate job's --dataset_config of each batch comes from these.
      bundleDefines: { [DATASETS_GLOBAL]: datasets },
    });
    props.dataMart.grantDataApi(this.batchFunction, 'loader');
    this.grantManifests(this.batchFunction);

    this.batchStage = new BatchStage(this, 'BatchStage', {
      prefix,
      batchFunction: this.batchFunction,
      loadMartFunction: props.dataMart.loadMartFunction,
      curateJobName: props.curateJobName,
      curateJobTimeout: Duration.minutes(environment.etl.glueTimeoutMinutes),
      alertTopic: this.alertTopic,
      key: storage.key,
      logRetentionDays: environment.logRetentionDays,
      logRemovalPolicy: removalPolicy,
    });
    // Publishing to the encrypted topic needs the key as well as sns:Publish.
    storage.key.grant(this.batchStage.stateMachine, 'kms:Decrypt', 'kms:GenerateDataKey');
    this.alertOnStoppedLoops();

    this.validateFunction = this.platformFunction('ValidateFunction', 'validate', removalPolicy, {
      description:
        'Stage A: claims, validates and stages one landed object (valid rows to staging, the rest to quarantine).',
      environment: {
        ...martEnv,
        [VALIDATE_ENV.artifactsBucket]: storage.zones.artifacts.bucketName,
        [VALIDATE_ENV.batchStateMachineArn]: this.batchStage.stateMachine.stateMachineArn,
        [VALIDATE_ENV.startLeaseSeconds]: String(this.batchSettings.startLeaseSeconds),
        ...validationEnvironment(environment.etl.validation),
      },
      // Streams objects of any size: memory bounds the buffers, time the largest file.
      memorySize: 1024,
      timeout: Duration.minutes(15),
      // The definitions this synth validated, bundled as a literal (a dataset change redeploys the function).
      bundleDefines: { [DATASETS_GLOBAL]: datasets },
    });
    this.grantValidate(this.validateFunction);
    props.dataMart.grantDataApi(this.validateFunction, 'loader');
    this.batchStage.stateMachine.grantStartExecution(this.validateFunction);

    this.objectStage = new ObjectStage(this, 'ObjectStage', {
      prefix,
      landing: storage.zones.landing,
      stageFunction: this.validateFunction,
      queueKey: storage.key,
      eventDeadLetterQueue: this.deadLetterQueue,
      alertTopic: this.alertTopic,
      maxConcurrency: environment.etl.validateConcurrency,
      removalPolicy,
    });

    this.jobAuditorFunction = this.platformFunction('JobAuditorFunction', 'job-auditor', removalPolicy, {
      description: 'Records every final state of the curate Glue job in audit.job_runs.',
      environment: martEnv,
      timeout: Duration.seconds(60),
    });
    props.dataMart.grantDataApi(this.jobAuditorFunction, 'loader');
    this.jobAuditorFunction.addToRolePolicy(
      new iam.PolicyStatement({
        sid: 'ReadCurateJobRuns',
        actions: ['glue:GetJobRun'],
        resources: [this.formatArn({ service: 'glue', resource: 'job', resourceName: props.curateJobName })],
      }),
    );
    this.auditCurateJobRuns();

    this.acknowledgeFindings();
  }

  private platformFunction(
    id: string,
    handlerDir: string,
    removalPolicy: RemovalPolicy,
    options: {
      description: string;
      environment: Record<string, string>;
      timeout: Duration;
      memorySize?: number;
      bundleDefines?: Readonly<Record<string, unknown>>;
    },
  ): PlatformFunction {
    const fn = new PlatformFunction(this, id, {
      handlerDir,
      serviceName: handlerDir,
      description: options.description,
      environment: options.environment,
      timeout: options.timeout,
      memorySize: options.memorySize,
      bundleDefines: options.bundleDefines,
      logRetentionDays: this.props.environment.logRetentionDays,
      encryptionKey: this.props.storage.key,
      logRemovalPolicy: removalPolicy,
    });
    return fn;
  }

  /**
   * Events EventBridge cannot deliver (state machine starts, job-auditor invocations) and job-auditor invocations that
   * failed every retry. Encrypted with the platform key, whose policy (Storage stack) lets EventBridge rules of this
   * account use it: no key of its own.
   */
  private createDeadLetterQueue(removalPolicy: RemovalPolicy): sqs.Queue {
    const queue = new sqs.Queue(this, 'DeadLetterQueue', {
      queueName: `${this.props.prefix}-orchestration-dlq`,
      encryption: sqs.QueueEncryption.KMS,
      encryptionMasterKey: this.props.storage.key,
      enforceSSL: true,
      retentionPeriod: Duration.days(14),
      removalPolicy,
    });
    // The queue policy for EventBridge (SendMessage from each rule) is added by the targets that use the queue.
    return queue;
  }

  /** Glue "Job State Change" of the curate job, final states only -> job-auditor (async, retried, dead-lettered). */
  private auditCurateJobRuns(): void {
    const fn = this.jobAuditorFunction;
    fn.configureAsyncInvoke({
      onFailure: new destinations.SqsDestination(this.deadLetterQueue),
      retryAttempts: 2,
      maxEventAge: Duration.hours(6),
    });
    new events.Rule(this, 'CurateJobStateChange', {
      description: `Records every final state of ${this.props.curateJobName} in audit.job_runs.`,
      eventPattern: {
        source: ['aws.glue'],
        detailType: ['Glue Job State Change'],
        detail: { jobName: [this.props.curateJobName], state: [...FINAL_JOB_STATES] },
      },
      targets: [
        new targets.LambdaFunction(fn, {
          deadLetterQueue: this.deadLetterQueue,
          retryAttempts: 8,
          maxEventAge: Duration.hours(6),
        }),
      ],
    });
  }

  /** Reads landing objects, writes staging/ and quarantine/ in artifacts (multipart and copies included). */
  private grantValidate(fn: PlatformFunction): void {
    const { zones } = this.props.storage;
    zones.landing.grantRead(fn, '*', 'Any dataset folder of landing: the object comes from the event.', {
      versions: true,
    });
    zones.artifacts.grantWrite(fn, 'staging/*', 'Each run writes its own staging/<dataset>/run_id=<id>/.');
    zones.artifacts.grantWrite(fn, 'quarantine/*', 'Each run writes its own quarantine/<dataset>/... folder.');
  }

  /** The batch function writes each batch's manifest under artifacts batches/ (encrypted through S3). */
  private grantManifests(fn: PlatformFunction): void {
    this.props.storage.zones.artifacts.grantWrite(
      fn,
      'batches/*',
      'Each batch writes its own batches/<dataset>/batch_id=<id>/manifest.json, known only at run time',
      { multipart: false },
    );
  }

  /** A stage B execution that fails, times out or is stopped leaves its dataset to the next staged run: say so. */
  private alertOnStoppedLoops(): void {
    new events.Rule(this, 'BatchLoopStopped', {
      description: `Alerts when an execution of ${this.batchStage.stateMachineName} ends FAILED, TIMED_OUT or ABORTED.`,
      eventPattern: {
        source: ['aws.states'],
        detailType: ['Step Functions Execution Status Change'],
        detail: {
          stateMachineArn: [this.batchStage.stateMachine.stateMachineArn],
          status: ['FAILED', 'TIMED_OUT', 'ABORTED'],
        },
      },
      targets: [new targets.SnsTopic(this.alertTopic, { deadLetterQueue: this.deadLetterQueue, retryAttempts: 8 })],
    });
  }

  private acknowledgeFindings(): void {
    Validations.of(this.jobAuditorFunction.role!).acknowledge(
      ...['kms:ReEncrypt*', 'kms:GenerateDataKey*'].map((action) => ({
        id: `AwsSolutions-IAM5[Action::${action}]`,
        reason: 'Granted by the SQS failure destination on the platform key only, to send encrypted messages',
      })),
    );
    Validations.of(this.deadLetterQueue).acknowledge({
      id: 'AwsSolutions-SQS3',
      reason: 'This queue is the dead-letter queue of the EventBridge targets and of the job-auditor function',
    });
    Validations.of(this.batchStage.stateMachine.role).acknowledge({
      id: 'AwsSolutions-IAM5[Resource::*]',
      reason:
        'Step Functions log delivery (logs:*LogDelivery, DescribeResourcePolicies) and X-Ray support no resource-level permissions',
    });
    Validations.of(this.objectStage.deadLetterQueue).acknowledge({
      id: 'AwsSolutions-SQS3',
      reason: 'This queue is the dead-letter queue of the landed-objects queue (stage A)',
    });
    Validations.of(this.validateFunction.role!).acknowledge(
      ...['kms:ReEncrypt*', 'kms:GenerateDataKey*'].map((action) => ({
        id: `AwsSolutions-IAM5[Action::${action}]`,
        reason: 'Granted by the SQS event source grant on the queue key only (receive and delete encrypted messages)',
      })),
    );
  }
}
