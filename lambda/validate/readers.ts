/**
 * Streaming record readers: text goes in chunk by chunk (`push`, then `end`), records come out through a callback.
 * Nothing holds more than one record plus one chunk, so memory stays bounded whatever the file size; a record longer
 * than the reader's `maxRecordChars` stops the file (a {@link LimitReachedError}) instead of growing a buffer without
 * limit. Nesting is tracked with a counter, never by recursion, so any depth is read in constant stack.
 *
 * Records are reported with the line they start on (1-based) and their raw text, so a rejected record can be
 * quarantined exactly as received.
 */
import { VALIDATION_CONFIG_KEYS, VALIDATION_DEFAULTS, type ValidationLimitName } from './contract';
import type { CsvField } from './record-validator';

/** The longest record accepted by default (characters). A longer one means the file is not in the format it claims. */
export const MAX_RECORD_CHARS = VALIDATION_DEFAULTS.maxRecordChars;

/** The file cannot be read as its format at all: the whole file is quarantined with this reason. */
export class UnreadableFileError extends Error {
  constructor(reason: string) {
    super(reason);
    this.name = 'UnreadableFileError';
  }
}

/** Reading the file reached a limit: it is read no further and quarantined whole, with this reason. */
export class LimitReachedError extends UnreadableFileError {
  constructor(
    readonly limit: ValidationLimitName,
    reason: string,
  ) {
    super(reason);
    this.name = 'LimitReachedError';
  }
}

export interface RecordReader {
  push(text: string): void;
  end(): void;
}

/** A JSON record: its raw text (one value) and where it starts. */
export type JsonRecordHandler = (raw: string, line: number) => void;

function tooLong(line: number, maxRecordChars: number): LimitReachedError {
  return new LimitReachedError(
    'maxRecordChars',
    `the record starting at line ${line} is longer than ${maxRecordChars} characters (${VALIDATION_CONFIG_KEYS.maxRecordChars}): the file is not in the expected format, or holds a record too large to check. Fix: send one record per line (ndjson), a JSON array, or CSV; raise ${VALIDATION_CONFIG_KEYS.maxRecordChars} only if records this long are expected`,
  );
}

/** Newline-delimited JSON: one value per line; blank lines are skipped; CRLF accepted. */
export class NdjsonReader implements RecordReader {
  private rest = '';
  private line = 0;

  constructor(
    private readonly onRecord: JsonRecordHandler,
    private readonly maxRecordChars: number = MAX_RECORD_CHARS,
  ) {}

  push(text: string): void {
    const buffer = this.rest === '' ? text : this.rest + text;
    let start = 0;
    let newline = buffer.indexOf('\n', start);
    while (newline >= 0) {
      this.emit(buffer, start, newline);
      start = newline + 1;
      newline = buffer.indexOf('\n', start);
    }
    this.rest = start === 0 ? buffer : buffer.slice(start);
    if (this.rest.length > this.maxRecordChars) throw tooLong(this.line + 1, this.maxRecordChars);
  }

  end(): void {
    if (this.rest !== '') this.emit(this.rest, 0, this.rest.length);
    this.rest = '';
  }

  private emit(buffer: string, start: number, end: number): void {
    this.line++;
    const stop = end > start && buffer.charCodeAt(end - 1) === 13 ? end - 1 : end;
    if (stop === start) return;
    // A line within one chunk is held whole too: the same limit as for one spanning chunks.
    if (stop - start > this.maxRecordChars) throw tooLong(this.line, this.maxRecordChars);
    const raw = buffer.slice(start, stop);
    // Skip whitespace-only lines without a regex on every line: only lines not starting with `{` are tested.
    if (raw.charCodeAt(0) !== 123 && raw.trim() === '') return;
    this.onRecord(raw, this.line);
  }
}

const QUOTE = 34;
const BACKSLASH = 92;
const NEWLINE = 10;
const OPEN_BRACE = 123;
const CLOSE_BRACE = 125;
const OPEN_BRACKET = 91;
const CLOSE_BRACKET = 93;
const COMMA = 44;

function isWhitespace(code: number): boolean {
  return code === 32 || code === 10 || code === 13 || code === 9;
}

