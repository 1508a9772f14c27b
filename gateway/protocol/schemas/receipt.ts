/**
 * The shopper's receipt, one model for the thank-you screen and for paper. The gateway builds it
 * only from the committed sale record (and what kiosk.db kept with the sale: the terminal's own
 * receipt lines), never from the page; the printer's layout (printer.ts `Receipt`) is derived from
 * it, so screen and paper cannot disagree. Amounts are integer minor units of `currency`.
 *
 * Coupons and points are optional: a sale without them (or a store without those features) has
 * none. The member appears masked only: a member id is a credential at the kiosk, and a receipt is
 * left in bins and photographed.
 */
import { Type, type Static } from '@sinclair/typebox';
import { Currency, MinorUnits, Timestamp } from './common.js';

const Text = (maxLength: number) => Type.String({ maxLength });
/** A saving or a coupon can take a line below zero; the sale's own amounts never go below. */
const Signed = Type.Integer({ minimum: -1_000_000_000, maximum: 1_000_000_000 });

export const ReceiptModelLine = Type.Object(
  {
    name: Text(128),
    /** The quantity as the shopper reads it ("2 x €1.29", "0.512 kg x €2.99/kg"); absent for one piece. */
    qtyText: Type.Optional(Text(60)),
    qty: Type.Integer({ minimum: 1, maximum: 10_000 }),
    unitPrice: MinorUnits,
    amount: MinorUnits,
    /** What the shopper saved on this line against the base price (0 without a promotion or when unknown). */
    saving: MinorUnits,
  },
  { additionalProperties: false },
);

/** VAT per rate (prices include it): gross = net + vat; rateBp null = the catalog gave no rate. */
export const ReceiptModelVat = Type.Object(
  { rateBp: Type.Union([Type.Integer({ minimum: 0, maximum: 10_000 }), Type.Null()]), net: MinorUnits, vat: MinorUnits, gross: MinorUnits },
  { additionalProperties: false },
);

export const ReceiptModelPayment = Type.Object(
  {
    method: Type.Union([Type.Literal('card'), Type.Literal('other')]),
    amount: MinorUnits,
    cardName: Type.Optional(Text(40)),
    /** As the terminal masked it: only the last four digits in clear. */
    maskedPan: Type.Optional(Type.String({ maxLength: 19, pattern: '^[*]*[0-9]{0,4}$' })),
    receiptNo: Type.Optional(Type.String({ pattern: '^[0-9]{1,8}$' })),
    approvalCode: Type.Optional(Text(32)),
    terminalId: Type.Optional(Text(16)),
    /** The terminal's own customer receipt lines, printed as they came. */
    terminalLines: Type.Array(Text(80), { maxItems: 200 }),
  },
  { additionalProperties: false },
);

export const ReceiptModelSchema = Type.Object(
  {
    store: Type.Object({ id: Type.String({ minLength: 1, maxLength: 64 }), name: Type.String({ minLength: 1, maxLength: 60 }), header: Type.Array(Text(120), { maxItems: 10 }) }, { additionalProperties: false }),
    kioskId: Type.String({ minLength: 1, maxLength: 64 }),
    transactionId: Type.String({ minLength: 1, maxLength: 64 }),
    /** A short number for people (the last digits of the transaction id), never the headline UUID. */
    shortNo: Type.String({ minLength: 1, maxLength: 12 }),
    time: Timestamp,
    language: Type.Union([Type.Literal('en'), Type.Literal('zh')]),
    currency: Currency,
    lines: Type.Array(ReceiptModelLine, { minItems: 1, maxItems: 10_000 }),
    subtotal: MinorUnits,
    /** What the shopper saved in all: the sale's discounts (promotions, member prices), the sum of the lines' savings. */
    savings: MinorUnits,
    coupons: Type.Optional(Type.Array(Type.Object({ code: Text(64), label: Text(120), amount: Signed }, { additionalProperties: false }), { maxItems: 50 })),
    /**
     * Points earned and spent; with points spent, `value` (minor units) and how they counted: `discount`
     * (listed with the discounts, the VAT lowered) or `tender` (a payment beside the card; `total` is
     * then the price before the points, VAT on it).
     */
    points: Type.Optional(
      Type.Object(
        {
          earned: Type.Integer({ minimum: 0 }),
          spent: Type.Integer({ minimum: 0 }),
          balance: Type.Optional(Type.Integer()),
          value: Type.Optional(MinorUnits),
          as: Type.Optional(Type.Union([Type.Literal('discount'), Type.Literal('tender')])),
        },
        { additionalProperties: false },
      ),
    ),
    vat: Type.Array(ReceiptModelVat, { maxItems: 64 }),
    total: MinorUnits,
    payment: ReceiptModelPayment,
    member: Type.Optional(Type.Object({ id: Type.String({ minLength: 1, maxLength: 24 }), tier: Type.Optional(Text(32)) }, { additionalProperties: false })),
    /** The digital receipt's URL (HQ's e-receipt page for this transaction), shown as a QR code. */
    url: Type.Optional(Type.String({ minLength: 1, maxLength: 1024 })),
  },
  { additionalProperties: false },
);

export type ReceiptModel = Static<typeof ReceiptModelSchema>;
