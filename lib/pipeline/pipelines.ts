/**
 * Adds the delivery pipeline stack(s) to the app, following `platform.pipeline.mode`:
 * - `branch-per-environment` (default): one pipeline per environment, watching that environment's branch;
 * - `promotion`: one pipeline on `platform.pipeline.promotionBranch` deploying every environment in order.
 */
import type { App } from 'aws-cdk-lib';
import { githubDeployRoleName } from '../github-actions/delivery';
import type { AppConfig } from '../../config/schema';
import { type DeployableStage, PipelineStack, type StageFactory, stageId } from './pipeline-stack';
import { addSourceRepositoryStack } from './source';

/**
 * @param createStage builds each environment's stage (`bin/` hands in the DataPlatformStage's factory; nothing in
 *   lib/ imports stages/).
 * @returns the pipeline stacks, in `config.environments` order in branch-per-environment mode.
 */
export function addPipelines(app: App, config: AppConfig, createStage: StageFactory): PipelineStack[] {
  const { platform, datasets } = config;
  const env = { account: platform.deployment.account, region: platform.deployment.region };
  const sourceRepository = addSourceRepositoryStack(app, platform);

  const pipelines =
    platform.pipeline.mode === 'promotion'
      ? [
          new PipelineStack(app, 'Pipeline', {
            env,
            stackName: `${platform.prefix}-pipeline`,
            pipelineName: `${platform.prefix}-pipeline`,
            description: `Delivery pipeline of the data platform: ${config.environments.map((e) => e.name).join(' -> ')} from branch ${platform.pipeline.promotionBranch}`,
            platform,
            datasets,
            environments: config.environments,
            branch: platform.pipeline.promotionBranch,
            createStage,
          }),
        ]
      : config.environments.map(
          (environment) =>
            new PipelineStack(app, `Pipeline${stageId(environment.name)}`, {
              env,
              stackName: `${platform.prefix}-pipeline-${environment.name}`,
              pipelineName: `${platform.prefix}-pipeline-${environment.name}`,
              description: `Delivery pipeline of the data platform environment ${environment.name} from branch ${environment.branch}`,
              platform,
              datasets,
              environments: [environment],
              branch: environment.branch,
              createStage,
            }),
        );

  if (sourceRepository) {
    for (const pipeline of pipelines)
      pipeline.addStackDependency(sourceRepository, 'the pipeline watches this repository');
  }
  return pipelines;
}

/**
 * The `github-actions` engine: each environment's stage directly under the App, with the same construct ID (`Dev`)
 * and stack names as inside a pipeline, and no pipeline stack. The workflows of `npm run workflows` deploy them.
 * @returns the stages, in `config.environments` order.
 */
export function addEnvironmentStages(app: App, config: AppConfig, createStage: StageFactory): DeployableStage[] {
  const { platform, datasets } = config;
  return config.environments.map((environment) =>
    createStage(app, stageId(environment.name), {
      platform,
      environment,
      datasets,
      // The workflow's deploy role runs the integration test; nothing runs in the deployment account.
      integrationTestCaller: githubDeployRoleName(`${platform.prefix}-${environment.name}`),
    }),
  );
}
