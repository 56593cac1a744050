/**
 * cdk-nag acknowledgements for the IAM permissions that CDK Pipelines generates (CodeBuild project roles, the
 * pipeline and source-action roles, the self-mutation and security-check roles, asset publishing roles).
 *
 * Each wildcard finding of each generated policy is matched against the patterns CDK Pipelines is known to produce
 * (grants on the pipeline's own artifact bucket and key, a project's own log group and report groups, the CDK
 * bootstrap roles selected by tag ...). A matching finding is acknowledged on that one policy with the reason
 * below; anything else is left alone, so a new or broader grant still fails the synth and gets a human look.
 */
import { Stack, Validations } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import type { IBucket } from 'aws-cdk-lib/aws-s3';
import type { IConstruct } from 'constructs';
import { synthesizedStatements } from './scoped-permissions';

const ARTIFACT_ACTIONS: Record<string, string> = {
  's3:GetObject*': 'read objects',
  's3:GetBucket*': 'read bucket metadata',
  's3:List*': 'list objects',
  's3:DeleteObject*': 'replace artifacts',
  's3:Abort*': 'abort multipart uploads of artifacts',
  's3:PutObject*': 'write artifacts',
  'kms:GenerateDataKey*': 'encrypt artifacts',
  'kms:ReEncrypt*': 're-encrypt artifacts',
};

interface StatementJson {
  readonly Effect?: string;
  readonly Action?: string | string[];
  readonly Resource?: string | string[];
  readonly Condition?: Record<string, Record<string, unknown>>;
}

/** One wildcard finding of a policy statement, in cdk-nag's notation (e.g. `Action::s3:GetObject*`). */
interface Finding {
  readonly id: string;
  /** The statement's actions. */
  readonly actions: readonly string[];
  /** The statement's condition block, as JSON. */
  readonly condition: string;
  /** The statement's resources are only artifact buckets, their objects and their keys. */
  readonly onArtifactsOnly: boolean;
}

/** Where CDK Pipelines keeps artifacts: the pipeline's bucket and, per extra region, a replication bucket. */
interface ArtifactStores {
  /** Flattened ARNs of the buckets, their objects and (same-stack) keys. */
  readonly arns: Set<string>;
  /**
   * Replication buckets exist in other regions: CodePipeline then grants the keys of those cross-region buckets
   * on `*`, since their ARNs are not known in this stack.
   */
  readonly crossRegion: boolean;
}

/**
 * Acknowledges, policy by policy, the wildcard findings that CDK Pipelines generates in `stack`.
 * Call it after `CodePipeline.buildPipeline()`.
 *
 * @returns the acknowledged rule ids, keyed by the construct path of the policy (for tests and reviews).
 */
export function acknowledgeGeneratedPermissions(
  stack: Stack,
  artifactBuckets: readonly IBucket[],
): Map<string, string[]> {
  const stores: ArtifactStores = {
    arns: new Set(
      artifactBuckets
        .flatMap((bucket) => [bucket.bucketArn, bucket.arnForObjects('*'), bucket.encryptionKey?.keyArn])
        .filter((arn): arn is string => arn !== undefined)
        .map((arn) => flatten(stack.resolve(arn))),
    ),
    crossRegion: artifactBuckets.some((bucket) => Stack.of(bucket).region !== stack.region),
  };
  const acknowledged = new Map<string, string[]>();

  // Only the pipeline stack's own policies: the stage stacks nested under it live in other accounts.
  const ownPolicies = stack.node
    .findAll()
    .filter((c): c is iam.Policy => c instanceof iam.Policy && Stack.of(c) === stack);
  for (const policy of ownPolicies) {
    // As synthesized: scopeGeneratedWildcards (scoped-permissions.ts) drops statements from the template only.
    const statements = synthesizedStatements(policy) as StatementJson[];
    const reasons = new Map<string, string>();
    const unexplained = new Set<string>();
    for (const finding of findings(stack, statements, stores)) {
      const reason =
        reasonFor(finding, stores) ?? (isAssetPublishingPolicy(policy) ? assetRoleReason(finding) : undefined);
      if (reason === undefined) unexplained.add(finding.id);
      else if (!reasons.has(finding.id)) reasons.set(finding.id, reason);
    }
    // A finding also produced by a statement we cannot explain stays visible.
    for (const id of unexplained) reasons.delete(id);
    if (reasons.size === 0) continue;
    Validations.of(policy).acknowledge(
      ...[...reasons].map(([id, reason]) => ({ id: `AwsSolutions-IAM5[${id}]`, reason })),
    );
    acknowledged.set(policy.node.path, [...reasons.keys()]);
  }

  acknowledgeAutoApproveFunction(stack);
  return acknowledged;
}