/**
 * JSON documents: either one top-level array whose elements are the records (streamed element by element, never
 * parsed as a whole), or one or more top-level values (a single object, pretty-printed or not, or concatenated
 * objects). Structure is tracked (strings, escapes, nesting) only to find where each record ends; each record is then
 * parsed on its own by the caller, so a malformed element is a rejected record, not a lost file.
 */
export class JsonDocumentReader implements RecordReader {
  private mode: 'start' | 'array' | 'values' | 'done' = 'start';
  /** Text of the record being read, from previous chunks. */
  private pending = '';
  private inRecord = false;
  private depth = 0;
  private inString = false;
  private escaped = false;
  /** A top-level scalar (number, literal) in values mode ends at whitespace rather than a closing bracket. */
  private bareScalar = false;
  private line = 1;
  private recordLine = 1;

  constructor(
    private readonly onRecord: JsonRecordHandler,
    private readonly maxRecordChars: number = MAX_RECORD_CHARS,
  ) {}

  push(text: string): void {
    let recordStart = this.inRecord ? 0 : -1;
    for (let i = 0; i < text.length; i++) {
      const code = text.charCodeAt(i);
      if (code === NEWLINE) this.line++;
      if (this.inRecord) {
        if (this.inString) {
          if (this.escaped) this.escaped = false;
          else if (code === BACKSLASH) this.escaped = true;
          else if (code === QUOTE) {
            this.inString = false;
            if (this.depth === 0 && this.mode === 'values') {
              this.finishRecord(text, recordStart, i + 1);
              recordStart = -1;
            }
          }
          continue;
        }
        if (code === QUOTE) this.inString = true;
        else if (code === OPEN_BRACE || code === OPEN_BRACKET) this.depth++;
        else if (code === CLOSE_BRACE || code === CLOSE_BRACKET) {
          if (this.depth === 0) {
            // Only the array's own closing bracket can close at depth 0.
            if (this.mode !== 'array' || code !== CLOSE_BRACKET) throw this.unexpected(code);
            this.finishRecord(text, recordStart, i);
            recordStart = -1;
            this.mode = 'done';
            continue;
          }
          this.depth--;
          if (this.depth === 0 && this.mode === 'values' && !this.bareScalar) {
            this.finishRecord(text, recordStart, i + 1);
            recordStart = -1;
          }
        } else if (this.depth === 0) {
          if (this.mode === 'array' && code === COMMA) {
            this.finishRecord(text, recordStart, i);
            recordStart = -1;
          } else if (this.mode === 'values' && this.bareScalar && isWhitespace(code)) {
            this.finishRecord(text, recordStart, i);
            recordStart = -1;
          }
        }
        continue;
      }
      if (isWhitespace(code)) continue;
      if (this.mode === 'start') {
        if (code === OPEN_BRACKET) {
          this.mode = 'array';
          continue;
        }
        if (code !== OPEN_BRACE) {
          throw new UnreadableFileError(
            `not a JSON document: it starts with ${JSON.stringify(text[i])} at line ${this.line}, expected "[" or "{". Fix: send a JSON array of objects, JSON objects, or use the .csv/.ndjson extension for those formats`,
          );
        }
        this.mode = 'values';
      }
      if (this.mode === 'done') {
        throw new UnreadableFileError(
          `unexpected ${JSON.stringify(text[i])} at line ${this.line} after the end of the JSON array. Fix: send one array per file`,
        );
      }
      if (this.mode === 'array' && code === CLOSE_BRACKET) {
        this.mode = 'done'; // empty array, or "]" after a trailing comma
        continue;
      }
      // A record starts here.
      this.inRecord = true;
      this.recordLine = this.line;
      recordStart = i;
      this.depth = 0;
      this.bareScalar = false;
      if (code === QUOTE) this.inString = true;
      else if (code === OPEN_BRACE || code === OPEN_BRACKET) this.depth = 1;
      else this.bareScalar = this.mode === 'values';
    }
    if (this.inRecord) {
      this.pending += text.slice(Math.max(recordStart, 0));
      if (this.pending.length > this.maxRecordChars) throw tooLong(this.recordLine, this.maxRecordChars);
    }
  }

