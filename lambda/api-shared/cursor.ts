/**
 * Opaque pagination cursors: base64url JSON `{ v, q, k }` (version, query fingerprint, key values of the last row).
 * A cursor is not trusted: it is size-limited, parsed with a schema, must belong to the same table and filters, and its
 * key values are checked against the key columns' types before they are sent as parameters.
 */
import * as z from 'zod/mini';
import { InvalidInputError } from '../shared/errors';
import { columnValueProblem } from './column-values';
import { typeOfColumn } from './marts';
import type { MartTable } from './contract';
import type { KeysetPosition } from './mart-query';
import '../shared/zod-locale';

const CURSOR_VERSION = 1;
/** Long enough for any composite key of reasonable values, short enough to refuse junk before parsing it. */
export const MAX_CURSOR_LENGTH = 2048;

const cursorSchema = z.strictObject({
  v: z.literal(CURSOR_VERSION),
  q: z.string().check(z.maxLength(64)),
  /** Key values: strings or finite numbers (z.number() rejects NaN and Infinity). */
  k: z.array(z.union([z.string().check(z.maxLength(256)), z.number()])).check(z.minLength(1), z.maxLength(16)),
});

export function encodeCursor(fingerprint: string, position: KeysetPosition): string {
  return Buffer.from(JSON.stringify({ v: CURSOR_VERSION, q: fingerprint, k: position }), 'utf8').toString('base64url');
}

const INVALID_FIX = 'Fix: pass the "nextCursor" of the previous page unchanged, with the same filters';
const INVALID = `Invalid cursor. ${INVALID_FIX}`;

export function decodeCursor(cursor: string, table: MartTable, fingerprint: string): KeysetPosition {
  if (cursor.length > MAX_CURSOR_LENGTH || !/^[A-Za-z0-9_-]+$/.test(cursor)) throw new InvalidInputError(INVALID);
  let raw: unknown;
  try {
    raw = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
  } catch {
    throw new InvalidInputError(INVALID);
  }
  const parsed = cursorSchema.safeParse(raw);
  if (!parsed.success || parsed.data.q !== fingerprint || parsed.data.k.length !== table.primaryKey.length) {
    throw new InvalidInputError(INVALID);
  }
  table.primaryKey.forEach((column, index) => {
    const value = String(parsed.data.k[index]);
    const type = typeOfColumn(table, column);
    const problem = columnValueProblem(type, value);
    // A cursor is opaque, but a forged one still learns which rule its key broke (the same rules as filters).
    if (problem) {
      throw new InvalidInputError(
        `Invalid cursor: its ${column} is not a valid ${type}: ${problem.rule}. ${INVALID_FIX}`,
      );
    }
  });
  return parsed.data.k;
}
