/**
 * The receipt's VAT lines, pure. Retail prices include VAT, so each rate's tax is taken out of the
 * gross sum of its lines: tax = gross × r / (1 + r), rounded half-up to the minor unit once per
 * rate (not per line: per-line rounding drifts by a cent per line on a long receipt).
 * Lines whose item carries no rate are summed under `rateBp: null` (the catalog must say; the
 * receipt does not guess); a catalog with no rates at all gives no VAT lines. Integer minor units
 * and basis points throughout, never floats of money.
 */
export interface VatLine {
  /** Basis points (1900 = 19 %); null: the catalog gave no rate for these lines. */
  rateBp: number | null;
  gross: number;
  net: number;
  vat: number;
}

export function vatBreakdown(lines: readonly { price: number; vatRateBp?: number }[]): VatLine[] {
  const gross = new Map<number | null, number>();
  for (const l of lines) gross.set(l.vatRateBp ?? null, (gross.get(l.vatRateBp ?? null) ?? 0) + l.price);
  const out: VatLine[] = [];
  if (gross.size === 1 && gross.has(null)) return out;
  for (const [rateBp, g] of gross) {
    // Half-up in integers: floor((2·g·r + (10000 + r)) / (2·(10000 + r))).
    const vat = rateBp === null || rateBp === 0 ? 0 : Math.floor((2 * g * rateBp + (10_000 + rateBp)) / (2 * (10_000 + rateBp)));
    out.push({ rateBp, gross: g, net: g - vat, vat });
  }
  // Highest rate first, the unknown rate last (as receipts list them).
  return out.sort((a, b) => (a.rateBp === null ? 1 : b.rateBp === null ? -1 : b.rateBp - a.rateBp));
}
