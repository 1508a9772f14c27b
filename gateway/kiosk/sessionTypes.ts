/**
 * The types of a kiosk's checkout session (sessionMachine.ts steps them): the session, the actions
 * that change it, the effects the shell carries out, the rules and context a step gets
 * (with RFID tags, payment matching and structured amounts).
 */
import type { AttendantKind, KioskTransactionRec, SessionPhase } from '../protocol/schemas/kiosk.js';
import type { Line, Quote, Totals } from './cartPricing.js';
import type { VatLine } from './vat.js';
import type { RemovedTag, SoldTag } from './rfidTags.js';
import type { PointsCtx, SessionPoints } from './pointsPricing.js';
import type { SerialState } from './serialBook.js';
import type { CartCoupon } from './coupons/couponPricing.js';
import type { CouponRefusal } from './coupons/couponVerify.js';
import type { SessionCoupon } from './coupons/couponSteps.js';

export interface AttendantRequest {
  requestId: string;
  kind: AttendantKind;
  item?: string;
  createdAt: string;
  /** removal: the line and the quantity it should go to (0 = remove). */
  lineId?: string;
  qty?: number;
  /** removal of one RFID tag of the line. */
  serial?: string;
  /** override of a payment whose result is unknown or arrived after the sale moved on. */
  paymentRequestId?: string;
  /** void / override: the money concerned, structured so each page formats it in its language. */
  amount?: number;
  currency?: string;
  /** void: the number of items in the cart. */
  count?: number;
}

export interface AttendantAction {
  requestId: string;
  kind: AttendantKind;
  decision: 'approved' | 'rejected';
  by: string;
  at: string;
}

export type PaymentStatus = 'sent' | 'cancelling' | 'approved' | 'recorded';

/** The terminal's own references of an approved payment (its receipt number names it in a reversal). */
export interface TerminalRefs {
  receiptNo?: string;
  trace?: string;
  terminalId?: string;
  cardType?: string;
  maskedPan?: string;
}

export interface Payment {
  requestId: string;
  amount: number;
  status: PaymentStatus;
  authCode?: string;
  terminal?: TerminalRefs;
  /** The terminal's customer receipt lines, kept with the sale for the shopper's receipt. */
  receipt?: string[];
}

export type BagState = 'ok' | 'placeItem' | 'unexpected' | 'removed' | 'off';

export interface Bag {
  enabled: boolean;
  /** The last stable weight accepted as "what should be there". */
  acceptedG: number | null;
  lastStableG: number | null;
  /** Expected change from items scanned (or removed) since then, and its tolerance. */
  pendingG: number;
  pendingTolG: number;
  /** An item without an expected weight was scanned: any increase is accepted once. */
  pendingAny: boolean;
  state: BagState;
  deltaG: number;
}

export interface Session {
  kioskId: string;
  sessionId: string;
  phase: SessionPhase;
  version: number;
  lineSeq: number;
  lines: Line[];
  totals: Totals;
  currency: string;
  memberCode: string | null;
  /** The member's tier when the member was made known (for the sale record and the KPIs by tier). */
  memberTier?: string;
  ageApproved: boolean;
  requests: AttendantRequest[];
  attendant: AttendantAction[];
  helpCalled: boolean;
  bag: Bag;
  payment: Payment | null;
  receipt: { transactionId: string; total: number; authCode: string; vat: VatLine[] } | null;
  notice: { code: string; detail?: string } | null;
  produceWeight: { grams: number; stable: boolean } | null;
  createdAt: string;
  /** (GTIN, serial) pairs this kiosk sold, ignored by its reader until their time; kept across sessions. */
  soldTags?: SoldTag[];
  /** Tags the shopper removed from this cart: read again, they are not added back. */
  removedTags?: RemovedTag[];
  /** Loyalty points on the cart (pointsPricing.ts); absent without a member or a loyalty program. */
  points?: SessionPoints;
  /** The points the shopper asked to spend on this cart. */
  pointsSpend?: number;
  /** Coupons presented, in order, with what each did at the last pricing (coupons/couponSteps.ts). */
  coupons?: SessionCoupon[];
}

