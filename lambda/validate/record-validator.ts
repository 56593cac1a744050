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
 */
import { COLUMN_TYPE, type ColumnConfig, type DatasetConfig } from '../../config/schema';

/** A field as the CSV reader yields it: `null` for an unquoted empty field (SQL NULL), else the text. */
export type CsvField = string | null;

interface ColumnRule {
  readonly name: string;
  readonly nullable: boolean;
  readonly isString: boolean;
  /** Checks a JSON value that is neither null nor undefined; returns the problem, if any. */
  readonly checkJson: (value: unknown) => string | undefined;
  /** Checks a non-empty text value (CSV); returns the problem, if any. */
  readonly checkText: (text: string) => string | undefined;
  /** The JSON text of a text value that passed {@link checkText}. */
  readonly textToJson: (text: string) => string;
}

/** The type-specific part of a rule. */
type TypeChecks = Omit<ColumnRule, 'name' | 'nullable' | 'isString'>;

const INT32_MIN = -2147483648;
const INT32_MAX = 2147483647;
const INT64_MIN = -(2n ** 63n);
const INT64_MAX = 2n ** 63n - 1n;

const INTEGER_TEXT = /^[+-]?\d+$/;
const CANONICAL_INTEGER = /^-?(0|[1-9]\d*)$/;
/** Text that is already a JSON number as written (no "+", no leading zeros, digits around the point). */
const CANONICAL_JSON_NUMBER = /^-?(0|[1-9]\d*)(\.\d+)?([eE][+-]?\d+)?$/;
const DOUBLE_TEXT = /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/;
const BOOLEAN_TEXT: Readonly<Record<string, 'true' | 'false'>> = {
  true: 'true',
  false: 'false',
  TRUE: 'true',
  FALSE: 'false',
  True: 'true',
  False: 'false',
  '1': 'true',
  '0': 'false',
};

/** Whether a string needs JSON escaping (quote, backslash, control characters); most field values do not. */
function needsJsonEscape(text: string): boolean {
  for (let i = 0; i < text.length; i++) {
    const code = text.charCodeAt(i);
    if (code < 32 || code === 34 || code === 92 || code === 0x2028 || code === 0x2029) return true;
  }
  return false;
}

/** Appends a problem to a list created on first use (valid records, the common case, allocate nothing). */
function withProblem(problems: string[] | undefined, problem: string): string[] {
  if (problems === undefined) return [problem];
  problems.push(problem);
  return problems;
}

/** How a value is shown in a reason: JSON, cut to a readable length. */
export function showValue(value: unknown): string {
  const text = JSON.stringify(value) ?? String(value);
  return text.length > 80 ? `${text.slice(0, 77)}...` : text;
}

function isValidDate(year: number, month: number, day: number): boolean {
  if (month < 1 || month > 12 || day < 1) return false;
  const days = [
    31,
    year % 4 === 0 && (year % 100 !== 0 || year % 400 === 0) ? 29 : 28,
    31,
    30,
    31,
    30,
    31,
    31,
    30,
    31,
    30,
    31,
  ];
  return day <= days[month - 1];
}

// Dates, timestamps and decimals are checked by hand rather than with regular expressions: they are in nearly every
// record, and a scan over character codes allocates nothing (the validate benchmark measures the difference).

const ZERO = 48;

/** The value of `count` ASCII digits at `at`, or -1 when they are not all digits. */
function digitsAt(text: string, at: number, count: number): number {
  let value = 0;
  for (let i = at; i < at + count; i++) {
    const digit = text.charCodeAt(i) - ZERO;
    if (digit < 0 || digit > 9) return -1;
    value = value * 10 + digit;
  }
  return value;
}

/** YYYY-MM-DD at `at`, a real calendar day. */
function isDateAt(text: string, at: number): boolean {
  if (text.charCodeAt(at + 4) !== 45 || text.charCodeAt(at + 7) !== 45) return false;
  const year = digitsAt(text, at, 4);
  const month = digitsAt(text, at + 5, 2);
  const day = digitsAt(text, at + 8, 2);
  return year >= 0 && month >= 0 && day >= 0 && isValidDate(year, month, day);
}

function checkDateText(text: string): boolean {
  return text.length === 10 && isDateAt(text, 0);
}

