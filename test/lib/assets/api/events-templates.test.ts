import { eventTemplates, FIREHOSE_LIMITS } from '../../../../lib/constructs/api-templates';
import { type RequestShape, render } from './vtl';

const requestId = '5b0c2f4e-9d61-4a43-8a1e-2f7f0f3c9b11';
const templates = eventTemplates(['clicks', 'impressions'], 'dp-dev');
const STREAM = 'dp-dev-clicks-events';

interface PutRecordBatchBody {
  DeliveryStreamName: string;
  Records: { Data: string }[];
}

/** The PutRecordBatch body the request template sends for `body` (the dataset is clicks unless given). */
function put(contentType: 'application/json' | 'application/x-ndjson', body: string, dataset = 'clicks') {
  const request: RequestShape = { body, requestId, path: { dataset }, headers: { 'Content-Type': contentType } };
  const { output } = render(templates.requests[contentType], request);
  return JSON.parse(output) as PutRecordBatchBody;
}
const json = (body: string, dataset?: string) => put('application/json', body, dataset);
const ndjson = (body: string, dataset?: string) => put('application/x-ndjson', body, dataset);

/** The exact body Firehose must receive for these records: each one base64 of the record and a newline. */
function expected(records: readonly string[]): PutRecordBatchBody {
  return {
    DeliveryStreamName: STREAM,
    Records: records.map((record) => ({ Data: Buffer.from(`${record}\n`, 'utf8').toString('base64') })),
  };
}

/** A Firehose-style error answer of a refused request whose stream name was `name`. */
function firehoseRefusal(kind: 'validation' | 'access', name: string): string {
  return JSON.stringify(
    kind === 'validation'
      ? {
          __type: 'ValidationException',
          message: `1 validation error detected: Value '${name}' at 'deliveryStreamName' failed to satisfy constraint: Member must satisfy regular expression pattern: [a-zA-Z0-9_.-]+`,
        }
      : {
          __type: 'AccessDeniedException',
          Message: `User: arn:aws:sts::222222222222:assumed-role/dp-dev-api-EventsWriteRole/BackplaneAssumeRoleSession is not authorized to perform: firehose:PutRecordBatch on resource: arn:aws:firehose:eu-west-1:222222222222:deliverystream/${name} because no identity-based policy allows the firehose:PutRecordBatch action`,
        },
  );
}

/** The answer the caller gets when Firehose refuses the request the template built (4xx integration response). */
function refusedAnswer(sent: PutRecordBatchBody, dataset = 'clicks', kind: 'validation' | 'access' = 'validation') {
  const { output, responseOverride } = render(templates.refused, {
    body: firehoseRefusal(kind, sent.DeliveryStreamName),
    requestId,
    path: { dataset },
  });
  return { status: responseOverride.status ?? 400, body: JSON.parse(output) as Record<string, unknown> };
}

