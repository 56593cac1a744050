/**
 * For runs by hand (`--from-stacks`): reads the stage outputs straight from the deployed CloudFormation stacks of the
 * environment (`<prefix>-*`), so nobody has to export them one by one. Output `LandingBucketName` becomes
 * `LANDING_BUCKET_NAME`, exactly as the pipeline step names them.
 */
import { CloudFormationClient, paginateDescribeStacks } from '@aws-sdk/client-cloudformation';
import type { AwsClients } from './context';

export async function outputsOfDeployedStacks(clients: AwsClients, prefix: string): Promise<Record<string, string>> {
  const client = clients.get(CloudFormationClient);
  const outputs: Record<string, string> = {};
  let stacks = 0;
  for await (const page of paginateDescribeStacks({ client }, {})) {
    for (const stack of page.Stacks ?? []) {
      if (!stack.StackName?.startsWith(`${prefix}-`)) continue;
      stacks++;
      for (const { OutputKey, OutputValue } of stack.Outputs ?? []) {
        if (OutputKey && OutputValue !== undefined) outputs[variableOf(OutputKey)] = OutputValue;
      }
    }
  }
  if (stacks === 0) {
    throw new Error(
      `No CloudFormation stack named ${prefix}-* in ${clients.region}. Fix: deploy the environment first, or check the account and region of your credentials`,
    );
  }
  return outputs;
}

/** `LandingBucketName` -> `LANDING_BUCKET_NAME` (the rule of DataPlatformStage.output). */
export function variableOf(outputId: string): string {
  return outputId.replace(/([a-z0-9])([A-Z])/g, '$1_$2').toUpperCase();
}
