/**
 * The one full-app test that bundles for real: builds exactly what `npx cdk synth` builds (bin/ -> addPlatform),
 * with cdk-nag registered, and synthesizes every pipeline and every stage of the example config.
 */
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { App } from 'aws-cdk-lib';
import type { CloudAssembly } from 'aws-cdk-lib/cx-api';
import { addPlatform } from '../lib/platform-app';
import { exampleConfig } from './helpers/app';

describe('the whole app, as `cdk synth` builds it', () => {
  let outdir: string;
  let assembly: CloudAssembly;

  beforeAll(() => {
    outdir = mkdtempSync(path.join(tmpdir(), 'app-synth-'));
    const app = new App({ outdir });
    addPlatform(app, exampleConfig());
    assembly = app.synth();
  }, 180_000);

  afterAll(() => rmSync(outdir, { recursive: true, force: true }));

  test('synthesizes one pipeline stack per environment, in the deployment account, with no nag errors', () => {
    const config = exampleConfig();
    const pipelineStacks = assembly.stacks.map((stack) => stack.stackName).sort();
    expect(pipelineStacks).toEqual(config.environments.map((e) => `${config.platform.prefix}-pipeline-${e.name}`).sort());
    for (const stack of assembly.stacks) {
      expect(stack.environment.account).toBe(config.platform.deployment.account);
    }
    // A nag error would have thrown in synth; the report, when present, must hold no error-level finding.
    const report = path.join(outdir, 'validation-report.json');
    if (existsSync(report)) expect(readFileSync(report, 'utf8')).not.toContain('"severity": "error"');
  });

  test('every environment stage holds its stacks, named <prefix>-<env>-<stack>, in its own account', () => {
    const config = exampleConfig();
    for (const environment of config.environments) {
      const stage = assembly.nestedAssemblies.find((nested) =>
        nested.stacks.some((stack) => stack.stackName.startsWith(`${config.platform.prefix}-${environment.name}-`)),
      );
      expect(stage).toBeDefined();
      const names = stage!.stacks.map((stack) => stack.stackName);
      for (const stack of ['network', 'storage', 'iam']) {
        expect(names).toContain(`${config.platform.prefix}-${environment.name}-${stack}`);
      }
      for (const stack of stage!.stacks) expect(stack.environment.account).toBe(environment.account);
    }
  });

  test('bundles every Lambda function for real (minified handler with a source map)', () => {
    const bundles = assembly.nestedAssemblies.flatMap((stage) =>
      readdirSync(stage.directory)
        .filter((entry) => entry.startsWith('asset.') && existsSync(path.join(stage.directory, entry, 'index.js')))
        .map((entry) => path.join(stage.directory, entry)),
    );
    expect(bundles.length).toBeGreaterThan(0);
    for (const bundle of bundles) {
      expect(existsSync(path.join(bundle, 'index.js.map'))).toBe(true);
      const code = readFileSync(path.join(bundle, 'index.js'), 'utf8');
      expect(code).toMatch(/exports|module\.exports/);
    }
  });
});
