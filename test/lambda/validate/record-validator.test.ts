import { type DatasetConfig, datasetSchema } from '../../../config/schema';
import { DATASETS } from '../../../lambda/validate/datasets';
import { type CsvRecordMapper, RecordValidator } from '../../../lambda/validate/record-validator';

const impressions = DATASETS.get('impressions')!;

const validImpression = {
  impression_id: 'imp-0123456789abcdef',
  event_time: '2026-11-22T10:11:12.123Z',
  event_date: '2026-11-22',
  campaign_id: 1234567890123,
  creative_id: 42,
  placement: 'video',
  device_type: 'mobile',
  country: 'DE',
  bid_price_usd: 0.123456,
  viewable: true,
  viewability_score: 0.87,
};

function allTypes(): DatasetConfig {
  return datasetSchema.parse({
    name: 'all_types',
    ownerTeam: 'tests',
    format: 'csv',
    columns: [
      { name: 'id', type: 'string', nullable: false },
      { name: 'small', type: 'integer' },
      { name: 'big', type: 'bigint' },
      { name: 'ratio', type: 'double' },
      { name: 'amount', type: 'decimal(5,2)' },
      { name: 'flag', type: 'boolean' },
      { name: 'day', type: 'date' },
      { name: 'at', type: 'timestamp' },
      { name: 'label', type: 'string', enum: ['a', 'b', ''] },
    ],
    primaryKey: ['id'],
  });
}

describe('RecordValidator.checkObject', () => {
  const validator = new RecordValidator(impressions);

  test('accepts a valid impression, with nullable columns null or missing', () => {
    expect(validator.checkObject(validImpression)).toBeUndefined();
    expect(validator.checkObject({ ...validImpression, device_type: null, country: undefined })).toBeUndefined();
    const { viewable: _dropped, ...withoutViewable } = validImpression;
    expect(validator.checkObject(withoutViewable)).toBeUndefined();
  });

  test('accepts numbers sent as strings, so producers can keep bigint and decimal precision', () => {
    expect(
      validator.checkObject({ ...validImpression, campaign_id: '9223372036854775807', bid_price_usd: '123456.123456' }),
    ).toBeUndefined();
  });

  test('reports a wrong type with the column, the value and the type', () => {
    expect(validator.checkObject({ ...validImpression, bid_price_usd: 'abc' })).toEqual([
      'column "bid_price_usd": "abc" is not a decimal(12,6)',
    ]);
    expect(validator.checkObject({ ...validImpression, creative_id: 1.5, viewable: 'yes' })).toEqual([
      'column "creative_id": 1.5 is not an integer',
      'column "viewable": "yes" is not a boolean (true or false)',
    ]);
    expect(validator.checkObject({ ...validImpression, impression_id: 12 })).toEqual([
      'column "impression_id": 12 is not a string',
    ]);
  });

  test('reports missing required columns and unknown columns', () => {
    const { campaign_id: _missing, ...withoutCampaign } = validImpression;
    expect(validator.checkObject({ ...withoutCampaign, creative_id: null, browser: 'firefox' })).toEqual([
      'unknown column "browser". Fix: remove it, or add it to config/datasets/impressions.json',
      'column "campaign_id" is required but is missing',
      'column "creative_id" is required but is null',
    ]);
  });

  test('reports enum and pattern violations', () => {
    expect(validator.checkObject({ ...validImpression, placement: 'popup', country: 'Germany' })).toEqual([
      'column "placement": "popup" is not one of banner, video, native, interstitial',
      'column "country": "Germany" does not match ^[A-Z]{2}$',
    ]);
  });

  test('reports values out of range and impossible dates', () => {
    expect(
      validator.checkObject({
        ...validImpression,
        creative_id: 2 ** 31,
        campaign_id: '9223372036854775808',
        event_date: '2026-02-30',
        event_time: '2026-11-22T24:00:00Z',
        bid_price_usd: 1234567.5,
      }),
    ).toEqual([
      'column "event_time": "2026-11-22T24:00:00Z" is not a timestamp (ISO 8601, e.g. 2026-01-31T12:00:00Z)',
      'column "event_date": "2026-02-30" is not a date (YYYY-MM-DD)',
      'column "campaign_id": "9223372036854775808" is out of range for bigint',
      'column "creative_id": 2147483648 is out of range for integer',
      'column "bid_price_usd": "1234567.5" has more than 6 digits before the decimal point for decimal(12,6)',
    ]);
  });

  test('refuses a bigint JSON number that lost precision, and non-objects', () => {
    expect(validator.checkObject({ ...validImpression, campaign_id: 2 ** 60 })).toEqual([
      'column "campaign_id": 1152921504606847000 cannot be represented exactly as a JSON number. Fix: send bigints above 2^53 as strings',
    ]);
    expect(validator.checkObject([1, 2])).toEqual(['[1,2] is not a JSON object']);
    expect(validator.checkObject('text')).toEqual(['"text" is not a JSON object']);
  });

  test('accepts timestamps with offsets, fractions and a space separator', () => {
    for (const at of [
      '2026-01-31T23:59:59+05:30',
      '2026-01-31 00:00:00',
      '2026-01-31T12:00Z',
      '2026-01-31T12:00:00.123456789Z',
    ]) {
      expect(validator.checkObject({ ...validImpression, event_time: at })).toBeUndefined();
    }
  });
});

