/**
 * Per-column checks compiled once from a dataset's {@link ColumnConfig}s, then applied to every record.
 *
 * Two entry points, one per kind of input:
 * - {@link RecordValidator.checkObject}: a parsed JSON record (ndjson / json). Values must have the JSON type of the
 *   column (numbers for numeric columns, or a string holding the number, so producers can keep bigint/decimal
 *   precision; booleans for boolean columns; strings for string/date/timestamp).
 * - {@link RecordValidator.forCsvHeader}: CSV records, whose fields are text; valid records are turned into a JSON
 *   object text with typed values, so staging is NDJSON whatever the input format.
 *
 * Problems are returned as text (`column "bid_price_usd": "abc" is not a decimal(12,6)`); the caller prefixes the line.
 *
 * Each check has a fast test (valid or not, nothing worded) and a description of the problem. The hot paths are
 * generated per dataset (per CSV header) as straight-line code over the columns: a record passing the fast tests is
 * done; any other goes through the complete, interpreted check, which words its problems (see the code generation
 * below). The fast paths only ever accept what the complete check accepts, with the same output (the tests compare
 * them on random records).
 */
import { COLUMN_TYPE } from '../../config/column-type';
import type { ColumnConfig, DatasetConfig } from '../../config/schema';
import { showValue } from './show-value';

export { showValue };

/** A field as the CSV reader yields it: `null` for an unquoted empty field (SQL NULL), else the text. */
export type CsvField = string | null;

/** The type-specific checks of a column, compiled once from its config. */
interface TypeChecks {
  /** Whether a JSON value that is neither null nor undefined is valid: runs on every value, allocates nothing. */
  readonly validJson: (value: unknown) => boolean;
  /** Why a JSON value that failed {@link validJson} is invalid. */
  readonly describeJson: (value: unknown) => string;
  /** Whether a non-empty text value (CSV) is valid. */
  readonly validText: (text: string) => boolean;
  /** Why a text value that failed {@link validText} is invalid. */
  readonly describeText: (text: string) => string;
  /** The JSON text of a text value that passed {@link validText}. */
  readonly textToJson: (text: string) => string;
  /**
   * Whether a text value is valid and its JSON is the text as written (between quotes when `quoted`): such fields are
   * staged without conversion by the compiled CSV path. Implies {@link validText}, in one scan where it can.
   */
  readonly validAsWritten: (text: string) => boolean;
  readonly quoted: boolean;
  /** Whether a JSON value is valid exactly when it is a string and a valid text (string, date, timestamp columns). */
  readonly stringValued: boolean;
}

interface ColumnRule extends TypeChecks {
  readonly name: string;
  readonly nullable: boolean;
  readonly isString: boolean;
}

/** The problem of a JSON value that is neither null nor undefined, if any. */
function checkJson(rule: ColumnRule, value: unknown): string | undefined {
  return rule.validJson(value) ? undefined : rule.describeJson(value);
}

/** The problem of a non-empty text value, if any. */
function checkText(rule: ColumnRule, text: string): string | undefined {
  return rule.validText(text) ? undefined : rule.describeText(text);
}

const INT32_MIN = -2147483648;
const INT32_MAX = 2147483647;
const INT64_MIN = -(2n ** 63n);
const INT64_MAX = 2n ** 63n - 1n;

const CANONICAL_INTEGER = /^-?(0|[1-9]\d*)$/;
/** Text that is already a JSON number as written (no "+", no leading zeros, digits around the point). */
const CANONICAL_JSON_NUMBER = /^-?(0|[1-9]\d*)(\.\d+)?([eE][+-]?\d+)?$/;
const DOUBLE_TEXT = /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/;
/** A Map rather than an object literal, so that "constructor" or "toString" are not booleans. */
const BOOLEAN_TEXT: ReadonlyMap<string, 'true' | 'false'> = new Map([
  ['true', 'true'],
  ['false', 'false'],
  ['TRUE', 'true'],
  ['FALSE', 'false'],
  ['True', 'true'],
  ['False', 'false'],
  ['1', 'true'],
  ['0', 'false'],
]);

/** Whether a string needs JSON escaping (quote, backslash, control characters); most field values do not. */
function needsJsonEscape(text: string): boolean {
  for (let i = 0; i < text.length; i++) {
    const code = text.charCodeAt(i);
    if (code < 32 || code === 34 || code === 92 || code === 0x2028 || code === 0x2029) return true;
  }
  return false;
}

/**
 * Whether a string is not staged as written by the compiled CSV path: it needs JSON escaping, or holds a surrogate
 * (paired or not: the checked path decides). Text without either also holds no NUL, so it is storable.
 */
function needsEscapeOrCheck(text: string): boolean {
  for (let i = 0; i < text.length; i++) {
    const code = text.charCodeAt(i);
    if (code < 32 || code === 34 || code === 92 || code === 0x2028 || code === 0x2029 || (code & 0xf800) === 0xd800) {
      return true;
    }
  }
  return false;
}

/** `String.prototype.isWellFormed` (ES2024; Node.js 20+): no unpaired surrogate, so the text has a UTF-8 form. */
const isWellFormed = (text: string): boolean => (text as unknown as { isWellFormed(): boolean }).isWellFormed();

/**
 * Whether every downstream can store the text: no NUL (PostgreSQL text refuses it; it arrives as the JSON escape
 * `\u0000`, since a NUL byte makes the whole file binary) and no unpaired surrogate (an escape such as `\ud800`
 * alone: not Unicode, so no valid UTF-8 for Parquet or PostgreSQL).
 */
