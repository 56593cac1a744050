import * as z from 'zod/mini';
import {
  describeZodError,
  logFailure,
  MAX_JSON_DEPTH,
  nestingBeyond,
  parseJsonBody,
  preview,
  RequestTooLargeError,
} from '../../../lambda/api-shared/http';
import { InvalidInputError, NotFoundError, TransientError } from '../../../lambda/shared/errors';
import { logger } from '../../../lambda/shared/logger';
import '../../../lambda/shared/zod-locale';

/** A value nested `depth` arrays deep, built without recursion. */
function nested(depth: number): unknown {
  let value: unknown = 0;
  for (let i = 0; i < depth; i++) value = [value];
  return value;
}

const schema = z.strictObject({ name: z.string() });

describe('nestingBeyond', () => {
  test('finds the bracket that opens the first level too deep, ignoring brackets inside strings', () => {
    expect(nestingBeyond('{"a":[[1]]}', 3)).toBe(-1);
    expect(nestingBeyond('{"a":[[[1]]]}', 3)).toBe(7);
    expect(nestingBeyond('{"a":"[[[[[[\\"[[[["}', 2)).toBe(-1);
    expect(nestingBeyond(`${'['.repeat(1_000_000)}`, MAX_JSON_DEPTH)).toBe(MAX_JSON_DEPTH);
  });
});

describe('parseJsonBody', () => {
  test('rejects a base64-encoded body nested 5,000 levels deep with an InvalidInputError', () => {
    const body = Buffer.from(`{"name":${'['.repeat(5000)}${']'.repeat(5000)}}`).toString('base64');
    expect(() => parseJsonBody({ body, isBase64Encoded: true }, schema)).toThrow(
      new InvalidInputError(
        'The request body nests objects and arrays more than 16 levels deep (level 17 opens at character 23). Fix: send the documented JSON object',
      ),
    );
  });

  test('rejects a body above 64 KiB, base64 or not, with a RequestTooLargeError (413)', () => {
    const text = JSON.stringify({ name: 'x'.repeat(70_000) });
    expect(() => parseJsonBody({ body: text, isBase64Encoded: false }, schema)).toThrow(RequestTooLargeError);
    const base64 = Buffer.from(text).toString('base64');
    expect(() => parseJsonBody({ body: base64, isBase64Encoded: true }, schema)).toThrow(
      /^The request body is 70011 bytes, more than 65536\. Fix: send only the documented fields$/,
    );
  });

  test('accepts the documented depth', () => {
    expect(parseJsonBody({ body: '{"name":"a"}', isBase64Encoded: false }, schema)).toEqual({ name: 'a' });
  });
});

describe('describeZodError and preview', () => {
  test('survives a value nested 100,000 levels deep (JSON.stringify would throw RangeError)', () => {
    const raw = { name: nested(100_000) };
    expect(() => JSON.stringify(raw)).toThrow(RangeError);
    const result = schema.safeParse(raw);
    expect(result.success).toBe(false);
    expect(describeZodError(result.error!, raw)).toBe(
      'field "name" has value [[[[...]]]]: Invalid input: expected string, received array',
    );
  });

  test('bounds the echo of a huge value', () => {
    expect(preview({ a: 'x'.repeat(10_000), b: Array(10_000).fill(1) }).length).toBeLessThanOrEqual(80);
    expect(preview('short')).toBe('"short"');
    expect(preview(undefined)).toBe('undefined');
  });
});

describe('logFailure', () => {
  test('logs client errors at info, a resuming mart at warn, anything else at error', () => {
    const spies = {
      info: jest.spyOn(logger, 'info').mockImplementation(() => undefined),
      warn: jest.spyOn(logger, 'warn').mockImplementation(() => undefined),
      error: jest.spyOn(logger, 'error').mockImplementation(() => undefined),
    };
    try {
      logFailure('x', new InvalidInputError('bad'), 'r1');
      logFailure('x', new NotFoundError('gone'), 'r2');
      logFailure('x', new RequestTooLargeError('big'), 'r3');
      expect(spies.info.mock.calls).toEqual([
        ['x: refused', { requestId: 'r1', status: 400, reason: 'bad' }],
        ['x: refused', { requestId: 'r2', status: 404, reason: 'gone' }],
        ['x: refused', { requestId: 'r3', status: 413, reason: 'big' }],
      ]);
      logFailure('x', new TransientError('resuming'), 'r4');
      expect(spies.warn).toHaveBeenCalledWith('x: data mart unavailable', { requestId: 'r4', reason: 'resuming' });
      const bug = new TypeError('undefined is not a function');
      logFailure('x', bug, 'r5');
      expect(spies.error).toHaveBeenCalledWith('x failed', { requestId: 'r5', error: bug });
      expect(spies.error).toHaveBeenCalledTimes(1);
    } finally {
      for (const spy of Object.values(spies)) spy.mockRestore();
    }
  });
});