describe('RecordValidator.forCsvHeader', () => {
  const validator = new RecordValidator(allTypes());
  const header = ['id', 'small', 'big', 'ratio', 'amount', 'flag', 'day', 'at', 'label'];
  const mapper = validator.forCsvHeader(header) as CsvRecordMapper;

  test('turns valid text fields into typed JSON in dataset order', () => {
    const result = mapper.toJson([
      'x1',
      '+7',
      '00042',
      '1e3',
      '+001.50',
      'TRUE',
      '2024-02-29',
      '2024-02-29T10:00:00Z',
      'a',
    ]);
    expect(result).toEqual({
      json: '{"id":"x1","small":7,"big":42,"ratio":1e3,"amount":1.5,"flag":true,"day":"2024-02-29","at":"2024-02-29T10:00:00Z","label":"a"',
    });
    expect(JSON.parse(`${(result as { json: string }).json}}`)).toMatchObject({ amount: 1.5, flag: true });
  });

  test('reads unquoted empty fields as NULL and a quoted empty string as an empty string', () => {
    expect(mapper.toJson(['x1', null, null, null, null, null, null, null, ''])).toEqual({
      json: '{"id":"x1","small":null,"big":null,"ratio":null,"amount":null,"flag":null,"day":null,"at":null,"label":""',
    });
    expect(mapper.toJson([null, null, null, null, null, null, null, null, null])).toEqual({
      problems: ['column "id" is required but is empty'],
    });
  });

  test('reports each bad field and a wrong field count', () => {
    expect(mapper.toJson(['x1', 'one', '1', 'NaN', '1.234', 'maybe', '2024-13-01', 'noon', 'c'])).toEqual({
      problems: [
        'column "small": "one" is not an integer',
        'column "ratio": "NaN" is not a double',
        'column "amount": "1.234" has more than 2 decimal places for decimal(5,2)',
        'column "flag": "maybe" is not a boolean (true or false)',
        'column "day": "2024-13-01" is not a date (YYYY-MM-DD)',
        'column "at": "noon" is not a timestamp (ISO 8601, e.g. 2026-01-31T12:00:00Z)',
        'column "label": "c" is not one of a, b, ',
      ],
    });
    expect(mapper.toJson(['x1', '1'])).toEqual({ problems: ['has 2 fields but the header has 9'] });
  });

  test('allows nullable columns to be absent from the header, and any column order', () => {
    const partial = validator.forCsvHeader(['label', 'id']) as CsvRecordMapper;
    expect(partial.toJson(['b', 'x2'])).toEqual({
      json: '{"id":"x2","small":null,"big":null,"ratio":null,"amount":null,"flag":null,"day":null,"at":null,"label":"b"',
    });
  });

  test('fails a header with unknown, repeated or missing required columns', () => {
    expect(validator.forCsvHeader(['id', 'id', 'colour', 'small'])).toEqual({
      headerProblem:
        'CSV header: column "id" appears twice; unknown column "colour". Fix: remove it, or add it to config/datasets/all_types.json',
    });
    expect(validator.forCsvHeader(['small'])).toEqual({ headerProblem: 'CSV header: required column "id" is missing' });
  });
});

