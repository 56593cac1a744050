import { Stack, type StackProps } from 'aws-cdk-lib';
import type * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import type * as logs from 'aws-cdk-lib/aws-logs';
import type * as sns from 'aws-cdk-lib/aws-sns';
import type * as sqs from 'aws-cdk-lib/aws-sqs';
import type { Construct } from 'constructs';
import type { DatasetConfig, EnvironmentConfig } from '../../config/schema';
import { OperationsDashboards } from '../constructs/operations-dashboards';
import { PlatformAlarms } from '../constructs/platform-alarms';

export interface OperationsStackProps extends StackProps {
  /** `<platformPrefix>-<env>`, e.g. `dp-dev`. */
  readonly prefix: string;
  readonly environment: EnvironmentConfig;
  readonly datasets: readonly DatasetConfig[];
  /** The environment's alert topic (Orchestration stack). */
  readonly alertTopic: sns.ITopic;
  /** The REST API's name and stage (Api stack). */
  readonly apiName: string;
  readonly apiStage: string;
  /** Firehose stream per dataset and their delivery error log group (Api stack). */
  readonly eventStreams: { readonly streamNames: Readonly<Record<string, string>>; readonly logGroup: logs.ILogGroup };
  /** The data mart cluster identifier (DataMart stack). */
  readonly martClusterIdentifier: string;
  /** The orchestration dead-letter queue, alarmed here. */
  readonly orchestrationDeadLetterQueue: sqs.IQueue;
  /** The other dead-letter queues with the alarm their construct owns (stage A, exports), by a label. */
  readonly alarmedDeadLetterQueues: Readonly<
    Record<string, { readonly queue: sqs.IQueue; readonly alarm: cloudwatch.IAlarm }>
  >;
}

/**
 * What an operator watches: the environment's alarms (one per failure path, and the composite to page on) and its two
 * dashboards. An eighth stack beyond DESIGN's seven, deployed last: it reads every other stack and none reads it, so
 * dashboards and alarms change without touching the stacks that hold data.
 */
export class OperationsStack extends Stack {
  readonly alarms: PlatformAlarms;
  readonly dashboards: OperationsDashboards;

  constructor(scope: Construct, id: string, props: OperationsStackProps) {
    super(scope, id, props);
    const { prefix, environment } = props;
    const others = Object.values(props.alarmedDeadLetterQueues).map(({ alarm }) => alarm);
    this.alarms = new PlatformAlarms(this, 'Alarms', {
      prefix,
      alertTopic: props.alertTopic,
      freshnessAlarmMinutes: environment.etl.freshnessAlarmMinutes,
      apiName: props.apiName,
      orchestrationDeadLetterQueue: props.orchestrationDeadLetterQueue,
      firehoseDeliveryLogGroup: props.eventStreams.logGroup,
      otherAlarms: others,
    });
    this.dashboards = new OperationsDashboards(this, 'Dashboards', {
      prefix,
      datasets: props.datasets,
      apiName: props.apiName,
      apiStage: props.apiStage,
      martClusterIdentifier: props.martClusterIdentifier,
      eventStreamNames: props.eventStreams.streamNames,
      deadLetterQueues: {
        orchestration: props.orchestrationDeadLetterQueue,
        ...Object.fromEntries(
          Object.entries(props.alarmedDeadLetterQueues).map(([label, { queue }]) => [label, queue]),
        ),
      },
      alarms: [this.alarms.composite, ...others, ...Object.values(this.alarms.alarms)],
      freshnessAlarmMinutes: environment.etl.freshnessAlarmMinutes,
    });
  }
}
