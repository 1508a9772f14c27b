/**
 * A scanned code → a typed item identity (AIM ids, GTIN check digit, variable-measure
 * numbers, GS1-128 / DataBar element strings: gateway/kiosk/README.md §Barcodes).
 *
 * Pure: no clock, no logger. `parse()` never throws on wire input: a code it cannot trust comes back
 * as `{ ok: false, code, reason }` whose reason names the field. Options are checked once, when the
 * parser is built, and a bad option throws there, naming the option.
 *
 * Money is an integer in minor units, weight an integer in grams, never a float.
 */
import { currencyByNumeric, currencyByAlpha } from '../protocol/currency.js';

export type BarcodeErrorCode =
  | 'SGW_ERR_BAD_CHECK_DIGIT' // GTIN check digit, or the price/weight check digit of a variable-measure code
  | 'SGW_ERR_UNKNOWN_FORMAT' // not a symbology / length / shape this parser knows
  | 'SGW_ERR_BAD_AI' // a GS1 element string with an unknown AI or a value of the wrong length or characters
  | 'SGW_ERR_BAD_VALUE' // well-formed, but the value cannot be represented exactly (money precision, currency)
  | 'SGW_ERR_WRONG_CURRENCY'; // an amount (393n) in a currency other than the store's: never converted

export interface BarcodeError {
  ok: false;
  code: BarcodeErrorCode;
  reason: string;
  /** SGW_ERR_WRONG_CURRENCY: the code's currency (ISO 4217 alphabetic), for the shopper's notice. */
  currency?: string;
}

export type GtinFormat = 'GTIN-8' | 'GTIN-12' | 'GTIN-13' | 'GTIN-14' | 'UPC-E';
export type MeasureKind = 'price' | 'weight' | 'count';

interface ScanCommon {
  ok: true;
  /** The scanned text without its AIM id and trailing CR/LF. */
  data: string;
  /** AIM symbology id (`]E0`…) when the scanner sent one, else null. */
  symbology: string | null;
}

/** A fixed GTIN. `gtin` keeps GTIN-8 and GTIN-14 as they are and widens UPC-A/UPC-E to GTIN-13. */
export interface GtinScan extends ScanCommon {
  kind: 'gtin';
  format: GtinFormat;
  gtin: string;
  /** The catalog key: the GTIN left-padded with zeros to 14 digits. */
  gtin14: string;
  /** Prefix 02 or 20–29 (GS1 restricted circulation) with no rule for it in the configured region. */
  restrictedCirculation: boolean;
  /** The 2- or 5-digit add-on of `]E3`. */
  addOn?: string;
}

/** An in-store variable-measure code (kiosk/README.md §Variable-measure codes): the item and a price, weight or count. */
export interface VariableMeasureScan extends ScanCommon {
  kind: 'variableMeasure';
  /** The code as scanned, as GTIN-13. */
  gtin: string;
  gtin14: string;
  /** The item's key: value and its check digit zeroed, GTIN check recomputed (biip `without_variable_measure`). */
  lookupGtin: string;
  lookupGtin14: string;
  region: string;
  /** The two-digit GTIN-13 prefix that selected the rule (`20`, `02`…). */
  prefix: string;
  measure: MeasureKind;
  priceMinor?: number;
  currency?: string;
  grams?: number;
  count?: number;
}

export interface Gs1Element {
  ai: string;
  value: string;
}

/** A GS1 element string (GS1-128, DataBar, GS1 DataMatrix/QR/DotCode) with the retail AIs lifted out. */
export interface Gs1Scan extends ScanCommon {
  kind: 'gs1';
  elements: Gs1Element[];
  /** From AI (01). Indicator digit 9 marks a variable-measure trade item. */
  gtin14?: string;
  /** From AI (310n) kg or (320n) lb, rounded half-up to the gram when the code is finer. */
  grams?: number;
  /** From AI (392n) or (393n). */
  priceMinor?: number;
  /** ISO 4217 alphabetic code: from (393n), or the configured currency for (392n). */
  currency?: string;
  /** From AI (30). */
  count?: number;
}

