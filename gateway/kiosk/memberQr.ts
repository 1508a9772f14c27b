/**
 * The member app's QR text, pure: `MQ1:` + base64url of one binary record, the HQ-signed
 * credential followed by the phone-signed presentation (gateway/kiosk/README.md §Member QR).
 * No clock, no keys, never throws on a scanned text: a text that does not parse is `malformed`
 * with the field that broke it. Signatures are checked in memberVerify.ts.
 *
 * Layout (integers big-endian; strings are a length byte then UTF-8):
 *
 *   credential  ver u8 (=1) | kid 4 B | credId 8 B | expires u32 (Unix s) | phoneKey 32 B (Ed25519)
 *               | memberId str (1..32 B) | tier str (1..16 B) | hqSig 64 B
 *   presentation  time u32 (Unix s) | nonce 8 B | storeId str (0..32 B; 0 = any store) | phoneSig 64 B
 *
 * HQ signs `CRED_CONTEXT || credential-without-hqSig`; the phone signs `PRES_CONTEXT ||
 * SHA-256(credential with hqSig) || presentation-without-phoneSig`, so a presentation is bound to
 * that one credential. The contexts keep either signature from being valid for any other message
 * the same key signs (HQ's feed key also signs feed envelopes, which are JSON text).
 */
import { createHash } from 'node:crypto';

export const MEMBER_QR_PREFIX = 'MQ1:';
export const CRED_VERSION = 1;
export const CRED_CONTEXT = Buffer.from('storegw member credential v1\0', 'latin1');
export const PRES_CONTEXT = Buffer.from('storegw member presentation v1\0', 'latin1');
const SIG = 64;
const KEY = 32;
const MAX_MEMBER_ID = 32;
const MAX_TIER = 16;
const MAX_STORE = 32;
/** Longest text any valid record encodes to (bounds the work spent on a hostile scan). */
export const MAX_MEMBER_QR_CHARS = MEMBER_QR_PREFIX.length + Math.ceil(((1 + 4 + 8 + 4 + KEY + 1 + MAX_MEMBER_ID + 1 + MAX_TIER + SIG + 4 + 8 + 1 + MAX_STORE + SIG) * 4) / 3);

export interface MemberCredential {
  /** First 4 bytes of SHA-256 over the DER (SPKI) of HQ's public key, hex. */
  kid: string;
  /** HQ's id of this credential, hex (16 chars): what the members feed revokes. */
  credId: string;
  /** Unix seconds. */
  expires: number;
  /** The phone's raw Ed25519 public key (32 bytes). */
  phoneKey: Buffer;
  memberId: string;
  tier: string;
}

export interface MemberPresentation {
  /** Unix seconds, by the phone's clock. */
  time: number;
  /** 8 random bytes, hex. */
  nonce: string;
  /** The store the phone meant it for; '' = any store. */
  storeId: string;
}

export interface DecodedMemberQr {
  ok: true;
  credential: MemberCredential;
  presentation: MemberPresentation;
  /** What HQ signed, and its signature. */
  credSigned: Buffer;
  hqSig: Buffer;
  /** What the phone signed, and its signature. */
  presSigned: Buffer;
  phoneSig: Buffer;
}

export type MemberQrMalformed = { ok: false; reason: 'malformed'; detail: string };

/** True when a scanned text claims to be a member QR (it is then never read as a product code). */
export function isMemberQr(text: string): boolean {
  return text.startsWith(MEMBER_QR_PREFIX);
}

/**
 * The member QR text of a scan, or null when the scan is not one. A scanner set to send the
 * ISO/IEC 15424 symbology identifier puts `]Q` and a modifier digit (QR Code) in front; it is dropped.
 */
export function memberQrOf(scan: string): string | null {
  const text = /^\]Q[0-6]/.test(scan) ? scan.slice(3) : scan;
  return isMemberQr(text) ? text : null;
}

/** The 4-byte key id (hex) of an Ed25519 public key given as SPKI DER. */
export function keyIdOfSpki(spkiDer: Buffer): string {
  return createHash('sha256').update(spkiDer).digest().subarray(0, 4).toString('hex');
}

function str(s: string, max: number, min: number, field: string): Buffer {
  const b = Buffer.from(s, 'utf8');
  if (b.length < min || b.length > max) throw new RangeError(`${field}: must be ${min}..${max} UTF-8 bytes`);
  return Buffer.concat([Buffer.from([b.length]), b]);
}

function hex(h: string, bytes: number, field: string): Buffer {
  if (!new RegExp(`^[0-9a-f]{${bytes * 2}}$`).test(h)) throw new RangeError(`${field}: must be ${bytes * 2} lowercase hex digits`);
  return Buffer.from(h, 'hex');
}

function u32(n: number, field: string): Buffer {
  if (!Number.isInteger(n) || n < 0 || n > 0xffffffff) throw new RangeError(`${field}: must be a uint32`);
  const b = Buffer.alloc(4);
  b.writeUInt32BE(n);
  return b;
}

