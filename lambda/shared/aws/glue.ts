/**
 * AWS Glue over {@link JsonRpcClient}: GetJobRun with the SDK's request and response shapes (see ./client.ts for why
 * the SDK client is not used at run time). Glue speaks awsJson1.1 (target prefix `AWSGlue`); its timestamps are epoch
 * seconds (with a fraction), which become `Date`s here as the SDK makes them.
 */
import type { GetJobRunCommandInput, GetJobRunCommandOutput, JobRun } from '@aws-sdk/client-glue';
import type { AwsClientOptions } from './client';
import { JsonRpcClient } from './client';

export type GetJobRunInput = GetJobRunCommandInput;
export type GetJobRunOutput = Omit<GetJobRunCommandOutput, '$metadata'>;

/** The timestamp members of a JobRun. */
const JOB_RUN_DATES = ['StartedOn', 'LastModifiedOn', 'CompletedOn'] as const;

/** An awsJson timestamp (epoch seconds; the SDK also accepts an ISO string) as a Date. */
export function dateFromJson(value: unknown): Date | undefined {
  if (value === undefined || value === null) return undefined;
  if (typeof value === 'number') return new Date(Math.round(value * 1000));
  if (typeof value === 'string') {
    const date = /^-?\d+(\.\d+)?$/.test(value) ? new Date(Math.round(Number(value) * 1000)) : new Date(value);
    if (!Number.isNaN(date.getTime())) return date;
  }
  throw new Error(`Glue returned a timestamp that is not one: ${JSON.stringify(value)}`);
}

function jobRunFromJson(wire: Record<string, unknown>): JobRun {
  const run: Record<string, unknown> = { ...wire };
  for (const member of JOB_RUN_DATES) {
    if (member in run) run[member] = dateFromJson(run[member]);
  }
  return run as JobRun;
}

export class GlueClient {
  private readonly rpc: JsonRpcClient;

  constructor(options: AwsClientOptions = {}) {
    this.rpc = new JsonRpcClient('glue', 'AWSGlue', '1.1', options);
  }

  async getJobRun(input: GetJobRunInput): Promise<GetJobRunOutput> {
    const output = await this.rpc.call<{ JobRun?: Record<string, unknown> }>('GetJobRun', input);
    return output.JobRun ? { JobRun: jobRunFromJson(output.JobRun) } : {};
  }
}
