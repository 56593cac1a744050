/**
 * The Velocity mapping templates of the API, read from `lib/assets/api/*.vtl` and composed per dataset and content
 * type. The stack and the template tests both build them here, so the tests render exactly what is deployed.
 */
import { readFileSync } from 'node:fs';
import * as path from 'node:path';

export const API_ASSETS_DIR = path.resolve(__dirname, '..', 'assets', 'api');

/** Content types accepted by `POST /v1/datasets/{dataset}/objects`, with the file extension each is stored under. */
export const DOCUMENT_CONTENT_TYPES = {
  'application/json': 'json',
  'application/x-ndjson': 'ndjson',
  'text/csv': 'csv',
} as const;
export type DocumentContentType = keyof typeof DOCUMENT_CONTENT_TYPES;

/** A template file without its `##` comment lines. */
export function readTemplate(name: string): string {
  const text = readFileSync(path.join(API_ASSETS_DIR, name), 'utf8');
  return text
    .split('\n')
    .filter((line) => !line.trimStart().startsWith('##'))
    .join('\n')
    .trim();
}

/**
 * Joins the lines of a template whose output must be exact (an object body): directives then produce no stray
 * newlines, whatever the engine's whitespace rules.
 */
function joinLines(template: string): string {
  return template
    .split('\n')
    .map((line) => line.trim())
    .join('');
}

/** `#set` lines giving the template its per-resource values (names and extensions are config identifiers). */
function preamble(values: Record<string, string>): string {
  return Object.entries(values)
    .map(([name, value]) => `#set($${name} = "${value}")`)
    .join('\n');
}

export interface ObjectTemplates {
  /** Integration request template: overrides the key's path parameters and outputs the body unchanged. */
  readonly request: string;
  /** Integration response template of the 202. */
  readonly accepted: string;
  /** Integration response template of the 400 (empty body). */
  readonly emptyBody: string;
  /** Integration response template of the 500 (S3 refused the write). */
  readonly failed: string;
}

/** Mapping templates of `POST /v1/datasets/<dataset>/objects` (one request template serves every content type). */
export function objectTemplates(dataset: string): ObjectTemplates {
  if (!/^[a-z][a-z0-9_]*$/.test(dataset)) {
    throw new Error(
      `Dataset name ${JSON.stringify(dataset)} cannot be used in a mapping template. Fix: use a lower-case identifier`,
    );
  }
  const head = `${preamble({ dataset })}\n${readTemplate('object-key.vtl')}`;
  return {
    request: joinLines(`${head}\n${readTemplate('put-object-request.vtl')}`),
    accepted: `${joinLines(head)}\n${readTemplate('put-object-accepted.vtl')}`,
    emptyBody: readTemplate('put-object-empty-body.vtl'),
    failed: readTemplate('put-object-failed.vtl'),
  };
}

/** Response template of the mock integration that answers 404 for a dataset that is not configured. */
export function unknownDatasetTemplate(knownDatasets: readonly string[]): string {
  return `${preamble({ knownDatasets: knownDatasets.join(', ') })}\n${readTemplate('unknown-dataset.vtl')}`;
}

/** Body template of every gateway response. */
export function gatewayErrorTemplate(): string {
  return readTemplate('gateway-error.vtl');
}
