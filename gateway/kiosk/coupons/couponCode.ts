/**
 * Coupon codes as scanned or typed, pure: HQ-signed `CP1:` codes from the member app or paper,
 * GS1 North American coupon codes (AI 8110, AI 8112), and the chain's plain typed codes. No clock,
 * no keys, never throws on a scanned text: a text that is not a coupon is `null`, a coupon that
 * does not parse is `malformed` with the field that broke it. Signatures: couponVerify.ts.
 *
 * `CP1:` + base64url of one record (integers big-endian; strings a length byte then UTF-8):
 *
 *   ver u8 (=1) | kid 4 B | couponId str (1..32 B) | serial str (0..24 B; 0 = not serialised)
 *   | expires u32 (Unix s) | hqSig 64 B
 *
 * HQ signs `CONTEXT || record-without-hqSig` with its feed key; the context keeps the signature
 * from being valid for a feed envelope or a member credential signed by the same key.
 */
import { parseGs1Coupon, type Gs1Coupon } from './gs1Coupon.js';

export const COUPON_CODE_PREFIX = 'CP1:';
export const COUPON_CODE_VERSION = 1;
export const COUPON_CONTEXT = Buffer.from('storegw coupon v1\0', 'latin1');
const SIG = 64;
const MAX_ID = 32;
const MAX_SERIAL = 24;
/** Longest text a valid record encodes to (bounds the work spent on a hostile scan). */
export const MAX_COUPON_CODE_CHARS = COUPON_CODE_PREFIX.length + Math.ceil(((1 + 4 + 1 + MAX_ID + 1 + MAX_SERIAL + 4 + SIG) * 4) / 3);
/** A plain typed code: what a person can read off a poster and type. */
const PLAIN = /^[A-Z0-9][A-Z0-9-]{2,31}$/;

export interface SignedCoupon {
  /** First 4 bytes of SHA-256 over the DER (SPKI) of HQ's public key, hex. */
  kid: string;
  couponId: string;
  /** '' = a multi-use code (not serialised). */
  serial: string;
  /** Unix seconds. */
  expires: number;
}

export type CouponCode =
  | { kind: 'signed'; coupon: SignedCoupon; signed: Buffer; hqSig: Buffer }
  | { kind: 'gs1'; gs1: Gs1Coupon }
  | { kind: 'plain'; code: string };

export type CouponCodeResult = { ok: true; code: CouponCode } | { ok: false; reason: 'malformed'; detail: string };

function str(s: string, max: number, min: number, field: string): Buffer {
  const b = Buffer.from(s, 'utf8');
  if (b.length < min || b.length > max) throw new RangeError(`${field}: must be ${min}..${max} UTF-8 bytes`);
  return Buffer.concat([Buffer.from([b.length]), b]);
}

/** The bytes HQ signs (after COUPON_CONTEXT). Throws on a bad field: the issuer's input. */
export function signedCouponBody(c: SignedCoupon): Buffer {
  if (!/^[0-9a-f]{8}$/.test(c.kid)) throw new RangeError('kid: must be 8 lowercase hex digits');
  if (!Number.isInteger(c.expires) || c.expires < 0 || c.expires > 0xffffffff) throw new RangeError('expires: must be a uint32');
  const exp = Buffer.alloc(4);
  exp.writeUInt32BE(c.expires);
  return Buffer.concat([Buffer.from([COUPON_CODE_VERSION]), Buffer.from(c.kid, 'hex'), str(c.couponId, MAX_ID, 1, 'couponId'), str(c.serial, MAX_SERIAL, 0, 'serial'), exp]);
}

/** The text of a signed code, given the body and HQ's signature over `COUPON_CONTEXT || body`. */
export function encodeSignedCoupon(body: Buffer, hqSig: Buffer): string {
  return COUPON_CODE_PREFIX + Buffer.concat([body, hqSig]).toString('base64url');
}

