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
import { describe, fail, type GtinFormat, type ScanBase, type ScanResult } from './barcodes/scanTypes.js';
import { gtinCheckDigit, hasValidCheck } from './barcodes/checkDigits.js';
import {
  VARIABLE_MEASURE_REGIONS,
  assertVariableMeasureRegion,
  exponentOf,
  variableMeasure,
  type CompiledRule,
  type VariableMeasureRegion,
  type VariableMeasureRules,
} from './barcodes/variableMeasure.js';
import { GS, parseGs1, startsWithKnownAi } from './barcodes/gs1.js';

// The public API stays here, so importers do not change: the parts live in ./barcodes/.
export type { BarcodeErrorCode, BarcodeError, GtinFormat, MeasureKind, GtinScan, VariableMeasureScan, Gs1Element, Gs1Scan, ScanResult } from './barcodes/scanTypes.js';
export { gtinCheckDigit, isValidGtin, priceCheckDigit } from './barcodes/checkDigits.js';
export { VARIABLE_MEASURE_REGIONS, assertVariableMeasureRegion, type VariableMeasureRule, type VariableMeasureRegion } from './barcodes/variableMeasure.js';

// ---------------------------------------------------------------------------------------------
// Options

export interface BarcodeOptions {
  /** A key of VARIABLE_MEASURE_REGIONS or a region record. Without one, 02/2x codes are plain GTINs flagged `restrictedCirculation`. */
  region?: string | VariableMeasureRegion;
  /** ISO 4217 alphabetic code for GS1 AI 392n (single currency); defaults to the region's currency. */
  currency?: string;
}

type Compiled = VariableMeasureRules;

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

const GS1_SYMBOLOGIES = new Set([']C1', ']e0', ']d2', ']Q3', ']J1']); // AIM ids of the GS1 data carriers
const AIM_RE = /^\][A-Za-z0-9][0-9A-Za-z]$/;
const MAX_INPUT = 512; // the scanner/scan event schema bound

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

function parseUpcE(base: ScanBase, upcE: string): ScanResult {
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

function parseGtin(c: Compiled, base: ScanBase, digits: string): ScanResult {
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
