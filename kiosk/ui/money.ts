/** Formats integer minor units for display (the page never computes a price, only shows one). */
export function formatMoney(minor: number, currency: string, locale = 'en'): string {
  try {
    return new Intl.NumberFormat(locale === 'zh' ? 'zh-CN' : 'en-GB', { style: 'currency', currency }).format(minor / 100);
  } catch {
    return `${(minor / 100).toFixed(2)} ${currency}`;
  }
}

/** Grams as kilograms with three decimals. */
export function formatKg(grams: number): string {
  return `${(grams / 1000).toFixed(3)} kg`;
}