export function isStorableText(text: string): boolean {
  return text.indexOf('\u0000') < 0 && isWellFormed(text);
}

/** Why a text is not storable ({@link isStorableText} is false). */
function unstorableText(text: string): string {
  return text.indexOf('\u0000') >= 0
    ? `${showValue(text)} holds a NUL character (\\u0000), which PostgreSQL cannot store in text. Fix: remove it from the value`
    : `${showValue(text)} holds an unpaired UTF-16 surrogate (an escape such as \\ud800 without its pair), which is not Unicode text. Fix: send the character itself, or both halves of its pair`;
}

/** Problems listed for one record at most: a record of 100,000 unknown keys gets one line of reason, not megabytes. */
const MAX_PROBLEMS = 10;

/** Appends a problem to a list created on first use (valid records, the common case, allocate nothing). */
function withProblem(problems: string[] | undefined, problem: string): string[] {
  if (problems === undefined) return [problem];
  problems.push(problem);
  return problems;
}

/** The first {@link MAX_PROBLEMS} problems, and how many more there were. */
function capProblems(problems: string[], total: number): string[] {
  if (total <= MAX_PROBLEMS) return problems;
  return [...problems.slice(0, MAX_PROBLEMS), `and ${total - MAX_PROBLEMS} more problems`];
}

/** The largest finite double: JSON numbers beyond it parse as Infinity, which no downstream type holds. */
const MAX_DOUBLE_TEXT = '1.7976931348623157e308';

function beyondDouble(value: number, type: string): string {
  return `a number beyond ${value < 0 ? '-' : ''}${MAX_DOUBLE_TEXT} (parsed as ${value < 0 ? '-' : ''}Infinity) is out of range for ${type}. Fix: send a finite number`;
}

/** Days of each month in a common year. */
const MONTH_DAYS = [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];

function isValidDate(year: number, month: number, day: number): boolean {
  if (month < 1 || month > 12 || day < 1) return false;
  if (day <= MONTH_DAYS[month - 1]) return true;
  return month === 2 && day === 29 && year % 4 === 0 && (year % 100 !== 0 || year % 400 === 0);
}

// Dates, timestamps and decimals are checked by hand rather than with regular expressions: they are in nearly every
// record, and a scan over character codes allocates nothing (the validate benchmark measures the difference).

const ZERO = 48;

/** The value of the two ASCII digits at `at`, or -1 when they are not both digits (or the text ends). */
function twoDigitsAt(text: string, at: number): number {
  const tens = text.charCodeAt(at) - ZERO;
  const ones = text.charCodeAt(at + 1) - ZERO;
  return tens >= 0 && tens <= 9 && ones >= 0 && ones <= 9 ? tens * 10 + ones : -1;
}

/**
 * YYYY-MM-DD at `at`, a real calendar day of the years 0001 to 9999: the range of PostgreSQL's and Spark's dates
 * and timestamps alike (there is no year 0 in PostgreSQL, and a year has four digits in Spark's output).
 */
function isDateAt(text: string, at: number): boolean {
  if (text.charCodeAt(at + 4) !== 45 || text.charCodeAt(at + 7) !== 45) return false;
  const century = twoDigitsAt(text, at);
  const yearOfCentury = twoDigitsAt(text, at + 2);
  const month = twoDigitsAt(text, at + 5);
  const day = twoDigitsAt(text, at + 8);
  const year = century * 100 + yearOfCentury;
  return century >= 0 && yearOfCentury >= 0 && month >= 0 && day >= 0 && year >= 1 && isValidDate(year, month, day);
}

function checkDateText(text: string): boolean {
  return text.length === 10 && isDateAt(text, 0);
}

/** The largest UTC offset Spark accepts (java.time.ZoneOffset: ±18:00), in minutes. */
const MAX_OFFSET_MINUTES = 18 * 60;

/**
 * Whether a timestamp of the first or last day of the range stays in it once its offset is applied (Spark stores
 * the UTC instant, and 0001-01-01T00:30+01:00 is in year 0): other days cannot leave the range.
 */
function instantInRange(text: string, localMinutes: number, offsetMinutes: number): boolean {
  const first = text.charCodeAt(0);
  if (first !== ZERO && first !== ZERO + 9) return true;
  if (localMinutes - offsetMinutes < 0 && text.startsWith('0001-01-01')) return false;
  return !(localMinutes - offsetMinutes >= 24 * 60 && text.startsWith('9999-12-31'));
}

/**
 * ISO 8601: `YYYY-MM-DD[T ]HH:MM[:SS[.fraction(1-9)]][Z|+HH:MM|+HHMM]`, a real day of 0001-9999 whose UTC instant is
 * in that range too, with an offset of at most ±18:00.
 */
