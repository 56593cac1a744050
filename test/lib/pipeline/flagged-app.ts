/**
 * An App with the feature flags of cdk.json, as `npx cdk synth` runs it (testApp() and nagApp() start without them).
 * Some flags change what the pipeline generates, e.g. the pipeline type and grants on imported KMS aliases.
 */
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { App, Validations } from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';

const REPO_ROOT = path.resolve(__dirname, '..', '..', '..');

export function flaggedApp(options: { readonly nag?: boolean } = {}): App {
  const { context } = JSON.parse(readFileSync(path.join(REPO_ROOT, 'cdk.json'), 'utf8')) as {
    context: Record<string, unknown>;
  };
  const app = new App({
    outdir: mkdtempSync(path.join(tmpdir(), 'pipeline-')),
    context: { ...context, 'aws:cdk:bundling-stacks': [] },
  });
  if (options.nag) Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
  return app;
}