  end(): void {
    if (this.inRecord && this.mode === 'values' && this.bareScalar) {
      this.emit(this.pending);
    } else if (this.mode === 'array' && (!this.inRecord || (this.depth === 0 && !this.inString))) {
      throw new UnreadableFileError(
        'the JSON document ends before the closing "]" of its array (truncated file?). Fix: send the complete file',
      );
    } else if (this.inRecord) {
      throw new UnreadableFileError(
        `the JSON document ends in the middle of the record starting at line ${this.recordLine} (truncated file?). Fix: send the complete file`,
      );
    }
  }

  private finishRecord(text: string, start: number, end: number): void {
    this.emit(this.pending + text.slice(Math.max(start, 0), end));
    this.pending = '';
    this.inRecord = false;
    this.inString = false;
    this.escaped = false;
  }

  private emit(raw: string): void {
    if (raw.length > this.maxRecordChars) throw tooLong(this.recordLine, this.maxRecordChars);
    const trimmed = raw.trim();
    // An empty element (`[1,,2]`) is still a record, so it is reported rather than silently skipped.
    this.onRecord(trimmed, this.recordLine);
  }

  private unexpected(code: number): UnreadableFileError {
    return new UnreadableFileError(
      `unexpected ${JSON.stringify(String.fromCharCode(code))} at line ${this.line}: the JSON brackets do not balance. Fix: send well-formed JSON`,
    );
  }
}

/** A CSV record: its fields (or the reason it could not be split), where it starts, and its raw text. */
export type CsvRecordHandler = (
  record: { readonly fields: CsvField[] } | { readonly problem: string },
  line: number,
  raw: string,
) => void;

type ParsedRecord =
  | { readonly fields: CsvField[]; readonly end: number; readonly next: number }
  | { readonly problem: string; readonly end: number; readonly next: number }
  | undefined;

/**
 * The fast lane for a record without quotes: its line (no line end), which the handler may take as it is. Returns
 * whether it did; if not, the record is split into fields and goes to the {@link CsvRecordHandler}.
 */
export type CsvLineHandler = (raw: string, line: number) => boolean;

/**
 * RFC 4180 CSV: comma separated, fields optionally double-quoted, `""` inside quotes is a quote, quoted fields may
 * hold commas and newlines, CRLF or LF line ends; blank lines are skipped. An unquoted empty field is NULL, a quoted
 * one an empty string. A UTF-8 BOM is removed by the decoder before text reaches the reader.
 */
export class CsvReader implements RecordReader {
  private rest = '';
  private line = 1;

  constructor(
    private readonly onRecord: CsvRecordHandler,
    private readonly onUnquotedLine?: CsvLineHandler,
    private readonly maxRecordChars: number = MAX_RECORD_CHARS,
  ) {}

  push(text: string): void {
    this.consume(this.rest === '' ? text : this.rest + text, false);
  }

  end(): void {
    if (this.rest !== '') this.consume(this.rest, true);
    this.rest = '';
  }

  private consume(buffer: string, final: boolean): void {
    let start = 0;
    // Position of the next quote, searched once and reused, so quote-free files are not rescanned on every line.
    let quote = buffer.indexOf('"');
    while (start < buffer.length) {
      const newline = buffer.indexOf('\n', start);
      if (newline < 0 && !final) break;
      const lineEnd = newline < 0 ? buffer.length : newline;
      if (quote >= 0 && quote < start) quote = buffer.indexOf('"', start);
      if (quote < 0 || quote > lineEnd) {
        // Fast path: a record without quotes is one line split on commas.
        const stop = lineEnd > start && buffer.charCodeAt(lineEnd - 1) === 13 ? lineEnd - 1 : lineEnd;
        if (stop - start > this.maxRecordChars) throw tooLong(this.line, this.maxRecordChars);
        if (stop > start) {
          const raw = buffer.slice(start, stop);
          if (this.onUnquotedLine === undefined || !this.onUnquotedLine(raw, this.line)) {
            this.onRecord({ fields: splitUnquoted(raw) }, this.line, raw);
          }
        }
        this.line++;
        start = lineEnd + 1;
        continue;
      }
      const parsed = parseQuotedRecord(buffer, start, final);
      if (parsed === undefined) break; // the record continues in the next chunk
      if (parsed.end - start > this.maxRecordChars) throw tooLong(this.line, this.maxRecordChars);
      const raw = buffer.slice(start, parsed.end);
      this.onRecord('problem' in parsed ? { problem: parsed.problem } : { fields: parsed.fields }, this.line, raw);
      this.line += countNewlines(buffer, start, parsed.next);
      start = parsed.next;
    }
    this.rest = start >= buffer.length ? '' : buffer.slice(start);
    if (this.rest.length > this.maxRecordChars) throw tooLong(this.line, this.maxRecordChars);
  }
}

