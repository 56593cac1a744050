/**
 * Every route of the platform API as `METHOD /path` (the keys `api.routeThrottling` accepts). Side-effect free: the
 * config loader checks routeThrottling keys against it (so a typo fails at load, naming file and key), and ApiStack
 * refuses to add a route that is not listed here, so the list and the API cannot drift apart.
 * Dataset routes are shared by all datasets (`{dataset}` is a path parameter), so the list does not grow with them.
 */
export const API_ROUTE_KEYS = [
  'POST /v1/datasets/{dataset}/objects',
  'POST /v1/datasets/{dataset}/uploads',
  'POST /v1/datasets/{dataset}/events',
  'ANY /v1/datasets/{dataset}',
  'ANY /v1/datasets/{dataset}/{proxy+}',
  'POST /v1/exports',
  'GET /v1/exports/{id}',
  'GET /v1/marts/{table}',
] as const;

export type ApiRouteKey = (typeof API_ROUTE_KEYS)[number];

export function isApiRouteKey(key: string): key is ApiRouteKey {
  return (API_ROUTE_KEYS as readonly string[]).includes(key);
}