describe('hand-written type scanners', () => {
  const dataset = datasetSchema.parse({
    name: 'edge',
    ownerTeam: 'tests',
    format: 'ndjson',
    columns: [
      { name: 'id', type: 'string', nullable: false },
      { name: 'amount', type: 'decimal(12,6)' },
      { name: 'wide', type: 'decimal(38,10)' },
      { name: 'at', type: 'timestamp' },
      { name: 'day', type: 'date' },
    ],
    primaryKey: ['id'],
  });
  const validator = new RecordValidator(dataset);
  const problems = (record: Record<string, unknown>) => validator.checkObject({ id: 'x', ...record });

  test.each([0, -0.5, 0.000001, 123456.123456, -999999.999999, '+001.500000', '.5', '5.', '-0'])(
    'accepts the decimal(12,6) %p',
    (amount) => expect(problems({ amount })).toBeUndefined(),
  );

  test.each([
    [0.0000001, '"0.0000001" has more than 6 decimal places for decimal(12,6)'],
    [1e-15, '"0.000000000000001" has more than 6 decimal places for decimal(12,6)'],
    [0.1234565, '"0.1234565" has more than 6 decimal places for decimal(12,6)'],
    [1000000, '"1000000" has more than 6 digits before the decimal point for decimal(12,6)'],
    ['1.2.3', '"1.2.3" is not a decimal(12,6)'],
    ['-', '"-" is not a decimal(12,6)'],
    ['', '"" is not a decimal(12,6)'],
    ['1e3', '"1e3" is not a decimal(12,6)'],
  ])('fails the decimal(12,6) %p', (amount, problem) => {
    expect(problems({ amount })).toEqual([`column "amount": ${problem}`]);
  });

  test('checks wide decimals digit by digit, beyond what a double holds', () => {
    expect(problems({ wide: '1234567890123456789012345678.0123456789' })).toBeUndefined();
    expect(problems({ wide: '1234567890123456789012345678.01234567891' })).toEqual([
      'column "wide": "1234567890123456789012345678.01234567891" has more than 10 decimal places for decimal(38,10)',
    ]);
  });

  test.each(['2026-01-31T12:00:00+0530', '2026-01-31T12:00:00-05:00', '2024-02-29 23:59:59.5', '2026-01-31T00:00'])(
    'accepts the timestamp %p',
    (at) => expect(problems({ at })).toBeUndefined(),
  );

  test.each([
    '2026-01-31T12:00:00.Z',
    '2026-01-31T12:00:60Z',
    '2026-01-31T12:00:00+19:00',
    '2026-01-31T12:00:00+05:3',
    '2026-01-31T12:00:00.1234567890Z',
    '2023-02-29T00:00:00Z',
    '2026-01-31X12:00:00Z',
    '2026-01-31T12:00:00ZZ',
    '2026-1-31T12:00:00Z',
  ])('fails the timestamp %p', (at) => {
    expect(problems({ at })).toEqual([
      `column "at": ${JSON.stringify(at)} is not a timestamp (ISO 8601, e.g. 2026-01-31T12:00:00Z)`,
    ]);
  });

  test.each(['2026-1-01', '2026-01-32', '1900-02-29', '2026-01-01T00:00:00Z', '20260101'])(
    'fails the date %p',
    (day) => {
      expect(problems({ day })).toEqual([`column "day": ${JSON.stringify(day)} is not a date (YYYY-MM-DD)`]);
    },
  );
});
