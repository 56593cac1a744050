import {
  DescribeFlowLogsCommand,
  DescribeVpcEndpointsCommand,
  DescribeVpcsCommand,
  EC2Client,
} from '@aws-sdk/client-ec2';
import {
  GetBucketEncryptionCommand,
  GetBucketPolicyCommand,
  GetBucketVersioningCommand,
  GetPublicAccessBlockCommand,
  HeadBucketCommand,
  S3Client,
} from '@aws-sdk/client-s3';
import { AssumeRoleCommand, GetCallerIdentityCommand, STSClient } from '@aws-sdk/client-sts';
import { CloudFormationClient, DescribeStacksCommand } from '@aws-sdk/client-cloudformation';
import { mockClient } from 'aws-sdk-client-mock';
import { INFRASTRUCTURE_MODULES } from '../../scripts/integration-test/checks';
import { runIntegrationTest } from '../../scripts/integration-test/cli';
import type { Clock } from '../../scripts/integration-test/runner';

const s3 = mockClient(S3Client);
const ec2 = mockClient(EC2Client);
const sts = mockClient(STSClient);
const cloudFormation = mockClient(CloudFormationClient);

const KEY_ARN = 'arn:aws:kms:eu-west-1:222222222222:key/11111111-2222-3333-4444-555555555555';
const ROLE_ARN = 'arn:aws:iam::222222222222:role/dp-dev-integration-test';
const BUCKETS = {
  landing: 'dp-dev-landing-bucket',
  curated: 'dp-dev-curated-bucket',
  logs: 'dp-dev-logs-bucket',
  artifacts: 'dp-dev-artifacts-bucket',
};

/** The environment variables the pipeline step sets from the stage outputs. */
function stageEnv(overrides: Record<string, string | undefined> = {}): Record<string, string | undefined> {
  return {
    TARGET_REGION: 'eu-west-1',
    KMS_KEY_ARN: KEY_ARN,
    VPC_ID: 'vpc-0123456789abcdef0',
    LANDING_BUCKET_NAME: BUCKETS.landing,
    CURATED_BUCKET_NAME: BUCKETS.curated,
    LOGS_BUCKET_NAME: BUCKETS.logs,
    ARTIFACTS_BUCKET_NAME: BUCKETS.artifacts,
    ...overrides,
  };
}

const tlsOnlyPolicy = (bucket: string) =>
  JSON.stringify({
    Version: '2012-10-17',
    Statement: [
      {
        Effect: 'Deny',
        Principal: { AWS: '*' },
        Action: 's3:*',
        Resource: [`arn:aws:s3:::${bucket}`, `arn:aws:s3:::${bucket}/*`],
        Condition: { Bool: { 'aws:SecureTransport': 'false' } },
      },
    ],
  });

/** A correctly deployed environment. Individual tests then break one thing. */
function mockHealthyEnvironment(): void {
  s3.on(HeadBucketCommand).resolves({});
  s3.on(GetBucketEncryptionCommand).resolves({
    ServerSideEncryptionConfiguration: {
      Rules: [
        {
          ApplyServerSideEncryptionByDefault: { SSEAlgorithm: 'aws:kms', KMSMasterKeyID: KEY_ARN },
          BucketKeyEnabled: true,
        },
      ],
    },
  });
  s3.on(GetBucketEncryptionCommand, { Bucket: BUCKETS.logs }).resolves({
    ServerSideEncryptionConfiguration: { Rules: [{ ApplyServerSideEncryptionByDefault: { SSEAlgorithm: 'AES256' } }] },
  });
  for (const bucket of Object.values(BUCKETS)) {
    s3.on(GetBucketPolicyCommand, { Bucket: bucket }).resolves({ Policy: tlsOnlyPolicy(bucket) });
  }
  s3.on(GetPublicAccessBlockCommand).resolves({
    PublicAccessBlockConfiguration: {
      BlockPublicAcls: true,
      IgnorePublicAcls: true,
      BlockPublicPolicy: true,
      RestrictPublicBuckets: true,
    },
  });
  s3.on(GetBucketVersioningCommand).resolves({ Status: 'Enabled' });
  ec2
    .on(DescribeVpcsCommand)
    .resolves({ Vpcs: [{ VpcId: 'vpc-0123456789abcdef0', State: 'available', CidrBlock: '10.10.0.0/16' }] });
  ec2.on(DescribeVpcEndpointsCommand).resolves({
    VpcEndpoints: [{ VpcEndpointId: 'vpce-1', State: 'Available', RouteTableIds: ['rtb-1', 'rtb-2'] }],
  });
  ec2.on(DescribeFlowLogsCommand).resolves({
    FlowLogs: [
      {
        FlowLogId: 'fl-1',
        FlowLogStatus: 'ACTIVE',
        DeliverLogsStatus: 'SUCCESS',
        TrafficType: 'ALL',
        LogDestinationType: 'cloud-watch-logs',
      },
    ],
  });
  sts.on(GetCallerIdentityCommand).resolves({
    Account: '222222222222',
    Arn: 'arn:aws:sts::222222222222:assumed-role/dp-dev-integration-test/integration-test-dev',
  });
  sts.on(AssumeRoleCommand).resolves({
    Credentials: {
      AccessKeyId: 'ASIAEXAMPLEASSUMED',
      SecretAccessKey: 'secret-of-the-assumed-role',
      SessionToken: 'session-token',
      Expiration: new Date('2030-01-01T00:00:00Z'),
    },
  });
}