export type ScanResult = GtinScan | VariableMeasureScan | Gs1Scan | BarcodeError;

// ---------------------------------------------------------------------------------------------
// Check digits

/**
 * GTIN check digit of `digits` (the data digits, without the check): weights 3,1,3,1… from the
 * rightmost digit leftwards, check = (10 − Σ mod 10) mod 10 (GS1 General Specifications, GTIN check digit).
 * Returns −1 when `digits` is empty or holds anything but 0–9, so a comparison with a digit fails.
 */
export function gtinCheckDigit(digits: string): number {
  if (!/^[0-9]+$/.test(digits)) return -1;
  let sum = 0;
  let weight = 3;
  for (let i = digits.length - 1; i >= 0; i--) {
    sum += (digits.charCodeAt(i) - 48) * weight;
    weight = 4 - weight;
  }
  return (10 - (sum % 10)) % 10;
}

/** True for 8, 12, 13 or 14 digits whose last digit is the GTIN check digit of the others. */
export function isValidGtin(code: string): boolean {
  if (!/^(?:[0-9]{8}|[0-9]{12,14})$/.test(code)) return false;
  return hasValidCheck(code);
}

/** Any all-digit string (GTIN, SSCC) whose last digit is the mod-10 check of the others. */
function hasValidCheck(code: string): boolean {
  return gtinCheckDigit(code.slice(0, -1)) === code.charCodeAt(code.length - 1) - 48;
}

// GS1 General Specifications price/weight check digit weighting tables: digit → weighted product digit.
const W2_MINUS = [0, 2, 4, 6, 8, 9, 1, 3, 5, 7];
const W3 = [0, 3, 6, 9, 2, 5, 8, 1, 4, 7];
const W5_PLUS = [0, 5, 1, 6, 2, 7, 3, 8, 4, 9];
const W5_MINUS = [0, 5, 9, 4, 8, 3, 7, 2, 6, 1];

/**
 * Check digit of a 4- or 5-digit price/weight field (`2875`→9, `14685`→6).
 * Returns −1 for any other input.
 */
export function priceCheckDigit(value: string): number {
  if (!/^[0-9]{4,5}$/.test(value)) return -1;
  const d = [...value].map((c) => c.charCodeAt(0) - 48);
  if (d.length === 4) {
    // 4 digits: weights [2−, 2−, 3, 5−]; check = (Σ × 3) mod 10.
    return ((W2_MINUS[d[0]] + W2_MINUS[d[1]] + W3[d[2]] + W5_MINUS[d[3]]) * 3) % 10;
  }
  // 5 digits: weights [5+, 2−, 5−, 5+, 2−]; r = (10 − Σ mod 10) mod 10; check = d with 5−(d) = r.
  const sum = W5_PLUS[d[0]] + W2_MINUS[d[1]] + W5_MINUS[d[2]] + W5_PLUS[d[3]] + W2_MINUS[d[4]];
  return W5_MINUS.indexOf((10 - (sum % 10)) % 10);
}

// ---------------------------------------------------------------------------------------------
// Variable-measure regions (kiosk/README.md), as data

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

// ISO 4217 numeric → alphabetic code and minor-unit digits (GS1 AI 393n, the store currency) live in
// gateway/protocol/currency.ts, shared with the pages.
const exponentOf = (alpha: string): number | undefined => currencyByAlpha(alpha)?.exponent;

// ---------------------------------------------------------------------------------------------
// Options

export interface BarcodeOptions {
  /** A key of VARIABLE_MEASURE_REGIONS or a region record. Without one, 02/2x codes are plain GTINs flagged `restrictedCirculation`. */
  region?: string | VariableMeasureRegion;
  /** ISO 4217 alphabetic code for GS1 AI 392n (single currency); defaults to the region's currency. */
  currency?: string;
}

