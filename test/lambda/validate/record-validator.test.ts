import { type DatasetConfig, datasetSchema } from '../../../config/schema';
import { type CsvRecordMapper, compilePattern, RecordValidator } from '../../../lambda/validate/record-validator';
import { exampleConfig } from '../../helpers/app';

const impressions = exampleConfig().datasets.find((dataset) => dataset.name === 'impressions')!;

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
      'column "event_date": "2026-02-30" is not a date: 2026-02 has no day 30',
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
        'column "day": "2024-13-01" is not a date: there is no month 13',
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
    '2026-01-31T12:00:00+05:3',
    '2026-01-31T12:00:00.1234567890Z',
    '2026-01-31X12:00:00Z',
    '2026-01-31T12:00:00ZZ',
    '2026-1-31T12:00:00Z',
  ])('fails the timestamp %p', (at) => {
    expect(problems({ at })).toEqual([
      `column "at": ${JSON.stringify(at)} is not a timestamp (ISO 8601, e.g. 2026-01-31T12:00:00Z)`,
    ]);
  });

  test.each(['2026-1-01', '2026-01-01T00:00:00Z', '20260101'])('fails the date %p', (day) => {
    expect(problems({ day })).toEqual([`column "day": ${JSON.stringify(day)} is not a date (YYYY-MM-DD)`]);
  });

  test.each([
    ['2026-01-32', '2026-01 has no day 32'],
    ['1900-02-29', '1900-02 has no day 29'],
    ['2026-02-30', '2026-02 has no day 30'],
    ['2026-00-10', 'there is no month 00'],
    ['0000-01-01', 'there is no year 0000 (years run from 0001 to 9999)'],
  ])('rejects the impossible date %p with the reason', (day, why) => {
    expect(problems({ day })).toEqual([`column "day": ${JSON.stringify(day)} is not a date: ${why}`]);
  });

  test.each([
    ['2023-02-29T00:00:00Z', '2023-02 has no day 29'],
    ['0000-12-31T23:00:00Z', 'there is no year 0000 (years run from 0001 to 9999)'],
    ['2026-01-31T12:00:00+19:00', 'its UTC offset +19:00 is beyond ±18:00'],
    ['2026-01-31T12:00:00-1801', 'its UTC offset -1801 is beyond ±18:00'],
    [
      '0001-01-01T00:30:00+01:00',
      'its UTC instant is outside 0001-01-01T00:00:00Z to 9999-12-31T23:59:59Z once the offset is applied',
    ],
    [
      '9999-12-31T23:30:00-01:00',
      'its UTC instant is outside 0001-01-01T00:00:00Z to 9999-12-31T23:59:59Z once the offset is applied',
    ],
  ])('rejects the timestamp %p, outside what PostgreSQL and Spark hold, with the reason', (at, why) => {
    expect(problems({ at })).toEqual([`column "at": ${JSON.stringify(at)} is not a timestamp: ${why}`]);
  });

  test.each(['0001-01-01', '9999-12-31'])('accepts the first and last day of the range, %p', (day) =>
    expect(problems({ day })).toBeUndefined(),
  );

  test.each([
    '0001-01-01T00:00:00Z',
    '0001-01-01T01:00:00+01:00',
    '0001-01-01T00:30:00-01:00',
    '9999-12-31T23:59:59.999999Z',
    '9999-12-31T22:30:00-01:00',
    '2026-01-31T12:00:00+18:00',
    '2026-01-31T12:00:00-1800',
  ])('accepts the timestamp %p, within the range once its offset is applied', (at) =>
    expect(problems({ at })).toBeUndefined(),
  );
});

