#!/usr/bin/env node
/**
 * Re-runs the quarantined or failed objects of a dataset after a fix; dry run unless --execute:
 *
 *   npx tsx scripts/replay.ts --env dev --dataset impressions [--since 2026-12-01] [--stuck-minutes 720] [--execute]
 *
 * Uses the caller's credentials (of the environment's account). See scripts/operations/replay.ts.
 * Exit code: 0 planned or sent, 1 some message was refused, 2 could not start (arguments, outputs, credentials).
 */
import { runReplay } from './operations/replay';

runReplay({ argv: process.argv.slice(2), print: (line) => console.log(line) }).then((exitCode) => {
  process.exitCode = exitCode;
});
