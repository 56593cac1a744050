/**
 * Network checks: the VPC exists and is available, has an S3 gateway endpoint (so the data path reaches S3 without
 * NAT) and active flow logs. Freshly created resources may still be settling: states are polled with a bounded wait.
 */
import {
  DescribeFlowLogsCommand,
  DescribeVpcEndpointsCommand,
  DescribeVpcsCommand,
  EC2Client,
} from '@aws-sdk/client-ec2';
import { type CheckContext, output } from '../context';
import { CheckFailedError, type CheckModule, waitFor } from '../runner';

export const networkChecks: CheckModule = {
  name: 'network',
  requiredOutputs: ['VPC_ID'],
  checks: () => [
    { name: 'network/vpc available', run: (context) => vpcAvailable(context, output(context, 'VPC_ID')) },
    { name: 'network/s3 gateway endpoint', run: (context) => s3GatewayEndpoint(context, output(context, 'VPC_ID')) },
    { name: 'network/flow logs', run: (context) => flowLogsActive(context, output(context, 'VPC_ID')) },
  ],
};

export async function vpcAvailable(context: CheckContext, vpcId: string): Promise<string> {
  const ec2 = context.clients.get(EC2Client);
  return waitFor(context, `VPC ${vpcId} to be available`, async () => {
    let vpc: { State?: string; CidrBlock?: string } | undefined;
    try {
      vpc = (await ec2.send(new DescribeVpcsCommand({ VpcIds: [vpcId] }))).Vpcs?.[0];
    } catch (error) {
      if ((error as Error).name === 'InvalidVpcID.NotFound') throw new CheckFailedError(`VPC ${vpcId} does not exist`);
      throw error;
    }
    if (!vpc) throw new CheckFailedError(`VPC ${vpcId} does not exist`);
    return {
      value: vpc.State === 'available' ? `${vpcId} (${vpc.CidrBlock})` : undefined,
      state: `state ${vpc.State}`,
    };
  });
}

export async function s3GatewayEndpoint(context: CheckContext, vpcId: string): Promise<string> {
  const ec2 = context.clients.get(EC2Client);
  const serviceName = `com.amazonaws.${context.region}.s3`;
  return waitFor(context, `the S3 gateway endpoint of ${vpcId} to be available`, async () => {
    const { VpcEndpoints = [] } = await ec2.send(
      new DescribeVpcEndpointsCommand({
        Filters: [
          { Name: 'vpc-id', Values: [vpcId] },
          { Name: 'service-name', Values: [serviceName] },
          { Name: 'vpc-endpoint-type', Values: ['Gateway'] },
        ],
      }),
    );
    if (VpcEndpoints.length === 0)
      throw new CheckFailedError(`VPC ${vpcId} has no gateway endpoint for ${serviceName}`);
    const available = VpcEndpoints.find((endpoint) => endpoint.State?.toLowerCase() === 'available');
    const routeTables = available?.RouteTableIds?.length ?? 0;
    if (available && routeTables === 0) {
      throw new CheckFailedError(`gateway endpoint ${available.VpcEndpointId} is attached to no route table`);
    }
    return {
      value: available ? `${available.VpcEndpointId} on ${routeTables} route table(s)` : undefined,
      state: `state ${VpcEndpoints.map((endpoint) => endpoint.State).join(', ')}`,
    };
  });
}

export async function flowLogsActive(context: CheckContext, vpcId: string): Promise<string> {
  const ec2 = context.clients.get(EC2Client);
  return waitFor(context, `the flow logs of ${vpcId} to be active`, async () => {
    const { FlowLogs = [] } = await ec2.send(
      new DescribeFlowLogsCommand({ Filter: [{ Name: 'resource-id', Values: [vpcId] }] }),
    );
    if (FlowLogs.length === 0) throw new CheckFailedError(`VPC ${vpcId} has no flow logs`);
    const active = FlowLogs.find((flowLog) => flowLog.FlowLogStatus === 'ACTIVE');
    if (active?.DeliverLogsStatus === 'FAILED') {
      throw new CheckFailedError(
        `flow log ${active.FlowLogId} cannot deliver: ${active.DeliverLogsErrorMessage ?? 'no reason given'}`,
      );
    }
    return {
      value: active ? `${active.FlowLogId} (${active.TrafficType} to ${active.LogDestinationType})` : undefined,
      state: `status ${FlowLogs.map((flowLog) => flowLog.FlowLogStatus).join(', ')}`,
    };
  });
}
