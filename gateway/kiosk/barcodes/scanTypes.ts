/**
 * What a scanned code becomes: the result types of the barcode parser, and the small pieces its
 * parts share (the error constructor, the log-safe description of wire data, the store currency).
 */

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

/** Fields every successful scan carries. */
export interface ScanCommon {
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

/** The scanned text without its AIM id, and the id (or null). */
export interface ScanBase {
  data: string;
  symbology: string | null;
}

/** The store's currency as the parsers need it: a price's minor units follow its exponent. */
export interface StoreCurrency {
  currency: string | null;
  currencyExponent: number; // 2 when no currency is configured
}

export const fail = (code: BarcodeErrorCode, reason: string): BarcodeError => ({ ok: false, code, reason });

/** A short, log-safe description of wire data (no control characters, bounded). */
export function describe(data: string): string {
  if (/^[0-9]+$/.test(data)) return `${data.length} digits`;
  return `"${data.slice(0, 24).replace(/[^\x20-\x7e]/g, '?')}${data.length > 24 ? '…' : ''}" (${data.length} characters)`;
}
