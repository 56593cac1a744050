import { Duration } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as actions from 'aws-cdk-lib/aws-cloudwatch-actions';
import * as logs from 'aws-cdk-lib/aws-logs';
import type * as sns from 'aws-cdk-lib/aws-sns';
import type * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import {
  FIREHOSE_DELIVERY_ERRORS,
  METRICS_NAMESPACE,
  PLATFORM_METRICS,
  PLATFORM_SERVICE,
} from '../../lambda/shared/metrics-contract';

/** The runbook of every alarm: a heading of docs/operations.md (the tests check each anchor exists). */
export const RUNBOOKS = {
  composite: 'platform-alarm',
  batchFailed: 'batch-failed',
  freshness: 'freshness',
  glueJobFailed: 'glue-job-failed',
  orchestrationDeadLetters: 'orchestration-dead-letters',
  api5xx: 'api-5xx-rate',
  apiLatency: 'api-p99-latency',
  firehoseDeliveryFailed: 'firehose-delivery-failed',
  dataApiErrors: 'data-api-errors',
  lambdaErrors: 'lambda-errors',
  lambdaThrottles: 'lambda-throttles',
} as const;

/** Where an alarm description points: `Runbook: docs/operations.md#<anchor>`. */
export function runbookLink(anchor: string): string {
  return `Runbook: docs/operations.md#${anchor}`;
}

/** API 5xx share of requests that alarms (5 minutes, two periods out of three). */
export const API_5XX_RATE_THRESHOLD = 0.05;
/** API p99 latency that alarms, ms (three periods of 5 minutes in a row: one resume of the mart does not). */
export const API_P99_LATENCY_THRESHOLD_MS = 10_000;
/** Failed Data API calls per 5 minutes that alarm (a rare failed statement is retried by its caller). */
export const DATA_API_ERRORS_THRESHOLD = 5;
/** Lambda errors per 5 minutes that alarm (two periods of three: one retried failure does not). */
export const LAMBDA_ERRORS_THRESHOLD = 3;
/** Lambda throttles per 5 minutes that alarm (two periods of three). */
export const LAMBDA_THROTTLES_THRESHOLD = 10;

export interface PlatformAlarmsProps {
  /** `<platformPrefix>-<env>`: alarms are named `<prefix>-<what>`. */
  readonly prefix: string;
  /** The environment's alert topic: every alarm, the composite included, notifies it. */
  readonly alertTopic: sns.ITopic;
  /** `etl.freshnessAlarmMinutes`. */
  readonly freshnessAlarmMinutes: number;
  /** The REST API's name (the ApiName dimension of AWS/ApiGateway). */
  readonly apiName: string;
  /** The orchestration dead-letter queue (undeliverable events, failed job-auditor invocations). */
  readonly orchestrationDeadLetterQueue: sqs.IQueue;
  /** The one log group the Firehose streams write their delivery errors to. */
  readonly firehoseDeliveryLogGroup: logs.ILogGroup;
  /** Alarms other constructs own (dead-letter queues of stage A and exports): part of the composite. */
  readonly otherAlarms: readonly cloudwatch.IAlarm[];
}

/**
 * One alarm per failure path of the platform and one composite alarm over them for paging; every alarm notifies the
 * alert topic and names its runbook. Each alarm reads one metric that does not grow with datasets or functions:
 * per-environment series (this environment is its own account), so Dev stays inside CloudWatch's free ten alarm
 * metrics plus two (test/lib/stacks/operations-stack.test.ts counts them). All treat missing data as not breaching: an idle platform
 * writes no data points and stays OK.
 */
export class PlatformAlarms extends Construct {
  /** The alarms created here, by construct ID. */
  readonly alarms: Record<string, cloudwatch.Alarm> = {};
  readonly composite: cloudwatch.CompositeAlarm;
  /** Counts Firehose delivery error lines (Firehose has no account-wide failure metric). */
  readonly firehoseErrorsFilter: logs.MetricFilter;
  private readonly prefix: string;
  private readonly alertTopic: sns.ITopic;

