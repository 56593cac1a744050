/**
 * List prices the cost figures use, as named constants with their source. Region: us-east-1 list prices (the example
 * config deploys to eu-west-1, whose prices for these services are the same or within a few percent; check the pages
 * for your region). Prices change: each constant names the page to re-check.
 */

/** AWS Glue ETL (Spark) jobs: per DPU-hour, billed per second with a 1-minute minimum (Glue 2.0 and later). https://aws.amazon.com/glue/pricing/ */
export const GLUE_DPU_HOUR = 0.44;
export const GLUE_MINIMUM_SECONDS = 60;

/** AWS Step Functions Standard workflows: per state transition ($0.025 per 1,000). https://aws.amazon.com/step-functions/pricing/ */
export const STEP_FUNCTIONS_TRANSITION = 0.025 / 1000;

/** AWS Lambda on arm64: per GB-second of duration, and per request ($0.20 per million). https://aws.amazon.com/lambda/pricing/ */
export const LAMBDA_ARM_GB_SECOND = 0.0000133334;
export const LAMBDA_REQUEST = 0.2 / 1_000_000;

/** Amazon SQS standard queues: per request (each 64 KB chunk), $0.40 per million. https://aws.amazon.com/sqs/pricing/ */
export const SQS_REQUEST = 0.4 / 1_000_000;

/** RDS Data API: per API request ($0.35 per million, first billion a month). https://aws.amazon.com/rds/aurora/pricing/ (Data API) */
export const DATA_API_REQUEST = 0.35 / 1_000_000;

/** Amazon S3 Standard requests: PUT/COPY/POST/LIST $0.005 per 1,000; GET $0.0004 per 1,000. https://aws.amazon.com/s3/pricing/ */
export const S3_PUT_REQUEST = 0.005 / 1000;
export const S3_GET_REQUEST = 0.0004 / 1000;

/** Amazon Data Firehose Direct PUT ingestion: per GB, each record rounded up to a multiple of 5 KB. https://aws.amazon.com/firehose/pricing/ */
export const FIREHOSE_GB = 0.029;
export const FIREHOSE_RECORD_ROUNDING_BYTES = 5 * 1024;

/** Amazon API Gateway REST APIs: per million requests (first 333 million a month). https://aws.amazon.com/api-gateway/pricing/ */
export const API_GATEWAY_REST_REQUEST = 3.5 / 1_000_000;

/** Aurora Serverless v2 (Aurora Standard): per ACU-hour. https://aws.amazon.com/rds/aurora/pricing/ */
export const AURORA_ACU_HOUR = 0.12;
/** The least an awake Serverless v2 instance bills (it pauses to 0 ACU only when idle). */
export const AURORA_MIN_AWAKE_ACU = 0.5;

// Fixed monthly charges at idle (`npm run cost`, scripts/cost/). Same region as above: us-east-1 list prices.

/** The region the list prices above and below are for (`npm run cost` prints it next to every account's region). */
export const PRICE_REGION = 'us-east-1';
/** Hours in a billing month, as AWS's pricing examples count them. */
export const HOURS_PER_MONTH = 730;

/** AWS KMS customer-managed key: per key per month. https://aws.amazon.com/kms/pricing/ */
export const KMS_KEY_MONTH = 1;
/**
 * AWS KMS automatic rotation: each of the first two rotations of a key adds one more key-month ($1/month), later
 * rotations add nothing, so a key rotated yearly costs $1, $2, then $3 a month from year 3. https://aws.amazon.com/kms/pricing/
 */
export const KMS_ROTATION_SURCHARGE_MONTH = 1;
export const KMS_MAX_BILLED_ROTATIONS = 2;
/** KMS rotation period when a key sets none (EnableKeyRotation without RotationPeriodInDays). https://docs.aws.amazon.com/kms/latest/developerguide/rotate-keys.html */
export const KMS_DEFAULT_ROTATION_DAYS = 365;

/** AWS Secrets Manager: per secret per month (RDS-managed master secrets included). https://aws.amazon.com/secrets-manager/pricing/ */
export const SECRET_MONTH = 0.4;

/** Amazon VPC NAT gateway: per gateway-hour (data processed is extra). https://aws.amazon.com/vpc/pricing/ */
export const NAT_GATEWAY_HOUR = 0.045;
/** Public IPv4 address (an Elastic IP): per address-hour. https://aws.amazon.com/vpc/pricing/ (Public IPv4 Address) */
export const PUBLIC_IPV4_HOUR = 0.005;
/** AWS PrivateLink interface VPC endpoint: per endpoint-hour in each Availability Zone. https://aws.amazon.com/privatelink/pricing/ */
export const INTERFACE_ENDPOINT_AZ_HOUR = 0.01;

/** AWS WAF: per web ACL per month, and per rule (a managed rule group counts as one) per month. https://aws.amazon.com/waf/pricing/ */
export const WAF_WEB_ACL_MONTH = 5;
export const WAF_RULE_MONTH = 1;
/** AWS WAF managed rule groups with their own subscription and request fees on top of the rule (not priced here). https://aws.amazon.com/waf/pricing/ */
export const WAF_PAID_MANAGED_RULE_GROUPS: readonly string[] = [
  'AWSManagedRulesBotControlRuleSet',
  'AWSManagedRulesATPRuleSet',
  'AWSManagedRulesACFPRuleSet',
  'AWSManagedRulesAntiDDoSRuleSet',
];

/** Amazon CloudWatch dashboard: per dashboard per month. https://aws.amazon.com/cloudwatch/pricing/ */
export const CLOUDWATCH_DASHBOARD_MONTH = 3;
/** Amazon CloudWatch alarm: per alarm metric per month, standard (period >= 60 s) and high resolution. https://aws.amazon.com/cloudwatch/pricing/ */
export const CLOUDWATCH_ALARM_METRIC_MONTH = 0.1;
export const CLOUDWATCH_HIGH_RESOLUTION_ALARM_METRIC_MONTH = 0.3;
/** An anomaly detection alarm bills as three alarm metrics (the metric and the band's two bounds). https://aws.amazon.com/cloudwatch/pricing/ */
export const CLOUDWATCH_ANOMALY_DETECTION_METRICS = 3;
/** Amazon CloudWatch composite alarm: per alarm per month. https://aws.amazon.com/cloudwatch/pricing/ */
export const CLOUDWATCH_COMPOSITE_ALARM_MONTH = 0.5;
/** CloudWatch's always-free tier, per account: 3 dashboards (up to 50 metrics each), 10 standard-resolution alarm metrics. https://aws.amazon.com/cloudwatch/pricing/ (Free tier) */
export const CLOUDWATCH_FREE_DASHBOARDS = 3;
export const CLOUDWATCH_FREE_ALARM_METRICS = 10;

/** AWS CodePipeline V1: per active pipeline per month (V2 bills $0.002 per action execution minute, 100 minutes a month free). https://aws.amazon.com/codepipeline/pricing/ */
export const CODEPIPELINE_V1_MONTH = 1;
export const CODEPIPELINE_V2_ACTION_MINUTE = 0.002;

/** Amazon API Gateway REST API cache, smallest size (0.5 GB): per hour. https://aws.amazon.com/api-gateway/pricing/ */
export const API_GATEWAY_CACHE_0_5_GB_HOUR = 0.02;

/** AWS CloudTrail data events: per 100,000 events delivered (management events' first copy is free). https://aws.amazon.com/cloudtrail/pricing/ */
export const CLOUDTRAIL_DATA_EVENTS_100K = 0.1;
