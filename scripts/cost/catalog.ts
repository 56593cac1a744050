/**
 * What each CloudFormation resource type costs per month while the platform is idle (no data, no requests):
 * a priced charge (list prices of prices.ts), free at idle (billed only per use or per GB stored, with the reason), or
 * unpriced (it can carry a fixed cost this script does not know). A type in neither list is unpriced, never $0.
 */
import type { Template, TemplateResource } from './assembly';
import * as price from './prices';

/** One fixed monthly charge of one resource. `year1` / `year3`: the monthly amount in the last month of that year. */
export interface Charge {
  readonly kind: 'charge';
  /** What is billed, e.g. `KMS key (rotated every 365 days)`: charges of the same item are summed into one line. */
  readonly item: string;
  readonly quantity: number;
  readonly year1: number;
  readonly year3: number;
  /** The formula, with the list prices, e.g. `$0.40 per secret-month`. */
  readonly basis: string;
  /** Counted against CloudWatch's free tier of the account. */
  readonly freeTier?: 'dashboard' | 'alarm-metric';
}

export interface Free {
  readonly kind: 'free';
  readonly reason: string;
}

export interface Unpriced {
  readonly kind: 'unpriced';
  readonly reason: string;
}

export type Outcome = Charge | Free | Unpriced;

type Properties = Record<string, unknown>;
type Rule = (properties: Properties, template: Template) => Outcome[];

const monthly = (amount: number): string => `$${amount.toFixed(2)}`;
const hourly = (amount: number): string => `$${amount}/hour x ${price.HOURS_PER_MONTH} hours`;

function charge(
  item: string,
  quantity: number,
  unitMonthly: number,
  basis: string,
  freeTier?: Charge['freeTier'],
): Charge {
  const amount = round(unitMonthly * quantity);
  return { kind: 'charge', item, quantity, year1: amount, year3: amount, basis, freeTier };
}

/** Cents, so that sums of lines equal the printed total. */
export function round(amount: number): number {
  return Math.round(amount * 100) / 100;
}

const free = (reason: string): Free[] => [{ kind: 'free', reason }];
const unpriced = (reason: string): Unpriced[] => [{ kind: 'unpriced', reason }];

/** The monthly charge of a key in the last month of `year` (1-based): $1 plus $1 for each of its first two rotations. */
export function kmsKeyMonthly(rotationDays: number | undefined, year: number): number {
  const lastMonthStartDay = year * 365 - 30;
  const rotations = rotationDays === undefined ? 0 : Math.floor(lastMonthStartDay / rotationDays);
  return price.KMS_KEY_MONTH + price.KMS_ROTATION_SURCHARGE_MONTH * Math.min(rotations, price.KMS_MAX_BILLED_ROTATIONS);
}

const kmsKey: Rule = (p) => {
  if (p.KeySpec !== undefined && p.KeySpec !== 'SYMMETRIC_DEFAULT') {
    return [
      charge(`KMS key (${String(p.KeySpec)}, not rotated)`, 1, price.KMS_KEY_MONTH, `${monthly(1)} per key-month`),
    ];
  }
  const rotated = p.EnableKeyRotation === true;
  const days = rotated ? Number(p.RotationPeriodInDays ?? price.KMS_DEFAULT_ROTATION_DAYS) : undefined;
  return [
    {
      kind: 'charge',
      item: rotated ? `KMS key (rotated every ${days} days)` : 'KMS key (not rotated)',
      quantity: 1,
      year1: kmsKeyMonthly(days, 1),
      year3: kmsKeyMonthly(days, 3),
      basis: rotated
        ? `$${price.KMS_KEY_MONTH} per key-month + $${price.KMS_ROTATION_SURCHARGE_MONTH} for each of the first ${price.KMS_MAX_BILLED_ROTATIONS} rotations`
        : `$${price.KMS_KEY_MONTH} per key-month`,
    },
  ];
};

const SECRET_BASIS = `$${price.SECRET_MONTH.toFixed(2)} per secret-month`;
const secret = (item: string): Charge => charge(item, 1, price.SECRET_MONTH, SECRET_BASIS);

