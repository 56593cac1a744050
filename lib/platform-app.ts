import { type App, Validations } from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';
import type { AppConfig } from '../config/schema';
import type { DeployableStage, PipelineStack, StageFactory } from './pipeline/pipeline-stack';
import { addEnvironmentStages, addPipelines } from './pipeline/pipelines';

/**
 * Everything `bin/` adds to the App: cdk-nag's AWS Solutions checks over the whole app (the synth fails on any
 * unacknowledged error) and, following `platform.delivery.engine`, the delivery pipeline stack(s) holding every
 * environment's stage (`codepipeline`) or the stages themselves (`github-actions`, deployed by the workflows).
 * Kept apart from `bin/` so the full-app test builds exactly what `cdk synth` builds.
 */
export function addPlatform(
  app: App,
  config: AppConfig,
  createStage: StageFactory,
): PipelineStack[] | DeployableStage[] {
  Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
  return config.platform.delivery.engine === 'github-actions'
    ? addEnvironmentStages(app, config, createStage)
    : addPipelines(app, config, createStage);
}
