import { columnValueProblem } from '../../../lambda/api-shared/column-values';
import { sqlType } from '../../../lambda/api-shared/marts';
import type { MartColumnType } from '../../../lambda/api-shared/contract';
import { startPostgres, type TestDatabase } from '../../helpers/postgres';

/** [type, value, the rule it breaks (undefined: accepted), whether PostgreSQL itself refuses it]. */
type Case = readonly [MartColumnType, string, RegExp | undefined, 'pg-refuses'?];

const CASES: readonly Case[] = [
  ['string', 'clk-0001', undefined],
  ['string', 'emoji 😀 and é', undefined],
  ['string', "' OR '1'='1", undefined],
  ['string', 'a\u0000b', /contains a NUL character \(U\+0000\), which PostgreSQL text cannot hold/, 'pg-refuses'],
  ['string', 'half \uD83D pair', /unpaired UTF-16 surrogate/],
  ['string', 'reversed \uDE00\uD83D', /unpaired UTF-16 surrogate/],
  ['string', 'x'.repeat(257), /257 characters long; values are at most 256/],
  ['integer', '2147483647', undefined],
  ['integer', '-2147483648', undefined],
  ['integer', '007', undefined],
  ['integer', '2147483648', /an integer \(int4\) is from -2147483648 to 2147483647/, 'pg-refuses'],
  ['integer', '-2147483649', /from -2147483648 to 2147483647/, 'pg-refuses'],
  ['integer', '1.5', /digits only/, 'pg-refuses'],
  ['integer', '1e3', /digits only/, 'pg-refuses'],
  ['integer', '4\u0000', /digits only/, 'pg-refuses'],
  ['bigint', '9223372036854775807', undefined],
  ['bigint', '-9223372036854775808', undefined],
  [
    'bigint',
    '9223372036854775808',
    /a bigint \(int8\) is from -9223372036854775808 to 9223372036854775807/,
    'pg-refuses',
  ],
  ['bigint', '99999999999999999999999', /is from/, 'pg-refuses'],
  ['decimal(10,4)', '123456.1234', undefined],
  ['decimal(10,4)', '-0.5', undefined],
  ['decimal(10,4)', '000123456.12340000', undefined],
  ['decimal(10,4)', '.5', undefined],
  ['decimal(10,4)', '1234567.5', /7 digits before the decimal point; a decimal\(10,4\) has at most 6/, 'pg-refuses'],
  ['decimal(10,4)', '0.12345', /5 digits after the decimal point; a decimal\(10,4\) has at most 4/],
  ['decimal(10,4)', '1e3', /no exponent/],
  ['decimal(10,4)', '.', /decimal number/, 'pg-refuses'],
  ['decimal(4,4)', '0.1234', undefined],
  ['decimal(4,4)', '1.5', /1 digits before the decimal point; a decimal\(4,4\) has at most 0/, 'pg-refuses'],
  ['double', '0.75', undefined],
  ['double', '-2.5e-3', undefined],
  ['double', '1.7976931348623157e308', undefined],
  ['double', '1e-320', undefined],
  ['double', '0e-999', undefined],
  ['double', '1e400', /at most about ±1.8e308/, 'pg-refuses'],
  ['double', '-1e309', /at most about ±1.8e308/, 'pg-refuses'],
  ['double', '1e-400', /a nonzero double is at least about 4.9e-324/, 'pg-refuses'],
  ['double', 'NaN', /no NaN or Infinity/],
  ['double', 'Infinity', /no NaN or Infinity/],
  ['boolean', 'true', undefined],
  ['boolean', 'false', undefined],
  ['boolean', 'maybe', /a boolean is true or false/, 'pg-refuses'],
  ['date', '2024-02-29', undefined],
  ['date', '2000-02-29', undefined],
  ['date', '0001-01-01', undefined],
  ['date', '9999-12-31', undefined],
  ['date', '2026-02-30', /2026-02 has days 01 to 28/, 'pg-refuses'],
  ['date', '1900-02-29', /1900-02 has days 01 to 28/, 'pg-refuses'],
  ['date', '2026-04-31', /2026-04 has days 01 to 30/, 'pg-refuses'],
  ['date', '2026-13-01', /month 13 does not exist/, 'pg-refuses'],
  ['date', '2026-00-10', /month 00 does not exist/, 'pg-refuses'],
  ['date', '2026-01-00', /has days 01 to 31/, 'pg-refuses'],
  ['date', '0000-01-01', /there is no year 0000/, 'pg-refuses'],
  ['date', '20260101', /written YYYY-MM-DD/],
  ['timestamp', '2026-01-31T12:00:00Z', undefined],
  ['timestamp', '2026-01-31 12:00', undefined],
  ['timestamp', '2026-01-31', undefined],
  ['timestamp', '2026-01-31T12:00:00.123456+05:30', undefined],
  ['timestamp', '0001-01-01T00:00:00+15:59', undefined],
  ['timestamp', '9999-12-31T23:59:59-1559', undefined],
  ['timestamp', '2026-02-30T00:00:00Z', /2026-02 has days 01 to 28/, 'pg-refuses'],
  ['timestamp', '2026-01-31T25:00:00Z', /hours are 00 to 23/, 'pg-refuses'],
  ['timestamp', '2026-01-31T12:61:00Z', /minutes and seconds 00 to 59/, 'pg-refuses'],
  ['timestamp', '2026-01-31T12:00:00+16:00', /at most ±15:59/, 'pg-refuses'],
  ['timestamp', '0000-12-31T00:00:00Z', /no year 0000/, 'pg-refuses'],
  ['timestamp', '2026-01-31T12:00:00.1234567Z', /a timestamp is written YYYY-MM-DD/],
];

