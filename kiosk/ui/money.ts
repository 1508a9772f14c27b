/**
 * Formatting for the pages (the page never computes a price, only shows one). Money comes as
 * integer minor units and is shown with its currency's ISO 4217 exponent (JPY has no
 * decimals, KWD three), through Intl for the page's language.
 */
import { formatMinor } from '../../gateway/protocol/currency.js';

/** The BCP 47 locale of a page language. */
export function localeOf(lang: string): string {
  return lang === 'zh' ? 'zh-CN' : 'en-GB';
}

/** Integer minor units of `currency` for display in `lang`. */
export function formatMoney(minor: number, currency: string, lang = 'en'): string {
  return formatMinor(minor, currency, localeOf(lang));
}

/** Grams as kilograms with three decimals. */
export function formatKg(grams: number, lang = 'en'): string {
  return `${new Intl.NumberFormat(localeOf(lang), { minimumFractionDigits: 3, maximumFractionDigits: 3 }).format(grams / 1000)} kg`;
}

/** A VAT rate in basis points (700 = 7 %) as "7 %", the number through Intl for `lang`. */
export function formatRateBp(rateBp: number, lang = 'en'): string {
  return `${new Intl.NumberFormat(localeOf(lang), { maximumFractionDigits: 2 }).format(rateBp / 100)} %`;
}
