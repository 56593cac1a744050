import { Annotations, Match, Template } from 'aws-cdk-lib/assertions';
import type { DatasetConfig } from '../../../config/schema';
import { BATCH_STATES } from '../../../lib/constructs/batch-stage';
import { OrchestrationStack } from '../../../lib/stacks/orchestration-stack';
import { exampleConfig, testApp } from '../../helpers/app';
import { permissionsOfRole, sortPermissions } from '../../helpers/least-privilege';
import { dataMart as buildDataMart, foundation, fromStack } from '../../integration/helpers/foundation';

const LANDING = 'dp-dev-landing-222222222222-eu-west-1';
const ARTIFACTS = 'dp-dev-artifacts-222222222222-eu-west-1';
/** The DataMart stack's cluster ARN, built from its cluster identifier imported across stacks. */
const CLUSTER_ARN = {
  'Fn::Join': ['', ['arn:aws:rds:eu-west-1:222222222222:cluster:', fromStack('dp-dev-data-mart', /RefCluster/)]],
};

function synth(envName: 'dev' | 'prod' = 'dev', datasets: readonly DatasetConfig[] = exampleConfig().datasets) {
  const app = testApp();
  const base = foundation(app, envName);
  const dataMart = buildDataMart(app, base);
  const stack = new OrchestrationStack(app, 'Orchestration', {
    ...base.common,
    env: base.env,
    datasets,
    storage: base.storage,
    curateJobName: `${base.prefix}-curate`,
    dataMart,
  });
  return { stack, template: Template.fromStack(stack) };
}

/** The stage B definition, with tokens left as they are (only the states are inspected). */
function definitionOf(template: Template, name = 'dp-dev-batches') {
  const machines = template.findResources('AWS::StepFunctions::StateMachine', {
    Properties: { StateMachineName: name },
  });
  const [machine] = Object.values(machines);
  const parts = machine.Properties.DefinitionString['Fn::Join'][1] as unknown[];
  // Tokens become placeholders: the JSON structure around them stays parseable.
  const text = parts.map((part) => (typeof part === 'string' ? part : 'TOKEN')).join('');
  return JSON.parse(text) as { StartAt: string; States: Record<string, Record<string, unknown>> };
}

