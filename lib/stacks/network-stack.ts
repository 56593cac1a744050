import { Stack, type StackProps, Validations } from 'aws-cdk-lib';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import type * as kms from 'aws-cdk-lib/aws-kms';
import * as logs from 'aws-cdk-lib/aws-logs';
import type { Construct } from 'constructs';
import { dataSubnetPrefix, type EnvironmentConfig } from '../../config/schema';
import { logProviderFunction } from '../constructs/provider-log-groups';
import { removalPolicyOf } from '../constructs/removal-policy';

export interface NetworkStackProps extends StackProps {
  /** `<platformPrefix>-<env>`, e.g. `dp-dev`: prefixes resource names. */
  readonly prefix: string;
  readonly environment: EnvironmentConfig;
  /** The platform key (Storage stack): encrypts the flow log group and the log group of aws-cdk-lib's SG provider. */
  readonly key: kms.IKey;
}

/** Subnet groups, in allocation order: `Data` first so its CIDRs never move when NAT is switched on later. */
const DATA_SUBNETS = 'Data';
const PUBLIC_SUBNETS = 'Public';
const EGRESS_SUBNETS = 'Egress';

/**
 * The environment's VPC: isolated `Data` subnets for the database in every configured AZ, public + `Egress`
 * subnets with NAT only when the environment asks for NAT, an S3 gateway endpoint (free) on every route table,
 * flow logs of all traffic into a KMS-encrypted log group, and a default security group without rules.
 */
export class NetworkStack extends Stack {
  readonly vpc: ec2.IVpc;
  /** Log group receiving the VPC flow logs. */
  readonly flowLogGroup: logs.ILogGroup;

  private readonly configuredAzs: string[];

  constructor(scope: Construct, id: string, props: NetworkStackProps) {
    super(scope, id, props);
    const { network } = props.environment;
    this.configuredAzs = [...network.availabilityZones];
    const removalPolicy = removalPolicyOf(props.environment);
    const withNat = network.natGateways > 0;
    // Room for three subnet groups in every AZ, so adding NAT later keeps the Data subnets (config checks the size).
    const cidrMask = dataSubnetPrefix(network.vpcCidr, network.availabilityZones.length);

    const vpc = new ec2.Vpc(this, 'Vpc', {
      ipAddresses: ec2.IpAddresses.cidr(network.vpcCidr),
      availabilityZones: this.configuredAzs,
      natGateways: network.natGateways,
      // Without NAT there is nothing public: no public subnets, hence no internet gateway.
      createInternetGateway: withNat,
      subnetConfiguration: [
        { name: DATA_SUBNETS, subnetType: ec2.SubnetType.PRIVATE_ISOLATED, cidrMask },
        ...(withNat
          ? [
              { name: PUBLIC_SUBNETS, subnetType: ec2.SubnetType.PUBLIC, cidrMask },
              { name: EGRESS_SUBNETS, subnetType: ec2.SubnetType.PRIVATE_WITH_EGRESS, cidrMask },
            ]
          : []),
      ],
      // Explicit rather than left to the feature flag, so every app (and every test) gets the same VPC.
      restrictDefaultSecurityGroup: true,
      gatewayEndpoints: { S3: { service: ec2.GatewayVpcEndpointAwsService.S3 } },
    });
    this.vpc = vpc;
    Validations.of(vpc).acknowledge({
      id: 'CloudFormation-Validate::W3010',
      reason: 'Subnet AZs come from network.availabilityZones on purpose: synth never looks them up (works offline)',
    });

    // The platform key (one key per environment): its policy lets CloudWatch Logs use it for this account's logs.
    const flowLogGroupName = `/${props.prefix}/vpc/flow-logs`;
    const flowLogGroup = new logs.LogGroup(this, 'FlowLogs', {
      logGroupName: flowLogGroupName,
      encryptionKey: props.key,
      retention: network.flowLogRetentionDays as logs.RetentionDays,
      removalPolicy,
    });
    this.flowLogGroup = flowLogGroup;
    vpc.addFlowLog('FlowLog', {
      destination: ec2.FlowLogDestination.toCloudWatchLogs(flowLogGroup),
      trafficType: ec2.FlowLogTrafficType.ALL,
    });
    // restrictDefaultSecurityGroup runs aws-cdk-lib's provider function at deploy time: it logs to a group of ours.
    logProviderFunction(this, 'vpcRestrictDefaultSecurityGroup', {
      encryptionKey: props.key,
      retentionDays: props.environment.logRetentionDays,
      removalPolicy,
    });
  }

  /** The configured AZs: the VPC never asks AWS (no context lookup, synth works offline). */
  override get availabilityZones(): string[] {
    return this.configuredAzs;
  }
}
