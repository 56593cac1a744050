/**
 * How a value is shown in a reason: its JSON text, cut to a readable length. Safe for any value a hostile file can
 * hold: rendering stops as soon as the text is long enough, so a value nested thousands of levels deep, or one of
 * megabytes, costs a few dozen characters of work (JSON.stringify would recurse to the bottom and throw a RangeError).
 */

/** Characters of a value shown in a reason by default. */
export const SHOWN_CHARS = 80;

/** Collects text up to a budget; `full` once it holds more than the budget (so the caller knows to cut). */
class BoundedText {
  text = '';
  constructor(readonly budget: number) {}

  get full(): boolean {
    return this.text.length > this.budget;
  }

  add(piece: string): void {
    if (!this.full) this.text += piece.length > this.budget ? piece.slice(0, this.budget + 1) : piece;
  }
}

function numberText(value: number): string {
  // JSON.stringify shows Infinity as null, which would hide the problem.
  return Number.isFinite(value) ? String(value) : value > 0 ? 'Infinity' : value < 0 ? '-Infinity' : 'NaN';
}

/**
 * Appends the JSON text of `value`. Each level of nesting adds at least one character before going deeper, so the
 * recursion is at most `budget` levels deep whatever the value's depth.
 */
function render(value: unknown, out: BoundedText): void {
  if (out.full) return;
  switch (typeof value) {
    case 'string':
      // Only the part that can be shown is escaped (a surrogate pair cut in two is escaped as \\udXXX, still text);
      // a cut string renders longer than the budget, so the result ends with "...".
      out.add(JSON.stringify(value.length > out.budget ? value.slice(0, out.budget + 1) : value));
      return;
    case 'number':
      out.add(numberText(value));
      return;
    case 'boolean':
    case 'bigint':
      out.add(String(value));
      return;
    case 'undefined':
      out.add('undefined');
      return;
    case 'object':
      break;
    default:
      out.add(String(value));
      return;
  }
  if (value === null) {
    out.add('null');
    return;
  }
  if (Array.isArray(value)) {
    out.add('[');
    for (let i = 0; i < value.length && !out.full; i++) {
      if (i > 0) out.add(',');
      render(value[i], out);
    }
    out.add(']');
    return;
  }
  out.add('{');
  let first = true;
  for (const key in value) {
    if (out.full) return;
    if (!Object.hasOwn(value, key)) continue;
    if (!first) out.add(',');
    first = false;
    render(key, out);
    out.add(':');
    render((value as Record<string, unknown>)[key], out);
  }
  out.add('}');
}

/** The JSON text of `value`, at most `maxChars` characters (a longer one ends with "..."). */
export function showValue(value: unknown, maxChars: number = SHOWN_CHARS): string {
  const out = new BoundedText(maxChars);
  render(value, out);
  return out.full ? `${out.text.slice(0, maxChars - 3)}...` : out.text;
}