function checkTimestampText(text: string): boolean {
  const length = text.length;
  if (length < 16 || !isDateAt(text, 0)) return false;
  const separator = text.charCodeAt(10);
  if (separator !== 84 && separator !== 32) return false; // 'T' or ' '
  const hour = twoDigitsAt(text, 11);
  const minute = twoDigitsAt(text, 14);
  if (hour < 0 || hour > 23 || text.charCodeAt(13) !== 58 || minute < 0 || minute > 59) return false;
  let i = 16;
  if (i < length && text.charCodeAt(i) === 58) {
    const second = twoDigitsAt(text, i + 1);
    if (second < 0 || second > 59) return false;
    i += 3;
    if (i < length && text.charCodeAt(i) === 46) {
      const start = ++i;
      while (i < length && isDigit(text.charCodeAt(i))) i++;
      if (i === start || i - start > 9) return false;
    }
  }
  if (i === length) return true;
  const zone = text.charCodeAt(i);
  if (zone === 90) return i + 1 === length; // 'Z'
  if (zone !== 43 && zone !== 45) return false; // '+' or '-'
  const offsetHours = twoDigitsAt(text, i + 1);
  const colon = text.charCodeAt(i + 3) === 58 ? 1 : 0;
  const offsetMinutes = twoDigitsAt(text, i + 3 + colon);
  if (offsetHours < 0 || offsetMinutes < 0 || offsetMinutes > 59 || i + 5 + colon !== length) return false;
  const offset = offsetHours * 60 + offsetMinutes;
  if (offset > MAX_OFFSET_MINUTES) return false;
  return offset === 0 || instantInRange(text, hour * 60 + minute, zone === 45 ? -offset : offset);
}

/** Why a text shaped like a date (or a timestamp) is not one, when its day, year or offset is the reason. */
function dateTimeProblem(text: string, kind: 'date' | 'timestamp'): string | undefined {
  const match = /^(\d{4})-(\d{2})-(\d{2})/.exec(text);
  if (match === null) return undefined;
  const [year, month, day] = [Number(match[1]), Number(match[2]), Number(match[3])];
  if (year === 0) return 'there is no year 0000 (years run from 0001 to 9999)';
  if (month < 1 || month > 12) return `there is no month ${match[2]}`;
  if (!isValidDate(year, month, day)) return `${match[1]}-${match[2]} has no day ${match[3]}`;
  if (kind === 'date') return undefined;
  const zone = /([+-])(\d{2}):?(\d{2})$/.exec(text.slice(16));
  if (zone === null) return undefined;
  const offset = Number(zone[2]) * 60 + Number(zone[3]);
  if (offset > MAX_OFFSET_MINUTES) return `its UTC offset ${zone[0]} is beyond ±18:00`;
  if (checkTimestampText(text.slice(0, 16 + zone.index) + 'Z')) {
    return 'its UTC instant is outside 0001-01-01T00:00:00Z to 9999-12-31T23:59:59Z once the offset is applied';
  }
  return undefined;
}

/** The digits of a decimal text: `[+-]digits[.digits]`, counted without leading and trailing zeros. */
interface DecimalShape {
  integerDigits: number;
  fractionDigits: number;
}

function decimalShape(text: string): DecimalShape | undefined {
  const length = text.length;
  let i = 0;
  const sign = text.charCodeAt(0);
  if (sign === 43 || sign === 45) i++;
  let digits = 0;
  let significantFrom = -1;
  for (; i < length; i++) {
    const code = text.charCodeAt(i);
    if (code === 46) break;
    if (code < ZERO || code > ZERO + 9) return undefined;
    digits++;
    if (significantFrom < 0 && code !== ZERO) significantFrom = digits;
  }
  const integerDigits = significantFrom < 0 ? 0 : digits - significantFrom + 1;
  let fractionDigits = 0;
  let fractionLength = 0;
  for (i++; i < length; i++) {
    const code = text.charCodeAt(i);
    if (code < ZERO || code > ZERO + 9) return undefined;
    fractionLength++;
    if (code !== ZERO) fractionDigits = fractionLength;
  }
  if (digits === 0 && fractionLength === 0) return undefined;
  return { integerDigits, fractionDigits };
}

/** Plain decimal text of a JSON number (`1e-7` becomes `0.0000001`). */
function numberToPlainText(value: number): string {
  const text = String(value);
  if (text.indexOf('e') < 0) return text;
  return value.toFixed(20).replace(/\.?0+$/, '');
}

// Integer, double and decimal text is scanned by hand too: CSV holds it in nearly every record.

function isDigit(code: number): boolean {
  return code >= ZERO && code <= ZERO + 9;
}

/** `[+-]?\d+`. */
function isIntegerText(text: string): boolean {
  const sign = text.charCodeAt(0);
  let i = sign === 43 || sign === 45 ? 1 : 0;
  if (i >= text.length) return false;
  for (; i < text.length; i++) if (!isDigit(text.charCodeAt(i))) return false;
  return true;
}

/** Where the integer part of a JSON number (`-?(0|[1-9]\d*)`) at the start of `text` ends, or -1 if there is none. */
function jsonIntegerEnd(text: string): number {
  let i = text.charCodeAt(0) === 45 ? 1 : 0;
  const first = text.charCodeAt(i);
  if (first === ZERO) return i + 1;
  if (!(first > ZERO && first <= ZERO + 9)) return -1;
  for (i++; i < text.length && isDigit(text.charCodeAt(i)); i++);
  return i;
}

/** `-?(0|[1-9]\d*)(\.\d+)?`: a JSON number without exponent, written as JSON writes it. */
function isPlainNumber(text: string): boolean {
  let i = jsonIntegerEnd(text);
  if (i < 0) return false;
  if (i < text.length && text.charCodeAt(i) === 46) {
    const start = ++i;
    for (; i < text.length && isDigit(text.charCodeAt(i)); i++);
    if (i === start) return false;
  }
  return i === text.length;
}

/**
 * Whether `text` is a plain number whose fraction does not end with a zero (the decimal's textToJson leaves it as it
 * is) and that fits the digits of a decimal(precision, scale): the common CSV decimal, checked in one scan.
 */
