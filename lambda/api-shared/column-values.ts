/**
 * The one check of a caller's value against a mart column's type, before any SQL: mart query filters and cursor keys
 * (GET /v1/marts/{table}), export filters at submission (POST /v1/exports) and again in the export worker.
 *
 * A value that passes is one PostgreSQL accepts for the column's type without an error (so a bad value is a 400
 * naming the column and the rule, never a database error, a 500 or an export failing after hours of redelivery):
 * - string: no NUL (U+0000: PostgreSQL text cannot hold it) and no unpaired UTF-16 surrogate (it has no UTF-8 form);
 * - integer / bigint: digits, within int4 / int8;
 * - decimal(p,s): at most p-s digits before the point and s after it (leading and trailing zeros do not count);
 * - double: a decimal number whose value is finite and not a nonzero that rounds to 0 (PostgreSQL refuses both);
 * - boolean: true or false;
 * - date: YYYY-MM-DD, a real calendar day (proleptic Gregorian, as PostgreSQL), years 0001 to 9999;
 * - timestamp: that date, optionally `T` or space, HH:MM[:SS[.ffffff]] (00-23, 00-59, 00-59) and a zone `Z` or
 *   ±HH[:]MM up to ±15:59 (PostgreSQL's limit); no zone means UTC (queries run in UTC).
 * The length limit applies to every type.
 */
import type { MartColumnType } from './contract';

/** Max length of a filter or cursor value: long enough for any real key, short enough to keep queries cheap. */
export const MAX_VALUE_LENGTH = 256;

/** A broken rule: what is wrong with the value, and the fix (usually an example of a good value). */
export interface ValueProblem {
  readonly rule: string;
  readonly fix: string;
}

const INT4: readonly [bigint, bigint] = [-(2n ** 31n), 2n ** 31n - 1n];
const INT8: readonly [bigint, bigint] = [-(2n ** 63n), 2n ** 63n - 1n];
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;
const DECIMAL_TYPE = /^decimal\((\d{1,2}),(\d{1,2})\)$/;
const DATE = /^(\d{4})-(\d{2})-(\d{2})$/;
const TIMESTAMP =
  /^(\d{4}-\d{2}-\d{2})(?:[T ](\d{2}):(\d{2})(?::(\d{2})(?:\.\d{1,6})?)?(?:Z|([+-])(\d{2}):?(\d{2}))?)?$/;

/** The rule `value` breaks for a column of `type`, or undefined when PostgreSQL will accept it. */
export function columnValueProblem(type: MartColumnType, value: string): ValueProblem | undefined {
  if (value.length > MAX_VALUE_LENGTH) {
    return {
      rule: `it is ${value.length} characters long; values are at most ${MAX_VALUE_LENGTH} characters`,
      fix: `send at most ${MAX_VALUE_LENGTH} characters`,
    };
  }
  if (type === 'string') return stringProblem(value);
  // Every other type is ASCII: a NUL or a stray surrogate fails its pattern and is named as the type's rule.
  if (type === 'integer') return integerProblem(value, INT4, 'an integer (int4)', '42');
  if (type === 'bigint') return integerProblem(value, INT8, 'a bigint (int8)', '1234567890');
  if (type === 'double') return doubleProblem(value);
  if (type === 'boolean') {
    return value === 'true' || value === 'false' ? undefined : { rule: 'a boolean is true or false', fix: 'e.g. true' };
  }
  if (type === 'date') return dateProblem(value);
  if (type === 'timestamp') return timestampProblem(value);
  const decimal = DECIMAL_TYPE.exec(type);
  if (decimal) return decimalProblem(value, Number(decimal[1]), Number(decimal[2]));
  throw new Error(`No value rule for column type ${type}`);
}

function stringProblem(value: string): ValueProblem | undefined {
  if (value.includes('\u0000')) {
    return {
      rule: 'it contains a NUL character (U+0000), which PostgreSQL text cannot hold',
      fix: 'remove the NUL character',
    };
  }
  if (LONE_SURROGATE.test(value)) {
    return {
      rule: 'it contains an unpaired UTF-16 surrogate (not valid Unicode)',
      fix: 'send valid Unicode text (UTF-8 when percent-encoded)',
    };
  }
  return undefined;
}

