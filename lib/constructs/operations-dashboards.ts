import { Duration } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import type * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { type DatasetConfig, dimensionBuckets } from '../../config/schema';
import {
  FIREHOSE_DELIVERY_ERRORS,
  JOB_AUDITOR_METRICS,
  MART_LOAD_METRICS,
  METRICS_NAMESPACE,
  PLATFORM_METRICS,
  PLATFORM_SERVICE,
  STAGE_A_METRICS,
  STAGE_A_OBJECT_METRICS,
  STAGE_B_METRICS,
} from '../../lambda/shared/metrics-contract';
import { API_ROUTE_KEYS, splitRouteKey } from '../assets/api/routes';

/** The `service` dimension of each function's metrics (its POWERTOOLS_SERVICE_NAME: the handler directory). */
export const METRIC_SERVICES = {
  validate: 'validate',
  batch: 'batch',
  jobAuditor: 'job-auditor',
  loadMart: 'data-mart-load',
} as const;

const WIDTH = 24;
const HALF = 12;
const THIRD = 8;
const HEIGHT = 6;

export interface OperationsDashboardsProps {
  /** `<platformPrefix>-<env>`: the dashboards are `<prefix>-operations` and `<prefix>-business`. */
  readonly prefix: string;
  readonly datasets: readonly DatasetConfig[];
  /** The REST API's name and stage (AWS/ApiGateway dimensions). */
  readonly apiName: string;
  readonly apiStage: string;
  /** The data mart cluster (AWS/RDS DBClusterIdentifier). */
  readonly martClusterIdentifier: string;
  /** Firehose stream name per dataset. */
  readonly eventStreamNames: Readonly<Record<string, string>>;
  /** The dead-letter queues, by a label. */
  readonly deadLetterQueues: Readonly<Record<string, sqs.IQueue>>;
  /** Every alarm of the environment (its status widget). */
  readonly alarms: readonly cloudwatch.IAlarm[];
  /** `etl.freshnessAlarmMinutes`: drawn on the freshness graph. */
  readonly freshnessAlarmMinutes: number;
}

/**
 * The two dashboards of an environment, from config (CloudWatch's free tier holds three per account):
 * - operations: per dataset, objects landed, rows accepted and rejected, files quarantined, batches and their
 *   duration, freshness, Glue DPU-seconds, mart rows loaded; per API route, requests, 4xx, 5xx, p50 and p99 latency;
 *   Aurora capacity, resumes and Data API errors; dead-letter queues; Firehose freshness and failures; Lambda errors,
 *   throttles and duration; and the status of every alarm.
 * - business: accepted rows per minute per dataset, by each allowed dimension, and the ratios the config declares.
 * Custom metrics are read by the names, namespace and dimensions of lambda/shared/metrics-contract.ts, which the
 * handlers write (the tests compare both with the handlers' EMF output).
 */
export class OperationsDashboards extends Construct {
  readonly operations: cloudwatch.Dashboard;
  readonly business: cloudwatch.Dashboard;

  constructor(scope: Construct, id: string, props: OperationsDashboardsProps) {
    super(scope, id);
    this.operations = new cloudwatch.Dashboard(this, 'Operations', {
      dashboardName: `${props.prefix}-operations`,
      defaultInterval: Duration.hours(24),
      widgets: operationsWidgets(props),
    });
    this.business = new cloudwatch.Dashboard(this, 'Business', {
      dashboardName: `${props.prefix}-business`,
      defaultInterval: Duration.hours(3),
      widgets: businessWidgets(props),
    });
  }
}

/** A custom metric of the platform's namespace. */
export function platformMetric(
  metricName: string,
  dimensionsMap: Record<string, string>,
  statistic: string,
  options: { label?: string; period?: Duration } = {},
): cloudwatch.Metric {
  return new cloudwatch.Metric({
    namespace: METRICS_NAMESPACE,
    metricName,
    dimensionsMap,
    statistic,
    period: options.period ?? Duration.minutes(5),
    label: options.label,
  });
}

