/**
 * The real bootstrap scripts, run with the example configuration and a fake `aws` / `npx` on PATH.
 * Example accounts: deployment 111111111111, dev 222222222222 (config/).
 */
import { executionPolicyForAccount } from '../../scripts/policies/execution-policy';
import { exampleConfig } from '../helpers/app';
import { type RunResult, realAwsOnBasePath, runScript } from './bootstrap-helpers';

const DEPLOYMENT = '111111111111';
const DEV = '222222222222';
const DEV_POLICY_ARN = `arn:aws:iam::${DEV}:policy/dp-cdk-cfn-execution`;

/** A deep copy with object keys in reverse order. */
function reorderKeys(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(reorderKeys);
  if (value !== null && typeof value === 'object') {
    return Object.fromEntries(
      Object.keys(value)
        .reverse()
        .map((key) => [key, reorderKeys((value as Record<string, unknown>)[key])]),
    );
  }
  return value;
}

const flat = (calls: string[][]) => calls.map((call) => call.join(' '));

beforeAll(() => {
  if (realAwsOnBasePath()) {
    throw new Error('these tests need a PATH without a real aws CLI in /usr/bin or /bin (the fake one is put first)');
  }
});

describe('bootstrap-target-account.sh --dry-run', () => {
  let run: RunResult;
  beforeAll(() => {
    run = runScript('bootstrap-target-account.sh', ['dev', '--dry-run'], { fakeAws: { account: DEV } });
  });

  test('bootstraps the environment account and region from config, trusting the deployment account', () => {
    expect(run.status).toBe(0);
    expect(run.stdout).toContain(
      `npx cdk bootstrap aws://${DEV}/eu-west-1 --trust ${DEPLOYMENT} --trust-for-lookup ${DEPLOYMENT} --cloudformation-execution-policies ${DEV_POLICY_ARN}`,
    );
    expect(run.stdout).toContain('--tags project=data-platform --tags owner=platform-team');
  });

  test('shows the caller identity and the scoped policy it would create or update', () => {
    expect(run.stdout).toContain(`arn:aws:sts::${DEV}:assumed-role/Admin/someone (account ${DEV})`);
    expect(run.stdout).toContain('aws iam create-policy --policy-name dp-cdk-cfn-execution --policy-document file://');
    expect(run.stdout).toContain(`aws iam create-policy-version --policy-arn ${DEV_POLICY_ARN}`);
    expect(run.stdout).toContain('--set-as-default');
  });

  test('never proposes AdministratorAccess', () => {
    expect(`${run.stdout}${run.stderr}`).not.toMatch(/AdministratorAccess/);
  });

  test('changes nothing: only the caller identity is read, cdk is not run', () => {
    expect(flat(run.awsCalls)).toEqual(['sts get-caller-identity --query [Account,Arn] --output text']);
    expect(run.npxCalls).toEqual([]);
    expect(run.stdout).toContain('Dry run: nothing was changed');
    expect(run.policyFilesLeft).toHaveLength(1);
  });
});

describe('bootstrap-deployment-account.sh --dry-run', () => {
  let run: RunResult;
  beforeAll(() => {
    run = runScript('bootstrap-deployment-account.sh', ['--dry-run', '--profile', 'tooling'], {
      fakeAws: { account: DEPLOYMENT },
    });
  });

  test('bootstraps the deployment account without trusting any other account', () => {
    expect(run.status).toBe(0);
    expect(run.stdout).toContain(
      `npx cdk bootstrap aws://${DEPLOYMENT}/eu-west-1 --cloudformation-execution-policies arn:aws:iam::${DEPLOYMENT}:policy/dp-cdk-cfn-execution`,
    );
    expect(run.stdout).not.toContain('--trust');
    expect(run.stdout).not.toMatch(/AdministratorAccess/);
  });

  test('passes --profile to every aws and cdk command', () => {
    expect(run.awsCalls[0].slice(0, 2)).toEqual(['--profile', 'tooling']);
    expect(run.stdout).toContain('aws --profile tooling iam get-policy');
    expect(run.stdout).toMatch(/npx cdk bootstrap .* --profile tooling\n/);
  });
});

