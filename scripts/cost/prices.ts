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
