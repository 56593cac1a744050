import { IamStack } from '../../lib/stacks/iam-stack';
import { StorageStack } from '../../lib/stacks/storage-stack';
import { exampleConfig, exampleEnvironment } from '../helpers/app';
import { formatViolations, nagApp, nagViolations } from '../helpers/nag';

describe.each(['dev', 'prod'] as const)('IamStack nag (%s)', (name) => {
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
  const violations = formatViolations(nagViolations(app, stack));

  it('has no AwsSolutions errors', () => {
    expect(violations.filter((v) => v.startsWith('error'))).toEqual([]);
  });

  it('has no warnings either (cdk-nag or CloudFormation validation)', () => {
    expect(violations).toEqual([]);
  });
});
