import { type App, Validations } from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';
import type { AppConfig } from '../config/schema';
import { addPipelines } from './pipeline/pipelines';
import type { PipelineStack } from './pipeline/pipeline-stack';

/**
 * Everything `bin/` adds to the App: cdk-nag's AWS Solutions checks over the whole app (the synth fails on any
 * unacknowledged error) and the delivery pipeline stack(s), which hold every environment's stage.
 * Kept apart from `bin/` so the full-app test builds exactly what `cdk synth` builds.
 */
export function addPlatform(app: App, config: AppConfig): PipelineStack[] {
  Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
  return addPipelines(app, config);
}
