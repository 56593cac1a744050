import { CatalogStack } from '../../lib/stacks/catalog-stack';
import { exampleConfig } from '../helpers/app';
import { formatViolations, nagApp, nagViolations } from '../helpers/nag';
import { foundation } from '../integration/helpers/foundation';

// dev has the landing crawler on, prod has it off: both shapes are checked, with the table maintenance nested stacks
// and the query grant the integration-test role gets.
test.each(['dev', 'prod'] as const)('Catalog stack (%s) has no cdk-nag findings', (envName) => {
  const app = nagApp();
  const base = foundation(app, envName);
  const stack = new CatalogStack(app, 'Catalog', {
    ...base.common,
    env: base.env,
    datasets: exampleConfig().datasets,
    storage: base.storage,
    dataAnalystRole: base.iam.dataAnalystRole,
  });
  stack.grantCuratedQuery('IntegrationTestQueryPolicy', base.iam.integrationTestRole);
  const findings = formatViolations(nagViolations(app, stack));
  expect(findings.filter((v) => v.startsWith('error'))).toEqual([]);
  expect(findings).toEqual([]);
});
