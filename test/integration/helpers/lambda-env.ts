/**
 * The environment the Lambda handler modules read when they load (as in Lambda, where the stacks set it). Imported
 * first by the local data-path harness, so that importing `createHandler` from a handler module works locally.
 */
const ENVIRONMENT: Record<string, string> = {
  POWERTOOLS_LOG_LEVEL: 'SILENT',
  POWERTOOLS_METRICS_DISABLED: 'true',
  AWS_REGION: 'eu-west-1',
  MART_CLUSTER_ARN: 'arn:aws:rds:eu-west-1:222222222222:cluster:dp-dev-data-mart',
  MART_SECRET_ARN: 'arn:aws:secretsmanager:eu-west-1:222222222222:secret:dp-dev-mart-AbCdEf',
  MART_DATABASE: 'mart',
  // load-mart's own names (set by the DataMart stack).
  CLUSTER_ARN: 'arn:aws:rds:eu-west-1:222222222222:cluster:dp-dev-data-mart',
  SECRET_ARN: 'arn:aws:secretsmanager:eu-west-1:222222222222:secret:dp-dev-mart-AbCdEf',
  DATABASE_NAME: 'mart',
  MART_TABLES: JSON.stringify({ impressions: 'impressions', clicks: 'clicks' }),
  ARTIFACTS_BUCKET: 'dp-dev-artifacts-222222222222-eu-west-1',
  CURATED_BUCKET: 'dp-dev-curated-222222222222-eu-west-1',
  BATCH_SETTINGS: JSON.stringify({
    maxBytes: 536870912,
    maxWaitSeconds: 300,
    pollSeconds: 60,
    maxAttempts: 3,
    retryDelaySeconds: 300,
    batchLeaseSeconds: 3360,
    startLeaseSeconds: 300,
    maxIterations: 200,
  }),
  BATCH_STATE_MACHINE_ARN: 'arn:aws:states:eu-west-1:222222222222:stateMachine:dp-dev-batches',
  BATCH_START_LEASE_SECONDS: '300',
};

for (const [name, value] of Object.entries(ENVIRONMENT)) process.env[name] ??= value;
