import { Match, Template } from 'aws-cdk-lib/assertions';
import type { EnvironmentConfig } from '../../../config/schema';
import type { App } from 'aws-cdk-lib';
import { NetworkStack } from '../../../lib/stacks/network-stack';
import { StorageStack } from '../../../lib/stacks/storage-stack';
import { exampleEnvironment, testApp } from '../../helpers/app';
import { expectLeastPrivilege } from '../../helpers/least-privilege';

/** The Network stack as the stage builds it: after the Storage stack, whose platform key it uses. */
function buildNetwork(app: App, environment: EnvironmentConfig): NetworkStack {
  const common = {
    prefix: `dp-${environment.name}`,
    environment,
    env: { account: environment.account, region: environment.region },
  };
  const storage = new StorageStack(app, 'Storage', common);
  return new NetworkStack(app, 'Network', { ...common, key: storage.key });
}

function networkStack(environment: EnvironmentConfig): { stack: NetworkStack; template: Template } {
  const stack = buildNetwork(testApp(), environment);
  return { stack, template: Template.fromStack(stack) };
}

/** The platform key as this stack references it (an output of the Storage stack). */
const platformKey = { 'Fn::GetStackOutput': Match.objectLike({ OutputName: Match.stringLikeRegexp('Key') }) };

function withNetwork(name: 'dev' | 'prod', network: Partial<EnvironmentConfig['network']>): EnvironmentConfig {
  const environment = exampleEnvironment(name);
  return { ...environment, network: { ...environment.network, ...network } };
}

function subnetCidrs(template: Template, group: string): string[] {
  const subnets = template.findResources('AWS::EC2::Subnet', {
    Properties: { Tags: Match.arrayWith([{ Key: 'aws-cdk:subnet-name', Value: group }]) },
  });
  return Object.values(subnets).map((subnet) => subnet.Properties.CidrBlock as string);
}

describe.each([
  ['dev', ['eu-west-1a', 'eu-west-1b'], '10.10.0.0/16', 14],
  ['prod', ['eu-west-1a', 'eu-west-1b', 'eu-west-1c'], '10.30.0.0/16', 365],
] as const)('NetworkStack (%s example)', (name, azs, cidr, retentionDays) => {
  const { stack, template } = networkStack(exampleEnvironment(name));

  it('spans exactly the configured AZs with the configured CIDR', () => {
    template.resourceCountIs('AWS::EC2::VPC', 1);
    template.hasResourceProperties('AWS::EC2::VPC', { CidrBlock: cidr });
    const subnetAzs = Object.values(template.findResources('AWS::EC2::Subnet')).map(
      (subnet) => subnet.Properties.AvailabilityZone,
    );
    expect(subnetAzs.sort()).toEqual([...azs]);
    expect(stack.vpc.availabilityZones).toEqual([...azs]);
  });

  it('has only isolated Data subnets and no internet gateway, NAT or public IPs when natGateways is 0', () => {
    expect(subnetCidrs(template, 'Data')).toHaveLength(azs.length);
    expect(stack.vpc.selectSubnets({ subnetGroupName: 'Data' }).subnets).toHaveLength(azs.length);
    expect(stack.vpc.publicSubnets).toHaveLength(0);
    expect(stack.vpc.privateSubnets).toHaveLength(0);
    template.resourceCountIs('AWS::EC2::InternetGateway', 0);
    template.resourceCountIs('AWS::EC2::VPCGatewayAttachment', 0);
    template.resourceCountIs('AWS::EC2::NatGateway', 0);
    template.resourceCountIs('AWS::EC2::EIP', 0);
    template.resourceCountIs('AWS::EC2::Route', 0);
  });

  it('puts the S3 gateway endpoint on every route table', () => {
    const routeTables = Object.keys(template.findResources('AWS::EC2::RouteTable'));
    expect(routeTables).toHaveLength(azs.length);
    template.resourceCountIs('AWS::EC2::VPCEndpoint', 1);
    template.hasResourceProperties('AWS::EC2::VPCEndpoint', {
      VpcEndpointType: 'Gateway',
      ServiceName: Match.objectLike({ 'Fn::Join': ['', Match.arrayWith(['.s3'])] }),
      RouteTableIds: routeTables.map((id) => ({ Ref: id })),
    });
  });

  it('sends flow logs of all traffic to a log group encrypted with the platform key, and creates no key', () => {
    template.hasResourceProperties('AWS::EC2::FlowLog', {
      ResourceType: 'VPC',
      TrafficType: 'ALL',
      LogDestinationType: 'cloud-watch-logs',
    });
    template.resourceCountIs('AWS::KMS::Key', 0);
    template.hasResourceProperties('AWS::Logs::LogGroup', {
      LogGroupName: `/dp-${name}/vpc/flow-logs`,
      RetentionInDays: retentionDays,
      KmsKeyId: platformKey,
    });
  });

  it("gives aws-cdk-lib's default security group provider function an encrypted log group with retention", () => {
    const logGroups = template.findResources('AWS::Logs::LogGroup', {
      Properties: { LogGroupName: Match.absent() },
    });
    expect(Object.keys(logGroups)).toEqual([expect.stringMatching(/^VpcRestrictDefaultSecurityGroupProviderLogs/)]);
    const [logGroupId] = Object.keys(logGroups);
    Template.fromJSON({ Resources: { [logGroupId]: logGroups[logGroupId] } }).hasResourceProperties(
      'AWS::Logs::LogGroup',
      Match.objectEquals({ KmsKeyId: platformKey, RetentionInDays: exampleEnvironment(name).logRetentionDays }),
    );
    template.hasResourceProperties('AWS::Lambda::Function', { LoggingConfig: { LogGroup: { Ref: logGroupId } } });
  });

  it('lets the flow log role write to the flow log group only', () => {
    const [logGroupId] = Object.keys(
      template.findResources('AWS::Logs::LogGroup', { Properties: { LogGroupName: `/dp-${name}/vpc/flow-logs` } }),
    );
    template.hasResourceProperties('AWS::IAM::Policy', {
      PolicyDocument: {
        Statement: [
          Match.objectLike({
            Action: ['logs:CreateLogStream', 'logs:DescribeLogStreams', 'logs:PutLogEvents'],
            Resource: { 'Fn::GetAtt': [logGroupId, 'Arn'] },
          }),
        ],
      },
    });
  });

  it('grants no wildcard action on a wildcard resource, and no managed policy beyond Lambda basic execution', () => {
    expectLeastPrivilege(template);
  });

  it('removes every rule from the default security group', () => {
    const [vpcId] = Object.keys(template.findResources('AWS::EC2::VPC'));
    template.hasResourceProperties('Custom::VpcRestrictDefaultSG', {
      DefaultSecurityGroupId: { 'Fn::GetAtt': [vpcId, 'DefaultSecurityGroup'] },
    });
  });
});

