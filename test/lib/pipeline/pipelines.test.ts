import { Stack } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import type { AppConfig, PlatformConfig, SourceConfig } from '../../../config/schema';
import type { PipelineStack } from '../../../lib/pipeline/pipeline-stack';
import { addPipelines } from '../../../lib/pipeline/pipelines';
import { exampleConfig, exampleEnvironment, testApp } from '../../helpers/app';
import { stageDouble } from './stage-double';
import { createDataPlatformStage } from '../../../stages/data-platform-stage';

/** The example config with platform settings replaced (deep copy: the cached example is never mutated). */
function configWith(platform: Partial<PlatformConfig>, environments?: AppConfig['environments']): AppConfig {
  const example = structuredClone(exampleConfig());
  return {
    ...example,
    platform: { ...example.platform, ...platform },
    environments: environments ?? example.environments,
  };
}

interface PipelineJson {
  Name: string;
  Stages: {
    Name: string;
    Actions: {
      Name: string;
      ActionTypeId: { Category: string; Provider: string };
      Configuration?: Record<string, unknown>;
    }[];
  }[];
}

function pipelineOf(stack: PipelineStack): PipelineJson {
  const pipelines = Object.values(Template.fromStack(stack).findResources('AWS::CodePipeline::Pipeline'));
  expect(pipelines).toHaveLength(1);
  return pipelines[0].Properties;
}

function sourceActionOf(stack: PipelineStack) {
  const source = pipelineOf(stack).Stages.find((stage) => stage.Name === 'Source');
  expect(source?.Actions).toHaveLength(1);
  return source?.Actions[0];
}

const deployStages = (pipeline: PipelineJson) =>
  pipeline.Stages.map((stage) => stage.Name).filter((name) => !['Source', 'Build', 'UpdatePipeline'].includes(name));

describe('addPipelines: branch-per-environment mode (default)', () => {
  let stacks: PipelineStack[];
  beforeAll(() => {
    stacks = addPipelines(testApp(), configWith({}), stageDouble);
  });

  test('creates one pipeline stack per environment, in the deployment account and region', () => {
    expect(stacks.map((stack) => stack.stackName)).toEqual(['dp-pipeline-dev', 'dp-pipeline-test', 'dp-pipeline-prod']);
    expect(stacks.map((stack) => stack.node.id)).toEqual(['PipelineDev', 'PipelineTest', 'PipelineProd']);
    for (const stack of stacks) {
      expect({ account: stack.account, region: stack.region }).toEqual({
        account: '111111111111',
        region: 'eu-west-1',
      });
    }
  });

  test.each([
    ['dev', 'dev'],
    ['test', 'test'],
    ['prod', 'main'],
  ])('the %s pipeline watches branch %s and deploys only its environment', (env, branch) => {
    const stack = stacks.find((s) => s.stackName === `dp-pipeline-${env}`) as PipelineStack;
    const pipeline = pipelineOf(stack);
    expect(pipeline.Name).toBe(`dp-pipeline-${env}`);
    expect(sourceActionOf(stack)?.Configuration).toMatchObject({ BranchName: branch });
    expect(deployStages(pipeline)).toEqual([env.charAt(0).toUpperCase() + env.slice(1)]);
  });

  test('only the production pipeline has an approval', () => {
    const approvals = stacks.map(
      (stack) =>
        pipelineOf(stack)
          .Stages.flatMap((stage) => stage.Actions)
          .filter((action) => action.ActionTypeId.Category === 'Approval').length,
    );
    expect(approvals).toEqual([0, 0, 2]);
  });
});

describe('addPipelines: promotion mode', () => {
  test('creates one pipeline on the promotion branch deploying every environment in order', () => {
    const config = configWith({
      pipeline: { mode: 'promotion', promotionBranch: 'release', environmentOrder: ['dev', 'test', 'prod'] },
    });
    const stacks = addPipelines(testApp(), config, stageDouble);
    expect(stacks.map((stack) => stack.stackName)).toEqual(['dp-pipeline']);
    const pipeline = pipelineOf(stacks[0]);
    expect(pipeline.Name).toBe('dp-pipeline');
    expect(sourceActionOf(stacks[0])?.Configuration).toMatchObject({ BranchName: 'release' });
    expect(deployStages(pipeline)).toEqual(['Dev', 'Test', 'Prod']);
    for (const stage of ['Dev', 'Test', 'Prod']) {
      const actions = pipeline.Stages.find((s) => s.Name === stage)?.Actions ?? [];
      expect(actions.filter((action) => action.Name === 'IntegrationTest')).toHaveLength(1);
    }
  });
});

