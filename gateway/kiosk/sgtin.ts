/**
 * EPC SGTIN-96 ↔ GTIN-14 + serial (GS1 EPC Tag Data Standard; kiosk/README.md). Pure; never throws on wire input.
 *
 * Bit layout, most significant first: header 8 (0x30) · filter 3 · partition 3 · company prefix and
 * item reference 44 together, split by the partition table · serial 38.
 */
import { gtinCheckDigit } from './barcodes.js';

export type SgtinErrorCode =
  | 'SGW_ERR_BAD_EPC' // not 24 hex digits, or a field out of its range
  | 'SGW_ERR_NOT_SGTIN96' // a valid EPC of another scheme (header is not 0x30)
  | 'SGW_ERR_BAD_PARTITION'; // partition 7 is reserved

export interface SgtinError {
  ok: false;
  code: SgtinErrorCode;
  reason: string;
}

export interface Sgtin96 {
  ok: true;
  /** Upper-case, 24 hex digits. */
  hex: string;
  header: number;
  filter: number;
  partition: number;
  /** With its leading zeros, 12 − partition digits. */
  companyPrefix: string;
  /** Indicator digit first, 13 − company prefix length digits. */
  itemReference: string;
  /** 0 … 2^38 − 1 (fits a JS number exactly). */
  serial: number;
  gtin14: string;
  /** EPC pure identity URI, e.g. `urn:epc:id:sgtin:0614141.812345.6789`. */
  pureIdentityUri: string;
  /** EPC tag URI (adds the filter and the encoding), e.g. `urn:epc:tag:sgtin-96:3.0614141.812345.6789`. */
  tagUri: string;
}

export type SgtinResult = Sgtin96 | SgtinError;

export const SGTIN96_HEADER = 0x30;
export const SGTIN96_MAX_SERIAL = 2 ** 38 - 1; // 274 877 906 943

// Partition P → company prefix bits/digits; the item reference takes the rest of 44 bits / 13 digits.
const PARTITIONS: ReadonlyArray<{ companyBits: number; companyDigits: number }> = [
  { companyBits: 40, companyDigits: 12 },
  { companyBits: 37, companyDigits: 11 },
  { companyBits: 34, companyDigits: 10 },
  { companyBits: 30, companyDigits: 9 },
  { companyBits: 27, companyDigits: 8 },
  { companyBits: 24, companyDigits: 7 },
  { companyBits: 20, companyDigits: 6 },
];

const fail = (code: SgtinErrorCode, reason: string): SgtinError => ({ ok: false, code, reason });

/** GTIN-14 = indicator (item reference's first digit) + company prefix + rest of item reference + check. */
function gtin14Of(companyPrefix: string, itemReference: string): string {
  const body = itemReference[0] + companyPrefix + itemReference.slice(1);
  return body + String(gtinCheckDigit(body));
}

function build(filter: number, partition: number, companyPrefix: string, itemReference: string, serial: number, hex: string): Sgtin96 {
  const ids = `${companyPrefix}.${itemReference}.${serial}`;
  return {
    ok: true,
    hex,
    header: SGTIN96_HEADER,
    filter,
    partition,
    companyPrefix,
    itemReference,
    serial,
    gtin14: gtin14Of(companyPrefix, itemReference),
    pureIdentityUri: `urn:epc:id:sgtin:${ids}`,
    tagUri: `urn:epc:tag:sgtin-96:${filter}.${ids}`,
  };
}

/** Decodes a 96-bit EPC given as 24 hex digits (either case). */
export function decodeSgtin96(hex: unknown): SgtinResult {
  if (typeof hex !== 'string' || !/^[0-9A-Fa-f]{24}$/.test(hex)) {
    return fail('SGW_ERR_BAD_EPC', `epc: must be 24 hex digits (96 bits)${typeof hex === 'string' ? `, got ${hex.length} characters` : ''}`);
  }
  const bits = BigInt('0x' + hex);
  const field = (shift: number, width: number): bigint => (bits >> BigInt(shift)) & ((1n << BigInt(width)) - 1n);
  const header = Number(field(88, 8));
  if (header !== SGTIN96_HEADER) {
    return fail('SGW_ERR_NOT_SGTIN96', `epc.header: 0x${header.toString(16).padStart(2, '0')} is not SGTIN-96 (0x30)`);
  }
  const filter = Number(field(85, 3));
  const partition = Number(field(82, 3));
  const p = PARTITIONS[partition];
  if (!p) return fail('SGW_ERR_BAD_PARTITION', `epc.partition: ${partition} is reserved (0–6 are defined)`);
  const itemBits = 44 - p.companyBits;
  const itemDigits = 13 - p.companyDigits;
  const company = field(38 + itemBits, p.companyBits);
  const item = field(38, itemBits);
  const serial = Number(field(0, 38));
  // TDS: a value with more decimal digits than the partition allows is not a valid SGTIN.
  if (company >= 10n ** BigInt(p.companyDigits)) {
    return fail('SGW_ERR_BAD_EPC', `epc.companyPrefix: ${company} has more than ${p.companyDigits} digits for partition ${partition}`);
  }
  if (item >= 10n ** BigInt(itemDigits)) {
    return fail('SGW_ERR_BAD_EPC', `epc.itemReference: ${item} has more than ${itemDigits} digits for partition ${partition}`);
  }
  return build(
    filter,
    partition,
    company.toString().padStart(p.companyDigits, '0'),
    item.toString().padStart(itemDigits, '0'),
    serial,
    hex.toUpperCase(),
  );
}

