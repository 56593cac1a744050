import { RemovalPolicy, Stack, type StackProps, Validations } from 'aws-cdk-lib';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as logs from 'aws-cdk-lib/aws-logs';
import type { Construct } from 'constructs';
import type { EnvironmentConfig } from '../../config/schema';

export interface NetworkStackProps extends StackProps {
  /** `<platformPrefix>-<env>`, e.g. `dp-dev`: prefixes resource names. */
  readonly prefix: string;
  readonly environment: EnvironmentConfig;
  /** Account of the delivery pipeline (unused here; kept so every stack takes the same common props). */
  readonly deploymentAccount: string;
}

/** Subnet groups, in allocation order: `Data` first so its CIDRs never move when NAT is switched on later. */
const DATA_SUBNETS = 'Data';
const PUBLIC_SUBNETS = 'Public';
const EGRESS_SUBNETS = 'Egress';
/** Subnet groups the address plan leaves room for, whether or not NAT is on today. */
const PLANNED_SUBNET_GROUPS = 3;
/** Smallest subnet AWS allows. */
const SMALLEST_SUBNET_PREFIX = 28;

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
    const { network, storage } = props.environment;
    this.configuredAzs = [...network.availabilityZones];
    const removalPolicy = storage.removalPolicy === 'destroy' ? RemovalPolicy.DESTROY : RemovalPolicy.RETAIN;
    const withNat = network.natGateways > 0;

    const vpc = new ec2.Vpc(this, 'Vpc', {
      ipAddresses: ec2.IpAddresses.cidr(network.vpcCidr),
      availabilityZones: this.configuredAzs,
      natGateways: network.natGateways,
      // Without NAT there is nothing public: no public subnets, hence no internet gateway.
      createInternetGateway: withNat,
      subnetConfiguration: [
        { name: DATA_SUBNETS, subnetType: ec2.SubnetType.PRIVATE_ISOLATED, cidrMask: subnetPrefix(props) },
        ...(withNat
          ? [
              { name: PUBLIC_SUBNETS, subnetType: ec2.SubnetType.PUBLIC, cidrMask: subnetPrefix(props) },
              { name: EGRESS_SUBNETS, subnetType: ec2.SubnetType.PRIVATE_WITH_EGRESS, cidrMask: subnetPrefix(props) },
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

    const flowLogGroupName = `/${props.prefix}/vpc/flow-logs`;
    const flowLogKey = new kms.Key(this, 'FlowLogKey', {
      alias: `alias/${props.prefix}-flow-logs`,
      description: `Encrypts the VPC flow logs of ${props.prefix}`,
      enableKeyRotation: true,
      removalPolicy,
    });
    // CloudWatch Logs encrypts with the key on behalf of this one log group only (name built, not referenced,
    // since the log group itself depends on the key).
    flowLogKey.addToResourcePolicy(
      new iam.PolicyStatement({
        sid: 'AllowCloudWatchLogsForFlowLogGroup',
        principals: [new iam.ServicePrincipal(`logs.${props.environment.region}.amazonaws.com`)],
        actions: ['kms:Encrypt*', 'kms:Decrypt*', 'kms:ReEncrypt*', 'kms:GenerateDataKey*', 'kms:Describe*'],
        resources: ['*'],
        conditions: {
          ArnEquals: {
            'kms:EncryptionContext:aws:logs:arn': `arn:aws:logs:${props.environment.region}:${props.environment.account}:log-group:${flowLogGroupName}`,
          },
        },
      }),
    );

    const flowLogGroup = new logs.LogGroup(this, 'FlowLogs', {
      logGroupName: flowLogGroupName,
      encryptionKey: flowLogKey,
      retention: network.flowLogRetentionDays as logs.RetentionDays,
      removalPolicy,
    });
    this.flowLogGroup = flowLogGroup;
    vpc.addFlowLog('FlowLog', {
      destination: ec2.FlowLogDestination.toCloudWatchLogs(flowLogGroup),
      trafficType: ec2.FlowLogTrafficType.ALL,
    });
  }

  /** The configured AZs: the VPC never asks AWS (no context lookup, synth works offline). */
  override get availabilityZones(): string[] {
    return this.configuredAzs;
  }
}

/**
 * Subnet size: the VPC CIDR split into room for three groups in every AZ, so adding the NAT groups later keeps
 * the `Data` subnets (and the database in them) where they are.
 */
function subnetPrefix(props: NetworkStackProps): number {
  const { vpcCidr, availabilityZones } = props.environment.network;
  const vpcPrefix = Number(vpcCidr.split('/')[1]);
  const prefix = vpcPrefix + Math.ceil(Math.log2(PLANNED_SUBNET_GROUPS * availabilityZones.length));
  if (prefix > SMALLEST_SUBNET_PREFIX) {
    throw new Error(
      `network.vpcCidr of environment ${props.environment.name} is too small: "${vpcCidr}" leaves /${prefix} subnets for ${PLANNED_SUBNET_GROUPS} subnet groups in ${availabilityZones.length} AZs, and AWS subnets are at most /${SMALLEST_SUBNET_PREFIX}. Fix: use a larger block (e.g. a /20 or /16) or fewer availability zones`,
    );
  }
  return prefix;
}
