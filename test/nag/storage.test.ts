import { StorageStack } from '../../lib/stacks/storage-stack';
import { exampleConfig, exampleEnvironment } from '../helpers/app';
import { formatViolations, nagApp, nagViolations } from '../helpers/nag';

describe.each(['dev', 'prod'] as const)('StorageStack nag (%s)', (name) => {
  it('has no AwsSolutions errors', () => {
    const app = nagApp();
    const environment = exampleEnvironment(name);
    const stack = new StorageStack(app, 'Storage', {
      prefix: `dp-${name}`,
      environment,
      deploymentAccount: exampleConfig().platform.deployment.account,
      env: { account: environment.account, region: environment.region },
    });
    const violations = nagViolations(app, stack);
    expect(formatViolations(violations).filter((v) => v.startsWith('error'))).toEqual([]);
  });
});
