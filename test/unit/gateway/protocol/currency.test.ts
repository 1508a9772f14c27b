import { describe, expect, it } from 'vitest';
import { currencyByAlpha, currencyByNumeric, currencyExponent, formatMinor, minorToDecimal } from '../../../../gateway/protocol/currency.js';

describe('ISO 4217 table', () => {
  it.each([
    ['EUR', '978', 2], ['USD', '840', 2], ['CNY', '156', 2], ['JPY', '392', 0], ['KRW', '410', 0],
    ['KWD', '414', 3], ['BHD', '048', 3], ['CHF', '756', 2], ['GBP', '826', 2], ['SEK', '752', 2],
  ] as const)('%s is numeric %s with %i minor digits', (alpha, numeric, exponent) => {
    expect(currencyByAlpha(alpha)).toEqual({ alpha, numeric, exponent });
    expect(currencyByNumeric(numeric)).toEqual({ alpha, numeric, exponent });
    expect(currencyExponent(alpha)).toBe(exponent);
  });

  it('an unknown code is undefined in the table', () => {
    expect(currencyByAlpha('XYZ')).toBeUndefined();
    expect(currencyByNumeric('999')).toBeUndefined();
  });
});

describe('minor units shown with the currency exponent, never divided by 100', () => {
  it.each([
    [1234, 'EUR', '12.34'],
    [5, 'EUR', '0.05'],
    [0, 'EUR', '0.00'],
    [1500, 'JPY', '1500'],
    [12500, 'KWD', '12.500'],
    [7, 'BHD', '0.007'],
    [-1234, 'EUR', '-12.34'],
    [900719925474099, 'EUR', '9007199254740.99'],
  ] as const)('%i %s → %s', (minor, cur, dec) => {
    expect(minorToDecimal(minor, cur)).toBe(dec);
  });

  it('formats with Intl and the currency digits in English and Chinese', () => {
    expect(formatMinor(1234, 'EUR', 'en-GB')).toBe('€12.34');
    expect(formatMinor(1500, 'JPY', 'en-GB')).toMatch(/^(JP)?¥1,500$/);
    expect(formatMinor(12500, 'KWD', 'en-GB')).toMatch(/^KWD\s12\.500$/);
    expect(formatMinor(12500, 'KWD', 'zh-CN')).toMatch(/12\.500/);
    expect(formatMinor(1500, 'JPY', 'zh-CN')).toMatch(/1,500$/);
    expect(formatMinor(1500, 'JPY', 'zh-CN')).not.toMatch(/\./);
    // The old "minor / 100" read 1500 yen as ¥15.00.
    expect(formatMinor(1500, 'JPY', 'en-GB')).not.toContain('15.00');
  });
});
