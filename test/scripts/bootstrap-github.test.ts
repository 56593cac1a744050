/**
 * GitHub Actions OIDC in the target accounts: the roles' trust and permissions (scripts/policies/github-roles.ts)
 * and `bootstrap-target-account.sh <env> --github-repo owner/name` against the fake AWS CLI.
 * Example accounts: deployment 111111111111, dev 222222222222, prod 444444444444 (config/).
 */
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import type { AppConfig, EnvironmentConfig } from '../../config/schema';
import { type GitHubRole, githubRoles } from '../../scripts/policies/github-roles';
import { exampleConfig, exampleEnvironment, REPO_ROOT } from '../helpers/app';
import { realAwsOnBasePath, runScript } from './bootstrap-helpers';

const DEV = '222222222222';
const PROD = '444444444444';
const REPO = 'my-org/data-platform';
const flat = (calls: string[][]) => calls.map((call) => call.join(' '));
const iamCalls = (calls: string[][]) => flat(calls).filter((call) => call.startsWith('iam '));

beforeAll(() => {
  if (realAwsOnBasePath()) throw new Error('these tests need a PATH without a real aws CLI in /usr/bin or /bin');
});

function promotion(): AppConfig {
  const example = structuredClone(exampleConfig());
  return {
    ...example,
    platform: { ...example.platform, pipeline: { ...example.platform.pipeline, mode: 'promotion' } },
  };
}

const roleNamed = (roles: GitHubRole[], name: string) => roles.find((role) => role.name === name)!;

describe('GitHub OIDC roles', () => {
  const trustOf = (role: GitHubRole) => role.trustPolicy.Statement;

  test.each([
    ['dev', 'branch-per-environment', 'repo:my-org/data-platform:ref:refs/heads/dev'],
    ['test', 'branch-per-environment', 'repo:my-org/data-platform:ref:refs/heads/test'],
    ['dev', 'promotion', 'repo:my-org/data-platform:ref:refs/heads/main'],
    ['prod', 'branch-per-environment', 'repo:my-org/data-platform:environment:prod'],
    ['prod', 'promotion', 'repo:my-org/data-platform:environment:prod'],
  ] as const)('the %s deploy role (%s) trusts only GitHub OIDC tokens for sts with sub %s', (name, mode, sub) => {
    const config = mode === 'promotion' ? promotion() : exampleConfig();
    const environment = config.environments.find((e) => e.name === name)!;
    const role = roleNamed(githubRoles(config, environment, REPO), `dp-${name}-github-deploy`);
    expect(trustOf(role)).toEqual([
      {
        Sid: 'GitHubActionsOidc',
        Effect: 'Allow',
        Principal: {
          Federated: `arn:aws:iam::${environment.account}:oidc-provider/token.actions.githubusercontent.com`,
        },
        Action: 'sts:AssumeRoleWithWebIdentity',
        // StringEquals, not StringLike: no other branch, tag, pull request or environment matches.
        Condition: {
          StringEquals: {
            'token.actions.githubusercontent.com:aud': 'sts.amazonaws.com',
            'token.actions.githubusercontent.com:sub': sub,
          },
        },
      },
    ]);
  });

  test('a non-production environment with an approval trusts its GitHub Environment', () => {
    const dev: EnvironmentConfig = { ...exampleEnvironment('dev'), approval: { manual: true } };
    const [role] = githubRoles(exampleConfig(), dev, REPO);
    expect(trustOf(role)[0].Condition?.StringEquals['token.actions.githubusercontent.com:sub']).toBe(
      'repo:my-org/data-platform:environment:dev',
    );
  });

  test('the deploy role may only assume the CDK bootstrap roles and the integration-test role, and read stack outputs', () => {
    const [role] = githubRoles(exampleConfig(), exampleEnvironment('dev'), REPO);
    expect(role.permissions.Statement).toEqual([
      {
        Sid: 'AssumeCdkBootstrapRoles',
        Effect: 'Allow',
        Action: 'sts:AssumeRole',
        Resource: [
          `arn:aws:iam::${DEV}:role/cdk-hnb659fds-deploy-role-${DEV}-eu-west-1`,
          `arn:aws:iam::${DEV}:role/cdk-hnb659fds-file-publishing-role-${DEV}-eu-west-1`,
          `arn:aws:iam::${DEV}:role/cdk-hnb659fds-image-publishing-role-${DEV}-eu-west-1`,
          `arn:aws:iam::${DEV}:role/cdk-hnb659fds-lookup-role-${DEV}-eu-west-1`,
        ],
      },
      {
        Sid: 'AssumeIntegrationTestRole',
        Effect: 'Allow',
        Action: 'sts:AssumeRole',
        Resource: `arn:aws:iam::${DEV}:role/dp-dev-integration-test`,
      },
      {
        Sid: 'ReadStackOutputs',
        Effect: 'Allow',
        Action: 'cloudformation:DescribeStacks',
        Resource: `arn:aws:cloudformation:eu-west-1:${DEV}:stack/dp-dev-*/*`,
      },
    ]);
    expect(role.maxSessionSeconds).toBe(7200);
  });

  test('production also gets a diff role, trusting the branch (it runs before the approval) and only reading', () => {
    const roles = githubRoles(exampleConfig(), exampleEnvironment('prod'), REPO);
    expect(roles.map((role) => role.name)).toEqual(['dp-prod-github-deploy', 'dp-prod-github-diff']);
    const diff = roleNamed(roles, 'dp-prod-github-diff');
    expect(trustOf(diff)[0].Condition?.StringEquals['token.actions.githubusercontent.com:sub']).toBe(
      'repo:my-org/data-platform:ref:refs/heads/main',
    );
    expect(diff.permissions.Statement.map((statement) => [statement.Action, statement.Resource])).toEqual([
      ['sts:AssumeRole', `arn:aws:iam::${PROD}:role/cdk-hnb659fds-lookup-role-${PROD}-eu-west-1`],
      ['cloudformation:DescribeStacks', `arn:aws:cloudformation:eu-west-1:${PROD}:stack/dp-prod-*/*`],
    ]);
  });

  test('fails for a repository that is not owner/name', () => {
    expect(() => githubRoles(exampleConfig(), exampleEnvironment('dev'), 'data-platform')).toThrow(
      '--github-repo "data-platform" is not "owner/name". Fix: e.g. --github-repo my-org/data-platform',
    );
  });
});

