/**
 * HQ's side of the signed coupon codes (the app's or the paper's `CP1:` text), for the tests and
 * the demo: signed with HQ's feed key over the gateway's own encoding (couponCode.ts).
 */
import { createPrivateKey, sign as edSign } from 'node:crypto';
import type { HqSigner } from './hqSigner.js';
import { COUPON_CONTEXT, encodeSignedCoupon, signedCouponBody } from '../../gateway/kiosk/coupons/couponCode.js';
import { keyIdOfSpki } from '../../gateway/kiosk/memberQr.js';

export interface CouponRequest {
  couponId: string;
  /** '' for a multi-use code. */
  serial?: string;
  /** Unix seconds. */
  expires: number;
  /** Sign under this kid instead of the signer's own (a code from an unknown HQ key). */
  kid?: string;
}

export function issueCouponCode(signer: Pick<HqSigner, 'privateKeyPem' | 'publicKey'>, r: CouponRequest): string {
  const kid = r.kid ?? keyIdOfSpki(signer.publicKey.export({ type: 'spki', format: 'der' }));
  const body = signedCouponBody({ kid, couponId: r.couponId, serial: r.serial ?? '', expires: r.expires });
  const sig = edSign(null, Buffer.concat([COUPON_CONTEXT, body]), createPrivateKey(signer.privateKeyPem));
  return encodeSignedCoupon(body, sig);
}
