/**
 * A member QR checked with keys the gateway already holds (HQ's feed keys from the config), pure:
 * the clock, the keys and the members feed's state come in, nothing goes out. Single use (a nonce
 * seen before) needs the disk and is the caller's (memberPresentations.ts). Never throws on a
 * scanned text.
 *
 * Order, as HCERT has it, "verify the signature before content is processed": shape, HQ's key,
 * HQ's signature, the phone's signature; only then expiry, revocation, store and time window, so a
 * forged record never learns which of its claims would have passed.
 */
import { createPublicKey, verify as edVerify, type KeyObject } from 'node:crypto';
import { decodeMemberQr, keyIdOfSpki, type MemberCredential, type MemberPresentation } from './memberQr.js';

/** Every way a member QR is refused (the kiosk shows each by name; the gateway counts each). */
export const MEMBER_QR_REFUSALS = ['malformed', 'unknownKey', 'badSignature', 'expired', 'revoked', 'wrongStore', 'outsideWindow', 'replayed'] as const;
export type MemberQrRefusal = (typeof MEMBER_QR_REFUSALS)[number];

/** What the members feed says about one member id (absent: the feed does not list the member). */
export interface MemberFeedState {
  /** `suspended`: every credential of the member is refused. */
  status?: string;
  /** Credential ids (hex) HQ has withdrawn (a lost phone, a re-issue). */
  revoked?: readonly string[];
}

export interface MemberVerifyContext {
  /** HQ's Ed25519 public keys by 4-byte key id (hex), see `memberKeyring`. */
  keys: ReadonlyMap<string, KeyObject>;
  /** The gateway's clock, ms. */
  now: number;
  /** How old a presentation may be, ms. */
  windowMs: number;
  /** How far the phone's clock may be off the gateway's, either way, ms. */
  skewMs: number;
  storeId: string;
  member: (memberId: string) => MemberFeedState | undefined;
}

export type MemberVerifyResult =
  | { ok: true; credential: MemberCredential; presentation: MemberPresentation; /** credId + nonce: used once. */ useKey: string; /** ms until which the use must be remembered. */ keepUntil: number }
  | { ok: false; reason: MemberQrRefusal; detail: string };

/** HQ's configured feed keys (`{kid, pem}`) by the 4-byte id a member QR names; non-Ed25519 keys are left out. */
export function memberKeyring(publicKeys: readonly { pem: string }[]): Map<string, KeyObject> {
  const out = new Map<string, KeyObject>();
  for (const k of publicKeys) {
    const key = createPublicKey(k.pem);
    if (key.asymmetricKeyType !== 'ed25519') continue;
    out.set(keyIdOfSpki(key.export({ type: 'spki', format: 'der' })), key);
  }
  return out;
}

/** The 12-byte SPKI header of an Ed25519 key (RFC 8410 §4): prefixed to the raw 32 bytes. */
const ED25519_SPKI_PREFIX = Buffer.from('302a300506032b6570032100', 'hex');

function rawEd25519(raw: Buffer): KeyObject | null {
  try {
    return createPublicKey({ key: Buffer.concat([ED25519_SPKI_PREFIX, raw]), format: 'der', type: 'spki' });
  } catch {
    return null;
  }
}

function sigOk(data: Buffer, key: KeyObject, sig: Buffer): boolean {
  try {
    return edVerify(null, data, key, sig);
  } catch {
    return false;
  }
}

const refuse = (reason: MemberQrRefusal, detail: string): MemberVerifyResult => ({ ok: false, reason, detail });

export function verifyMemberQr(text: string, ctx: MemberVerifyContext): MemberVerifyResult {
  const d = decodeMemberQr(text);
  if (!d.ok) return d;
  const { credential: c, presentation: p } = d;
  const hq = ctx.keys.get(c.kid);
  if (!hq) return refuse('unknownKey', `kid: ${c.kid} is none of HQ's keys`);
  if (!sigOk(d.credSigned, hq, d.hqSig)) return refuse('badSignature', 'hqSig: does not verify with HQ key ' + c.kid);
  const phone = rawEd25519(c.phoneKey);
  if (!phone) return refuse('malformed', 'phoneKey: not an Ed25519 public key');
  if (!sigOk(d.presSigned, phone, d.phoneSig)) return refuse('badSignature', "phoneSig: does not verify with the credential's phone key");
  const nowS = ctx.now / 1000;
  if (c.expires <= nowS) return refuse('expired', `expires: ${new Date(c.expires * 1000).toISOString()}`);
  const state = ctx.member(c.memberId);
  if (state?.status === 'suspended') return refuse('revoked', 'status: the member is suspended');
  if (state?.revoked?.includes(c.credId)) return refuse('revoked', `credId: ${c.credId} is revoked`);
  if (p.storeId !== '' && p.storeId !== ctx.storeId) return refuse('wrongStore', `storeId: presented for another store`);
  const t = p.time * 1000;
  // Accept [now - window - skew, now + skew] (a phone slow or fast by up to `skew`).
  if (t < ctx.now - ctx.windowMs - ctx.skewMs || t > ctx.now + ctx.skewMs) return refuse('outsideWindow', `time: ${Math.round((t - ctx.now) / 1000)} s from the gateway's clock`);
  // Past this instant the time check refuses the presentation anyway, so its use need not be kept.
  return { ok: true, credential: c, presentation: p, useKey: `${c.credId}:${p.nonce}`, keepUntil: t + ctx.windowMs + ctx.skewMs + 1000 };
}