  constructor(scope: Construct, id: string, props: PlatformAlarmsProps) {
    super(scope, id);
    this.prefix = props.prefix;
    this.alertTopic = props.alertTopic;
    const fiveMinutes = Duration.minutes(5);
    const platform = (metricName: string, statistic: string) =>
      new cloudwatch.Metric({
        namespace: METRICS_NAMESPACE,
        metricName,
        dimensionsMap: { service: PLATFORM_SERVICE },
        statistic,
        period: fiveMinutes,
      });
    // Account-level AWS/Lambda metrics (no FunctionName): each environment is its own account, so these are the
    // platform's functions (and the CDK providers it deploys) and one alarm metric each, whatever the function count.
    const lambdaAccount = (metricName: string) =>
      new cloudwatch.Metric({ namespace: 'AWS/Lambda', metricName, statistic: 'Sum', period: fiveMinutes });
    const api = (metricName: string, statistic: string) =>
      new cloudwatch.Metric({
        namespace: 'AWS/ApiGateway',
        metricName,
        dimensionsMap: { ApiName: props.apiName },
        statistic,
        period: fiveMinutes,
      });

    this.firehoseErrorsFilter = new logs.MetricFilter(this, 'FirehoseDeliveryErrors', {
      logGroup: props.firehoseDeliveryLogGroup,
      // Firehose writes only delivery errors to this group (one JSON line each, with an errorCode).
      filterPattern: logs.FilterPattern.allEvents(),
      metricNamespace: METRICS_NAMESPACE,
      metricName: FIREHOSE_DELIVERY_ERRORS,
      metricValue: '1',
    });

    const atLeast = cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD;
    const above = cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD;
    this.alarm('BatchFailed', {
      metric: platform(PLATFORM_METRICS.batchesFailed, 'Sum'),
      threshold: 1,
      comparisonOperator: atLeast,
      what: 'A stage B batch attempt failed (curate job, mart load or completion); it is retried whole.',
      runbook: RUNBOOKS.batchFailed,
    });
    this.alarm('Freshness', {
      metric: platform(PLATFORM_METRICS.oldestStagedAge, 'Maximum'),
      threshold: props.freshnessAlarmMinutes * 60,
      comparisonOperator: above,
      what: `A staged run has waited more than ${props.freshnessAlarmMinutes} minutes (etl.freshnessAlarmMinutes) for its batch.`,
      runbook: RUNBOOKS.freshness,
    });
    this.alarm('GlueJobFailed', {
      metric: platform(PLATFORM_METRICS.glueJobRunsUnsuccessful, 'Sum'),
      threshold: 1,
      comparisonOperator: atLeast,
      what: 'A curate Glue job run ended FAILED, TIMEOUT or STOPPED.',
      runbook: RUNBOOKS.glueJobFailed,
    });
    this.alarm('OrchestrationDeadLetters', {
      metric: props.orchestrationDeadLetterQueue.metricApproximateNumberOfMessagesVisible({
        period: fiveMinutes,
        statistic: 'Maximum',
      }),
      threshold: 1,
      comparisonOperator: atLeast,
      what: 'An event EventBridge could not deliver, or a job-auditor invocation that failed every retry, is in the orchestration dead-letter queue.',
      runbook: RUNBOOKS.orchestrationDeadLetters,
    });
    this.alarm('Api5xxRate', {
      // The Average of 5XXError is the share of requests answered 5xx.
      metric: api('5XXError', 'Average'),
      threshold: API_5XX_RATE_THRESHOLD,
      comparisonOperator: above,
      evaluationPeriods: 3,
      datapointsToAlarm: 2,
      what: `More than ${API_5XX_RATE_THRESHOLD * 100}% of API requests were answered 5xx in two 5-minute periods of three.`,
      runbook: RUNBOOKS.api5xx,
    });
    this.alarm('ApiLatency', {
      metric: api('Latency', 'p99'),
      threshold: API_P99_LATENCY_THRESHOLD_MS,
      comparisonOperator: above,
      evaluationPeriods: 3,
      datapointsToAlarm: 3,
      what: `API p99 latency above ${API_P99_LATENCY_THRESHOLD_MS} ms for 15 minutes.`,
      runbook: RUNBOOKS.apiLatency,
    });
    this.alarm('FirehoseDeliveryFailed', {
      metric: this.firehoseErrorsFilter.metric({ statistic: 'Sum', period: fiveMinutes }),
      threshold: 1,
      comparisonOperator: atLeast,
      what: 'A Firehose event stream could not deliver to landing (it retries for 24 hours, then the records are lost).',
      runbook: RUNBOOKS.firehoseDeliveryFailed,
    });
    this.alarm('DataApiErrors', {
      metric: platform(PLATFORM_METRICS.dataApiErrors, 'Sum'),
      threshold: DATA_API_ERRORS_THRESHOLD,
      comparisonOperator: atLeast,
      what: `${DATA_API_ERRORS_THRESHOLD} or more Data API calls failed in 5 minutes (not counting a resuming cluster).`,
      runbook: RUNBOOKS.dataApiErrors,
    });
    this.alarm('LambdaErrors', {
      metric: lambdaAccount('Errors'),
      threshold: LAMBDA_ERRORS_THRESHOLD,
      comparisonOperator: atLeast,
      evaluationPeriods: 3,
      datapointsToAlarm: 2,
      what: `Lambda functions of this account failed ${LAMBDA_ERRORS_THRESHOLD} or more times in two 5-minute periods of three.`,
      runbook: RUNBOOKS.lambdaErrors,
    });
    this.alarm('LambdaThrottles', {
      metric: lambdaAccount('Throttles'),
      threshold: LAMBDA_THROTTLES_THRESHOLD,
      comparisonOperator: atLeast,
      evaluationPeriods: 3,
      datapointsToAlarm: 2,
      what: `Lambda invocations of this account were throttled ${LAMBDA_THROTTLES_THRESHOLD} or more times in two 5-minute periods of three.`,
      runbook: RUNBOOKS.lambdaThrottles,
    });

    const all: cloudwatch.IAlarm[] = [...props.otherAlarms, ...Object.values(this.alarms)];
    this.composite = new cloudwatch.CompositeAlarm(this, 'Composite', {
      compositeAlarmName: `${props.prefix}-platform`,
      alarmDescription: `Any alarm of ${props.prefix} is in ALARM: the one to page on. ${runbookLink(RUNBOOKS.composite)}`,
      alarmRule: cloudwatch.AlarmRule.anyOf(
        ...all.map((alarm) => cloudwatch.AlarmRule.fromAlarm(alarm, cloudwatch.AlarmState.ALARM)),
      ),
    });
    this.composite.addAlarmAction(new actions.SnsAction(props.alertTopic));
  }

  private alarm(
    id: string,
    options: {
      metric: cloudwatch.IMetric;
      threshold: number;
      comparisonOperator: cloudwatch.ComparisonOperator;
      evaluationPeriods?: number;
      datapointsToAlarm?: number;
      what: string;
      runbook: string;
    },
  ): void {
    const name = id
      .replace(/([a-z0-9])([A-Z])/g, '$1-$2')
      .replace(/([a-z])([0-9])/g, '$1-$2')
      .toLowerCase();
    const alarm = new cloudwatch.Alarm(this, id, {
      alarmName: `${this.prefix}-${name}`,
      alarmDescription: `${options.what} ${runbookLink(options.runbook)}`,
      metric: options.metric,
      threshold: options.threshold,
      comparisonOperator: options.comparisonOperator,
      evaluationPeriods: options.evaluationPeriods ?? 1,
      datapointsToAlarm: options.datapointsToAlarm,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
    });
    alarm.addAlarmAction(new actions.SnsAction(this.alertTopic));
    this.alarms[id] = alarm;
  }
}
