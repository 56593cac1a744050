import { AwsClients, type CheckContext, output } from '../../scripts/integration-test/context';
import { MissingOutputsError, outputIdOf, readStageOutputs } from '../../scripts/integration-test/outputs';
import {
  type Check,
  CheckFailedError,
  type CheckResult,
  type Clock,
  formatTable,
  runChecks,
  waitFor,
} from '../../scripts/integration-test/runner';

function context(overrides: Partial<CheckContext> = {}): CheckContext {
  let now = 0;
  const clock: Clock = {
    now: () => now,
    sleep: async (ms) => {
      now += ms;
    },
  };
  return {
    environment: 'dev',
    region: 'eu-west-1',
    outputs: { VPC_ID: 'vpc-1' },
    clients: new AwsClients('eu-west-1'),
    clock,
    waitTimeoutMs: 30_000,
    pollIntervalMs: 10_000,
    ...overrides,
  };
}

describe('runChecks', () => {
  test('runs every check in order, records pass and fail, and carries on after a failure', async () => {
    const ran: string[] = [];
    const checks: Check[] = [
      {
        name: 'a/first',
        run: async () => {
          ran.push('first');
          return 'fine';
        },
      },
      {
        name: 'a/second',
        run: async () => {
          ran.push('second');
          throw new CheckFailedError('expected X, found Y');
        },
      },
      {
        name: 'a/third',
        run: async () => {
          ran.push('third');
          throw Object.assign(new Error('User is not authorized\n  to perform s3:GetBucketPolicy'), {
            name: 'AccessDenied',
          });
        },
      },
    ];
    const results = await runChecks(checks, context());
    expect(ran).toEqual(['first', 'second', 'third']);
    expect(results.map(({ name, passed, detail }) => ({ name, passed, detail }))).toEqual([
      { name: 'a/first', passed: true, detail: 'fine' },
      { name: 'a/second', passed: false, detail: 'expected X, found Y' },
      { name: 'a/third', passed: false, detail: 'AccessDenied: User is not authorized to perform s3:GetBucketPolicy' },
    ]);
  });

  test('fails a check that does not finish within its timeout, with a clear message', async () => {
    const hanging: Check = { name: 'a/hangs', run: () => new Promise<string>(() => undefined), timeoutMs: 20 };
    const [result] = await runChecks([hanging], context());
    expect(result).toMatchObject({ passed: false, detail: 'a/hangs did not finish within 20 ms' });
  });

  test('reports each result as soon as it is known', async () => {
    const seen: string[] = [];
    await runChecks(
      [
        { name: 'a/one', run: async () => 'ok' },
        { name: 'a/two', run: async () => 'ok' },
      ],
      context(),
      { onResult: (result) => seen.push(result.name) },
    );
    expect(seen).toEqual(['a/one', 'a/two']);
  });
});

describe('waitFor', () => {
  test('polls until the probe returns a value', async () => {
    const states = ['pending', 'pending', 'available'];
    let polls = 0;
    const value = await waitFor(context(), 'the thing', async () => {
      const state = states[polls++];
      return { value: state === 'available' ? 'ready' : undefined, state };
    });
    expect(value).toBe('ready');
    expect(polls).toBe(3);
  });

  test('fails after the bounded wait, naming what it waited for and the last state seen', async () => {
    let polls = 0;
    await expect(
      waitFor(context(), 'endpoint vpce-1 to be available', async () => {
        polls++;
        return { state: 'state pending' };
      }),
    ).rejects.toThrow('timed out after 30 s waiting for endpoint vpce-1 to be available (last seen: state pending)');
    // 30 s with a 10 s interval: polls at 0, 10, 20 and 30 s.
    expect(polls).toBe(4);
  });
});

describe('formatTable', () => {
  test('prints aligned columns: check, PASS/FAIL, milliseconds, detail', () => {
    const results: CheckResult[] = [
      { name: 'storage/landing exists', passed: true, durationMs: 12.4, detail: 'dp-dev-landing' },
      { name: 'network/flow logs', passed: false, durationMs: 1503, detail: 'VPC vpc-1 has no flow logs' },
    ];
    expect(formatTable(results).split('\n')).toEqual([
      'CHECK                   RESULT    MS  DETAIL',
      '----------------------  ------  ----  ------',
      'storage/landing exists  PASS      12  dp-dev-landing',
      'network/flow logs       FAIL    1503  VPC vpc-1 has no flow logs',
    ]);
  });
});

describe('stage outputs', () => {
  test('reads the required variables, trimmed', () => {
    expect(readStageOutputs({ VPC_ID: ' vpc-1 ', OTHER: 'x' }, ['VPC_ID'], 'dp-dev')).toEqual({ VPC_ID: 'vpc-1' });
  });

  test('fails naming the single missing variable and its stage output', () => {
    expect(() => readStageOutputs({}, ['KMS_KEY_ARN'], 'dp-dev')).toThrow(
      new MissingOutputsError(['KMS_KEY_ARN'], 'dp-dev'),
    );
    expect(() => readStageOutputs({}, ['KMS_KEY_ARN'], 'dp-dev')).toThrow(
      /^Missing environment variable KMS_KEY_ARN \(stage output KmsKeyArn of dp-dev\)\. Fix: /,
    );
  });

  test('maps variable names back to CfnOutput ids', () => {
    expect(outputIdOf('INTEGRATION_TEST_ROLE_ARN')).toBe('IntegrationTestRoleArn');
    expect(outputIdOf('VPC_ID')).toBe('VpcId');
  });

  test('fails when a check reads an output its module did not declare', () => {
    expect(() => output(context(), 'LANDING_BUCKET_NAME')).toThrow(
      "Stage output LANDING_BUCKET_NAME was read but not declared in the module's requiredOutputs. Fix: declare it",
    );
  });
});

describe('AwsClients', () => {
  test('creates one client per class, in the target region', async () => {
    class FakeClient {
      constructor(readonly config: { region: string }) {}
    }
    const clients = new AwsClients('eu-central-1');
    const first = clients.get(FakeClient);
    expect(clients.get(FakeClient)).toBe(first);
    expect(first.config.region).toBe('eu-central-1');
  });
});
