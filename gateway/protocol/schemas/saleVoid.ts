/**
 * A completed sale voided afterwards by a person in the store: the exact `saleVoided` record (filed
 * as the kiosk that made the sale, written only by the gateway), and the ops API that asks for it.
 *
 * One per transaction: `voidId` is `<transactionId>` itself, so HQ applies a record sent twice
 * once. `refund` says how the money goes back: `reversed` when the card terminal reversed the
 * payment (a ZVT Reversal, 06 30, takes back only the terminal's last payment and needs its
 * receipt number: ZVT protocol specification, Reversal), `owed` when it could not (not the last
 * payment any more, no receipt number, not a card): a refund the store owes the shopper, in the
 * record so the books show it.
 */
import { Type, type Static } from '@sinclair/typebox';
import { Currency, MinorUnits, Timestamp } from './common.js';

const Id = Type.String({ minLength: 1, maxLength: 64, pattern: '^[A-Za-z0-9._:-]+$' });

export const VoidReason = Type.String({ minLength: 3, maxLength: 200 });

export const SaleVoided = Type.Object(
  {
    ts: Timestamp,
    transactionId: Id,
    kioskId: Id,
    /** When the sale was made (the transaction's own `ts`). */
    saleTs: Timestamp,
    total: MinorUnits,
    currency: Currency,
    /** The ops user who voided it, their role, and why. */
    by: Type.String({ minLength: 1, maxLength: 64 }),
    role: Type.Union([Type.Literal('attendant'), Type.Literal('admin')]),
    reason: VoidReason,
    refund: Type.Union([
      Type.Object({ kind: Type.Literal('reversed'), paymentRequestId: Id, amount: MinorUnits, receiptNo: Type.String({ pattern: '^[0-9]{1,8}$' }) }, { additionalProperties: false }),
      Type.Object({ kind: Type.Literal('owed'), amount: MinorUnits, why: Type.String({ minLength: 1, maxLength: 200 }) }, { additionalProperties: false }),
    ]),
    /** Stock given back: one `return` movement per sale line, `void:<transactionId>:<line>`. */
    movements: Type.Array(Type.String({ minLength: 1, maxLength: 160 }), { maxItems: 10_000 }),
    /** Serials released: they can be sold again without an attendant. */
    serials: Type.Array(Type.Object({ gtin: Type.String({ pattern: '^[0-9]{14}$' }), serial: Type.String({ minLength: 1, maxLength: 20 }) }, { additionalProperties: false }), { maxItems: 10_000 }),
    /**
     * What the sale counted in the store's numbers, taken out again with it: whether it had a
     * member (never which one), the points it issued and spent, the coupons it redeemed.
     */
    counts: Type.Optional(
      Type.Object(
        { member: Type.Boolean(), pointsEarned: Type.Integer({ minimum: 0, maximum: 1_000_000_000 }), pointsSpent: Type.Integer({ minimum: 0, maximum: 1_000_000_000 }), coupons: Type.Integer({ minimum: 0, maximum: 64 }) },
        { additionalProperties: false },
      ),
    ),
  },
  { additionalProperties: false },
);
export type SaleVoidedRec = Static<typeof SaleVoided>;

/** `POST /api/sales/:transactionId/void`: attendant or admin; who it is comes from the session. */
export const SaleVoidParams = Type.Object({ transactionId: Id }, { additionalProperties: false });
export const SaleVoidBody = Type.Object({ reason: VoidReason }, { additionalProperties: false });

/** `GET /api/sales/by-receipt/:shortNo`: the sales within the void window whose receipt shows this short number. */
export const SaleByReceiptParams = Type.Object({ shortNo: Type.String({ pattern: '^[A-Za-z0-9]{1,8}$' }) }, { additionalProperties: false });
export const SalesByReceipt = Type.Object(
  {
    sales: Type.Array(
      Type.Object({ transactionId: Id, kioskId: Id, ts: Timestamp, total: MinorUnits, currency: Currency, voided: Type.Boolean() }, { additionalProperties: false }),
      { maxItems: 100 },
    ),
  },
  { additionalProperties: false },
);
