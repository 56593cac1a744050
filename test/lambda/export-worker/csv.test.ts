import { csvEncoder, csvField } from '../../../lambda/export-worker/csv';
import type { MartTable } from '../../../lambda/api-shared/contract';

describe('CSV cells (RFC 4180 + OWASP formula-injection neutralizing)', () => {
  test.each([
    ['=', '=1+1', `"'=1+1"`],
    ['+', '+33 1 23 45 67 89', `"'+33 1 23 45 67 89"`],
    ['-', '-2+3', `"'-2+3"`],
    ['@', '@SUM(A1:A9)', `"'@SUM(A1:A9)"`],
    ['tab (0x09)', '\t=1', `"'\t=1"`],
    ['CR (0x0D)', '\r=1', `"'\r=1"`],
  ])(
    'rejects a formula in a string cell starting with %s: prefixed with a quote and double-quoted',
    (_c, value, cell) => {
      expect(csvField(value, true)).toBe(cell);
    },
  );

  test('survives a formula that also needs RFC 4180 quoting: quotes doubled, commas and newlines kept inside', () => {
    expect(csvField('=HYPERLINK("http://x","a,b")\r\n', true)).toBe(`"'=HYPERLINK(""http://x"",""a,b"")\r\n"`);
  });

  test('leaves other string cells as RFC 4180 has them', () => {
    expect(csvField('plain', true)).toBe('plain');
    expect(csvField('a=b', true)).toBe('a=b');
    expect(csvField('a,b', true)).toBe('"a,b"');
    expect(csvField(' lead', true)).toBe('" lead"');
    expect(csvField(null, true)).toBe('');
  });

  test('never touches non-string columns: a negative number is data', () => {
    const table: MartTable = {
      table: 't',
      dataset: 't',
      columns: [
        { name: 'id', type: 'string' },
        { name: 'n', type: 'integer' },
        { name: 'big', type: 'bigint' },
        { name: 'amount', type: 'decimal(10,2)' },
        { name: 'score', type: 'double' },
        { name: 'at', type: 'timestamp' },
      ],
      primaryKey: ['id'],
      filterable: ['id'],
    };
    const csv = csvEncoder(table);
    expect(csv.header).toBe('id,n,big,amount,score,at\r\n');
    expect(
      csv.row({
        id: '-1',
        n: -5,
        big: -9007199254740993n,
        amount: '-1.50',
        score: -0.25,
        at: new Date('2026-01-31T12:00:00Z'),
      }),
    ).toBe(`"'-1",-5,-9007199254740993,-1.50,-0.25,2026-01-31T12:00:00.000Z\r\n`);
  });
});
