/**
 * The state machine's audit steps: claim an object version for a run, record how the run finished, or record its
 * failure. parse (zod) -> write audit.pipeline_runs through the Data API -> respond.
 * A resuming Aurora surfaces as TransientError, which the state machine retries with backoff.
 */
import { martTargetFromEnv } from '../shared/mart-connection';
import { InvalidInputError } from '../shared/errors';
import { logger, metrics } from '../shared/logger';
import type { SqlExecutor } from '../shared/sql';
import { RdsDataClient } from '../shared/aws/rds-data';
import { DataApiExecutor } from '../shared/sql-data-api';
import { type AuditInput, type AuditOutput, auditInputSchema } from './contract';
import { claimRun, recordOutcome } from './runs';

export interface AuditDependencies {
  readonly executor: SqlExecutor;
}

export function parseAuditInput(event: unknown): AuditInput {
  const parsed = auditInputSchema.safeParse(event);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((issue) => `${issue.path.join('.') || '(input)'}: ${issue.message}`);
    throw new InvalidInputError(
      `Audit input is invalid (${problems.join('; ')}); received ${JSON.stringify(event).slice(0, 500)}. Fix: send the shape of lambda/audit/contract.ts`,
    );
  }
  return parsed.data;
}

export function createHandler(deps: AuditDependencies) {
  return async (event: unknown): Promise<AuditOutput> => {
    const input = parseAuditInput(event);
    const { run } = input;
    logger.appendKeys({ dataset: run.dataset, runId: run.runId, action: input.action });
    try {
      switch (input.action) {
        case 'claim': {
          const claim = await claimRun(deps.executor, run);
          logger.info('claim', { key: run.key, versionId: run.versionId, ...claim });
          metrics.addMetric(claim.outcome === 'CLAIMED' ? 'RunsClaimed' : 'RunsAlreadyProcessed', 'Count', 1);
          return claim;
        }
        case 'finish': {
          const { validation } = input;
          await recordOutcome(deps.executor, run, {
            status: input.status,
            rowsValid: validation.rowsValid,
            rowsRejected: validation.rowsRejected,
            rowsLoaded: input.load?.rowsLoaded,
            error: input.status === 'SUCCEEDED' ? null : (validation.reason ?? null),
          });
          logger.info('run finished', { status: input.status, rowsValid: validation.rowsValid });
          metrics.addMetric(`Runs${pascal(input.status)}`, 'Count', 1);
          return { recorded: true, runId: run.runId, status: input.status };
        }
        case 'fail': {
          const error = input.cause ? `${input.error}: ${input.cause}` : input.error;
          const recorded = await recordOutcome(deps.executor, run, { status: 'FAILED', error });
          if (!recorded) {
            logger.warn('failure not recorded: another run holds this object version', { key: run.key });
          }
          logger.error('run failed', { error: input.error, cause: input.cause?.slice(0, 1000) });
          metrics.addMetric('RunsFailed', 'Count', 1);
          return { recorded: true, runId: run.runId, status: 'FAILED' };
        }
      }
    } finally {
      metrics.publishStoredMetrics();
      logger.resetKeys();
    }
  };
}

function pascal(status: string): string {
  return status
    .toLowerCase()
    .split('_')
    .map((part) => part[0].toUpperCase() + part.slice(1))
    .join('');
}

// The loader login (mart_loader): INSERT/UPDATE on audit.* (and mart.*), nothing more.
const executor = new DataApiExecutor(new RdsDataClient(), martTargetFromEnv());

export const handler = createHandler({ executor });