const perDataset =
  (service: string, metricName: string, statistic: string, period?: Duration) => (dataset: DatasetConfig) =>
    platformMetric(metricName, { service, dataset: dataset.name }, statistic, { label: dataset.name, period });

function graph(title: string, metrics: cloudwatch.IMetric[], options: Partial<cloudwatch.GraphWidgetProps> = {}) {
  return new cloudwatch.GraphWidget({ title, left: metrics, width: THIRD, height: HEIGHT, ...options });
}

function section(title: string, text: string): cloudwatch.TextWidget {
  return new cloudwatch.TextWidget({ markdown: `## ${title}\n${text}`, width: WIDTH, height: 2 });
}

function operationsWidgets(props: OperationsDashboardsProps): cloudwatch.IWidget[][] {
  const { datasets } = props;
  const validate = METRIC_SERVICES.validate;
  const batch = METRIC_SERVICES.batch;
  const platform = { service: PLATFORM_SERVICE };

  // Objects landed per dataset: every file stage A read, readable or not.
  const landed = datasets.map(
    (dataset, index) =>
      new cloudwatch.MathExpression({
        expression: `FILL(read${index}, 0) + FILL(unreadable${index}, 0)`,
        usingMetrics: {
          [`read${index}`]: perDataset(validate, STAGE_A_METRICS.filesRead, 'Sum')(dataset),
          [`unreadable${index}`]: perDataset(validate, STAGE_A_METRICS.filesUnreadable, 'Sum')(dataset),
        },
        label: dataset.name,
        period: Duration.minutes(5),
      }),
  );

  const routeMetric = (metricName: string, statistic: string) =>
    API_ROUTE_KEYS.map((key) => {
      const { httpMethod, path } = splitRouteKey(key);
      return new cloudwatch.Metric({
        namespace: 'AWS/ApiGateway',
        metricName,
        dimensionsMap: { ApiName: props.apiName, Method: httpMethod, Resource: path, Stage: props.apiStage },
        statistic,
        label: key,
        period: Duration.minutes(5),
      });
    });
  const rds = (metricName: string, statistic: string) =>
    new cloudwatch.Metric({
      namespace: 'AWS/RDS',
      metricName,
      dimensionsMap: { DBClusterIdentifier: props.martClusterIdentifier },
      statistic,
      period: Duration.minutes(5),
    });
  const firehose = (metricName: string, statistic: string) =>
    datasets.map(
      (dataset) =>
        new cloudwatch.Metric({
          namespace: 'AWS/Firehose',
          metricName,
          dimensionsMap: { DeliveryStreamName: props.eventStreamNames[dataset.name] },
          statistic,
          label: dataset.name,
          period: Duration.minutes(5),
        }),
    );
  const lambdaAccount = (metricName: string) =>
    new cloudwatch.Metric({ namespace: 'AWS/Lambda', metricName, statistic: 'Sum', period: Duration.minutes(5) });
  // Per function without naming each (and without a reference to every stack): the account is this environment.
  const lambdaDurations = new cloudwatch.MathExpression({
    expression: `SEARCH('{AWS/Lambda,FunctionName} MetricName="Duration"', 'p99', 300)`,
    usingMetrics: {},
    label: 'p99',
    period: Duration.minutes(5),
  });

  return [
    [
      new cloudwatch.TextWidget({
        markdown: `# ${props.prefix} operations\nRunbooks: docs/operations.md (one section per alarm). Status: \`npx tsx scripts/status.ts --env <env>\`. Replays: \`npx tsx scripts/replay.ts --env <env> --dataset <d>\` (dry run by default).`,
        width: WIDTH,
        height: 2,
      }),
    ],
    [new cloudwatch.AlarmStatusWidget({ title: 'Alarms', alarms: [...props.alarms], width: WIDTH, height: 4 })],
    [section('Stage A: landed objects', 'Per dataset, from the validate function (EMF).')],
    [
      graph('Objects landed', landed),
      graph('Rows accepted', datasets.map(perDataset(validate, STAGE_A_METRICS.rowsAccepted, 'Sum'))),
      graph('Rows rejected', datasets.map(perDataset(validate, STAGE_A_METRICS.rowsRejected, 'Sum'))),
    ],
    [
      graph(
        'Files quarantined whole (unreadable)',
        datasets.map(perDataset(validate, STAGE_A_METRICS.filesUnreadable, 'Sum')),
      ),
      graph('Objects by outcome', [
        platformMetric(STAGE_A_OBJECT_METRICS.staged, { service: validate }, 'Sum', { label: 'staged' }),
        platformMetric(STAGE_A_OBJECT_METRICS.withoutValidRows, { service: validate }, 'Sum', {
          label: 'no valid rows',
        }),
        platformMetric(STAGE_A_OBJECT_METRICS.unreadable, { service: validate }, 'Sum', { label: 'unreadable' }),
        platformMetric(STAGE_A_OBJECT_METRICS.failed, { service: validate }, 'Sum', { label: 'failed (retried)' }),
      ]),
      graph(
        'Dead-letter queues (messages)',
        Object.entries(props.deadLetterQueues).map(([label, queue]) =>
          queue.metricApproximateNumberOfMessagesVisible({ label, statistic: 'Maximum', period: Duration.minutes(5) }),
        ),
      ),
    ],
    [section('Stage B: batches and freshness', 'Per dataset, from the batch function (EMF) and the job-auditor.')],
    [
      graph('Batches started', datasets.map(perDataset(batch, STAGE_B_METRICS.started, 'Sum'))),
      graph('Batches failed', datasets.map(perDataset(batch, STAGE_B_METRICS.failed, 'Sum'))),
      graph('Batch duration (s, max)', datasets.map(perDataset(batch, STAGE_B_METRICS.duration, 'Maximum'))),
    ],
    [
      graph(
        'Freshness: oldest STAGED run (s)',
        datasets.map(perDataset(batch, STAGE_B_METRICS.oldestStagedAge, 'Maximum')),
        {
          leftAnnotations: [{ value: props.freshnessAlarmMinutes * 60, label: 'freshness alarm' }],
          right: [platformMetric(PLATFORM_METRICS.oldestStagedAge, platform, 'Maximum', { label: 'platform' })],
        },
      ),
      graph(
        'Landing -> mart latency (s, max)',
        datasets.map(perDataset(batch, STAGE_B_METRICS.landingToMart, 'Maximum')),
      ),
      graph('Glue DPU-seconds', [
        platformMetric(JOB_AUDITOR_METRICS.dpuSeconds, { service: METRIC_SERVICES.jobAuditor }, 'Sum', {
          label: 'curate',
        }),
      ]),
    ],
    [
      graph(
        'Mart rows loaded (inserted + updated)',
        datasets.map(
          (dataset, index) =>
            new cloudwatch.MathExpression({
              expression: `FILL(inserted${index}, 0) + FILL(updated${index}, 0)`,
              usingMetrics: {
                [`inserted${index}`]: perDataset(
                  METRIC_SERVICES.loadMart,
                  MART_LOAD_METRICS.rowsInserted,
                  'Sum',
                )(dataset),
                [`updated${index}`]: perDataset(
                  METRIC_SERVICES.loadMart,
                  MART_LOAD_METRICS.rowsUpdated,
                  'Sum',
                )(dataset),
              },
              label: dataset.name,
              period: Duration.minutes(5),
            }),
        ),
      ),
      graph('Aurora capacity (ACU)', [rds('ServerlessDatabaseCapacity', 'Maximum'), rds('ACUUtilization', 'Maximum')]),
      graph('Aurora resumes waited for, Data API errors', [
        platformMetric(PLATFORM_METRICS.martResumeWaits, platform, 'Sum', { label: 'resume waits' }),
        platformMetric(PLATFORM_METRICS.dataApiErrors, platform, 'Sum', { label: 'Data API errors' }),
      ]),
    ],
    [section('API', 'Per route (stage metrics). Throttled requests are 429s, counted in 4xx.')],
    [
      graph('Requests', routeMetric('Count', 'Sum')),
      graph('4xx (incl. throttles)', routeMetric('4XXError', 'Sum')),
      graph('5xx', routeMetric('5XXError', 'Sum')),
    ],
    [
      graph('Latency p50 (ms)', routeMetric('Latency', 'p50'), { width: HALF }),
      graph('Latency p99 (ms)', routeMetric('Latency', 'p99'), { width: HALF }),
    ],
    [section('Event streams and functions', 'Firehose per dataset; Lambda for the whole account (this environment).')],
    [
      graph('Firehose delivery freshness (s)', firehose('DeliveryToS3.DataFreshness', 'Maximum')),
      graph('Firehose delivery success / errors', firehose('DeliveryToS3.Success', 'Average'), {
        right: [platformMetric(FIREHOSE_DELIVERY_ERRORS, {}, 'Sum', { label: 'delivery errors' })],
      }),
      graph('Lambda errors and throttles', [lambdaAccount('Errors'), lambdaAccount('Throttles')]),
    ],
    [graph('Lambda duration p99 per function (ms)', [lambdaDurations], { width: WIDTH })],
  ];
}

