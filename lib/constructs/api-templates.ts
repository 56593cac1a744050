/**
 * The Velocity mapping templates of the API, read from `lib/assets/api/*.vtl` and composed with the configured
 * datasets. The stack and the template tests both build them here, so the tests render exactly what is deployed.
 */
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { LANDING_CONTENT_TYPES, type LandingContentType } from '../../lambda/validate/contract';

export const API_ASSETS_DIR = path.resolve(__dirname, '..', 'assets', 'api');

/**
 * Content types accepted by `POST /v1/datasets/{dataset}/objects`, with the file extension each is stored under:
 * what stage A reads.
 */
export const DOCUMENT_CONTENT_TYPES = LANDING_CONTENT_TYPES;
export type DocumentContentType = LandingContentType;

/** Content types accepted by `POST /v1/datasets/{dataset}/events`. */
export const EVENT_CONTENT_TYPES = ['application/json', 'application/x-ndjson'] as const;
export type EventContentType = (typeof EVENT_CONTENT_TYPES)[number];

/**
 * Firehose's PutRecordBatch limits, which the events route enforces before calling it: records per request, bytes
 * of one record (before base64) and of all records of a request. They cannot be raised.
 */
export const FIREHOSE_LIMITS = {
  recordsPerRequest: 500,
  recordBytes: 1_024_000,
  requestBytes: 4 * 1024 * 1024,
} as const;

/** Name of a dataset's delivery stream, `<prefix>-<dataset>-events` (the templates build the same). */
export function eventStreamName(prefix: string, dataset: string): string {
  return `${prefix}-${dataset}${EVENT_STREAM_SUFFIX}`;
}
const EVENT_STREAM_SUFFIX = '-events';

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

/** `#set` lines giving the template its values; strings are config identifiers or fixed text, never user input. */
function preamble(values: Record<string, string | number | readonly string[]>): string {
  return Object.entries(values)
    .map(([name, value]) => {
      if (typeof value === 'number') return `#set($${name} = ${value})`;
      if (typeof value === 'string') return `#set($${name} = "${value}")`;
      // A map whose keys are the names: containsKey is the exact membership test in Velocity.
      return `#set($${name} = {${value.map((key) => `"${key}": true`).join(', ')}})`;
    })
    .join('\n');
}

function checkedNames(datasets: readonly string[]): readonly string[] {
  if (datasets.length === 0) {
    throw new Error('The dataset routes need at least one dataset. Fix: add config/datasets/<dataset>.json');
  }
  for (const dataset of datasets) {
    if (!/^[a-z][a-z0-9_]*$/.test(dataset)) {
      throw new Error(
        `Dataset name ${JSON.stringify(dataset)} cannot be used in a mapping template. Fix: use a lower-case identifier`,
      );
    }
  }
  return datasets;
}

/** Head of every dataset route template: the configured names and `$dataset` / `$datasetKnown` of the request. */
function datasetHead(datasets: readonly string[]): string {
  const names = checkedNames(datasets);
  return `${preamble({ knownDatasets: names, knownDatasetList: names.join(', ') })}\n${readTemplate('dataset-known.vtl')}`;
}

export interface ObjectTemplates {
  /** Integration request template: overrides the key's path parameters and outputs the body unchanged. */
  readonly request: string;
  /** Integration response template of the 202. */
  readonly accepted: string;
  /** Integration response template of the 400 (empty body). */
  readonly emptyBody: string;
  /** Integration response template of S3's 403: 404 for an unknown dataset, else 500. */
  readonly denied: string;
  /** Integration response template of the 500 (S3 refused the write). */
  readonly failed: string;
}

/** Mapping templates of `POST /v1/datasets/{dataset}/objects` (one request template serves every content type). */
export function objectTemplates(datasets: readonly string[]): ObjectTemplates {
  const head = `${datasetHead(datasets)}\n${readTemplate('object-key.vtl')}`;
  const failed = readTemplate('put-object-failed.vtl');
  return {
    request: joinLines(`${head}\n${readTemplate('put-object-request.vtl')}`),
    accepted: `${joinLines(head)}\n${readTemplate('put-object-accepted.vtl')}`,
    emptyBody: readTemplate('put-object-empty-body.vtl'),
    denied: [
      joinLines(head),
      '#if($datasetKnown)',
      '#set($context.responseOverride.status = 500)',
      failed,
      '#else',
      readTemplate('unknown-dataset.vtl'),
      '#end',
    ].join('\n'),
    failed,
  };
}

/**
 * Response template of the mock integration behind the fallback routes (`ANY /v1/datasets/{dataset}` and
 * `.../{proxy+}`): 404 naming the configured datasets for an unknown one, else 404 naming the dataset's routes.
 */
export function unknownDatasetTemplate(datasets: readonly string[]): string {
  return [
    joinLines(datasetHead(datasets)),
    '#if($datasetKnown)',
    readTemplate('no-such-route.vtl'),
    '#else',
    readTemplate('unknown-dataset.vtl'),
    '#end',
  ].join('\n');
}

export interface EventTemplates {
  /** Integration request templates (Firehose PutRecordBatch bodies), per content type. */
  readonly requests: Readonly<Record<EventContentType, string>>;
  /** Response template of Firehose's 200: 202, or 207 / 503 with the failed records. */
  readonly accepted: string;
  /** Response template of Firehose's 4xx: 404 unknown dataset, 400 / 413 with the reason, else 400 or 500. */
  readonly refused: string;
  /** Response template of Firehose's 5xx. */
  readonly failed: string;
}

/** Mapping templates of `POST /v1/datasets/{dataset}/events`; `prefix` is `<platformPrefix>-<env>`. */
export function eventTemplates(datasets: readonly string[], prefix: string): EventTemplates {
  if (!/^[a-z][a-z0-9-]*$/.test(prefix)) {
    throw new Error(`Prefix ${JSON.stringify(prefix)} cannot be used in a mapping template. Fix: use [a-z0-9-]`);
  }
  const head = [
    preamble({
      streamPrefix: `${prefix}-`,
      streamSuffix: EVENT_STREAM_SUFFIX,
      maxRecords: FIREHOSE_LIMITS.recordsPerRequest,
      maxRecordBytes: FIREHOSE_LIMITS.recordBytes,
      maxRequestBytes: FIREHOSE_LIMITS.requestBytes,
    }),
    datasetHead(datasets),
  ].join('\n');
  const put = readTemplate('events-put.vtl');
  return {
    requests: {
      'application/json': joinLines([head, readTemplate('events-json.vtl'), put].join('\n')),
      'application/x-ndjson': joinLines([head, readTemplate('events-ndjson.vtl'), put].join('\n')),
    },
    accepted: joinLines(`${head}\n${readTemplate('events-accepted.vtl')}`),
    refused: joinLines(`${head}\n${readTemplate('events-refused.vtl')}`),
    failed: joinLines(`${head}\n${readTemplate('events-failed.vtl')}`),
  };
}

/** Body template of every gateway response. */
export function gatewayErrorTemplate(): string {
  return readTemplate('gateway-error.vtl');
}
