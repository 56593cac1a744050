/** scripts/print-config.ts: the bridge from the validated configuration to the bootstrap scripts. */
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { UsageError } from '../../scripts/lib/usage';
import { printConfig } from '../../scripts/print-config';
import { executionPolicyForAccount } from '../../scripts/policies/execution-policy';
import { exampleConfig } from '../helpers/app';
import { REPO_ROOT, runScript } from './bootstrap-helpers';

describe('printConfig', () => {
  test('prints the deployment account, its bootstrap regions and the tags as KEY=value lines', () => {
    expect(printConfig(['deployment'], exampleConfig()).stdout.split('\n')).toEqual([
      'ACCOUNT=111111111111',
      'REGION=eu-west-1',
      'BOOTSTRAP_REGION=eu-west-1',
      'PREFIX=dp',
      'PARTITION=aws',
      'DEPLOYMENT_ACCOUNT=111111111111',
      'DEPLOYMENT_REGION=eu-west-1',
      'SOURCE_TYPE=github-connection',
      'PIPELINE_MODE=branch-per-environment',
      'POLICY_NAME=dp-cdk-cfn-execution',
      'POLICY_ARN=arn:aws:iam::111111111111:policy/dp-cdk-cfn-execution',
      'TAG=project=data-platform',
      'TAG=owner=platform-team',
      '',
    ]);
  });

  test("prints one environment's account, region and branch", () => {
    const lines = printConfig(['environment', 'prod'], exampleConfig()).stdout.split('\n');
    expect(lines).toEqual(
      expect.arrayContaining([
        'ENVIRONMENT=prod',
        'ACCOUNT=444444444444',
        'REGION=eu-west-1',
        'BRANCH=main',
        'DEPLOYMENT_ACCOUNT=111111111111',
        'POLICY_ARN=arn:aws:iam::444444444444:policy/dp-cdk-cfn-execution',
      ]),
    );
  });

  test("--policy-file asks for that account's execution policy", () => {
    const result = printConfig(['environment', 'dev', '--policy-file', '/tmp/x.json'], exampleConfig());
    expect(result.policyFile?.path).toBe('/tmp/x.json');
    expect(JSON.parse(result.policyFile!.content)).toEqual(executionPolicyForAccount(exampleConfig(), '222222222222'));
  });

  test('fails for an unknown environment, listing the known ones', () => {
    expect(() => printConfig(['environment', 'staging'], exampleConfig())).toThrow(
      new UsageError('unknown environment "staging". Fix: use one of dev, test, prod (files in config/environments/)'),
    );
  });

  test('fails for an unknown command and for a policy of a malformed account', () => {
    expect(() => printConfig(['accounts'], exampleConfig())).toThrow(/unknown command "accounts"/);
    expect(() => printConfig(['policy', '12345'], exampleConfig())).toThrow(
      /policy needs a 12-digit account ID, received "12345"/,
    );
  });

  test('fails for a tag value with a newline, which would break the line protocol', () => {
    const config = exampleConfig();
    const withNewline = { ...config, platform: { ...config.platform, tags: { owner: 'team\nEVIL=1' } } };
    expect(() => printConfig(['deployment'], withNewline)).toThrow(
      /TAG value "owner=team\\nEVIL=1" holds a control character/,
    );
  });
});

describe('invalid configuration', () => {
  let configDir: string;
  beforeAll(() => {
    configDir = mkdtempSync(path.join(tmpdir(), 'config-'));
    cpSync(path.join(REPO_ROOT, 'config'), configDir, { recursive: true, filter: (src) => !src.endsWith('.ts') });
    const devFile = path.join(configDir, 'environments', 'dev.json');
    writeFileSync(devFile, readFileSync(devFile, 'utf8').replace('"222222222222"', '"2222"'));
  });
  afterAll(() => rmSync(configDir, { recursive: true, force: true }));

  test("fails the bootstrap script with exit code 7 and the loader's message naming the file, key and fix", () => {
    const run = runScript('bootstrap-target-account.sh', ['dev', '--dry-run'], {
      fakeAws: { account: '222222222222' },
      configDir,
    });
    expect(run.status).toBe(7);
    expect(run.stderr).toMatch(
      /environments\/dev\.json: key "account" has value "2222": must be a 12-digit AWS account ID/,
    );
    expect(run.awsCalls).toEqual([]);
  });
});
