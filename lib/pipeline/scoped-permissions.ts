/**
 * Narrows the two grants on `*` that CDK Pipelines generates and offers no option for:
 * - the shared asset-publishing roles (`Pipeline/Assets/FileRole`, `DockerRole`) get `codebuild:StartBuild`,
 *   `BatchGetBuilds` and `StopBuild` on `*`: they are the action roles of the asset CodeBuild projects, so the
 *   pipeline's own asset projects are named instead;
 * - the self-mutation role gets `cloudformation:DescribeStacks` and `s3:ListBucket` on `*`, for `cdk deploy` of the
 *   pipeline stack (and the stacks it depends on: cross-region support stacks, the CodeCommit repository stack) to
 *   read their status and the CDK bootstrap stack and bucket: those stacks and buckets are named instead.
 *
 * The wildcard statements are dropped from the synthesized policy (`AWS::IAM::Policy`) only: CDK Pipelines keeps
 * them in its PolicyDocument objects, which offer no removal. Call after `CodePipeline.buildPipeline()`.
 */
import { type IResolvable, type IResolveContext, Stack, Token } from 'aws-cdk-lib';
import * as codebuild from 'aws-cdk-lib/aws-codebuild';
import * as iam from 'aws-cdk-lib/aws-iam';
import type { CodePipeline } from 'aws-cdk-lib/pipelines';
import { CDK_BOOTSTRAP_QUALIFIER } from '../github-actions/delivery';

export const ASSET_BUILD_ACTIONS = ['codebuild:BatchGetBuilds', 'codebuild:StartBuild', 'codebuild:StopBuild'];
export const SELF_MUTATION_READ_ACTIONS = ['cloudformation:DescribeStacks', 's3:ListBucket'];

interface StatementJson {
  readonly Action?: string | string[];
  readonly Resource?: unknown;
}

export interface ScopeOptions {
  /** Names of the stacks outside the pipeline stack that its self-mutation deploys (e.g. the CodeCommit repository). */
  readonly dependencyStackNames: readonly string[];
}

export function scopeGeneratedWildcards(stack: Stack, pipeline: CodePipeline, options: ScopeOptions): void {
  scopeAssetRoles(stack, pipeline);
  scopeSelfMutation(stack, pipeline, options);
}

function scopeAssetRoles(stack: Stack, pipeline: CodePipeline): void {
  const assetRoles = pipeline.node
    .findAll()
    .filter(
      (c): c is iam.Role =>
        c instanceof iam.Role && ['FileRole', 'DockerRole'].includes(c.node.id) && c.node.scope?.node.id === 'Assets',
    );
  for (const role of assetRoles) {
    const projects = stack.node
      .findAll()
      .filter((c): c is codebuild.Project => c instanceof codebuild.Project && c.role === role);
    if (projects.length > 0) {
      // A different action order than CDK Pipelines' own statement, which its asset role would otherwise swallow.
      role.addToPrincipalPolicy(
        new iam.PolicyStatement({
          sid: 'RunOwnAssetProjects',
          actions: ['codebuild:StartBuild', 'codebuild:BatchGetBuilds', 'codebuild:StopBuild'],
          resources: projects.map((project) => project.projectArn),
        }),
      );
    }
    dropWildcardStatements(role, ASSET_BUILD_ACTIONS);
  }
}

function scopeSelfMutation(stack: Stack, pipeline: CodePipeline, options: ScopeOptions): void {
  const role = pipeline.selfMutationProject.role;
  if (!(role instanceof iam.Role)) return;
  // The pipeline stack and its dependencies, each in its own region of the deployment account.
  const supportStacks = Object.values(pipeline.pipeline.crossRegionSupport).map((support) => support.stack);
  const stacks = [
    { name: stack.stackName, region: stack.region },
    ...options.dependencyStackNames.map((name) => ({ name, region: stack.region })),
    ...supportStacks.map((support) => ({ name: support.stackName, region: support.region })),
  ];
  const regions = [...new Set(stacks.map((s) => s.region))];
  const stackArn = (name: string, region: string) =>
    stack.formatArn({ service: 'cloudformation', region, resource: 'stack', resourceName: `${name}/*` });
  role.addToPrincipalPolicy(
    new iam.PolicyStatement({
      sid: 'ReadOwnStacks',
      actions: ['cloudformation:DescribeStacks'],
      resources: [
        ...stacks.map((s) => stackArn(s.name, s.region)),
        ...regions.map((region) => stackArn('CDKToolkit', region)),
      ],
    }),
  );
  role.addToPrincipalPolicy(
    new iam.PolicyStatement({
      sid: 'ListBootstrapBuckets',
      actions: ['s3:ListBucket'],
      resources: regions.map((region) =>
        stack.formatArn({
          service: 's3',
          region: '',
          account: '',
          resource: `cdk-${CDK_BOOTSTRAP_QUALIFIER}-assets-${stack.account}-${region}`,
        }),
      ),
    }),
  );
  dropWildcardStatements(role, SELF_MUTATION_READ_ACTIONS);
}

/** Removes, at synth, the statements of the role's default policy that grant only `actions` on `*`. */
function dropWildcardStatements(role: iam.Role, actions: readonly string[]): void {
  const policy = role.node.tryFindChild('DefaultPolicy') as iam.Policy | undefined;
  if (!policy) return;
  const cfnPolicy = policy.node.defaultChild as iam.CfnPolicy;
  cfnPolicy.policyDocument = new WithoutWildcards(cfnPolicy.policyDocument, actions);
}

/** A policy document that resolves to `document` without the statements granting only `actions` on `*`. */
class WithoutWildcards implements IResolvable {
  readonly creationStack: string[] = [];

  constructor(
    private readonly document: unknown,
    private readonly actions: readonly string[],
  ) {}

  resolve(context: IResolveContext): unknown {
    const resolved = context.resolve(this.document) as { Statement: StatementJson[] };
    return {
      ...resolved,
      Statement: resolved.Statement.filter((statement) => !isWildcardOnly(statement, this.actions)),
    };
  }

  toString(): string {
    return Token.asString(this);
  }
}

function isWildcardOnly(statement: StatementJson, actions: readonly string[]): boolean {
  const granted = Array.isArray(statement.Action) ? statement.Action : [statement.Action];
  const resources = Array.isArray(statement.Resource) ? statement.Resource : [statement.Resource];
  return (
    resources.length === 1 &&
    resources[0] === '*' &&
    granted.every((action) => action !== undefined && actions.includes(action))
  );
}

/** The statements of `policy` as synthesized (after {@link scopeGeneratedWildcards} dropped the wildcards). */
export function synthesizedStatements(policy: iam.Policy): StatementJson[] {
  const cfnPolicy = policy.node.defaultChild as iam.CfnPolicy;
  return (Stack.of(policy).resolve(cfnPolicy.policyDocument) as { Statement?: StatementJson[] }).Statement ?? [];
}
