/**
 * HTTP helpers of the API functions (Lambda proxy integration): JSON responses that always carry the request id, the
 * mapping of domain errors to status codes, and who the caller is.
 */
import type { APIGatewayProxyEvent, APIGatewayProxyResult } from 'aws-lambda';
import type * as z from 'zod/mini';
import { InvalidInputError, NotFoundError, TransientError } from '../shared/errors';
import { logger } from '../shared/logger';
import '../shared/zod-locale';
import { valueAt } from '../../config/value-at';

/** Seconds a caller should wait before retrying when the data mart is resuming from auto-pause. */
export const RETRY_AFTER_SECONDS = 30;

export function json(statusCode: number, body: unknown, headers: Record<string, string> = {}): APIGatewayProxyResult {
  return {
    statusCode,
    headers: { 'Content-Type': 'application/json', 'Cache-Control': 'no-store', ...headers },
    body: JSON.stringify(body),
  };
}

/** A JSON error: what is wrong (and the fix, in `message`), plus the request id to quote in a support request. */
export function errorResponse(
  statusCode: number,
  message: string,
  requestId: string,
  headers: Record<string, string> = {},
): APIGatewayProxyResult {
  return json(statusCode, { message, requestId }, headers);
}

/**
 * Turns an error thrown by the work into a response: bad input 400, unknown things 404, a resuming data mart 503 with
 * Retry-After. Anything else is a bug or an outage: 500 without internal details (they go to the log).
 */
export function responseForError(error: unknown, requestId: string): APIGatewayProxyResult {
  if (error instanceof RequestTooLargeError) return errorResponse(413, error.message, requestId);
  if (error instanceof InvalidInputError) return errorResponse(400, error.message, requestId);
  if (error instanceof NotFoundError) return errorResponse(404, error.message, requestId);
  if (error instanceof TransientError) {
    return errorResponse(
      503,
      `The data mart is starting up. Fix: retry after ${RETRY_AFTER_SECONDS} seconds`,
      requestId,
      { 'Retry-After': String(RETRY_AFTER_SECONDS) },
    );
  }
  return errorResponse(500, 'Internal error. Fix: retry later; if it persists, report the request id', requestId);
}

/**
 * Logs a failed request at the level its cause deserves: the caller's mistake (4xx) at info, so no request, however
 * hostile, can raise an error-level line (and the alarms on it); a resuming data mart (503) at warn; anything else is
 * a bug or an outage, at error with the stack.
 */
export function logFailure(what: string, error: unknown, requestId: string): void {
  if (error instanceof InvalidInputError || error instanceof NotFoundError) {
    const status = error instanceof RequestTooLargeError ? 413 : error instanceof NotFoundError ? 404 : 400;
    logger.info(`${what}: refused`, { requestId, status, reason: truncate(error.message, 300) });
  } else if (error instanceof TransientError) {
    logger.warn(`${what}: data mart unavailable`, { requestId, reason: truncate(error.message, 300) });
  } else {
    logger.error(`${what} failed`, { requestId, error: error as Error });
  }
}

/**
 * Largest JSON body an API function reads. The bodies are small ({ contentType, contentLength }, an export of at
 * most 20 filters of 256-character values: under 10 KB); anything bigger is refused before it is parsed.
 */
export const MAX_JSON_BODY_BYTES = 64 * 1024;
/**
 * Deepest nesting of objects and arrays a JSON body may have. The documented bodies nest 3 levels (an export's
 * `{ "filters": [ { ... } ] }`); the bound keeps a hostile body (thousands of levels) away from every recursive
 * step after it: parsing, zod, error messages, JSON.stringify and the logger.
 */
export const MAX_JSON_DEPTH = 16;

/** The body is larger than {@link MAX_JSON_BODY_BYTES}: 413. */
export class RequestTooLargeError extends InvalidInputError {}

/**
 * Parses a JSON body with a zod schema; every problem becomes an InvalidInputError naming the field and value. The
 * size and nesting are bounded first, so no body can make parsing or describing it throw a RangeError.
 */
