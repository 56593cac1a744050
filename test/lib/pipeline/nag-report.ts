/**
 * Reads cdk-nag's validation report after a synth. Under jest a failed validation throws an error named
 * ValidationFailed whose message is the report itself, which `nagViolations` (test/helpers/nag.ts) does not recognise,
 * so the pipeline tests read the report file directly.
 */
import { existsSync, readFileSync } from 'node:fs';
import * as path from 'node:path';
import type { App } from 'aws-cdk-lib';
import type { NagViolation } from '../../helpers/nag';

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

export function synthAndReadViolations(app: App): NagViolation[] {
  try {
    app.synth();
  } catch (error) {
    if ((error as Error).name !== 'ValidationFailed') throw error;
  }
  const reportFile = path.join(app.outdir, 'validation-report.json');
  if (!existsSync(reportFile)) return [];
  const report = JSON.parse(readFileSync(reportFile, 'utf8')) as ValidationReport;
  return report.pluginReports.flatMap((plugin) =>
    plugin.violations.flatMap((violation) =>
      violation.violatingConstructs.map((construct) => ({
        rule: violation.ruleName,
        severity: violation.severity,
        path: construct.constructPath,
        description: violation.description,
      })),
    ),
  );
}