describe('POST /v1/datasets/{dataset}/events request templates (PutRecordBatch)', () => {
  test('one JSON object on one line is forwarded byte for byte, with a newline', () => {
    // Numbers keep their exact text (decimal precision, integers beyond 2^53); Velocity-looking text is data.
    const event =
      '{"click_id":"clk-00000000000000aa","cost_usd":1.2500,"campaign_id":123456789012345678901,"note":"$context.requestId #set($x = 1)"}';
    expect(json(`  ${event}\n`)).toEqual(expected([event]));
  });

  test('a JSON object over several lines becomes one line', () => {
    expect(json('{\n  "click_id": "clk-1",\n  "note": "line\\nbreak"\n}')).toEqual(
      expected(['{"click_id":"clk-1","note":"line\\nbreak"}']),
    );
  });

  test('a JSON array becomes one record per element, in order', () => {
    const elements = [{ click_id: 'clk-1', n: 1 }, { click_id: 'clk-2', nested: { a: [1, 2] } }, {}];
    expect(json(JSON.stringify(elements, null, 2))).toEqual(expected(elements.map((e) => JSON.stringify(e))));
  });

  test('NDJSON becomes one record per line: CRLF, a final newline or none, UTF-8 kept', () => {
    const lines = ['{"click_id":"clk-1"}', '{"click_id":"clk-2","city":"Zürich ☃"}', '{"click_id":"clk-3"}'];
    for (const body of [
      lines.join('\n'),
      `${lines.join('\n')}\n`,
      `${lines.join('\r\n')}\r\n`,
      `${lines.join('\n')}\n\n`,
    ]) {
      expect(ndjson(body)).toEqual(expected(lines));
    }
  });

  test('survives the largest request Firehose takes: 500 records of 8 KiB', () => {
    const record = (i: number) => JSON.stringify({ click_id: `clk-${i}`, pad: 'x'.repeat(8 * 1024 - 40) });
    const lines = Array.from({ length: FIREHOSE_LIMITS.recordsPerRequest }, (_, i) => record(i));
    expect(ndjson(lines.join('\n'))).toEqual(expected(lines));
  });

  test.each([
    ['application/json', '{"a":1}'],
    ['application/x-ndjson', '{"a":1}\n'],
  ] as const)('rejects an unknown dataset (%s) with a stream name no stream can have', (contentType, body) => {
    for (const dataset of ['orders', 'Clicks', 'click', 'constructor', 'clicks-events', '../clicks']) {
      const sent = put(contentType, body, dataset);
      expect(sent.DeliveryStreamName).toBe('!reject:dataset:0!');
      expect(refusedAnswer(sent, dataset)).toEqual({
        status: 404,
        body: {
          message: 'Unknown dataset. Fix: use one of clicks, impressions',
          dataset: encodeURIComponent(dataset),
          requestId,
        },
      });
    }
  });

  test.each([
    ['an empty body', '', 'empty:0', 400, { message: expect.stringContaining('no records') }],
    ['a body of blank lines', '\n \n\r\n', 'empty:0', 400, { message: expect.stringContaining('no records') }],
    ['a blank line between records', '{"a":1}\n\n{"b":2}\n', 'blank:2', 400, { line: 2 }],
    ['a line that is an array', '{"a":1}\n[{"b":2}]\n', 'line:2', 400, { line: 2 }],
    ['a line that is a number', '{"a":1}\n{"a":2}\n42\n', 'line:3', 400, { line: 3 }],
    ['a truncated line', '{"a":1}\n{"b":', 'line:2', 400, { line: 2 }],
    ['a line that is not JSON', 'hello\n{"a":1}\n', 'line:1', 400, { line: 1 }],
    ['a line of JSON text in quotes', '"{\\"a\\":1}"\n', 'line:1', 400, { line: 1 }],
    [
      `${FIREHOSE_LIMITS.recordsPerRequest + 1} records`,
      '{"a":1}\n'.repeat(FIREHOSE_LIMITS.recordsPerRequest + 1),
      `records:${FIREHOSE_LIMITS.recordsPerRequest + 1}`,
      413,
      { records: FIREHOSE_LIMITS.recordsPerRequest + 1 },
    ],
    [
      'a record above 1,000 KiB',
      `{"a":1}\n{"pad":"${'x'.repeat(FIREHOSE_LIMITS.recordBytes)}"}\n`,
      'large:2',
      413,
      { record: 2 },
    ],
    [
      'records above 4 MiB in all',
      `${`{"pad":"${'x'.repeat(900_000)}"}\n`.repeat(5)}`,
      `total:${5 * (900_000 + 11)}`,
      413,
      { bytes: 5 * (900_000 + 11) },
    ],
  ])('rejects NDJSON with %s, and the answer says why', (_name, body, reason, status, fields) => {
    const sent = ndjson(body);
    expect(sent).toEqual({ DeliveryStreamName: `!reject:${reason}!`, Records: [{ Data: '' }] });
    for (const kind of ['validation', 'access'] as const) {
      const answer = refusedAnswer(sent, 'clicks', kind);
      expect(answer).toEqual({
        status,
        body: { message: expect.stringContaining('Fix:'), requestId, ...fields },
      });
    }
  });

  test('rejects a JSON array whose records total above 4 MiB', () => {
    const big = { pad: 'x'.repeat(900_000) };
    const sent = json(JSON.stringify([big, big, big, big, big]));
    expect(sent.DeliveryStreamName).toBe(`!reject:total:${5 * (900_000 + 11)}!`);
    expect(refusedAnswer(sent).status).toBe(413);
  });

  test('rejects a JSON object above 1,000 KiB', () => {
    const sent = json(JSON.stringify({ pad: 'x'.repeat(FIREHOSE_LIMITS.recordBytes) }));
    expect(sent.DeliveryStreamName).toBe('!reject:large:1!');
    expect(refusedAnswer(sent)).toEqual({ status: 413, body: expect.objectContaining({ record: 1 }) });
  });

  test('reports which line was bad, not just that one was: the first bad line wins', () => {
    expect(ndjson('{"a":1}\n{"a":2}\n{"a":3}\nnope\n[]\n').DeliveryStreamName).toBe('!reject:line:4!');
  });
});