/** A scan of a QR or GS1 symbol may carry the ISO/IEC 15424 symbology identifier (`]Q1`, `]C1`, `]e0`); it is dropped. */
function withoutSymbologyId(text: string): string {
  return /^\][A-Za-z][0-9A-Za-z]/.test(text) ? text.slice(3) : text;
}

/**
 * What a scanned or typed text is as a coupon: null when it is not a coupon at all (a product, a
 * member QR), else the decoded code or the reason it is malformed. A text that claims to be a
 * coupon (the `CP1:` prefix, AI 8110/8112 first) is never read as a product.
 */
export function couponCodeOf(raw: string): CouponCodeResult | null {
  if (typeof raw !== 'string') return null;
  const text = withoutSymbologyId(raw.replace(/[\r\n]+$/, ''));
  if (text.startsWith(COUPON_CODE_PREFIX)) return decodeSigned(text);
  const gs1 = parseGs1Coupon(text);
  if (gs1 !== null) return gs1.ok ? { ok: true, code: { kind: 'gs1', gs1: gs1.coupon } } : { ok: false, reason: 'malformed', detail: gs1.detail };
  return null;
}

/** A code typed behind the kiosk's "Coupon" button: any coupon text, or a plain code of the chain. */
export function typedCouponOf(raw: string): CouponCodeResult {
  const c = couponCodeOf(raw);
  if (c !== null) return c;
  const plain = String(raw).trim().toUpperCase();
  return PLAIN.test(plain) ? { ok: true, code: { kind: 'plain', code: plain } } : { ok: false, reason: 'malformed', detail: 'code: not a coupon code (letters, digits and "-", 3 to 32)' };
}

function decodeSigned(text: string): CouponCodeResult {
  const bad = (detail: string): CouponCodeResult => ({ ok: false, reason: 'malformed', detail });
  if (text.length > MAX_COUPON_CODE_CHARS) return bad(`code: longer than ${MAX_COUPON_CODE_CHARS} characters`);
  const b64 = text.slice(COUPON_CODE_PREFIX.length);
  if (!/^[A-Za-z0-9_-]*$/.test(b64)) return bad('code: not base64url');
  const buf = Buffer.from(b64, 'base64url');
  let at = 0;
  const need = (n: number, field: string): Buffer | null => {
    if (at + n > buf.length) return null;
    const out = buf.subarray(at, at + n);
    at += n;
    void field;
    return out;
  };
  const ver = need(1, 'ver');
  if (!ver) return bad('code: empty');
  if (ver[0] !== COUPON_CODE_VERSION) return bad(`ver: ${ver[0]} is not ${COUPON_CODE_VERSION}`);
  const kid = need(4, 'kid');
  if (!kid) return bad('kid: truncated');
  const readStr = (max: number, min: number, field: string): string | { bad: string } => {
    const len = need(1, field);
    if (!len) return { bad: `${field}: truncated` };
    if (len[0] < min || len[0] > max) return { bad: `${field}: length ${len[0]} is not ${min}..${max}` };
    const v = need(len[0], field);
    if (!v) return { bad: `${field}: truncated` };
    const s = v.toString('utf8');
    if (Buffer.byteLength(s) !== v.length) return { bad: `${field}: not UTF-8` };
    return s;
  };
  const couponId = readStr(MAX_ID, 1, 'couponId');
  if (typeof couponId !== 'string') return bad(couponId.bad);
  const serial = readStr(MAX_SERIAL, 0, 'serial');
  if (typeof serial !== 'string') return bad(serial.bad);
  const exp = need(4, 'expires');
  if (!exp) return bad('expires: truncated');
  const signedLen = at;
  const sig = need(SIG, 'hqSig');
  if (!sig) return bad('hqSig: truncated');
  if (at !== buf.length) return bad(`code: ${buf.length - at} bytes after the signature`);
  return {
    ok: true,
    code: { kind: 'signed', coupon: { kid: kid.toString('hex'), couponId, serial, expires: exp.readUInt32BE(0) }, signed: Buffer.concat([COUPON_CONTEXT, buf.subarray(0, signedLen)]), hqSig: Buffer.from(sig) },
  };
}