interface CompiledRule extends VariableMeasureRule {
  valueStart: number;
  valueLength: number;
  checkAt: number; // −1 when the pattern has no C
}

interface Compiled {
  region: string | null;
  rules: Map<string, CompiledRule>;
  currency: string | null;
  currencyExponent: number; // 2 when no currency is configured
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

function compileOptions(options: BarcodeOptions): Compiled {
  let region: VariableMeasureRegion | undefined;
  if (typeof options.region === 'string') {
    region = VARIABLE_MEASURE_REGIONS[options.region];
    if (!region) throw new TypeError(`region: must be one of ${Object.keys(VARIABLE_MEASURE_REGIONS).join(', ')} or a region record (got "${options.region}")`);
  } else if (options.region !== undefined) {
    region = options.region;
  }
  const rules = new Map<string, CompiledRule>();
  if (region) {
    assertVariableMeasureRegion(region);
    for (const [prefix, r] of Object.entries(region.prefixes)) {
      const valueStart = r.pattern.indexOf('V');
      rules.set(prefix, { ...r, valueStart, valueLength: 12 - valueStart, checkAt: r.pattern.indexOf('C') });
    }
  }
  const currency = options.currency ?? region?.currency ?? null;
  if (currency !== null && exponentOf(currency) === undefined) throw new TypeError(`currency: "${currency}" is not a known ISO 4217 code`);
  return {
    region: region?.name ?? null,
    rules,
    currency,
    currencyExponent: currency === null ? 2 : (exponentOf(currency) ?? 2),
  };
}

// ---------------------------------------------------------------------------------------------
// Parsing

const GS = '\u001d'; // FNC1 after the first position is transmitted as ASCII GS (GS1 General Specifications)
const GS1_SYMBOLOGIES = new Set([']C1', ']e0', ']d2', ']Q3', ']J1']); // AIM ids of the GS1 data carriers
const AIM_RE = /^\][A-Za-z0-9][0-9A-Za-z]$/;
const MAX_INPUT = 512; // the scanner/scan event schema bound

const fail = (code: BarcodeErrorCode, reason: string): BarcodeError => ({ ok: false, code, reason });

export type BarcodeParser = (code: string, symbology?: string) => ScanResult;

/** Builds a parser for one store's options; throws on bad options, never on a scanned code. */
export function createBarcodeParser(options: BarcodeOptions = {}): BarcodeParser {
  const c = compileOptions(options);
  return (code, symbology) => parseWith(c, code, symbology);
}

/** One-off parse; prefer createBarcodeParser() where options are fixed. */
export function parseBarcode(code: string, options: BarcodeOptions = {}, symbology?: string): ScanResult {
  return createBarcodeParser(options)(code, symbology);
}

