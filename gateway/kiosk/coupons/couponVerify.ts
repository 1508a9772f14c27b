/**
 * A presented coupon checked against what the gateway already holds, pure: HQ's keys (the feed
 * keys, as for the member QR), the `coupons` feed's definitions and revocations, and the clock.
 * Whether a single-use code was used already needs the disk and is the caller's (couponBook.ts).
 * Never throws on a scanned or typed text.
 *
 * Order: shape, HQ's key, HQ's signature, and only then what the code claims (its coupon, expiry,
 * revocation), so a forged code never learns which claim would have passed.
 */
import { verify as edVerify, type KeyObject } from 'node:crypto';
import type { CouponCode } from './couponCode.js';
import type { CouponDefT } from '../../protocol/schemas/feeds/coupons.js';
import type { CartCoupon } from './couponPricing.js';
import { validityReason, type CouponMember } from './couponPricing.js';

/** Every way a presented coupon is refused (the kiosk shows each by name; the gateway counts each). */
export const COUPON_REFUSALS = ['malformed', 'unknownKey', 'badSignature', 'unknown', 'expired', 'notYetValid', 'revoked', 'alreadyUsed', 'alreadyOnCart', 'memberFirst', 'maxUses'] as const;
export type CouponRefusal = (typeof COUPON_REFUSALS)[number];

export interface CouponLookup {
  byId(id: string): CouponDefT | undefined;
  byCode(code: string): CouponDefT | undefined;
  /** The definition whose `codePrefix` starts `code`, longest prefix first. */
  byPrefix(code: string): CouponDefT | undefined;
  byGs1(companyPrefix: string, offerCode: string): CouponDefT | undefined;
  /** Why HQ revoked this coupon (serial '' = asked for the coupon as a whole), or undefined. */
  revoked(couponId: string, serial: string): string | undefined;
}

export interface CouponVerifyContext {
  keys: ReadonlyMap<string, KeyObject>;
  now: number;
  member: CouponMember | null;
  coupons: CouponLookup;
}

export type CouponVerifyResult = { ok: true; coupon: CartCoupon } | { ok: false; reason: CouponRefusal; detail: string; couponId?: string };

const refuse = (reason: CouponRefusal, detail: string, couponId?: string): CouponVerifyResult => ({ ok: false, reason, detail, ...(couponId !== undefined ? { couponId } : {}) });

function sigOk(data: Buffer, key: KeyObject, sig: Buffer): boolean {
  try {
    return edVerify(null, data, key, sig);
  } catch {
    return false;
  }
}

/** The single-use key of a coupon serial: the same in every store, so HQ finds a second use. */
export function useKeyOf(couponId: string, serial: string): string {
  return `${couponId}/${serial}`;
}

export function verifyCoupon(code: CouponCode, ctx: CouponVerifyContext): CouponVerifyResult {
  let def: CouponDefT | undefined;
  let serial = '';
  let expiresMs: number | null = null;
  switch (code.kind) {
    case 'signed': {
      const c = code.coupon;
      const hq = ctx.keys.get(c.kid);
      if (!hq) return refuse('unknownKey', `kid: ${c.kid} is none of HQ's keys`);
      if (!sigOk(code.signed, hq, code.hqSig)) return refuse('badSignature', `hqSig: does not verify with HQ key ${c.kid}`);
      def = ctx.coupons.byId(c.couponId);
      if (!def) return refuse('unknown', `couponId: ${c.couponId} is not in the coupons feed`);
      serial = c.serial;
      expiresMs = c.expires * 1000;
      break;
    }
    case 'gs1': {
      const g = code.gs1;
      def = ctx.coupons.byGs1(g.companyPrefix, g.offerCode);
      if (!def) return refuse('unknown', `AI ${g.ai}: company prefix ${g.companyPrefix}, offer ${g.offerCode} is not in the coupons feed`);
      serial = g.serial;
      // The printed expiration date is the last day the coupon is good, to its end (UTC).
      if (g.expires !== null) expiresMs = Date.parse(`${g.expires}T23:59:59.999Z`);
      if (g.starts !== null && ctx.now < Date.parse(`${g.starts}T00:00:00Z`)) return refuse('notYetValid', `start date: ${g.starts}`, def.id);
      break;
    }
    case 'plain': {
      def = ctx.coupons.byCode(code.code);
      if (def) break;
      def = ctx.coupons.byPrefix(code.code);
      if (!def) return refuse('unknown', `code: ${code.code} is no coupon of the feed`);
      serial = code.code.slice(def.codePrefix!.length);
      if (serial === '') return refuse('malformed', `code: ${def.codePrefix} needs a serial after it`, def.id);
      break;
    }
  }
  if (expiresMs !== null && ctx.now > expiresMs) return refuse('expired', `expires: ${new Date(expiresMs).toISOString()}`, def.id);
  const why = validityReason(def, ctx.now, ctx.member);
  // Member-only coupons wait on the cart until a member is identified; a coupon out of its dates never applies.
  if (why === 'expired' || why === 'notYetValid') return refuse(why, `valid${why === 'expired' ? 'To' : 'From'}: ${why === 'expired' ? def.validTo : def.validFrom}`, def.id);
  const revoked = ctx.coupons.revoked(def.id, '') ?? (serial !== '' ? ctx.coupons.revoked(def.id, serial) : undefined);
  if (revoked !== undefined) return refuse('revoked', `revoked: ${revoked}`, def.id);
  if (def.use === 'single' && serial === '') return refuse('malformed', `serial: coupon ${def.id} is single-use and the code carries no serial`, def.id);
  return { ok: true, coupon: { couponId: def.id, serial, useKey: def.use === 'single' ? useKeyOf(def.id, serial) : null, def, via: code.kind } };
}
