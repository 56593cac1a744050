/**
 * The IAM roles GitHub Actions assumes in an environment's account through OIDC (no access keys), created by
 * `scripts/bootstrap-target-account.sh <env> --github-repo <owner>/<name>`:
 * - `<prefix>-<env>-github-deploy`: the deploy job's role. Trusts only `sts:AssumeRoleWithWebIdentity` from the
 *   account's GitHub OIDC provider with `aud` = sts.amazonaws.com and `sub` = exactly the repository's deploying
 *   branch, or its GitHub Environment when the environment needs an approval. May only assume the CDK bootstrap roles
 *   of this account and region (CloudFormation does the deploying, with its execution policy), assume the
 *   integration-test role, and read the environment's stack outputs.
 * - `<prefix>-<env>-github-diff` (production only): the `cdk diff` job's role, which runs before the approval and so
 *   outside the GitHub Environment. Trusts the deploying branch; may only assume the CDK lookup role (read-only).
 */
import type { AppConfig, EnvironmentConfig } from '../../config/schema';
import {
  CDK_BOOTSTRAP_QUALIFIER,
  deploySubject,
  diffSubject,
  environmentPrefix,
  GITHUB_OIDC_AUDIENCE,
  GITHUB_OIDC_HOST,
  githubDeployRoleName,
  githubDiffRoleName,
  hasDiffJob,
  PARTITION,
} from '../../lib/github-actions/delivery';
import { DEPLOY_SESSION_SECONDS } from '../../lib/github-actions/workflows';

export interface RoleStatement {
  readonly Sid: string;
  readonly Effect: 'Allow';
  readonly Action: string | string[];
  readonly Principal?: { readonly Federated: string };
  readonly Resource?: string | string[];
  readonly Condition?: Record<string, Record<string, string>>;
}

export interface RoleDocument {
  readonly Version: '2012-10-17';
  readonly Statement: RoleStatement[];
}

export interface GitHubRole {
  readonly name: string;
  readonly description: string;
  /** The `sub` claim the trust policy requires. */
  readonly subject: string;
  readonly trustPolicy: RoleDocument;
  /** Inline policy, named like the role. */
  readonly permissions: RoleDocument;
  readonly maxSessionSeconds: number;
}

/** The OIDC identity provider of GitHub Actions in `account`. */
export function oidcProviderArn(account: string): string {
  return `arn:${PARTITION}:iam::${account}:oidc-provider/${GITHUB_OIDC_HOST}`;
}

/** `owner/name`, as GitHub and the `sub` claim spell a repository. */
export const GITHUB_REPOSITORY_PATTERN = /^[A-Za-z0-9_.-]+\/[A-Za-z0-9_.-]+$/;

/** The GitHub roles of one environment (the deploy role, and the diff role for production). */
export function githubRoles(config: AppConfig, environment: EnvironmentConfig, repository: string): GitHubRole[] {
  if (!GITHUB_REPOSITORY_PATTERN.test(repository)) {
    throw new Error(
      `--github-repo ${JSON.stringify(repository)} is not "owner/name". Fix: e.g. --github-repo my-org/data-platform`,
    );
  }
  const { platform } = config;
  const prefix = environmentPrefix(platform, environment);
  const { account, region } = environment;
  const role = (name: string) => `arn:${PARTITION}:iam::${account}:role/${name}`;
  const bootstrapRole = (kind: string) => role(`cdk-${CDK_BOOTSTRAP_QUALIFIER}-${kind}-role-${account}-${region}`);
  const readStackOutputs: RoleStatement = {
    Sid: 'ReadStackOutputs',
    Effect: 'Allow',
    Action: 'cloudformation:DescribeStacks',
    Resource: `arn:${PARTITION}:cloudformation:${region}:${account}:stack/${prefix}-*/*`,
  };

  const deploy = githubDeployRoleName(prefix);
  const deploySub = deploySubject(platform, environment, repository);
  const roles: GitHubRole[] = [
    {
      name: deploy,
      description: `GitHub Actions deploy of ${prefix} from ${deploySub}: CDK bootstrap roles and the integration test only`,
      subject: deploySub,
      trustPolicy: trust(account, deploySub),
      permissions: {
        Version: '2012-10-17',
        Statement: [
          {
            Sid: 'AssumeCdkBootstrapRoles',
            Effect: 'Allow',
            Action: 'sts:AssumeRole',
            Resource: ['deploy', 'file-publishing', 'image-publishing', 'lookup'].map(bootstrapRole),
          },
          {
            Sid: 'AssumeIntegrationTestRole',
            Effect: 'Allow',
            Action: 'sts:AssumeRole',
            Resource: role(`${prefix}-integration-test`),
          },
          readStackOutputs,
        ],
      },
      maxSessionSeconds: DEPLOY_SESSION_SECONDS,
    },
  ];
  if (hasDiffJob(environment)) {
    const diffSub = diffSubject(platform, environment, repository);
    roles.push({
      name: githubDiffRoleName(prefix),
      description: `GitHub Actions cdk diff of ${prefix} from ${diffSub}: the CDK lookup role (read-only) only`,
      subject: diffSub,
      trustPolicy: trust(account, diffSub),
      permissions: {
        Version: '2012-10-17',
        Statement: [
          { Sid: 'AssumeCdkLookupRole', Effect: 'Allow', Action: 'sts:AssumeRole', Resource: bootstrapRole('lookup') },
          readStackOutputs,
        ],
      },
      maxSessionSeconds: 3600,
    });
  }
  return roles;
}

/** Only GitHub's OIDC tokens for this audience and exactly this subject (no wildcard, so StringEquals). */
function trust(account: string, subject: string): RoleDocument {
  return {
    Version: '2012-10-17',
    Statement: [
      {
        Sid: 'GitHubActionsOidc',
        Effect: 'Allow',
        Principal: { Federated: oidcProviderArn(account) },
        Action: 'sts:AssumeRoleWithWebIdentity',
        Condition: {
          StringEquals: {
            [`${GITHUB_OIDC_HOST}:aud`]: GITHUB_OIDC_AUDIENCE,
            [`${GITHUB_OIDC_HOST}:sub`]: subject,
          },
        },
      },
    ],
  };
}