export function parseJsonBody<T extends z.ZodMiniType>(
  event: Pick<APIGatewayProxyEvent, 'body' | 'isBase64Encoded'>,
  schema: T,
): z.output<T> {
  if (event.body === null || event.body.trim() === '') {
    throw new InvalidInputError('The request body is empty. Fix: send a JSON object (Content-Type: application/json)');
  }
  // Base64 is 4/3 of the bytes: a body this long is too large whatever it decodes to, so it is not decoded.
  if (event.body.length > MAX_JSON_BODY_BYTES * 2) throw tooLarge(event.body.length);
  const bytes = event.isBase64Encoded ? Buffer.from(event.body, 'base64') : Buffer.from(event.body, 'utf8');
  if (bytes.length > MAX_JSON_BODY_BYTES) throw tooLarge(bytes.length);
  const text = bytes.toString('utf8');
  const tooDeep = nestingBeyond(text, MAX_JSON_DEPTH);
  if (tooDeep !== -1) {
    throw new InvalidInputError(
      `The request body nests objects and arrays more than ${MAX_JSON_DEPTH} levels deep (level ${MAX_JSON_DEPTH + 1} opens at character ${tooDeep}). Fix: send the documented JSON object`,
    );
  }
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (error) {
    throw new InvalidInputError(
      `The request body is not valid JSON (${truncate((error as Error).message, 120)}). Fix: send a JSON object`,
    );
  }
  const result = schema.safeParse(raw);
  if (!result.success) throw new InvalidInputError(describeZodError(result.error, raw));
  return result.data;
}

function tooLarge(bytes: number): RequestTooLargeError {
  return new RequestTooLargeError(
    `The request body is ${bytes} bytes, more than ${MAX_JSON_BODY_BYTES}. Fix: send only the documented fields`,
  );
}

/**
 * Offset of the bracket that opens nesting level `max + 1` of a JSON text, or -1 when it nests no deeper than `max`.
 * One pass, no recursion, brackets inside strings ignored; it does not check the syntax (JSON.parse does, once the
 * depth is known to be safe).
 */
export function nestingBeyond(text: string, max: number): number {
  let depth = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const code = text.charCodeAt(i);
    if (inString) {
      if (code === 0x5c)
        i++; // a backslash escapes the next character
      else if (code === 0x22) inString = false;
    } else if (code === 0x22) {
      inString = true;
    } else if (code === 0x7b || code === 0x5b) {
      if (++depth > max) return i;
    } else if (code === 0x7d || code === 0x5d) {
      depth--;
    }
  }
  return -1;
}

/** "field "x" has value 5: must be ..." for each problem (at most 5), joined. */
export function describeZodError(error: z.core.$ZodError, raw: unknown): string {
  const described = error.issues.slice(0, 5).map((issue) => {
    const keyPath = issue.path.map(String).join('.') || '(body)';
    const value = valueAt(raw, issue.path);
    const received = value === undefined ? 'is missing' : `has value ${preview(value)}`;
    return `field "${truncate(keyPath, 120)}" ${received}: ${issue.message}`;
  });
  const more = error.issues.length - described.length;
  return more > 0 ? `${described.join('; ')}; and ${more} more` : described.join('; ');
}

/**
 * A short JSON-like echo of a value for an error message: at most `max` characters and 3 levels, built without
 * recursion into the whole value (JSON.stringify of a deep value throws RangeError; of a huge one, wastes the budget).
 */
export function preview(value: unknown, max = 80): string {
  const render = (item: unknown, depth: number): string => {
    if (item === null || typeof item !== 'object') {
      const text = JSON.stringify(item) ?? String(item);
      return text.length > max ? `${text.slice(0, max)}...` : text;
    }
    if (depth >= 3) return Array.isArray(item) ? '[...]' : '{...}';
    let out = Array.isArray(item) ? '[' : '{';
    let first = true;
    for (const [key, inner] of Object.entries(item)) {
      if (out.length > max) break;
      out += `${first ? '' : ','}${Array.isArray(item) ? '' : `${JSON.stringify(key.slice(0, max))}:`}${render(inner, depth + 1)}`;
      first = false;
    }
    return `${out}${Array.isArray(item) ? ']' : '}'}`;
  };
  return truncate(render(value, 0), max);
}

/** Shortens a value echoed in an error message, so hostile input cannot blow up responses or logs. */
export function truncate(text: string, max = 80): string {
  return text.length > max ? `${text.slice(0, max - 3)}...` : text;
}

/**
 * Who made the request, whatever the auth type: the Cognito subject, the Lambda authorizer's principal or the IAM
 * caller's ARN. Export jobs are visible only to the caller that created them.
 */
export function callerOf(event: Pick<APIGatewayProxyEvent, 'requestContext'>): string {
  const authorizer = event.requestContext.authorizer as
    | { claims?: Record<string, unknown>; principalId?: unknown }
    | null
    | undefined;
  const sub = authorizer?.claims?.sub;
  if (typeof sub === 'string' && sub !== '') return `cognito:${sub}`;
  if (typeof authorizer?.principalId === 'string' && authorizer.principalId !== '') {
    return `authorizer:${authorizer.principalId}`;
  }
  const userArn = event.requestContext.identity?.userArn;
  if (typeof userArn === 'string' && userArn !== '') return `iam:${userArn}`;
  throw new InvalidInputError('The request carries no caller identity. Fix: call the API with credentials');
}
