/**
 * CSV encoding (RFC 4180): a field is quoted when it holds a comma, a quote, a line break or edge spaces.
 *
 * Formula injection (OWASP "CSV Injection"): a spreadsheet opening the export runs a cell that starts with `=`, `+`,
 * `-`, `@`, tab or carriage return as a formula (`=HYPERLINK(...)`, `=cmd|...`). Cells of string columns that start
 * with one of them are written with a single quote in front (`'=1+1`) and always double-quoted, as OWASP recommends;
 * the spreadsheet then shows the text. Only string columns carry text from data producers: numbers, decimals, dates,
 * timestamps and booleans are formatted by the database and this code, so a negative number stays `-5` (data).
 */
import type { MartTable } from '../api-shared/contract';
import { valueToText } from '../api-shared/mart-query';

const NEEDS_QUOTES = /[",\r\n]|^\s|\s$/;
/** First characters a spreadsheet reads as the start of a formula. */
export const FORMULA_TRIGGER = /^[=+\-@\t\r]/;

function quoted(text: string): string {
  return `"${text.replaceAll('"', '""')}"`;
}

/** One field; `text` marks a string column, whose formula-like cells are neutralized. */
export function csvField(value: unknown, text = false): string {
  const field = valueToText(value);
  if (text && FORMULA_TRIGGER.test(field)) return quoted(`'${field}`);
  return NEEDS_QUOTES.test(field) ? quoted(field) : field;
}

/** A line of fields (CRLF-terminated); `textColumns[i]` marks field i as a string column. */
export function csvLine(values: readonly unknown[], textColumns: readonly boolean[] = []): string {
  return `${values.map((value, index) => csvField(value, textColumns[index] === true)).join(',')}\r\n`;
}

/** The header line and a row encoder for a mart table, in column order. */
export function csvEncoder(table: MartTable): { header: string; row: (row: Record<string, unknown>) => string } {
  const names = table.columns.map((column) => column.name);
  const text = table.columns.map((column) => column.type === 'string');
  return {
    header: csvLine(names),
    row: (row) =>
      csvLine(
        names.map((name) => row[name]),
        text,
      ),
  };
}