function isPlainDecimalWithin(text: string, maxIntegerDigits: number, scale: number): boolean {
  const end = jsonIntegerEnd(text);
  if (end < 0) return false;
  const sign = text.charCodeAt(0) === 45 ? 1 : 0;
  // A lone "0" has no significant integer digit.
  const integerDigits = end - sign === 1 && text.charCodeAt(sign) === ZERO ? 0 : end - sign;
  if (integerDigits > maxIntegerDigits) return false;
  if (end === text.length) return true;
  if (text.charCodeAt(end) !== 46) return false;
  let i = end + 1;
  for (; i < text.length && isDigit(text.charCodeAt(i)); i++);
  const fractionDigits = i - end - 1;
  return i === text.length && fractionDigits > 0 && fractionDigits <= scale && text.charCodeAt(i - 1) !== ZERO;
}

/** Plain numbers up to this length are finite doubles (the largest double has 309 integer digits). */
const FINITE_PLAIN_NUMBER_CHARS = 300;

/** Characters with a meaning in a regular expression outside a class: anything else stands for itself. */
const REGEXP_SYNTAX = '^$\\.*+?()[]{}|/';

/**
 * The characters allowed at each position of a simple pattern (anchored, fixed length, ASCII: literals, `\d`,
 * classes like `[0-9a-f]`, `{n}` repeats), such as `^imp-[0-9a-f]{16}$`; `undefined` for any other pattern.
 */
function fixedPatternClasses(source: string): Uint8Array[] | undefined {
  if (!source.startsWith('^') || !source.endsWith('$') || source.endsWith('\\$')) return undefined;
  const body = source.slice(1, -1);
  const positions: Uint8Array[] = [];
  let i = 0;
  while (i < body.length) {
    const allowed = new Uint8Array(128);
    const char = body[i];
    if (char === '[') {
      const close = body.indexOf(']', i + 1);
      const items = close < 0 ? '' : body.slice(i + 1, close);
      // Negated classes, escapes and nested brackets are left to RegExp.
      if (items === '' || items.startsWith('^') || items.includes('\\') || items.includes('[')) return undefined;
      for (let j = 0; j < items.length; j++) {
        const from = items.charCodeAt(j);
        const to = items[j + 1] === '-' && j + 2 < items.length ? items.charCodeAt(j + 2) : from;
        if (to >= 128 || to < from) return undefined;
        allowed.fill(1, from, to + 1);
        if (to !== from) j += 2;
      }
      i = close + 1;
    } else if (char === '\\') {
      const escaped = body[i + 1] ?? '';
      if (escaped === 'd') allowed.fill(1, ZERO, ZERO + 10);
      else if (escaped !== '' && (REGEXP_SYNTAX.includes(escaped) || escaped === '-'))
        allowed[escaped.charCodeAt(0)] = 1;
      else return undefined;
      i += 2;
    } else if (!REGEXP_SYNTAX.includes(char) && char.charCodeAt(0) < 128) {
      allowed[char.charCodeAt(0)] = 1;
      i++;
    } else {
      return undefined;
    }
    let repeat = 1;
    const quantifier = /^\{(\d{1,3})\}/.exec(body.slice(i));
    if (quantifier !== null) {
      repeat = Number(quantifier[1]);
      i += quantifier[0].length;
    } else if ('{*+?'.includes(body[i] ?? 'x')) {
      return undefined;
    }
    for (let n = 0; n < repeat; n++) positions.push(allowed);
  }
  return positions;
}

/**
 * The test of a pattern: for simple patterns (ids, codes), a scan over a table of the characters allowed at each
 * position, about twice as fast as RegExp#test on such short values (no call into the regexp engine); RegExp otherwise.
 */
export function compilePattern(source: string): (text: string) => boolean {
  const classes = fixedPatternClasses(source);
  if (classes === undefined) {
    const pattern = new RegExp(source);
    return (text) => pattern.test(text);
  }
  const length = classes.length;
  const table = new Uint8Array(length * 128);
  for (const [position, allowed] of classes.entries()) table.set(allowed, position * 128);
  return (text) => {
    if (text.length !== length) return false;
    for (let i = 0; i < length; i++) {
      const code = text.charCodeAt(i);
      if (code >= 128 || table[i * 128 + code] === 0) return false;
    }
    return true;
  };
}

/** Membership in an enum: a short list is searched with `===`, cheaper than hashing each value for a Set. */
function enumTest(values: readonly string[]): (text: string) => boolean {
  if (values.length > 8) {
    const set = new Set(values);
    return (text) => set.has(text);
  }
  return (text) => {
    for (let i = 0; i < values.length; i++) if (text === values[i]) return true;
    return false;
  };
}

/** Whether a pattern admits only ASCII without NUL (the compiled table of a simple pattern), so only storable text. */
function patternAdmitsOnlyStorable(source: string): boolean {
  const classes = fixedPatternClasses(source);
  return classes?.every((allowed) => allowed[0] === 0) ?? false;
}

