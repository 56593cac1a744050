import type { EnvironmentConfig } from '../../config/schema';
import { StorageStack } from '../../lib/stacks/storage-stack';
import { exampleEnvironment } from '../helpers/app';
import { formatViolations, nagApp, nagViolations } from '../helpers/nag';

function violationsOf(environment: EnvironmentConfig): string[] {
  const app = nagApp();
  const stack = new StorageStack(app, 'Storage', {
    prefix: `dp-${environment.name}`,
    environment,
    env: { account: environment.account, region: environment.region },
  });
  return formatViolations(nagViolations(app, stack));
}

const prod = exampleEnvironment('prod');
const prodWithExistingKey: EnvironmentConfig = {
  ...prod,
  storage: {
    ...prod.storage,
    existingKmsKeyArn: 'arn:aws:kms:eu-west-1:444444444444:key/0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0',
  },
};

describe.each([
  ['dev', exampleEnvironment('dev')],
  ['prod', prod],
  ['prod with an existing key', prodWithExistingKey],
] as const)('StorageStack nag (%s)', (_name, environment) => {
  const violations = violationsOf(environment);

  it('has no AwsSolutions errors', () => {
    expect(violations.filter((v) => v.startsWith('error'))).toEqual([]);
  });

  it('has no warnings either (cdk-nag or CloudFormation validation)', () => {
    expect(violations).toEqual([]);
  });
});
