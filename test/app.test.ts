/**
 * The one full-app test that bundles for real: builds exactly what `npx cdk synth` builds (bin/ -> addPlatform),
 * with cdk-nag registered, and synthesizes every pipeline and every stage of the example config.
 */
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { builtinModules } from 'node:module';
import * as path from 'node:path';
import { App } from 'aws-cdk-lib';
import type { CloudAssembly } from 'aws-cdk-lib/cx-api';
import { DATASETS_GLOBAL } from '../lambda/shared/datasets-contract';
import { addPlatform } from '../lib/platform-app';
import { exampleConfig, REPO_ROOT } from './helpers/app';
import { createDataPlatformStage } from '../stages/data-platform-stage';

interface CfnResource {
  Type: string;
  Properties?: { Runtime?: string };
  Metadata?: { 'aws:asset:path'?: string };
}

describe('the whole app, as `cdk synth` builds it', () => {
  let outdir: string;
  let assembly: CloudAssembly;

  beforeAll(() => {
    outdir = mkdtempSync(path.join(tmpdir(), 'app-synth-'));
    // Asset metadata (as the CLI enables it) tells which bundle each function deploys.
    const app = new App({ outdir, context: { 'aws:cdk:enable-asset-metadata': true } });
    addPlatform(app, exampleConfig(), createDataPlatformStage);
    assembly = app.synth();
  }, 180_000);

  afterAll(() => rmSync(outdir, { recursive: true, force: true }));

  test('synthesizes one pipeline stack per environment, in the deployment account, with no nag errors', () => {
    const config = exampleConfig();
    const pipelineStacks = assembly.stacks.map((stack) => stack.stackName).sort();
    expect(pipelineStacks).toEqual(
      config.environments.map((e) => `${config.platform.prefix}-pipeline-${e.name}`).sort(),
    );
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
        nested.nestedAssembly.stacks.some((stack) =>
          stack.stackName.startsWith(`${config.platform.prefix}-${environment.name}-`),
        ),
      );
      expect(stage).toBeDefined();
      const stacks = stage!.nestedAssembly.stacks;
      expect(stacks.map((stack) => stack.stackName).sort()).toEqual(
        ['api', 'catalog', 'data-mart', 'iam', 'network', 'operations', 'orchestration', 'storage'].map(
          (stack) => `${config.platform.prefix}-${environment.name}-${stack}`,
        ),
      );
      for (const stack of stacks) expect(stack.environment.account).toBe(environment.account);
    }
  });

  test('bundles every platform Lambda function for real (minified handler with a source map)', () => {
    const handlerDirs = readdirSync(path.join(REPO_ROOT, 'lambda')).filter((dir) =>
      existsSync(path.join(REPO_ROOT, 'lambda', dir, 'handler.ts')),
    );
    const bundles = new Set<string>();
    for (const stage of assembly.nestedAssemblies) {
      for (const stack of stage.nestedAssembly.stacks) {
        for (const resource of Object.values(stack.template.Resources ?? {}) as CfnResource[]) {
          // Platform functions are the Node.js 22 arm64 ones (aws-cdk-lib's own providers use other runtimes).
          if (resource.Type !== 'AWS::Lambda::Function' || resource.Properties?.Runtime !== 'nodejs22.x') continue;
          const assetPath = resource.Metadata?.['aws:asset:path'];
          expect(assetPath).toBeDefined();
          bundles.add(path.resolve(stage.nestedAssembly.directory, assetPath!));
        }
      }
    }
    // Each handler directory yields one bundle, reused by the three environments.
    expect(bundles.size).toBe(handlerDirs.length);
    for (const bundle of bundles) {
      expect(existsSync(path.join(bundle, 'index.js.map'))).toBe(true);
      const code = readFileSync(path.join(bundle, 'index.js'), 'utf8');
      expect(code).toContain('exports');
      // Minified: esbuild's CommonJS prelude on one line (string literals further on may still hold newlines).
      expect(code.slice(0, 400)).not.toContain('\n');
      // Everything is bundled: no package comes from the runtime's node_modules. The one exception is the SDK's optional
      // CRT signer (SigV4a, multi-region access points only), which it requires inside a try block.
      const required = [...code.matchAll(/require\("([^"]+)"\)/g)].map((match) => match[1]);
      expect(required.filter((name) => !name.startsWith('node:') && !builtinModules.includes(name))).toEqual(
        required.filter((name) => name === '@aws-sdk/signature-v4-crt'),
      );
    }
    // The migrate bundle carries its SQL migrations as text (esbuild's text loader).
    const withMigrations = [...bundles]
      .map((bundle) => readFileSync(path.join(bundle, 'index.js'), 'utf8'))
      .filter((code) => code.includes('CREATE SCHEMA IF NOT EXISTS audit;'));
    expect(withMigrations).toHaveLength(1);
    expect(withMigrations[0]).toContain('CREATE TABLE audit.batches (');
    // The validate and batch bundles carry the dataset definitions of this synth (injected at bundle time), not a
    // placeholder, and their error classes keep their names: they are the errorType the state machine's Retry/Catch
    // rules match.
    const withDatasets = [...bundles]
      .map((bundle) => readFileSync(path.join(bundle, 'index.js'), 'utf8'))
      .filter((code) => code.includes('bundled without its dataset definitions'));
    expect(withDatasets).toHaveLength(2);
    for (const code of withDatasets) {
      // The global was replaced (its name is left only as a string, for the message of a bundle built without it).
      expect(code).not.toMatch(new RegExp(`typeof ${DATASETS_GLOBAL}\\b`));
      expect(code).toContain('"InvalidInputError"');
      for (const dataset of exampleConfig().datasets) expect(code).toContain(JSON.stringify(dataset.ownerTeam));
    }
  });
});
