import type { App } from 'aws-cdk-lib';
import type { AppConfig } from '../../config/schema';
import type { PipelineStack } from '../../lib/pipeline/pipeline-stack';
import { addPipelines } from '../../lib/pipeline/pipelines';
import { exampleConfig } from '../helpers/app';
import { formatViolations, type NagViolation } from '../helpers/nag';
import { flaggedApp } from '../lib/pipeline/flagged-app';
import { synthAndReadViolations } from '../lib/pipeline/nag-report';
import { stageDouble } from '../lib/pipeline/stage-double';
import { createDataPlatformStage } from '../../stages/data-platform-stage';

/** Violations inside the pipeline stacks, leaving out the deployed stages' stacks (each has its own nag test). */
function pipelineViolations(app: App, pipelines: readonly PipelineStack[]): NagViolation[] {
  const stagePaths = pipelines.flatMap((pipeline) => pipeline.stages.map((stage) => `${stage.node.path}/`));
  return synthAndReadViolations(app).filter(
    (violation) => !stagePaths.some((stagePath) => violation.path.startsWith(stagePath)),
  );
}

const errorsOf = (violations: NagViolation[]) => formatViolations(violations).filter((v) => v.startsWith('error'));

describe('cdk-nag: pipeline stacks', () => {
  test('the example configuration (one pipeline per environment, real stages) has no errors', () => {
    const app = flaggedApp({ nag: true });
    const pipelines = addPipelines(app, exampleConfig(), createDataPlatformStage);
    expect(errorsOf(pipelineViolations(app, pipelines))).toEqual([]);
  });

  test('a promotion pipeline from a created CodeCommit repository has no errors', () => {
    const app = flaggedApp({ nag: true });
    const example = structuredClone(exampleConfig());
    const config: AppConfig = {
      ...example,
      platform: {
        ...example.platform,
        source: { type: 'codecommit', repositoryName: 'data-platform', create: true },
        pipeline: { mode: 'promotion', promotionBranch: 'main', environmentOrder: ['dev', 'test', 'prod'] },
      },
    };
    const pipelines = addPipelines(app, config, stageDouble);
    expect(errorsOf(pipelineViolations(app, pipelines))).toEqual([]);
  });

  test('a pipeline deploying to another region (cross-region replication) has no errors', () => {
    const app = flaggedApp({ nag: true });
    const example = structuredClone(exampleConfig());
    const dev = example.environments[0];
    const devInFrankfurt = {
      ...dev,
      region: 'eu-central-1' as const,
      network: { ...dev.network, availabilityZones: ['eu-central-1a', 'eu-central-1b'] },
    };
    const pipelines = addPipelines(app, { ...example, environments: [devInFrankfurt] }, stageDouble);
    expect(app.node.children.map((child) => child.node.id)).toContain('cross-region-stack-111111111111:eu-central-1');
    expect(errorsOf(pipelineViolations(app, pipelines))).toEqual([]);
  });
});
