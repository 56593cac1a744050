/**
 * The scoped CloudFormation execution policy the bootstrap scripts pass instead of AdministratorAccess:
 * valid, never `*` on `*`, small enough for IAM, and covering every resource type the synthesized app deploys.
 */
import type { CloudAssembly } from 'aws-cdk-lib/cx-api';
import type { AppConfig } from '../../config/schema';
import {
  allowedActions,
  executionPolicyForAccount,
  IAM_PREFIX_BY_CFN_SERVICE,
  MANAGED_POLICY_MAX_CHARS,
  type PolicyDocument,
  readPolicyTemplate,
} from '../../scripts/policies/execution-policy';
import { exampleConfig, testApp } from '../helpers/app';
import { createDataPlatformStage } from '../../stages/data-platform-stage';

const DEPLOYMENT = '111111111111';
const DEV = '222222222222';

const toArray = (value: string | string[] | undefined) =>
  value === undefined ? [] : Array.isArray(value) ? value : [value];
const sids = (document: PolicyDocument) => document.Statement.map((statement) => statement.Sid);

/** The example configuration with another source (the policy's Pipeline* statements depend on it). */
function withSource(source: AppConfig['platform']['source']): AppConfig {
  const config = exampleConfig();
  return { ...config, platform: { ...config.platform, source } };
}

describe('policy template', () => {
  const template = readPolicyTemplate();

  test('is an IAM policy document with unique Sids in the Common/Platform/Pipeline groups', () => {
    expect(template.Version).toBe('2012-10-17');
    expect(new Set(sids(template)).size).toBe(template.Statement.length);
    for (const statement of template.Statement) {
      expect(statement.Sid).toMatch(/^(Common|Platform|Pipeline)[A-Za-z0-9]+$/);
      expect(['Allow', 'Deny']).toContain(statement.Effect);
      expect(toArray(statement.Action).length).toBeGreaterThan(0);
      expect(toArray(statement.Resource).length).toBeGreaterThan(0);
    }
  });

  test('never allows every action, and never a whole service on every resource', () => {
    for (const statement of template.Statement.filter((s) => s.Effect === 'Allow')) {
      const actions = toArray(statement.Action);
      expect(actions).not.toContain('*');
      if (toArray(statement.Resource).includes('*')) {
        expect({ sid: statement.Sid, serviceWide: actions.filter((action) => action.endsWith(':*')) }).toEqual({
          sid: statement.Sid,
          serviceWide: [],
        });
      }
    }
  });

  test('scopes IAM writes to roles, policies and instance profiles named <prefix>-*', () => {
    const iamWrites = template.Statement.filter(
      (s) => s.Effect === 'Allow' && toArray(s.Action).some((a) => a === 'iam:*' || a === 'iam:PassRole'),
    );
    expect(iamWrites.map((s) => s.Sid)).toEqual(['CommonIamOwnRolesAndPolicies']);
    expect(
      toArray(iamWrites[0].Resource).every((arn) => /:(role|policy|instance-profile)\/\$\{Prefix\}-\*$/.test(arn)),
    ).toBe(true);
  });

  test('denies attaching AdministratorAccess to any role', () => {
    const deny = template.Statement.find((s) => s.Sid === 'CommonIamNoAdministratorPolicies');
    expect(deny).toMatchObject({ Effect: 'Deny', Action: expect.arrayContaining(['iam:AttachRolePolicy']) });
    expect(JSON.stringify(deny?.Condition)).toContain('policy/AdministratorAccess');
  });
});