function parseWith(c: Compiled, code: unknown, symbologyArg: unknown): ScanResult {
  if (typeof code !== 'string') return fail('SGW_ERR_UNKNOWN_FORMAT', 'code: must be a string');
  let data = code.replace(/[\r\n]+$/, '');
  if (data.length > MAX_INPUT) return fail('SGW_ERR_UNKNOWN_FORMAT', `code: longer than ${MAX_INPUT} characters`);
  let symbology: string | null = null;
  if (data.startsWith(']')) {
    // An AIM id inside the data wins over one passed alongside: it is what the scanner decoded.
    symbology = data.slice(0, 3);
    data = data.slice(3);
    if (!AIM_RE.test(symbology)) return fail('SGW_ERR_UNKNOWN_FORMAT', `symbology: "${symbology}" is not an AIM identifier (]Xm)`);
  } else if (symbologyArg !== undefined && symbologyArg !== null && symbologyArg !== '') {
    if (typeof symbologyArg !== 'string' || !AIM_RE.test(symbologyArg)) {
      return fail('SGW_ERR_UNKNOWN_FORMAT', `symbology: "${String(symbologyArg)}" is not an AIM identifier (]Xm)`);
    }
    symbology = symbologyArg;
  }
  if (data === '') return fail('SGW_ERR_UNKNOWN_FORMAT', 'code: is empty');
  const base = { data, symbology };

  if (symbology !== null) {
    if (GS1_SYMBOLOGIES.has(symbology)) return parseGs1(c, base, data, false);
    switch (symbology) {
      case ']E0':
        if (/^[0-9]{8}$/.test(data)) return parseUpcE(base, data);
        if (/^[0-9]{12,13}$/.test(data)) return parseGtin(c, base, data);
        return fail('SGW_ERR_UNKNOWN_FORMAT', `code: ]E0 (EAN-13/UPC-A/UPC-E) carries 8, 12 or 13 digits (got ${describe(data)})`);
      case ']E3': {
        // EAN/UPC with an add-on: 13 digits then 2 or 5.
        if (!/^[0-9]{15}$|^[0-9]{18}$/.test(data)) return fail('SGW_ERR_UNKNOWN_FORMAT', `code: ]E3 carries 13 digits and a 2- or 5-digit add-on (got ${describe(data)})`);
        const main = parseGtin(c, base, data.slice(0, 13));
        return main.ok && main.kind === 'gtin' ? { ...main, data, addOn: data.slice(13) } : main;
      }
      case ']E4':
        if (/^[0-9]{8}$/.test(data)) return parseGtin(c, base, data);
        return fail('SGW_ERR_UNKNOWN_FORMAT', `code: ]E4 (EAN-8) carries 8 digits (got ${describe(data)})`);
      case ']I1':
        if (/^[0-9]{14}$/.test(data)) return parseGtin(c, base, data);
        return fail('SGW_ERR_UNKNOWN_FORMAT', `code: ]I1 is read as ITF-14 and carries 14 digits (got ${describe(data)})`);
      case ']E1':
      case ']E2':
        return fail('SGW_ERR_UNKNOWN_FORMAT', `symbology: ${symbology} is an add-on alone, which names no item`);
      default:
        return fail('SGW_ERR_UNKNOWN_FORMAT', `symbology: ${symbology} carries no GTIN or GS1 data`);
    }
  }

  // No AIM id: tell the forms apart by shape.
  if (data.startsWith('(')) return parseGs1(c, base, data, true);
  if (/^[0-9]{8}$|^[0-9]{12,14}$/.test(data)) return parseGtin(c, base, data);
  if (/^[0-9\u001d]/.test(data) && (data.includes(GS) || /^[0-9]+$/.test(data)) && startsWithKnownAi(data.replace(/^\u001d+/, ''))) {
    return parseGs1(c, base, data, false);
  }
  return fail('SGW_ERR_UNKNOWN_FORMAT', `code: ${describe(data)} is not a GTIN, a variable-measure code or a GS1 element string`);
}

/** A short, log-safe description of wire data (no control characters, bounded). */
function describe(data: string): string {
  if (/^[0-9]+$/.test(data)) return `${data.length} digits`;
  return `"${data.slice(0, 24).replace(/[^\x20-\x7e]/g, '?')}${data.length > 24 ? '…' : ''}" (${data.length} characters)`;
}

function parseUpcE(base: { data: string; symbology: string | null }, upcE: string): ScanResult {
  const ns = upcE[0];
  if (ns !== '0' && ns !== '1') return fail('SGW_ERR_UNKNOWN_FORMAT', `code: UPC-E number system must be 0 or 1 (got ${ns})`);
  const d = upcE.slice(1, 7);
  const last = d[5];
  // UPC-E zero suppression: the last of the six digits says where the zeros were taken out.
  let body: string;
  if (last <= '2') body = d.slice(0, 2) + last + '0000' + d.slice(2, 5);
  else if (last === '3') body = d.slice(0, 3) + '00000' + d.slice(3, 5);
  else if (last === '4') body = d.slice(0, 4) + '00000' + d[4];
  else body = d.slice(0, 5) + '0000' + last;
  const upcA = ns + body + upcE[7];
  if (!hasValidCheck(upcA)) {
    return fail('SGW_ERR_BAD_CHECK_DIGIT', `code: UPC-E check digit ${upcE[7]} is wrong, expected ${gtinCheckDigit(upcA.slice(0, -1))}`);
  }
  const gtin = '0' + upcA;
  return { ok: true, kind: 'gtin', ...base, format: 'UPC-E', gtin, gtin14: '0' + gtin, restrictedCirculation: false };
}

