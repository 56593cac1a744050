import { Duration, RemovalPolicy } from 'aws-cdk-lib';
import * as events from 'aws-cdk-lib/aws-events';
import * as targets from 'aws-cdk-lib/aws-events-targets';
import type * as kms from 'aws-cdk-lib/aws-kms';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';
import type * as sns from 'aws-cdk-lib/aws-sns';
import type * as sqs from 'aws-cdk-lib/aws-sqs';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import * as tasks from 'aws-cdk-lib/aws-stepfunctions-tasks';
import { Construct } from 'constructs';
import type { DatasetConfig } from '../../config/schema';
import { acknowledgeQualifierWildcards } from './nag-acknowledgements';

/**
 * State names are a contract: the local state-machine tests override tasks by name and operators read them in the
 * console. Change them only together with test/integration/state-machine*.test.ts.
 */
export const FLOW_STATES = {
  describeRun: 'DescribeRun',
  claim: 'ClaimRun',
  alreadyClaimed: 'AlreadyClaimed?',
  alreadyProcessed: 'AlreadyProcessed',
  validate: 'ValidateObject',
  hasValidRows: 'HasValidRows?',
  recordNothingToCurate: 'RecordNothingToCurate',
  nothingToCurate: 'NothingToCurate',
  curate: 'CurateRun',
  loadMart: 'LoadMart',
  recordSuccess: 'RecordSuccess',
  succeeded: 'Succeeded',
  recordFailure: 'RecordFailure',
  alert: 'SendAlert',
  failed: 'Failed',
} as const;

/** Step Functions error names the flow retries on (see lambda/shared/errors.ts for the domain ones). */
export const FLOW_ERRORS = {
  transient: 'TransientError',
  invalidInput: 'InvalidInputError',
  glueConcurrency: 'Glue.ConcurrentRunsExceededException',
  glueThrottling: 'Glue.ThrottlingException',
  glueInternal: 'Glue.InternalServiceException',
} as const;

/** Where the curate job writes a run's CSV batch for the mart loader (curated bucket). */
export function martBatchPrefix(dataset: string, runId: string): string {
  return `_mart/${dataset}/run_id=${runId}/`;
}

/** Lambda functions a flow invokes (shared by every dataset's flow). */
export interface DatasetFlowFunctions {
  /** lambda/audit: claim, finish, fail. */
  readonly audit: lambda.IFunction;
  /** lambda/validate. */
  readonly validate: lambda.IFunction;
  /** lambda/load-mart: loads the curate job's CSV batch into the mart. @default - no load step */
  readonly loadMart?: lambda.IFunction;
}

export interface DatasetFlowProps {
  readonly dataset: DatasetConfig;
  /** `<platformPrefix>-<env>`: the state machine is named `<prefix>-<dataset>`. */
  readonly prefix: string;
  /** Bucket whose `Object Created` events under `<dataset>/` start the flow (EventBridge notifications on). */
  readonly landingBucketName: string;
  /** The curate job writes `<dataset>/` Parquet and the `_mart/<dataset>/run_id=<runId>/` CSV batch here. */
  readonly curatedBucketName: string;
  readonly curateJobName: string;
  /** The job's own timeout; the Step Functions task waits a little longer (queueing included). */
  readonly curateJobTimeout: Duration;
  readonly functions: DatasetFlowFunctions;
  /** Failures are published here (encrypted topic). */
  readonly alertTopic: sns.ITopic;
  /** Encrypts the execution log group. */
  readonly key: kms.IKey;
  readonly logRetentionDays: number;
  /** @default RemovalPolicy.RETAIN */
  readonly logRemovalPolicy?: RemovalPolicy;
  /** Receives events EventBridge could not deliver to the state machine. */
  readonly deadLetterQueue: sqs.IQueue;
}

/**
 * Backoff for steps that reach the data mart: an auto-paused Aurora Serverless v2 cluster takes 15 to 60 s to resume,
 * during which the Data API answers DatabaseResumingException (mapped to TransientError). 5 attempts over ~3 minutes.
 */
