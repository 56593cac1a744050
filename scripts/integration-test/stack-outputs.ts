/**
 * For `--from-stacks` (runs by hand, and the GitHub Actions workflows): reads the stage outputs straight from the
 * deployed CloudFormation stacks of the environment (`<prefix>-<suffix>`, see stages/stack-names.ts), so nobody has
 * to export them one by one. Output `LandingBucketName` becomes `LANDING_BUCKET_NAME`, exactly as the pipeline step
 * names them. Each stack is asked for by name: the integration-test role may describe the environment's stacks only,
 * and listing every stack of the account would need `cloudformation:DescribeStacks` on `*`.
 */
import {
  CloudFormationClient,
  DescribeStacksCommand,
  type DescribeStacksCommandOutput,
} from '@aws-sdk/client-cloudformation';
import { STAGE_STACK_SUFFIXES } from '../../stages/stack-names';
import type { AwsClients } from './context';

export async function outputsOfDeployedStacks(clients: AwsClients, prefix: string): Promise<Record<string, string>> {
  const client = clients.get(CloudFormationClient);
  const outputs: Record<string, string> = {};
  let stacks = 0;
  for (const suffix of STAGE_STACK_SUFFIXES) {
    const stackName = `${prefix}-${suffix}`;
    let described: DescribeStacksCommandOutput;
    try {
      described = await client.send(new DescribeStacksCommand({ StackName: stackName }));
    } catch (error) {
      // CloudFormation answers a stack that does not exist with a ValidationError.
      if ((error as Error).name === 'ValidationError' && /does not exist/.test((error as Error).message)) continue;
      throw error;
    }
    const stack = described.Stacks?.find((candidate) => candidate.StackName === stackName);
    if (!stack) continue;
    stacks++;
    for (const { OutputKey, OutputValue } of stack.Outputs ?? []) {
      if (OutputKey && OutputValue !== undefined) outputs[variableOf(OutputKey)] = OutputValue;
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
