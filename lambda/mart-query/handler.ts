/**
 * GET /v1/marts/{table}: one page of a data mart table, read through the Data API as the reader login (mart_reader).
 * parse (whitelisted table, filters, limit, cursor) -> query -> respond; a resuming Aurora answers 503 + Retry-After.
 */
import type { APIGatewayProxyEvent, APIGatewayProxyResult } from 'aws-lambda';
import { json, logFailure, responseForError } from '../api-shared/http';
import type { MartTable } from '../api-shared/contract';
import { parseMartTables, whitelistedTable } from '../api-shared/marts';
import { requireEnv } from '../shared/env';
import { martTargetFromEnv } from '../shared/mart-connection';
import { NotFoundError } from '../shared/errors';
import { metrics, withLambdaContext } from '../shared/logger';
import type { SqlExecutor } from '../shared/sql';
import { RdsDataClient } from '../shared/aws/rds-data';
import { DataApiExecutor } from '../shared/sql-data-api';
import { queryMart } from './query';
import { MART_QUERY_ENV } from './contract';
import { parseMartQuery } from './request';

export interface MartQueryDependencies {
  readonly executor: SqlExecutor;
  readonly tables: ReadonlyMap<string, MartTable>;
}

export function createHandler(deps: MartQueryDependencies) {
  return async (event: APIGatewayProxyEvent): Promise<APIGatewayProxyResult> => {
    const requestId = event.requestContext.requestId;
    try {
      const requested = event.pathParameters?.table ?? '';
      let table: MartTable;
      try {
        table = whitelistedTable(deps.tables, requested);
      } catch (error) {
        throw new NotFoundError((error as Error).message);
      }
      const request = parseMartQuery(table, event.multiValueQueryStringParameters);
      const page = await queryMart(deps.executor, table, request);
      metrics.addMetric('MartQueryRows', 'Count', page.count);
      return json(200, page);
    } catch (error) {
      logFailure('mart query', error, requestId);
      return responseForError(error, requestId);
    } finally {
      metrics.publishStoredMetrics();
    }
  };
}

const tables = parseMartTables(requireEnv(MART_QUERY_ENV.martTables));
// The reader login: SELECT on mart.* is all it may do.
const executor = new DataApiExecutor(new RdsDataClient(), martTargetFromEnv());

export const handler = withLambdaContext(createHandler({ executor, tables }));