describe('bootstrap-target-account.sh --github-repo --dry-run', () => {
  const run = runScript('bootstrap-target-account.sh', ['prod', '--dry-run', '--github-repo', REPO], {
    fakeAws: { account: PROD },
  });

  test('plans the OIDC provider and each role with its exact subject, after cdk bootstrap', () => {
    expect(run.status).toBe(0);
    expect(run.stdout).toContain(
      'aws iam create-open-id-connect-provider --url https://token.actions.githubusercontent.com --client-id-list sts.amazonaws.com',
    );
    expect(run.stdout).toContain(
      '# role dp-prod-github-deploy: only sts:AssumeRoleWithWebIdentity with aud sts.amazonaws.com and sub repo:my-org/data-platform:environment:prod',
    );
    expect(run.stdout).toContain(
      '# role dp-prod-github-diff: only sts:AssumeRoleWithWebIdentity with aud sts.amazonaws.com and sub repo:my-org/data-platform:ref:refs/heads/main',
    );
    expect(run.stdout).toMatch(
      /aws iam create-role --role-name dp-prod-github-deploy --assume-role-policy-document file:\/\/\S+\/dp-prod-github-deploy\.trust\.json --max-session-duration 7200/,
    );
    expect(run.stdout).toMatch(
      /aws iam put-role-policy --role-name dp-prod-github-deploy --policy-name dp-prod-github-deploy --policy-document file:\/\//,
    );
    // The CodePipeline engine is configured: the deployment account stays trusted.
    expect(run.stdout).toContain(`--trust 111111111111 --trust-for-lookup 111111111111`);
  });

  test('changes nothing and keeps the role documents for review', () => {
    expect(flat(run.awsCalls)).toEqual(['sts get-caller-identity --query [Account,Arn] --output text']);
    expect(run.npxCalls).toEqual([]);
    expect(Object.keys(run.githubFilesLeft).sort()).toEqual([
      'dp-prod-github-deploy.description',
      'dp-prod-github-deploy.policy.json',
      'dp-prod-github-deploy.trust.json',
      'dp-prod-github-diff.description',
      'dp-prod-github-diff.policy.json',
      'dp-prod-github-diff.trust.json',
    ]);
    expect(run.githubFilesLeft['dp-prod-github-deploy.trust.json']).toEqual(
      githubRoles(exampleConfig(), exampleEnvironment('prod'), REPO)[0].trustPolicy,
    );
  });
});