function splitUnquoted(raw: string): CsvField[] {
  const fields: CsvField[] = raw.split(',');
  for (let i = 0; i < fields.length; i++) if (fields[i] === '') fields[i] = null;
  return fields;
}

function countNewlines(text: string, from: number, to: number): number {
  let count = 0;
  for (let i = text.indexOf('\n', from); i >= 0 && i < to; i = text.indexOf('\n', i + 1)) count++;
  return count;
}

/** Where the line holding `from` ends (excluding CR LF), and where the next line starts. */
function skipLine(text: string, from: number): { end: number; next: number } {
  const newline = text.indexOf('\n', from);
  if (newline < 0) return { end: text.length, next: text.length };
  return { end: newline > 0 && text.charCodeAt(newline - 1) === 13 ? newline - 1 : newline, next: newline + 1 };
}

/**
 * Parses one record that contains quotes, starting at `start`. Returns `undefined` when the text ends before the
 * record does (more text is needed), unless `final`, where the end of text ends the record.
 */
function parseQuotedRecord(text: string, start: number, final: boolean): ParsedRecord {
  const fields: CsvField[] = [];
  let i = start;
  for (;;) {
    if (text.charCodeAt(i) === QUOTE) {
      let value = '';
      let from = i + 1;
      for (;;) {
        const quote = text.indexOf('"', from);
        if (quote < 0) {
          if (!final) return undefined;
          return { problem: 'has an unterminated quoted field', end: text.length, next: text.length };
        }
        if (quote + 1 >= text.length && !final) return undefined; // cannot tell "" from a closing quote yet
        if (text.charCodeAt(quote + 1) === QUOTE) {
          value += text.slice(from, quote) + '"';
          from = quote + 2;
          continue;
        }
        value += text.slice(from, quote);
        i = quote + 1;
        break;
      }
      fields.push(value);
      const after = i < text.length ? text.charCodeAt(i) : -1;
      if (after === COMMA) {
        i++;
        continue;
      }
      if (after === -1) return { fields, end: i, next: i };
      if (after === NEWLINE) return { fields, end: i, next: i + 1 };
      if (after === 13 && text.charCodeAt(i + 1) === NEWLINE) return { fields, end: i, next: i + 2 };
      if (after === 13 && i + 1 >= text.length) {
        if (!final) return undefined;
        return { fields, end: i, next: i + 1 };
      }
      return { problem: `has text after a closing quote (field ${fields.length})`, ...skipLine(text, i) };
    }
    // Unquoted field: up to the next comma or line end; a quote inside it is malformed.
    let stop = i;
    while (stop < text.length) {
      const code = text.charCodeAt(stop);
      if (code === COMMA || code === NEWLINE) break;
      if (code === QUOTE)
        return {
          problem: `has a quote inside an unquoted field (field ${fields.length + 1})`,
          ...skipLine(text, stop),
        };
      stop++;
    }
    if (stop >= text.length && !final) return undefined;
    const crlf =
      stop > i && text.charCodeAt(stop - 1) === 13 && (stop >= text.length || text.charCodeAt(stop) === NEWLINE);
    const value = text.slice(i, crlf ? stop - 1 : stop);
    fields.push(value === '' ? null : value);
    if (stop < text.length && text.charCodeAt(stop) === COMMA) {
      i = stop + 1;
      continue;
    }
    return { fields, end: crlf ? stop - 1 : stop, next: stop < text.length ? stop + 1 : stop };
  }
}