function findings(stack: Stack, statements: readonly StatementJson[], stores: ArtifactStores): Finding[] {
  const result: Finding[] = [];
  for (const statement of statements) {
    if (statement.Effect !== 'Allow') continue;
    const actions = asArray(statement.Action);
    const resources = asArray(statement.Resource).map((resource) => flatten(stack.resolve(resource)));
    const condition = JSON.stringify(stack.resolve(statement.Condition ?? {}));
    const onArtifactsOnly =
      resources.length > 0 &&
      resources.every((resource) => stores.arns.has(resource) || isCrossRegionArtifactKey(resource, actions, stores));
    for (const action of actions.filter((a) => a.includes('*'))) {
      result.push({ id: `Action::${action}`, actions, condition, onArtifactsOnly });
    }
    for (const resource of resources.filter((r) => r.includes('*'))) {
      result.push({ id: `Resource::${resource}`, actions, condition, onArtifactsOnly });
    }
  }
  return result;
}

function isCrossRegionArtifactKey(resource: string, actions: readonly string[], stores: ArtifactStores): boolean {
  return stores.crossRegion && resource === '*' && actions.length > 0 && actions.every((a) => a.startsWith('kms:'));
}

function reasonFor(finding: Finding, stores: ArtifactStores): string | undefined {
  const [kind, value] = splitOnce(finding.id, '::');
  if (kind === 'Action') {
    // An action wildcard is only excused when the statement touches nothing but the artifact bucket and key.
    const purpose = ARTIFACT_ACTIONS[value];
    if (purpose === undefined || !finding.onArtifactsOnly) return undefined;
    return `CDK Pipelines grant on the pipeline's own artifact bucket and its KMS key only, to ${purpose}; the bucket holds nothing else`;
  }
  const only = (allowed: readonly string[]) =>
    finding.actions.length > 0 && finding.actions.every((action) => allowed.includes(action));

  if (stores.arns.has(value)) {
    return "Objects of the pipeline's own artifact buckets (object keys are generated per execution); no other bucket is reachable";
  }
  if (isCrossRegionArtifactKey(value, finding.actions, stores)) {
    return "KMS use only: the keys of the cross-region artifact replication buckets live in support stacks of other regions, so CodePipeline cannot name them; those keys' policies admit only the pipeline roles";
  }
  if (/:logs:[a-z0-9-]+:\d{12}:log-group:\/aws\/codebuild\/<[A-Za-z0-9]+>:\*$/.test(value)) {
    return "Log streams of this CodeBuild project's own log group; CodeBuild names the streams per build";
  }
  if (/:codebuild:[a-z0-9-]+:\d{12}:report-group\/<[A-Za-z0-9]+>-\*$/.test(value)) {
    return "Test report groups of this CodeBuild project only (named after the project's own name)";
  }
  if (/^arn:\*:iam::(\d{12}|\*):role\/\*$/.test(value) && finding.condition.includes('aws-cdk:bootstrap-role')) {
    return 'Only roles tagged aws-cdk:bootstrap-role (the CDK bootstrap deploy/publishing roles) through the tag condition';
  }
  if (value === '*' && only(['sts:AssumeRole']) && finding.condition.includes('aws-cdk:bootstrap-role')) {
    return 'Only the CDK bootstrap deploy roles of the target accounts, selected by the aws-cdk:bootstrap-role tag condition';
  }
  if (
    /^arn:(aws|<AWS::Partition>):cloudformation:[a-z0-9-]+:\d{12}:stack\/[A-Za-z0-9-]+\/\*$/.test(value) &&
    only(['cloudformation:DescribeStacks'])
  ) {
    return 'Self-mutation reads the status of one named stack (the pipeline, a stack it depends on, or the CDK bootstrap stack); the wildcard is the stack ID CloudFormation generates';
  }
  if (
    value === '*' &&
    only(['codepipeline:GetPipelineState', 'codepipeline:PutApprovalResult']) &&
    finding.condition.includes('SECURITY_CHECK')
  ) {
    return 'Security-check auto-approver: limited by condition to pipelines tagged SECURITY_CHECK=ALLOW_APPROVE';
  }
  if (/^<[A-Za-z0-9]+\.Arn>:\*$/.test(value) && only(['lambda:InvokeFunction'])) {
    return 'Versions and aliases of the one security-check auto-approve function';
  }
  if (
    /^arn:\*:iam::\d{12}:role\/\*-(file|image)-publishing-role-\*$/.test(value) ||
    /^arn:<AWS::Partition>:iam::\d{12}:role\/cdk-[a-z0-9]+-(file|image)-publishing-role-\d{12}-[a-z0-9-]+$/.test(value)
  ) {
    return 'Asset publishing assumes only the CDK bootstrap file/image publishing roles of the target accounts';
  }
  return undefined;
}

