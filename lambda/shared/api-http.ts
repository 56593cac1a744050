/**
 * HTTP helpers of the API functions (Lambda proxy integration): JSON responses that always carry the request id, the
 * mapping of domain errors to status codes, and who the caller is.
 */
import type { APIGatewayProxyEvent, APIGatewayProxyResult } from 'aws-lambda';
import type * as z from 'zod/mini';
import { InvalidInputError, NotFoundError, TransientError } from './errors';

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

/** Parses a JSON body with a zod schema; every problem becomes an InvalidInputError naming the field and value. */
export function parseJsonBody<T extends z.ZodMiniType>(
  event: Pick<APIGatewayProxyEvent, 'body' | 'isBase64Encoded'>,
  schema: T,
): z.output<T> {
  if (event.body === null || event.body.trim() === '') {
    throw new InvalidInputError('The request body is empty. Fix: send a JSON object (Content-Type: application/json)');
  }
  const text = event.isBase64Encoded ? Buffer.from(event.body, 'base64').toString('utf8') : event.body;
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (error) {
    throw new InvalidInputError(
      `The request body is not valid JSON (${(error as Error).message}). Fix: send a JSON object`,
    );
  }
  const result = schema.safeParse(raw);
  if (!result.success) throw new InvalidInputError(describeZodError(result.error, raw));
  return result.data;
}

/** "field "x" has value 5: must be ..." for each problem, joined. */
export function describeZodError(error: z.core.$ZodError, raw: unknown): string {
  return error.issues
    .map((issue) => {
      const keyPath = issue.path.map(String).join('.') || '(body)';
      const value = valueAt(raw, issue.path);
      const received = value === undefined ? 'is missing' : `has value ${truncate(JSON.stringify(value))}`;
      return `field "${keyPath}" ${received}: ${issue.message}`;
    })
    .join('; ');
}

function valueAt(raw: unknown, keys: readonly PropertyKey[]): unknown {
  let current = raw;
  for (const key of keys) {
    if (current === null || typeof current !== 'object') return undefined;
    current = (current as Record<PropertyKey, unknown>)[key];
  }
  return current;
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