describe('bootstrap-target-account.sh --github-repo against the fake CLI', () => {
  test('creates the missing provider and role, then sets the role policy', () => {
    const run = runScript('bootstrap-target-account.sh', ['dev', '--yes', '--github-repo', REPO], {
      fakeAws: { account: DEV },
    });
    expect(run.status).toBe(0);
    const oidcAndRoles = iamCalls(run.awsCalls).filter((call) => !/policy-arn|create-policy /.test(call));
    expect(oidcAndRoles).toEqual([
      `iam get-open-id-connect-provider --open-id-connect-provider-arn arn:aws:iam::${DEV}:oidc-provider/token.actions.githubusercontent.com --query ClientIDList --output text`,
      'iam create-open-id-connect-provider --url https://token.actions.githubusercontent.com --client-id-list sts.amazonaws.com',
      'iam get-role --role-name dp-dev-github-deploy',
      expect.stringMatching(
        /^iam create-role --role-name dp-dev-github-deploy --assume-role-policy-document file:\/\/\S+ --max-session-duration 7200 --description /,
      ),
      expect.stringMatching(
        /^iam put-role-policy --role-name dp-dev-github-deploy --policy-name dp-dev-github-deploy --policy-document file:\/\//,
      ),
    ]);
    expect(run.npxCalls).toHaveLength(1);
    // Nothing left behind after a real run.
    expect(run.githubFilesLeft).toEqual({});
  });

  test('re-running with everything in place updates the trust (a repository rename is one flag) and creates nothing', () => {
    const run = runScript('bootstrap-target-account.sh', ['dev', '--yes', '--github-repo', 'my-org/renamed'], {
      fakeAws: { account: DEV, oidcClientIds: 'sts.amazonaws.com', rolesExist: true },
    });
    expect(run.status).toBe(0);
    const calls = iamCalls(run.awsCalls).filter((call) => /open-id-connect|role/.test(call));
    expect(calls.filter((call) => /create-(role|open-id)|add-client-id/.test(call))).toEqual([]);
    expect(calls).toEqual([
      expect.stringMatching(/^iam get-open-id-connect-provider /),
      'iam get-role --role-name dp-dev-github-deploy',
      expect.stringMatching(
        /^iam update-assume-role-policy --role-name dp-dev-github-deploy --policy-document file:\/\//,
      ),
      expect.stringMatching(
        /^iam update-role --role-name dp-dev-github-deploy --max-session-duration 7200 --description /,
      ),
      expect.stringMatching(/^iam put-role-policy --role-name dp-dev-github-deploy /),
    ]);
    expect(run.stdout).toContain('Updating role dp-dev-github-deploy (trusts repo:my-org/renamed:ref:refs/heads/dev)');
  });

  test('adds the sts.amazonaws.com audience to a provider that lacks it', () => {
    const run = runScript('bootstrap-target-account.sh', ['dev', '--yes', '--github-repo', REPO], {
      fakeAws: { account: DEV, oidcClientIds: 'sigstore', rolesExist: true },
    });
    expect(run.status).toBe(0);
    expect(iamCalls(run.awsCalls)).toContain(
      `iam add-client-id-to-open-id-connect-provider --open-id-connect-provider-arn arn:aws:iam::${DEV}:oidc-provider/token.actions.githubusercontent.com --client-id sts.amazonaws.com`,
    );
  });

  test('without --github-repo and with the CodePipeline engine, touches no OIDC provider or role', () => {
    const run = runScript('bootstrap-target-account.sh', ['dev', '--yes'], { fakeAws: { account: DEV } });
    expect(run.status).toBe(0);
    expect(iamCalls(run.awsCalls).filter((call) => /open-id-connect|role/.test(call))).toEqual([]);
  });
});

describe('bootstrap-target-account.sh with delivery.engine "github-actions"', () => {
  let configDir: string;
  beforeAll(() => {
    configDir = mkdtempSync(path.join(tmpdir(), 'github-engine-config-'));
    cpSync(path.join(REPO_ROOT, 'config'), configDir, { recursive: true, filter: (source) => !source.endsWith('.ts') });
    const file = path.join(configDir, 'platform.json');
    const platform = JSON.parse(readFileSync(file, 'utf8'));
    platform.delivery = { engine: 'github-actions', github: { repository: 'my-org/infra' } };
    writeFileSync(file, JSON.stringify(platform));
  });
  afterAll(() => rmSync(configDir, { recursive: true, force: true }));

  test('trusts no deployment account and creates the roles for the configured repository', () => {
    const run = runScript('bootstrap-target-account.sh', ['dev', '--dry-run'], {
      fakeAws: { account: DEV },
      configDir,
    });
    expect(run.status).toBe(0);
    expect(run.stdout).toContain(
      `npx cdk bootstrap aws://${DEV}/eu-west-1 --cloudformation-execution-policies arn:aws:iam::${DEV}:policy/dp-cdk-cfn-execution --termination-protection`,
    );
    expect(run.stdout).not.toContain('--trust');
    expect(run.stdout).toContain('sub repo:my-org/infra:ref:refs/heads/dev');
  });
});

describe('--github-repo usage', () => {
  test('fails for a repository that is not owner/name', () => {
    const run = runScript('bootstrap-target-account.sh', ['dev', '--dry-run', '--github-repo', 'data-platform'], {
      fakeAws: { account: DEV },
    });
    expect(run.status).toBe(2);
    expect(run.stderr).toContain(
      "--github-repo 'data-platform' is not owner/name. Fix: e.g. --github-repo my-org/data-platform",
    );
  });

  test('fails for the deployment account, which runs no workflow', () => {
    const run = runScript('bootstrap-deployment-account.sh', ['--dry-run', '--github-repo', REPO], {
      fakeAws: { account: '111111111111' },
    });
    expect(run.status).toBe(2);
    expect(run.stderr).toContain('--github-repo is for the environment accounts');
  });

  test('is documented in --help', () => {
    const run = runScript('bootstrap-target-account.sh', ['--help']);
    expect(run.stdout).toContain('--github-repo <owner/name>');
  });
});
