/**
 * In-store variable-measure codes (GS1 restricted circulation numbers, prefix 02 and 20–29): the
 * regions' layouts as data, their check at construction, and the decoding of one code into an item
 * key and a price, weight or count (gateway/kiosk/README.md §Variable-measure codes).
 */
import { currencyByAlpha } from '../../protocol/currency.js';
import { gtinCheckDigit, priceCheckDigit } from './checkDigits.js';
import { fail, type MeasureKind, type ScanBase, type ScanResult, type StoreCurrency, type VariableMeasureScan } from './scanTypes.js';

/**
 * One prefix's layout over the first 12 digits of the GTIN-13: `P` item digits, `C` the value's
 * check digit (only right before the value, only for 4 or 5 value digits), `V` the value (last).
 */
export interface VariableMeasureRule {
  pattern: string;
  measure: MeasureKind;
  /** Decimals of the value: of the currency unit for a price, of kilograms for a weight, 0 for a count. */
  decimals: number;
}

export interface VariableMeasureRegion {
  name: string;
  /** ISO 4217 alphabetic code of the prices (also used for GS1 AI 392n). */
  currency: string;
  /** Keyed by the two-digit GTIN-13 prefix: `20`…`29`, or `02` (a UPC-A starting with 2). */
  prefixes: Readonly<Record<string, VariableMeasureRule>>;
}

const rule = (pattern: string, measure: MeasureKind, decimals: number): VariableMeasureRule => ({ pattern, measure, decimals });
const nordic = (name: string, currency: string, withPrices: boolean): VariableMeasureRegion => ({
  name,
  currency,
  prefixes: {
    ...(withPrices
      ? { '20': rule('PPPPPPPPVVVV', 'price', 2), '21': rule('PPPPPPPPVVVV', 'price', 1), '22': rule('PPPPPPPPVVVV', 'price', 0) }
      : {}),
    '23': rule('PPPPPPPPVVVV', 'weight', 3),
    '24': rule('PPPPPPPPVVVV', 'weight', 2),
    '25': rule('PPPPPPPPVVVV', 'weight', 1),
  },
});

/**
 * The regions in kiosk/README.md. DK prefix 27 is left out: its weight's decimals are not stated.
 * `US` is UPC-A `2 IIIII C PPPP` (price check digit, as in the worked example); `US-5` is
 * `2 IIIII PPPPP` without it — which one applies is set by the retailer.
 */
export const VARIABLE_MEASURE_REGIONS: Readonly<Record<string, VariableMeasureRegion>> = Object.freeze({
  GB: { name: 'GB', currency: 'GBP', prefixes: { '20': rule('PPPPPPPCVVVV', 'price', 2) } },
  DE: {
    name: 'DE',
    currency: 'EUR',
    prefixes: {
      '22': rule('PPPPPPCVVVVV', 'price', 2),
      '23': rule('PPPPPPCVVVVV', 'price', 2),
      '25': rule('PPPPPPCVVVVV', 'count', 0),
      '26': rule('PPPPPPCVVVVV', 'count', 0),
      '28': rule('PPPPPPCVVVVV', 'weight', 3),
      '29': rule('PPPPPPCVVVVV', 'weight', 3),
    },
  },
  DK: {
    name: 'DK',
    currency: 'DKK',
    prefixes: {
      '21': rule('PPPPPPVVVVVV', 'price', 2),
      '22': rule('PPPPPPVVVVVV', 'price', 2),
      '23': rule('PPPPPPVVVVVV', 'price', 2),
      '24': rule('PPPPPPVVVVVV', 'price', 2),
      '26': rule('PPPPPPVVVVVV', 'weight', 3),
      '28': rule('PPPPPPVVVVVV', 'weight', 3),
    },
  },
  SE: nordic('SE', 'SEK', true),
  NO: nordic('NO', 'NOK', true),
  FI: nordic('FI', 'EUR', false),
  EE: nordic('EE', 'EUR', false),
  LV: nordic('LV', 'EUR', false),
  LT: nordic('LT', 'EUR', false),
  US: { name: 'US', currency: 'USD', prefixes: { '02': rule('PPPPPPPCVVVV', 'price', 2) } },
  'US-5': { name: 'US-5', currency: 'USD', prefixes: { '02': rule('PPPPPPPVVVVV', 'price', 2) } },
});

