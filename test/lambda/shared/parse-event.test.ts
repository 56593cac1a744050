import * as z from 'zod/mini';
import { DomainError, InvalidInputError } from '../../../lambda/shared/errors';
import { parseEvent } from '../../../lambda/shared/parse-event';

const schema = z.object({ dataset: z.string(), batch: z.object({ size: z.number() }) });
const expected = { what: 'test input', fix: 'send { dataset, batch: { size } }' };

describe('parseEvent', () => {
  it('returns the parsed event', () => {
    expect(parseEvent(schema, { dataset: 'clicks', batch: { size: 2 } }, expected)).toEqual({
      dataset: 'clicks',
      batch: { size: 2 },
    });
  });

  it('fails with every issue at its path, the received event and the fix, as an InvalidInputError', () => {
    const event = { batch: { size: 'two' } };
    let thrown: unknown;
    try {
      parseEvent(schema, event, expected);
    } catch (error) {
      thrown = error;
    }
    expect(thrown).toBeInstanceOf(InvalidInputError);
    expect((thrown as Error).message).toBe(
      'Invalid test input: dataset: Invalid input: expected string, received undefined; batch.size: Invalid input: expected number, received string; received {"batch":{"size":"two"}}. Fix: send { dataset, batch: { size } }',
    );
  });

  it('fails a non-object with "(event)" as the path, and quotes at most 500 characters', () => {
    expect(() => parseEvent(schema, 'x'.repeat(600), expected)).toThrow(
      `Invalid test input: (event): Invalid input: expected object, received string; received "${'x'.repeat(499)}. Fix:`,
    );
  });

  it('leaves the event out when asked (events carrying credentials), and throws the error class given', () => {
    class CustomError extends DomainError {}
    const secretUrl = 'https://bucket.s3.amazonaws.com/response?X-Amz-Signature=abc';
    let thrown: unknown;
    try {
      parseEvent(schema, { ResponseURL: secretUrl }, { ...expected, quoteEvent: false, errorClass: CustomError });
    } catch (error) {
      thrown = error;
    }
    expect(thrown).toBeInstanceOf(CustomError);
    expect((thrown as Error).name).toBe('CustomError');
    expect((thrown as Error).message).not.toContain(secretUrl);
    expect((thrown as Error).message).toMatch(/^Invalid test input: dataset: .*\. Fix: send/);
  });
});
