import { Annotations, Match, Template } from 'aws-cdk-lib/assertions';
import { FLOW_STATES } from '../../../lib/constructs/dataset-flow';
import { OrchestrationStack } from '../../../lib/stacks/orchestration-stack';
import { exampleConfig, testApp } from '../../helpers/app';
import { dataMart as buildDataMart, foundation, fromStack } from '../../integration/helpers/foundation';

const LANDING = 'dp-dev-landing-222222222222-eu-west-1';
const ARTIFACTS = 'dp-dev-artifacts-222222222222-eu-west-1';
/** The DataMart stack's cluster ARN, built from its cluster identifier imported across stacks. */
const CLUSTER_ARN = {
  'Fn::Join': ['', ['arn:aws:rds:eu-west-1:222222222222:cluster:', fromStack('dp-dev-data-mart', /RefCluster/)]],
};

function synth(envName: 'dev' | 'prod' = 'dev', datasets = exampleConfig().datasets) {
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
    loadMartFunction: dataMart.loadMartFunction,
  });
  return { stack, template: Template.fromStack(stack) };
}

/** The state machine definition of a dataset, with tokens left as they are (only the states are inspected). */
function definitionOf(template: Template, dataset: string) {
  const machines = template.findResources('AWS::StepFunctions::StateMachine', {
    Properties: { StateMachineName: `dp-dev-${dataset}` },
  });
  const [machine] = Object.values(machines);
  const parts = machine.Properties.DefinitionString['Fn::Join'][1] as unknown[];
  // Tokens become placeholders: the JSON structure around them stays parseable.
  const text = parts.map((part) => (typeof part === 'string' ? part : 'TOKEN')).join('');
  return JSON.parse(text) as { StartAt: string; States: Record<string, Record<string, unknown>> };
}