function stringRule(column: ColumnConfig): TypeChecks {
  const allowed = column.enum ? enumTest(column.enum) : undefined;
  const matches = column.pattern !== undefined ? compilePattern(column.pattern) : undefined;
  // The enum or the pattern may already admit only storable text (the common id and code columns): then the test
  // run on every value scans nothing more.
  const constrained =
    (column.enum?.every(isStorableText) ?? false) ||
    (column.pattern !== undefined && patternAdmitsOnlyStorable(column.pattern));
  // One closure per case: the test run on every value holds no branch on what the column has.
  const admitted: ((text: string) => boolean) | undefined =
    allowed !== undefined && matches !== undefined ? (text) => allowed(text) && matches(text) : (allowed ?? matches);
  const validText: (text: string) => boolean =
    admitted === undefined ? isStorableText : constrained ? admitted : (text) => admitted(text) && isStorableText(text);
  const describeText = (text: string) =>
    !isStorableText(text)
      ? unstorableText(text)
      : allowed !== undefined && !allowed(text)
        ? `${showValue(text)} is not one of ${column.enum!.join(', ')}`
        : `${showValue(text)} does not match ${column.pattern}`;
  // Text needing no escape and holding no surrogate holds no NUL either: admitted is then the whole test.
  const writtenTest = admitted ?? (() => true);
  return {
    validJson: (value) => typeof value === 'string' && validText(value),
    stringValued: true,
    describeJson: (value) => (typeof value === 'string' ? describeText(value) : `${showValue(value)} is not a string`),
    validText,
    describeText,
    textToJson: (text) => (needsJsonEscape(text) ? JSON.stringify(text) : `"${text}"`),
    validAsWritten: (text) => writtenTest(text) && !needsEscapeOrCheck(text),
    quoted: true,
  };
}

function integerRule(type: 'integer' | 'bigint'): TypeChecks {
  const notType = (value: unknown) => `${showValue(value)} is not ${type === 'integer' ? 'an integer' : 'a bigint'}`;
  const validText =
    type === 'integer'
      ? (text: string) => {
          if (!isIntegerText(text)) return false;
          const value = Number(text);
          return value >= INT32_MIN && value <= INT32_MAX;
        }
      : (text: string) => {
          if (!isIntegerText(text)) return false;
          // Only long texts can overflow 64 bits; BigInt is costly, so it is kept for those.
          if (text.length < 19) return true;
          const value = BigInt(text);
          return value >= INT64_MIN && value <= INT64_MAX;
        };
  const describeText = (text: string) =>
    isIntegerText(text) ? `${showValue(text)} is out of range for ${type}` : notType(text);
  return {
    validJson:
      type === 'integer'
        ? (value) =>
            typeof value === 'number'
              ? Number.isInteger(value) && value >= INT32_MIN && value <= INT32_MAX
              : typeof value === 'string' && validText(value)
        : (value) =>
            typeof value === 'number' ? Number.isSafeInteger(value) : typeof value === 'string' && validText(value),
    describeJson: (value) => {
      if (typeof value === 'string') return describeText(value);
      if (typeof value === 'number' && !Number.isFinite(value)) return beyondDouble(value, type);
      if (typeof value !== 'number' || !Number.isInteger(value)) return notType(value);
      if (type === 'integer') return `${showValue(value)} is out of range for integer`;
      return `${showValue(value)} cannot be represented exactly as a JSON number. Fix: send bigints above 2^53 as strings`;
    },
    validText,
    describeText,
    textToJson: (text) => (CANONICAL_INTEGER.test(text) ? text : BigInt(text).toString()),
    // Up to 9 characters (8 digits and a sign) fit in an integer, 18 in a bigint: validText is left the long ones.
    validAsWritten: (text) =>
      jsonIntegerEnd(text) === text.length && (text.length < (type === 'integer' ? 10 : 19) || validText(text)),
    quoted: false,
    stringValued: false,
  };
}

function doubleRule(): TypeChecks {
  const validText = (text: string) =>
    (text.length <= FINITE_PLAIN_NUMBER_CHARS && isPlainNumber(text)) ||
    (DOUBLE_TEXT.test(text) && Number.isFinite(Number(text)));
  const describeText = (text: string) =>
    DOUBLE_TEXT.test(text)
      ? `${showValue(text)} is out of range for double (finite values are within ±${MAX_DOUBLE_TEXT}). Fix: send a finite number`
      : `${showValue(text)} is not a double`;
  return {
    // JSON.parse turns a number beyond the double range (1e400) into Infinity: refused, as the same text in CSV.
    validJson: (value) =>
      typeof value === 'number' ? Number.isFinite(value) : typeof value === 'string' && validText(value),
    describeJson: (value) =>
      typeof value === 'number'
        ? beyondDouble(value, 'double')
        : typeof value === 'string'
          ? describeText(value)
          : `${showValue(value)} is not a double`,
    validText,
    describeText,
    textToJson: (text) => (CANONICAL_JSON_NUMBER.test(text) ? text : String(Number(text))),
    validAsWritten: (text) => text.length <= FINITE_PLAIN_NUMBER_CHARS && isPlainNumber(text),
    quoted: false,
    stringValued: false,
  };
}

