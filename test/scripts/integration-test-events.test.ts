import { CheckFailedError } from '../../scripts/integration-test/runner';
import { checkEventsAnswer, eventsRequest } from '../../scripts/integration-test/checks/data-path-http';

const url = 'https://abc123.execute-api.eu-west-1.amazonaws.com/live/v1/datasets/impressions/events';
const answer = (status: number, body: unknown) => ({ status, text: JSON.stringify(body) });

describe('events route helpers of the data-path check', () => {
  test('build an NDJSON request to the dataset events route, one record per line', () => {
    const request = eventsRequest('https://abc123.execute-api.eu-west-1.amazonaws.com/live', 'impressions', [
      { impression_id: 'imp-1' },
      { impression_id: 'imp-2', note: 'two\nlines' },
    ]);
    expect(request).toEqual({
      url,
      method: 'POST',
      headers: { 'content-type': 'application/x-ndjson' },
      body: '{"impression_id":"imp-1"}\n{"impression_id":"imp-2","note":"two\\nlines"}\n',
    });
  });

  test('accept a 202 that stored every record sent', () => {
    expect(
      checkEventsAnswer(url, 3, answer(202, { id: 'r', dataset: 'impressions', records: 3, stored: 3, failed: 0 })),
    ).toBe("202, 3 records into the dataset's event stream");
  });

  test.each([
    [
      'a partial failure',
      answer(207, { records: 3, stored: 2, failed: 1 }),
      /answered 207: the stream stored 2 of 3 records \(1 failed\)/,
    ],
    [
      'every record failed',
      answer(503, { records: 3, stored: 0, failed: 3 }),
      /answered 503: the stream stored 0 of 3/,
    ],
    [
      'a refused line',
      answer(400, { message: 'Line 2 is not a JSON object. Fix: ...', line: 2, requestId: 'r' }),
      /answered 400 Line 2 is not a JSON object/,
    ],
    ['a 202 for fewer records', answer(202, { records: 2, stored: 2, failed: 0 }), /not for the 3 records sent/],
  ])('fail on %s, saying what the route answered', (_name, response, message) => {
    expect(() => checkEventsAnswer(url, 3, response)).toThrow(CheckFailedError);
    expect(() => checkEventsAnswer(url, 3, response)).toThrow(message);
  });
});
