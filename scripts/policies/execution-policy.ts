/**
 * Renders scripts/policies/cloudformation-execution-policy.json for one AWS account of the platform.
 *
 * `cdk bootstrap` gives CloudFormation an execution role; by default that role has AdministratorAccess. The bootstrap
 * scripts pass this customer-managed policy instead. The JSON file is the reviewable source; statements are grouped
 * by their Sid prefix:
 * - `Common*`: every account (CloudFormation, IAM scoped to `<prefix>-*`, S3 scoped to `<prefix>-*`, KMS, Logs, ...)
 * - `Platform*`: accounts that host an environment (the services of the seven platform stacks)
 * - `Pipeline*`: the deployment account (CodePipeline, CodeBuild and the configured source)
 */
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import type { AppConfig } from '../../config/schema';

export const POLICY_TEMPLATE_FILE = path.join(__dirname, 'cloudformation-execution-policy.json');

/** IAM caps a customer-managed policy at 6,144 characters, whitespace excluded. */
export const MANAGED_POLICY_MAX_CHARS = 6144;

/** All regions in the configuration schema are in the commercial partition. */
export const PARTITION = 'aws';

export interface PolicyStatement {
  readonly Sid: string;
  readonly Effect: 'Allow' | 'Deny';
  readonly Action: string | string[];
  readonly Resource: string | string[];
  readonly Condition?: Record<string, Record<string, string | string[]>>;
}

export interface PolicyDocument {
  readonly Version: '2012-10-17';
  readonly Statement: PolicyStatement[];
}

/**
 * The IAM service prefix that governs each CloudFormation resource namespace (`AWS::<Service>::...`) the platform
 * may synthesize. A template type missing from here fails the policy coverage test on purpose: add the service to
 * the policy, then here.
 */
export const IAM_PREFIX_BY_CFN_SERVICE: Readonly<Record<string, string>> = {
  ApiGateway: 'apigateway',
  Athena: 'athena',
  CloudFormation: 'cloudformation',
  CloudTrail: 'cloudtrail',
  CloudWatch: 'cloudwatch',
  CodeBuild: 'codebuild',
  CodeCommit: 'codecommit',
  CodePipeline: 'codepipeline',
  CodeStarConnections: 'codestar-connections',
  CodeConnections: 'codeconnections',
  Cognito: 'cognito-idp',
  DynamoDB: 'dynamodb',
  EC2: 'ec2',
  Events: 'events',
  Glue: 'glue',
  IAM: 'iam',
  KinesisFirehose: 'firehose',
  KMS: 'kms',
  Lambda: 'lambda',
  Logs: 'logs',
  RDS: 'rds',
  S3: 's3',
  SecretsManager: 'secretsmanager',
  SNS: 'sns',
  SQS: 'sqs',
  SSM: 'ssm',
  StepFunctions: 'states',
  WAFv2: 'wafv2',
  XRay: 'xray',
};

/** Name of the customer-managed policy, the same in every account of the platform. */
export function executionPolicyName(config: AppConfig): string {
  return `${config.platform.prefix}-cdk-cfn-execution`;
}

export function executionPolicyArn(config: AppConfig, account: string): string {
  return `arn:${PARTITION}:iam::${account}:policy/${executionPolicyName(config)}`;
}

/**
 * The execution policy for `account`: common statements, plus the platform services when an environment lives there,
 * plus the pipeline services when it is the deployment account (one account may be both).
 */
export function executionPolicyForAccount(config: AppConfig, account: string): PolicyDocument {
  const { platform, environments } = config;
  const isDeployment = account === platform.deployment.account;
  const hostedEnvironments = environments.filter((environment) => environment.account === account);
  if (!isDeployment && hostedEnvironments.length === 0) {
    const known = [platform.deployment.account, ...environments.map((e) => e.account)];
    throw new Error(
      `Account ${account} is neither the deployment account nor the account of any environment. Fix: use one of ${[...new Set(known)].join(', ')}`,
    );
  }

  // The deployment account also hosts the pipelines' cross-region support stacks in the environments' regions.
  const regions = unique([
    ...(isDeployment ? [platform.deployment.region, ...environments.map((e) => e.region)] : []),
    ...hostedEnvironments.map((e) => e.region),
  ]);
  const source = platform.source;
  const values: Record<string, string> = {
    Partition: PARTITION,
    Account: account,
    Prefix: platform.prefix,
    CodeCommitRepository: source.type === 'codecommit' ? source.repositoryName : '',
    TokenSecretName: source.type === 'github-token' ? source.tokenSecretName : '',
  };

  const included = (sid: string): boolean => {
    if (sid.startsWith('Common')) return true;
    if (sid.startsWith('Platform')) return hostedEnvironments.length > 0;
    if (!sid.startsWith('Pipeline') || !isDeployment) return false;
    if (sid.startsWith('PipelineConnection')) return source.type === 'github-connection';
    if (sid.startsWith('PipelineCodeCommit')) return source.type === 'codecommit';
    if (sid.startsWith('PipelineGitHubToken')) return source.type === 'github-token';
    return true;
  };

  const template = readPolicyTemplate();
  return {
    Version: '2012-10-17',
    Statement: template.Statement.filter((statement) => included(statement.Sid)).map(
      (statement) => substitute(statement, values, regions) as PolicyStatement,
    ),
  };
}

export function readPolicyTemplate(): PolicyDocument {
  return JSON.parse(readFileSync(POLICY_TEMPLATE_FILE, 'utf8')) as PolicyDocument;
}

/** Every `Service:Action` pattern of the Allow statements. */
export function allowedActions(document: PolicyDocument): string[] {
  return document.Statement.filter((s) => s.Effect === 'Allow').flatMap((s) => toArray(s.Action));
}

/** Replaces `${Name}` placeholders; a string naming `${Region}` becomes one string per region. */
function substitute(value: unknown, values: Record<string, string>, regions: readonly string[]): unknown {
  if (typeof value === 'string') {
    const expanded = expand(value, values, regions);
    return expanded.length === 1 ? expanded[0] : expanded;
  }
  if (Array.isArray(value)) {
    return unique(value.flatMap((item) => (typeof item === 'string' ? expand(item, values, regions) : [item])));
  }
  if (value !== null && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).map(([key, item]) => [key, substitute(item, values, regions)]));
  }
  return value;
}

/** `${Region}` in the template: a string naming it is repeated once per region. */
const REGION_PLACEHOLDER = /\$\{Region\}/g;

function expand(text: string, values: Record<string, string>, regions: readonly string[]): string[] {
  const perRegion =
    text.search(REGION_PLACEHOLDER) !== -1 ? regions.map((region) => text.replace(REGION_PLACEHOLDER, region)) : [text];
  return perRegion.map((item) =>
    item.replace(/\$\{(\w+)\}/g, (placeholder, name: string) => {
      const replacement = values[name];
      if (replacement === undefined) {
        throw new Error(
          `${POLICY_TEMPLATE_FILE}: unknown placeholder ${placeholder}. Fix: use one of ${Object.keys(values).join(', ')}, Region`,
        );
      }
      return replacement;
    }),
  );
}

function toArray(value: string | string[]): string[] {
  return Array.isArray(value) ? value : [value];
}

function unique<T>(items: readonly T[]): T[] {
  return [...new Set(items)];
}
