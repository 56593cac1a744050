/**
 * The GitHub Actions workflows of the `github-actions` delivery engine, built from config (`npm run workflows`
 * writes them to .github/workflows/):
 * - `branch-per-environment`: one workflow per environment, run by a push to that environment's branch;
 * - `promotion`: one workflow on the promotion branch deploying every environment in order, each after the previous
 *   one's integration test passed.
 *
 * Every deploy job: checkout, setup-node 22 (npm cache), `npm ci`, `npx cdk synth`, OIDC credentials of the
 * environment's deploy role, `npx cdk deploy` of that environment's stage, then the integration test reading the
 * stage outputs from the stacks. `npm test` runs once per run, in its own job, before any deploy. A production
 * environment is preceded by a `cdk diff` job whose output and permissions-broadening check go to the run summary;
 * an environment with a manual approval deploys in a GitHub Environment whose required reviewers are that approval.
 */
import type { AppConfig, EnvironmentConfig, PlatformConfig } from '../../config/schema';
import { stageId } from '../stage-id';
import {
  environmentPrefix,
  githubDeployRoleName,
  githubDiffRoleName,
  githubRepository,
  hasDiffJob,
  PARTITION,
  usesGitHubEnvironment,
} from './delivery';

/** A third-party action pinned by full commit SHA; `version` is written beside it as a comment. */
export interface PinnedAction {
  readonly name: string;
  readonly sha: string;
  readonly version: string;
}

/**
 * Pins of the actions the workflows use. To update one, resolve the release tag to its commit
 * (`git ls-remote https://github.com/<name> refs/tags/<version>`) and run `npm run workflows`.
 */
export const ACTIONS = {
  checkout: { name: 'actions/checkout', sha: '11bd71901bbe5b1630ceea73d27597364c9af683', version: 'v4.2.2' },
  setupNode: { name: 'actions/setup-node', sha: '49933ea5288caeca8642d1e84afbd3f7d6820020', version: 'v4.4.0' },
  awsCredentials: {
    name: 'aws-actions/configure-aws-credentials',
    sha: 'e3dd6a429d7300a6a4c196c26e071d42e0343502',
    version: 'v4.0.2',
  },
} as const satisfies Record<string, PinnedAction>;

/** Node.js major version of the workflows (the Lambda runtime and the CodeBuild image use 22 too). */
export const NODE_VERSION = 22;
/** Deploy role sessions: a first deploy of a whole stage (Aurora, Glue) can take more than the default hour. */
export const DEPLOY_SESSION_SECONDS = 7200;

/** One workflow file: its name under .github/workflows/ and its content as a plain object. */
export interface GeneratedWorkflow {
  readonly file: string;
  readonly workflow: Workflow;
}

export interface Workflow {
  readonly name: string;
  readonly on: { readonly push: { readonly branches: readonly string[] } };
  readonly permissions: Permissions;
  readonly jobs: Record<string, Job>;
}

type Permissions = Readonly<Record<string, 'read' | 'write' | 'none'>>;

export interface Job {
  readonly name: string;
  readonly if?: string;
  readonly needs?: readonly string[];
  readonly 'runs-on': string;
  readonly 'timeout-minutes': number;
  readonly environment?: { readonly name: string };
  readonly concurrency?: { readonly group: string; readonly 'cancel-in-progress': boolean };
  readonly steps: readonly Step[];
}

export interface Step {
  readonly name: string;
  readonly id?: string;
  readonly uses?: string;
  readonly with?: Readonly<Record<string, string | number | boolean>>;
  readonly run?: string;
  readonly env?: Readonly<Record<string, string>>;
}

/** `uses:` value of a pinned action. */
export function uses(action: PinnedAction): string {
  return `${action.name}@${action.sha}`;
}

/** Least privilege for every job: read the code, and ask GitHub for an OIDC token (the only AWS credential). */
export const WORKFLOW_PERMISSIONS: Permissions = { 'id-token': 'write', contents: 'read' };

/** The stacks of one environment in the cloud assembly: every stack of its stage. */
export function stackSelector(environment: EnvironmentConfig): string {
  return `${stageId(environment.name)}/*`;
}

/** ARN of a role in the environment's account (the workflows name roles the bootstrap script created). */
function roleArn(environment: EnvironmentConfig, roleName: string): string {
  return `arn:${PARTITION}:iam::${environment.account}:role/${roleName}`;
}

/** Job IDs: `deploy-dev`, `diff-prod`. */
export const deployJobId = (environment: EnvironmentConfig) => `deploy-${environment.name}`;
export const diffJobId = (environment: EnvironmentConfig) => `diff-${environment.name}`;
export const TEST_JOB_ID = 'test';

/** The workflows for `config`; none when the engine is CodePipeline (the pipelines deliver, workflows would double). */
export function workflowsFor(config: AppConfig): GeneratedWorkflow[] {
  const { platform } = config;
  if (platform.delivery.engine !== 'github-actions') return [];
  if (platform.pipeline.mode === 'promotion') {
    const order = config.environments.map((environment) => environment.name).join(' -> ');
    return [
      {
        file: 'deploy.yml',
        workflow: workflow(platform, `Deploy ${order}`, platform.pipeline.promotionBranch, config.environments),
      },
    ];
  }
  return config.environments.map((environment) => ({
    file: `deploy-${environment.name}.yml`,
    workflow: workflow(platform, `Deploy ${environment.name}`, environment.branch, [environment]),
  }));
}

