/**
 * The `kiosk` config slice: which devices belong to which kiosk, and the checkout rules.
 * Declared here, referenced once from gateway/config.ts.
 */
import { Type, type Static } from '@sinclair/typebox';
import { ID_PATTERN } from '../protocol/topics.js';

const Id = Type.String({ pattern: ID_PATTERN });

export const KioskDevices = Type.Object(
  {
    scanner: Type.Optional(Id),
    produceScale: Type.Optional(Id),
    baggingScale: Type.Optional(Id),
    rfid: Type.Optional(Id),
    light: Type.Optional(Id),
    payment: Type.Optional(Id),
    /** A receipt printer (kind `printer`): each completed sale is printed on it. */
    printer: Type.Optional(Id),
  },
  { additionalProperties: false },
);

export const KioskConfigSchema = Type.Object(
  {
    /** Per kiosk id (from `kiosks`): its peripherals, each a device id of the matching kind. */
    devices: Type.Record(Type.String(), KioskDevices, { default: {} }),
    /** Variable-measure region of barcodes.ts (`GB`, `DE`, `SE`, `US`…); none = plain GTINs only. */
    region: Type.Optional(Type.String({ maxLength: 16 })),
    /** ISO 4217 code of every price, total and payment; its exponent (EUR 2, JPY 0, KWD 3) sets the minor units. */
    currency: Type.String({ pattern: '^[A-Z]{3}$', default: 'EUR', description: 'ISO 4217 code of every price, total and payment; its exponent sets the minor units (EUR 2, JPY 0, KWD 3). A GS1 (393n) amount in another currency is refused.' }),
    /** The kiosk page's language for each new shopper: a session that ends, or an idle page, returns to it. */
    language: Type.Union([Type.Literal('en'), Type.Literal('zh')], { default: 'en', description: "The kiosk page's language for each new shopper: it returns to it when a session ends and when an idle page is left alone." }),
    /** A language a shopper picked on an idle page (no item scanned) goes back to `language` after this long without a touch. */
    languageIdleMs: Type.Integer({ minimum: 1000, maximum: 3_600_000, default: 60_000, description: 'A language picked on an idle kiosk page (nothing scanned) returns to `kiosk.language` after this long without a touch.' }),
    /** The page's sound cues (scan accepted, error, help), generated in the browser; 0 = silent. */
    soundVolume: Type.Number({ minimum: 0, maximum: 1, default: 0.6, description: "Volume of the kiosk page's sound cues (scan accepted, error, help called), 0 (silent) to 1." }),
    /** The terminal gets a cancel after this long without a result; the session stays "paying" until it answers. */
    paymentTimeoutMs: Type.Integer({ minimum: 100, maximum: 600_000, default: 60_000 }),
    /** With no answer to that cancel either, the attendant is called. */
    paymentUnknownMs: Type.Integer({ minimum: 100, maximum: 600_000, default: 30_000 }),
    /** A removal or a quantity decrease needs an attendant. */
    removalNeedsAttendant: Type.Boolean({ default: false }),
    /** The shopper's cancel of a cart with items needs an attendant (a void); an empty cart cancels at once. */
    voidNeedsAttendant: Type.Boolean({ default: false }),
    /** A completed sale may be voided on the ops page (attendant or admin) until it is this old; later, a return at the till. */
    saleVoidWindowMs: Type.Integer({ minimum: 60_000, maximum: 86_400_000, default: 3_600_000, description: 'A completed sale may be voided on the ops page (attendant or admin, with a reason) until it is this old; after that it is taken back as a return at the till.' }),
    /** After "thank you" (or a cancel) the kiosk returns to idle after this long. */
    doneResetMs: Type.Integer({ minimum: 100, maximum: 600_000, default: 15_000 }),
    /** Bagging-area tolerance (max(±10 g, ±5 %): vendors publish none, kiosk/README.md), and the noise floor. */
    bagToleranceG: Type.Integer({ minimum: 0, maximum: 10_000, default: 10 }),
    bagTolerancePct: Type.Number({ minimum: 0, maximum: 100, default: 5 }),
    bagNoiseG: Type.Integer({ minimum: 0, maximum: 1000, default: 5 }),
    /**
     * An RFID tag (GTIN and serial) sold at a kiosk is ignored by that kiosk's basket
     * reader for this long, so a paid basket still at the reader never enters the next cart; 0 = off.
     */
    soldTagQuietMs: Type.Integer({
      minimum: 0,
      maximum: 604_800_000,
      default: 1_800_000,
      description: "An RFID tag (GTIN and serial) sold at a kiosk is ignored by that kiosk's basket reader for this long (kept in kiosk.db across restarts), so a paid basket still at the reader never starts or enters the next cart; 0 turns it off.",
    }),
    /** The printed receipt of a kiosk with a `printer` (gateway/kiosk/receipt.ts). */
    receipt: Type.Object(
      {
        print: Type.Union([Type.Literal('always'), Type.Literal('ask'), Type.Literal('never'), Type.Boolean()], {
          default: 'ask',
          description:
            "On a kiosk with a `printer` device: `ask` offers a \"Print receipt\" button on the thank-you screen (paper only for shoppers who want it; the QR of the digital receipt is always shown), `always` prints after each completed sale, `never` does not print. `true`/`false` mean `always`/`never`.",
        }),
        storeName: Type.Optional(Type.String({ minLength: 1, maxLength: 60, description: 'The name at the top of the receipt (default: the store id).' })),
        header: Type.Array(Type.String({ maxLength: 120 }), { maxItems: 10, default: [], description: 'Lines under the store name (address, VAT number).' }),
        qrUrl: Type.Optional(Type.String({ minLength: 1, maxLength: 400, pattern: '^https?://.*\\{transactionId\\}', description: 'The digital receipt\'s URL with `{transactionId}` in it, printed as a QR code; no QR without it.' })),
      },
      { additionalProperties: false, default: {} },
    ),
    memberQrWindowS: Type.Integer({
      minimum: 5,
      maximum: 600,
      default: 60,
      description: "How old (by the phone's clock) a member QR's presentation may be when scanned; each is accepted once (kiosk.db remembers it).",
    }),
    memberQrSkewS: Type.Integer({
      minimum: 0,
      maximum: 600,
      default: 30,
      description: "How far a member's phone clock may be off the gateway's, either way: a presentation is accepted from window + skew in the past to skew in the future.",
    }),
  },
  { additionalProperties: false, default: {} },
);

export type KioskConfig = Static<typeof KioskConfigSchema>;
export type KioskDeviceMap = Static<typeof KioskDevices>;

export type ReceiptPrintMode = 'always' | 'ask' | 'never';

/** The receipt print mode, the old boolean read as `always` / `never`. */
export function receiptPrintMode(print: KioskConfig['receipt']['print']): ReceiptPrintMode {
  return print === true ? 'always' : print === false ? 'never' : print;
}
