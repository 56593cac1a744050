/** Validates an export request against the mart whitelist, records the job and queues it for the worker. */
import { randomUUID } from 'node:crypto';
import type { ExportJobs } from '../api-shared/export-jobs';
import type { ExportJob, ExportMessage, ExportRequest, MartTable } from '../api-shared/contract';
import type { SqsClient } from '../shared/aws/sqs';
import { whitelistedTable } from '../api-shared/marts';
import { checkFilters } from '../api-shared/mart-query';

export interface CreateJobDependencies {
  readonly jobs: ExportJobs;
  readonly sqs: Pick<SqsClient, 'sendMessage'>;
  readonly queueUrl: string;
  readonly tables: ReadonlyMap<string, MartTable>;
  readonly retentionDays: number;
  readonly now?: () => Date;
}

export async function createExportJob(
  deps: CreateJobDependencies,
  request: ExportRequest,
  requestedBy: string,
): Promise<ExportJob> {
  const table = whitelistedTable(deps.tables, request.table);
  const filters = checkFilters(table, request.filters);
  const now = (deps.now ?? (() => new Date()))();
  const job: ExportJob = {
    id: randomUUID(),
    status: 'QUEUED',
    requestedBy,
    request: { ...request, table: table.table, filters },
    createdAt: now.toISOString(),
    updatedAt: now.toISOString(),
    expiresAt: Math.floor(now.getTime() / 1000) + deps.retentionDays * 86_400,
  };
  // The job exists before its message: the worker never receives an id it cannot find.
  await deps.jobs.create(job);
  const message: ExportMessage = { id: job.id };
  try {
    await deps.sqs.sendMessage({ QueueUrl: deps.queueUrl, MessageBody: JSON.stringify(message) });
  } catch (error) {
    // Never leave a job QUEUED that no worker will ever see; the caller gets a 500 and asks again.
    await deps.jobs
      .update(job.id, 'FAILED', { error: 'The job could not be queued. Fix: request the export again' })
      .catch(() => undefined);
    throw error;
  }
  return job;
}
