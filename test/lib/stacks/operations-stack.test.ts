/**
 * The alarms and dashboards of every environment of the example config, read from the synthesized templates of the
 * whole stage (alarms other stacks own included): actions, runbooks that exist, missing data, the composite, what
 * they cost in alarm metrics, and dashboard bodies CloudWatch accepts.
 */
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { DataPlatformStage } from '../../../stages/data-platform-stage';
import { exampleConfig, REPO_ROOT, testApp } from '../../helpers/app';
import { alarmsOf, dashboardBodies, type TemplateResource } from '../../helpers/operations';

/** The anchors GitHub gives the headings of docs/operations.md. */
function markdownAnchors(file: string): Set<string> {
  const anchors = new Set<string>();
  for (const line of readFileSync(file, 'utf8').split('\n')) {
    const heading = /^#{1,6}\s+(.*)$/.exec(line);
    if (!heading) continue;
    anchors.add(
      heading[1]
        .trim()
        .toLowerCase()
        .replace(/[^\p{L}\p{N}\s_-]/gu, '')
        .replace(/\s/g, '-'),
    );
  }
  return anchors;
}

/** Widget types a dashboard body may hold (CloudWatch dashboard body structure). */
const WIDGET_TYPES = ['metric', 'text', 'alarm', 'log', 'explorer', 'custom'];

const config = exampleConfig();
const app = testApp();
const environments = config.environments.map((environment) => {
  const stage = new DataPlatformStage(app, `${environment.name}Stage`, {
    platform: config.platform,
    environment,
    datasets: config.datasets,
  });
  const resources: Record<string, TemplateResource> = {};
  for (const stack of stage.node.children.filter((child): child is Stack => child instanceof Stack)) {
    for (const [id, resource] of Object.entries(Template.fromStack(stack).toJSON().Resources ?? {})) {
      resources[`${stack.stackName}/${id}`] = resource as TemplateResource;
    }
  }
  return { environment, resources };
});
const anchors = markdownAnchors(path.join(REPO_ROOT, 'docs', 'operations.md'));

describe.each(environments.map((e) => [e.environment.name, e] as const))(
  'operations of %s',
  (name, { environment, resources }) => {
    const { metricAlarms, composites } = alarmsOf(resources);

    test('every alarm notifies the alert topic and names a runbook section that exists in docs/operations.md', () => {
      expect(metricAlarms.length).toBeGreaterThanOrEqual(12);
      for (const { id, properties } of [...metricAlarms, ...composites]) {
        expect({ id, actions: JSON.stringify(properties.AlarmActions ?? []) }).toEqual({
          id,
          actions: expect.stringContaining('AlertTopic'),
        });
        const anchor = /Runbook: docs\/operations\.md#([a-z0-9-]+)/.exec(String(properties.AlarmDescription));
        expect({ id, anchor: anchor?.[1] }).toEqual({ id, anchor: expect.any(String) });
        expect({ id, exists: anchors.has(anchor![1]) }).toEqual({ id, exists: true });
      }
    });

    test('every metric alarm treats missing data as not breaching (an idle platform is quiet)', () => {
      expect(metricAlarms.filter(({ properties }) => properties.TreatMissingData !== 'notBreaching')).toEqual([]);
    });

    test('no alarm reads rejected rows (a bad row is the producer’s problem, not a page)', () => {
      const read = metricAlarms.map(({ properties }) => JSON.stringify(properties));
      expect(read.filter((text) => /RowsRejected|FilesUnreadable|ObjectsWithoutValidRows/.test(text))).toEqual([]);
    });

    test('one composite alarm over every other alarm of the environment, named <prefix>-<env>-platform', () => {
      expect(composites).toHaveLength(1);
      const [composite] = composites;
      expect(composite.properties.AlarmName).toBe(`${config.platform.prefix}-${name}-platform`);
      const rule = JSON.stringify(composite.properties.AlarmRule);
      expect(rule.match(/ALARM\(/g)?.length).toBe(metricAlarms.length);
      for (const { id } of metricAlarms) expect(rule).toContain(id.split('/')[1]);
    });

    test('reads 12 alarm metrics whatever the number of datasets (CloudWatch bills each beyond the free 10)', () => {
      // A metric-math alarm is billed per metric it reads; a single-metric alarm once.
      const metricCount = metricAlarms.reduce(
        (count, { properties }) =>
          count +
          (properties.Metrics === undefined
            ? 1
            : (properties.Metrics as { MetricStat?: unknown }[]).filter((m) => m.MetricStat).length),
        0,
      );
      expect(metricCount).toBe(12);
      // Nothing per dataset, per stream or per function: no dimension of those in any alarm.
      const dimensions = metricAlarms.flatMap(({ properties }) =>
        ((properties.Dimensions ?? []) as { Name: string }[]).map((d) => d.Name),
      );
      expect(dimensions.filter((d) => ['dataset', 'FunctionName', 'DeliveryStreamName'].includes(d))).toEqual([]);
    });

    test('freshness alarms at etl.freshnessAlarmMinutes', () => {
      const freshness = metricAlarms.find(({ properties }) => properties.MetricName === 'OldestStagedAgeSeconds');
      expect(freshness?.properties).toMatchObject({
        Threshold: environment.etl.freshnessAlarmMinutes * 60,
        Statistic: 'Maximum',
        ComparisonOperator: 'GreaterThanThreshold',
      });
    });

    test('two dashboards, <prefix>-<env>-operations and -business, with bodies CloudWatch accepts', () => {
      const dashboards = dashboardBodies(resources);
      expect(dashboards.map((d) => d.name).sort()).toEqual([
        `${config.platform.prefix}-${name}-business`,
        `${config.platform.prefix}-${name}-operations`,
      ]);
      for (const { body } of dashboards) {
        expect(Array.isArray(body.widgets)).toBe(true);
        for (const widget of body.widgets) {
          expect(WIDGET_TYPES).toContain(widget.type);
          for (const key of ['x', 'y', 'width', 'height']) expect(typeof widget[key]).toBe('number');
          expect(widget.x + widget.width).toBeLessThanOrEqual(24);
          if (widget.type === 'metric') {
            const properties = widget.properties as { metrics?: unknown[][]; region?: string; view?: string };
            expect(properties.metrics?.length).toBeGreaterThan(0);
            expect(properties.region).toBeDefined();
            // A metric row is [namespace, name, dimension name, value, ..., options?] or [{ expression, ... }].
            for (const row of properties.metrics ?? []) {
              const strings = row.filter((part) => typeof part === 'string');
              const options = row.find((part) => typeof part === 'object') as { expression?: string } | undefined;
              if (options?.expression === undefined) expect(strings.length % 2).toBe(0);
            }
          }
        }
      }
    });

    test('the business dashboard plots accepted rows per dataset and the ratios of the config', () => {
      const business = dashboardBodies(resources).find((d) => d.name.endsWith('-business'))!;
      const titles = business.body.widgets.map((w) => (w.properties as { title?: string }).title);
      expect(titles).toContain('Accepted rows per minute');
      expect(titles).toContain('Click-through rate (clicks / impressions, %)');
      expect(titles).toContain('impressions: accepted rows per minute by placement');
      const ratio = business.body.widgets.find(
        (w) => (w.properties as { title?: string }).title === 'Click-through rate (clicks / impressions, %)',
      )!;
      expect(JSON.stringify(ratio.properties)).toContain('100 * numerator / denominator');
    });
  },
);
