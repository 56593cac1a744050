/**
 * Renders API Gateway mapping templates with velocityjs, against the small part of API Gateway's `$context`, `$input`
 * and `$util` the templates use. The shims follow the API Gateway reference: `$input.params(name)` searches path,
 * query string then headers (headers case-insensitively); `$input.json` / `$input.path` evaluate a JSONPath over the
 * body; `$util.urlEncode` is Java's URLEncoder; `$util.base64Encode` encodes the string's UTF-8 bytes.
 *
 * API Gateway runs Apache Velocity on Java objects, velocityjs runs on JavaScript values. Where the Java method the
 * templates call behaves differently from the JavaScript one of the same name (String.split takes a regular
 * expression and drops trailing empty strings; String.trim removes characters up to U+0020 only; String.length() is
 * a method; Map.containsKey), the Java behaviour is implemented here, so the tests see what API Gateway does.
 */
import Velocity from 'velocityjs';

export interface RequestShape {
  /** The method request body for request templates; the integration response body for response templates. */
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
  /** `$context.responseOverride` as the template left it (`status` when it overrode the status code). */
  readonly responseOverride: { status?: number; header: Record<string, string> };
}

/** Java's URLEncoder.encode(value, "UTF-8"). */
export function javaUrlEncode(value: string): string {
  return encodeURIComponent(value)
    .replace(/[!'()~]/g, (char) => `%${char.charCodeAt(0).toString(16).toUpperCase()}`)
    .replace(/%20/g, '+');
}

/** Java's String.split(regex): no match gives the string itself; otherwise trailing empty strings are removed. */
export function javaSplit(value: string, regex: string): string[] {
  const pattern = new RegExp(regex);
  if (!pattern.test(value)) return [value];
  const parts = value.split(pattern);
  while (parts.length > 0 && parts[parts.length - 1] === '') parts.pop();
  return parts;
}

/** Java's String.trim(): removes leading and trailing characters up to U+0020 (not other Unicode spaces). */
export function javaTrim(value: string): string {
  let start = 0;
  let end = value.length;
  while (start < end && value.charCodeAt(start) <= 0x20) start++;
  while (end > start && value.charCodeAt(end - 1) <= 0x20) end--;
  return value.slice(start, end);
}

type MethodPayload = { property: string; params: unknown[]; context: unknown };
const stringMethod = (name: string, resolve: (value: string, params: unknown[]) => unknown) => ({
  uid: `java.lang.String#${name}`,
  match: ({ property, context }: MethodPayload) => property === name && typeof context === 'string',
  resolve: ({ context, params }: MethodPayload) => resolve(context as string, params),
});

/** Java methods whose JavaScript namesakes differ or do not exist (see the module comment). */
const JAVA_METHODS = [
  stringMethod('length', (value) => value.length),
  stringMethod('isEmpty', (value) => value.length === 0),
  stringMethod('trim', (value) => javaTrim(value)),
  stringMethod('split', (value, [regex]) => javaSplit(value, String(regex))),
  stringMethod('contains', (value, [part]) => value.includes(String(part))),
  stringMethod('matches', (value, [regex]) => new RegExp(`^(?:${String(regex)})$`).test(value)),
  {
    uid: 'java.util.Map#containsKey',
    match: ({ property, context }: MethodPayload) =>
      property === 'containsKey' && typeof context === 'object' && context !== null && !Array.isArray(context),
    resolve: ({ context, params }: MethodPayload) => Object.hasOwn(context as object, String(params[0])),
  },
];

/** The JSONPath subset the templates use: `$`, `$.name` (repeated) and `$[index]`. */
export function jsonPath(document: unknown, expression: string): unknown {
  if (!expression.startsWith('$')) throw new Error(`shim supports JSONPaths starting with $, got ${expression}`);
  let value = document;
  const steps = expression.slice(1).match(/\.[A-Za-z_][A-Za-z0-9_]*|\[\d+\]/g) ?? [];
  if (steps.join('') !== expression.slice(1)) throw new Error(`shim cannot evaluate JSONPath ${expression}`);
  for (const step of steps) {
    if (value === null || typeof value !== 'object') return undefined;
    value = step.startsWith('[')
      ? (value as unknown[])[Number(step.slice(1, -1))]
      : (value as Record<string, unknown>)[step.slice(1)];
  }
  return value;
}

export function render(template: string, request: RequestShape = {}): RenderResult {
  const requestOverride = { header: {}, path: {}, querystring: {} };
  const responseOverride: { status?: number; header: Record<string, string> } = { header: {} };
  const headers = request.headers ?? {};
  const findHeader = (name: string) =>
    Object.entries(headers).find(([key]) => key.toLowerCase() === name.toLowerCase())?.[1];
  const body = request.body ?? '';
  // API Gateway parses the body once, when a template first asks for JSON; a body that is not JSON fails there.
  const parsed = () => JSON.parse(body) as unknown;
  const input = {
    body,
    params: (name: string) => request.path?.[name] ?? request.querystring?.[name] ?? findHeader(name) ?? '',
    json: (expression: string) => JSON.stringify(jsonPath(parsed(), expression)),
    path: (expression: string) => (body === '' ? undefined : jsonPath(parsed(), expression)),
  };
  const context = {
    requestId: request.requestId ?? 'c0ffee00-0000-4000-8000-000000000001',
    requestTime: request.requestTime ?? '22/Nov/2026:14:28:32 +0000',
    requestOverride,
    responseOverride,
    error: request.error ?? { messageString: '"Internal server error"', responseType: 'DEFAULT_5XX' },
    identity: { sourceIp: '203.0.113.7' },
  };
  const util = {
    urlEncode: javaUrlEncode,
    escapeJavaScript: (value: string) => JSON.stringify(value).slice(1, -1).replace(/'/g, "\\'"),
    base64Encode: (value: string) => Buffer.from(String(value), 'utf8').toString('base64'),
    base64Decode: (value: string) => Buffer.from(String(value), 'base64').toString('utf8'),
  };
  const output = Velocity.render(template, { context, input, util }, undefined, {
    customMethodHandlers: JAVA_METHODS,
  });
  return { output, requestOverride, responseOverride };
}