function parseGtin(c: Compiled, base: { data: string; symbology: string | null }, digits: string): ScanResult {
  if (!hasValidCheck(digits)) {
    return fail('SGW_ERR_BAD_CHECK_DIGIT', `code: GTIN check digit ${digits[digits.length - 1]} is wrong, expected ${gtinCheckDigit(digits.slice(0, -1))}`);
  }
  const format: GtinFormat = digits.length === 8 ? 'GTIN-8' : digits.length === 12 ? 'GTIN-12' : digits.length === 13 ? 'GTIN-13' : 'GTIN-14';
  // UPC-A is GTIN-13 with a leading 0 (scanners send it so), so both scans of one item give one key.
  const gtin = digits.length === 12 ? '0' + digits : digits;
  const gtin14 = gtin.padStart(14, '0');
  if (gtin.length !== 13) return { ok: true, kind: 'gtin', ...base, format, gtin, gtin14, restrictedCirculation: false };
  const prefix = gtin.slice(0, 2);
  const restricted = prefix === '02' || prefix[0] === '2';
  const r = restricted ? c.rules.get(prefix) : undefined;
  if (!r) return { ok: true, kind: 'gtin', ...base, format, gtin, gtin14, restrictedCirculation: restricted };
  return variableMeasure(c, base, gtin, prefix, r);
}

