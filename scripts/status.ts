#!/usr/bin/env node
/**
 * Per dataset: the last batches, freshness and quarantine counts, from the audit schema of the data mart:
 *
 *   npx tsx scripts/status.ts --env dev [--since 2026-12-01] [--batches 3]
 *
 * Uses the caller's credentials (of the environment's account). See scripts/operations/status.ts.
 * Exit code: 0 printed, 2 could not start (arguments, outputs, credentials).
 */
import { runStatus } from './operations/status';

runStatus({ argv: process.argv.slice(2), print: (line) => console.log(line) }).then((exitCode) => {
  process.exitCode = exitCode;
});