const MART_RESUME_RETRY: sfn.RetryProps = {
  errors: [FLOW_ERRORS.transient],
  interval: Duration.seconds(15),
  backoffRate: 1.5,
  maxAttempts: 5,
  maxDelay: Duration.seconds(60),
  jitterStrategy: sfn.JitterType.FULL,
};

/**
 * One dataset's path from landing to the mart: an EventBridge rule on `Object Created` under `<dataset>/` starts a
 * Standard state machine that claims the object version (re-deliveries stop there), validates it, curates it with the
 * Glue job, loads the mart batch and records the outcome; any failure is recorded, alerted and fails the execution.
 *
 * One state machine per dataset (not one shared): the dataset's configuration is baked into the definition (Glue
 * arguments, whether a mart load step exists), each dataset has its own execution history, metrics and alarms, and
 * a change to one dataset's flow does not touch the others.
 */
export class DatasetFlow extends Construct {
  readonly stateMachine: sfn.StateMachine;
  readonly rule: events.Rule;
  readonly logGroup: logs.LogGroup;

  constructor(scope: Construct, id: string, props: DatasetFlowProps) {
    super(scope, id);
    const { dataset, functions } = props;
    const run = (path: string) => sfn.JsonPath.stringAt(`$.run.${path}`);

    const describeRun = new sfn.Pass(this, FLOW_STATES.describeRun, {
      comment: 'Keeps only what the flow needs from the S3 event; the execution name is the run id.',
      parameters: {
        run: {
          dataset: dataset.name,
          bucket: sfn.JsonPath.stringAt('$.detail.bucket.name'),
          key: sfn.JsonPath.stringAt('$.detail.object.key'),
          versionId: sfn.JsonPath.stringAt('$.detail.object.version-id'),
          size: sfn.JsonPath.numberAt('$.detail.object.size'),
          runId: sfn.JsonPath.executionName,
          executionArn: sfn.JsonPath.executionId,
        },
      },
    });

    const audit = (stateId: string, payload: Record<string, unknown>, resultPath: string) =>
      new tasks.LambdaInvoke(this, stateId, {
        lambdaFunction: functions.audit,
        payloadResponseOnly: true,
        payload: sfn.TaskInput.fromObject({ run: sfn.JsonPath.objectAt('$.run'), ...payload }),
        resultPath,
        taskTimeout: sfn.Timeout.duration(Duration.minutes(2)),
      }).addRetry(MART_RESUME_RETRY);

    const claim = audit(FLOW_STATES.claim, { action: 'claim' }, '$.claim');

    const validate = new tasks.LambdaInvoke(this, FLOW_STATES.validate, {
      lambdaFunction: functions.validate,
      payloadResponseOnly: true,
      payload: sfn.TaskInput.fromObject({
        bucket: run('bucket'),
        key: run('key'),
        versionId: run('versionId'),
        dataset: run('dataset'),
        runId: run('runId'),
        size: sfn.JsonPath.numberAt('$.run.size'),
      }),
      resultPath: '$.validation',
      taskTimeout: sfn.Timeout.duration(Duration.minutes(16)),
    })
      // A malformed event never gets better; anything else thrown is infrastructure (S3 throttling, network).
      .addRetry({ errors: [FLOW_ERRORS.invalidInput], maxAttempts: 0 })
      .addRetry({
        errors: [sfn.Errors.TASKS_FAILED],
        interval: Duration.seconds(5),
        backoffRate: 2,
        maxAttempts: 2,
        jitterStrategy: sfn.JitterType.FULL,
      });

    const validation = (field: string) => `$.validation.${field}`;
    const recordNothingToCurate = audit(
      FLOW_STATES.recordNothingToCurate,
      {
        action: 'finish',
        status: sfn.JsonPath.stringAt(validation('status')),
        validation: sfn.JsonPath.objectAt('$.validation'),
      },
      sfn.JsonPath.DISCARD,
    );

    const curatedPath = `s3://${props.curatedBucketName}/${dataset.name}/`;
    const martBatchPath = (runId: string) => `s3://${props.curatedBucketName}/${martBatchPrefix(dataset.name, runId)}`;
    const curate = new tasks.GlueStartJobRun(this, FLOW_STATES.curate, {
      glueJobName: props.curateJobName,
      integrationPattern: sfn.IntegrationPattern.RUN_JOB,
      arguments: sfn.TaskInput.fromObject({
        '--dataset': dataset.name,
        '--run_id': run('runId'),
        '--staging_path': sfn.JsonPath.format(
          's3://{}/{}',
          sfn.JsonPath.stringAt(validation('stagingBucket')),
          sfn.JsonPath.stringAt(validation('stagingPrefix')),
        ),
        '--curated_path': curatedPath,
        '--mart_path': sfn.JsonPath.format(martBatchPath('{}'), run('runId')),
        '--dataset_config': JSON.stringify(dataset),
      }),
      resultSelector: {
        jobRunId: sfn.JsonPath.stringAt('$.Id'),
        state: sfn.JsonPath.stringAt('$.JobRunState'),
      },
      resultPath: '$.curate',
      // For Glue, the task timeout is the job run's own timeout (minutes): the run ends in TIMEOUT and the .sync
      // task fails with it, so the flow never waits on a run longer than the environment allows.
      taskTimeout: sfn.Timeout.duration(props.curateJobTimeout),
    })
      .addRetry({
        errors: [FLOW_ERRORS.glueConcurrency, FLOW_ERRORS.glueThrottling, FLOW_ERRORS.glueInternal],
        interval: Duration.seconds(30),
        backoffRate: 2,
        maxAttempts: 5,
        maxDelay: Duration.minutes(5),
        jitterStrategy: sfn.JitterType.FULL,
      })
      // A failed job run is retried once: Spark executor losses are transient, and a re-run overwrites its partitions.
      .addRetry({ errors: [sfn.Errors.TASKS_FAILED], interval: Duration.minutes(2), maxAttempts: 1 });

    const recordSuccess = audit(
      FLOW_STATES.recordSuccess,
      {
        action: 'finish',
        status: 'SUCCEEDED',
        validation: sfn.JsonPath.objectAt('$.validation'),
        curate: sfn.JsonPath.objectAt('$.curate'),
        ...(functions.loadMart ? { load: sfn.JsonPath.objectAt('$.load') } : {}),
      },
      sfn.JsonPath.DISCARD,
    );

    const recordFailure = audit(
      FLOW_STATES.recordFailure,
      {
        action: 'fail',
        error: sfn.JsonPath.stringAt('$.error.Error'),
        cause: sfn.JsonPath.stringAt('$.error.Cause'),
      },
      sfn.JsonPath.DISCARD,
    );
    const alert = new tasks.SnsPublish(this, FLOW_STATES.alert, {
      topic: props.alertTopic,
      subject: `Data platform run failed: ${props.prefix} ${dataset.name}`.slice(0, 100),
      message: sfn.TaskInput.fromObject({
        dataset: dataset.name,
        bucket: run('bucket'),
        key: run('key'),
        versionId: run('versionId'),
        runId: run('runId'),
        execution: sfn.JsonPath.executionId,
        error: sfn.JsonPath.stringAt('$.error.Error'),
        cause: sfn.JsonPath.stringAt('$.error.Cause'),
      }),
      resultPath: sfn.JsonPath.DISCARD,
    });
    const failed = new sfn.Fail(this, FLOW_STATES.failed, {
      comment: 'Recorded in audit and alerted; the object stays in landing for a replay.',
      errorPath: '$.error.Error',
      causePath: '$.error.Cause',
    });
    // The alert goes out even when recording the failure fails (e.g. the mart is down for good).
    recordFailure.addCatch(alert, { resultPath: '$.auditError' });
    recordFailure.next(alert).next(failed);

    const onFailure = (state: sfn.TaskStateBase) =>
      state.addCatch(recordFailure, { errors: [sfn.Errors.ALL], resultPath: '$.error' });
    for (const state of [claim, validate, recordNothingToCurate, curate, recordSuccess]) onFailure(state);

    let afterCurate: sfn.IChainable = recordSuccess;
    if (functions.loadMart) {
      const loadMart = new tasks.LambdaInvoke(this, FLOW_STATES.loadMart, {
        lambdaFunction: functions.loadMart,
        payloadResponseOnly: true,
        payload: sfn.TaskInput.fromObject({
          dataset: dataset.name,
          runId: run('runId'),
          objectKey: run('key'),
          objectVersion: run('versionId'),
          bucket: props.curatedBucketName,
          prefix: sfn.JsonPath.format(martBatchPrefix(dataset.name, '{}'), run('runId')),
        }),
        resultPath: '$.load',
        taskTimeout: sfn.Timeout.duration(Duration.minutes(16)),
      }).addRetry(MART_RESUME_RETRY);
      onFailure(loadMart);
      loadMart.next(recordSuccess);
      afterCurate = loadMart;
    }
    curate.next(afterCurate);
    recordSuccess.next(new sfn.Succeed(this, FLOW_STATES.succeeded));

    const definition = describeRun.next(claim).next(
      new sfn.Choice(this, FLOW_STATES.alreadyClaimed)
        .when(
          sfn.Condition.stringEquals('$.claim.outcome', 'ALREADY_PROCESSED'),
          new sfn.Succeed(this, FLOW_STATES.alreadyProcessed, {
            comment: 'This object version already has a run that did not fail: processed once, not twice.',
          }),
        )
        .otherwise(
          validate.next(
            new sfn.Choice(this, FLOW_STATES.hasValidRows)
              .when(sfn.Condition.stringEquals('$.validation.status', 'VALID'), curate)
              .otherwise(
                recordNothingToCurate.next(
                  new sfn.Succeed(this, FLOW_STATES.nothingToCurate, {
                    comment: 'Every row (or the whole file) is quarantined with its reason; nothing to curate.',
                  }),
                ),
              ),
          ),
        ),
    );

    this.logGroup = new logs.LogGroup(this, 'Logs', {
      logGroupName: `/aws/vendedlogs/states/${props.prefix}-${dataset.name}`,
      retention: props.logRetentionDays as logs.RetentionDays,
      encryptionKey: props.key,
      removalPolicy: props.logRemovalPolicy ?? RemovalPolicy.RETAIN,
    });
    this.stateMachine = new sfn.StateMachine(this, 'Resource', {
      stateMachineName: `${props.prefix}-${dataset.name}`,
      stateMachineType: sfn.StateMachineType.STANDARD,
      comment: `Landing to mart for dataset ${dataset.name}: claim, validate, curate, load, audit.`,
      definitionBody: sfn.DefinitionBody.fromChainable(definition),
      tracingEnabled: true,
      logs: { destination: this.logGroup, level: sfn.LogLevel.ALL, includeExecutionData: true },
    });

    const invoked = [functions.audit, functions.validate, ...(functions.loadMart ? [functions.loadMart] : [])];
    acknowledgeQualifierWildcards(
      this.stateMachine.role,
      invoked.map((fn) => fn.functionArn),
      'Generated by the Lambda tasks: lambda:InvokeFunction on <function ARN>:* covers the versions of that one function',
    );

    this.rule = new events.Rule(this, 'ObjectCreated', {
      description: `Starts ${props.prefix}-${dataset.name} for each object created under ${dataset.name}/ in landing.`,
      eventPattern: {
        source: ['aws.s3'],
        detailType: ['Object Created'],
        detail: {
          bucket: { name: [props.landingBucketName] },
          object: { key: [{ prefix: `${dataset.name}/` }] },
        },
      },
      targets: [
        new targets.SfnStateMachine(this.stateMachine, {
          deadLetterQueue: props.deadLetterQueue,
          retryAttempts: 8,
          maxEventAge: Duration.hours(24),
        }),
      ],
    });
  }
}
