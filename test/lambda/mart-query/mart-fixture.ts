/**
 * A migrated data mart (the real migrations of lambda/migrate/sql plus the mart tables of the example datasets) with
 * deterministic rows, and API Gateway proxy events shaped like the real ones. Shared by the mart-query and
 * export-worker tests.
 */
import type { APIGatewayProxyEvent } from 'aws-lambda';
import { MIGRATION_FILES } from '../../../lambda/migrate/migration-files';
import { applyMigrations, martMigrations, versionedMigrations } from '../../../lambda/migrate/migrations';
import { martTablesFromDatasets, type MartTable } from '../../../lambda/api-shared/contract';
import { martDatasets } from '../../../lambda/shared/mart-contract';
import type { SqlExecutor } from '../../../lambda/shared/sql';
import { exampleConfig } from '../../helpers/app';

export const martTables: ReadonlyMap<string, MartTable> = new Map(
  martTablesFromDatasets(exampleConfig().datasets).map((table) => [table.table, table]),
);

export const CLICK_COUNT = 25;

export function clickId(index: number): string {
  return `clk-${index.toString(16).padStart(16, '0')}`;
}

export async function migrateAndSeed(executor: SqlExecutor): Promise<void> {
  const datasets = exampleConfig().datasets;
  await applyMigrations(executor, [...versionedMigrations(MIGRATION_FILES), ...martMigrations(martDatasets(datasets))]);
  for (let index = 0; index < CLICK_COUNT; index++) {
    await executor.query(
      `INSERT INTO mart.clicks (click_id, impression_id, click_time, campaign_id, landing_url, cost_usd, is_fraud_suspected)
       VALUES (:click_id, :impression_id, :click_time::timestamptz, :campaign_id, :landing_url, :cost_usd::numeric, :fraud)`,
      {
        click_id: clickId(index),
        impression_id: `imp-${(index % 5).toString(16).padStart(16, '0')}`,
        click_time: `2026-11-${String(1 + (index % 20)).padStart(2, '0')}T10:00:00Z`,
        campaign_id: 100 + (index % 3),
        // Values a CSV writer must quote, and one that is NULL.
        landing_url:
          index === 0 ? 'https://example.com/?a=1,b="2"' : index === 1 ? null : `https://example.com/${index}`,
        cost_usd: `${index}.2500`,
        fraud: index % 7 === 0,
      },
    );
  }
  await executor.query(
    `INSERT INTO mart.impressions (impression_id, event_time, event_date, campaign_id, creative_id, placement,
       device_type, country, bid_price_usd, viewable, viewability_score)
     VALUES ('imp-0000000000000001', '2026-11-02T08:00:00Z', '2026-11-02', 9007199254740993, 7, 'banner',
       'mobile', 'DE', 0.123456, true, 0.5)`,
  );
}

export function proxyEvent(overrides: Partial<APIGatewayProxyEvent> = {}): APIGatewayProxyEvent {
  return {
    resource: '/v1/marts/{table}',
    path: '/v1/marts/clicks',
    httpMethod: 'GET',
    headers: { Accept: 'application/json', Host: 'abc123.execute-api.eu-west-1.amazonaws.com' },
    multiValueHeaders: {},
    queryStringParameters: null,
    multiValueQueryStringParameters: null,
    pathParameters: { table: 'clicks' },
    stageVariables: null,
    body: null,
    isBase64Encoded: false,
    requestContext: {
      accountId: '222222222222',
      apiId: 'abc123',
      authorizer: { claims: { sub: '6f1c2a4e-0000-4000-8000-00000000beef', email: 'analyst@example.com' } },
      httpMethod: 'GET',
      identity: { sourceIp: '203.0.113.7', userAgent: 'jest' } as APIGatewayProxyEvent['requestContext']['identity'],
      path: '/live/v1/marts/clicks',
      protocol: 'HTTP/1.1',
      requestId: 'c0ffee00-0000-4000-8000-000000000001',
      requestTimeEpoch: 1_795_357_712_000,
      resourceId: 'res123',
      resourcePath: '/v1/marts/{table}',
      stage: 'live',
    },
    ...overrides,
  };
}

/** The multi-value query string API Gateway builds from `?a=1&b=2` (each key once). */
export function query(params: Record<string, string | string[]>): Record<string, string[]> {
  return Object.fromEntries(Object.entries(params).map(([key, value]) => [key, [value].flat()]));
}
