/**
 * Names and rules shared by the GitHub Actions delivery engine (`platform.delivery.engine: "github-actions"`): the
 * workflows (`npm run workflows`), the OIDC roles of `scripts/bootstrap-target-account.sh --github-repo` and the
 * integration-test role that trusts the deploy role. Side-effect free: no CDK constructs, no file access.
 */
import type { EnvironmentConfig, PlatformConfig } from '../../config/schema';

/** All regions in the configuration schema are in the commercial partition. */
export const PARTITION = 'aws';
/** Issuer of GitHub Actions OIDC tokens (the IAM identity provider's URL, without https://). */
export const GITHUB_OIDC_HOST = 'token.actions.githubusercontent.com';
/** Audience configure-aws-credentials asks GitHub to put in the token. */
export const GITHUB_OIDC_AUDIENCE = 'sts.amazonaws.com';
/** Qualifier of the CDK bootstrap roles (cdk.json sets none, so the CDK default). */
export const CDK_BOOTSTRAP_QUALIFIER = 'hnb659fds';

/** `<platformPrefix>-<env>`, e.g. `dp-dev`: the prefix of the environment's stacks and role names. */
export function environmentPrefix(platform: PlatformConfig, environment: EnvironmentConfig): string {
  return `${platform.prefix}-${environment.name}`;
}

/** Role the environment's deploy job assumes through OIDC (target account). */
export function githubDeployRoleName(prefix: string): string {
  return `${prefix}-github-deploy`;
}

/** Role the `cdk diff` job before a production deploy assumes: it may only read (CDK lookup role). */
export function githubDiffRoleName(prefix: string): string {
  return `${prefix}-github-diff`;
}

/**
 * The repository whose workflows deploy: `delivery.github.repository`, else the GitHub repository of `source`.
 * The schema refuses the GitHub engine with a CodeCommit source, so one of them is always set.
 */
export function githubRepository(platform: PlatformConfig): string {
  const repository =
    platform.delivery.github.repository ??
    (platform.source.type === 'codecommit' ? undefined : platform.source.repository);
  if (repository === undefined) {
    throw new Error(
      'config/platform.json: key "delivery.github.repository" is not set and "source" is not a GitHub repository. Fix: set "delivery.github.repository": "<owner>/<name>"',
    );
  }
  return repository;
}

/** Branch whose pushes deploy `environment`: its own branch, or the promotion branch in promotion mode. */
export function deployBranch(platform: PlatformConfig, environment: EnvironmentConfig): string {
  return platform.pipeline.mode === 'promotion' ? platform.pipeline.promotionBranch : environment.branch;
}

/**
 * An environment whose config asks for a manual approval deploys in a GitHub Environment of the same name, whose
 * required reviewers are that approval.
 */
export function usesGitHubEnvironment(environment: EnvironmentConfig): boolean {
  return environment.approval.manual;
}

/** Production environments get a `cdk diff` job, with the permissions-broadening check, before the deploy. */
export function hasDiffJob(environment: EnvironmentConfig): boolean {
  return environment.production;
}

/**
 * The exact `sub` claim the deploy role trusts: the GitHub Environment when the job runs in one (GitHub then puts
 * the environment, not the branch, in the token), else the deploying branch.
 */
export function deploySubject(platform: PlatformConfig, environment: EnvironmentConfig, repository: string): string {
  return usesGitHubEnvironment(environment)
    ? `repo:${repository}:environment:${environment.name}`
    : `repo:${repository}:ref:refs/heads/${deployBranch(platform, environment)}`;
}

/** The exact `sub` claim the diff role trusts: the deploying branch (the diff job runs outside any environment). */
export function diffSubject(platform: PlatformConfig, environment: EnvironmentConfig, repository: string): string {
  return `repo:${repository}:ref:refs/heads/${deployBranch(platform, environment)}`;
}