/** ISO 8601: `YYYY-MM-DD[T ]HH:MM[:SS[.fraction(1-9)]][Z|+HH:MM|+HHMM]`. */
function checkTimestampText(text: string): boolean {
  const length = text.length;
  if (length < 16 || !isDateAt(text, 0)) return false;
  const separator = text.charCodeAt(10);
  if (separator !== 84 && separator !== 32) return false; // 'T' or ' '
  const hour = digitsAt(text, 11, 2);
  const minute = digitsAt(text, 14, 2);
  if (hour < 0 || hour > 23 || text.charCodeAt(13) !== 58 || minute < 0 || minute > 59) return false;
  let i = 16;
  if (i < length && text.charCodeAt(i) === 58) {
    const second = digitsAt(text, i + 1, 2);
    if (second < 0 || second > 59) return false;
    i += 3;
    if (i < length && text.charCodeAt(i) === 46) {
      const start = ++i;
      while (i < length && text.charCodeAt(i) >= ZERO && text.charCodeAt(i) <= ZERO + 9) i++;
      if (i === start || i - start > 9) return false;
    }
  }
  if (i === length) return true;
  const zone = text.charCodeAt(i);
  if (zone === 90) return i + 1 === length; // 'Z'
  if (zone !== 43 && zone !== 45) return false; // '+' or '-'
  const offsetHours = digitsAt(text, i + 1, 2);
  const colon = text.charCodeAt(i + 3) === 58 ? 1 : 0;
  const offsetMinutes = digitsAt(text, i + 3 + colon, 2);
  return offsetHours >= 0 && offsetHours <= 18 && offsetMinutes >= 0 && offsetMinutes <= 59 && i + 5 + colon === length;
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

function stringRule(column: ColumnConfig): TypeChecks {
  const allowed = column.enum ? new Set(column.enum) : undefined;
  const pattern = column.pattern !== undefined ? new RegExp(column.pattern) : undefined;
  const checkText = (text: string): string | undefined => {
    if (allowed !== undefined && !allowed.has(text)) {
      return `${showValue(text)} is not one of ${column.enum!.join(', ')}`;
    }
    if (pattern !== undefined && !pattern.test(text)) return `${showValue(text)} does not match ${column.pattern}`;
    return undefined;
  };
  return {
    checkJson: (value) => (typeof value === 'string' ? checkText(value) : `${showValue(value)} is not a string`),
    checkText,
    textToJson: (text) => (needsJsonEscape(text) ? JSON.stringify(text) : `"${text}"`),
  };
}

function integerRule(type: 'integer' | 'bigint'): TypeChecks {
  const checkText = (text: string): string | undefined => {
    if (!INTEGER_TEXT.test(text)) return `${showValue(text)} is not ${type === 'integer' ? 'an integer' : 'a bigint'}`;
    if (type === 'integer') {
      const value = Number(text);
      return value < INT32_MIN || value > INT32_MAX ? `${showValue(text)} is out of range for integer` : undefined;
    }
    // Only long texts can overflow 64 bits; BigInt is costly, so it is kept for those.
    if (text.length >= 19) {
      const value = BigInt(text);
      if (value < INT64_MIN || value > INT64_MAX) return `${showValue(text)} is out of range for bigint`;
    }
    return undefined;
  };
  return {
    checkJson: (value) => {
      if (typeof value === 'string') return checkText(value);
      if (typeof value !== 'number' || !Number.isInteger(value)) {
        return `${showValue(value)} is not ${type === 'integer' ? 'an integer' : 'a bigint'}`;
      }
      if (type === 'integer' && (value < INT32_MIN || value > INT32_MAX)) {
        return `${showValue(value)} is out of range for integer`;
      }
      if (type === 'bigint' && !Number.isSafeInteger(value)) {
        return `${showValue(value)} cannot be represented exactly as a JSON number. Fix: send bigints above 2^53 as strings`;
      }
      return undefined;
    },
    checkText,
    textToJson: (text) => (CANONICAL_INTEGER.test(text) ? text : BigInt(text).toString()),
  };
}

function doubleRule(): TypeChecks {
  const checkText = (text: string): string | undefined =>
    DOUBLE_TEXT.test(text) && Number.isFinite(Number(text)) ? undefined : `${showValue(text)} is not a double`;
  return {
    checkJson: (value) => {
      if (typeof value === 'number') return undefined; // JSON numbers are always finite
      if (typeof value === 'string') return checkText(value);
      return `${showValue(value)} is not a double`;
    },
    checkText,
    textToJson: (text) => (CANONICAL_JSON_NUMBER.test(text) ? text : String(Number(text))),
  };
}

function decimalRule(type: string, precision: number, scale: number): TypeChecks {
  const maxIntegerDigits = precision - scale;
  const scaleFactor = 10 ** scale;
  const integerLimit = 10 ** maxIntegerDigits;
  const exactAsDouble = precision <= 15;
  const checkText = (text: string): string | undefined => {
    const shape = decimalShape(text);
    if (shape === undefined) return `${showValue(text)} is not a ${type}`;
    if (shape.integerDigits > maxIntegerDigits) {
      return `${showValue(text)} has more than ${maxIntegerDigits} digits before the decimal point for ${type}`;
    }
    if (shape.fractionDigits > scale) return `${showValue(text)} has more than ${scale} decimal places for ${type}`;
    return undefined;
  };
  return {
    checkJson: (value) => {
      if (typeof value === 'string') return checkText(value);
      if (typeof value === 'number') {
        // Fast path without number-to-text conversion: fits when value * 10^scale is a whole number (within the
        // rounding of a double, ~2 ulp) below the integer-digit limit. Exact for precision <= 15 (a double's digits).
        const scaled = value * scaleFactor;
        if (
          exactAsDouble &&
          Math.abs(value) < integerLimit &&
          Math.abs(scaled - Math.round(scaled)) <= Math.abs(scaled) * 4e-16
        ) {
          return undefined;
        }
        return checkText(numberToPlainText(value));
      }
      return `${showValue(value)} is not a ${type}`;
    },
    checkText,
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
  };
}

function textFormatRule(kind: 'date' | 'timestamp'): TypeChecks {
  const valid = kind === 'date' ? checkDateText : checkTimestampText;
  const problem = (value: unknown) =>
    kind === 'date'
      ? `${showValue(value)} is not a date (YYYY-MM-DD)`
      : `${showValue(value)} is not a timestamp (ISO 8601, e.g. 2026-01-31T12:00:00Z)`;
  const checkText = (text: string): string | undefined => (valid(text) ? undefined : problem(text));
  return {
    checkJson: (value) => (typeof value === 'string' ? checkText(value) : problem(value)),
    checkText,
    // Validated dates and timestamps hold no character JSON would escape.
    textToJson: (text) => `"${text}"`,
  };
}

function booleanRule(): TypeChecks {
  const problem = (value: unknown) => `${showValue(value)} is not a boolean (true or false)`;
  return {
    checkJson: (value) => (typeof value === 'boolean' ? undefined : problem(value)),
    checkText: (text) => (BOOLEAN_TEXT[text] !== undefined ? undefined : problem(text)),
    textToJson: (text) => BOOLEAN_TEXT[text],
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
}

export class RecordValidator {
  private readonly rules: readonly ColumnRule[];
  /** Column name -> index in `rules`. */
  private readonly positions: ReadonlyMap<string, number>;

  constructor(private readonly dataset: DatasetConfig) {
    this.rules = dataset.columns.map(compileRule);
    this.positions = new Map(dataset.columns.map((column, index) => [column.name, index]));
  }

  /** Problems of one parsed JSON record, or `undefined` when it is valid. */
  checkObject(record: unknown): string[] | undefined {
    if (typeof record !== 'object' || record === null || Array.isArray(record)) {
      return [`${showValue(record)} is not a JSON object`];
    }
    const values = record as Record<string, unknown>;
    // Fast path for the common record: walk its own keys (V8 caches them per object shape) and expect them in config
    // order, where a key matches by identity (JSON.parse and the config both intern property names). Anything unusual
    // (a problem, an unknown or missing column) is handed to the complete check, which words the problems in order.
    let index = 0;
    for (const key in values) {
      let rule = this.rules[index];
      if (rule === undefined || rule.name !== key) {
        const position = this.positions.get(key);
        if (position === undefined) return this.describeProblems(values);
        rule = this.rules[position];
      }
      index++;
      const value = values[key];
      if (value === null ? !rule.nullable : rule.checkJson(value) !== undefined) return this.describeProblems(values);
    }
    // Columns absent from the record are fine only when they are all nullable.
    return index === this.rules.length || this.rules.every((rule) => rule.nullable || rule.name in values)
      ? undefined
      : this.describeProblems(values);
  }

  /** Every problem of a record, unknown columns first, then the columns in config order. */
  private describeProblems(values: Record<string, unknown>): string[] | undefined {
    let problems: string[] | undefined;
    for (const key in values) {
      if (!this.positions.has(key)) problems = withProblem(problems, this.unknownColumn(key));
    }
    for (const rule of this.rules) {
      const value = values[rule.name];
      if (value === undefined || value === null) {
        if (!rule.nullable) {
          problems = withProblem(
            problems,
            `column "${rule.name}" is required but is ${value === null ? 'null' : 'missing'}`,
          );
        }
        continue;
      }
      const problem = rule.checkJson(value);
      if (problem !== undefined) problems = withProblem(problems, `column "${rule.name}": ${problem}`);
    }
    return problems;
  }

  /**
   * Binds a CSV header to the dataset's columns. The header problems (unknown or repeated columns, missing required
   * columns) make the whole file unusable, so they come back as one reason instead of a mapper.
   */
  forCsvHeader(header: readonly CsvField[]): CsvRecordMapper | { readonly headerProblem: string } {
    const names = header.map((name) => (name ?? '').trim());
    const problems: string[] = [];
    names.forEach((name, index) => {
      if (!this.positions.has(name)) problems.push(this.unknownColumn(name));
      else if (names.indexOf(name) !== index) problems.push(`column "${name}" appears twice`);
    });
    for (const rule of this.rules) {
      if (!rule.nullable && !names.includes(rule.name)) problems.push(`required column "${rule.name}" is missing`);
    }
    if (problems.length > 0) return { headerProblem: `CSV header: ${problems.join('; ')}` };

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
        const problem = rule.checkText(text);
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
    };
  }

  private unknownColumn(name: string): string {
    return `unknown column ${showValue(name)}. Fix: remove it, or add it to config/datasets/${this.dataset.name}.json`;
  }
}
