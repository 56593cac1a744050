/**
 * The one way a handler reads its event: parse it with its schema (zod), or fail with a message that says what was
 * expected, what is wrong (each issue at its path), what was received and the fix.
 */
import type * as z from 'zod/mini';
import { InvalidInputError } from './errors';
import './zod-locale';

export interface EventExpectation {
  /** What the event should be, e.g. `load-mart input`: the message starts "Invalid <what>: ...". */
  readonly what: string;
  /** How to send a valid one (the message's "Fix: ..."). */
  readonly fix: string;
  /**
   * Quote the received event (its first 500 characters of JSON). Off for events that carry credentials, such as a
   * CloudFormation custom resource's presigned ResponseURL. @default true
   */
  readonly quoteEvent?: boolean;
  /** The error thrown. @default InvalidInputError (never worth retrying) */
  readonly errorClass?: new (
    message: string,
  ) => Error;
}

const QUOTE_CHARS = 500;

function quote(event: unknown): string {
  try {
    return (JSON.stringify(event) ?? String(event)).slice(0, QUOTE_CHARS);
  } catch {
    return String(event).slice(0, QUOTE_CHARS);
  }
}

export function parseEvent<Schema extends z.ZodMiniType>(
  schema: Schema,
  event: unknown,
  expected: EventExpectation,
): z.output<Schema> {
  const parsed = schema.safeParse(event);
  if (parsed.success) return parsed.data;
  const problems = parsed.error.issues.map((issue) => `${issue.path.join('.') || '(event)'}: ${issue.message}`);
  const received = (expected.quoteEvent ?? true) ? `; received ${quote(event)}` : '';
  const ErrorClass = expected.errorClass ?? InvalidInputError;
  throw new ErrorClass(`Invalid ${expected.what}: ${problems.join('; ')}${received}. Fix: ${expected.fix}`);
}
