/** Shared helpers for unit tests: the example config and an App that skips asset bundling. */
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { App } from 'aws-cdk-lib';
import { loadConfig } from '../../config/load';
import type { AppConfig, EnvironmentConfig } from '../../config/schema';

export const REPO_ROOT = path.resolve(__dirname, '..', '..');

let cached: AppConfig | undefined;
/** The repository's example configuration (config/), loaded once per test file. */
export function exampleConfig(): AppConfig {
  cached ??= loadConfig(path.join(REPO_ROOT, 'config'));
  return cached;
}

export function exampleEnvironment(name: 'dev' | 'test' | 'prod'): EnvironmentConfig {
  const environment = exampleConfig().environments.find((e) => e.name === name);
  if (!environment) throw new Error(`example config has no environment ${name}`);
  return environment;
}

/** The feature flags of cdk.json, so tests build what `npx cdk synth` builds (some flags change templates). */
export function featureFlags(): Record<string, unknown> {
  const { context } = JSON.parse(readFileSync(path.join(REPO_ROOT, 'cdk.json'), 'utf8')) as {
    context: Record<string, unknown>;
  };
  return context;
}

/** An App for unit tests: cdk.json's feature flags, asset bundling skipped (one dedicated test bundles for real). */
export function testApp(): App {
  return new App({ context: { ...featureFlags(), 'aws:cdk:bundling-stacks': [] } });
}