function decimalRule(type: string, precision: number, scale: number): TypeChecks {
  const maxIntegerDigits = precision - scale;
  const scaleFactor = 10 ** scale;
  const integerLimit = 10 ** maxIntegerDigits;
  const exactAsDouble = precision <= 15;
  const validText = (text: string) => {
    const shape = decimalShape(text);
    return shape !== undefined && shape.integerDigits <= maxIntegerDigits && shape.fractionDigits <= scale;
  };
  const describeText = (text: string) => {
    const shape = decimalShape(text);
    if (shape === undefined) return `${showValue(text)} is not a ${type}`;
    if (shape.integerDigits > maxIntegerDigits) {
      return `${showValue(text)} has more than ${maxIntegerDigits} digits before the decimal point for ${type}`;
    }
    return `${showValue(text)} has more than ${scale} decimal places for ${type}`;
  };
  return {
    validJson: (value) => {
      if (typeof value === 'string') return validText(value);
      if (typeof value !== 'number') return false;
      // Fast path without number-to-text conversion: fits when value * 10^scale is a whole number (within the
      // rounding of a double, ~2 ulp) below the integer-digit limit. Exact for precision <= 15 (a double's digits).
      const scaled = value * scaleFactor;
      return (
        (exactAsDouble &&
          Math.abs(value) < integerLimit &&
          Math.abs(scaled - Math.round(scaled)) <= Math.abs(scaled) * 4e-16) ||
        validText(numberToPlainText(value))
      );
    },
    describeJson: (value) => {
      if (typeof value === 'string') return describeText(value);
      if (typeof value === 'number' && !Number.isFinite(value)) return beyondDouble(value, type);
      if (typeof value === 'number') return describeText(numberToPlainText(value));
      return `${showValue(value)} is not a ${type}`;
    },
    validText,
    describeText,
    // Only called on checked text: drop a "+", leading zeros and trailing fraction zeros, so it is a JSON number.
    textToJson: (text) => {
      const negative = text.charCodeAt(0) === 45;
      const unsigned = negative || text.charCodeAt(0) === 43 ? text.slice(1) : text;
      const point = unsigned.indexOf('.');
      let integer = point < 0 ? unsigned : unsigned.slice(0, point);
      let fraction = point < 0 ? '' : unsigned.slice(point + 1);
      let start = 0;
      while (start < integer.length - 1 && integer.charCodeAt(start) === ZERO) start++;
      integer = integer.slice(start) || '0';
      let end = fraction.length;
      while (end > 0 && fraction.charCodeAt(end - 1) === ZERO) end--;
      fraction = fraction.slice(0, end);
      return `${negative ? '-' : ''}${integer}${fraction === '' ? '' : `.${fraction}`}`;
    },
    // What textToJson leaves as it is.
    validAsWritten: (text) => isPlainDecimalWithin(text, maxIntegerDigits, scale),
    quoted: false,
    stringValued: false,
  };
}

/**
 * checkDateText remembering the last valid date: a file holds few distinct days, so most values cost one comparison
 * (JSON.parse interns short strings such as dates, which makes that comparison one of references).
 */
function rememberingDateCheck(): (text: string) => boolean {
  let lastValid: string | undefined;
  return (text) => {
    if (text === lastValid) return true;
    if (!checkDateText(text)) return false;
    lastValid = text;
    return true;
  };
}

function textFormatRule(kind: 'date' | 'timestamp'): TypeChecks {
  const validText = kind === 'date' ? rememberingDateCheck() : checkTimestampText;
  const problem = (value: unknown) => {
    const why = typeof value === 'string' ? dateTimeProblem(value, kind) : undefined;
    if (why !== undefined) return `${showValue(value)} is not a ${kind}: ${why}`;
    return kind === 'date'
      ? `${showValue(value)} is not a date (YYYY-MM-DD)`
      : `${showValue(value)} is not a timestamp (ISO 8601, e.g. 2026-01-31T12:00:00Z)`;
  };
  return {
    validJson: (value) => typeof value === 'string' && validText(value),
    stringValued: true,
    describeJson: problem,
    validText,
    describeText: problem,
    // Validated dates and timestamps hold no character JSON would escape.
    textToJson: (text) => `"${text}"`,
    validAsWritten: validText,
    quoted: true,
  };
}

function booleanRule(): TypeChecks {
  const problem = (value: unknown) => `${showValue(value)} is not a boolean (true or false)`;
  return {
    validJson: (value) => typeof value === 'boolean',
    describeJson: problem,
    validText: (text) => BOOLEAN_TEXT.has(text),
    describeText: problem,
    textToJson: (text) => BOOLEAN_TEXT.get(text)!,
    validAsWritten: (text) => text === 'true' || text === 'false',
    quoted: false,
    stringValued: false,
  };
}

function compileRule(column: ColumnConfig): ColumnRule {
  const match = COLUMN_TYPE.exec(column.type);
  if (match === null) {
    throw new Error(`Column "${column.name}" has type ${showValue(column.type)}, which the validator does not know`);
  }
  const base = { name: column.name, nullable: column.nullable, isString: column.type === 'string' };
  if (match[2] !== undefined) return { ...base, ...decimalRule(column.type, Number(match[2]), Number(match[3])) };
  switch (column.type) {
    case 'string':
      return { ...base, ...stringRule(column) };
    case 'integer':
    case 'bigint':
      return { ...base, ...integerRule(column.type) };
    case 'double':
      return { ...base, ...doubleRule() };
    case 'boolean':
      return { ...base, ...booleanRule() };
    case 'date':
    case 'timestamp':
      return { ...base, ...textFormatRule(column.type) };
    default:
      throw new Error(`Column "${column.name}" has type ${showValue(column.type)}, which the validator does not know`);
  }
}

/** Turns the CSV fields of one record into a JSON object text, or the problems found. */
export interface CsvRecordMapper {
  /** The JSON object text of the record without its closing brace, so the caller can append metadata; or problems. */
  toJson(fields: readonly CsvField[]): { readonly json: string } | { readonly problems: string[] };
  /**
   * The same for the hot path: a valid record goes to `write` in pieces (same text as `toJson`), problems come back.
   * Nothing is written for a record with problems.
   */
  writeJson(fields: readonly CsvField[], write: (piece: string) => void): string[] | undefined;
  /**
   * The fast lane for a record without quotes, given as its line: the same text as `toJson` when the record is valid
   * and every field is staged as written (the common case); otherwise `undefined`, and the caller splits the record
   * and takes `writeJson`, which words the problems or converts the fields.
   */
  lineToJson(line: string): string | undefined;
}

