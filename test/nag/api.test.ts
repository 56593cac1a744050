import { formatViolations, nagApp, nagViolations } from '../helpers/nag';
import { buildApiStack, generatedDatasets } from '../lib/assets/api/api-fixture';

describe('Api stack passes cdk-nag AwsSolutions', () => {
  test.each(['dev', 'test', 'prod'] as const)('with the %s environment config', (envName) => {
    const app = nagApp();
    const stack = buildApiStack(app, envName);
    const errors = formatViolations(nagViolations(app, stack)).filter((v) => v.startsWith('error'));
    expect(errors).toEqual([]);
  });
});

describe('Api stack with 100 datasets passes cdk-nag AwsSolutions', () => {
  test('every per-dataset grant, split over managed policies, is acknowledged on its policy', () => {
    const app = nagApp();
    const stack = buildApiStack(app, 'dev', {}, { datasets: generatedDatasets(100) });
    const errors = formatViolations(nagViolations(app, stack)).filter((v) => v.startsWith('error'));
    expect(errors).toEqual([]);
  });
});