/**
 * CDK Pipelines shares one asset-publishing role per asset type (`Pipeline/Assets/FileRole`, `.../DockerRole`) between
 * the CodeBuild projects it creates per asset, so that role's grants name no project.
 */
function isAssetPublishingPolicy(policy: iam.Policy): boolean {
  const role = policy.node.scope;
  return (
    role !== undefined && ['FileRole', 'DockerRole'].includes(role.node.id) && role.node.scope?.node.id === 'Assets'
  );
}

function assetRoleReason(finding: Finding): string | undefined {
  const [, value] = splitOnce(finding.id, '::');
  const shared =
    "CDK Pipelines' shared asset-publishing role, used by one CodeBuild project per asset whose names are generated";
  if (/:logs:[a-z0-9-]+:\d{12}:log-group:\/aws\/codebuild\/\*$/.test(value)) {
    return `${shared}: CodeBuild log groups of the deployment account and region only`;
  }
  if (/:codebuild:[a-z0-9-]+:\d{12}:report-group\/\*$/.test(value)) {
    return `${shared}: CodeBuild report groups of the deployment account and region only`;
  }
  return undefined;
}

/**
 * The security-check approver Lambda that `ConfirmPermissionsBroadening` creates uses the AWS managed basic execution
 * policy; CDK Pipelines exposes no way to replace it.
 */
function acknowledgeAutoApproveFunction(stack: Stack): void {
  const functions = stack.node
    .findAll()
    .filter(
      (c): c is lambda.Function =>
        c instanceof lambda.Function && c.node.id === 'CDKPipelinesAutoApprove' && Stack.of(c) === stack,
    );
  for (const fn of functions) {
    const role = fn.role as (iam.IRole & IConstruct) | undefined;
    if (!role) continue;
    Validations.of(role).acknowledge({
      id: 'AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole]',
      reason:
        'Generated by CDK Pipelines for the security-check auto-approver: the managed policy only lets it write its own CloudWatch logs',
    });
  }
}

/** cdk-nag's flat notation of a CloudFormation value: Fn::Join concatenated, `{ Ref: X }` -> `<X>`, GetAtt -> `<X.Attr>`. */
export function flatten(node: unknown): string {
  if (node === undefined) return '';
  if (typeof node === 'string') return node.replace(/\$\{/g, '<').replace(/}/g, '>');
  if (typeof node === 'object' && node !== null) {
    const value = node as Record<string, unknown>;
    if (Array.isArray(value['Fn::Join'])) {
      const [delimiter, items] = value['Fn::Join'] as [string, unknown[]];
      return items.map(flatten).join(delimiter);
    }
    if (value['Fn::Sub'] !== undefined) return flatten(value['Fn::Sub']);
    if (Array.isArray(value['Fn::GetAtt'])) {
      const [resource, attribute] = value['Fn::GetAtt'] as [unknown, unknown];
      return `<${flatten(resource)}.${flatten(attribute)}>`;
    }
    if (value['Fn::ImportValue'] !== undefined) return flatten(value['Fn::ImportValue']);
    if (value.Ref !== undefined) return `<${flatten(value.Ref)}>`;
  }
  return JSON.stringify(node);
}

function asArray(value: string | string[] | undefined): string[] {
  if (value === undefined) return [];
  return Array.isArray(value) ? value : [value];
}

function splitOnce(text: string, separator: string): [string, string] {
  const index = text.indexOf(separator);
  return [text.slice(0, index), text.slice(index + separator.length)];
}