// Per-dataset code generation. The checks are the same closures as everywhere else; generating the loop over the
// columns as straight-line code gives each column its own call site (one target each, which V8 inlines) and literal
// property names (one inline cache each), where a loop over the rules makes every call site megamorphic. No config
// text is interpolated into the source as code: column names and constant output pieces enter it only as
// JSON.stringify'd string literals, everything else (checks, sets, patterns) as arguments of the generated factory.

/** `new Function` with the factory's arguments, typed. */
function compile<T>(parameters: readonly string[], body: string, args: readonly unknown[]): T {
  return new Function(...parameters, body)(...args) as T;
}

/**
 * Compiles the test of a parsed record: `true` exactly when {@link RecordValidator.describeProblems} finds nothing
 * (same lookups, same checks), without wording anything.
 */
function compileObjectTest(rules: readonly ColumnRule[]): (record: Record<string, unknown>) => boolean {
  const lines = ['let value;'];
  rules.forEach((rule, index) => {
    // For string-valued columns the text test is called directly (one call less, and a target per call site).
    const invalid = rule.stringValued
      ? `(typeof value !== 'string' || !valid${index}(value))`
      : `!valid${index}(value)`;
    lines.push(
      `value = record[${JSON.stringify(rule.name)}];`,
      rule.nullable
        ? `if (value !== undefined && value !== null && ${invalid}) return false;`
        : `if (value === undefined || value === null || ${invalid}) return false;`,
    );
  });
  // No unknown column. Keys come in config order in the common record, where they match by identity (JSON.parse
  // and the config both intern property names); the set is only asked about keys out of place.
  lines.push(
    'let index = 0;',
    'for (const key in record) {',
    '  if (key !== names[index] && !known.has(key)) return false;',
    '  index++;',
    '}',
    'return true;',
  );
  return compile(
    ['names', 'known', ...rules.map((_, index) => `valid${index}`)],
    `return function isValidRecord(record) {\n${lines.join('\n')}\n};`,
    [
      rules.map((rule) => rule.name),
      new Set(rules.map((rule) => rule.name)),
      ...rules.map((rule) => (rule.stringValued ? rule.validText : rule.validJson)),
    ],
  );
}

/**
 * Compiles {@link CsvRecordMapper.lineToJson} for one header: splits the line at its commas, checks each field and
 * concatenates constant pieces with the fields, in dataset order. Gives up (`undefined`) on a wrong field count, a
 * problem, or a field whose JSON is not the field as written.
 */
function compileLineToJson(
  rules: readonly ColumnRule[],
  positions: readonly number[],
  fieldCount: number,
): (line: string) => string | undefined {
  const lines = ['let start = 0;', 'let end;'];
  for (let field = 0; field < fieldCount - 1; field++) {
    lines.push(
      "end = line.indexOf(',', start);",
      'if (end < 0) return undefined;',
      `const field${field} = line.slice(start, end);`,
      'start = end + 1;',
    );
  }
  lines.push(
    "if (line.indexOf(',', start) >= 0) return undefined;",
    `const field${fieldCount - 1} = line.slice(start);`,
  );
  // The output: a constant piece per column, with the field appended when it is not NULL (an unquoted empty field).
  // The closing quote of a quoted field is put at the start of the next constant piece, so that a record is a
  // concatenation of fewer strings (less to join into the part).
  const pieces: string[] = [];
  /** The variable of the previous column's field when that column is quoted (its closing quote is pending). */
  let pendingQuote: string | undefined;
  rules.forEach((rule, index) => {
    const key = `${index === 0 ? '{' : ','}${JSON.stringify(rule.name)}:`;
    const lead = (quoteFirst: boolean) => (quoteFirst ? `"${key}` : key);
    // One constant piece or the other, depending on whether the previous field left a quote to close.
    const constant = (piece: (quoteFirst: boolean) => string) =>
      pendingQuote === undefined
        ? JSON.stringify(piece(false))
        : `(${pendingQuote} === '' ? ${JSON.stringify(piece(false))} : ${JSON.stringify(piece(true))})`;
    if (positions[index] < 0) {
      // Absent from the header: always NULL (only nullable columns may be absent, the header was checked).
      pieces.push(constant((quoteFirst) => `${lead(quoteFirst)}null`));
      pendingQuote = undefined;
      return;
    }
    const field = `field${positions[index]}`;
    lines.push(
      rule.nullable
        ? `if (${field} !== '' && !validAsWritten${index}(${field})) return undefined;`
        : `if (${field} === '' || !validAsWritten${index}(${field})) return undefined;`,
    );
    const open = rule.quoted ? '"' : '';
    pieces.push(
      `(${field} === '' ? ${constant((quoteFirst) => `${lead(quoteFirst)}null`)} : ${constant((quoteFirst) => lead(quoteFirst) + open)} + ${field})`,
    );
    pendingQuote = rule.quoted ? field : undefined;
  });
  if (pendingQuote !== undefined) pieces.push(`(${pendingQuote} === '' ? '' : '"')`);
  lines.push(`return ${pieces.join(' + ')};`);
  return compile(
    rules.map((_, index) => `validAsWritten${index}`),
    `return function lineToJson(line) {\n${lines.join('\n')}\n};`,
    rules.map((rule) => rule.validAsWritten),
  );
}

