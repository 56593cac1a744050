import {
  DOCUMENT_CONTENT_TYPES,
  gatewayErrorTemplate,
  objectTemplates,
  unknownDatasetTemplate,
} from '../../../../lib/constructs/api-templates';
import { render } from './vtl';

const requestId = '5b0c2f4e-9d61-4a43-8a1e-2f7f0f3c9b11';
const DATASETS = ['clicks', 'impressions'];
const clicks = { dataset: 'clicks' };
const csv = 'click_id,landing_url\r\nclk-00000000000000aa,"https://example.com/?a=1,b=""2"""\r\n';

describe('POST /v1/datasets/{dataset}/objects request template', () => {
  const templates = objectTemplates(DATASETS);

  test('passes the body through byte for byte, even when it looks like Velocity', () => {
    for (const body of [csv, '{"note": "$context.requestId #set($x = 1) ## not a comment"}\n', 'x'.repeat(100_000)]) {
      const { output } = render(templates.request, {
        body,
        requestId,
        path: clicks,
        headers: { 'Content-Type': 'text/csv' },
      });
      expect(output).toBe(body);
    }
  });

  test.each(Object.entries(DOCUMENT_CONTENT_TYPES))(
    'stores %s under ingest_date=<UTC date>/<request id>.%s',
    (type, ext) => {
      const { requestOverride } = render(templates.request, {
        body: 'x',
        requestId,
        requestTime: '22/Nov/2026:23:59:59 +0000',
        path: clicks,
        headers: { 'Content-Type': type },
      });
      expect(requestOverride.path).toEqual({
        dataset: 'clicks',
        partition: 'ingest_date=2026-11-22',
        object: `${requestId}.${ext}`,
      });
      expect(requestOverride.header).toEqual({});
    },
  );

  test('ignores media type parameters and case in the Content-Type', () => {
    const { requestOverride } = render(templates.request, {
      body: '{}',
      requestId,
      path: clicks,
      headers: { 'content-type': 'Application/JSON; charset=utf-8' },
    });
    expect(requestOverride.path.object).toBe(`${requestId}.json`);
  });

  test.each([
    ['01/Jan/2027:00:00:00 +0000', '2027-01-01'],
    ['28/Feb/2026:12:00:00 +0000', '2026-02-28'],
    ['31/Mar/2026:01:02:03 +0000', '2026-03-31'],
    ['15/Apr/2026:00:00:00 +0000', '2026-04-15'],
    ['05/May/2026:00:00:00 +0000', '2026-05-05'],
    ['30/Jun/2026:00:00:00 +0000', '2026-06-30'],
    ['04/Jul/2026:00:00:00 +0000', '2026-07-04'],
    ['09/Aug/2026:00:00:00 +0000', '2026-08-09'],
    ['10/Sep/2026:00:00:00 +0000', '2026-09-10'],
    ['31/Oct/2026:00:00:00 +0000', '2026-10-31'],
    ['01/Nov/2026:00:00:00 +0000', '2026-11-01'],
    ['31/Dec/2026:23:59:59 +0000', '2026-12-31'],
  ])('reads the ingest date of %s as %s', (requestTime, date) => {
    const { requestOverride } = render(templates.request, {
      body: 'x',
      requestTime,
      path: clicks,
      headers: { 'Content-Type': 'text/csv' },
    });
    expect(requestOverride.path.partition).toBe(`ingest_date=${date}`);
  });

  test.each([
    ['an empty body', ''],
    ['a whitespace-only body', ' \r\n\t'],
  ])('fails %s with a Content-MD5 S3 must reject (400)', (_name, body) => {
    const { requestOverride } = render(templates.request, {
      body,
      path: clicks,
      headers: { 'Content-Type': 'text/csv' },
    });
    expect(requestOverride.header).toEqual({ 'Content-MD5': 'AAAAAAAAAAAAAAAAAAAAAA==' });
  });

  test.each([
    ['a name that is not configured', 'orders'],
    ['a configured name in another case', 'Clicks'],
    ['a prefix of a configured name', 'click'],
    ['a path traversal', '../clicks'],
    ['an inherited property name', 'constructor'],
    ['a hostile name', 'x"}, "admin": true, #set($a = 1)'],
  ])('sends %s to _unknown-dataset/, which the integration role may not write', (_name, dataset) => {
    const { requestOverride } = render(templates.request, {
      body: '{}',
      requestId,
      path: { dataset },
      headers: { 'Content-Type': 'application/json' },
    });
    expect(requestOverride.path).toEqual({
      dataset: '_unknown-dataset',
      partition: 'ingest_date=2026-11-22',
      object: `${requestId}.json`,
    });
  });
});