const dbCluster: Rule = (p) => {
  const outcomes: Outcome[] = [];
  if (p.ManageMasterUserPassword === true) outcomes.push(secret('Secrets Manager secret (RDS-managed master secret)'));
  if (p.EngineMode === 'serverless') return [...outcomes, ...unpriced('Aurora Serverless v1 cluster: ACU-hours')];
  // The cluster itself bills storage and I/O per use; its instances bill compute (see AWS::RDS::DBInstance).
  return outcomes.length > 0 ? outcomes : free('Aurora cluster: storage and I/O per use; compute is its instances');
};

const dbInstance: Rule = (p, template) => {
  const outcomes: Outcome[] = [];
  if (p.ManageMasterUserPassword === true) outcomes.push(secret('Secrets Manager secret (RDS-managed master secret)'));
  if (p.DBInstanceClass !== 'db.serverless') {
    return [...outcomes, ...unpriced(`RDS instance class ${String(p.DBInstanceClass)}: instance-hours`)];
  }
  const cluster = referencedResource(p.DBClusterIdentifier, template);
  const scaling = cluster?.Properties?.ServerlessV2ScalingConfiguration as { MinCapacity?: unknown } | undefined;
  const min = Number(scaling?.MinCapacity);
  if (!Number.isFinite(min)) {
    return [
      ...outcomes,
      ...unpriced('Aurora Serverless v2 instance whose cluster minimum capacity is not in the template'),
    ];
  }
  const role = p.PromotionTier === undefined || Number(p.PromotionTier) === 0 ? 'writer' : 'reader';
  if (min === 0) {
    outcomes.push({
      kind: 'charge',
      item: `Aurora Serverless v2 ${role} (minimum 0 ACU: pauses when idle)`,
      quantity: 1,
      year1: 0,
      year3: 0,
      basis: 'paused at 0 ACU: no compute charge while idle',
    });
    return outcomes;
  }
  outcomes.push(
    charge(
      `Aurora Serverless v2 ${role} (minimum ${min} ACU)`,
      1,
      min * price.AURORA_ACU_HOUR * price.HOURS_PER_MONTH,
      `${min} ACU x $${price.AURORA_ACU_HOUR}/ACU-hour x ${price.HOURS_PER_MONTH} hours`,
    ),
  );
  return outcomes;
};

const vpcEndpoint: Rule = (p) => {
  const type = String(p.VpcEndpointType ?? 'Gateway');
  if (type === 'Gateway') return free('gateway endpoint (S3, DynamoDB): no charge');
  if (type !== 'Interface') return unpriced(`VPC endpoint of type ${type}`);
  const azs = Array.isArray(p.SubnetIds) ? p.SubnetIds.length : 0;
  if (azs === 0) return unpriced('interface endpoint whose subnets are not listed in the template');
  return [
    charge(
      'VPC interface endpoint (per AZ)',
      azs,
      price.INTERFACE_ENDPOINT_AZ_HOUR * price.HOURS_PER_MONTH,
      `${hourly(price.INTERFACE_ENDPOINT_AZ_HOUR)} per AZ`,
    ),
  ];
};

const webAcl: Rule = (p) => {
  const rules = Array.isArray(p.Rules) ? (p.Rules as { Statement?: Record<string, unknown> }[]) : [];
  const outcomes: Outcome[] = [
    charge('WAF web ACL', 1, price.WAF_WEB_ACL_MONTH, `$${price.WAF_WEB_ACL_MONTH} per web ACL-month`),
  ];
  if (rules.length > 0) {
    outcomes.push(charge('WAF rule', rules.length, price.WAF_RULE_MONTH, `$${price.WAF_RULE_MONTH} per rule-month`));
  }
  for (const rule of rules) {
    const group = (rule.Statement?.ManagedRuleGroupStatement as { Name?: string } | undefined)?.Name;
    if (group && price.WAF_PAID_MANAGED_RULE_GROUPS.includes(group)) {
      outcomes.push(...unpriced(`WAF managed rule group ${group}: subscription and request fees`));
    }
  }
  return outcomes;
};

interface MetricDataQuery {
  readonly Expression?: string;
  readonly MetricStat?: { readonly Period?: number };
}