describe('addPipelines: sources', () => {
  /** Promotion mode over dev only: the smallest pipeline that still has a source. */
  function build(source: SourceConfig) {
    const app = testApp();
    const config = configWith(
      { source, pipeline: { mode: 'promotion', promotionBranch: 'main', environmentOrder: ['dev'] } },
      [exampleEnvironment('dev')],
    );
    const stacks = addPipelines(app, config, stageDouble);
    return { app, stacks };
  }

  test('github-connection uses the CodeConnections connection', () => {
    const connectionArn = 'arn:aws:codeconnections:eu-west-1:111111111111:connection/abcd-1234';
    const { stacks } = build({ type: 'github-connection', repository: 'my-org/data-platform', connectionArn });
    expect(sourceActionOf(stacks[0])).toMatchObject({
      ActionTypeId: { Category: 'Source', Provider: 'CodeStarSourceConnection' },
      Configuration: { ConnectionArn: connectionArn, FullRepositoryId: 'my-org/data-platform', BranchName: 'main' },
    });
  });

  test('github-token reads the token from Secrets Manager at deploy time', () => {
    const { stacks } = build({
      type: 'github-token',
      repository: 'my-org/data-platform',
      tokenSecretName: 'ci/github-token',
    });
    expect(sourceActionOf(stacks[0])).toMatchObject({
      ActionTypeId: { Category: 'Source', Provider: 'GitHub' },
      Configuration: {
        Owner: 'my-org',
        Repo: 'data-platform',
        Branch: 'main',
        OAuthToken: '{{resolve:secretsmanager:ci/github-token:SecretString:::}}',
      },
    });
  });

  test('codecommit with an existing repository imports it by name and creates none', () => {
    const { app, stacks } = build({ type: 'codecommit', repositoryName: 'data-platform', create: false });
    expect(sourceActionOf(stacks[0])).toMatchObject({
      ActionTypeId: { Category: 'Source', Provider: 'CodeCommit' },
      Configuration: { RepositoryName: 'data-platform', BranchName: 'main' },
    });
    expect(app.node.tryFindChild('SourceRepository')).toBeUndefined();
    Template.fromStack(stacks[0]).resourceCountIs('AWS::CodeCommit::Repository', 0);
  });

  test('codecommit with create: true creates a retained repository in its own stack, deployed first', () => {
    const { app, stacks } = build({ type: 'codecommit', repositoryName: 'data-platform', create: true });
    const repositoryStack = app.node.findChild('SourceRepository') as Stack;
    expect(repositoryStack.stackName).toBe('dp-source-repository');
    Template.fromStack(repositoryStack).hasResource('AWS::CodeCommit::Repository', {
      Properties: { RepositoryName: 'data-platform' },
      DeletionPolicy: 'Retain',
      UpdateReplacePolicy: 'Retain',
    });
    expect(stacks[0].dependencies).toContain(repositoryStack);
    expect(sourceActionOf(stacks[0])?.Configuration).toMatchObject({ RepositoryName: 'data-platform' });
  });
});

describe('addPipelines with the real DataPlatformStage', () => {
  let devPipeline: PipelineStack;
  beforeAll(() => {
    devPipeline = addPipelines(testApp(), exampleConfig(), createDataPlatformStage)[0];
  });

  test('deploys every stack of the stage and passes all integration-test outputs to the post step', () => {
    const dev = pipelineOf(devPipeline).Stages.find((stage) => stage.Name === 'Dev');
    const actionNames = dev?.Actions.map((action) => action.Name) ?? [];
    const stage = devPipeline.stages[0];
    const stageStacks = stage.node.children.filter(Stack.isStack).map((stack) => stack.stackName);
    expect(stageStacks).toEqual(expect.arrayContaining(['dp-dev-network', 'dp-dev-storage', 'dp-dev-iam']));
    for (const stackName of stageStacks) expect(actionNames).toContain(`${stackName}.Deploy`);

    const testAction = dev?.Actions.find((action) => action.Name === 'IntegrationTest');
    const variables = JSON.parse(testAction?.Configuration?.EnvironmentVariables as string) as { name: string }[];
    expect(variables.map((v) => v.name).sort()).toEqual(Object.keys(stage.integrationTestOutputs).sort());
    expect(variables.map((v) => v.name)).toEqual(
      expect.arrayContaining([
        'INTEGRATION_TEST_ROLE_ARN',
        'VPC_ID',
        'KMS_KEY_ARN',
        'LANDING_BUCKET_NAME',
        'CURATED_BUCKET_NAME',
        'LOGS_BUCKET_NAME',
        'ARTIFACTS_BUCKET_NAME',
      ]),
    );
  });

  test("the runner role is exactly the principal the target account's integration-test role trusts", () => {
    const iamStack = devPipeline.stages[0].node.findChild('Iam') as Stack;
    const roles = Template.fromStack(iamStack).findResources('AWS::IAM::Role', {
      Properties: { RoleName: 'dp-dev-integration-test' },
    });
    expect(Object.keys(roles)).toHaveLength(1);
    const trust = JSON.stringify(Object.values(roles)[0].Properties.AssumeRolePolicyDocument);
    expect(trust).toContain('arn:aws:iam::111111111111:role/dp-dev-integration-test-runner');

    const runner = Template.fromStack(devPipeline).findResources('AWS::IAM::Role', {
      Properties: { RoleName: 'dp-dev-integration-test-runner' },
    });
    expect(Object.keys(runner)).toHaveLength(1);
    Template.fromStack(devPipeline).hasResourceProperties('AWS::IAM::Policy', {
      Roles: [{ Ref: Object.keys(runner)[0] }],
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({
            Action: 'sts:AssumeRole',
            Resource: 'arn:aws:iam::222222222222:role/dp-dev-integration-test',
          }),
        ]),
      },
    });
  });
});
