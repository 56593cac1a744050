/**
 * Issue 10, pipeline IAM: CDK Pipelines grants the asset roles `codebuild:StartBuild` (and BatchGetBuilds,
 * StopBuild) and self-mutation `cloudformation:DescribeStacks` / `s3:ListBucket` on `*`. They must name the
 * pipeline's own asset projects, stacks and bootstrap buckets instead.
 */
import * as path from 'node:path';
import type { Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import * as s3assets from 'aws-cdk-lib/aws-s3-assets';
import type { AppConfig } from '../../../config/schema';
import type { PipelineStack, StageFactory } from '../../../lib/pipeline/pipeline-stack';
import { addPipelines } from '../../../lib/pipeline/pipelines';
import { exampleConfig } from '../../helpers/app';
import { flaggedApp } from './flagged-app';
import { StageDouble, stageDouble } from './stage-double';

const SCOPED_ACTIONS = [
  'codebuild:StartBuild',
  'codebuild:BatchGetBuilds',
  'codebuild:StopBuild',
  'cloudformation:DescribeStacks',
  's3:ListBucket',
];

interface Statement {
  Sid?: string;
  Action: string | string[];
  Resource: unknown;
}

const asList = <T>(value: T | T[]): T[] => (Array.isArray(value) ? value : [value]);

function policies(stack: Stack): Record<string, Statement[]> {
  const resources = Template.fromStack(stack).findResources('AWS::IAM::Policy');
  return Object.fromEntries(
    Object.entries(resources).map(([id, resource]) => [
      id,
      resource.Properties.PolicyDocument.Statement as Statement[],
    ]),
  );
}

/** Every statement that grants one of the scoped actions on `*`, as `<policy>: <actions>`. */
function wildcardGrants(stack: Stack): string[] {
  return Object.entries(policies(stack)).flatMap(([id, statements]) =>
    statements
      .filter((statement) => asList(statement.Resource).includes('*'))
      .filter((statement) => asList(statement.Action).some((action) => SCOPED_ACTIONS.includes(action)))
      .map((statement) => `${id}: ${asList(statement.Action).join(', ')}`),
  );
}

function statementOf(stack: Stack, policyPattern: RegExp, sid: string): Statement {
  const [, statements] = Object.entries(policies(stack)).find(([id]) => policyPattern.test(id)) ?? [];
  const statement = statements?.find((candidate) => candidate.Sid === sid);
  if (!statement) throw new Error(`no statement ${sid} in a policy matching ${policyPattern}`);
  return statement;
}

const example = exampleConfig();

/** The stage double plus two file assets, so that the pipeline publishes assets (as the real stage's Lambdas do). */
const stageWithAssets: StageFactory = (scope, id, props) => {
  const stage = new StageDouble(scope, id, props);
  const stack = stage.node.findChild('Storage') as Stack;
  new s3assets.Asset(stack, 'ThisFile', { path: __filename });
  new s3assets.Asset(stack, 'StageDouble', { path: path.join(__dirname, 'stage-double.ts') });
  return stage;
};

describe('a pipeline that publishes assets', () => {
  const app = flaggedApp();
  const [pipeline] = addPipelines(app, { ...example, environments: [example.environments[0]] }, stageWithAssets);

  test('grants none of these actions on *', () => {
    expect(wildcardGrants(pipeline)).toEqual([]);
  });

  test("the asset role starts, follows and stops only the pipeline's own asset projects", () => {
    const template = Template.fromStack(pipeline);
    const assetProjects = Object.keys(template.findResources('AWS::CodeBuild::Project')).filter((id) =>
      id.startsWith('PipelineAssetsFileAsset'),
    );
    expect(assetProjects).toHaveLength(2);
    const statement = statementOf(pipeline, /^PipelineAssetsFileRoleDefaultPolicy/, 'RunOwnAssetProjects');
    expect(asList(statement.Action).sort()).toEqual([
      'codebuild:BatchGetBuilds',
      'codebuild:StartBuild',
      'codebuild:StopBuild',
    ]);
    expect(asList(statement.Resource)).toEqual(assetProjects.sort().map((id) => ({ 'Fn::GetAtt': [id, 'Arn'] })));
  });

  test('self-mutation reads only its own stack and the CDK bootstrap stack, and lists only the bootstrap bucket', () => {
    const policy = /^PipelineUpdatePipelineSelfMutationRoleDefaultPolicy/;
    const readStacks = statementOf(pipeline, policy, 'ReadOwnStacks');
    expect(readStacks.Action).toBe('cloudformation:DescribeStacks');
    // Sorted: IAM policy minimization orders resources.
    expect(asList(readStacks.Resource).sort()).toEqual([
      'arn:aws:cloudformation:eu-west-1:111111111111:stack/CDKToolkit/*',
      'arn:aws:cloudformation:eu-west-1:111111111111:stack/dp-pipeline-dev/*',
    ]);
    expect(statementOf(pipeline, policy, 'ListBootstrapBuckets')).toMatchObject({
      Action: 's3:ListBucket',
      Resource: 'arn:aws:s3:::cdk-hnb659fds-assets-111111111111-eu-west-1',
    });
  });
});

describe('self-mutation of pipelines that deploy other stacks with themselves', () => {
  test('a pipeline with a created CodeCommit repository also reads that repository stack, which it deploys first', () => {
    const app = flaggedApp();
    const config: AppConfig = {
      ...example,
      platform: { ...example.platform, source: { type: 'codecommit', repositoryName: 'data-platform', create: true } },
    };
    const pipelines: PipelineStack[] = addPipelines(app, config, stageDouble);
    const [pipeline] = pipelines;
    expect(wildcardGrants(pipeline)).toEqual([]);
    expect(
      asList(
        statementOf(pipeline, /^PipelineUpdatePipelineSelfMutationRoleDefaultPolicy/, 'ReadOwnStacks').Resource,
      ).sort(),
    ).toEqual([
      'arn:aws:cloudformation:eu-west-1:111111111111:stack/CDKToolkit/*',
      'arn:aws:cloudformation:eu-west-1:111111111111:stack/dp-pipeline-dev/*',
      'arn:aws:cloudformation:eu-west-1:111111111111:stack/dp-source-repository/*',
    ]);
  });

  test('a pipeline deploying to another region also reads its support stack and that region’s bootstrap', () => {
    const app = flaggedApp();
    const dev = example.environments[0];
    const devInFrankfurt = {
      ...dev,
      region: 'eu-central-1' as const,
      network: { ...dev.network, availabilityZones: ['eu-central-1a', 'eu-central-1b'] },
    };
    const [pipeline] = addPipelines(app, { ...example, environments: [devInFrankfurt] }, stageDouble);
    expect(wildcardGrants(pipeline)).toEqual([]);
    const policy = /^PipelineUpdatePipelineSelfMutationRoleDefaultPolicy/;
    const stacks = asList(statementOf(pipeline, policy, 'ReadOwnStacks').Resource);
    expect(stacks).toEqual(
      expect.arrayContaining([
        expect.stringMatching(
          /^arn:aws:cloudformation:eu-central-1:111111111111:stack\/dp-pipeline-dev-support-eu-central-1\/\*$/,
        ),
        'arn:aws:cloudformation:eu-central-1:111111111111:stack/CDKToolkit/*',
      ]),
    );
    expect(asList(statementOf(pipeline, policy, 'ListBootstrapBuckets').Resource).sort()).toEqual([
      'arn:aws:s3:::cdk-hnb659fds-assets-111111111111-eu-central-1',
      'arn:aws:s3:::cdk-hnb659fds-assets-111111111111-eu-west-1',
    ]);
  });
});
