import { formatViolations, nagApp, nagViolations } from '../helpers/nag';
import { buildApiStack } from '../lib/assets/api/api-fixture';

describe('Api stack passes cdk-nag AwsSolutions', () => {
  test.each(['dev', 'test', 'prod'] as const)('with the %s environment config', (envName) => {
    const app = nagApp();
    const stack = buildApiStack(app, envName);
    const errors = formatViolations(nagViolations(app, stack)).filter((v) => v.startsWith('error'));
    expect(errors).toEqual([]);
  });
});
