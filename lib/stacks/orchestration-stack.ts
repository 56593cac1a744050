import { Duration, RemovalPolicy, Stack, type StackProps, Validations } from 'aws-cdk-lib';
import * as events from 'aws-cdk-lib/aws-events';
import * as targets from 'aws-cdk-lib/aws-events-targets';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import * as destinations from 'aws-cdk-lib/aws-lambda-destinations';
import type * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import * as sns from 'aws-cdk-lib/aws-sns';
import * as subscriptions from 'aws-cdk-lib/aws-sns-subscriptions';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import type { Construct } from 'constructs';
import type { DatasetConfig, EnvironmentConfig } from '../../config/schema';
import { AUDIT_ENV } from '../../lambda/audit/contract';
import { FINAL_JOB_STATES } from '../../lambda/job-auditor/contract';
import { REGENERATE_COMMAND } from '../../lambda/validate/bundle-datasets';
import { VALIDATE_ENV, validationEnvironment } from '../../lambda/validate/contract';
import { staleBundledDatasets } from '../../lambda/validate/datasets';
import { DatasetFlow } from '../constructs/dataset-flow';
import { PlatformFunction } from '../constructs/platform-function';
import type { StorageStack, Zone } from './storage-stack';

/** What the orchestration needs of the data mart: the Data API target (cluster ARN, secret, database). */
export interface DataMartTarget {
  readonly clusterArn: string;
  readonly secret: secretsmanager.ISecret;
  readonly databaseName: string;
}

export interface OrchestrationStackProps extends StackProps {
  /** `<platformPrefix>-<env>`, e.g. `dp-dev`. */
  readonly prefix: string;
  readonly environment: EnvironmentConfig;
  /** One flow (rule + state machine) per dataset. */
  readonly datasets: readonly DatasetConfig[];
  /** Zone buckets (by their synth-time names) and the platform key. */
  readonly storage: Pick<StorageStack, 'key' | 'bucketNames'>;
  /** Name of the curate Glue job (Catalog stack). */
  readonly curateJobName: string;
  /** Audit rows and mart loads go through the Data API to this cluster. */
  readonly dataMart: DataMartTarget;
  /**
   * The data mart loader (lambda/load-mart), invoked by the flows of datasets with `mart.enabled`.
   * @default - no load step: curated data only
   */
  readonly loadMartFunction?: lambda.IFunction;
}

/**
 * From landing to the mart: one {@link DatasetFlow} per dataset, the Lambdas they share (validate, audit), the alert
 * topic, the job-auditor that records every curate job run, and the dead-letter queue of every asynchronous delivery.
 */
export class OrchestrationStack extends Stack {
  readonly alertTopic: sns.Topic;
  readonly deadLetterQueue: sqs.Queue;
  readonly flows: Readonly<Record<string, DatasetFlow>>;
  readonly validateFunction: PlatformFunction;
  readonly auditFunction: PlatformFunction;
  readonly jobAuditorFunction: PlatformFunction;

  private readonly props: OrchestrationStackProps;
  private readonly functions: PlatformFunction[] = [];

