/**
 * AWS Step Functions over {@link JsonRpcClient}: StartExecution with the SDK's request and response shapes (see
 * ./client.ts for why the SDK client is not used at run time). Step Functions speaks awsJson1.0 (target prefix
 * `AWSStepFunctions`); errors carry their code in `__type` (`ExecutionAlreadyExists`), the SDK exception's name.
 * `startDate` is epoch seconds on the wire, a Date here as in the SDK.
 */
import type { StartExecutionCommandInput, StartExecutionCommandOutput } from '@aws-sdk/client-sfn';
import { type AwsClientOptions, dateFromJson, JsonRpcClient } from './client';

export type StartExecutionInput = StartExecutionCommandInput;
export type StartExecutionOutput = Omit<StartExecutionCommandOutput, '$metadata'>;

export class SfnClient {
  private readonly rpc: JsonRpcClient;

  constructor(options: AwsClientOptions = {}) {
    this.rpc = new JsonRpcClient('states', 'AWSStepFunctions', '1.0', options);
  }

  async startExecution(input: StartExecutionInput): Promise<StartExecutionOutput> {
    const output = await this.rpc.call<{ executionArn: string; startDate: unknown }>('StartExecution', input);
    return { executionArn: output.executionArn, startDate: dateFromJson(output.startDate) };
  }
}