describe('NetworkStack removal policy', () => {
  it('retains the log groups where data is retained (prod)', () => {
    const { template } = networkStack(exampleEnvironment('prod'));
    const logGroups = Object.values(template.findResources('AWS::Logs::LogGroup'));
    expect(logGroups.map((logGroup) => [logGroup.DeletionPolicy, logGroup.UpdateReplacePolicy])).toEqual([
      ['Retain', 'Retain'],
      ['Retain', 'Retain'],
    ]);
  });

  it('deletes the log groups where storage.removalPolicy is destroy (dev)', () => {
    const { template } = networkStack(exampleEnvironment('dev'));
    const logGroups = Object.values(template.findResources('AWS::Logs::LogGroup'));
    expect(logGroups.map((logGroup) => logGroup.DeletionPolicy)).toEqual(['Delete', 'Delete']);
  });
});

describe('NetworkStack with NAT', () => {
  const { stack, template } = networkStack(withNetwork('dev', { natGateways: 1 }));

  it('adds public and Egress subnets, an internet gateway and exactly natGateways NAT gateways', () => {
    expect(subnetCidrs(template, 'Public')).toHaveLength(2);
    expect(subnetCidrs(template, 'Egress')).toHaveLength(2);
    expect(stack.vpc.selectSubnets({ subnetGroupName: 'Egress' }).subnets).toHaveLength(2);
    template.resourceCountIs('AWS::EC2::InternetGateway', 1);
    template.resourceCountIs('AWS::EC2::NatGateway', 1);
  });

  it('routes the Egress subnets to the internet through the NAT gateway only', () => {
    const [natId] = Object.keys(template.findResources('AWS::EC2::NatGateway'));
    const natRoutes = template.findResources('AWS::EC2::Route', { Properties: { NatGatewayId: { Ref: natId } } });
    expect(Object.keys(natRoutes)).toHaveLength(2);
    for (const route of Object.values(natRoutes)) {
      expect(route.Properties.DestinationCidrBlock).toBe('0.0.0.0/0');
    }
  });

  it('keeps the Data subnets on the same CIDRs as without NAT, so switching NAT on never moves the database', () => {
    const withoutNat = networkStack(exampleEnvironment('dev')).template;
    expect(subnetCidrs(template, 'Data')).toEqual(subnetCidrs(withoutNat, 'Data'));
  });

  it('puts the S3 endpoint on the Data, Public and Egress route tables', () => {
    const routeTables = Object.keys(template.findResources('AWS::EC2::RouteTable'));
    expect(routeTables).toHaveLength(6);
    const [endpoint] = Object.values(template.findResources('AWS::EC2::VPCEndpoint'));
    const endpointRouteTables = (endpoint.Properties.RouteTableIds as { Ref: string }[]).map((ref) => ref.Ref);
    expect(endpointRouteTables.sort()).toEqual(routeTables.sort());
  });
});

describe('NetworkStack synthesis', () => {
  it('needs no context lookup (synth works offline)', () => {
    const app = testApp();
    buildNetwork(app, exampleEnvironment('prod'));
    expect(app.synth().manifest.missing ?? []).toEqual([]);
  });
});
