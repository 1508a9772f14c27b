/**
 * ISO 4217 currencies: the numeric code used by GS1 AI 393n and the exponent (number of
 * minor-unit digits) of each alphabetic code. Every amount in the gateway and the pages is an
 * integer in minor units; this module is the one place that says how many digits follow the
 * decimal point (EUR 2, JPY 0, KWD 3), so nothing divides by 100.
 *
 * Pure data and pure functions, no imports: the gateway and the browser pages share it.
 */

/** [numeric, alphabetic, exponent] per ISO 4217 (the list's "minor unit" column). */
const TABLE: readonly (readonly [string, string, number])[] = [
  ['036', 'AUD', 2], ['048', 'BHD', 3], ['124', 'CAD', 2], ['156', 'CNY', 2], ['203', 'CZK', 2],
  ['208', 'DKK', 2], ['344', 'HKD', 2], ['348', 'HUF', 2], ['352', 'ISK', 0], ['356', 'INR', 2],
  ['360', 'IDR', 2], ['368', 'IQD', 3], ['376', 'ILS', 2], ['392', 'JPY', 0], ['400', 'JOD', 3],
  ['410', 'KRW', 0], ['414', 'KWD', 3], ['434', 'LYD', 3], ['458', 'MYR', 2], ['484', 'MXN', 2],
  ['512', 'OMR', 3], ['554', 'NZD', 2], ['578', 'NOK', 2], ['608', 'PHP', 2], ['682', 'SAR', 2],
  ['702', 'SGD', 2], ['704', 'VND', 0], ['710', 'ZAR', 2], ['752', 'SEK', 2], ['756', 'CHF', 2],
  ['764', 'THB', 2], ['784', 'AED', 2], ['788', 'TND', 3], ['826', 'GBP', 2], ['840', 'USD', 2],
  ['901', 'TWD', 2], ['941', 'RSD', 2], ['946', 'RON', 2], ['949', 'TRY', 2], ['950', 'XAF', 0],
  ['952', 'XOF', 0], ['975', 'BGN', 2], ['978', 'EUR', 2], ['980', 'UAH', 2], ['985', 'PLN', 2],
  ['986', 'BRL', 2],
];

export interface CurrencyInfo {
  alpha: string;
  numeric: string;
  exponent: number;
}

const BY_ALPHA: ReadonlyMap<string, CurrencyInfo> = new Map(TABLE.map(([numeric, alpha, exponent]) => [alpha, { alpha, numeric, exponent }]));
const BY_NUMERIC: ReadonlyMap<string, CurrencyInfo> = new Map(TABLE.map(([numeric, alpha, exponent]) => [numeric, { alpha, numeric, exponent }]));

/** The currency with this alphabetic code (`EUR`), or undefined when the table does not hold it. */
export function currencyByAlpha(alpha: string): CurrencyInfo | undefined {
  return BY_ALPHA.get(alpha);
}

/** The currency with this three-digit numeric code (`978`), as GS1 AI 393n carries it. */
export function currencyByNumeric(numeric: string): CurrencyInfo | undefined {
  return BY_NUMERIC.get(numeric);
}

/**
 * Minor-unit digits of `alpha`. A code outside the table falls back to what the browser's Intl
 * knows (pages), else 2 — the exponent of most currencies.
 */
export function currencyExponent(alpha: string): number {
  const known = BY_ALPHA.get(alpha);
  if (known) return known.exponent;
  try {
    return new Intl.NumberFormat('en', { style: 'currency', currency: alpha }).resolvedOptions().maximumFractionDigits ?? 2;
  } catch {
    return 2;
  }
}

/** Integer minor units as a decimal string with the currency's digits: (123456, 'KWD') → "123.456", (1500, 'JPY') → "1500". */
export function minorToDecimal(minor: number, alpha: string): string {
  const e = currencyExponent(alpha);
  const neg = minor < 0;
  const digits = String(Math.abs(Math.trunc(minor))).padStart(e + 1, '0');
  const s = e === 0 ? digits : `${digits.slice(0, -e)}.${digits.slice(-e)}`;
  return neg ? `-${s}` : s;
}

/**
 * Integer minor units for display, with Intl and exactly the currency's digits: (1234, 'EUR', 'en')
 * → "€12.34", (1500, 'JPY') → "¥1,500", (12500, 'KWD') → "KWD 12.500". The number reaches Intl as a
 * decimal string, so no float division ever rounds it.
 */
export function formatMinor(minor: number, alpha: string, locale = 'en'): string {
  const e = currencyExponent(alpha);
  const dec = minorToDecimal(minor, alpha);
  try {
    // Intl formats a numeric string exactly (ES2023 "Intl.NumberFormat v3"); older engines take it as a Number.
    return new Intl.NumberFormat(locale, { style: 'currency', currency: alpha, minimumFractionDigits: e, maximumFractionDigits: e }).format(dec as unknown as number);
  } catch {
    return `${dec} ${alpha}`;
  }
}