  constructor(scope: Construct, id: string, props: OrchestrationStackProps) {
    super(scope, id, props);
    this.props = props;
    const { prefix, environment, datasets, storage } = props;
    // The validate function carries the dataset definitions it was bundled with: they must be these.
    const stale = staleBundledDatasets(datasets);
    if (stale !== undefined) {
      throw new Error(
        `config/datasets: the definitions bundled into the validate function are out of date (${stale}). Fix: run \`${REGENERATE_COMMAND}\` and commit lambda/validate/datasets.generated.ts`,
      );
    }
    const removalPolicy =
      environment.storage.removalPolicy === 'destroy' ? RemovalPolicy.DESTROY : RemovalPolicy.RETAIN;

    this.alertTopic = new sns.Topic(this, 'AlertTopic', {
      topicName: `${prefix}-alerts`,
      displayName: `${prefix} data platform alerts`,
      masterKey: storage.key,
      enforceSSL: true,
    });
    this.alertTopic.addSubscription(new subscriptions.EmailSubscription(environment.alarms.email));

    this.deadLetterQueue = this.createDeadLetterQueue(removalPolicy);

    const martEnv = {
      [AUDIT_ENV.martClusterArn]: props.dataMart.clusterArn,
      [AUDIT_ENV.martSecretArn]: props.dataMart.secret.secretArn,
      [AUDIT_ENV.martDatabase]: props.dataMart.databaseName,
    };
    this.validateFunction = this.function('ValidateFunction', 'validate', removalPolicy, {
      description: 'Validates one landed object against its dataset: valid rows to staging, the rest to quarantine.',
      environment: {
        [VALIDATE_ENV.artifactsBucket]: storage.bucketNames.artifacts,
        ...validationEnvironment(environment.etl.validation),
      },
      // Streams objects of any size: memory bounds the buffers, time the largest file.
      memorySize: 1024,
      timeout: Duration.minutes(15),
    });
    this.grantValidate(this.validateFunction);

    this.auditFunction = this.function('AuditFunction', 'audit', removalPolicy, {
      description: 'Claims, finishes and fails pipeline runs in audit.pipeline_runs.',
      environment: martEnv,
      timeout: Duration.seconds(60),
    });
    this.grantDataApi(this.auditFunction);

    this.jobAuditorFunction = this.function('JobAuditorFunction', 'job-auditor', removalPolicy, {
      description: 'Records every final state of the curate Glue job in audit.job_runs.',
      environment: martEnv,
      timeout: Duration.seconds(60),
    });
    this.grantDataApi(this.jobAuditorFunction);
    this.jobAuditorFunction.function.addToRolePolicy(
      new iam.PolicyStatement({
        sid: 'ReadCurateJobRuns',
        actions: ['glue:GetJobRun'],
        resources: [this.formatArn({ service: 'glue', resource: 'job', resourceName: props.curateJobName })],
      }),
    );
    this.auditCurateJobRuns();

    const flows: Record<string, DatasetFlow> = {};
    for (const dataset of datasets) {
      const flow = new DatasetFlow(this, `${pascalCase(dataset.name)}Flow`, {
        dataset,
        prefix,
        landingBucketName: storage.bucketNames.landing,
        curatedBucketName: storage.bucketNames.curated,
        curateJobName: props.curateJobName,
        curateJobTimeout: Duration.minutes(environment.etl.glueTimeoutMinutes),
        functions: {
          audit: this.auditFunction.function,
          validate: this.validateFunction.function,
          loadMart: dataset.mart.enabled ? props.loadMartFunction : undefined,
        },
        alertTopic: this.alertTopic,
        key: storage.key,
        logRetentionDays: environment.logRetentionDays,
        logRemovalPolicy: removalPolicy,
        deadLetterQueue: this.deadLetterQueue,
      });
      // Publishing to the encrypted topic needs the key as well as sns:Publish.
      storage.key.grant(flow.stateMachine, 'kms:Decrypt', 'kms:GenerateDataKey');
      flows[dataset.name] = flow;
    }
    this.flows = flows;

    this.acknowledgeFindings();
  }

  private function(
    id: string,
    handlerDir: string,
    removalPolicy: RemovalPolicy,
    options: { description: string; environment: Record<string, string>; timeout: Duration; memorySize?: number },
  ): PlatformFunction {
    const fn = new PlatformFunction(this, id, {
      handlerDir,
      serviceName: handlerDir,
      description: options.description,
      environment: options.environment,
      timeout: options.timeout,
      memorySize: options.memorySize,
      logRetentionDays: this.props.environment.logRetentionDays,
      encryptionKey: this.props.storage.key,
      logRemovalPolicy: removalPolicy,
    });
    this.functions.push(fn);
    return fn;
  }

  /**
   * Events EventBridge cannot deliver (state machine starts, job-auditor invocations) and job-auditor invocations that
   * failed every retry. Its own key: EventBridge needs a key policy grant, which the platform key (Storage stack)
   * does not give, and granting it from here would create a cycle between the stacks.
   */
  private createDeadLetterQueue(removalPolicy: RemovalPolicy): sqs.Queue {
    const key = new kms.Key(this, 'DeadLetterKey', {
      description: `Encrypts the ${this.props.prefix} orchestration dead-letter queue`,
      enableKeyRotation: true,
      removalPolicy,
    });
    key.addToResourcePolicy(
      new iam.PolicyStatement({
        sid: 'AllowEventBridgeDeadLetters',
        principals: [new iam.ServicePrincipal('events.amazonaws.com')],
        actions: ['kms:Decrypt', 'kms:GenerateDataKey'],
        resources: ['*'],
        conditions: { StringEquals: { 'aws:SourceAccount': this.account } },
      }),
    );
    const queue = new sqs.Queue(this, 'DeadLetterQueue', {
      queueName: `${this.props.prefix}-orchestration-dlq`,
      encryption: sqs.QueueEncryption.KMS,
      encryptionMasterKey: key,
      enforceSSL: true,
      retentionPeriod: Duration.days(14),
      removalPolicy,
    });
    // The queue policy for EventBridge (SendMessage from each rule) is added by the targets that use the queue.
    return queue;
  }