// ISO 4217 alphabetic code → minor-unit digits (gateway/protocol/currency.ts, shared with the pages).
export const exponentOf = (alpha: string): number | undefined => currencyByAlpha(alpha)?.exponent;

/** A region's rule with the positions of its value and check digit worked out once. */
export interface CompiledRule extends VariableMeasureRule {
  valueStart: number;
  valueLength: number;
  checkAt: number; // −1 when the pattern has no C
}

/** Checks a region record; throws with the option path named (construction time only). */
export function assertVariableMeasureRegion(region: VariableMeasureRegion, path = 'region'): void {
  if (typeof region !== 'object' || region === null) throw new TypeError(`${path}: must be a region name or a region record`);
  if (typeof region.name !== 'string' || region.name === '') throw new TypeError(`${path}.name: must be a non-empty string`);
  if (exponentOf(region.currency) === undefined) throw new TypeError(`${path}.currency: "${String(region.currency)}" is not a known ISO 4217 code`);
  for (const [prefix, r] of Object.entries(region.prefixes ?? {})) {
    const p = `${path}.prefixes.${prefix}`;
    if (!/^(?:02|2[0-9])$/.test(prefix)) throw new TypeError(`${p}: prefix must be 02 or 20–29`);
    const m = /^(P+)(C?)(V+)$/.exec(r.pattern);
    if (r.pattern.length !== 12 || !m) throw new TypeError(`${p}.pattern: must be 12 characters P…[C]V… (got "${r.pattern}")`);
    if (m[1].length < 2) throw new TypeError(`${p}.pattern: the prefix digits must be item digits (P)`);
    if (m[2] === 'C' && m[3].length !== 4 && m[3].length !== 5) throw new TypeError(`${p}.pattern: a check digit (C) needs 4 or 5 value digits`);
    if (!['price', 'weight', 'count'].includes(r.measure)) throw new TypeError(`${p}.measure: must be price, weight or count`);
    const maxDecimals = r.measure === 'weight' ? 3 : r.measure === 'price' ? (exponentOf(region.currency) ?? 2) : 0;
    if (!Number.isInteger(r.decimals) || r.decimals < 0 || r.decimals > maxDecimals) {
      throw new TypeError(`${p}.decimals: must be an integer 0–${maxDecimals} for a ${r.measure}`);
    }
  }
}

/** The rules a parser works with: the region's name and its compiled rules by prefix. */
export interface VariableMeasureRules extends StoreCurrency {
  region: string | null;
  rules: Map<string, CompiledRule>;
}

/** Decodes a GTIN-13 whose prefix has a rule: the check digit of its value, its item key, the value. */
export function variableMeasure(c: VariableMeasureRules, base: ScanBase, gtin: string, prefix: string, r: CompiledRule): ScanResult {
  const value = gtin.slice(r.valueStart, 12);
  if (r.checkAt >= 0) {
    const expected = priceCheckDigit(value);
    if (gtin.charCodeAt(r.checkAt) - 48 !== expected) {
      return fail('SGW_ERR_BAD_CHECK_DIGIT', `code: ${r.measure} check digit ${gtin[r.checkAt]} (position ${r.checkAt + 1}) is wrong for ${value}, expected ${expected}`);
    }
  }
  const zeroFrom = r.checkAt >= 0 ? r.checkAt : r.valueStart;
  const key12 = gtin.slice(0, zeroFrom) + '0'.repeat(12 - zeroFrom);
  const lookupGtin = key12 + String(gtinCheckDigit(key12));
  const n = Number(value);
  const out: VariableMeasureScan = {
    ok: true,
    kind: 'variableMeasure',
    ...base,
    gtin,
    gtin14: '0' + gtin,
    lookupGtin,
    lookupGtin14: '0' + lookupGtin,
    region: c.region ?? '',
    prefix,
    measure: r.measure,
  };
  if (r.measure === 'price') {
    out.priceMinor = n * 10 ** (c.currencyExponent - r.decimals);
    if (c.currency !== null) out.currency = c.currency;
  } else if (r.measure === 'weight') out.grams = n * 10 ** (3 - r.decimals);
  else out.count = n;
  return out;
}
