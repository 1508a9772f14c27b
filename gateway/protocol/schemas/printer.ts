/**
 * Receipt printer (kind `printer`, firmware-bridge/devices/escpos/README.md). The gateway sends a
 * structured receipt whose labels it has already put in the shopper's language and whose amounts
 * are integer minor units; the bridge lays it out for the printer's width and formats the amounts
 * with gateway/protocol/currency.ts, so no price is ever computed outside the gateway.
 */
import { Type, type Static } from '@sinclair/typebox';
import { Currency, Timestamp, command } from './common.js';

const Text = Type.String({ maxLength: 120 });
/** Signed: a discount line is negative. */
const Amount = Type.Integer({ minimum: -1_000_000_000, maximum: 1_000_000_000 });

export const ReceiptLine = Type.Object(
  {
    text: Text,
    /** Quantity as the gateway says it ("2 x 1.29", "0.512 kg"), printed under the text. */
    qty: Type.Optional(Type.String({ maxLength: 60 })),
    amount: Amount,
  },
  { additionalProperties: false },
);

export const Receipt = Type.Object(
  {
    storeName: Type.String({ minLength: 1, maxLength: 60 }),
    header: Type.Array(Text, { maxItems: 10 }),
    lines: Type.Array(ReceiptLine, { minItems: 1, maxItems: 1000 }),
    totals: Type.Array(Type.Object({ label: Text, amount: Amount, bold: Type.Optional(Type.Boolean()) }, { additionalProperties: false }), { maxItems: 10 }),
    /** VAT per rate: prices include it, so `net + tax` is that rate's gross. */
    vat: Type.Array(Type.Object({ label: Text, net: Amount, tax: Amount }, { additionalProperties: false }), { maxItems: 16 }),
    /** Payment lines (card type, masked card number, receipt number) and the terminal's own receipt lines. */
    payment: Type.Array(Type.String({ maxLength: 80 }), { maxItems: 240 }),
    footer: Type.Array(Text, { maxItems: 10 }),
    /** The digital receipt's URL, printed as a QR code. */
    qr: Type.Optional(Type.String({ minLength: 1, maxLength: 1024 })),
    currency: Currency,
    language: Type.Union([Type.Literal('en'), Type.Literal('zh')]),
    transactionId: Type.String({ minLength: 1, maxLength: 64 }),
  },
  { additionalProperties: false },
);

export const PrinterPrint = command({ receipt: Receipt });

/** What the printer reports about itself (real-time status); class latest. */
export const PrinterStatus = Type.Object(
  {
    ts: Timestamp,
    online: Type.Boolean(),
    paper: Type.Union([Type.Literal('ok'), Type.Literal('nearEnd'), Type.Literal('out')]),
    coverOpen: Type.Boolean(),
    error: Type.Optional(Type.String({ maxLength: 256 })),
  },
  { additionalProperties: true },
);

export type ReceiptDoc = Static<typeof Receipt>;
export type PrinterPrintCmd = Static<typeof PrinterPrint>;
export type PrinterStatusEvt = Static<typeof PrinterStatus>;