  /** Glue "Job State Change" of the curate job, final states only -> job-auditor (async, retried, dead-lettered). */
  private auditCurateJobRuns(): void {
    const fn = this.jobAuditorFunction.function;
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
    const { key } = this.props.storage;
    const landing = this.objectsArn('landing', '*');
    const staging = this.objectsArn('artifacts', 'staging/*');
    const quarantine = this.objectsArn('artifacts', 'quarantine/*');
    const policy = new iam.Policy(this, 'ValidatePolicy', {
      roles: [fn.function.role!],
      statements: [
        new iam.PolicyStatement({
          sid: 'ReadLanding',
          actions: ['s3:GetObject', 's3:GetObjectVersion'],
          resources: [landing],
        }),
        new iam.PolicyStatement({
          sid: 'WriteStagingAndQuarantine',
          actions: ['s3:PutObject', 's3:AbortMultipartUpload', 's3:ListMultipartUploadParts'],
          resources: [staging, quarantine],
        }),
        new iam.PolicyStatement({
          sid: 'UseKeyThroughS3',
          actions: ['kms:Decrypt', 'kms:GenerateDataKey'],
          resources: [key.keyArn],
          conditions: { StringEquals: { 'kms:ViaService': `s3.${this.region}.amazonaws.com` } },
        }),
      ],
    });
    Validations.of(policy).acknowledge(
      {
        id: `AwsSolutions-IAM5[Resource::${landing}]`,
        reason: 'Any dataset folder of landing: the object comes from the event.',
      },
      {
        id: `AwsSolutions-IAM5[Resource::${staging}]`,
        reason: 'Each run writes its own staging/<dataset>/run_id=<id>/.',
      },
      {
        id: `AwsSolutions-IAM5[Resource::${quarantine}]`,
        reason: 'Each run writes its own quarantine/<dataset>/... folder.',
      },
    );
  }

  /** The Data API on the mart cluster, with the cluster's secret: no VPC, no NAT, no endpoints. */
  private grantDataApi(fn: PlatformFunction): void {
    fn.function.addToRolePolicy(
      new iam.PolicyStatement({
        sid: 'DataApiOnMartCluster',
        actions: [
          'rds-data:ExecuteStatement',
          'rds-data:BatchExecuteStatement',
          'rds-data:BeginTransaction',
          'rds-data:CommitTransaction',
          'rds-data:RollbackTransaction',
        ],
        resources: [this.props.dataMart.clusterArn],
      }),
    );
    // Explicit statements rather than secret.grantRead: that grant may edit the key policy of a key in an earlier
    // stack (the platform key), which would make that stack depend on this one.
    const { secret } = this.props.dataMart;
    fn.function.addToRolePolicy(
      new iam.PolicyStatement({
        sid: 'ReadMartSecret',
        actions: ['secretsmanager:GetSecretValue', 'secretsmanager:DescribeSecret'],
        resources: [secret.secretArn],
      }),
    );
    if (secret.encryptionKey) {
      fn.function.addToRolePolicy(
        new iam.PolicyStatement({
          sid: 'DecryptMartSecret',
          actions: ['kms:Decrypt'],
          resources: [secret.encryptionKey.keyArn],
          conditions: { StringEquals: { 'kms:ViaService': `secretsmanager.${this.region}.amazonaws.com` } },
        }),
      );
    }
  }

  private objectsArn(zone: Zone, pattern: string): string {
    return `arn:aws:s3:::${this.props.storage.bucketNames[zone]}/${pattern}`;
  }

  private acknowledgeFindings(): void {
    for (const fn of this.functions) {
      Validations.of(fn.function).acknowledge({
        id: 'AwsSolutions-L1',
        reason:
          'Node.js 22 is the runtime the platform fixes in PlatformFunction (supported LTS); upgrades go through it',
      });
      Validations.of(fn.function.role!).acknowledge(
        {
          id: 'AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole]',
          reason: 'The AWS-maintained policy lets the function write its own logs and nothing else',
        },
        {
          id: 'AwsSolutions-IAM5[Resource::*]',
          reason: 'X-Ray tracing (xray:PutTraceSegments, PutTelemetryRecords) supports no resource-level permissions',
        },
      );
    }
    Validations.of(this.jobAuditorFunction.function.role!).acknowledge(
      ...['kms:ReEncrypt*', 'kms:GenerateDataKey*'].map((action) => ({
        id: `AwsSolutions-IAM5[Action::${action}]`,
        reason: 'Granted by the SQS failure destination on the dead-letter key only, to send encrypted messages',
      })),
    );
    Validations.of(this.deadLetterQueue).acknowledge({
      id: 'AwsSolutions-SQS3',
      reason: 'This queue is the dead-letter queue of the EventBridge targets and of the job-auditor function',
    });
    for (const flow of Object.values(this.flows)) {
      Validations.of(flow.stateMachine.role).acknowledge({
        id: 'AwsSolutions-IAM5[Resource::*]',
        reason:
          'Step Functions log delivery (logs:*LogDelivery, DescribeResourcePolicies) and X-Ray support no resource-level permissions',
      });
    }
  }
}

function pascalCase(value: string): string {
  return value
    .split(/[^A-Za-z0-9]+/)
    .filter(Boolean)
    .map((part) => part[0].toUpperCase() + part.slice(1))
    .join('');
}
