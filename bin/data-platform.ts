#!/usr/bin/env node
/**
 * The CDK app: loads the configuration once and adds the delivery pipeline stack(s), or with the GitHub Actions
 * engine the environments' stages themselves. Nothing else lives here.
 * Every configuration problem, found at load or while the stacks are built, is a ConfigError: it prints as one
 * readable message (no stack trace) and the process exits 1.
 *
 * DATA_PLATFORM_CONFIG_DIR points at another config directory (default: ./config).
 */
import { App } from 'aws-cdk-lib';
import { ConfigError, loadConfig } from '../config/load';
import { addPlatform } from '../lib/platform-app';
import { createDataPlatformStage } from '../stages/data-platform-stage';

function main(): void {
  const config = loadConfig(process.env.DATA_PLATFORM_CONFIG_DIR);
  const app = new App();
  addPlatform(app, config, createDataPlatformStage);
  app.synth();
}

try {
  main();
} catch (error) {
  if (!(error instanceof ConfigError)) throw error;
  process.stderr.write(`${error.message}\n`);
  process.exit(1);
}