describe('columnValueProblem', () => {
  const cases = CASES.map(([type, value, rule]) => ({ type, value, rule, shown: JSON.stringify(value.slice(0, 40)) }));
  test.each(cases)('$type $shown: $rule', ({ type, value, rule }) => {
    const problem = columnValueProblem(type, value);
    if (rule === undefined) expect(problem).toBeUndefined();
    else expect(problem?.rule).toMatch(rule);
    if (problem)
      expect(problem.fix).toMatch(
        /^(e\.g\. \S+|send at most 256 characters|remove the NUL character|send valid Unicode text .*)$/,
      );
  });
});

describe('columnValueProblem agrees with PostgreSQL', () => {
  let db: TestDatabase;
  beforeAll(async () => {
    db = await startPostgres();
  });
  afterAll(() => db?.stop());

  /** The value as PostgreSQL reads it for the column (numeric(p,s) for decimals), as text; or its error. */
  async function cast(type: MartColumnType, value: string): Promise<{ text?: string; error?: string }> {
    const target = type.startsWith('decimal') ? type.replace('decimal', 'numeric') : sqlType(type);
    try {
      const { rows } = await db.pool.query(
        `SELECT ($1::${target})::text AS text, ($1::${sqlType(type)})::text AS raw`,
        [value],
      );
      // numeric(p,s) rounds extra decimals silently: an accepted decimal must keep its value.
      if (type.startsWith('decimal') && Number(rows[0].text) !== Number(rows[0].raw)) return { error: 'rounded' };
      return { text: rows[0].text };
    } catch (error) {
      return { error: (error as Error).message };
    }
  }

  test('accepts only values PostgreSQL reads for the column type, unchanged', async () => {
    for (const [type, value, rule] of CASES) {
      if (rule !== undefined) continue;
      const result = await cast(type, value);
      expect({ type, value, ...result }).toEqual({ type, value, text: expect.any(String) });
      if (type === 'string') expect(result.text).toBe(value);
    }
  });

  test('rejects every value PostgreSQL would refuse (what used to be a 500)', async () => {
    for (const [type, value, , refuses] of CASES) {
      if (refuses !== 'pg-refuses') continue;
      expect({ type, value, error: (await cast(type, value)).error }).toEqual({
        type,
        value,
        error: expect.any(String),
      });
    }
  });

  test('rejects unpaired surrogates, which the driver would silently turn into U+FFFD', async () => {
    expect((await cast('string', 'half \uD83D pair')).text).toBe('half \uFFFD pair');
  });
});
