/**
 * Renders API Gateway mapping templates with velocityjs, against the small part of API Gateway's `$context`, `$input`
 * and `$util` the templates use. The shims follow the API Gateway reference: `$input.params(name)` searches path,
 * query string then headers (headers case-insensitively); `$util.urlEncode` is Java's URLEncoder.
 */
import Velocity from 'velocityjs';

export interface RequestShape {
  readonly body?: string;
  readonly headers?: Record<string, string>;
  readonly path?: Record<string, string>;
  readonly querystring?: Record<string, string>;
  readonly requestId?: string;
  /** `dd/MMM/yyyy:HH:mm:ss +0000`, as API Gateway formats it. */
  readonly requestTime?: string;
  readonly error?: { readonly messageString: string; readonly responseType: string };
}

export interface RenderResult {
  readonly output: string;
  readonly requestOverride: {
    header: Record<string, string>;
    path: Record<string, string>;
    querystring: Record<string, string>;
  };
}

/** Java's URLEncoder.encode(value, "UTF-8"). */
export function javaUrlEncode(value: string): string {
  return encodeURIComponent(value)
    .replace(/[!'()~]/g, (char) => `%${char.charCodeAt(0).toString(16).toUpperCase()}`)
    .replace(/%20/g, '+');
}

export function render(template: string, request: RequestShape = {}): RenderResult {
  const requestOverride = { header: {}, path: {}, querystring: {} };
  const headers = request.headers ?? {};
  const findHeader = (name: string) =>
    Object.entries(headers).find(([key]) => key.toLowerCase() === name.toLowerCase())?.[1];
  const input = {
    body: request.body ?? '',
    params: (name: string) => request.path?.[name] ?? request.querystring?.[name] ?? findHeader(name) ?? '',
    json: (path: string) => {
      if (path !== '$') throw new Error(`shim supports $input.json('$') only, got ${path}`);
      return request.body ?? '';
    },
  };
  const context = {
    requestId: request.requestId ?? 'c0ffee00-0000-4000-8000-000000000001',
    requestTime: request.requestTime ?? '22/Nov/2026:14:28:32 +0000',
    requestOverride,
    error: request.error ?? { messageString: '"Internal server error"', responseType: 'DEFAULT_5XX' },
    identity: { sourceIp: '203.0.113.7' },
  };
  const util = {
    urlEncode: javaUrlEncode,
    escapeJavaScript: (value: string) => JSON.stringify(value).slice(1, -1).replace(/'/g, "\\'"),
  };
  const output = Velocity.render(template, { context, input, util });
  return { output, requestOverride };
}
