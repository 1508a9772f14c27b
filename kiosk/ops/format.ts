/**
 * Formatting for the ops page, pure (no clock: `now` is passed in). Numbers, money and dates go
 * through Intl for the page's locale; money is minor units shown with its currency's
 * ISO 4217 exponent (EUR 2, JPY 0, KWD 3), never divided by 100.
 */
import { formatMinor } from '../../gateway/protocol/currency.js';
import type { OpsStrings } from './strings.js';

export interface Format {
  locale: string;
  money: (minor: number | null, currency: string | null) => string;
  percent: (x: number | null, digits?: number) => string;
  num: (n: number) => string;
  ago: (ms: number | null, now: number) => string;
  clock: (ms: number) => string;
  date: (ms: number) => string;
  ageS: (s: number | null) => string;
}

export function makeFormat(locale: string, t: Pick<OpsStrings, 'never' | 'agoS' | 'agoMin' | 'agoH' | 'agoD' | 'durS' | 'durMin' | 'durH'>): Format {
  const num = (n: number, digits?: number) => new Intl.NumberFormat(locale, digits === undefined ? {} : { minimumFractionDigits: digits, maximumFractionDigits: digits }).format(n);
  return {
    locale,
    money: (minor, currency) => (minor === null ? '–' : currency ? formatMinor(minor, currency, locale) : num(minor)),
    percent: (x, digits = 1) => (x === null ? '–' : new Intl.NumberFormat(locale, { style: 'percent', minimumFractionDigits: digits, maximumFractionDigits: digits }).format(x)),
    num: (n) => num(n),
    ago: (ms, now) => {
      if (ms === null) return t.never;
      const s = Math.max(0, Math.round((now - ms) / 1000));
      if (s < 60) return t.agoS(num(s));
      if (s < 3600) return t.agoMin(num(Math.floor(s / 60)));
      if (s < 86_400) return t.agoH(num(Math.floor(s / 3600)));
      return t.agoD(num(Math.floor(s / 86_400)));
    },
    clock: (ms) => new Date(ms).toLocaleTimeString(locale),
    date: (ms) => new Date(ms).toLocaleDateString(locale),
    ageS: (s) => {
      if (s === null) return '–';
      if (s < 120) return t.durS(num(Math.round(s)));
      if (s < 7200) return t.durMin(num(Math.round(s / 60)));
      return t.durH(num(s / 3600, 1));
    },
  };
}