describe('dry run without credentials', () => {
  test('goes on with an unknown caller when the credentials are expired', () => {
    const run = runScript('bootstrap-target-account.sh', ['dev', '--dry-run'], { fakeAws: {} });
    expect(run.status).toBe(0);
    expect(run.stdout).toContain('<caller account unknown in dry run>');
    expect(run.stdout).toContain(`--trust ${DEPLOYMENT}`);
  });

  test('goes on with an unknown caller when the AWS CLI is not installed', () => {
    const run = runScript('bootstrap-deployment-account.sh', ['--dry-run'], { fakeAws: 'absent' });
    expect(run.status).toBe(0);
    expect(run.stdout).toContain('<caller account unknown in dry run>');
  });
});

describe('account check', () => {
  test('fails for a target when the credentials belong to another account, naming both accounts', () => {
    const run = runScript('bootstrap-target-account.sh', ['dev', '--yes'], { fakeAws: { account: '999999999999' } });
    expect(run.status).toBe(5);
    expect(run.stderr).toContain('999999999999');
    expect(run.stderr).toContain(DEV);
    expect(flat(run.awsCalls).filter((call) => call.startsWith('iam '))).toEqual([]);
    expect(run.npxCalls).toEqual([]);
    expect(run.policyFilesLeft).toEqual([]);
  });

  test('fails for the deployment account when the credentials belong to a target account, even in a dry run', () => {
    const run = runScript('bootstrap-deployment-account.sh', ['--dry-run'], { fakeAws: { account: DEV } });
    expect(run.status).toBe(5);
    expect(run.stderr).toMatch(new RegExp(`account ${DEV} .*but the deployment account .* is account ${DEPLOYMENT}`));
  });

  test('fails with exit code 4 when a real run has no valid credentials', () => {
    const run = runScript('bootstrap-target-account.sh', ['dev', '--yes'], { fakeAws: {} });
    expect(run.status).toBe(4);
    expect(run.stderr).toContain('ExpiredToken');
    expect(run.stderr).toContain('Fix: sign in to account 222222222222');
  });

  test('fails with exit code 3 when a real run has no AWS CLI', () => {
    const run = runScript('bootstrap-target-account.sh', ['dev', '--yes'], { fakeAws: 'absent' });
    expect(run.status).toBe(3);
    expect(run.stderr).toContain('the AWS CLI (aws) is not on PATH');
  });
});