export interface Sgtin96Fields {
  /** 0–7 (1 = point-of-sale trade item). */
  filter: number;
  /** 6–12 digits; its length sets the partition. */
  companyPrefix: string;
  /** Indicator digit first; 13 − companyPrefix.length digits. */
  itemReference: string;
  serial: number | bigint;
}

/** Encodes the fields into 24 upper-case hex digits; a field out of range comes back as an error. */
export function encodeSgtin96(f: Sgtin96Fields): SgtinResult {
  if (!Number.isInteger(f.filter) || f.filter < 0 || f.filter > 7) return fail('SGW_ERR_BAD_EPC', 'filter: must be an integer 0–7');
  if (typeof f.companyPrefix !== 'string' || !/^[0-9]{6,12}$/.test(f.companyPrefix)) {
    return fail('SGW_ERR_BAD_EPC', 'companyPrefix: must be 6–12 digits');
  }
  const partition = 12 - f.companyPrefix.length;
  const p = PARTITIONS[partition];
  const itemDigits = 13 - p.companyDigits;
  if (typeof f.itemReference !== 'string' || f.itemReference.length !== itemDigits || !/^[0-9]+$/.test(f.itemReference)) {
    return fail('SGW_ERR_BAD_EPC', `itemReference: must be ${itemDigits} digits with a ${f.companyPrefix.length}-digit company prefix`);
  }
  const serial = typeof f.serial === 'bigint' ? f.serial : Number.isSafeInteger(f.serial) ? BigInt(f.serial) : -1n;
  if (serial < 0n || serial > BigInt(SGTIN96_MAX_SERIAL)) {
    return fail('SGW_ERR_BAD_EPC', `serial: must be an integer 0–${SGTIN96_MAX_SERIAL}`);
  }
  const itemBits = 44 - p.companyBits;
  const bits =
    (BigInt(SGTIN96_HEADER) << 88n) |
    (BigInt(f.filter) << 85n) |
    (BigInt(partition) << 82n) |
    (BigInt(f.companyPrefix) << BigInt(38 + itemBits)) |
    (BigInt(f.itemReference) << 38n) |
    serial;
  const hex = bits.toString(16).toUpperCase().padStart(24, '0');
  return build(f.filter, partition, f.companyPrefix, f.itemReference, Number(serial), hex);
}

/**
 * Splits a GTIN-14 into company prefix and item reference for encoding. The company prefix length
 * is not in the GTIN; it comes from the GS1 prefix allocation (config). The check digit must be right.
 */
export function sgtinFieldsFromGtin(
  gtin14: string,
  companyPrefixLength: number,
): { ok: true; companyPrefix: string; itemReference: string } | SgtinError {
  if (typeof gtin14 !== 'string' || !/^[0-9]{14}$/.test(gtin14) || gtinCheckDigit(gtin14.slice(0, 13)) !== Number(gtin14[13])) {
    return fail('SGW_ERR_BAD_EPC', 'gtin14: must be 14 digits with a valid check digit');
  }
  if (!Number.isInteger(companyPrefixLength) || companyPrefixLength < 6 || companyPrefixLength > 12) {
    return fail('SGW_ERR_BAD_EPC', 'companyPrefixLength: must be an integer 6–12');
  }
  const companyPrefix = gtin14.slice(1, 1 + companyPrefixLength);
  const itemReference = gtin14[0] + gtin14.slice(1 + companyPrefixLength, 13);
  return { ok: true, companyPrefix, itemReference };
}
