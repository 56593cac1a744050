import { existsSync, readFileSync } from 'node:fs';
import * as path from 'node:path';
import type { App } from 'aws-cdk-lib';
import type { AppConfig } from '../../config/schema';
import type { PipelineStack } from '../../lib/pipeline/pipeline-stack';
import { addPipelines } from '../../lib/pipeline/pipelines';
import { exampleConfig } from '../helpers/app';
import { formatViolations, type NagViolation, nagApp } from '../helpers/nag';
import { stageDouble } from '../lib/pipeline/stage-double';

/**
 * Violations inside the pipeline stacks, leaving out the stacks of the deployed stages (each stack of the platform
 * has its own nag test). Reads the validation report itself: under jest a failed validation throws an error named
 * ValidationFailed whose message is the report, which `nagViolations` does not recognise.
 */
function pipelineViolations(app: App, pipelines: readonly PipelineStack[]): NagViolation[] {
  try {
    app.synth();
  } catch (error) {
    if ((error as Error).name !== 'ValidationFailed') throw error;
  }
  const reportFile = path.join(app.outdir, 'validation-report.json');
  const report = existsSync(reportFile)
    ? (JSON.parse(readFileSync(reportFile, 'utf8')) as ValidationReport)
    : undefined;
  const violations = (report?.pluginReports ?? []).flatMap((plugin) =>
    plugin.violations.flatMap((violation) =>
      violation.violatingConstructs.map((construct) => ({
        rule: violation.ruleName,
        severity: violation.severity,
        path: construct.constructPath,
        description: violation.description,
      })),
    ),
  );
  const stagePaths = pipelines.flatMap((pipeline) => pipeline.stages.map((stage) => `${stage.node.path}/`));
  return violations.filter((violation) => !stagePaths.some((stagePath) => violation.path.startsWith(stagePath)));
}

interface ValidationReport {
  pluginReports: {
    violations: {
      ruleName: string;
      description: string;
      severity: string;
      violatingConstructs: { constructPath: string }[];
    }[];
  }[];
}

const errorsOf = (violations: NagViolation[]) => formatViolations(violations).filter((v) => v.startsWith('error'));

describe('cdk-nag: pipeline stacks', () => {
  test('the example configuration (one pipeline per environment, real stages) has no errors', () => {
    const app = nagApp();
    const pipelines = addPipelines(app, exampleConfig());
    expect(errorsOf(pipelineViolations(app, pipelines))).toEqual([]);
  });

  test('a promotion pipeline from a created CodeCommit repository has no errors', () => {
    const app = nagApp();
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
});
