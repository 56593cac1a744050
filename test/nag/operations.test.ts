import type { Stack } from 'aws-cdk-lib';
import { DataPlatformStage } from '../../stages/data-platform-stage';
import { exampleConfig } from '../helpers/app';
import { formatViolations, nagApp, nagViolations } from '../helpers/nag';

test.each(['dev', 'prod'] as const)('Operations stack (%s) has no cdk-nag errors or warnings', (envName) => {
  const app = nagApp();
  const config = exampleConfig();
  const environment = config.environments.find((e) => e.name === envName)!;
  // The whole stage: the stack reads the others' queues, topic, API and streams.
  const stage = new DataPlatformStage(app, 'Stage', {
    platform: config.platform,
    environment,
    datasets: config.datasets,
  });
  const operations = stage.node.findChild('Operations') as Stack;
  const all = formatViolations(nagViolations(app, operations));
  expect(all).toEqual([]);
});
