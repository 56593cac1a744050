/**
 * AWS Glue over {@link JsonRpcClient}, beside the job auditor, its only caller: GetJobRun with the SDK's request and
 * response shapes. Glue speaks awsJson1.1 (target prefix `AWSGlue`); its timestamps are epoch seconds (with a
 * fraction), which become `Date`s here as the SDK makes them.
 */
import type { GetJobRunCommandInput, GetJobRunCommandOutput, JobRun } from '@aws-sdk/client-glue';
import { type AwsClientOptions, dateFromJson, JsonRpcClient } from '../shared/aws/client';

export type GetJobRunInput = GetJobRunCommandInput;
export type GetJobRunOutput = Omit<GetJobRunCommandOutput, '$metadata'>;

/** The timestamp members of a JobRun. */
const JOB_RUN_DATES = ['StartedOn', 'LastModifiedOn', 'CompletedOn'] as const;

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
