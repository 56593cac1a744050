/** Runs cdk-nag (AwsSolutions) over an App the way `bin/` does, and returns what it reported. */
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { App, Validations } from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';
import type { Construct } from 'constructs';
import { featureFlags } from './app';

export interface NagViolation {
  readonly rule: string;
  readonly severity: string;
  readonly path: string;
  readonly description: string;
}

/**
 * An App for nag tests: bundling skipped, AwsSolutionsChecks registered through `Validations`, output in a temp dir.
 * Build stacks in it, then call {@link nagViolations}.
 */
export function nagApp(): App {
  const app = new App({
    outdir: mkdtempSync(path.join(tmpdir(), 'nag-')),
    context: { ...featureFlags(), 'aws:cdk:bundling-stacks': [] },
  });
  Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
  return app;
}

/** Synthesizes `app` and returns the violations in its validation report (an empty list when there are none). */
export function nagViolations(app: App, scope?: Construct): NagViolation[] {
  try {
    app.synth();
  } catch (error) {
    // The report is read from the file below; anything other than a failed validation is a real error.
    if ((error as Error).name !== 'ValidationFailed' && !/Validation failed/.test((error as Error).message))
      throw error;
  }
  const reportFile = path.join(app.outdir, 'validation-report.json');
  if (!existsSync(reportFile)) return [];
  const report = JSON.parse(readFileSync(reportFile, 'utf8')) as {
    pluginReports: {
      violations: {
        ruleName: string;
        description: string;
        severity: string;
        violatingConstructs: { constructPath: string }[];
      }[];
    }[];
  };
  const prefix = scope ? scope.node.path : '';
  return report.pluginReports.flatMap((plugin) =>
    plugin.violations.flatMap((violation) =>
      violation.violatingConstructs
        .filter((construct) => construct.constructPath.startsWith(prefix))
        .map((construct) => ({
          rule: violation.ruleName,
          severity: violation.severity,
          path: construct.constructPath,
          description: violation.description,
        })),
    ),
  );
}

/** Formats violations one per line, so a failing `expect(...).toEqual([])` shows what to fix. */
export function formatViolations(violations: readonly NagViolation[]): string[] {
  return violations.map((v) => `${v.severity} ${v.rule} at ${v.path}: ${v.description}`);
}
