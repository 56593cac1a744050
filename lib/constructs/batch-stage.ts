import { ArnFormat, Duration, RemovalPolicy, Stack } from 'aws-cdk-lib';
import type * as kms from 'aws-cdk-lib/aws-kms';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';
import type * as sns from 'aws-cdk-lib/aws-sns';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import * as tasks from 'aws-cdk-lib/aws-stepfunctions-tasks';
import { Construct } from 'constructs';
import { acknowledgeQualifierWildcards } from './nag-acknowledgements';

/**
 * State names are a contract: the local state-machine tests and the flow benchmark override tasks by name, and
 * operators read them in the console. Change them only together with test/integration/ and bench/flow.ts.
 */
export const BATCH_STATES = {
  acquire: 'Acquire',
  decide: 'Decide',
  wait: 'WaitForBatch',
  curate: 'CurateBatch',
  hasMart: 'LoadsMart?',
  noMart: 'NoMartLoad',
  loadMart: 'LoadMart',
  complete: 'CompleteBatch',
  recordFailure: 'RecordBatchFailure',
  alert: 'SendBatchAlert',
  continueAsNew: 'ContinueInNewExecution',
  handedOver: 'HandedOver',
  idle: 'Idle',
  superseded: 'Superseded',
  alertStop: 'SendLoopAlert',
  failed: 'LoopFailed',
} as const;

/** Step Functions error names the loop retries on (see lambda/shared/errors.ts for the domain ones). */
export const BATCH_ERRORS = {
  transient: 'TransientError',
  glueConcurrency: 'Glue.ConcurrentRunsExceededException',
  glueThrottling: 'Glue.ThrottlingException',
  glueInternal: 'Glue.InternalServiceException',
} as const;

export interface BatchStageProps {
  /** `<platformPrefix>-<env>`: the state machine is named `<prefix>-batches`. */
  readonly prefix: string;
  /** lambda/batch: acquire, complete, fail. */
  readonly batchFunction: lambda.IFunction;
  /** lambda/load-mart: loads a batch's CSV into the mart. */
  readonly loadMartFunction: lambda.IFunction;
  readonly curateJobName: string;
  /** The job's own timeout; the task waits that long at most. */
  readonly curateJobTimeout: Duration;
  /** Batch failures and a failed loop are published here (encrypted topic). */
  readonly alertTopic: sns.ITopic;
  /** Encrypts the execution log group. */
  readonly key: kms.IKey;
  readonly logRetentionDays: number;
  /** @default RemovalPolicy.RETAIN */
  readonly logRemovalPolicy?: RemovalPolicy;
}

/**
 * Backoff for steps that reach the data mart: an auto-paused Aurora Serverless v2 cluster takes 15 to 60 s to resume,
 * during which the Data API answers DatabaseResumingException (mapped to TransientError). 5 attempts over ~3 minutes.
 */
export const MART_RESUME_RETRY: sfn.RetryProps = {
  errors: [BATCH_ERRORS.transient],
  interval: Duration.seconds(15),
  backoffRate: 1.5,
  maxAttempts: 5,
  maxDelay: Duration.seconds(60),
  jitterStrategy: sfn.JitterType.FULL,
};

/**
 * Stage B of the data path: ONE Standard state machine for every dataset, one execution per dataset at a time (the
 * lease in audit.dataset_schedules), started by stage A when a run is staged and no live loop holds its dataset.
 *
 * The loop: Acquire decides (lambda/batch/contract.ts) -> BATCH: one curate job run over the manifest, one mart load,
 * Complete; WAIT: sleep until the batch is due (or the next poll); CONTINUE: start a fresh execution after
 * `maxIterations` turns (the history of one execution stays small); IDLE / SUPERSEDED: end. A failed batch step is
 * recorded (the batch is retried whole on a later turn, after a delay), alerted, and the loop goes on. Only a failure
 * to reach audit at all fails the execution (alerted); its lease then expires and the next staged run starts a new
 * loop, which retries the open batch.
 *
 * Standard, not Express: a batch waits for its Glue job up to the job's timeout (Express stops at 5 minutes), and its
 * transitions are per batch window, not per object (see bench/flow.ts for the cost).
 */