/** An alarm bills per metric it evaluates: one, each metric of a metric-math expression, three for anomaly bands. */
const alarm: Rule = (p) => {
  const queries = Array.isArray(p.Metrics) ? (p.Metrics as MetricDataQuery[]) : undefined;
  if (queries === undefined) return alarmMetrics(1, Number(p.Period ?? 60) < 60, false);
  if (queries.some((query) => /^\s*SELECT\b/i.test(query.Expression ?? ''))) {
    return unpriced('CloudWatch Metrics Insights alarm: billed per metric the query analyzes');
  }
  const anomaly = queries.some((query) => /ANOMALY_DETECTION_BAND/i.test(query.Expression ?? ''));
  const stats = queries.filter((query) => query.MetricStat !== undefined);
  const highResolution = stats.some((query) => Number(query.MetricStat?.Period ?? 60) < 60);
  return alarmMetrics(stats.length, highResolution, anomaly);
};

function alarmMetrics(metrics: number, highResolution: boolean, anomaly: boolean): Outcome[] {
  const count = metrics * (anomaly ? price.CLOUDWATCH_ANOMALY_DETECTION_METRICS : 1);
  if (highResolution) {
    return [
      charge(
        'CloudWatch alarm metric (high resolution)',
        count,
        price.CLOUDWATCH_HIGH_RESOLUTION_ALARM_METRIC_MONTH,
        `$${price.CLOUDWATCH_HIGH_RESOLUTION_ALARM_METRIC_MONTH.toFixed(2)} per alarm metric-month`,
      ),
    ];
  }
  return [
    charge(
      'CloudWatch alarm metric (standard resolution)',
      count,
      price.CLOUDWATCH_ALARM_METRIC_MONTH,
      `$${price.CLOUDWATCH_ALARM_METRIC_MONTH.toFixed(2)} per alarm metric-month`,
      'alarm-metric',
    ),
  ];
}

const pipeline: Rule = (p) => {
  if (p.PipelineType === 'V2') {
    return [
      {
        kind: 'charge',
        item: 'CodePipeline V2 pipeline',
        quantity: 1,
        year1: 0,
        year3: 0,
        basis: `$${price.CODEPIPELINE_V2_ACTION_MINUTE} per action-minute only while it runs (100 minutes a month free)`,
      },
    ];
  }
  return [
    charge(
      'CodePipeline V1 pipeline',
      1,
      price.CODEPIPELINE_V1_MONTH,
      `$${price.CODEPIPELINE_V1_MONTH} per active pipeline-month`,
    ),
  ];
};

const usageOnly = (item: string, basis: string): Charge => ({
  kind: 'charge',
  item,
  quantity: 1,
  year1: 0,
  year3: 0,
  basis,
});

