import { NetworkStack } from '../../lib/stacks/network-stack';
import { exampleConfig, exampleEnvironment } from '../helpers/app';
import { formatViolations, nagApp, nagViolations } from '../helpers/nag';

describe.each(['dev', 'prod'] as const)('NetworkStack nag (%s)', (name) => {
  it('has no AwsSolutions errors', () => {
    const app = nagApp();
    const environment = exampleEnvironment(name);
    const stack = new NetworkStack(app, 'Network', {
      prefix: `dp-${name}`,
      environment,
      deploymentAccount: exampleConfig().platform.deployment.account,
      env: { account: environment.account, region: environment.region },
    });
    const errors = formatViolations(nagViolations(app, stack)).filter((v) => v.startsWith('error'));
    expect(errors).toEqual([]);
  });
});