/** A clock whose sleeps take no real time, so bounded waits can be exercised instantly. */
function fakeClock(): Clock {
  let now = 0;
  return {
    now: () => now,
    sleep: async (ms) => {
      now += ms;
    },
  };
}

async function run(argv: string[], env = stageEnv()) {
  const lines: string[] = [];
  const exitCode = await runIntegrationTest({
    argv,
    env,
    print: (line) => lines.push(line),
    // The infrastructure modules; the data-path module has its own tests (integration-test-data-path.test.ts).
    modules: INFRASTRUCTURE_MODULES,
    clock: fakeClock(),
    waitTimeoutMs: 60_000,
    pollIntervalMs: 5_000,
  });
  const output = lines.join('\n');
  const row = (check: string) => output.split('\n').find((line) => line.startsWith(`${check}  `)) ?? '';
  return { exitCode, output, row };
}

beforeEach(() => {
  s3.reset();
  ec2.reset();
  sts.reset();
  cloudFormation.reset();
  mockHealthyEnvironment();
});

describe('integration test: healthy environment', () => {
  test('passes every storage and network check and exits 0', async () => {
    const { exitCode, output, row } = await run(['--env', 'dev']);
    expect(exitCode).toBe(0);
    expect(output).toMatch(/^CHECK +RESULT +MS +DETAIL$/m);
    expect(output).toContain('PASSED: all 21 checks passed for dp-dev');
    expect(output).not.toMatch(/\bFAIL\b/);
    expect(row('storage/landing encryption')).toMatch(/PASS .*SSE-KMS with the platform key, bucket key on/);
    expect(row('storage/logs encryption')).toMatch(/PASS .*SSE-S3/);
    expect(row('storage/curated versioning')).toMatch(/PASS/);
    expect(row('storage/logs versioning')).toBe('');
    expect(row('network/s3 gateway endpoint')).toMatch(/PASS .*vpce-1 on 2 route table\(s\)/);
    expect(row('network/flow logs')).toMatch(/PASS .*fl-1/);
  });

  test('asks EC2 for the S3 gateway endpoint of the VPC in the target region', async () => {
    await run(['--env', 'dev']);
    expect(ec2.commandCalls(DescribeVpcEndpointsCommand)[0].args[0].input.Filters).toEqual(
      expect.arrayContaining([
        { Name: 'vpc-id', Values: ['vpc-0123456789abcdef0'] },
        { Name: 'service-name', Values: ['com.amazonaws.eu-west-1.s3'] },
        { Name: 'vpc-endpoint-type', Values: ['Gateway'] },
      ]),
    );
  });

  test('runs only the modules named by --only, needing only their outputs', async () => {
    const { exitCode, output } = await run(['--env', 'dev', '--only', 'network'], { VPC_ID: 'vpc-0123456789abcdef0' });
    expect(exitCode).toBe(0);
    expect(output).toContain('PASSED: all 3 checks passed for dp-dev');
    expect(s3.calls()).toHaveLength(0);
  });
});