const RULES: Readonly<Record<string, Rule>> = {
  'AWS::KMS::Key': kmsKey,
  // Each replica in another region is billed as a secret of its own.
  'AWS::SecretsManager::Secret': (p) => {
    const replicas = Array.isArray(p.ReplicaRegions) ? p.ReplicaRegions.length : 0;
    return [
      secret('Secrets Manager secret'),
      ...(replicas > 0 ? [charge('Secrets Manager secret replica', replicas, price.SECRET_MONTH, SECRET_BASIS)] : []),
    ];
  },
  'AWS::RDS::DBCluster': dbCluster,
  'AWS::RDS::DBInstance': dbInstance,
  'AWS::EC2::NatGateway': () => [
    charge('NAT gateway', 1, price.NAT_GATEWAY_HOUR * price.HOURS_PER_MONTH, hourly(price.NAT_GATEWAY_HOUR)),
  ],
  'AWS::EC2::EIP': () => [
    charge(
      'Public IPv4 address (Elastic IP)',
      1,
      price.PUBLIC_IPV4_HOUR * price.HOURS_PER_MONTH,
      hourly(price.PUBLIC_IPV4_HOUR),
    ),
  ],
  'AWS::EC2::VPCEndpoint': vpcEndpoint,
  'AWS::WAFv2::WebACL': webAcl,
  'AWS::CloudWatch::Dashboard': () => [
    charge(
      'CloudWatch dashboard',
      1,
      price.CLOUDWATCH_DASHBOARD_MONTH,
      `$${price.CLOUDWATCH_DASHBOARD_MONTH} per dashboard-month`,
      'dashboard',
    ),
  ],
  'AWS::CloudWatch::Alarm': alarm,
  'AWS::CloudWatch::CompositeAlarm': () => [
    charge(
      'CloudWatch composite alarm',
      1,
      price.CLOUDWATCH_COMPOSITE_ALARM_MONTH,
      `$${price.CLOUDWATCH_COMPOSITE_ALARM_MONTH.toFixed(2)} per composite alarm-month`,
    ),
  ],
  'AWS::CloudTrail::Trail': () => [
    usageOnly(
      'CloudTrail trail',
      `no fixed charge: data events $${price.CLOUDTRAIL_DATA_EVENTS_100K.toFixed(2)} per 100,000; a second copy of management events is billed too`,
    ),
  ],
  'AWS::CloudTrail::EventDataStore': () => [
    usageOnly('CloudTrail Lake event data store', 'no fixed charge: ingestion and retention per GB'),
  ],
  'AWS::CodePipeline::Pipeline': pipeline,
  'AWS::Glue::TableOptimizer': (p) =>
    p.Type === 'compaction'
      ? free(`compaction runs only when small files accumulate ($${price.GLUE_DPU_HOUR}/DPU-hour)`)
      : unpriced(
          `Glue table optimizer (${String(p.Type)}): runs daily even at idle, $${price.GLUE_DPU_HOUR}/DPU-hour, DPUs per run not published`,
        ),
  'AWS::Glue::Crawler': (p) =>
    p.Schedule === undefined
      ? free('crawler without a schedule: DPU-hours only when started')
      : unpriced('scheduled Glue crawler: DPU-hours per run'),
  'AWS::Glue::Trigger': (p) =>
    p.Type === 'SCHEDULED'
      ? unpriced('scheduled Glue trigger: the jobs it starts bill DPU-hours')
      : free('on-demand or conditional trigger'),
  'AWS::ApiGateway::Stage': (p) =>
    p.CacheClusterEnabled === true
      ? unpriced(
          `API Gateway cache (size ${String(p.CacheClusterSize ?? '0.5')} GB): from $${price.API_GATEWAY_CACHE_0_5_GB_HOUR}/hour`,
        )
      : free('stage without a cache: per request'),
  'AWS::DynamoDB::Table': (p) =>
    p.BillingMode === 'PAY_PER_REQUEST'
      ? free('on-demand table: per request and GB stored')
      : unpriced('DynamoDB table with provisioned capacity: capacity-unit hours'),
  'AWS::Lambda::Function': () => free('per request and GB-second'),
  'AWS::Lambda::Alias': (p) =>
    p.ProvisionedConcurrencyConfig === undefined
      ? free('alias')
      : unpriced('provisioned concurrency: GB-seconds while allocated'),
  'AWS::Lambda::Version': (p) =>
    p.ProvisionedConcurrencyConfig === undefined
      ? free('version')
      : unpriced('provisioned concurrency: GB-seconds while allocated'),
};

