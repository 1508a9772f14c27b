/**
 * ZVT messages as types (README.md §Messages): what the terminal (PT) sends the cash register
 * (ECR) decoded from an APDU, and the ECR's commands encoded. Pure: no clock, no logger, and
 * `decodeMessage` never throws: a message it cannot read comes back as `unknown` or with `error`.
 * The simulator uses the PT-side encoders and the command decoder, so both ends share these bytes.
 */
import iconv from 'iconv-lite';
import { bcdDigits, encodeApdu, fromBcd, toBcd, type Apdu } from './apdu.js';
import { encodeBmp, encodeTlv, findTlv, parseTlv, walkBmps, type Bmp, type Tlv } from './bmp.js';

export { decodeApdus, encodeApdu, type Apdu } from './apdu.js';

/** Terminal texts are code page 437 unless a TLV tag 14 says otherwise (ZVT spec §1.4). */
export function decodeText(b: Buffer): string {
  const end = b.indexOf(0);
  return iconv.decode(end >= 0 ? b.subarray(0, end) : b, 'cp437');
}
export function encodeText(s: string): Buffer {
  return iconv.encode(s, 'cp437');
}

/** The fields of a Status-Information `04 0F` (and of an End-of-Day's). */
export interface StatusInfo {
  resultCode?: number;
  /** Minor units (BMP 04). */
  amount?: number;
  trace?: string;
  time?: string;
  date?: string;
  expiry?: string;
  cardSeqNo?: string;
  paymentType?: number;
  /** Masked: `E` nibbles (and any clear digit before the last four) become `*`. */
  maskedPan?: string;
  terminalId?: string;
  vuNumber?: string;
  authCode?: string;
  additionalText?: string;
  /** ISO 4217 numeric, 3 digits (`978`). */
  currency?: string;
  receiptNo?: string;
  turnoverNo?: string;
  cardTypeId?: number;
  cardName?: string;
  /** BMP 60 of an End-of-Day, raw. */
  totals?: Buffer;
  tlv?: Tlv[];
}

export type PtMessage =
  | { type: 'ack'; data: Buffer }
  | { type: 'nak'; code: number }
  | { type: 'intermediate'; status: number; timeoutMin?: number; texts: string[] }
  | { type: 'statusInfo'; info: StatusInfo; error?: string }
  | { type: 'printLine'; attr: number; text: string }
  | { type: 'textBlock'; receiptType?: number; lines: string[]; last: boolean; error?: string }
  | { type: 'completion'; statusByte?: number; terminalId?: string; currency?: string; swVersion?: string; terminalStatus?: number; tlv?: Tlv[]; error?: string }
  | { type: 'abort'; resultCode: number; currency?: string }
  | { type: 'unknown'; cls: number; ins: number; data: Buffer };

function maskPan(value: Buffer): string {
  let s = '';
  for (const byte of value) {
    for (const n of [byte >> 4, byte & 0x0f]) {
      if (n <= 9) s += String(n);
      else if (n === 0x0e) s += '*';
    }
  }
  // Never pass a clear PAN on: everything but the last four digits is masked, whatever came in.
  return s.length <= 4 ? s.replace(/./g, '*') : '*'.repeat(s.length - 4) + s.slice(-4).replace(/[^0-9]/g, '*');
}

function textsOf(tlv: Tlv[] | undefined): string[] {
  return findTlv(tlv, 0x07).map((t) => decodeText(t.value));
}

/** The BMPs of a Status-Information as named fields. */
export function statusInfoOf(bmps: Bmp[]): StatusInfo {
  const s: StatusInfo = {};
  for (const { id, value } of bmps) {
    switch (id) {
      case 0x27: s.resultCode = value[0]; break;
      case 0x04: s.amount = fromBcd(value); break;
      case 0x0b: s.trace = bcdDigits(value); break;
      case 0x0c: s.time = bcdDigits(value); break;
      case 0x0d: s.date = bcdDigits(value); break;
      case 0x0e: s.expiry = bcdDigits(value); break;
      case 0x17: s.cardSeqNo = bcdDigits(value); break;
      case 0x19: s.paymentType = value[0]; break;
      case 0x22: s.maskedPan = maskPan(value); break;
      case 0x29: s.terminalId = bcdDigits(value); break;
      case 0x2a: s.vuNumber = decodeText(value).trimEnd(); break;
      case 0x3b: s.authCode = decodeText(value).trim(); break;
      case 0x3c: s.additionalText = decodeText(value); break;
      case 0x49: s.currency = bcdDigits(value)?.slice(1); break;
      case 0x87: s.receiptNo = bcdDigits(value); break;
      case 0x88: s.turnoverNo = bcdDigits(value); break;
      case 0x8a: s.cardTypeId = value[0]; break;
      case 0x8b: s.cardName = decodeText(value); break;
      case 0x60: s.totals = value; break;
      case 0x06: s.tlv = parseTlv(value).items; break;
    }
  }
  return s;
}

