/**
 * The contract of `GET /v1/marts/{table}` (side-effect free: the Api stack imports it): `limit`, `cursor` and filters
 * `column=value` or `column[op]=value` (op: FILTER_OPERATOR_NAMES of ../api-shared/contract.ts) in the query string;
 * the answer is `200 { table, items, count, nextCursor? }`. It reads the mart as the reader login (MART_CONNECTION_ENV of
 * ../shared/mart-contract.ts).
 */
import { API_ENV } from '../api-shared/contract';

/** The environment of the function besides the mart connection (the Api stack sets exactly these). */
export const MART_QUERY_ENV = {
  martTables: API_ENV.martTables,
} as const;

/** Rows per page when the request names no `limit`. */
export const DEFAULT_LIMIT = 100;
/** Largest `limit`: a page stays far below the Data API's 1 MB per statement and API Gateway's 10 MB response. */
export const MAX_LIMIT = 1000;
