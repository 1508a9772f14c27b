/**
 * What a kiosk page sends on `/ws/kiosk`: a hello, then intents only. One schema per intent,
 * discriminated by `type`; the socket checks each message against the schema of its type before
 * the session sees it, and the page imports the `Static` types only.
 *
 * Other fields are allowed and never read: a price, total or amount planted by the page changes
 * nothing, because the gateway prices every line from the catalog. Lengths count Unicode code
 * points (JSON Schema's string length); the socket's 4 KiB message cap bounds the bytes.
 *
 * To add an intent: one const below and one branch of `KioskSessionIntentSchema`.
 */
import { Type, type Static, type TSchema } from '@sinclair/typebox';

/** Free text the page may send (a scanned code, a typed member code). */
const MAX_TEXT = 512;
/** A line's quantity; 0 removes the line. */
const MAX_QTY = 999;

const text = (maxLength: number) => Type.String({ minLength: 1, maxLength });
const bare = <T extends string>(type: T) => Type.Object({ type: Type.Literal(type) });

/** First message of a socket: which kiosk and its token (checked against the kiosk's scrypt hash). */
export const KioskHelloSchema = Type.Object({ type: Type.Literal('hello'), kioskId: Type.String(), token: Type.String() });

/** A code typed into the demo scan field; read only in demo mode, where it stands in for the scanner. */
export const ScanIntent = Type.Object({ type: Type.Literal('scan'), code: text(MAX_TEXT), symbology: Type.Optional(text(64)) });
export const SetQtyIntent = Type.Object({ type: Type.Literal('setQty'), lineId: text(64), qty: Type.Integer({ minimum: 0, maximum: MAX_QTY }) });
/** `serial`: one RFID-tagged piece of the line, else the whole line. */
export const RemoveIntent = Type.Object({ type: Type.Literal('remove'), lineId: text(64), serial: Type.Optional(text(20)) });
export const MemberIntent = Type.Object({ type: Type.Literal('member'), code: text(64) });
/** `lang`: the page's language, the printed receipt's. */
export const PayIntent = Type.Object({ type: Type.Literal('pay'), lang: Type.Optional(Type.Union([Type.Literal('en'), Type.Literal('zh')])) });
export const CancelIntent = bare('cancel');
export const HelpIntent = bare('help');
/** An item sold by weight picked on screen; the produce scale's weight prices it. */
export const PickProduceIntent = Type.Object({ type: Type.Literal('pickProduce'), gtin: text(14) });
/** Spend loyalty points on the cart (0 takes the spend back); what they are worth is the gateway's. */
export const SpendPointsIntent = Type.Object({ type: Type.Literal('spendPoints'), points: Type.Integer({ minimum: 0, maximum: 1_000_000_000 }) });
/** Click & collect: hand over the order on screen, or close it. */
export const PickupConfirmIntent = bare('pickupConfirm');
export const PickupCloseIntent = bare('pickupClose');
/** The thank-you screen's "Print receipt": the gateway prints the finished sale's receipt at most once. */
export const PrintReceiptIntent = bare('printReceipt');
/** A coupon code typed behind the "Coupon" button (a scanned one comes from the scanner); the gateway verifies and prices it. */
export const CouponIntent = Type.Object({ type: Type.Literal('coupon'), code: text(MAX_TEXT) });
/** Takes a coupon off the cart (its serial is free again). */
export const CouponRemoveIntent = Type.Object({ type: Type.Literal('couponRemove'), couponId: text(32), serial: Type.String({ maxLength: 24 }) });

/** Every intent a session accepts after the hello. */
export const KioskSessionIntentSchema = Type.Union([
  ScanIntent,
  SetQtyIntent,
  RemoveIntent,
  MemberIntent,
  PayIntent,
  CancelIntent,
  HelpIntent,
  PickProduceIntent,
  PickupConfirmIntent,
  PickupCloseIntent,
  PrintReceiptIntent,
  SpendPointsIntent,
  CouponIntent,
  CouponRemoveIntent,
]);
/** An intent a session acts on. */
export type KioskSessionIntent = Static<typeof KioskSessionIntentSchema>;
export type KioskIntentType = KioskSessionIntent['type'];

/** The union's branches by their `type` literal: the socket checks a message against its own type's schema. */
export const KIOSK_INTENT_SCHEMAS: ReadonlyMap<string, TSchema> = new Map(KioskSessionIntentSchema.anyOf.map((s) => [s.properties.type.const, s]));

/** Everything a page sends: the hello, then intents. */
export const KioskIntentSchema = Type.Union([KioskHelloSchema, KioskSessionIntentSchema]);
export type KioskHello = Static<typeof KioskHelloSchema>;
export type KioskIntent = Static<typeof KioskIntentSchema>;