function isLllvarStart(d: Buffer): boolean {
  return d.length >= 4 && d[0]! >= 0xf0 && d[1]! >= 0xf0 && d[2]! >= 0xf0;
}

/** One PT→ECR APDU as a typed message. */
export function decodeMessage(a: Apdu): PtMessage {
  const d = a.data;
  if (a.cls === 0x80 || (a.cls === 0x84 && a.ins === 0x00)) return { type: 'ack', data: d };
  if (a.cls === 0x84) return { type: 'nak', code: a.ins };
  if (a.cls === 0x04 && a.ins === 0xff && d.length >= 1) {
    let at = 1;
    let timeoutMin: number | undefined;
    // The optional timeout byte (BCD minutes) comes before the TLV container.
    if (d.length > 1 && d[1] !== 0x06) {
      timeoutMin = fromBcd(d.subarray(1, 2));
      at = 2;
    }
    const tlv = walkBmps(d, at).bmps.find((b) => b.id === 0x06);
    return { type: 'intermediate', status: d[0]!, timeoutMin, texts: textsOf(tlv && parseTlv(tlv.value).items) };
  }
  if (a.cls === 0x04 && a.ins === 0x0f) {
    const w = walkBmps(d);
    return { type: 'statusInfo', info: statusInfoOf(w.bmps), error: w.error };
  }
  if (a.cls === 0x06 && a.ins === 0xd1 && d.length >= 1) return { type: 'printLine', attr: d[0]!, text: decodeText(d.subarray(1)) };
  if (a.cls === 0x06 && a.ins === 0xd3) {
    const w = walkBmps(d);
    const tlv = w.bmps.find((b) => b.id === 0x06);
    const p = tlv ? parseTlv(tlv.value) : { items: [] as Tlv[], error: 'no TLV container' };
    const type = findTlv(p.items, 0x1f07)[0]?.value[0];
    const attrs = findTlv(p.items, 0x09).map((t) => t.value[0] ?? 0);
    const last = attrs.some((x) => (x & 0x80) !== 0 && x !== 0x80);
    return { type: 'textBlock', receiptType: type, lines: textsOf(p.items), last, error: w.error ?? p.error };
  }
  if (a.cls === 0x06 && a.ins === 0x0f) {
    // Two shapes: after a Status Enquiry `[SW-version LLLVAR] <terminal status>`, otherwise BMPs.
    if (d.length === 1) return { type: 'completion', terminalStatus: d[0] };
    if (isLllvarStart(d)) {
      const n = (d[0]! & 0x0f) * 100 + (d[1]! & 0x0f) * 10 + (d[2]! & 0x0f);
      if (3 + n < d.length) return { type: 'completion', swVersion: decodeText(d.subarray(3, 3 + n)), terminalStatus: d[3 + n] };
    }
    const w = walkBmps(d);
    const get = (id: number) => w.bmps.find((b) => b.id === id)?.value;
    const tlv = get(0x06);
    return {
      type: 'completion',
      statusByte: get(0x19)?.[0],
      terminalId: get(0x29) && bcdDigits(get(0x29)!),
      currency: get(0x49) && bcdDigits(get(0x49)!)?.slice(1),
      tlv: tlv ? parseTlv(tlv).items : undefined,
      error: w.error,
    };
  }
  if (a.cls === 0x06 && a.ins === 0x1e && d.length >= 1) {
    const w = walkBmps(d, 1);
    const cc = w.bmps.find((b) => b.id === 0x49)?.value;
    return { type: 'abort', resultCode: d[0]!, currency: cc && bcdDigits(cc)?.slice(1) };
  }
  return { type: 'unknown', cls: a.cls, ins: a.ins, data: d };
}

