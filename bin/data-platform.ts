#!/usr/bin/env node
/**
 * The CDK app: loads the configuration once and adds the delivery pipeline stack(s). Nothing else lives here.
 * A configuration problem prints one readable message (no stack trace) and exits 1.
 *
 * DATA_PLATFORM_CONFIG_DIR points at another config directory (default: ./config).
 */
import { App } from 'aws-cdk-lib';
import { ConfigError, loadConfig } from '../config/load';
import { addPlatform } from '../lib/platform-app';

function main(): void {
  let config: ReturnType<typeof loadConfig>;
  try {
    config = loadConfig(process.env.DATA_PLATFORM_CONFIG_DIR);
  } catch (error) {
    if (error instanceof ConfigError) {
      process.stderr.write(`${error.message}\n`);
      process.exit(1);
    }
    throw error;
  }
  const app = new App();
  addPlatform(app, config);
  app.synth();
}

main();
