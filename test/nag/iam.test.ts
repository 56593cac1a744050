import { IamStack } from '../../lib/stacks/iam-stack';
import { StorageStack } from '../../lib/stacks/storage-stack';
import { exampleConfig, exampleEnvironment } from '../helpers/app';
import { formatViolations, nagApp, nagViolations } from '../helpers/nag';

describe.each(['dev', 'prod'] as const)('IamStack nag (%s)', (name) => {
  it('has no AwsSolutions errors', () => {
    const app = nagApp();
    const environment = exampleEnvironment(name);
    const common = {
      prefix: `dp-${name}`,
      environment,
      deploymentAccount: exampleConfig().platform.deployment.account,
      env: { account: environment.account, region: environment.region },
    };
    const storage = new StorageStack(app, 'Storage', common);
    const stack = new IamStack(app, 'Iam', { ...common, storage });
    const violations = nagViolations(app, stack);
    expect(formatViolations(violations).filter((v) => v.startsWith('error'))).toEqual([]);
  });
});