describe('POST /v1/datasets/{dataset}/events response templates', () => {
  const answer = (template: string, firehose: unknown, dataset = 'clicks') => {
    const { output, responseOverride } = render(template, {
      body: JSON.stringify(firehose),
      requestId,
      path: { dataset },
    });
    return { status: responseOverride.status, body: JSON.parse(output) as Record<string, unknown> };
  };
  const stored = (n: number) => Array.from({ length: n }, (_, i) => ({ RecordId: `r${i}` }));

  test('202 with the number of records when Firehose stored them all', () => {
    expect(answer(templates.accepted, { FailedPutCount: 0, Encrypted: true, RequestResponses: stored(3) })).toEqual({
      status: undefined,
      body: { id: requestId, dataset: 'clicks', records: 3, stored: 3, failed: 0 },
    });
  });

  test('207 naming the failed records when Firehose stored some (never success for dropped records)', () => {
    const responses = [
      ...stored(2),
      { ErrorCode: 'ServiceUnavailableException', ErrorMessage: 'Slow down.' },
      ...stored(1),
      { ErrorCode: 'InternalFailure"}, "ok": true', ErrorMessage: 'x' },
    ];
    expect(answer(templates.accepted, { FailedPutCount: 2, RequestResponses: responses })).toEqual({
      status: 207,
      body: {
        id: requestId,
        dataset: 'clicks',
        records: 5,
        stored: 3,
        failed: 2,
        message: expect.stringContaining('Fix: send the records listed in failedRecords again'),
        failedRecords: [
          { record: 3, errorCode: 'ServiceUnavailableException' },
          { record: 5, errorCode: 'Unknown' },
        ],
      },
    });
  });

  test('503 when Firehose stored none of them', () => {
    const responses = [{ ErrorCode: 'ServiceUnavailableException' }, { ErrorCode: 'ServiceUnavailableException' }];
    const { status, body } = answer(templates.accepted, { FailedPutCount: 2, RequestResponses: responses });
    expect(status).toBe(503);
    expect(body).toEqual(expect.objectContaining({ stored: 0, failed: 2 }));
  });

  test('500 when the answer does not say what was stored', () => {
    expect(answer(templates.accepted, { Encrypted: true })).toEqual({
      status: 500,
      body: { message: expect.stringContaining('Fix:'), requestId },
    });
  });

  test.each([
    ['a limit in bytes (Firehose validation)', { __type: 'ValidationException', message: 'Records too large' }, 400],
    ['a bad argument', { __type: 'InvalidArgumentException', message: 'x' }, 400],
    ['throttling', { __type: 'ServiceUnavailableException', message: 'Slow down.' }, 503],
    ['a permission problem', { __type: 'AccessDeniedException', Message: 'not authorized' }, 500],
    ['a missing stream', { __type: 'ResourceNotFoundException', message: 'not found' }, 500],
    ['an answer without a body', {}, 500],
  ])('answers a refusal for %s with %s and a JSON reason that echoes nothing of Firehose', (_n, firehose, status) => {
    const { status: override, body } = answer(templates.refused, firehose);
    expect(override ?? 400).toBe(status);
    expect(body).toEqual({ message: expect.stringContaining('Fix:'), requestId });
    expect(JSON.stringify(body)).not.toMatch(/authorized|Slow down|not found/);
  });

  test('ignores a reject marker whose number is not a number', () => {
    const { status, body } = answer(templates.refused, {
      __type: 'AccessDeniedException',
      Message: 'on resource: deliverystream/!reject:line:7"}!',
    });
    expect({ status, body }).toEqual({ status: 500, body: expect.objectContaining({ requestId }) });
  });

  test('5xx of Firehose answers JSON asking for a retry', () => {
    expect(JSON.parse(render(templates.failed, { requestId }).output)).toEqual({
      message: expect.stringContaining('retry later'),
      requestId,
    });
  });

  test('fails to build templates for a prefix that is not a name', () => {
    expect(() => eventTemplates(['clicks'], 'dp"dev')).toThrow(/cannot be used in a mapping template/);
  });
});