function variableMeasure(c: Compiled, base: { data: string; symbology: string | null }, gtin: string, prefix: string, r: CompiledRule): ScanResult {
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

// ---------------------------------------------------------------------------------------------
// GS1 element strings (GS1 General Specifications, application identifiers)

interface AiSpec {
  title: string;
  /** Value length when fixed (the table of predefined lengths); else min..max. */
  fixed?: number;
  min?: number;
  max?: number;
  numeric: boolean;
  /** The value is a GTIN/SSCC ending in a mod-10 check digit. */
  check?: boolean;
  date?: boolean;
}

// The AIs a store checkout meets; any other AI is refused, because its length is unknown and the
// rest of the string could not be split safely.
const AI2: Readonly<Record<string, AiSpec>> = {
  '00': { title: 'SSCC', fixed: 18, numeric: true, check: true },
  '01': { title: 'GTIN', fixed: 14, numeric: true, check: true },
  '02': { title: 'CONTENT', fixed: 14, numeric: true, check: true },
  '10': { title: 'BATCH/LOT', min: 1, max: 20, numeric: false },
  '11': { title: 'PROD DATE', fixed: 6, numeric: true, date: true },
  '13': { title: 'PACK DATE', fixed: 6, numeric: true, date: true },
  '15': { title: 'BEST BEFORE', fixed: 6, numeric: true, date: true },
  '16': { title: 'SELL BY', fixed: 6, numeric: true, date: true },
  '17': { title: 'USE BY', fixed: 6, numeric: true, date: true },
  '21': { title: 'SERIAL', min: 1, max: 20, numeric: false },
  '30': { title: 'VAR. COUNT', min: 1, max: 8, numeric: true },
  '37': { title: 'COUNT', min: 1, max: 8, numeric: true },
};
// Four-digit AIs `xxxn`, n = implied decimals.
const AI3: Readonly<Record<string, AiSpec & { maxN: number }>> = {
  '310': { title: 'NET WEIGHT (kg)', fixed: 6, numeric: true, maxN: 5 },
  '320': { title: 'NET WEIGHT (lb)', fixed: 6, numeric: true, maxN: 5 },
  '390': { title: 'AMOUNT', min: 1, max: 15, numeric: true, maxN: 9 },
  '391': { title: 'AMOUNT + ISO', min: 4, max: 18, numeric: true, maxN: 9 },
  '392': { title: 'PRICE', min: 1, max: 15, numeric: true, maxN: 9 },
  '393': { title: 'PRICE + ISO', min: 4, max: 18, numeric: true, maxN: 9 },
};
// GS1 character set 82, the characters an alphanumeric AI value may hold.
const CSET82 = /^[!"%&'()*+,\-./0-9:;<=>?A-Z_a-z]*$/;

function aiAt(s: string, i: number): { ai: string; spec: AiSpec } | null {
  const two = s.slice(i, i + 2);
  const s2 = AI2[two];
  if (s2) return { ai: two, spec: s2 };
  const four = s.slice(i, i + 4);
  const s3 = AI3[four.slice(0, 3)];
  if (s3 && /^[0-9]{4}$/.test(four) && Number(four[3]) <= s3.maxN) return { ai: four, spec: s3 };
  return null;
}

function startsWithKnownAi(s: string): boolean {
  return aiAt(s, 0) !== null;
}

function checkElement(ai: string, spec: AiSpec, value: string): BarcodeError | null {
  const field = `ai(${ai})`;
  if (spec.fixed !== undefined && value.length !== spec.fixed) {
    return fail('SGW_ERR_BAD_AI', `${field}: ${spec.title} needs ${spec.fixed} characters (got ${value.length})`);
  }
  if (spec.fixed === undefined && (value.length < (spec.min ?? 1) || value.length > (spec.max ?? 0))) {
    return fail('SGW_ERR_BAD_AI', `${field}: ${spec.title} needs ${spec.min}–${spec.max} characters (got ${value.length})`);
  }
  if (spec.numeric ? !/^[0-9]+$/.test(value) : !CSET82.test(value)) {
    return fail('SGW_ERR_BAD_AI', `${field}: ${spec.title} must be ${spec.numeric ? 'digits' : 'GS1 character set 82'}`);
  }
  if (spec.check && !hasValidCheck(value)) {
    return fail('SGW_ERR_BAD_CHECK_DIGIT', `${field}: ${spec.title} check digit ${value[value.length - 1]} is wrong, expected ${gtinCheckDigit(value.slice(0, -1))}`);
  }
  if (spec.date) {
    const mm = Number(value.slice(2, 4));
    const dd = Number(value.slice(4, 6));
    // DD 00 means "end of month" in GS1 dates.
    if (mm < 1 || mm > 12 || dd > 31) return fail('SGW_ERR_BAD_AI', `${field}: ${spec.title} must be YYMMDD`);
  }
  return null;
}

/** Splits `(01)…(3103)…` (human-readable) or the raw form with GS separators into elements. */
function splitElements(data: string, hri: boolean): { ok: true; elements: Gs1Element[] } | BarcodeError {
  const elements: Gs1Element[] = [];
  const seen = new Map<string, string>();
  const push = (ai: string, spec: AiSpec, value: string): BarcodeError | null => {
    const bad = checkElement(ai, spec, value);
    if (bad) return bad;
    // An AI twice with different values is a contradiction the shopper must not pay for.
    const before = seen.get(ai);
    if (before !== undefined && before !== value) return fail('SGW_ERR_BAD_AI', `ai(${ai}): appears twice with different values`);
    if (before === undefined) elements.push({ ai, value });
    seen.set(ai, value);
    return null;
  };
  if (hri) {
    const re = /\(([0-9]{2,4})\)([^(]*)/y;
    let i = 0;
    while (i < data.length) {
      re.lastIndex = i;
      const m = re.exec(data);
      if (!m) return fail('SGW_ERR_BAD_AI', `code[${i}]: expected "(AI)value"`);
      const hit = aiAt(m[1], 0);
      if (!hit || hit.ai !== m[1]) return fail('SGW_ERR_BAD_AI', `ai(${m[1]}): not an AI this gateway reads`);
      const bad = push(hit.ai, hit.spec, m[2]);
      if (bad) return bad;
      i = re.lastIndex;
    }
  } else {
    let i = 0;
    while (i < data.length) {
      if (data[i] === GS) {
        i++; // FNC1 separator; a leading one is the FNC1 of the first position
        continue;
      }
      const hit = aiAt(data, i);
      if (!hit) return fail('SGW_ERR_BAD_AI', `code[${i}]: no AI this gateway reads starts at ${describe(data.slice(i, i + 4))}`);
      i += hit.ai.length;
      let end: number;
      if (hit.spec.fixed !== undefined) {
        end = Math.min(i + hit.spec.fixed, data.length);
      } else {
        end = data.indexOf(GS, i);
        if (end < 0) end = data.length;
      }
      const bad = push(hit.ai, hit.spec, data.slice(i, end));
      if (bad) return bad;
      i = end;
    }
  }
  if (elements.length === 0) return fail('SGW_ERR_BAD_AI', 'code: element string holds no AI');
  return { ok: true, elements };
}

/** value × 10^(exp − decimals), exact, or null when that needs a fraction or leaves the safe range. */
function toMinor(value: string, decimals: number, exponent: number): number | null {
  let v = BigInt(value);
  if (decimals <= exponent) v *= 10n ** BigInt(exponent - decimals);
  else {
    const div = 10n ** BigInt(decimals - exponent);
    if (v % div !== 0n) return null;
    v /= div;
  }
  return v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : null;
}

/** num/den rounded half-up, in integers. */
function roundDiv(num: bigint, den: bigint): number {
  return Number((2n * num + den) / (2n * den));
}

function parseGs1(c: Compiled, base: { data: string; symbology: string | null }, data: string, hri: boolean): ScanResult {
  const split = splitElements(data, hri);
  if (!split.ok) return split;
  const out: Gs1Scan = { ok: true, kind: 'gs1', ...base, elements: split.elements };
  for (const { ai, value } of split.elements) {
    const head = ai.slice(0, 3);
    const n = Number(ai[3]);
    if (ai === '01') out.gtin14 = value;
    else if (ai === '30') out.count = Number(value);
    else if ((head === '310' || head === '320') && out.grams === undefined) {
      const v = BigInt(value);
      out.grams =
        head === '310'
          ? roundDiv(v * 1000n, 10n ** BigInt(n)) // kg with n decimals
          : roundDiv(v * 45359237n, 10n ** BigInt(n + 5)); // lb: 1 lb = 0.45359237 kg exactly
    } else if ((head === '392' || head === '393') && out.priceMinor === undefined) {
      let amount = value;
      let exponent = c.currencyExponent;
      let currency = c.currency ?? undefined;
      if (head === '393') {
        const cur = currencyByNumeric(value.slice(0, 3));
        if (!cur) return fail('SGW_ERR_BAD_VALUE', `ai(${ai}).currency: ISO 4217 numeric ${value.slice(0, 3)} is not a currency this gateway knows`);
        // The store sells in one currency: an amount in another is refused, never read as the
        // store's (393n with USD 2.99 at a EUR store was charged €2.99).
        if (c.currency !== null && cur.alpha !== c.currency) return { ...fail('SGW_ERR_WRONG_CURRENCY', `ai(${ai}).currency: ${cur.alpha} (${cur.numeric}) is not the store currency ${c.currency}`), currency: cur.alpha };
        amount = value.slice(3);
        exponent = cur.exponent;
        currency = cur.alpha;
      }
      const minor = toMinor(amount, n, exponent);
      if (minor === null) return fail('SGW_ERR_BAD_VALUE', `ai(${ai}): ${amount} with ${n} decimals is not a whole number of minor units`);
      out.priceMinor = minor;
      if (currency !== undefined) out.currency = currency;
    }
  }
  return out;
}