function businessWidgets(props: OperationsDashboardsProps): cloudwatch.IWidget[][] {
  const { datasets } = props;
  const validate = METRIC_SERVICES.validate;
  const minute = Duration.minutes(1);
  const accepted = (dataset: DatasetConfig, period = minute) =>
    perDataset(validate, STAGE_A_METRICS.rowsAccepted, 'Sum', period)(dataset);
  const rows: cloudwatch.IWidget[][] = [
    [
      new cloudwatch.TextWidget({
        markdown: `# ${props.prefix} business\nAccepted rows as stage A validates them (real time, per minute). Dimensions and ratios come from each dataset's \`metrics\` config.`,
        width: WIDTH,
        height: 2,
      }),
    ],
    [
      graph(
        'Accepted rows per minute',
        datasets.map((dataset) => accepted(dataset)),
        { width: HALF },
      ),
      new cloudwatch.SingleValueWidget({
        title: 'Accepted rows, last hour',
        metrics: datasets.map((dataset) => accepted(dataset, Duration.hours(1))),
        width: HALF,
        height: HEIGHT,
      }),
    ],
  ];
  for (const dataset of datasets) {
    const widgets = dataset.metrics.dimensions.map((dimension) =>
      graph(
        `${dataset.name}: accepted rows per minute by ${dimension.column}`,
        dimensionBuckets(dataset.columns, dimension).map((value) =>
          platformMetric(
            STAGE_A_METRICS.rowsAcceptedByDimension,
            { service: validate, dataset: dataset.name, [dimension.column]: value },
            'Sum',
            { label: value, period: minute },
          ),
        ),
        { width: HALF, stacked: true },
      ),
    );
    if (widgets.length > 0) rows.push(widgets);
  }
  const ratios = datasets.flatMap((dataset) =>
    dataset.metrics.ratios.map((ratio) => {
      const denominator = datasets.find((d) => d.name === ratio.denominator);
      if (denominator === undefined) {
        throw new Error(
          `Dataset ${dataset.name}: metrics.ratios "${ratio.label}" divides by ${JSON.stringify(ratio.denominator)}, which is not a configured dataset. Fix: name one of ${datasets.map((d) => d.name).join(', ')}`,
        );
      }
      return graph(
        `${ratio.label} (${dataset.name} / ${denominator.name}, %)`,
        [
          new cloudwatch.MathExpression({
            expression: '100 * numerator / denominator',
            usingMetrics: {
              numerator: accepted(dataset, Duration.minutes(5)),
              denominator: accepted(denominator, Duration.minutes(5)),
            },
            label: ratio.label,
            period: Duration.minutes(5),
          }),
        ],
        { width: HALF },
      );
    }),
  );
  if (ratios.length > 0) rows.push(ratios);
  return rows;
}