function workflow(
  platform: PlatformConfig,
  name: string,
  branch: string,
  environments: readonly EnvironmentConfig[],
): Workflow {
  const repository = githubRepository(platform);
  // Forks and copies of the repository run no deploy job: the roles trust this repository only anyway.
  const onlyHere = `github.repository == '${repository}'`;
  const jobs: Record<string, Job> = { [TEST_JOB_ID]: testJob() };
  let previous: string | undefined;
  for (const environment of environments) {
    const needs = previous ? [TEST_JOB_ID, previous] : [TEST_JOB_ID];
    if (hasDiffJob(environment)) {
      jobs[diffJobId(environment)] = diffJob(platform, environment, needs, onlyHere);
      needs.push(diffJobId(environment));
    }
    jobs[deployJobId(environment)] = deployJob(platform, environment, needs, onlyHere);
    previous = deployJobId(environment);
  }
  return { name, on: { push: { branches: [branch] } }, permissions: WORKFLOW_PERMISSIONS, jobs };
}

function setupSteps(): Step[] {
  return [
    // The job needs no git credentials after the checkout: none stay on disk for later steps.
    { name: 'Check out', uses: uses(ACTIONS.checkout), with: { 'persist-credentials': false } },
    { name: 'Set up Node.js', uses: uses(ACTIONS.setupNode), with: { 'node-version': NODE_VERSION, cache: 'npm' } },
    { name: 'Install dependencies', run: 'npm ci' },
  ];
}

function testJob(): Job {
  return {
    name: 'npm test',
    'runs-on': 'ubuntu-latest',
    'timeout-minutes': 30,
    steps: [...setupSteps(), { name: 'Test', run: 'npm test' }],
  };
}

/** Synthesizes once per job, without AWS credentials (synth needs none), then takes the role for what follows. */
function synthAndCredentials(environment: EnvironmentConfig, roleName: string, session: string): Step[] {
  return [
    ...setupSteps(),
    { name: 'Synthesize', run: 'npx cdk synth --quiet' },
    {
      name: `Assume ${roleName} (OIDC)`,
      uses: uses(ACTIONS.awsCredentials),
      with: {
        'role-to-assume': roleArn(environment, roleName),
        'role-session-name': `${session}-\${{ github.run_id }}`,
        'aws-region': environment.region,
        'role-duration-seconds': DEPLOY_SESSION_SECONDS,
      },
    },
  ];
}

function diffJob(platform: PlatformConfig, environment: EnvironmentConfig, needs: string[], onlyHere: string): Job {
  const prefix = environmentPrefix(platform, environment);
  const stacks = stackSelector(environment);
  const reviewed = usesGitHubEnvironment(environment);
  // Templates compared directly: that uses the read-only CDK lookup role (a change set would need the deploy role).
  const diff = `npx cdk diff --app cdk.out '${stacks}' --method template`;
  return {
    name: `cdk diff ${environment.name}`,
    if: onlyHere,
    needs: [...needs],
    'runs-on': 'ubuntu-latest',
    'timeout-minutes': 30,
    steps: [
      ...synthAndCredentials(environment, githubDiffRoleName(prefix), `${prefix}-diff`),
      {
        name: 'Diff to the run summary',
        run: [
          '{',
          `  echo '## cdk diff of ${prefix} (account ${environment.account}, ${environment.region})'`,
          "  echo '```'",
          `  ${diff} 2>&1`,
          "  echo '```'",
          '} >> "$GITHUB_STEP_SUMMARY"',
        ].join('\n'),
      },
      {
        // What `--require-approval broadening` would stop at: IAM or security-group changes that widen access.
        name: 'Permissions broadening check',
        run: [
          `if ${diff} --security-only --fail-on broadening > security-diff.txt 2>&1; then`,
          `  echo '## Permissions broadening: none in ${prefix}' >> "$GITHUB_STEP_SUMMARY"`,
          'else',
          '  {',
          `    echo '## Permissions broadening in ${prefix}: this deploy widens IAM permissions or security groups'`,
          `    echo '${reviewed ? 'Review these changes before you approve the deployment.' : 'No reviewer gates this environment, so the deploy stops here.'}'`,
          "    echo '```'",
          '    cat security-diff.txt',
          "    echo '```'",
          '  } >> "$GITHUB_STEP_SUMMARY"',
          reviewed
            ? `  echo '::warning title=Permissions broadening::${prefix}: see the run summary before approving'`
            : `  echo '::error title=Permissions broadening::${prefix} has no manual approval; deploy the change with a reviewer (approval.manual) or revert it'`,
          ...(reviewed ? [] : ['  exit 1']),
          'fi',
        ].join('\n'),
      },
    ],
  };
}

function deployJob(platform: PlatformConfig, environment: EnvironmentConfig, needs: string[], onlyHere: string): Job {
  const prefix = environmentPrefix(platform, environment);
  return {
    name: `Deploy ${environment.name}`,
    if: onlyHere,
    needs: [...needs],
    'runs-on': 'ubuntu-latest',
    'timeout-minutes': 120,
    ...(usesGitHubEnvironment(environment) ? { environment: { name: environment.name } } : {}),
    // One deploy of an environment at a time; a newer push waits instead of cancelling a deploy half-way.
    concurrency: { group: `deploy-${prefix}`, 'cancel-in-progress': false },
    steps: [
      ...synthAndCredentials(environment, githubDeployRoleName(prefix), `${prefix}-deploy`),
      {
        name: `Deploy ${prefix}`,
        run: `npx cdk deploy --app cdk.out '${stackSelector(environment)}' --require-approval never`,
      },
      {
        name: 'Integration test',
        run: `npx tsx scripts/integration-test.ts --env ${environment.name} --from-stacks`,
        env: { INTEGRATION_TEST_ROLE_ARN: roleArn(environment, `${prefix}-integration-test`) },
      },
    ],
  };
}
