/**
 * One job message: skip jobs already finished (SQS delivers at least once), mark RUNNING, export, mark SUCCEEDED.
 * A job that can never succeed (bad request) is FAILED at once; any other error is recorded and rethrown so SQS
 * redelivers the message, and the job is FAILED on its last delivery (the message then goes to the DLQ).
 */
import type { ExportJobs } from '../api-shared/export-jobs';
import { EXPORT_MAX_RECEIVE_COUNT } from './contract';
import { exportObjectKey, type MartTable } from '../api-shared/contract';
import { InvalidInputError, NotFoundError } from '../shared/errors';
import { logger, metrics } from '../shared/logger';
import type { SqlExecutor } from '../shared/sql';
import { type ExportTarget, exportCsv } from './export-csv';

export interface WorkerDependencies {
  readonly jobs: ExportJobs;
  readonly executor: SqlExecutor;
  readonly tables: ReadonlyMap<string, MartTable>;
  readonly target: Omit<ExportTarget, 'key'>;
  readonly pageRows: number;
}

export type JobOutcome = 'SUCCEEDED' | 'FAILED' | 'SKIPPED';

export async function processJob(deps: WorkerDependencies, id: string, receiveCount: number): Promise<JobOutcome> {
  const job = await deps.jobs.get(id);
  if (!job) {
    logger.warn('export job not found (expired or never created); message dropped', { id });
    return 'SKIPPED';
  }
  if (job.status === 'SUCCEEDED' || job.status === 'FAILED') {
    logger.info('export job already finished; duplicate delivery ignored', { id, status: job.status });
    return 'SKIPPED';
  }
  const attempts = (job.attempts ?? 0) + 1;
  await deps.jobs.update(id, 'RUNNING', { attempts });
  const key = exportObjectKey(id);
  try {
    const result = await exportCsv(deps.executor, deps.tables, job.request, { ...deps.target, key }, deps.pageRows);
    await deps.jobs.update(id, 'SUCCEEDED', { objectKey: key, rowCount: result.rowCount, bytes: result.bytes });
    logger.info('export written', { id, key, ...result });
    metrics.addMetric('ExportRows', 'Count', result.rowCount);
    return 'SUCCEEDED';
  } catch (error) {
    const message = (error as Error).message ?? String(error);
    if (error instanceof InvalidInputError || error instanceof NotFoundError) {
      await deps.jobs.update(id, 'FAILED', { error: message });
      logger.warn('export job cannot succeed', { id, error: message });
      return 'FAILED';
    }
    const last = receiveCount >= EXPORT_MAX_RECEIVE_COUNT;
    await deps.jobs.update(id, last ? 'FAILED' : 'QUEUED', {
      error: last
        ? `Gave up after ${receiveCount} attempts: ${message}`
        : `Attempt ${receiveCount} failed, retrying: ${message}`,
    });
    logger.error('export attempt failed', { id, receiveCount, error: error as Error });
    throw error;
  }
}
