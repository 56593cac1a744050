/** Reading alarms and dashboards out of synthesized templates (tests of the Operations stack and its metrics). */

export interface TemplateResource {
  readonly Type: string;
  readonly Properties?: Record<string, unknown>;
}

export interface FoundAlarm {
  /** `<stack name>/<logical ID>`. */
  readonly id: string;
  readonly properties: Record<string, unknown>;
}

export function alarmsOf(resources: Record<string, TemplateResource>): {
  metricAlarms: FoundAlarm[];
  composites: FoundAlarm[];
} {
  const of = (type: string) =>
    Object.entries(resources)
      .filter(([, resource]) => resource.Type === type)
      .map(([id, resource]) => ({ id, properties: resource.Properties ?? {} }));
  return { metricAlarms: of('AWS::CloudWatch::Alarm'), composites: of('AWS::CloudWatch::CompositeAlarm') };
}

export interface DashboardWidget {
  readonly type: string;
  readonly x: number;
  readonly y: number;
  readonly width: number;
  readonly height: number;
  readonly properties: Record<string, unknown>;
  readonly [key: string]: unknown;
}

/**
 * The dashboard bodies, parsed: CloudFormation joins the body from strings and tokens (region, alarm ARNs); each token
 * is replaced by a placeholder string first, so the result must be JSON as CloudWatch receives it.
 */
export function dashboardBodies(
  resources: Record<string, TemplateResource>,
): { name: string; body: { widgets: DashboardWidget[] } }[] {
  return Object.values(resources)
    .filter((resource) => resource.Type === 'AWS::CloudWatch::Dashboard')
    .map((resource) => {
      const properties = resource.Properties ?? {};
      const raw = properties.DashboardBody as string | { 'Fn::Join': [string, unknown[]] };
      const text =
        typeof raw === 'string'
          ? raw
          : raw['Fn::Join'][1].map((part) => (typeof part === 'string' ? part : 'TOKEN')).join(raw['Fn::Join'][0]);
      return { name: String(properties.DashboardName), body: JSON.parse(text) as { widgets: DashboardWidget[] } };
    });
}

/** One metric a dashboard or alarm reads: namespace, name and dimensions (name -> value). */
export interface MetricRead {
  readonly namespace: string;
  readonly name: string;
  readonly dimensions: Readonly<Record<string, string>>;
  readonly where: string;
}

/** Every metric the dashboards and alarms of `resources` read (SEARCH expressions and tokens aside). */
export function metricsRead(resources: Record<string, TemplateResource>): MetricRead[] {
  const reads: MetricRead[] = [];
  for (const { name, body } of dashboardBodies(resources)) {
    for (const widget of body.widgets) {
      for (const row of ((widget.properties as { metrics?: unknown[][] }).metrics ?? []) as unknown[][]) {
        const strings = row.filter((part): part is string => typeof part === 'string');
        if (strings.length < 2) continue;
        const [namespace, metricName, ...pairs] = strings;
        const dimensions: Record<string, string> = {};
        for (let i = 0; i + 1 < pairs.length; i += 2) dimensions[pairs[i]] = pairs[i + 1];
        // "." repeats the previous row's value in CloudWatch's shorthand; aws-cdk-lib always writes full rows.
        reads.push({
          namespace,
          name: metricName,
          dimensions,
          where: `${name}: ${(widget.properties as { title?: string }).title}`,
        });
      }
    }
  }
  for (const { id, properties } of alarmsOf(resources).metricAlarms) {
    const metrics =
      properties.Metrics === undefined
        ? [{ Namespace: properties.Namespace, MetricName: properties.MetricName, Dimensions: properties.Dimensions }]
        : (properties.Metrics as { MetricStat?: { Metric: Record<string, unknown> } }[])
            .filter((m) => m.MetricStat)
            .map((m) => m.MetricStat!.Metric);
    for (const metric of metrics) {
      const dimensions: Record<string, string> = {};
      for (const d of (metric.Dimensions ?? []) as { Name: string; Value: unknown }[]) {
        dimensions[d.Name] = typeof d.Value === 'string' ? d.Value : 'TOKEN';
      }
      reads.push({ namespace: String(metric.Namespace), name: String(metric.MetricName), dimensions, where: id });
    }
  }
  return reads;
}
