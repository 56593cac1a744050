import { Annotations, Match, Template } from 'aws-cdk-lib/assertions';
import type { EnvironmentConfig } from '../../../config/schema';
import { PipelineStack, stageId } from '../../../lib/pipeline/pipeline-stack';
import { exampleConfig, exampleEnvironment, testApp } from '../../helpers/app';
import { flaggedApp } from './flagged-app';
import { stageDouble } from './stage-double';

/** One pipeline deploying dev -> test -> prod, the way promotion mode builds it. Synthesized once for the file. */
function buildPipeline(environments: readonly EnvironmentConfig[] = exampleConfig().environments, app = testApp()) {
  const config = exampleConfig();
  const stack = new PipelineStack(app, 'Pipeline', {
    env: { account: config.platform.deployment.account, region: config.platform.deployment.region },
    platform: config.platform,
    environments,
    datasets: config.datasets,
    branch: 'main',
    pipelineName: 'dp-pipeline',
    createStage: stageDouble,
  });
  return { stack, template: Template.fromStack(stack) };
}

interface ActionJson {
  Name: string;
  RunOrder: number;
  ActionTypeId: { Category: string; Provider: string };
  Configuration?: Record<string, unknown>;
}

function pipelineStages(template: Template): { Name: string; Actions: ActionJson[] }[] {
  const pipelines = Object.values(template.findResources('AWS::CodePipeline::Pipeline'));
  expect(pipelines).toHaveLength(1);
  return pipelines[0].Properties.Stages;
}

function actionsOf(template: Template, stageName: string): ActionJson[] {
  const stage = pipelineStages(template).find((s) => s.Name === stageName);
  if (!stage) throw new Error(`pipeline has no stage ${stageName}`);
  return [...stage.Actions].sort((a, b) => a.RunOrder - b.RunOrder);
}

/** The CodeBuild project behind the pipeline action `actionName` of stage `stageName`. */
function projectOf(template: Template, stageName: string, actionName: string) {
  const action = actionsOf(template, stageName).find((a) => a.Name === actionName);
  if (!action) throw new Error(`stage ${stageName} has no action ${actionName}`);
  const logicalId = (action.Configuration?.ProjectName as { Ref?: string } | undefined)?.Ref ?? '';
  return template.findResources('AWS::CodeBuild::Project')[logicalId];
}