describe('integration test: credentials', () => {
  test("uses the caller's credentials when INTEGRATION_TEST_ROLE_ARN is not set", async () => {
    const { exitCode, output } = await run(['--env', 'dev']);
    expect(exitCode).toBe(0);
    expect(sts.commandCalls(AssumeRoleCommand)).toHaveLength(0);
    expect(output).toContain("using the caller's credentials");
  });

  test('assumes INTEGRATION_TEST_ROLE_ARN when set and calls AWS with the assumed credentials', async () => {
    const { exitCode, output } = await run(['--env', 'dev'], stageEnv({ INTEGRATION_TEST_ROLE_ARN: ROLE_ARN }));
    expect(exitCode).toBe(0);
    expect(output).toContain(`using assumed role ${ROLE_ARN}`);
    const assumeCalls = sts.commandCalls(AssumeRoleCommand);
    expect(assumeCalls).toHaveLength(1);
    expect(assumeCalls[0].args[0].input).toMatchObject({ RoleArn: ROLE_ARN, RoleSessionName: 'integration-test-dev' });

    const client = s3.call(0).thisValue as S3Client;
    const credentials = await (client.config.credentials as () => Promise<{ accessKeyId: string }>)();
    expect(credentials.accessKeyId).toBe('ASIAEXAMPLEASSUMED');
  });

  test('fails before any check when the role cannot be assumed, naming the role and the fix', async () => {
    sts
      .on(AssumeRoleCommand)
      .rejects(Object.assign(new Error('not authorized to perform sts:AssumeRole'), { name: 'AccessDenied' }));
    const { exitCode, output } = await run(['--env', 'dev'], stageEnv({ INTEGRATION_TEST_ROLE_ARN: ROLE_ARN }));
    expect(exitCode).toBe(2);
    expect(output).toContain(`Cannot assume the integration-test role ${ROLE_ARN}: AccessDenied`);
    expect(output).toContain('Fix:');
    expect(s3.calls()).toHaveLength(0);
  });
});

describe('integration test: caller identity', () => {
  test('fails before any check when the credentials belong to another account', async () => {
    sts.on(GetCallerIdentityCommand).resolves({ Account: '999999999999', Arn: 'arn:aws:iam::999999999999:user/alice' });
    const { exitCode, output } = await run(['--env', 'dev']);
    expect(exitCode).toBe(2);
    expect(output).toContain(
      'The credentials are for account 999999999999 (arn:aws:iam::999999999999:user/alice), but dp-dev is deployed in 222222222222. Fix: use credentials of account 222222222222',
    );
    expect(s3.calls()).toHaveLength(0);
  });

  test('fails before any check when there are no credentials at all', async () => {
    sts
      .on(GetCallerIdentityCommand)
      .rejects(
        Object.assign(new Error('Could not load credentials from any providers'), { name: 'CredentialsProviderError' }),
      );
    const { exitCode, output } = await run(['--env', 'dev']);
    expect(exitCode).toBe(2);
    expect(output).toContain(
      'No usable AWS credentials (CredentialsProviderError: Could not load credentials from any providers). Fix:',
    );
  });

  test('names the identity it runs as', async () => {
    const { output } = await run(['--env', 'dev']);
    expect(output).toContain('as arn:aws:sts::222222222222:assumed-role/dp-dev-integration-test/integration-test-dev');
  });
});

describe('integration test: cannot start', () => {
  test('fails naming every missing stage output variable', async () => {
    const { exitCode, output } = await run(['--env', 'dev'], stageEnv({ LANDING_BUCKET_NAME: undefined, VPC_ID: '' }));
    expect(exitCode).toBe(2);
    expect(output).toMatch(
      /Missing environment variables LANDING_BUCKET_NAME, VPC_ID \(stage outputs LandingBucketName, VpcId of dp-dev\)/,
    );
    expect(output).toContain('Fix:');
    expect(s3.calls()).toHaveLength(0);
    expect(ec2.calls()).toHaveLength(0);
  });

  test('fails without --env, showing the usage', async () => {
    const { exitCode, output } = await run([]);
    expect(exitCode).toBe(2);
    expect(output).toContain('--env is required. Usage: npx tsx scripts/integration-test.ts --env <environment>');
  });

  test('fails on an unknown environment, listing the known ones', async () => {
    const { exitCode, output } = await run(['--env', 'staging']);
    expect(exitCode).toBe(2);
    expect(output).toContain('Unknown environment "staging". Fix: use one of dev, test, prod');
  });

  test('fails on an unknown --only module', async () => {
    const { exitCode, output } = await run(['--env', 'dev', '--only', 'storage,dns']);
    expect(exitCode).toBe(2);
    expect(output).toContain('--only names unknown module(s) dns. Fix: use storage, network');
  });
});

