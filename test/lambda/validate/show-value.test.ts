import { showValue } from '../../../lambda/validate/show-value';

describe('showValue', () => {
  test('shows shallow values as JSON, as before', () => {
    expect(showValue({ a: 1, b: 'x', c: [true, null] })).toBe('{"a":1,"b":"x","c":[true,null]}');
    expect(showValue('abc')).toBe('"abc"');
    expect(showValue(undefined)).toBe('undefined');
    expect(showValue('x'.repeat(100))).toBe(`"${'x'.repeat(76)}...`);
  });

  test('shows what JSON would hide: a number beyond the double range is Infinity, not null', () => {
    expect(showValue(Number.POSITIVE_INFINITY)).toBe('Infinity');
    expect(showValue([Number.NEGATIVE_INFINITY])).toBe('[-Infinity]');
  });

  test('survives values nested 100,000 deep, as arrays or objects, without a RangeError', () => {
    let array: unknown = [];
    let object: unknown = 1;
    for (let depth = 0; depth < 100_000; depth++) {
      array = [array];
      object = { a: object };
    }
    expect(showValue(array)).toBe(`${'['.repeat(77)}...`);
    expect(showValue(object)).toBe(`${'{"a":'.repeat(15)}{"...`);
  });

  test('survives a string of megabytes and a million keys, rendering only what it shows', () => {
    expect(showValue('é'.repeat(5_000_000), 20)).toBe(`"${'é'.repeat(16)}...`);
    const wide = Object.fromEntries(Array.from({ length: 1_000_000 }, (_, i) => [`k${i}`, i]));
    expect(showValue(wide, 30)).toBe('{"k0":0,"k1":1,"k2":2,"k3":...');
  });
});
