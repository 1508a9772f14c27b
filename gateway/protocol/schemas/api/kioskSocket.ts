/**
 * What the gateway sends a kiosk page on `/ws/kiosk`: the whole cart after every change (with a
 * version that only grows), a welcome after the hello, and errors. Money is integer minor units of
 * `currency`. The kiosk page imports these types only.
 */
import { Type, type Static } from '@sinclair/typebox';
import { AttendantKinds } from '../kiosk.js';
import { PAYMENT_PROMPTS } from '../payment.js';
import { ReceiptModelSchema } from '../receipt.js';

const Minor = Type.Integer();
const Opt = Type.Optional;

export const SessionPhaseSchema = Type.Union([Type.Literal('idle'), Type.Literal('shopping'), Type.Literal('needsAttendant'), Type.Literal('paying'), Type.Literal('done'), Type.Literal('cancelled')]);
export type SessionPhase = Static<typeof SessionPhaseSchema>;

export const CartLineViewSchema = Type.Object({
  lineId: Type.String(),
  gtin: Type.String(),
  name: Type.String(),
  unit: Type.Union([Type.Literal('each'), Type.Literal('kg')]),
  qty: Type.Integer(),
  grams: Opt(Type.Integer()),
  unitPrice: Minor,
  basePrice: Minor,
  price: Minor,
  saving: Minor,
  /** RFID-tagged items: one serial per piece. */
  serials: Opt(Type.Array(Type.String())),
  ageRestricted: Type.Boolean(),
  source: Type.Union([Type.Literal('base'), Type.Literal('promo'), Type.Literal('member'), Type.Literal('embedded')]),
});
export type CartLineView = Static<typeof CartLineViewSchema>;

export const AttendantRequestViewSchema = Type.Object({
  requestId: Type.String(),
  kind: Type.Union(AttendantKinds.map((k) => Type.Literal(k))),
  item: Opt(Type.String()),
  createdAt: Type.String(),
  /** void / override: minor units in `currency`; void: items in the cart. The pages format these. */
  amount: Opt(Minor),
  currency: Opt(Type.String()),
  count: Opt(Type.Integer()),
});
export type AttendantRequestView = Static<typeof AttendantRequestViewSchema>;

const VatLine = Type.Object({ rateBp: Type.Union([Type.Integer(), Type.Null()]), gross: Minor, net: Minor, vat: Minor });