/** A deterministic pseudo-random source (mulberry32), so failures replay. */
function random(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = Math.imul(state ^ (state >>> 15), state | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const pick = <T>(next: () => number, items: readonly T[]): T => items[Math.floor(next() * items.length)];

describe('compilePattern', () => {
  test.each([
    '^imp-[0-9a-f]{16}$',
    '^[A-Z]{2}$',
    '^\\d{3}-\\d{2}$',
    '^[a-]x[-b]$',
    '^a\\.b\\-c$',
    '^[+--]$',
    '^$',
    '^a{0}b$',
    '^x{1}y{2}$',
    // Not simple: left to RegExp.
    '^a{2,3}$',
    '^a+$',
    'abc',
    '^a|b$',
    '^[^a]$',
    '^\\w$',
    '^a.b$',
    '^[a\\]]$',
    '^é{2}$',
    '^a\\$',
  ])('matches exactly what RegExp matches: %p', (source) => {
    const regexp = new RegExp(source);
    const matches = compilePattern(source);
    const next = random(source.length);
    const samples = ['imp-0123456789abcdef', 'imp-0123456789abcdeF', 'DE', 'De', '123-45', 'a.b-c', 'b', 'xyy', ''];
    for (let n = 0; n < 5000; n++) {
      let text = '';
      for (let length = Math.floor(next() * 6); length > 0; length--) text += pick(next, [...'abxyz019AZ-+.$^[]\\é ']);
      samples.push(text);
    }
    expect(samples.filter((text) => matches(text) !== regexp.test(text))).toEqual([]);
  });
});

describe('compiled checks agree with the complete check', () => {
  const dataset = datasetSchema.parse({
    name: 'mixed',
    ownerTeam: 'tests',
    format: 'csv',
    columns: [
      { name: 'id', type: 'string', nullable: false, pattern: '^[a-c]{2}$' },
      { name: 'kind', type: 'string', enum: ['x', 'y'] },
      { name: 'small', type: 'integer', nullable: false },
      { name: 'big', type: 'bigint' },
      { name: 'ratio', type: 'double' },
      { name: 'amount', type: 'decimal(5,2)' },
      { name: 'flag', type: 'boolean' },
      { name: 'day', type: 'date' },
      { name: 'at', type: 'timestamp' },
      { name: 'note', type: 'string' },
    ],
    primaryKey: ['id'],
  });
  const validator = new RecordValidator(dataset);
  const values: Record<string, unknown[]> = {
    id: ['ab', 'cc', 'ad', 'abc', 7, 'a\u0000', [[['deep']]]],
    kind: ['x', 'y', 'z', '', 'x\u0000'],
    small: [0, -5, 2147483647, 2147483648, 1.5, '12', '+7', '0x1', Number.POSITIVE_INFINITY],
    big: [2 ** 53 - 1, 2 ** 53, '9223372036854775807', '9223372036854775808', '-12', 'x', Number.NEGATIVE_INFINITY],
    ratio: [0.5, -1e300, '1e3', 'NaN', '.5', true, Number.POSITIVE_INFINITY, '1e400', Number.MAX_VALUE, '1e-400'],
    amount: [1.25, 999.99, 1000, 0.001, '+001.50', '1.234', '-0', 'x', Number.POSITIVE_INFINITY],
    flag: [true, false, 'true', 1],
    day: ['2024-02-29', '2023-02-29', '2024-2-01', 5, '0000-01-01', '0001-01-01', '9999-12-31'],
    at: [
      '2026-01-31T12:00:00Z',
      '2026-01-31 12:00',
      '2026-01-31T24:00:00Z',
      '2026-01-31T12:00:00.Z',
      '0001-01-01T00:30:00+01:00',
      '0001-01-01T00:30:00-01:00',
      '9999-12-31T23:30:00-01:00',
      '2026-01-31T12:00:00+18:01',
    ],
    note: [
      '',
      'with "quotes"',
      'tab\there',
      'é',
      'nul \u0000',
      'lone \ud800',
      'lone \udfff end',
      'pair 😀',
      { a: [{}] },
    ],
  };
  const names = Object.keys(values);
  const describe = (record: Record<string, unknown>) => validator['describeProblems'](record);

  test('on random records: valid exactly when no problem is found', () => {
    const next = random(7);
    const mismatches: Record<string, unknown>[] = [];
    let valid = 0;
    for (let n = 0; n < 20_000; n++) {
      const record: Record<string, unknown> = {};
      // Columns in config order or shuffled, some missing, null or undefined, sometimes an unknown one.
      const order = next() < 0.8 ? names : [...names].sort(() => next() - 0.5);
      for (const name of order) {
        const roll = next();
        if (roll < 0.03) continue;
        record[name] =
          roll < 0.06 ? null : roll < 0.07 ? undefined : roll < 0.75 ? values[name][0] : pick(next, values[name]);
      }
      if (next() < 0.02) record[pick(next, ['extra', 'constructor', 'toString'])] = 1;
      const problems = validator.checkObject(record);
      if (JSON.stringify(problems) !== JSON.stringify(describe(record))) mismatches.push(record);
      if (problems === undefined) valid++;
    }
    expect(mismatches).toEqual([]);
    expect(valid).toBeGreaterThan(1000);
  });

  test('on random CSV lines: the fast lane gives the text of the general path, or leaves the line to it', () => {
    const text: Record<string, string[]> = {
      id: ['ab', 'cc', 'ad', 'a\\b'],
      kind: ['x', 'y', 'z'],
      small: ['0', '-5', '+7', '007', '-0', '999999999', '-99999999', '2147483647', '-2147483648', '2147483648', '1.5'],
      big: ['12', '-12', '0', '00', '999999999999999999', '-999999999999999999', '9223372036854775807', '+1'],
      ratio: [
        '0.5',
        '-3',
        '1e3',
        '1.50',
        '0.0',
        '05',
        '.5',
        '5.',
        '-0',
        'NaN',
        '1'.repeat(400),
        '1e400',
        '-1e400',
        '1e-400',
      ],
      amount: [
        '1.25',
        '1.20',
        '0.5',
        '0',
        '0.0',
        '-0',
        '-0.50',
        '.5',
        '5.',
        '000.10',
        '999.99',
        '1000',
        '1.234',
        '-1.5',
      ],
      flag: ['true', 'false', 'TRUE', '1', '0', 'yes', 'constructor'],
      day: ['2024-02-29', '2023-02-29', '0000-01-01', '0001-01-01'],
      at: ['2026-01-31T12:00:00Z', '2026-01-31 12:00', 'noon', '0001-01-01T00:30:00+01:00', '2026-01-31T12:00+19:00'],
      note: ['plain', 'tab\there', 'back\\slash', 'é', 'nul \u0000', 'lone \ud800', 'pair 😀', '\u2028'],
    };
    const next = random(11);
    for (const header of [names, [...names].reverse(), ['note', 'id', 'small', 'flag']]) {
      const mapper = validator.forCsvHeader(header) as CsvRecordMapper;
      const mismatches: string[] = [];
      let fast = 0;
      for (let n = 0; n < 5000; n++) {
        const fields = header.map((name) =>
          next() < 0.1 ? '' : next() < 0.6 ? text[name][0] : pick(next, text[name]),
        );
        if (next() < 0.02) fields.push('extra');
        if (next() < 0.02) fields.pop();
        const line = fields.join(',');
        const general = mapper.toJson(line.split(',').map((field) => (field === '' ? null : field)));
        const json = mapper.lineToJson(line);
        if (json !== undefined) {
          fast++;
          if (!('json' in general) || general.json !== json) mismatches.push(line);
        }
      }
      expect(mismatches).toEqual([]);
      expect(fast).toBeGreaterThan(200);
      // A valid record written as JSON writes it is always taken by the fast lane.
      const plain = header.map((name) => text[name][0]).join(',');
      expect(mapper.lineToJson(plain)).toBe((mapper.toJson(plain.split(',')) as { json: string }).json);
    }
  });

  test.each([
    ['note', 'nul \u0000', false],
    ['note', 'lone \ud800', false],
    ['note', 'pair 😀', true],
    ['ratio', '1e400', false],
    ['ratio', '1e-400', true],
    ['small', '2147483648', false],
    ['big', '9223372036854775808', false],
    ['day', '0000-01-01', false],
    ['day', '2026-02-30', false],
    ['day', '0001-01-01', true],
    ['at', '0001-01-01T00:30:00+01:00', false],
    ['at', '9999-12-31T23:59:59Z', true],
  ])('applies one rule to %s %j in JSON and in CSV, fast path and worded path alike', (column, text, valid) => {
    const record = { id: 'ab', small: 1, [column]: text };
    // JSON: the compiled test and the worded check.
    expect(validator.checkObject(record) === undefined).toBe(valid);
    expect(describe(record) === undefined).toBe(valid);
    // A number column also gets the JSON number (1e400 parses as Infinity).
    if (column === 'ratio' || column === 'small' || column === 'big') {
      const number = JSON.parse(text);
      expect(validator.checkObject({ ...record, [column]: number }) === undefined).toBe(valid);
      expect(describe({ ...record, [column]: number }) === undefined).toBe(valid);
    }
    // CSV: the fast lane and the general path.
    const header = column === 'small' ? ['id', 'small'] : ['id', 'small', column];
    const mapper = validator.forCsvHeader(header) as CsvRecordMapper;
    const fields = column === 'small' ? ['ab', text] : ['ab', '1', text];
    expect('json' in mapper.toJson(fields)).toBe(valid);
    const line = fields.join(',');
    if (!valid) expect(mapper.lineToJson(line)).toBeUndefined();
    else {
      const fast = mapper.lineToJson(line);
      if (fast !== undefined) expect(fast).toBe((mapper.toJson(fields) as { json: string }).json);
    }
  });

  test('leaves converted, invalid or miscounted CSV lines to the general path', () => {
    const mapper = validator.forCsvHeader(['id', 'small', 'amount', 'flag', 'note']) as CsvRecordMapper;
    expect(mapper.lineToJson('ab,1,1.5,true,')).toBe(
      '{"id":"ab","kind":null,"small":1,"big":null,"ratio":null,"amount":1.5,"flag":true,"day":null,"at":null,"note":null',
    );
    for (const line of [
      'ab,+1,1.5,true,',
      'ab,1,1.50,true,',
      'ab,1,1.5,TRUE,',
      'ab,1,1.5,true,a\\b',
      'ab,1,1.5,true',
      'ab,1,1.5,true,,',
    ]) {
      expect([line, mapper.lineToJson(line)]).toEqual([line, undefined]);
    }
    expect(mapper.lineToJson(',1,1.5,true,')).toBeUndefined();
    expect(mapper.lineToJson('zz,1,1.5,true,')).toBeUndefined();
  });

  test('takes only true, false and their variants as CSV booleans, not names of object members', () => {
    const mapper = validator.forCsvHeader(['id', 'small', 'flag']) as CsvRecordMapper;
    expect(mapper.toJson(['ab', '1', 'True'])).toMatchObject({ json: expect.stringContaining('"flag":true') });
    expect(mapper.toJson(['ab', '1', 'constructor'])).toEqual({
      problems: ['column "flag": "constructor" is not a boolean (true or false)'],
    });
  });
});
