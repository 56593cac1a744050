/**
 * The routes of the API, as `METHOD /path` keys: the single source of the route keys that api-stack.ts builds, that
 * `environment.api.routeThrottling` keys must name, and that openapi.json documents. Side-effect free (no CDK import),
 * so config validation can use it.
 *
 * Routes under `/v1/datasets/{dataset}/` are shared by every dataset: `{dataset}` is a path parameter checked against
 * the configured datasets, so adding a dataset adds no API Gateway resource or method.
 */
export const API_ROUTES = {
  /** Ingest one document (JSON, NDJSON or CSV) straight into landing (S3 integration). */
  ingestObject: 'POST /v1/datasets/{dataset}/objects',
  /** Ingest events (a JSON object, a JSON array of objects, or NDJSON) through the dataset's Firehose stream. */
  ingestEvents: 'POST /v1/datasets/{dataset}/events',
  /** A presigned upload URL for a file above the API's payload limit. */
  requestUpload: 'POST /v1/datasets/{dataset}/uploads',
  /** Any other request under a dataset: a JSON 404 (unknown dataset, or no such route). */
  datasetFallback: 'ANY /v1/datasets/{dataset}',
  datasetPathFallback: 'ANY /v1/datasets/{dataset}/{proxy+}',
  requestExport: 'POST /v1/exports',
  exportStatus: 'GET /v1/exports/{id}',
  queryMart: 'GET /v1/marts/{table}',
} as const;

export type ApiRouteKey = (typeof API_ROUTES)[keyof typeof API_ROUTES];

/** Every route key, in the order above. */
export const API_ROUTE_KEYS: readonly ApiRouteKey[] = Object.values(API_ROUTES);

/** The HTTP method and resource path of a route key, e.g. `['POST', '/v1/exports']`. */
export function splitRouteKey(key: ApiRouteKey): { readonly httpMethod: string; readonly path: string } {
  const space = key.indexOf(' ');
  return { httpMethod: key.slice(0, space), path: key.slice(space + 1) };
}

/** Whether `key` names a route of the API (config validation of `api.routeThrottling`). */
export function isApiRouteKey(key: string): key is ApiRouteKey {
  return (API_ROUTE_KEYS as readonly string[]).includes(key);
}
