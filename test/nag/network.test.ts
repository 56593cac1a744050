import type { EnvironmentConfig } from '../../config/schema';
import { NetworkStack } from '../../lib/stacks/network-stack';
import { StorageStack } from '../../lib/stacks/storage-stack';
import { exampleEnvironment } from '../helpers/app';
import { formatViolations, nagApp, nagViolations } from '../helpers/nag';

function violationsOf(environment: EnvironmentConfig): string[] {
  const app = nagApp();
  const common = {
    prefix: `dp-${environment.name}`,
    environment,
    env: { account: environment.account, region: environment.region },
  };
  const storage = new StorageStack(app, 'Storage', common);
  const stack = new NetworkStack(app, 'Network', { ...common, key: storage.key });
  return formatViolations(nagViolations(app, stack));
}

const dev = exampleEnvironment('dev');
const devWithNat: EnvironmentConfig = { ...dev, network: { ...dev.network, natGateways: 2 } };

describe.each([
  ['dev', dev],
  ['prod', exampleEnvironment('prod')],
  ['dev with two NAT gateways', devWithNat],
] as const)('NetworkStack nag (%s)', (_name, environment) => {
  const violations = violationsOf(environment);

  it('has no AwsSolutions errors', () => {
    expect(violations.filter((v) => v.startsWith('error'))).toEqual([]);
  });

  it('has no warnings either (cdk-nag or CloudFormation validation)', () => {
    expect(violations).toEqual([]);
  });
});
