/**
 * The foundation stacks (Storage, Iam) of one environment, built the way the stage builds them, for tests of the
 * later stacks (Catalog, Orchestration) that take them as props.
 */
import type { App } from 'aws-cdk-lib';
import { Matcher, MatchResult } from 'aws-cdk-lib/assertions';
import { DataMartStack } from '../../../lib/stacks/data-mart-stack';
import { IamStack } from '../../../lib/stacks/iam-stack';
import { NetworkStack } from '../../../lib/stacks/network-stack';
import { StorageStack } from '../../../lib/stacks/storage-stack';
import { exampleConfig, exampleEnvironment } from '../../helpers/app';

export type EnvironmentName = 'dev' | 'test' | 'prod';

export interface Foundation {
  readonly prefix: string;
  readonly environment: ReturnType<typeof exampleEnvironment>;
  readonly env: { account: string; region: string };
  readonly common: { prefix: string; environment: ReturnType<typeof exampleEnvironment> };
  readonly storage: StorageStack;
  readonly iam: IamStack;
}

export function foundation(app: App, envName: EnvironmentName = 'dev'): Foundation {
  const environment = exampleEnvironment(envName);
  const prefix = `${exampleConfig().platform.prefix}-${envName}`;
  const env = { account: environment.account, region: environment.region };
  const common = { prefix, environment };
  const storage = new StorageStack(app, 'Storage', { ...common, env, stackName: `${prefix}-storage` });
  const iam = new IamStack(app, 'Iam', {
    ...common,
    env,
    stackName: `${prefix}-iam`,
    deploymentAccount: exampleConfig().platform.deployment.account,
    storage,
  });
  return { prefix, environment, env, common, storage, iam };
}

/** The Network and DataMart stacks of the same environment (the Orchestration stack's Data API target and loader). */
export function dataMart(app: App, base: Foundation): DataMartStack {
  const { prefix, env, common, storage } = base;
  const network = new NetworkStack(app, 'Network', {
    ...common,
    env,
    stackName: `${prefix}-network`,
    key: storage.key,
  });
  return new DataMartStack(app, 'DataMart', {
    ...common,
    env,
    stackName: `${prefix}-data-mart`,
    vpc: network.vpc,
    key: storage.key,
    curated: storage.zones.curated,
    datasets: exampleConfig().datasets,
  });
}

/**
 * Matches a value read from another stack of the stage, whichever way CDK references it (`Fn::GetStackOutput` with the
 * flags of cdk.json, `Fn::ImportValue` without): `stackName` is the producing stack, `output` matches the output or
 * export name (e.g. the producing construct's logical id prefix).
 */
export function fromStack(stackName: string, output: RegExp): Matcher {
  return new FromStackMatcher(stackName, output);
}

class FromStackMatcher extends Matcher {
  readonly name = 'fromStack';

  constructor(
    private readonly stackName: string,
    private readonly output: RegExp,
  ) {
    super();
  }

  test(actual: unknown): MatchResult {
    const result = new MatchResult(actual);
    const value = actual as Record<string, unknown> | null;
    const byOutput = value?.['Fn::GetStackOutput'] as { StackName?: string; OutputName?: string } | undefined;
    const byExport = value?.['Fn::ImportValue'];
    const matches = byOutput
      ? byOutput.StackName === this.stackName && this.output.test(byOutput.OutputName ?? '')
      : typeof byExport === 'string' && byExport.startsWith(`${this.stackName}:`) && this.output.test(byExport);
    if (!matches) {
      result.recordFailure({
        matcher: this,
        path: [],
        message: `Expected a reference to an output of ${this.stackName} matching ${this.output}, got ${JSON.stringify(actual)}`,
      });
    }
    return result;
  }
}