/** Types known to cost nothing at idle, each with the reason. */
export const FREE_AT_IDLE: Readonly<Record<string, string>> = {
  ...Object.fromEntries(
    [
      'Account',
      'Authorizer',
      'Deployment',
      'GatewayResponse',
      'Method',
      'Model',
      'RequestValidator',
      'Resource',
      'RestApi',
      'UsagePlan',
      'UsagePlanKey',
      'ApiKey',
    ].map((name) => [`AWS::ApiGateway::${name}`, 'API Gateway: per request']),
  ),
  'AWS::Athena::WorkGroup': 'per TB scanned',
  'AWS::CDK::Metadata': 'template metadata',
  'AWS::CodeBuild::Project': 'per build minute',
  'AWS::Cognito::UserPool': 'per monthly active user (Essentials: first 10,000 free)',
  'AWS::Cognito::UserPoolClient': 'part of the user pool',
  'AWS::Cognito::UserPoolDomain': 'part of the user pool',
  'AWS::Cognito::UserPoolGroup': 'part of the user pool',
  'AWS::EC2::FlowLog': 'per GB of flow log data',
  'AWS::EC2::InternetGateway': 'no charge',
  'AWS::EC2::Route': 'no charge',
  'AWS::EC2::RouteTable': 'no charge',
  'AWS::EC2::SecurityGroup': 'no charge',
  'AWS::EC2::SecurityGroupEgress': 'no charge',
  'AWS::EC2::SecurityGroupIngress': 'no charge',
  'AWS::EC2::Subnet': 'no charge',
  'AWS::EC2::SubnetRouteTableAssociation': 'no charge',
  'AWS::EC2::VPC': 'no charge',
  'AWS::EC2::VPCGatewayAttachment': 'no charge',
  'AWS::Events::Rule': 'AWS service events: no charge',
  'AWS::Glue::Database': 'Data Catalog: first million objects free',
  'AWS::Glue::Job': 'per DPU-hour while it runs',
  'AWS::Glue::SecurityConfiguration': 'no charge',
  'AWS::Glue::Table': 'Data Catalog: first million objects free',
  'AWS::IAM::InstanceProfile': 'no charge',
  'AWS::IAM::ManagedPolicy': 'no charge',
  'AWS::IAM::Policy': 'no charge',
  'AWS::IAM::Role': 'no charge',
  'AWS::KinesisFirehose::DeliveryStream': 'Direct PUT: per GB ingested',
  'AWS::KMS::Alias': 'no charge',
  'AWS::Lambda::EventInvokeConfig': 'no charge',
  'AWS::Lambda::EventSourceMapping': 'SQS polling: no charge',
  'AWS::Lambda::Permission': 'no charge',
  'AWS::Logs::LogGroup': 'per GB ingested and stored',
  'AWS::Logs::LogStream': 'part of the log group',
  'AWS::Logs::MetricFilter': 'no charge (its metric is a custom metric only when data arrives)',
  'AWS::Logs::SubscriptionFilter': 'no charge',
  'AWS::RDS::DBClusterParameterGroup': 'no charge',
  'AWS::RDS::DBParameterGroup': 'no charge',
  'AWS::RDS::DBSubnetGroup': 'no charge',
  'AWS::S3::Bucket': 'per GB stored and per request (empty: $0)',
  'AWS::S3::BucketPolicy': 'no charge',
  'AWS::SecretsManager::ResourcePolicy': 'no charge',
  'AWS::SecretsManager::RotationSchedule': 'rotation runs a Lambda function: per request',
  'AWS::SecretsManager::SecretTargetAttachment': 'no charge',
  'AWS::SNS::Subscription': 'per notification',
  'AWS::SNS::Topic': 'per request',
  'AWS::SNS::TopicPolicy': 'no charge',
  'AWS::SQS::Queue': 'per request',
  'AWS::SQS::QueuePolicy': 'no charge',
  'AWS::StepFunctions::StateMachine': 'Standard: per state transition',
  'AWS::WAFv2::WebACLAssociation': 'no charge (the web ACL is priced)',
};

/** What one resource costs at idle. Custom resources run a Lambda function on deploy only. */
export function priceResource(resource: TemplateResource, template: Template): Outcome[] {
  const rule = RULES[resource.Type];
  if (rule) return rule(resource.Properties ?? {}, template);
  const reason = FREE_AT_IDLE[resource.Type];
  if (reason !== undefined) return free(reason);
  if (resource.Type.startsWith('Custom::') || resource.Type === 'AWS::CloudFormation::CustomResource') {
    return free('custom resource: its function runs on deploy only');
  }
  if (resource.Type === 'AWS::CloudFormation::Stack') return free('nested stack: its resources are priced');
  return unpriced(`${resource.Type} is not in scripts/cost/catalog.ts: it may carry a fixed cost`);
}

/** The resource a `{ Ref: ... }` points at in the same template. */
function referencedResource(value: unknown, template: Template): TemplateResource | undefined {
  const ref = (value as { Ref?: unknown } | undefined)?.Ref;
  return typeof ref === 'string' ? template.Resources?.[ref] : undefined;
}