export type Action =
  | { type: 'addItem'; gtin: string; grams?: number; embeddedPrice?: number; serial?: string; via?: 'rfid' }
  /** `currency`: an amount in another currency than the store's (GS1 393n), refused. */
  | { type: 'badCode'; code: string; detail: string; currency?: string }
  | { type: 'setQty'; lineId: string; qty: number }
  | { type: 'remove'; lineId: string; serial?: string }
  | { type: 'member'; code: string; known: boolean }
  /** A member QR refused (memberPresentations.ts): the notice names the reason. */
  | { type: 'memberRefused'; notice: { code: string; detail: string } }
  | { type: 'pickProduce'; gtin: string }
  | { type: 'produceWeight'; grams: number; stable: boolean }
  | { type: 'bagWeight'; grams: number; stable: boolean }
  | { type: 'help' }
  | { type: 'pay' }
  | { type: 'cancel' }
  | { type: 'paymentResult'; requestId: string; status: 'approved' | 'declined' | 'timeout' | 'cancelled'; amount: number; currency?: string; authCode?: string; terminal?: TerminalRefs; receipt?: string[] }
  | { type: 'paymentTimeout'; requestId: string }
  | { type: 'paymentUnknown'; requestId: string }
  | { type: 'recorded'; transactionId: string }
  | { type: 'attendant'; requestId: string; decision: 'approved' | 'rejected'; by: string }
  /** An attendant ends the transaction from the ops page (a shopper walked away): an approved void. */
  | { type: 'attendantVoid'; by: string }
  /** The shopper spends points on the cart (0 takes a spend back). */
  | { type: 'spendPoints'; points: number }
  /** A coupon verified (and its serial reserved for this cart) by the shell; or refused, by name. */
  | { type: 'couponAdd'; coupon: CartCoupon }
  | { type: 'couponRefused'; reason: CouponRefusal; detail: string }
  | { type: 'couponRemove'; couponId: string; serial: string }
  /** HQ revoked a coupon on the cart (coupons feed): it goes, with the reason. */
  | { type: 'couponRevoked'; couponId: string; serial: string; reason: string }
  | { type: 'reset' };

export type Effect =
  | { type: 'charge'; requestId: string; amount: number; currency: string }
  | { type: 'cancelCharge'; requestId: string }
  /**
   * Give back money the terminal took that will not become a sale: `mismatch` = approved
   * for another amount or currency than the charge; `noSale` = approved after the sale moved on.
   */
  | { type: 'reverseCharge'; requestId: string; amount: number; currency: string; reason: 'mismatch' | 'noSale'; receiptNo?: string }
  | { type: 'recordTransaction'; data: KioskTransactionRec }
  | { type: 'recordAttendant'; data: { ts: string; requestId: string; kioskId: string; kind: AttendantKind; decision: 'approved' | 'rejected'; by: string; at: string } };

export interface MachineRules {
  removalNeedsAttendant: boolean;
  /** The shopper's "cancel" with items in the cart asks an attendant (a void) instead of ending at once. */
  voidNeedsAttendant: boolean;
  bagToleranceG: number;
  bagTolerancePct: number;
  bagNoiseG: number;
  /** How long a pair sold here is ignored by this kiosk's reader; 0 or absent: not at all. */
  soldTagQuietMs?: number;
}

/** Notices that refuse what a page asked for (the shell counts and logs them). */
export const REFUSAL_NOTICES: ReadonlySet<string> = new Set(['notSoldByWeight', 'pointsNoMember', 'pointsNotOffered', 'pointsBelowMinimum', 'pointsOverBalance', 'pointsOverBasket']);

export interface Ctx {
  now: number;
  quote: Quote;
  rules: MachineRules;
  newId: () => string;
  /** Loyalty rules and balances; absent: no points program. */
  points?: PointsCtx;
  /** What stands against selling a serialised item (sold before, blocked by HQ), or null. */
  serialState?: (gtin: string, serial: string) => SerialState | null;
  /** A member's tier, for member-only coupons (absent: none known). */
  memberTier?: (memberCode: string) => string | null;
}

export interface StepResult {
  session: Session;
  effects: Effect[];
}