describe('integration test: failing checks', () => {
  test('fails when a bucket does not exist, and names the check in the summary', async () => {
    s3.on(HeadBucketCommand, { Bucket: BUCKETS.curated }).rejects(
      Object.assign(new Error('Not Found'), { name: 'NotFound', $metadata: { httpStatusCode: 404 } }),
    );
    const { exitCode, output, row } = await run(['--env', 'dev']);
    expect(exitCode).toBe(1);
    expect(row('storage/curated exists')).toMatch(/FAIL .*bucket dp-dev-curated-bucket does not exist/);
    expect(row('storage/landing exists')).toMatch(/PASS/);
    expect(output).toMatch(/FAILED: 1 of 21 checks failed for dp-dev: storage\/curated exists$/m);
  });

  test('fails when a zone bucket is encrypted with another key', async () => {
    s3.on(GetBucketEncryptionCommand, { Bucket: BUCKETS.landing }).resolves({
      ServerSideEncryptionConfiguration: {
        Rules: [{ ApplyServerSideEncryptionByDefault: { SSEAlgorithm: 'aws:kms' } }],
      },
    });
    const { exitCode, row } = await run(['--env', 'dev']);
    expect(exitCode).toBe(1);
    expect(row('storage/landing encryption')).toMatch(
      /FAIL .*expected the platform key .* found the AWS managed key aws\/s3/,
    );
  });

  test('fails when a zone bucket is not encrypted with KMS', async () => {
    s3.on(GetBucketEncryptionCommand, { Bucket: BUCKETS.artifacts }).resolves({
      ServerSideEncryptionConfiguration: {
        Rules: [{ ApplyServerSideEncryptionByDefault: { SSEAlgorithm: 'AES256' } }],
      },
    });
    const { row } = await run(['--env', 'dev']);
    expect(row('storage/artifacts encryption')).toMatch(/FAIL .*expected SSE-KMS with .*, found AES256/);
  });

  test('fails when the logs bucket is not SSE-S3', async () => {
    s3.on(GetBucketEncryptionCommand, { Bucket: BUCKETS.logs }).resolves({
      ServerSideEncryptionConfiguration: {
        Rules: [{ ApplyServerSideEncryptionByDefault: { SSEAlgorithm: 'aws:kms', KMSMasterKeyID: KEY_ARN } }],
      },
    });
    const { row } = await run(['--env', 'dev']);
    expect(row('storage/logs encryption')).toMatch(/FAIL .*expected SSE-S3 .* found aws:kms/);
  });

  test('fails when a bucket policy does not deny insecure transport', async () => {
    s3.on(GetBucketPolicyCommand, { Bucket: BUCKETS.landing }).resolves({
      Policy: JSON.stringify({ Statement: [{ Effect: 'Allow', Principal: '*', Action: 's3:GetObject' }] }),
    });
    const { row } = await run(['--env', 'dev']);
    expect(row('storage/landing TLS-only policy')).toMatch(
      /FAIL .*no Deny of s3:\* for everyone when aws:SecureTransport is false/,
    );
  });

  test('fails when a bucket has no policy at all', async () => {
    s3.on(GetBucketPolicyCommand, { Bucket: BUCKETS.logs }).rejects(
      Object.assign(new Error('The bucket policy does not exist'), { name: 'NoSuchBucketPolicy' }),
    );
    const { row } = await run(['--env', 'dev']);
    expect(row('storage/logs TLS-only policy')).toMatch(/FAIL .*bucket dp-dev-logs-bucket has no bucket policy/);
  });

  test('fails when public access is not fully blocked, naming the settings that are off', async () => {
    s3.on(GetPublicAccessBlockCommand, { Bucket: BUCKETS.curated }).resolves({
      PublicAccessBlockConfiguration: { BlockPublicAcls: true, IgnorePublicAcls: true, BlockPublicPolicy: false },
    });
    const { row } = await run(['--env', 'dev']);
    expect(row('storage/curated public access block')).toMatch(/FAIL .*BlockPublicPolicy, RestrictPublicBuckets off/);
  });

  test('fails when versioning of landing is suspended', async () => {
    s3.on(GetBucketVersioningCommand, { Bucket: BUCKETS.landing }).resolves({ Status: 'Suspended' });
    const { row } = await run(['--env', 'dev']);
    expect(row('storage/landing versioning')).toMatch(/FAIL .*expected versioning Enabled, found Suspended/);
  });

  test('reports an AWS error (e.g. access denied) as a failed check and carries on', async () => {
    s3.on(GetBucketVersioningCommand, { Bucket: BUCKETS.curated }).rejects(
      Object.assign(new Error('Access Denied'), { name: 'AccessDenied' }),
    );
    const { exitCode, row } = await run(['--env', 'dev']);
    expect(exitCode).toBe(1);
    expect(row('storage/curated versioning')).toMatch(/FAIL .*AccessDenied: Access Denied/);
    expect(row('network/flow logs')).toMatch(/PASS/);
  });

  test('fails when the VPC does not exist', async () => {
    ec2.on(DescribeVpcsCommand).rejects(
      Object.assign(new Error("The vpc ID 'vpc-0123456789abcdef0' does not exist"), {
        name: 'InvalidVpcID.NotFound',
      }),
    );
    const { row } = await run(['--env', 'dev']);
    expect(row('network/vpc available')).toMatch(/FAIL .*VPC vpc-0123456789abcdef0 does not exist/);
  });

  test('fails when the VPC has no S3 gateway endpoint', async () => {
    ec2.on(DescribeVpcEndpointsCommand).resolves({ VpcEndpoints: [] });
    const { row } = await run(['--env', 'dev']);
    expect(row('network/s3 gateway endpoint')).toMatch(
      /FAIL .*has no gateway endpoint for com\.amazonaws\.eu-west-1\.s3/,
    );
  });

  test('waits for a pending endpoint to become available', async () => {
    ec2
      .on(DescribeVpcEndpointsCommand)
      .resolvesOnce({ VpcEndpoints: [{ VpcEndpointId: 'vpce-1', State: 'Pending' }] })
      .resolves({ VpcEndpoints: [{ VpcEndpointId: 'vpce-1', State: 'Available', RouteTableIds: ['rtb-1'] }] });
    const { row } = await run(['--env', 'dev']);
    expect(row('network/s3 gateway endpoint')).toMatch(/PASS .*vpce-1 on 1 route table\(s\)/);
    expect(ec2.commandCalls(DescribeVpcEndpointsCommand)).toHaveLength(2);
  });

  test('fails with a clear timeout message when an endpoint stays pending', async () => {
    ec2.on(DescribeVpcEndpointsCommand).resolves({ VpcEndpoints: [{ VpcEndpointId: 'vpce-1', State: 'Pending' }] });
    const { exitCode, row } = await run(['--env', 'dev']);
    expect(exitCode).toBe(1);
    expect(row('network/s3 gateway endpoint')).toMatch(
      /FAIL .*timed out after 60 s waiting for the S3 gateway endpoint of vpc-0123456789abcdef0 to be available \(last seen: state Pending\)/,
    );
  });

  test('fails when the VPC has no flow logs', async () => {
    ec2.on(DescribeFlowLogsCommand).resolves({ FlowLogs: [] });
    const { row } = await run(['--env', 'dev']);
    expect(row('network/flow logs')).toMatch(/FAIL .*VPC vpc-0123456789abcdef0 has no flow logs/);
  });

  test('fails when flow logs cannot be delivered', async () => {
    ec2.on(DescribeFlowLogsCommand).resolves({
      FlowLogs: [
        {
          FlowLogId: 'fl-1',
          FlowLogStatus: 'ACTIVE',
          DeliverLogsStatus: 'FAILED',
          DeliverLogsErrorMessage: 'Access error',
        },
      ],
    });
    const { row } = await run(['--env', 'dev']);
    expect(row('network/flow logs')).toMatch(/FAIL .*flow log fl-1 cannot deliver: Access error/);
  });
});