describe('OrchestrationStack', () => {
  const { template } = synth('dev');

  test('one Standard state machine per dataset, logging ALL to an encrypted log group, with X-Ray', () => {
    for (const dataset of ['impressions', 'clicks']) {
      template.hasResourceProperties('AWS::StepFunctions::StateMachine', {
        StateMachineName: `dp-dev-${dataset}`,
        StateMachineType: 'STANDARD',
        TracingConfiguration: { Enabled: true },
        LoggingConfiguration: Match.objectLike({ Level: 'ALL', IncludeExecutionData: true }),
      });
      template.hasResourceProperties('AWS::Logs::LogGroup', {
        LogGroupName: `/aws/vendedlogs/states/dp-dev-${dataset}`,
        KmsKeyId: fromStack('dp-dev-storage', /Key/),
        RetentionInDays: 14,
      });
    }
  });

  test('an EventBridge rule per dataset on Object Created under <dataset>/ in landing, with a dead-letter queue', () => {
    template.hasResourceProperties('AWS::Events::Rule', {
      EventPattern: {
        source: ['aws.s3'],
        'detail-type': ['Object Created'],
        detail: { bucket: { name: [LANDING] }, object: { key: [{ prefix: 'impressions/' }] } },
      },
      Targets: [
        Match.objectLike({
          DeadLetterConfig: { Arn: { 'Fn::GetAtt': [Match.stringLikeRegexp('DeadLetterQueue'), 'Arn'] } },
          RetryPolicy: Match.objectLike({ MaximumRetryAttempts: 8 }),
        }),
      ],
    });
  });

  test('the flow claims, validates, curates and records; failures are recorded, alerted and fail', () => {
    const definition = definitionOf(template, 'impressions');
    expect(definition.StartAt).toBe(FLOW_STATES.describeRun);
    const states = definition.States;
    expect(states[FLOW_STATES.claim]).toMatchObject({ Type: 'Task', Next: FLOW_STATES.alreadyClaimed });
    expect(states[FLOW_STATES.alreadyProcessed]).toMatchObject({ Type: 'Succeed' });
    expect(states[FLOW_STATES.curate]).toMatchObject({
      Type: 'Task',
      Resource: expect.stringContaining(':states:::glue:startJobRun.sync'),
      // The job run's timeout, in minutes, from environments/dev.json etl.glueTimeoutMinutes.
      Parameters: {
        JobName: 'dp-dev-curate',
        Timeout: 30,
        Arguments: expect.objectContaining({ '--dataset': 'impressions', '--run_id.$': '$.run.runId' }),
      },
    });
    expect(states[FLOW_STATES.curate].Retry).toEqual(
      expect.arrayContaining([
        expect.objectContaining({
          ErrorEquals: expect.arrayContaining(['Glue.ConcurrentRunsExceededException', 'Glue.ThrottlingException']),
          BackoffRate: 2,
          MaxAttempts: 5,
        }),
      ]),
    );
    for (const name of [FLOW_STATES.claim, FLOW_STATES.validate, FLOW_STATES.curate, FLOW_STATES.recordSuccess]) {
      expect(states[name].Catch).toEqual([
        { ErrorEquals: ['States.ALL'], ResultPath: '$.error', Next: FLOW_STATES.recordFailure },
      ]);
    }
    expect(states[FLOW_STATES.recordFailure]).toMatchObject({ Next: FLOW_STATES.alert });
    expect(states[FLOW_STATES.alert]).toMatchObject({
      Resource: expect.stringContaining(':states:::sns:publish'),
      Next: FLOW_STATES.failed,
    });
    expect(states[FLOW_STATES.failed]).toMatchObject({ Type: 'Fail', ErrorPath: '$.error.Error' });
  });

  test('mart-enabled datasets load the batch with the DataMart stack loader, retried while Aurora resumes', () => {
    const states = definitionOf(template, 'impressions').States;
    expect(states[FLOW_STATES.curate].Next).toBe(FLOW_STATES.loadMart);
    expect(states[FLOW_STATES.loadMart]).toMatchObject({
      Type: 'Task',
      Parameters: {
        dataset: 'impressions',
        'runId.$': '$.run.runId',
        'objectKey.$': '$.run.key',
        'objectVersion.$': '$.run.versionId',
        bucket: 'dp-dev-curated-222222222222-eu-west-1',
        'prefix.$': "States.Format('_mart/impressions/run_id={}/', $.run.runId)",
      },
      Next: FLOW_STATES.recordSuccess,
      Retry: expect.arrayContaining([expect.objectContaining({ ErrorEquals: ['TransientError'], MaxAttempts: 5 })]),
    });
  });

  test('without a loader the flow goes from curate to the audit record', () => {
    const app = testApp();
    const base = foundation(app, 'dev');
    const dataMart = buildDataMart(app, base);
    const stack = new OrchestrationStack(app, 'Orchestration', {
      ...base.common,
      env: base.env,
      datasets: exampleConfig().datasets,
      storage: base.storage,
      curateJobName: 'dp-dev-curate',
      dataMart,
    });
    const states = definitionOf(Template.fromStack(stack), 'clicks').States;
    expect(states[FLOW_STATES.curate].Next).toBe(FLOW_STATES.recordSuccess);
    expect(states[FLOW_STATES.loadMart]).toBeUndefined();
  });

  test('mart-bound steps retry TransientError long enough for Aurora to resume', () => {
    const states = definitionOf(template, 'impressions').States;
    expect(states[FLOW_STATES.claim].Retry).toEqual(
      expect.arrayContaining([
        {
          ErrorEquals: ['TransientError'],
          IntervalSeconds: 15,
          BackoffRate: 1.5,
          MaxAttempts: 5,
          MaxDelaySeconds: 60,
          JitterStrategy: 'FULL',
        },
      ]),
    );
  });

  test('validate is never retried on InvalidInputError', () => {
    const states = definitionOf(template, 'clicks').States;
    expect((states[FLOW_STATES.validate].Retry as { ErrorEquals: string[] }[])[1]).toEqual({
      ErrorEquals: ['InvalidInputError'],
      MaxAttempts: 0,
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

  test('the dead-letter queue is KMS-encrypted with a rotating key EventBridge may use', () => {
    template.hasResourceProperties('AWS::SQS::Queue', {
      KmsMasterKeyId: { 'Fn::GetAtt': [Match.stringLikeRegexp('DeadLetterKey'), 'Arn'] },
    });
    template.hasResourceProperties('AWS::KMS::Key', {
      EnableKeyRotation: true,
      KeyPolicy: {
        Statement: Match.arrayWith([
          Match.objectLike({
            Principal: { Service: 'events.amazonaws.com' },
            Action: ['kms:Decrypt', 'kms:GenerateDataKey'],
          }),
        ]),
      },
    });
  });

  test('SQL functions use the Data API on the mart cluster only, as the loader login, outside any VPC', () => {
    const loaderSecret = fromStack('dp-dev-data-mart', /RefLoaderLoginSecretAttachment/);
    for (const fn of ['AuditFunction', 'JobAuditorFunction']) {
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
    template.hasResourceProperties('AWS::IAM::Policy', {
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({ Sid: 'ReadLanding', Resource: `arn:aws:s3:::${LANDING}/*` }),
          Match.objectLike({
            Sid: 'WriteStagingAndQuarantine',
            Resource: [`arn:aws:s3:::${ARTIFACTS}/quarantine/*`, `arn:aws:s3:::${ARTIFACTS}/staging/*`],
          }),
        ]),
      },
    });
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

test('fails synth, naming the dataset and the command, when the bundled dataset definitions are stale', () => {
  const [clicks, impressions] = exampleConfig().datasets;
  expect(() => synth('dev', [clicks, { ...impressions, columns: impressions.columns.slice(1) }])).toThrow(
    /definitions bundled into the validate function are out of date \("impressions" differs\)\. Fix: run `npx tsx lambda\/validate\/bundle-datasets.ts`/,
  );
});
