/**
 * Coupons on a sale. `couponRedeemed` is the exact record of one coupon used in one sale (kind
 * `kiosk`, deviceId = the kiosk), written only by the gateway (gatewayRecords.ts) in the same
 * commit as the sale's `transaction`, so HQ holds one record per use: the same coupon id and
 * serial in two records (two stores offline) is a second use HQ finds and reports.
 * Money is integer minor units.
 */
import { Type, type Static } from '@sinclair/typebox';
import { Currency, MinorUnits, Timestamp } from './common.js';

const Id = Type.String({ minLength: 1, maxLength: 64, pattern: '^[A-Za-z0-9._:-]+$' });
const CouponId = Type.String({ minLength: 1, maxLength: 32, pattern: '^[A-Za-z0-9._-]+$' });
/** '' for a public (not serialised) code. */
const Serial = Type.String({ maxLength: 24 });
const Via = Type.Union([Type.Literal('signed'), Type.Literal('gs1'), Type.Literal('plain')]);

/** A coupon applied on a sale (`coupons[]` of a transaction). */
export const SaleCoupon = Type.Object({ couponId: CouponId, serial: Serial, amount: MinorUnits, via: Via, single: Type.Boolean() }, { additionalProperties: false });

export const CouponRedeemed = Type.Object(
  {
    ts: Timestamp,
    transactionId: Id,
    kioskId: Id,
    couponId: CouponId,
    serial: Serial,
    /** True for a single-use coupon: this store will never take the serial again. */
    single: Type.Boolean(),
    via: Via,
    amount: MinorUnits,
    currency: Currency,
  },
  { additionalProperties: false },
);

/**
 * A coupon given back by a post-sale void: the exact reverse of one `couponRedeemed` (same
 * transaction id, coupon id and serial), so HQ counts that use as undone. A single-use serial is
 * free again at this store from the same commit on.
 */
export const CouponReleased = CouponRedeemed;

export type SaleCouponRec = Static<typeof SaleCoupon>;
export type CouponRedeemedRec = Static<typeof CouponRedeemed>;