describe('rendered for the example accounts', () => {
  const config = exampleConfig();
  const accounts = [...new Set([config.platform.deployment.account, ...config.environments.map((e) => e.account)])];

  test.each(accounts)('account %s: no placeholder left, within the IAM managed policy size limit', (account) => {
    const rendered = JSON.stringify(executionPolicyForAccount(config, account));
    expect(rendered).not.toMatch(/\$\{/);
    expect(rendered).toContain(`:${account}:`);
    expect(rendered.replace(/\s/g, '').length).toBeLessThanOrEqual(MANAGED_POLICY_MAX_CHARS);
  });

  test('the deployment account gets the pipeline services and the configured connection, not the platform ones', () => {
    const document = executionPolicyForAccount(config, DEPLOYMENT);
    expect(sids(document)).toEqual(
      expect.arrayContaining(['PipelineCodePipelineAndCodeBuild', 'PipelineConnectionUse']),
    );
    expect(sids(document).filter((sid) => sid.startsWith('Platform'))).toEqual([]);
    expect(sids(document)).not.toContain('PipelineGitHubTokenSecret');
  });

  test('an environment account gets the platform services, not the pipeline ones', () => {
    const document = executionPolicyForAccount(config, DEV);
    expect(sids(document)).toEqual(expect.arrayContaining(['PlatformServicesInThisAccount', 'PlatformVpc']));
    expect(sids(document).filter((sid) => sid.startsWith('Pipeline'))).toEqual([]);
  });

  test('an account that is both deployment and environment account gets both groups', () => {
    const base = exampleConfig();
    const shared = {
      ...base,
      environments: base.environments.map((e) => (e.name === 'dev' ? { ...e, account: DEPLOYMENT } : e)),
    };
    const document = executionPolicyForAccount(shared, DEPLOYMENT);
    expect(sids(document)).toEqual(
      expect.arrayContaining(['PlatformServicesInThisAccount', 'PipelineCodePipelineAndCodeBuild']),
    );
  });

  test('a github-token source lets CloudFormation read exactly the configured token secret', () => {
    const document = executionPolicyForAccount(
      withSource({ type: 'github-token', repository: 'my-org/data-platform', tokenSecretName: 'ci/github-token' }),
      DEPLOYMENT,
    );
    expect(document.Statement.find((s) => s.Sid === 'PipelineGitHubTokenSecret')).toEqual(
      expect.objectContaining({
        Action: ['secretsmanager:DescribeSecret', 'secretsmanager:GetSecretValue'],
        Resource: `arn:aws:secretsmanager:eu-west-1:${DEPLOYMENT}:secret:ci/github-token-*`,
      }),
    );
    expect(sids(document)).not.toContain('PipelineConnectionUse');
  });

  test('a codecommit source gets the repository, by name', () => {
    const document = executionPolicyForAccount(
      withSource({ type: 'codecommit', repositoryName: 'data-platform', create: true }),
      DEPLOYMENT,
    );
    expect(document.Statement.find((s) => s.Sid === 'PipelineCodeCommitRepository')?.Resource).toBe(
      `arn:aws:codecommit:eu-west-1:${DEPLOYMENT}:data-platform`,
    );
  });

  test('environments in several regions get every region', () => {
    const base = exampleConfig();
    const twoRegions = {
      ...base,
      environments: base.environments.map((e) =>
        e.name === 'test' ? { ...e, account: DEV, region: 'us-east-1' as const } : e,
      ),
    };
    const document = executionPolicyForAccount(twoRegions, DEV);
    const vpc = document.Statement.find((s) => s.Sid === 'PlatformVpc');
    expect(vpc?.Condition).toEqual({ StringEquals: { 'aws:RequestedRegion': ['eu-west-1', 'us-east-1'] } });
  });

  test('fails for an account the configuration does not know, listing the known ones', () => {
    expect(() => executionPolicyForAccount(config, '999999999999')).toThrow(
      /Account 999999999999 is neither the deployment account nor the account of any environment. Fix: use one of 111111111111, 222222222222/,
    );
  });
});

/**
 * Resource types per account from the synthesized app (pipelines and their stages). When the app does not
 * synthesize yet, the types the design names are used instead, and the test says so.
 */
function resourceTypesByAccount(config: AppConfig): Map<string, Set<string>> {
  const byAccount = new Map<string, Set<string>>();
  const add = (account: string, type: string) =>
    byAccount.set(account, (byAccount.get(account) ?? new Set()).add(type));
  try {
    const { addPipelines } = require('../../lib/pipeline/pipelines') as typeof import('../../lib/pipeline/pipelines');
    const app = testApp();
    addPipelines(app, config, createDataPlatformStage);
    const walk = (assembly: CloudAssembly) => {
      for (const stack of assembly.stacks) {
        for (const resource of Object.values<{ Type: string }>(stack.template.Resources ?? {})) {
          add(stack.environment.account, resource.Type);
        }
      }
      for (const nested of assembly.nestedAssemblies) walk(nested.nestedAssembly);
    };
    walk(app.synth());
    process.stdout.write(
      `execution policy coverage: checked against the synthesized app (${[...byAccount.keys()].join(', ')})\n`,
    );
  } catch (error) {
    process.stdout.write(
      `execution policy coverage: the app did not synthesize (${(error as Error).message.split('\n')[0]}); checking the design's resource types instead\n`,
    );
    const target = [
      'AWS::ApiGateway::RestApi',
      'AWS::Athena::WorkGroup',
      'AWS::CloudWatch::Alarm',
      'AWS::Cognito::UserPool',
      'AWS::DynamoDB::Table',
      'AWS::EC2::VPC',
      'AWS::EC2::Subnet',
      'AWS::EC2::FlowLog',
      'AWS::Events::Rule',
      'AWS::Glue::Database',
      'AWS::Glue::Job',
      'AWS::IAM::Role',
      'AWS::KMS::Key',
      'AWS::Lambda::Function',
      'AWS::Logs::LogGroup',
      'AWS::RDS::DBCluster',
      'AWS::S3::Bucket',
      'AWS::SecretsManager::Secret',
      'AWS::SNS::Topic',
      'AWS::SQS::Queue',
      'AWS::StepFunctions::StateMachine',
      'AWS::WAFv2::WebACL',
    ];
    const deployment = [
      'AWS::CodeBuild::Project',
      'AWS::CodePipeline::Pipeline',
      'AWS::IAM::Role',
      'AWS::KMS::Key',
      'AWS::Lambda::Function',
      'AWS::S3::Bucket',
    ];
    for (const type of target) add(config.environments[0].account, type);
    for (const type of deployment) add(config.platform.deployment.account, type);
  }
  return byAccount;
}

/**
 * The IAM action CloudFormation calls to create a resource type, where it is not `<service>:Create<Type>`,
 * `Create<Type>s` or `Put<Type>`. A type missing from both fails the coverage test: add it here or to the policy.
 */
const CREATE_ACTION_EXCEPTIONS: Readonly<Record<string, string>> = {
  'AWS::ApiGateway::*': 'apigateway:POST',
  'AWS::CloudWatch::Alarm': 'cloudwatch:PutMetricAlarm',
  'AWS::Cognito::UserPoolGroup': 'cognito-idp:CreateGroup',
  'AWS::EC2::EIP': 'ec2:AllocateAddress',
  'AWS::EC2::SecurityGroupEgress': 'ec2:AuthorizeSecurityGroupEgress',
  'AWS::EC2::SecurityGroupIngress': 'ec2:AuthorizeSecurityGroupIngress',
  'AWS::EC2::SubnetRouteTableAssociation': 'ec2:AssociateRouteTable',
  'AWS::EC2::VPCGatewayAttachment': 'ec2:AttachInternetGateway',
  'AWS::IAM::ManagedPolicy': 'iam:CreatePolicy',
  'AWS::Lambda::Permission': 'lambda:AddPermission',
  'AWS::Lambda::Url': 'lambda:CreateFunctionUrlConfig',
  'AWS::Lambda::Version': 'lambda:PublishVersion',
  'AWS::SecretsManager::RotationSchedule': 'secretsmanager:RotateSecret',
  'AWS::SecretsManager::SecretTargetAttachment': 'secretsmanager:UpdateSecret',
  'AWS::SNS::Subscription': 'sns:Subscribe',
  'AWS::SNS::TopicPolicy': 'sns:SetTopicAttributes',
  'AWS::SQS::QueuePolicy': 'sqs:SetQueueAttributes',
  'AWS::WAFv2::WebACLAssociation': 'wafv2:AssociateWebACL',
};

/** IAM action patterns are case-insensitive globs (`*`, `?`). */
function actionMatcher(patterns: readonly string[]): (action: string) => boolean {
  const toRegex = (pattern: string) =>
    new RegExp(
      `^${pattern
        .split('')
        .map((char) => (char === '*' ? '.*' : char === '?' ? '.' : char.replace(/[^A-Za-z0-9:-]/, '\\$&')))
        .join('')}$`,
      'i',
    );
  const regexes = patterns.map(toRegex);
  return (action) => regexes.some((regex) => regex.test(action));
}

/** The actions that would let CloudFormation create `type`, or undefined for a service the policy does not know. */
function createActionsFor(type: string): string[] | undefined {
  const [, service, name] = type.split('::');
  const prefix = IAM_PREFIX_BY_CFN_SERVICE[service];
  if (!prefix) return undefined;
  const exception = CREATE_ACTION_EXCEPTIONS[type] ?? CREATE_ACTION_EXCEPTIONS[`AWS::${service}::*`];
  return exception ? [exception] : [`${prefix}:Create${name}`, `${prefix}:Create${name}s`, `${prefix}:Put${name}`];
}

describe('coverage of the synthesized templates', () => {
  test('the action matcher follows IAM globbing, case-insensitively', () => {
    const allowed = actionMatcher(['ec2:*Vpc', 'logs:*', 's3:GetObject?ersion']);
    expect(['ec2:CreateVPC', 'logs:CreateLogGroup', 's3:GetObjectVersion'].every(allowed)).toBe(true);
    expect(['ec2:CreateVpcEndpoint', 'ec2:RunInstances', 'kms:CreateKey', 's3:GetObjectxVersion'].some(allowed)).toBe(
      false,
    );
  });

  test('every AWS:: resource type of every stack can be created under that account policy', () => {
    const config = exampleConfig();
    const byAccount = resourceTypesByAccount(config);
    expect(byAccount.size).toBeGreaterThan(0);
    const missing: string[] = [];
    for (const [account, types] of byAccount) {
      const allowed = actionMatcher(allowedActions(executionPolicyForAccount(config, account)));
      for (const type of types) {
        // Custom:: resources run as their provider Lambda; AWS::CDK::Metadata is not deployed as a resource.
        if (!type.startsWith('AWS::') || type.startsWith('AWS::CDK::')) continue;
        const createActions = createActionsFor(type);
        if (!createActions) {
          missing.push(`${account} ${type}: unknown service; add it to IAM_PREFIX_BY_CFN_SERVICE and the policy`);
        } else if (!createActions.some(allowed)) {
          missing.push(`${account} ${type}: the policy allows none of ${createActions.join(', ')}`);
        }
      }
    }
    expect(missing).toEqual([]);
  });
});
