/**
 * A label's content as an OpenEPaperLink JSON template: the AP draws it itself (text, boxes,
 * lines on its own fonts), so the bridge sends a few hundred bytes of JSON per label instead of
 * rendering a JPEG. Pure: the layout is data (a JSON template with `{placeholders}` inside its
 * strings), the values come from the gateway's `cmd/show` label; nothing here computes a price,
 * it only formats the minor units the gateway sent.
 */
import type { EslShowCmd } from '../../../gateway/protocol/schemas/esl.js';

/** One label of a `cmd/show` command (the gateway's schema). */
export type ShowLabel = EslShowCmd['labels'][number];

/**
 * The built-in layout, for the 2.9" tags (296 × 128, black/white/red; hwType 0x01 and its kin).
 * Positions follow the AP's drawing vocabulary: `text` = [x, y, text, font, color, align];
 * `line` = [x1, y1, x2, y2, color]. Colours: 1 black, 2 red. Align: 0 left, 2 right.
 */
export const DEFAULT_LAYOUT: readonly unknown[] = Object.freeze([
  { text: [4, 4, '{name}', 'fonts/bahnschrift20', 1, 0] },
  { line: [0, 30, 295, 30, 1] },
  { text: [292, 44, '{price}', 'fonts/bahnschrift70', '{priceColor}', 2] },
  { text: [292, 108, '{unit}', 'fonts/bahnschrift20', 1, 2] },
  { text: [4, 86, '{promoText}', 'fonts/bahnschrift20', 2, 0] },
  { text: [4, 108, '{regular}', 'fonts/bahnschrift20', 1, 0] },
  { text: [4, 124, '{gtin}', 'fonts/calibrib16', 1, 0] },
]);

const formats = new Map<string, Intl.NumberFormat>();

/** Minor units as the store's locale writes a price ("1,99 €"); the currency's own decimals. */
export function formatPrice(minor: number, currency: string, locale: string): string {
  const key = `${locale}/${currency}`;
  let f = formats.get(key);
  if (!f) {
    try {
      f = new Intl.NumberFormat(locale, { style: 'currency', currency });
    } catch {
      f = new Intl.NumberFormat('en', { style: 'currency', currency: 'EUR' });
    }
    formats.set(key, f);
  }
  const digits = f.resolvedOptions().maximumFractionDigits ?? 2;
  return f.format(minor / 10 ** digits);
}

/** The placeholder values of one label. */
export function placeholders(l: ShowLabel, locale: string): Record<string, string> {
  const promo = l.promo;
  const v: Record<string, string> = {
    name: l.name,
    gtin: l.gtin,
    price: formatPrice(promo ? promo.price : l.price, l.currency, locale),
    regular: promo ? formatPrice(l.price, l.currency, locale) : '',
    promoText: promo ? (promo.text ?? '') : '',
    priceColor: promo ? '2' : '1',
    unit: l.unit === 'kg' ? '/ kg' : '',
  };
  for (const [k, s] of Object.entries(l.fields ?? {})) if (!(k in v)) v[k] = s;
  return v;
}

const PLACEHOLDER = /\{([A-Za-z0-9_]{1,32})\}/g;

/**
 * Fills a layout: every string in it has its `{key}`s replaced; a string that is exactly one
 * placeholder for a number-like value (`'{priceColor}'`) becomes that number. The result is built
 * as data and serialised once, so no value can change the JSON's structure.
 */
export function fillLayout(layout: readonly unknown[], values: Record<string, string>): unknown[] {
  const fill = (v: unknown): unknown => {
    if (typeof v === 'string') {
      const whole = /^\{([A-Za-z0-9_]{1,32})\}$/.exec(v);
      if (whole && whole[1]! in values && /^-?[0-9]+$/.test(values[whole[1]!]!)) return Number(values[whole[1]!]);
      return v.replace(PLACEHOLDER, (m, k: string) => (k in values ? values[k]! : m));
    }
    if (Array.isArray(v)) return v.map(fill);
    if (typeof v === 'object' && v !== null) return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, fill(x)]));
    return v;
  };
  return layout.map(fill);
}

export interface LayoutChoice {
  /** Named layouts (a label's `template` picks one). */
  layouts?: Readonly<Record<string, readonly unknown[]>>;
  /** Layout name per tag hardware type (decimal `hwType` as a string), for labels without `template`. */
  layoutByHwType?: Readonly<Record<string, string>>;
}

/** The layout for a label: its `template`, else its hardware type's, else the built-in one. */
export function chooseLayout(c: LayoutChoice, template: string | undefined, hwType: number | undefined): readonly unknown[] {
  const named = template !== undefined ? c.layouts?.[template] : undefined;
  if (named) return named;
  const byHw = hwType !== undefined ? c.layoutByHwType?.[String(hwType)] : undefined;
  if (byHw && c.layouts?.[byHw]) return c.layouts[byHw];
  return c.layouts?.default ?? DEFAULT_LAYOUT;
}

/** The `json` form field of `/jsonupload` for one label. */
export function templateJson(l: ShowLabel, layout: readonly unknown[], locale: string): string {
  return JSON.stringify(fillLayout(layout, placeholders(l, locale)));
}
