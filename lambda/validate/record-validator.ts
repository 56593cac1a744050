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
const DOUBLE_TEXT = /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/;
const DECIMAL_TEXT = /^([+-]?)(\d*)(?:\.(\d*))?$/;
const DATE_TEXT = /^(\d{4})-(\d{2})-(\d{2})$/;
const TIMESTAMP_TEXT = /^(\d{4})-(\d{2})-(\d{2})[T ](\d{2}):(\d{2})(?::(\d{2})(?:\.\d{1,9})?)?(Z|[+-]\d{2}:?\d{2})?$/;
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

function checkDateText(text: string): boolean {
  const match = DATE_TEXT.exec(text);
  return match !== null && isValidDate(Number(match[1]), Number(match[2]), Number(match[3]));
}

function checkTimestampText(text: string): boolean {
  const match = TIMESTAMP_TEXT.exec(text);
  if (match === null || !isValidDate(Number(match[1]), Number(match[2]), Number(match[3]))) return false;
  if (Number(match[4]) > 23 || Number(match[5]) > 59 || (match[6] !== undefined && Number(match[6]) > 59)) return false;
  const zone = match[7];
  if (zone !== undefined && zone !== 'Z') {
    const digits = zone.replace(':', '');
    if (Number(digits.slice(1, 3)) > 18 || Number(digits.slice(3, 5)) > 59) return false;
  }
  return true;
}

/** Plain decimal text of a JSON number (`1e-7` becomes `0.0000001`). */
function numberToPlainText(value: number): string {
  const text = String(value);
  if (!/e/i.test(text)) return text;
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
    textToJson: (text) => JSON.stringify(text),
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
    textToJson: (text) => String(Number(text)),
  };
}

function decimalRule(type: string, precision: number, scale: number): TypeChecks {
  const maxIntegerDigits = precision - scale;
  const checkText = (text: string): string | undefined => {
    const match = DECIMAL_TEXT.exec(text);
    if (match === null || (match[2] === '' && (match[3] ?? '') === '')) return `${showValue(text)} is not a ${type}`;
    const integerDigits = match[2].replace(/^0+/, '').length;
    const fractionDigits = (match[3] ?? '').replace(/0+$/, '').length;
    if (integerDigits > maxIntegerDigits) {
      return `${showValue(text)} has more than ${maxIntegerDigits} digits before the decimal point for ${type}`;
    }
    if (fractionDigits > scale) return `${showValue(text)} has more than ${scale} decimal places for ${type}`;
    return undefined;
  };
  return {
    checkJson: (value) => {
      if (typeof value === 'string') return checkText(value);
      if (typeof value === 'number') return checkText(numberToPlainText(value));
      return `${showValue(value)} is not a ${type}`;
    },
    checkText,
    textToJson: (text) => {
      const match = DECIMAL_TEXT.exec(text)!;
      const sign = match[1] === '-' ? '-' : '';
      const integer = match[2].replace(/^0+(?=\d)/, '') || '0';
      const fraction = (match[3] ?? '').replace(/0+$/, '');
      return `${sign}${integer}${fraction === '' ? '' : `.${fraction}`}`;
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
}

export class RecordValidator {
  private readonly rules: readonly ColumnRule[];
  private readonly known: ReadonlySet<string>;

  constructor(private readonly dataset: DatasetConfig) {
    this.rules = dataset.columns.map(compileRule);
    this.known = new Set(dataset.columns.map((column) => column.name));
  }

  /** Problems of one parsed JSON record, or `undefined` when it is valid. */
  checkObject(record: unknown): string[] | undefined {
    if (typeof record !== 'object' || record === null || Array.isArray(record)) {
      return [`${showValue(record)} is not a JSON object`];
    }
    const values = record as Record<string, unknown>;
    let problems: string[] | undefined;
    for (const key in values) {
      if (!this.known.has(key)) {
        problems = withProblem(problems, this.unknownColumn(key));
      }
    }
    for (const rule of this.rules) {
      const value = values[rule.name];
      if (value === undefined || value === null) {
        if (!rule.nullable)
          problems = withProblem(
            problems,
            `column "${rule.name}" is required but is ${value === null ? 'null' : 'missing'}`,
          );
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
      if (!this.known.has(name)) problems.push(this.unknownColumn(name));
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
    return {
      toJson(fields) {
        if (fields.length !== fieldCount) {
          return { problems: [`has ${fields.length} fields but the header has ${fieldCount}`] };
        }
        let json = '';
        let problems: string[] | undefined;
        for (let index = 0; index < rules.length; index++) {
          const rule = rules[index];
          const text = positions[index] < 0 ? null : fields[positions[index]];
          // An unquoted empty field is NULL; a quoted "" is an empty string in a string column, NULL elsewhere.
          if (text === null || (text === '' && !rule.isString)) {
            if (!rule.nullable) problems = withProblem(problems, `column "${rule.name}" is required but is empty`);
            else json += `${prefixes[index]}null`;
            continue;
          }
          const problem = rule.checkText(text);
          if (problem !== undefined) problems = withProblem(problems, `column "${rule.name}": ${problem}`);
          else if (problems === undefined) json += prefixes[index] + rule.textToJson(text);
        }
        return problems === undefined ? { json } : { problems };
      },
    };
  }

  private unknownColumn(name: string): string {
    return `unknown column ${showValue(name)}. Fix: remove it, or add it to config/datasets/${this.dataset.name}.json`;
  }
}