export const CartViewSchema = Type.Object({
  type: Type.Literal('cart'),
  kioskId: Type.String(),
  sessionId: Type.String(),
  version: Type.Integer(),
  phase: SessionPhaseSchema,
  lines: Type.Array(CartLineViewSchema),
  subtotal: Minor,
  discounts: Minor,
  total: Minor,
  currency: Type.String(),
  memberCode: Type.Union([Type.String(), Type.Null()]),
  /** What the screen shows of the member: the id masked (last few characters) and the tier. */
  member: Opt(Type.Union([Type.Object({ masked: Type.String(), tier: Type.Union([Type.String(), Type.Null()]) }), Type.Null()])),
  requests: Type.Array(AttendantRequestViewSchema),
  helpCalled: Type.Boolean(),
  bagging: Type.Object({
    state: Type.Union([Type.Literal('ok'), Type.Literal('placeItem'), Type.Literal('unexpected'), Type.Literal('removed'), Type.Literal('off')]),
    deltaG: Type.Number(),
  }),
  payment: Type.Union([Type.Object({ requestId: Type.String(), amount: Minor, status: Type.String() }), Type.Null()]),
  /**
   * The finished sale: its id, total and VAT, and the receipt model (the same one the printer gets;
   * absent when it could not be built) with what the thank-you screen may offer for print.
   */
  receipt: Type.Union([
    Type.Object({
      transactionId: Type.String(),
      total: Minor,
      authCode: Type.String(),
      vat: Type.Array(VatLine),
      model: Opt(ReceiptModelSchema),
      print: Opt(Type.Object({ offer: Type.Boolean(), printed: Type.Boolean() })),
    }),
    Type.Null(),
  ]),
  notice: Type.Union([Type.Object({ code: Type.String(), detail: Opt(Type.String()) }), Type.Null()]),
  produceWeight: Type.Union([Type.Object({ grams: Type.Number(), stable: Type.Boolean() }), Type.Null()]),
  /** The produce lookup: weighed items, most-sold first; `price` is per kg, `image` a gateway path. */
  produce: Type.Array(Type.Object({ gtin: Type.String(), name: Type.String(), nameZh: Opt(Type.String()), plu: Opt(Type.String()), price: Minor, image: Opt(Type.String()) })),
  demo: Type.Boolean(),
  /** Loyalty points of the member on the cart: earned by this sale, spent on it (and what they take off), spendable. */
  points: Opt(Type.Object({ earned: Type.Integer(), spent: Type.Integer(), discount: Minor, available: Type.Integer(), spendable: Type.Integer() })),
  /** Coupons presented, in order: what each took off, or why it does not apply (yet). Lines show their price before coupons. */
  coupons: Opt(
    Type.Array(
      Type.Object({
        couponId: Type.String(),
        serial: Type.String(),
        label: Type.Object({ en: Type.String(), zh: Opt(Type.String()) }),
        amount: Minor,
        applied: Type.Boolean(),
        reason: Opt(Type.String()),
        /** Minimum spend: how much more the basket needs. */
        missing: Opt(Minor),
      }),
    ),
  ),
  /** Click & collect: the online order shown after its pickup code was scanned. */
  pickup: Opt(
    Type.Union([
      Type.Object({
        orderId: Type.String(),
        customer: Type.String(),
        lines: Type.Array(Type.Object({ name: Type.String(), qty: Type.Integer() })),
        total: Minor,
        currency: Type.String(),
        status: Type.Union([Type.Literal('ready'), Type.Literal('collected')]),
      }),
      Type.Null(),
    ]),
  ),
});
export type CartView = Static<typeof CartViewSchema>;

/** The page's language for each new shopper, and how long a language picked on an idle page lasts. */
export const KioskLanguageSchema = Type.Object({ default: Type.Union([Type.Literal('en'), Type.Literal('zh')]), idleMs: Type.Integer() });
export type KioskLanguage = Static<typeof KioskLanguageSchema>;

/** `soundVolume`: the page's sound cues, 0 (silent) to 1. */
export const KioskWelcome = Type.Object({ type: Type.Literal('welcome'), kioskId: Type.String(), language: Opt(KioskLanguageSchema), soundVolume: Opt(Type.Number({ minimum: 0, maximum: 1 })) });
/** A refused message: the field and what is wrong, or a rate limit with its wait. */
export const KioskSocketError = Type.Object({ type: Type.Literal('error'), code: Type.String(), message: Type.String(), retryAfterS: Opt(Type.Integer()) });

/**
 * What the card terminal asks of the shopper during the kiosk's current charge ("insert card").
 * Sent as it comes and again after a reconnect while it is the latest; never part of the cart, so
 * it changes no version and no money. The page says it in its own language from `prompt`.
 */
export const KioskPaymentPromptSchema = Type.Object({
  type: Type.Literal('paymentPrompt'),
  requestId: Type.String(),
  prompt: Type.Union(PAYMENT_PROMPTS.map((p) => Type.Literal(p))),
  code: Opt(Type.Integer()),
  text: Opt(Type.String()),
});
export type KioskPaymentPrompt = Static<typeof KioskPaymentPromptSchema>;

export const KioskServerMsgSchema = Type.Union([CartViewSchema, KioskSocketError, KioskWelcome, KioskPaymentPromptSchema]);
export type KioskServerMsg = Static<typeof KioskServerMsgSchema>;