describe('real run against the fake CLI', () => {
  test('--yes skips the prompt, creates the missing policy, then runs cdk bootstrap with it', () => {
    const run = runScript('bootstrap-target-account.sh', ['dev', '--yes'], { fakeAws: { account: DEV } });
    expect(run.status).toBe(0);
    expect(run.stdout).not.toContain('Proceed?');
    const iamCalls = flat(run.awsCalls).filter((call) => call.startsWith('iam '));
    expect(iamCalls).toEqual([
      `iam get-policy --policy-arn ${DEV_POLICY_ARN}`,
      expect.stringMatching(/^iam create-policy --policy-name dp-cdk-cfn-execution --policy-document file:\/\/\S+ /),
    ]);
    expect(run.policyFilesLeft).toEqual([]);
    expect(run.npxCalls).toEqual([
      [
        'cdk',
        'bootstrap',
        `aws://${DEV}/eu-west-1`,
        '--trust',
        DEPLOYMENT,
        '--trust-for-lookup',
        DEPLOYMENT,
        '--cloudformation-execution-policies',
        DEV_POLICY_ARN,
        '--termination-protection',
        '--tags',
        'project=data-platform',
        '--tags',
        'owner=platform-team',
      ],
    ]);
  });

  test('adds a default version after deleting the oldest non-default one when the policy has five', () => {
    const run = runScript('bootstrap-target-account.sh', ['dev', '--yes'], {
      fakeAws: { account: DEV, existingDocument: { Version: '2012-10-17', Statement: [] }, versionCount: 5 },
    });
    expect(run.status).toBe(0);
    const changes = flat(run.awsCalls).filter((call) => /^iam (create|delete)/.test(call));
    expect(changes).toEqual([
      `iam delete-policy-version --policy-arn ${DEV_POLICY_ARN} --version-id v1`,
      expect.stringMatching(
        new RegExp(`^iam create-policy-version --policy-arn ${DEV_POLICY_ARN} .*--set-as-default$`),
      ),
    ]);
  });

  test('leaves an up-to-date policy alone', () => {
    // Stored documents come back from IAM with their own key order; the comparison ignores it.
    const document = reorderKeys(executionPolicyForAccount(exampleConfig(), DEV)) as object;
    const run = runScript('bootstrap-target-account.sh', ['dev', '--yes'], {
      fakeAws: { account: DEV, existingDocument: document, versionCount: 2 },
    });
    expect(run.status).toBe(0);
    expect(run.stdout).toContain('is up to date (version v5)');
    expect(flat(run.awsCalls).filter((call) => /^iam (create|delete)/.test(call))).toEqual([]);
    expect(run.npxCalls).toHaveLength(1);
  });

  test('--policy-arn uses the given policy and touches no IAM policy', () => {
    const custom = `arn:aws:iam::${DEV}:policy/org-approved-cfn-exec`;
    const run = runScript('bootstrap-target-account.sh', ['dev', '--yes', '--policy-arn', custom], {
      fakeAws: { account: DEV },
    });
    expect(run.status).toBe(0);
    expect(flat(run.awsCalls).filter((call) => call.startsWith('iam '))).toEqual([]);
    expect(run.npxCalls[0]).toEqual(expect.arrayContaining(['--cloudformation-execution-policies', custom]));
  });

  test('asks for confirmation and changes nothing when the answer is no', () => {
    const run = runScript('bootstrap-target-account.sh', ['dev'], { fakeAws: { account: DEV }, stdin: 'n\n' });
    expect(run.stdout).toContain('Proceed? [y/N]');
    expect(run.status).toBe(6);
    expect(run.stderr).toContain('aborted: nothing was changed');
    expect(flat(run.awsCalls).filter((call) => call.startsWith('iam '))).toEqual([]);
    expect(run.npxCalls).toEqual([]);
  });

  test('goes on when the answer is yes', () => {
    const run = runScript('bootstrap-deployment-account.sh', [], { fakeAws: { account: DEPLOYMENT }, stdin: 'y\n' });
    expect(run.status).toBe(0);
    expect(run.npxCalls[0].slice(0, 3)).toEqual(['cdk', 'bootstrap', `aws://${DEPLOYMENT}/eu-west-1`]);
  });
});

describe('usage', () => {
  test('fails for an unknown environment, listing the known ones', () => {
    const run = runScript('bootstrap-target-account.sh', ['staging', '--dry-run'], { fakeAws: { account: DEV } });
    expect(run.status).toBe(2);
    expect(run.stderr).toContain('unknown environment "staging". Fix: use one of dev, test, prod');
  });

  test('fails without an environment name', () => {
    const run = runScript('bootstrap-target-account.sh', ['--dry-run'], { fakeAws: { account: DEV } });
    expect(run.status).toBe(2);
    expect(run.stderr).toContain('expected exactly one environment name');
  });

  test('fails for an unknown option', () => {
    const run = runScript('bootstrap-deployment-account.sh', ['--force'], { fakeAws: { account: DEPLOYMENT } });
    expect(run.status).toBe(2);
    expect(run.stderr).toContain("unknown option '--force'");
  });

  test('fails for a --policy-arn that is not a policy ARN', () => {
    const run = runScript('bootstrap-deployment-account.sh', ['--policy-arn', 'AdministratorAccess'], {
      fakeAws: { account: DEPLOYMENT },
    });
    expect(run.status).toBe(2);
    expect(run.stderr).toContain("--policy-arn 'AdministratorAccess' is not an IAM managed policy ARN");
  });

  test.each(['bootstrap-deployment-account.sh', 'bootstrap-target-account.sh'])(
    '%s --help documents options and exit codes',
    (script) => {
      const run = runScript(script, ['--help']);
      expect(run.status).toBe(0);
      for (const option of ['--profile', '--policy-arn', '--yes', '--dry-run', '--help']) {
        expect(run.stdout).toContain(option);
      }
      expect(run.stdout).toContain('Exit codes:');
      expect(run.stdout).toMatch(/5 +the credentials belong to another account/);
      expect(run.awsCalls).toEqual([]);
    },
  );
});