function integerProblem(
  value: string,
  [min, max]: readonly [bigint, bigint],
  name: string,
  example: string,
): ValueProblem | undefined {
  if (!/^-?\d+$/.test(value)) return { rule: `${name} is written with digits only, e.g. -7`, fix: `e.g. ${example}` };
  const number = BigInt(value);
  if (number < min || number > max) return { rule: `${name} is from ${min} to ${max}`, fix: `e.g. ${example}` };
  return undefined;
}

function doubleProblem(value: string): ValueProblem | undefined {
  const example = '0.75';
  const match = /^-?(\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?$/.exec(value);
  if (!match)
    return { rule: 'a double is a decimal number such as -1.5 or 2.5e-3 (no NaN or Infinity)', fix: `e.g. ${example}` };
  const number = Number(value);
  if (!Number.isFinite(number))
    return { rule: 'a double is at most about ±1.8e308 in magnitude', fix: `e.g. ${example}` };
  // PostgreSQL refuses a nonzero value that underflows to 0 ("out of range for type double precision").
  if (number === 0 && /[1-9]/.test(match[1])) {
    return { rule: 'a nonzero double is at least about 4.9e-324 in magnitude', fix: `e.g. ${example}` };
  }
  return undefined;
}

function decimalProblem(value: string, precision: number, scale: number): ValueProblem | undefined {
  const type = `decimal(${precision},${scale})`;
  const integerPart = precision - scale >= 2 ? '12' : precision - scale === 1 ? '1' : '0';
  const example = scale > 0 ? `${integerPart}.5` : integerPart;
  const match = /^-?(\d*)(?:\.(\d*))?$/.exec(value);
  if (!match || (match[1] === '' && (match[2] ?? '') === '')) {
    return { rule: `a ${type} is a decimal number such as -12.5 (no exponent)`, fix: `e.g. ${example}` };
  }
  const integerDigits = match[1].replace(/^0+/, '').length;
  const fractionDigits = (match[2] ?? '').replace(/0+$/, '').length;
  if (integerDigits > precision - scale) {
    return {
      rule: `it has ${integerDigits} digits before the decimal point; a ${type} has at most ${precision - scale}`,
      fix: `e.g. ${example}`,
    };
  }
  if (fractionDigits > scale) {
    return {
      rule: `it has ${fractionDigits} digits after the decimal point; a ${type} has at most ${scale}`,
      fix: `e.g. ${example}`,
    };
  }
  return undefined;
}

function daysInMonth(year: number, month: number): number {
  if (month === 2) return year % 4 === 0 && (year % 100 !== 0 || year % 400 === 0) ? 29 : 28;
  return [4, 6, 9, 11].includes(month) ? 30 : 31;
}

function dateProblem(value: string, example = '2026-01-31'): ValueProblem | undefined {
  const match = DATE.exec(value);
  if (!match) return { rule: 'a date is written YYYY-MM-DD', fix: `e.g. ${example}` };
  const [year, month, day] = [Number(match[1]), Number(match[2]), Number(match[3])];
  if (year < 1) return { rule: 'there is no year 0000; years are 0001 to 9999', fix: `e.g. ${example}` };
  if (month < 1 || month > 12)
    return { rule: `month ${match[2]} does not exist; months are 01 to 12`, fix: `e.g. ${example}` };
  const days = daysInMonth(year, month);
  if (day < 1 || day > days) return { rule: `${match[1]}-${match[2]} has days 01 to ${days}`, fix: `e.g. ${example}` };
  return undefined;
}

function timestampProblem(value: string): ValueProblem | undefined {
  const example = '2026-01-31T12:00:00Z';
  const match = TIMESTAMP.exec(value);
  if (!match) {
    return {
      rule: 'a timestamp is written YYYY-MM-DD, optionally followed by THH:MM[:SS[.ffffff]] and Z or ±HH:MM',
      fix: `e.g. ${example}`,
    };
  }
  const dateProblemFound = dateProblem(match[1], example);
  if (dateProblemFound) return dateProblemFound;
  const [hour, minute, second] = [match[2], match[3], match[4]].map((part) => Number(part ?? 0));
  if (hour > 23 || minute > 59 || second > 59) {
    return { rule: 'hours are 00 to 23, minutes and seconds 00 to 59', fix: `e.g. ${example}` };
  }
  if (match[5] !== undefined && (Number(match[6]) > 15 || Number(match[7]) > 59)) {
    return { rule: 'a time zone offset is at most ±15:59', fix: `e.g. ${example}` };
  }
  return undefined;
}
