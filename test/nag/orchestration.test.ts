import { OrchestrationStack } from '../../lib/stacks/orchestration-stack';
import { exampleConfig } from '../helpers/app';
import { formatViolations, nagApp, nagViolations } from '../helpers/nag';
import { dataMart as buildDataMart, foundation } from '../integration/helpers/foundation';

test.each(['dev', 'prod'] as const)('Orchestration stack (%s) has no cdk-nag errors', (envName) => {
  const app = nagApp();
  const base = foundation(app, envName);
  const dataMart = buildDataMart(app, base);
  const stack = new OrchestrationStack(app, 'Orchestration', {
    ...base.common,
    env: base.env,
    datasets: exampleConfig().datasets,
    storage: base.storage,
    curateJobName: `${base.prefix}-curate`,
    dataMart,
  });
  const all = formatViolations(nagViolations(app, stack));
  expect(all.filter((v) => v.startsWith('error'))).toEqual([]);
  expect(all).toEqual([]);
});