export class BatchStage extends Construct {
  readonly stateMachine: sfn.StateMachine;
  readonly logGroup: logs.LogGroup;
  readonly stateMachineName: string;

  constructor(scope: Construct, id: string, props: BatchStageProps) {
    super(scope, id);
    this.stateMachineName = `${props.prefix}-batches`;
    const batch = (path: string) => `$.decision.batch.${path}`;
    const common = {
      dataset: sfn.JsonPath.stringAt('$.dataset'),
      executionName: sfn.JsonPath.executionName,
    };

    const acquire = new tasks.LambdaInvoke(this, BATCH_STATES.acquire, {
      comment: 'Under the dataset lease: decide the next step (batch, wait, continue, idle, superseded).',
      lambdaFunction: props.batchFunction,
      payloadResponseOnly: true,
      payload: sfn.TaskInput.fromObject({
        action: 'acquire',
        ...common,
        iteration: sfn.JsonPath.numberAt('$.iteration'),
        // Not read by the function: the local runs advance their simulated clock by the wait that preceded.
        waitedSeconds: sfn.JsonPath.numberAt('$.decision.waitSeconds'),
      }),
      // No ResultPath: the function's answer is the whole state of the loop (ASL's default, "$").
      taskTimeout: sfn.Timeout.duration(Duration.minutes(2)),
    }).addRetry(MART_RESUME_RETRY);

    const curate = new tasks.GlueStartJobRun(this, BATCH_STATES.curate, {
      comment: 'One curate job run for the whole batch (manifest of its runs).',
      glueJobName: props.curateJobName,
      integrationPattern: sfn.IntegrationPattern.RUN_JOB,
      arguments: sfn.TaskInput.fromJsonPathAt(batch('glueArguments')),
      resultSelector: {
        jobRunId: sfn.JsonPath.stringAt('$.Id'),
        state: sfn.JsonPath.stringAt('$.JobRunState'),
      },
      resultPath: '$.curate',
      // For Glue, the task timeout is the job run's own timeout: the run ends in TIMEOUT and the .sync task fails.
      taskTimeout: sfn.Timeout.duration(props.curateJobTimeout),
    }).addRetry({
      // The API refusing a start is retried here; a job run that failed is a failed batch, retried whole later.
      errors: [BATCH_ERRORS.glueConcurrency, BATCH_ERRORS.glueThrottling, BATCH_ERRORS.glueInternal],
      interval: Duration.seconds(30),
      backoffRate: 2,
      maxAttempts: 5,
      maxDelay: Duration.minutes(5),
      jitterStrategy: sfn.JitterType.FULL,
    });

    const loadMart = new tasks.LambdaInvoke(this, BATCH_STATES.loadMart, {
      comment: "One mart load of the batch's changed rows (idempotent; a failed load leaves the mart unchanged).",
      lambdaFunction: props.loadMartFunction,
      payloadResponseOnly: true,
      // Field by field: a whole-object JSON path as the payload of a response-only invoke renders invalid ASL.
      payload: sfn.TaskInput.fromObject({
        dataset: sfn.JsonPath.stringAt(batch('load.dataset')),
        batchId: sfn.JsonPath.stringAt(batch('load.batchId')),
        bucket: sfn.JsonPath.stringAt(batch('load.bucket')),
        prefix: sfn.JsonPath.stringAt(batch('load.prefix')),
      }),
      resultSelector: { rowsStaged: sfn.JsonPath.numberAt('$.rowsStaged') },
      resultPath: '$.load',
      taskTimeout: sfn.Timeout.duration(Duration.minutes(16)),
    }).addRetry(MART_RESUME_RETRY);
    const noMart = new sfn.Pass(this, BATCH_STATES.noMart, {
      comment: 'The dataset does not load into the mart.',
      result: sfn.Result.fromObject({ rowsStaged: null }),
      resultPath: '$.load',
    });

    const complete = new tasks.LambdaInvoke(this, BATCH_STATES.complete, {
      lambdaFunction: props.batchFunction,
      payloadResponseOnly: true,
      payload: sfn.TaskInput.fromObject({
        action: 'complete',
        ...common,
        batchId: sfn.JsonPath.stringAt(batch('batchId')),
        jobRunId: sfn.JsonPath.stringAt('$.curate.jobRunId'),
        rowsLoaded: sfn.JsonPath.numberAt('$.load.rowsStaged'),
      }),
      resultPath: sfn.JsonPath.DISCARD,
      taskTimeout: sfn.Timeout.duration(Duration.minutes(2)),
    }).addRetry(MART_RESUME_RETRY);

    const recordFailure = new tasks.LambdaInvoke(this, BATCH_STATES.recordFailure, {
      comment: 'The batch failed: FAILED until its next attempt (same runs, same manifest).',
      lambdaFunction: props.batchFunction,
      payloadResponseOnly: true,
      payload: sfn.TaskInput.fromObject({
        action: 'fail',
        ...common,
        batchId: sfn.JsonPath.stringAt(batch('batchId')),
        error: sfn.JsonPath.stringAt('$.error.Error'),
        cause: sfn.JsonPath.stringAt('$.error.Cause'),
      }),
      resultPath: '$.failure',
      taskTimeout: sfn.Timeout.duration(Duration.minutes(2)),
    }).addRetry(MART_RESUME_RETRY);

    const subject = (what: string) => `Data platform ${what}: ${props.prefix}`.slice(0, 100);
    const alert = new tasks.SnsPublish(this, BATCH_STATES.alert, {
      topic: props.alertTopic,
      subject: subject('batch failed'),
      message: sfn.TaskInput.fromObject({
        dataset: sfn.JsonPath.stringAt('$.dataset'),
        batchId: sfn.JsonPath.stringAt(batch('batchId')),
        attempt: sfn.JsonPath.numberAt('$.failure.attempts'),
        nextAttemptAt: sfn.JsonPath.stringAt('$.failure.nextAttemptAt'),
        error: sfn.JsonPath.stringAt('$.error.Error'),
        cause: sfn.JsonPath.stringAt('$.error.Cause'),
        execution: sfn.JsonPath.executionId,
        runbook: 'docs/operations.md#batch-failed',
      }),
      resultPath: sfn.JsonPath.DISCARD,
    });

    const alertStop = new tasks.SnsPublish(this, BATCH_STATES.alertStop, {
      topic: props.alertTopic,
      subject: subject('batch loop stopped'),
      message: sfn.TaskInput.fromObject({
        dataset: sfn.JsonPath.stringAt('$.dataset'),
        error: sfn.JsonPath.stringAt('$.error.Error'),
        cause: sfn.JsonPath.stringAt('$.error.Cause'),
        execution: sfn.JsonPath.executionId,
        runbook: 'docs/operations.md#batch-loop-stopped',
      }),
      resultPath: sfn.JsonPath.DISCARD,
    });
    const failed = new sfn.Fail(this, BATCH_STATES.failed, {
      comment: 'Audit could not be reached: alerted; the lease expires and the next staged run starts a new loop.',
      errorPath: '$.error.Error',
      causePath: '$.error.Cause',
    });
    alertStop.next(failed);

    const selfArn = Stack.of(this).formatArn({
      service: 'states',
      resource: 'stateMachine',
      resourceName: this.stateMachineName,
      arnFormat: ArnFormat.COLON_RESOURCE_NAME,
    });
    const continueAsNew = new tasks.StepFunctionsStartExecution(this, BATCH_STATES.continueAsNew, {
      comment: 'The loop goes on in a fresh execution (named by Acquire, which gave it the lease).',
      // By name, not by reference: a state machine cannot reference its own ARN in its definition.
      stateMachine: sfn.StateMachine.fromStateMachineArn(this, 'Self', selfArn),
      name: sfn.JsonPath.stringAt('$.decision.nextExecutionName'),
      input: sfn.TaskInput.fromObject({
        dataset: sfn.JsonPath.stringAt('$.dataset'),
        iteration: 0,
        decision: { outcome: 'START', waitSeconds: 0, reason: 'continued' },
      }),
      integrationPattern: sfn.IntegrationPattern.REQUEST_RESPONSE,
      resultPath: sfn.JsonPath.DISCARD,
    });

    for (const step of [acquire, recordFailure]) {
      step.addCatch(alertStop, { errors: [sfn.Errors.ALL], resultPath: '$.error' });
    }
    continueAsNew.addCatch(alertStop, { errors: [sfn.Errors.ALL], resultPath: '$.error' });
    for (const step of [curate, loadMart, complete]) {
      step.addCatch(recordFailure, { errors: [sfn.Errors.ALL], resultPath: '$.error' });
    }

    const wait = new sfn.Wait(this, BATCH_STATES.wait, {
      comment: 'Until the batch is due or the next look at the staged runs.',
      time: sfn.WaitTime.secondsPath('$.decision.waitSeconds'),
    });

    recordFailure.next(alert).next(acquire);
    wait.next(acquire);
    complete.next(acquire);
    loadMart.next(complete);
    noMart.next(complete);
    curate.next(
      new sfn.Choice(this, BATCH_STATES.hasMart)
        .when(sfn.Condition.booleanEquals(batch('martEnabled'), true), loadMart)
        .otherwise(noMart),
    );
    continueAsNew.next(new sfn.Succeed(this, BATCH_STATES.handedOver));

    const definition = acquire.next(
      new sfn.Choice(this, BATCH_STATES.decide)
        .when(sfn.Condition.stringEquals('$.decision.outcome', 'BATCH'), curate)
        .when(sfn.Condition.stringEquals('$.decision.outcome', 'WAIT'), wait)
        .when(sfn.Condition.stringEquals('$.decision.outcome', 'CONTINUE'), continueAsNew)
        .when(
          sfn.Condition.stringEquals('$.decision.outcome', 'SUPERSEDED'),
          new sfn.Succeed(this, BATCH_STATES.superseded, { comment: 'Another execution holds the dataset.' }),
        )
        .otherwise(new sfn.Succeed(this, BATCH_STATES.idle, { comment: 'Nothing waits: the lease is released.' })),
    );

    this.logGroup = new logs.LogGroup(this, 'Logs', {
      logGroupName: `/aws/vendedlogs/states/${this.stateMachineName}`,
      retention: props.logRetentionDays as logs.RetentionDays,
      encryptionKey: props.key,
      removalPolicy: props.logRemovalPolicy ?? RemovalPolicy.RETAIN,
    });
    this.stateMachine = new sfn.StateMachine(this, 'Resource', {
      stateMachineName: this.stateMachineName,
      stateMachineType: sfn.StateMachineType.STANDARD,
      comment: 'Stage B: per dataset, batches of staged runs -> one curate job run -> one mart load -> audit.',
      definitionBody: sfn.DefinitionBody.fromChainable(definition),
      tracingEnabled: true,
      logs: { destination: this.logGroup, level: sfn.LogLevel.ALL, includeExecutionData: true },
    });

    acknowledgeQualifierWildcards(
      this.stateMachine.role,
      [props.batchFunction.functionArn, props.loadMartFunction.functionArn],
      'Generated by the Lambda tasks: lambda:InvokeFunction on <function ARN>:* covers the versions of that one function',
    );
  }
}