describe('PipelineStack', () => {
  let built: ReturnType<typeof buildPipeline>;
  beforeAll(() => {
    built = buildPipeline();
  });

  test('runs source, synth, self-mutation, then one stage per environment in the given order', () => {
    expect(pipelineStages(built.template).map((stage) => stage.Name)).toEqual([
      'Source',
      'Build',
      'UpdatePipeline',
      'Dev',
      'Test',
      'Prod',
    ]);
    expect(built.stack.stages.map((stage) => stage.stageName)).toEqual(['Dev', 'Test', 'Prod']);
  });

  test('is a V2 pipeline with the configured name, restarting after self-mutation', () => {
    built.template.hasResourceProperties('AWS::CodePipeline::Pipeline', {
      Name: 'dp-pipeline',
      PipelineType: 'V2',
      RestartExecutionOnUpdate: true,
    });
  });

  test('encrypts artifacts with a cross-account KMS key that rotates', () => {
    built.template.hasResourceProperties('AWS::KMS::Key', { EnableKeyRotation: true });
    const keys = Object.keys(built.template.findResources('AWS::KMS::Key'));
    expect(keys).toHaveLength(1);
    built.template.hasResourceProperties('AWS::CodePipeline::Pipeline', {
      ArtifactStore: Match.objectLike({
        Type: 'S3',
        EncryptionKey: { Id: { 'Fn::GetAtt': [keys[0], 'Arn'] }, Type: 'KMS' },
      }),
    });
  });

  test('synth runs npm ci, npm test (two workers) and cdk synth on Node.js 22 in a 7 GB build and publishes cdk.out', () => {
    const synth = projectOf(built.template, 'Build', 'Synth');
    const buildSpec = JSON.parse(synth.Properties.Source.BuildSpec);
    expect(buildSpec.phases.build.commands).toEqual(['npm ci', 'npm test -- --maxWorkers=2', 'npx cdk synth']);
    expect(synth.Properties.Environment.ComputeType).toBe('BUILD_GENERAL1_MEDIUM');
    expect(buildSpec.phases.install['runtime-versions']).toEqual({ nodejs: 22 });
    expect(buildSpec.artifacts['base-directory']).toBe('cdk.out');
    expect(synth.Properties.Environment).toMatchObject({ Image: 'aws/codebuild/standard:7.0', PrivilegedMode: false });
  });

  test('mutates itself from the synthesized cloud assembly', () => {
    expect(actionsOf(built.template, 'UpdatePipeline').map((a) => a.Name)).toEqual(['SelfMutate']);
    const selfMutation = projectOf(built.template, 'UpdatePipeline', 'SelfMutate');
    expect(selfMutation.Properties.Source.BuildSpec).toContain('cdk -a . deploy');
  });

  test('adds approval and security-change confirmation only before the production environment', () => {
    const approvals = (stage: string) =>
      actionsOf(built.template, stage)
        .filter((a) => a.ActionTypeId.Category === 'Approval' || a.Name.startsWith('ConfirmSecurityChanges'))
        .map((a) => a.Name);
    expect(approvals('Dev')).toEqual([]);
    expect(approvals('Test')).toEqual([]);
    expect(approvals('Prod')).toEqual([
      'ConfirmSecurityChangesProd.Check',
      'ConfirmSecurityChangesProd.Confirm',
      'ApproveProd',
    ]);
  });

  test('runs the pre steps before the deploy and the integration test after it', () => {
    const prod = actionsOf(built.template, 'Prod');
    const order = (name: string) => prod.find((a) => a.Name === name)?.RunOrder ?? Number.NaN;
    expect(order('ApproveProd')).toBeLessThan(order('dp-prod-storage.Prepare'));
    expect(order('dp-prod-storage.Deploy')).toBeLessThan(order('IntegrationTest'));
    expect(prod[prod.length - 1].Name).toBe('IntegrationTest');
  });

  test.each(['dev', 'test', 'prod'] as const)(
    'runs the %s integration test with the stage outputs and TARGET_REGION',
    (env) => {
      const environment = exampleEnvironment(env);
      const stage = stageId(env);
      const action = actionsOf(built.template, stage).find((a) => a.Name === 'IntegrationTest');
      const variables = JSON.parse(action?.Configuration?.EnvironmentVariables as string) as {
        name: string;
        value: string;
      }[];
      expect(variables.map((v) => v.name).sort()).toEqual(['INTEGRATION_TEST_ROLE_ARN', 'LANDING_BUCKET_NAME']);
      expect(variables.every((v) => /^#\{[A-Za-z0-9]+\.[A-Za-z0-9]+\}$/.test(v.value))).toBe(true);

      const project = projectOf(built.template, stage, 'IntegrationTest');
      expect(JSON.parse(project.Properties.Source.BuildSpec).phases.build.commands).toEqual([
        'npm ci',
        `npx tsx scripts/integration-test.ts --env ${env}`,
      ]);
      expect(project.Properties.Environment.EnvironmentVariables).toEqual([
        { Name: 'TARGET_REGION', Type: 'PLAINTEXT', Value: environment.region },
      ]);
    },
  );

  test.each(['dev', 'test', 'prod'] as const)(
    "runs the %s integration test as a named role that may only assume that environment's test role",
    (env) => {
      const environment = exampleEnvironment(env);
      const project = projectOf(built.template, stageId(env), 'IntegrationTest');
      const roleLogicalId = project.Properties.ServiceRole['Fn::GetAtt'][0];
      const role = built.template.findResources('AWS::IAM::Role')[roleLogicalId];
      expect(role.Properties.RoleName).toBe(`dp-${env}-integration-test-runner`);
      expect(role.Properties.AssumeRolePolicyDocument.Statement).toEqual([
        expect.objectContaining({ Principal: { Service: 'codebuild.amazonaws.com' }, Action: 'sts:AssumeRole' }),
      ]);

      const assumeStatements = Object.values(built.template.findResources('AWS::IAM::Policy'))
        .filter((policy) => policy.Properties.Roles.some((r: { Ref: string }) => r.Ref === roleLogicalId))
        .flatMap((policy) => policy.Properties.PolicyDocument.Statement)
        .filter((statement) => [statement.Action].flat().some((action: string) => action.startsWith('sts:')));
      expect(assumeStatements).toEqual([
        expect.objectContaining({
          Action: 'sts:AssumeRole',
          Effect: 'Allow',
          Resource: `arn:aws:iam::${environment.account}:role/dp-${env}-integration-test`,
        }),
      ]);
    },
  );

  test('sends the logs of synth, self-mutation and integration tests to one log group that expires', () => {
    built.template.hasResourceProperties('AWS::Logs::LogGroup', { RetentionInDays: 365 });
    const logGroupId = Object.keys(built.template.findResources('AWS::Logs::LogGroup')).find((id) =>
      id.startsWith('BuildLogs'),
    );
    for (const [stage, action] of [
      ['Build', 'Synth'],
      ['UpdatePipeline', 'SelfMutate'],
      ['Dev', 'IntegrationTest'],
      ['Prod', 'IntegrationTest'],
    ]) {
      expect(projectOf(built.template, stage, action).Properties.LogsConfig).toEqual({
        CloudWatchLogs: { GroupName: { Ref: logGroupId }, Status: 'ENABLED' },
      });
    }
  });

  test('logs access to the artifact bucket into a TLS-only access-log bucket', () => {
    built.template.hasResourceProperties('AWS::S3::Bucket', {
      BucketEncryption: Match.objectLike({
        ServerSideEncryptionConfiguration: [
          Match.objectLike({ ServerSideEncryptionByDefault: Match.objectLike({ SSEAlgorithm: 'aws:kms' }) }),
        ],
      }),
      LoggingConfiguration: {
        DestinationBucketName: { Ref: Match.stringLikeRegexp('^AccessLogs') },
        LogFilePrefix: 'artifact-bucket/',
      },
    });
    built.template.hasResourceProperties('AWS::S3::BucketPolicy', {
      Bucket: { Ref: Match.stringLikeRegexp('^AccessLogs') },
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({ Effect: 'Deny', Action: 's3:*', Condition: { Bool: { 'aws:SecureTransport': 'false' } } }),
          Match.objectLike({
            Effect: 'Allow',
            Principal: { Service: 'logging.s3.amazonaws.com' },
            Action: 's3:PutObject',
          }),
        ]),
      },
    });
  });

  test('notifies the alert email of gated environments when a deploy waits at a gate', () => {
    built.template.hasResourceProperties('AWS::SNS::Topic', { KmsMasterKeyId: 'alias/aws/sns' });
    const subscriptions = Object.values(built.template.findResources('AWS::SNS::Subscription'));
    expect(subscriptions.map((subscription) => subscription.Properties)).toEqual([
      expect.objectContaining({ Protocol: 'email', Endpoint: exampleEnvironment('prod').alarms.email }),
    ]);
    built.template.hasResourceProperties('AWS::SNS::TopicPolicy', {
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({
            Effect: 'Deny',
            Action: 'sns:Publish',
            Condition: { Bool: { 'aws:SecureTransport': 'false' } },
          }),
        ]),
      },
    });
    const topicId = Object.keys(built.template.findResources('AWS::SNS::Topic'))[0];
    const approval = actionsOf(built.template, 'Prod').find((a) => a.Name === 'ApproveProd');
    expect(approval?.Configuration).toMatchObject({ NotificationArn: { Ref: topicId } });
  });

  test('with the feature flags of cdk.json: a V2 pipeline, no warnings, and no KMS key wildcard for the topic', () => {
    const { stack, template } = buildPipeline(exampleConfig().environments, flaggedApp());
    template.hasResourceProperties('AWS::CodePipeline::Pipeline', { PipelineType: 'V2' });
    expect(Annotations.fromStack(stack).findWarning('*', Match.anyValue())).toEqual([]);
    const kmsResources = Object.values(template.findResources('AWS::IAM::Policy'))
      .flatMap((policy) => policy.Properties.PolicyDocument.Statement)
      .filter((statement) => [statement.Action].flat().some((action: string) => action.startsWith('kms:')))
      .flatMap((statement) => [statement.Resource].flat());
    expect(kmsResources.filter((resource) => typeof resource === 'string')).toEqual([]);
  });

  test('synthesizes without warnings', () => {
    expect(Annotations.fromStack(built.stack).findWarning('*', Match.anyValue())).toEqual([]);
  });

  test('a pipeline for one non-production environment has no approval or confirmation step', () => {
    const { template } = buildPipeline([exampleEnvironment('dev')]);
    expect(pipelineStages(template).map((stage) => stage.Name)).toEqual(['Source', 'Build', 'UpdatePipeline', 'Dev']);
    template.resourceCountIs('AWS::Lambda::Function', 0);
    template.resourceCountIs('AWS::SNS::Topic', 0);
    expect(actionsOf(template, 'Dev').filter((a) => a.ActionTypeId.Category === 'Approval')).toEqual([]);
  });

  test('adds a manual approval to a non-production environment that asks for one', () => {
    const dev = exampleEnvironment('dev');
    const { template } = buildPipeline([{ ...dev, approval: { ...dev.approval, manual: true } }]);
    expect(
      actionsOf(template, 'Dev')
        .filter((a) => a.ActionTypeId.Category === 'Approval')
        .map((a) => a.Name),
    ).toEqual(['ApproveDev']);
  });

  test('confirms security changes before a production environment deployed without approval under a waiver', () => {
    const prod = exampleEnvironment('prod');
    const { template } = buildPipeline([
      { ...prod, approval: { manual: false, waiver: 'Deployed by an on-call engineer through change tickets' } },
    ]);
    expect(
      actionsOf(template, 'Prod')
        .filter((a) => a.ActionTypeId.Category === 'Approval')
        .map((a) => a.Name),
    ).toEqual(['ConfirmSecurityChangesProd.Confirm']);
  });

  test('fails when given no environments, naming the pipeline and the fix', () => {
    expect(() => buildPipeline([])).toThrow(/Pipeline dp-pipeline received no environments to deploy\. Fix: /);
  });
});

describe('stageId', () => {
  test('turns environment names into stable PascalCase construct ids', () => {
    expect(stageId('dev')).toBe('Dev');
    expect(stageId('eu-prod')).toBe('EuProd');
  });
});