describe('OrchestrationStack', () => {
  const { template, stack } = synth('dev');

  test('stage A: one rule for every dataset, Object Created in landing outside _*, to an encrypted queue', () => {
    template.resourceCountIs('AWS::Events::Rule', 3);
    template.hasResourceProperties('AWS::Events::Rule', {
      EventPattern: {
        source: ['aws.s3'],
        'detail-type': ['Object Created'],
        detail: { bucket: { name: [LANDING] }, object: { key: [{ 'anything-but': { prefix: '_' } }] } },
      },
      Targets: [
        Match.objectLike({
          Arn: { 'Fn::GetAtt': [Match.stringLikeRegexp('ObjectStageQueue'), 'Arn'] },
          DeadLetterConfig: Match.anyValue(),
          RetryPolicy: { MaximumRetryAttempts: 8, MaximumEventAgeInSeconds: 86400 },
        }),
      ],
    });
    template.hasResourceProperties('AWS::SQS::Queue', {
      QueueName: 'dp-dev-landed-objects',
      KmsMasterKeyId: Match.anyValue(),
      // Six times the validate function's 15 minutes.
      VisibilityTimeout: 5400,
      MessageRetentionPeriod: 1209600,
      RedrivePolicy: { deadLetterTargetArn: Match.anyValue(), maxReceiveCount: 5 },
    });
  });

  test('stage A: the validate function takes one message at a time, reports partial failures, bounded concurrency', () => {
    template.hasResourceProperties('AWS::Lambda::EventSourceMapping', {
      BatchSize: 1,
      FunctionResponseTypes: ['ReportBatchItemFailures'],
      ScalingConfig: { MaximumConcurrency: 10 },
    });
    template.hasResourceProperties('AWS::Lambda::Function', {
      Environment: {
        Variables: Match.objectLike({
          ARTIFACTS_BUCKET: ARTIFACTS,
          BATCH_STATE_MACHINE_ARN: { Ref: Match.stringLikeRegexp('BatchStage') },
          BATCH_START_LEASE_SECONDS: '300',
        }),
      },
      Timeout: 900,
      MemorySize: 1024,
    });
  });

  test('stage A dead letters raise an alarm on the alert topic, quiet when there is no data', () => {
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      AlarmName: 'dp-dev-landed-objects-dead-letters',
      Threshold: 1,
      ComparisonOperator: 'GreaterThanOrEqualToThreshold',
      TreatMissingData: 'notBreaching',
      AlarmActions: [{ Ref: Match.stringLikeRegexp('AlertTopic') }],
    });
  });

  test('stage B: one Standard state machine for every dataset, logging ALL to an encrypted log group, with X-Ray', () => {
    template.resourceCountIs('AWS::StepFunctions::StateMachine', 1);
    template.hasResourceProperties('AWS::StepFunctions::StateMachine', {
      StateMachineName: 'dp-dev-batches',
      StateMachineType: 'STANDARD',
      TracingConfiguration: { Enabled: true },
      LoggingConfiguration: Match.objectLike({ Level: 'ALL', IncludeExecutionData: true }),
    });
    template.hasResourceProperties('AWS::Logs::LogGroup', {
      LogGroupName: '/aws/vendedlogs/states/dp-dev-batches',
      KmsKeyId: fromStack('dp-dev-storage', /Key/),
      RetentionInDays: 14,
    });
  });

  test('stage B loop: acquire, then batch (curate, load, complete), wait, continue, idle or superseded', () => {
    const { StartAt, States: states } = definitionOf(template);
    expect(StartAt).toBe(BATCH_STATES.acquire);
    expect(states[BATCH_STATES.acquire]).toMatchObject({ Type: 'Task', Next: BATCH_STATES.decide });
    expect(states[BATCH_STATES.acquire].ResultPath).toBeUndefined();
    const choices = (states[BATCH_STATES.decide].Choices as { StringEquals: string; Next: string }[]).map((c) => [
      c.StringEquals,
      c.Next,
    ]);
    expect(choices).toEqual([
      ['BATCH', BATCH_STATES.curate],
      ['WAIT', BATCH_STATES.wait],
      ['CONTINUE', BATCH_STATES.continueAsNew],
      ['SUPERSEDED', BATCH_STATES.superseded],
    ]);
    expect(states[BATCH_STATES.decide].Default).toBe(BATCH_STATES.idle);
    expect(states[BATCH_STATES.wait]).toMatchObject({
      SecondsPath: '$.decision.waitSeconds',
      Next: BATCH_STATES.acquire,
    });
    expect(states[BATCH_STATES.curate]).toMatchObject({
      Resource: 'arn:TOKEN:states:::glue:startJobRun.sync',
      Parameters: { JobName: 'dp-dev-curate', 'Arguments.$': '$.decision.batch.glueArguments', Timeout: 30 },
      Next: BATCH_STATES.hasMart,
    });
    expect(states[BATCH_STATES.loadMart].Next).toBe(BATCH_STATES.complete);
    expect(states[BATCH_STATES.noMart].Next).toBe(BATCH_STATES.complete);
    expect(states[BATCH_STATES.complete].Next).toBe(BATCH_STATES.acquire);
    for (const name of [BATCH_STATES.curate, BATCH_STATES.loadMart, BATCH_STATES.complete]) {
      expect(states[name].Catch).toEqual([
        { ErrorEquals: ['States.ALL'], ResultPath: '$.error', Next: BATCH_STATES.recordFailure },
      ]);
    }
    // A failed batch is recorded, alerted, and the loop goes on (the batch is retried whole on a later turn).
    expect(states[BATCH_STATES.recordFailure].Next).toBe(BATCH_STATES.alert);
    expect(states[BATCH_STATES.alert]).toMatchObject({
      Resource: 'arn:TOKEN:states:::sns:publish',
      Next: BATCH_STATES.acquire,
    });
    // Only audit out of reach stops the loop, alerted.
    for (const name of [BATCH_STATES.acquire, BATCH_STATES.recordFailure, BATCH_STATES.continueAsNew]) {
      expect(states[name].Catch).toEqual([
        { ErrorEquals: ['States.ALL'], ResultPath: '$.error', Next: BATCH_STATES.alertStop },
      ]);
    }
    expect(states[BATCH_STATES.alertStop].Next).toBe(BATCH_STATES.failed);
    expect(states[BATCH_STATES.continueAsNew]).toMatchObject({
      Resource: 'arn:TOKEN:states:::states:startExecution',
      Parameters: {
        StateMachineArn: 'arn:aws:states:eu-west-1:222222222222:stateMachine:dp-dev-batches',
        'Name.$': '$.decision.nextExecutionName',
        Input: { 'dataset.$': '$.dataset', iteration: 0 },
      },
    });
  });

  test('a failed Glue job run is not retried by the task: the batch is retried whole; API refusals are', () => {
    const { States: states } = definitionOf(template);
    expect(states[BATCH_STATES.curate].Retry).toEqual([
      expect.objectContaining({
        ErrorEquals: [
          'Glue.ConcurrentRunsExceededException',
          'Glue.ThrottlingException',
          'Glue.InternalServiceException',
        ],
        MaxAttempts: 5,
      }),
    ]);
  });

  test('mart-bound steps retry TransientError long enough for Aurora to resume', () => {
    const { States: states } = definitionOf(template);
    for (const name of [
      BATCH_STATES.acquire,
      BATCH_STATES.loadMart,
      BATCH_STATES.complete,
      BATCH_STATES.recordFailure,
    ]) {
      expect(states[name].Retry).toEqual(
        expect.arrayContaining([
          expect.objectContaining({ ErrorEquals: ['TransientError'], MaxAttempts: 5, IntervalSeconds: 15 }),
        ]),
      );
    }
  });

  test('the batch function gets the batch settings of the environment, and may write only manifests to S3', () => {
    expect(stack.batchSettings).toEqual({
      maxBytes: 536870912,
      maxWaitSeconds: 300,
      pollSeconds: 60,
      maxAttempts: 3,
      retryDelaySeconds: 300,
      batchLeaseSeconds: 30 * 60 + 16 * 60 + 600,
      startLeaseSeconds: 300,
      maxIterations: 200,
    });
    template.hasResourceProperties('AWS::Lambda::Function', {
      Environment: {
        Variables: Match.objectLike({
          BATCH_SETTINGS: JSON.stringify(stack.batchSettings),
          ARTIFACTS_BUCKET: ARTIFACTS,
          CURATED_BUCKET: 'dp-dev-curated-222222222222-eu-west-1',
        }),
      },
    });
    expect(permissionsOfRole(template, 'BatchFunctionServiceRole', 's3')).toEqual([
      { effect: 'Allow', action: 's3:PutObject', resource: `arn:aws:s3:::${ARTIFACTS}/batches/*` },
    ]);
    expect(permissionsOfRole(template, 'BatchFunctionServiceRole', 'kms')).toContainEqual({
      effect: 'Allow',
      action: 'kms:GenerateDataKey',
      resource: expect.anything(),
      condition: { StringEquals: { 'kms:ViaService': 's3.eu-west-1.amazonaws.com' } },
    });
  });

  test('the validate function may start stage B executions, nothing else of Step Functions', () => {
    template.hasResourceProperties('AWS::IAM::Policy', {
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({
            Action: 'states:StartExecution',
            Resource: { Ref: Match.stringLikeRegexp('BatchStage') },
          }),
        ]),
      },
    });
  });

  test('a stage B execution that fails, times out or is stopped is alerted', () => {
    template.hasResourceProperties('AWS::Events::Rule', {
      EventPattern: {
        source: ['aws.states'],
        'detail-type': ['Step Functions Execution Status Change'],
        detail: {
          stateMachineArn: [{ Ref: Match.stringLikeRegexp('BatchStage') }],
          status: ['FAILED', 'TIMED_OUT', 'ABORTED'],
        },
      },
      Targets: [Match.objectLike({ Arn: { Ref: Match.stringLikeRegexp('AlertTopic') } })],
    });
  });

  test('the alert topic is encrypted with the platform key, TLS-only, and mails the configured address', () => {
    template.hasResourceProperties('AWS::SNS::Topic', {
      TopicName: 'dp-dev-alerts',
      KmsMasterKeyId: fromStack('dp-dev-storage', /Key/),
    });
    template.hasResourceProperties('AWS::SNS::Subscription', {
      Protocol: 'email',
      Endpoint: exampleConfig().environments.find((e) => e.name === 'dev')?.alarms.email,
    });
    template.hasResourceProperties('AWS::SNS::TopicPolicy', {
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({ Effect: 'Deny', Condition: { Bool: { 'aws:SecureTransport': 'false' } } }),
        ]),
      },
    });
  });

  test('Glue job state changes of the curate job feed the job-auditor, retried and dead-lettered', () => {
    template.hasResourceProperties('AWS::Events::Rule', {
      EventPattern: {
        source: ['aws.glue'],
        'detail-type': ['Glue Job State Change'],
        detail: { jobName: ['dp-dev-curate'], state: ['SUCCEEDED', 'FAILED', 'TIMEOUT', 'STOPPED'] },
      },
      Targets: [Match.objectLike({ DeadLetterConfig: Match.anyValue(), RetryPolicy: Match.anyValue() })],
    });
    template.hasResourceProperties('AWS::Lambda::EventInvokeConfig', {
      MaximumRetryAttempts: 2,
      DestinationConfig: {
        OnFailure: { Destination: { 'Fn::GetAtt': [Match.stringLikeRegexp('DeadLetterQueue'), 'Arn'] } },
      },
    });
  });

  test('the dead-letter queue is KMS-encrypted with the platform key, and the stack creates no key', () => {
    template.hasResourceProperties('AWS::SQS::Queue', {
      QueueName: 'dp-dev-orchestration-dlq',
      KmsMasterKeyId: { 'Fn::GetStackOutput': Match.objectLike({ OutputName: Match.stringLikeRegexp('Key') }) },
    });
    template.resourceCountIs('AWS::KMS::Key', 0);
  });

  test('SQL functions use the Data API on the mart cluster only, as the loader login, outside any VPC', () => {
    const loaderSecret = fromStack('dp-dev-data-mart', /RefLoaderLoginSecretAttachment/);
    for (const fn of ['ValidateFunction', 'BatchFunction', 'JobAuditorFunction']) {
      template.hasResourceProperties('AWS::IAM::Policy', {
        Roles: [{ Ref: Match.stringLikeRegexp(`^${fn}ServiceRole`) }],
        PolicyDocument: {
          Statement: Match.arrayWith([
            Match.objectLike({
              Sid: 'DataApiOnMartCluster',
              Resource: CLUSTER_ARN,
              Action: [
                'rds-data:BeginTransaction',
                'rds-data:CommitTransaction',
                'rds-data:ExecuteStatement',
                'rds-data:RollbackTransaction',
              ],
            }),
            {
              Sid: 'ReadMartLoaderSecret',
              Effect: 'Allow',
              Action: 'secretsmanager:GetSecretValue',
              Resource: loaderSecret,
            },
            Match.objectLike({
              Sid: 'DecryptMartSecrets',
              Action: 'kms:Decrypt',
              Condition: { StringEquals: { 'kms:ViaService': 'secretsmanager.eu-west-1.amazonaws.com' } },
            }),
          ]),
        },
      });
      template.hasResourceProperties('AWS::Lambda::Function', {
        Role: { 'Fn::GetAtt': [Match.stringLikeRegexp(`^${fn}ServiceRole`), 'Arn'] },
        Environment: {
          Variables: Match.objectLike({
            MART_CLUSTER_ARN: CLUSTER_ARN,
            MART_DATABASE: 'mart',
            MART_SECRET_ARN: loaderSecret,
          }),
        },
        VpcConfig: Match.absent(),
      });
    }
    // No function of this stack may read the master secret.
    expect(JSON.stringify(template.toJSON())).not.toMatch(/MasterUserSecret/);
  });

  test('validate reads landing and writes only staging/ and quarantine/ of artifacts', () => {
    const write = ['s3:AbortMultipartUpload', 's3:ListMultipartUploadParts', 's3:PutObject'];
    expect(permissionsOfRole(template, 'ValidateFunctionServiceRole', 's3')).toEqual(
      sortPermissions([
        ...write.flatMap((action) =>
          ['quarantine', 'staging'].map((prefix) => ({
            effect: 'Allow',
            action,
            resource: `arn:aws:s3:::${ARTIFACTS}/${prefix}/*`,
          })),
        ),
        { effect: 'Allow', action: 's3:GetObject', resource: `arn:aws:s3:::${LANDING}/*` },
        { effect: 'Allow', action: 's3:GetObjectVersion', resource: `arn:aws:s3:::${LANDING}/*` },
      ]),
    );
    template.hasResourceProperties('AWS::Lambda::Function', {
      Environment: { Variables: Match.objectLike({ ARTIFACTS_BUCKET: ARTIFACTS }) },
      Timeout: 900,
    });
  });

  test('synthesizes without warnings', () => {
    const { stack } = synth('prod');
    expect(Annotations.fromStack(stack).findWarning('*', Match.anyValue())).toEqual([]);
  });
});

test('synthesizes with edited dataset definitions: validate gets them at bundle time, nothing to regenerate', () => {
  const [clicks, impressions] = exampleConfig().datasets;
  expect(() => synth('dev', [clicks, { ...impressions, columns: impressions.columns.slice(1) }])).not.toThrow();
});