describe('POST /v1/datasets/{dataset}/objects response templates', () => {
  const templates = objectTemplates(DATASETS);

  test('202 names the id, dataset and the key the request template wrote', () => {
    const request = {
      body: '{"impression_id": "imp-0000000000000001"}\n',
      requestId,
      path: { dataset: 'impressions' },
      requestTime: '07/Mar/2026:08:09:10 +0000',
      headers: { 'Content-Type': 'application/x-ndjson' },
    };
    const written = render(templates.request, request).requestOverride.path;
    const accepted = JSON.parse(render(templates.accepted, request).output);
    expect(accepted).toEqual({
      id: requestId,
      dataset: 'impressions',
      key: `impressions/ingest_date=2026-03-07/${requestId}.ndjson`,
    });
    expect(accepted.key).toBe(`${written.dataset}/${written.partition}/${written.object}`);
  });

  test("S3's 403 for an unknown dataset answers 404 naming the configured datasets", () => {
    const { output, responseOverride } = render(templates.denied, { requestId, path: { dataset: 'orders' } });
    expect(JSON.parse(output)).toEqual({
      message: 'Unknown dataset. Fix: use one of clicks, impressions',
      dataset: 'orders',
      requestId,
    });
    expect(responseOverride.status).toBeUndefined();
  });

  test("S3's 403 for a configured dataset is the platform's fault: 500", () => {
    const { output, responseOverride } = render(templates.denied, { requestId, path: clicks });
    expect(JSON.parse(output)).toEqual({ message: expect.stringContaining('could not be stored'), requestId });
    expect(responseOverride.status).toBe(500);
  });

  test('400 and 500 bodies are JSON with the request id and a fix', () => {
    for (const template of [templates.emptyBody, templates.failed]) {
      const body = JSON.parse(render(template, { requestId }).output);
      expect(body).toEqual({ message: expect.stringContaining('Fix:'), requestId });
    }
  });

  test('fails to build templates for a dataset name that is not an identifier', () => {
    expect(() => objectTemplates(['clicks', 'clicks"); #set($x'])).toThrow(/cannot be used in a mapping template/);
  });

  test('fails to build templates without datasets', () => {
    expect(() => objectTemplates([])).toThrow(/need at least one dataset/);
  });
});

describe('fallback routes under /v1/datasets/{dataset} (mock 404)', () => {
  test('answers an unknown dataset with JSON that names the known datasets and echoes the name safely', () => {
    const hostile = 'x"}, "admin": true, "y": "</script>\\ ü';
    const body = JSON.parse(render(unknownDatasetTemplate(DATASETS), { requestId, path: { dataset: hostile } }).output);
    expect(body).toEqual({
      message: 'Unknown dataset. Fix: use one of clicks, impressions',
      dataset: encodeURIComponent(hostile).replace(/%20/g, '+'),
      requestId,
    });
    expect(body.admin).toBeUndefined();
  });

  test("answers a configured dataset's unknown route with its routes", () => {
    const body = JSON.parse(render(unknownDatasetTemplate(DATASETS), { requestId, path: clicks }).output);
    expect(body).toEqual({
      message: 'No such route for dataset clicks. Fix: use POST /v1/datasets/clicks/objects, /events or /uploads',
      dataset: 'clicks',
      requestId,
    });
  });
});

describe('gateway responses', () => {
  test.each([
    ['"Unauthorized"', 'UNAUTHORIZED'],
    ['"Invalid request body"', 'BAD_REQUEST_BODY'],
    ['"Unsupported Media Type"', 'UNSUPPORTED_MEDIA_TYPE'],
    ['"Too Many Requests"', 'THROTTLED'],
    ['"Request too long"', 'REQUEST_TOO_LARGE'],
  ])('render %s (%s) as JSON with the request id', (messageString, responseType) => {
    const body = JSON.parse(
      render(gatewayErrorTemplate(), { requestId, error: { messageString, responseType } }).output,
    );
    expect(body).toEqual({ message: JSON.parse(messageString), type: responseType, requestId });
  });
});