export class RecordValidator {
  private readonly rules: readonly ColumnRule[];
  /** Column name -> index in `rules`. */
  private readonly positions: ReadonlyMap<string, number>;
  private readonly isValidRecord: (record: Record<string, unknown>) => boolean;

  constructor(private readonly dataset: DatasetConfig) {
    this.rules = dataset.columns.map(compileRule);
    this.positions = new Map(dataset.columns.map((column, index) => [column.name, index]));
    this.isValidRecord = compileObjectTest(this.rules);
  }

  /** Problems of one parsed JSON record, or `undefined` when it is valid. */
  checkObject(record: unknown): string[] | undefined {
    if (typeof record !== 'object' || record === null || Array.isArray(record)) {
      return [`${showValue(record)} is not a JSON object`];
    }
    const values = record as Record<string, unknown>;
    // The compiled test passes nearly every record; the others are checked again, slowly, to word their problems.
    return this.isValidRecord(values) ? undefined : this.describeProblems(values);
  }

  /** Every problem of a record, unknown columns first, then the columns in config order. */
  private describeProblems(values: Record<string, unknown>): string[] | undefined {
    let problems: string[] | undefined;
    let total = 0;
    for (const key in values) {
      if (this.positions.has(key)) continue;
      // Counted, not worded, beyond the cap: a record may hold any number of unknown keys.
      if (++total <= MAX_PROBLEMS) problems = withProblem(problems, this.unknownColumn(key));
    }
    for (const rule of this.rules) {
      const value = values[rule.name];
      if (value === undefined || value === null) {
        if (!rule.nullable && ++total <= MAX_PROBLEMS) {
          problems = withProblem(
            problems,
            `column "${rule.name}" is required but is ${value === null ? 'null' : 'missing'}`,
          );
        }
        continue;
      }
      const problem = checkJson(rule, value);
      if (problem !== undefined && ++total <= MAX_PROBLEMS) {
        problems = withProblem(problems, `column "${rule.name}": ${problem}`);
      }
    }
    return problems === undefined ? undefined : capProblems(problems, total);
  }

  /**
   * Binds a CSV header to the dataset's columns. The header problems (unknown or repeated columns, missing required
   * columns) make the whole file unusable, so they come back as one reason instead of a mapper.
   */
  forCsvHeader(header: readonly CsvField[]): CsvRecordMapper | { readonly headerProblem: string } {
    const names = header.map((name) => (name ?? '').trim());
    const problems: string[] = [];
    const seen = new Set<string>();
    names.forEach((name) => {
      if (!this.positions.has(name)) problems.push(this.unknownColumn(name));
      else if (seen.has(name)) problems.push(`column "${name}" appears twice`);
      seen.add(name);
    });
    for (const rule of this.rules) {
      if (!rule.nullable && !seen.has(rule.name)) problems.push(`required column "${rule.name}" is missing`);
    }
    if (problems.length > 0) {
      return {
        headerProblem: `CSV header: ${capProblems(problems.slice(0, MAX_PROBLEMS), problems.length).join('; ')}`,
      };
    }

    // For each dataset column (in config order), where its field is in a record (-1: absent, always null).
    const positions = this.rules.map((rule) => names.indexOf(rule.name));
    const prefixes = this.rules.map((rule, index) => `${index === 0 ? '{' : ','}${JSON.stringify(rule.name)}:`);
    const rules = this.rules;
    const fieldCount = names.length;
    const fieldValue = (fields: readonly CsvField[], index: number): CsvField => {
      const text = positions[index] < 0 ? null : fields[positions[index]];
      // An unquoted empty field is NULL; a quoted "" is an empty string in a string column, NULL elsewhere.
      return text === '' && !rules[index].isString ? null : text;
    };
    const check = (fields: readonly CsvField[]): string[] | undefined => {
      if (fields.length !== fieldCount) return [`has ${fields.length} fields but the header has ${fieldCount}`];
      let problems: string[] | undefined;
      for (let index = 0; index < rules.length; index++) {
        const rule = rules[index];
        const text = fieldValue(fields, index);
        if (text === null) {
          if (!rule.nullable) problems = withProblem(problems, `column "${rule.name}" is required but is empty`);
          continue;
        }
        const problem = checkText(rule, text);
        if (problem !== undefined) problems = withProblem(problems, `column "${rule.name}": ${problem}`);
      }
      return problems;
    };
    // Pieces go straight to the writer: no per-record string is built, so nothing deep has to be flattened later.
    const emit = (fields: readonly CsvField[], write: (piece: string) => void): void => {
      for (let index = 0; index < rules.length; index++) {
        const text = fieldValue(fields, index);
        write(prefixes[index]);
        write(text === null ? 'null' : rules[index].textToJson(text));
      }
    };
    return {
      toJson(fields) {
        const problems = check(fields);
        if (problems !== undefined) return { problems };
        const pieces: string[] = [];
        emit(fields, (piece) => pieces.push(piece));
        return { json: pieces.join('') };
      },
      writeJson(fields, write) {
        const problems = check(fields);
        if (problems === undefined) emit(fields, write);
        return problems;
      },
      lineToJson: compileLineToJson(rules, positions, fieldCount),
    };
  }

  private unknownColumn(name: string): string {
    return `unknown column ${showValue(name)}. Fix: remove it, or add it to config/datasets/${this.dataset.name}.json`;
  }
}