describe('integration test: --from-stacks (runs by hand)', () => {
  const stack = (StackName: string, outputs: Record<string, string>) => ({
    StackName,
    StackStatus: 'UPDATE_COMPLETE' as const,
    CreationTime: new Date('2026-01-01T00:00:00Z'),
    Outputs: Object.entries(outputs).map(([OutputKey, OutputValue]) => ({ OutputKey, OutputValue })),
  });

  beforeEach(() => {
    cloudFormation.on(DescribeStacksCommand).resolves({
      Stacks: [
        stack('dp-dev-network', { VpcId: 'vpc-0123456789abcdef0' }),
        stack('dp-dev-storage', {
          KmsKeyArn: KEY_ARN,
          LandingBucketName: BUCKETS.landing,
          CuratedBucketName: BUCKETS.curated,
          LogsBucketName: BUCKETS.logs,
          ArtifactsBucketName: BUCKETS.artifacts,
        }),
        stack('dp-dev-iam', { IntegrationTestRoleArn: ROLE_ARN }),
        stack('dp-test-storage', { LandingBucketName: 'the-test-environment-bucket' }),
      ],
    });
  });

  test("reads the outputs from the environment's deployed stacks, with the caller's credentials", async () => {
    const { exitCode, output } = await run(['--env', 'dev', '--from-stacks'], { TARGET_REGION: 'eu-west-1' });
    expect(exitCode).toBe(0);
    expect(output).toContain('PASSED: all 21 checks passed for dp-dev');
    expect(s3.commandCalls(HeadBucketCommand).map((call) => call.args[0].input.Bucket)).toEqual(Object.values(BUCKETS));
    expect(sts.commandCalls(AssumeRoleCommand)).toHaveLength(0);
  });

  test('asks for each stack of the environment by name, never for every stack of the account', async () => {
    // The integration-test role may describe `dp-dev-*` stacks only: a DescribeStacks without a name needs `*`.
    cloudFormation
      .on(DescribeStacksCommand, { StackName: 'dp-dev-catalog' })
      .rejects(Object.assign(new Error('Stack with id dp-dev-catalog does not exist'), { name: 'ValidationError' }));
    await run(['--env', 'dev', '--from-stacks', '--only', 'network'], {});
    expect(cloudFormation.commandCalls(DescribeStacksCommand).map((call) => call.args[0].input.StackName)).toEqual([
      'dp-dev-storage',
      'dp-dev-network',
      'dp-dev-iam',
      'dp-dev-data-mart',
      'dp-dev-catalog',
      'dp-dev-orchestration',
      'dp-dev-api',
      'dp-dev-operations',
    ]);
  });

  test('lets an environment variable override a stack output', async () => {
    await run(['--env', 'dev', '--from-stacks', '--only', 'network'], { VPC_ID: 'vpc-override' });
    expect(ec2.commandCalls(DescribeVpcsCommand)[0].args[0].input.VpcIds).toEqual(['vpc-override']);
  });

  test('fails when the environment has no deployed stacks', async () => {
    cloudFormation.on(DescribeStacksCommand).resolves({ Stacks: [stack('other-app', { VpcId: 'vpc-9' })] });
    const { exitCode, output } = await run(['--env', 'dev', '--from-stacks'], {});
    expect(exitCode).toBe(2);
    expect(output).toContain('No CloudFormation stack named dp-dev-* in eu-west-1. Fix: deploy the environment first');
  });

  test('fails naming the outputs the stacks do not provide', async () => {
    cloudFormation.on(DescribeStacksCommand).resolves({ Stacks: [stack('dp-dev-network', { VpcId: 'vpc-1' })] });
    const { exitCode, output } = await run(['--env', 'dev', '--from-stacks'], {});
    expect(exitCode).toBe(2);
    expect(output).toMatch(/Missing environment variables KMS_KEY_ARN, LANDING_BUCKET_NAME, CURATED_BUCKET_NAME/);
  });
});