// --- ECR → PT commands ---

export const ACK = encodeApdu(0x80, 0x00);
export function nak(code: number): Buffer {
  return encodeApdu(0x84, code);
}

/** Registration config byte (ZVT spec table 1). */
export const CONFIG = { ecrPrintsPayment: 0x02, ecrPrintsAdmin: 0x04, intermediateStatus: 0x08, ecrControlsPayment: 0x10, ecrControlsAdmin: 0x20, ptSendsReceipt: 0x80 } as const;
/** The self-checkout choice: the ECR prints and controls everything, wants every status, gets the PT's formatted receipt. */
export const SELF_CHECKOUT_CONFIG = 0xbe;

export interface RegistrationOptions {
  password: string;
  config: number;
  /** ISO 4217 numeric. */
  currency: string;
  serviceByte?: number;
  /** Ask for Print Text-Block `06 D3` (TLV 26 lists the commands the ECR accepts). */
  permitTextBlock?: boolean;
  /** Characters per printer line (TLV 12). */
  printerWidth?: number;
}

export function registration(o: RegistrationOptions): Buffer {
  const parts = [toBcd(o.password, 3), Buffer.from([o.config]), toBcd(o.currency, 2)];
  if (o.serviceByte !== undefined) parts.push(encodeBmp(0x03, Buffer.from([o.serviceByte])));
  const tlv: Tlv[] = [];
  if (o.permitTextBlock) tlv.push({ tag: 0x26, value: Buffer.alloc(0), children: [{ tag: 0x0a, value: Buffer.from([0x06, 0xd3]) }] });
  if (o.printerWidth !== undefined) tlv.push({ tag: 0x12, value: toBcd(o.printerWidth, 1) });
  if (tlv.length) parts.push(encodeTlvBmp(tlv));
  return encodeApdu(0x06, 0x00, Buffer.concat(parts));
}

export function encodeTlvBmp(items: Tlv[]): Buffer {
  return encodeBmp(0x06, encodeTlv(items));
}

export function authorization(o: { amount: number; currency?: string; paymentType?: number }): Buffer {
  const parts = [encodeBmp(0x04, toBcd(o.amount, 6))];
  if (o.currency !== undefined) parts.push(encodeBmp(0x49, toBcd(o.currency, 2)));
  if (o.paymentType !== undefined) parts.push(encodeBmp(0x19, Buffer.from([o.paymentType])));
  return encodeApdu(0x06, 0x01, Buffer.concat(parts));
}

export function reversal(o: { password: string; receiptNo: string; amount?: number; currency?: string }): Buffer {
  const parts = [toBcd(o.password, 3), encodeBmp(0x87, toBcd(o.receiptNo, 2))];
  if (o.amount !== undefined) parts.push(encodeBmp(0x04, toBcd(o.amount, 6)));
  if (o.currency !== undefined) parts.push(encodeBmp(0x49, toBcd(o.currency, 2)));
  return encodeApdu(0x06, 0x30, Buffer.concat(parts));
}

export const ABORT = encodeApdu(0x06, 0xb0);
export const LOG_OFF = encodeApdu(0x06, 0x02);

export function endOfDay(password: string): Buffer {
  return encodeApdu(0x06, 0x50, toBcd(password, 3));
}

/** Status Enquiry; without a password the PT still answers (ZVT spec §2.56). */
export function statusEnquiry(password?: string, serviceByte?: number): Buffer {
  if (password === undefined) return encodeApdu(0x05, 0x01);
  const parts = [toBcd(password, 3)];
  if (serviceByte !== undefined) parts.push(encodeBmp(0x03, Buffer.from([serviceByte])));
  return encodeApdu(0x05, 0x01, Buffer.concat(parts));
}

/** Repeat Receipt; service byte bit 0 asks for the Status-Information of the last transaction again. */
export function repeatReceipt(password: string, serviceByte?: number): Buffer {
  const parts = [toBcd(password, 3)];
  if (serviceByte !== undefined) parts.push(encodeBmp(0x03, Buffer.from([serviceByte])));
  return encodeApdu(0x06, 0x20, Buffer.concat(parts));
}
