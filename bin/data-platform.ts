#!/usr/bin/env node
/**
 * The CDK app: loads the configuration once and adds the delivery pipeline stack(s). Nothing else lives here.
 * A configuration problem prints one readable message (no stack trace) and exits 1.
 */
import { App } from 'aws-cdk-lib';
import { ConfigError, loadConfig } from '../config/load';
import { addPipelines } from '../lib/pipeline/pipelines';

function main(): void {
  let config: ReturnType<typeof loadConfig>;
  try {
    config = loadConfig();
  } catch (error) {
    if (error instanceof ConfigError) {
      process.stderr.write(`${error.message}\n`);
      process.exit(1);
    }
    throw error;
  }
  const app = new App();
  addPipelines(app, config);
  app.synth();
}

main();
