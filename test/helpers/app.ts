/** Shared helpers for unit tests: the example config and an App that skips asset bundling. */
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

/** An App for unit tests: asset bundling is skipped (one dedicated test bundles for real). */
export function testApp(): App {
  return new App({ context: { 'aws:cdk:bundling-stacks': [] } });
}