/** The credential bytes HQ signs (after CRED_CONTEXT). Throws on a bad field: the issuer's input. */
export function credentialBody(c: MemberCredential): Buffer {
  if (c.phoneKey.length !== KEY) throw new RangeError('phoneKey: must be 32 bytes');
  return Buffer.concat([Buffer.from([CRED_VERSION]), hex(c.kid, 4, 'kid'), hex(c.credId, 8, 'credId'), u32(c.expires, 'expires'), c.phoneKey, str(c.memberId, MAX_MEMBER_ID, 1, 'memberId'), str(c.tier, MAX_TIER, 1, 'tier')]);
}

/** The presentation bytes the phone signs (after PRES_CONTEXT and the credential's hash). */
export function presentationBody(p: MemberPresentation): Buffer {
  return Buffer.concat([u32(p.time, 'time'), hex(p.nonce, 8, 'nonce'), str(p.storeId, MAX_STORE, 0, 'storeId')]);
}

/** What HQ's signature covers. */
export function credentialSigningInput(credBody: Buffer): Buffer {
  return Buffer.concat([CRED_CONTEXT, credBody]);
}

/** What the phone's signature covers: the whole signed credential (by hash) and the presentation. */
export function presentationSigningInput(signedCredential: Buffer, presBody: Buffer): Buffer {
  return Buffer.concat([PRES_CONTEXT, createHash('sha256').update(signedCredential).digest(), presBody]);
}

/** The QR text from a signed credential (body + HQ signature) and a signed presentation. */
export function encodeMemberQr(signedCredential: Buffer, presBody: Buffer, phoneSig: Buffer): string {
  return MEMBER_QR_PREFIX + Buffer.concat([signedCredential, presBody, phoneSig]).toString('base64url');
}

/** A cursor over untrusted bytes: every read says whether it fit. */
class Reader {
  pos = 0;
  constructor(private readonly b: Buffer) {}
  take(n: number): Buffer | null {
    if (this.pos + n > this.b.length) return null;
    const out = this.b.subarray(this.pos, this.pos + n);
    this.pos += n;
    return out;
  }
  u32(): number | null {
    const b = this.take(4);
    return b ? b.readUInt32BE(0) : null;
  }
  str(min: number, max: number): string | null {
    const len = this.take(1);
    if (!len || len[0] < min || len[0] > max) return null;
    const b = this.take(len[0]);
    if (!b) return null;
    const s = b.toString('utf8');
    // Not valid UTF-8 (a replacement character appeared) or a control character: not an id.
    return Buffer.from(s, 'utf8').equals(b) && !/[\u0000-\u001f\u007f]/.test(s) ? s : null;
  }
  get rest(): number {
    return this.b.length - this.pos;
  }
}

const bad = (detail: string): MemberQrMalformed => ({ ok: false, reason: 'malformed', detail });

/** A scanned text → its parts, or `malformed` naming the field. Never throws. */
export function decodeMemberQr(text: string): DecodedMemberQr | MemberQrMalformed {
  if (typeof text !== 'string' || !isMemberQr(text)) return bad('prefix: not a member QR (MQ1:)');
  const b64 = text.slice(MEMBER_QR_PREFIX.length).replace(/[\r\n]+$/, '');
  if (b64.length > MAX_MEMBER_QR_CHARS) return bad('length: longer than any member QR');
  if (!/^[A-Za-z0-9_-]*$/.test(b64)) return bad('encoding: not base64url');
  const buf = Buffer.from(b64, 'base64url');
  // Non-canonical base64 (stray bits in the last character) could give two texts for one record.
  if (buf.toString('base64url') !== b64) return bad('encoding: not canonical base64url');
  const r = new Reader(buf);
  const ver = r.take(1);
  if (!ver) return bad('version: missing');
  if (ver[0] !== CRED_VERSION) return bad(`version: ${ver[0]} is not supported`);
  const kid = r.take(4);
  const credId = r.take(8);
  const expires = r.u32();
  const phoneKey = r.take(KEY);
  if (!kid || !credId || expires === null || !phoneKey) return bad('credential: too short');
  const memberId = r.str(1, MAX_MEMBER_ID);
  if (memberId === null) return bad('memberId: missing, too long or not text');
  const tier = r.str(1, MAX_TIER);
  if (tier === null) return bad('tier: missing, too long or not text');
  const credEnd = r.pos;
  const hqSig = r.take(SIG);
  if (!hqSig) return bad('hqSig: too short');
  const signedCredEnd = r.pos;
  const time = r.u32();
  const nonce = r.take(8);
  if (time === null || !nonce) return bad('presentation: too short');
  const storeId = r.str(0, MAX_STORE);
  if (storeId === null) return bad('storeId: too long or not text');
  const presEnd = r.pos;
  const phoneSig = r.take(SIG);
  if (!phoneSig) return bad('phoneSig: too short');
  if (r.rest !== 0) return bad(`length: ${r.rest} bytes after the phone's signature`);
  return {
    ok: true,
    credential: { kid: kid.toString('hex'), credId: credId.toString('hex'), expires, phoneKey: Buffer.from(phoneKey), memberId, tier },
    presentation: { time, nonce: nonce.toString('hex'), storeId },
    credSigned: credentialSigningInput(buf.subarray(0, credEnd)),
    hqSig: Buffer.from(hqSig),
    presSigned: presentationSigningInput(buf.subarray(0, signedCredEnd), buf.subarray(signedCredEnd, presEnd)),
    phoneSig: Buffer.from(phoneSig),
  };
}
