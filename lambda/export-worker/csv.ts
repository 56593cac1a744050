/** CSV encoding (RFC 4180): a field is quoted when it holds a comma, a quote, a line break or edge spaces. */
import { valueToText } from '../shared/api-mart-query';

const NEEDS_QUOTES = /[",\r\n]|^\s|\s$/;

export function csvField(value: unknown): string {
  const text = valueToText(value);
  return NEEDS_QUOTES.test(text) ? `"${text.replaceAll('"', '""')}"` : text;
}

export function csvLine(values: readonly unknown[]): string {
  return `${values.map(csvField).join(',')}\r\n`;
}
