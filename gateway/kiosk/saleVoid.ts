/**
 * Voiding a completed sale, pure: whether a void may happen, how the money goes back, and what
 * it gives back (stock, serials, points and coupons), decided from the sale as the ledger holds it.
 * The I/O shell (the ledger row of the void, the terminal command, the stock movements, the
 * `saleVoided` record) applies this plan step by step, each step keyed by the transaction id so a
 * repeat after a crash finds it done.
 *
 * How the money goes back: a card terminal can reverse (ZVT Reversal, 06 30) only the last payment
 * it made, named by the terminal's receipt number (ZVT protocol specification, "Reversal": the
 * terminal refuses any other). So the void reverses when the sale's payment is the last one its
 * terminal took and the sale kept the receipt number; otherwise the shopper is owed a refund
 * (paid at the till or back to the card by the acquirer), and the record says so and why.
 */
import type { Step } from '../db/owner.js';
import type { SaleVoidedRec } from '../protocol/schemas/saleVoid.js';
import type { KioskTransactionRec } from '../protocol/schemas/kiosk.js';
import type { NewMovement } from '../stock/movements.js';
import { couponReleaseRecords } from './saleRecords.js';
import { serialsOfSale } from './serialStore.js';

/** A sale as the void reads it: the fields of the exact `transaction` record it needs. */
export interface VoidableSale {
  transactionId: string;
  kioskId: string;
  ts: string;
  total: number;
  currency: string;
  lines: readonly { gtin: string; qty: number; grams?: number; serials?: readonly string[] }[];
  payment: { requestId: string; amount: number; receiptNo?: string };
  memberCode?: string;
  points?: { earned: number; spent: number };
  coupons?: readonly unknown[];
}

export type VoidRefusal = { ok: false; status: 404 | 409; code: 'SGW_ERR_NOT_FOUND' | 'SGW_ERR_ALREADY_VOIDED' | 'SGW_ERR_VOID_TOO_LATE'; message: string };

/**
 * May this sale be voided now? Unknown: 404. Voided before: 409 (a void is done once; the page
 * shows the first). Older than `windowMs`: 409 (after that a return at the till is the way, with
 * the goods in hand).
 */
export function checkVoid(sale: VoidableSale | null, alreadyVoided: boolean, now: number, windowMs: number, transactionId: string): { ok: true } | VoidRefusal {
  if (!sale) return { ok: false, status: 404, code: 'SGW_ERR_NOT_FOUND', message: `params.transactionId: no sale ${transactionId} in this store's ledger` };
  if (alreadyVoided) return { ok: false, status: 409, code: 'SGW_ERR_ALREADY_VOIDED', message: `params.transactionId: sale ${transactionId} is voided already` };
  const at = Date.parse(sale.ts);
  if (!Number.isFinite(at) || now - at > windowMs) {
    return { ok: false, status: 409, code: 'SGW_ERR_VOID_TOO_LATE', message: `params.transactionId: sale ${transactionId} is older than the void window (${Math.round(windowMs / 60_000)} min); take it back as a return at the till` };
  }
  return { ok: true };
}

export type Refund = SaleVoidedRec['refund'];

/**
 * How the money goes back. `lastOfTerminal`: the request id of the last payment the sale's
 * terminal took (approved or not), or null when unknown.
 */
export function refundOf(sale: VoidableSale, lastOfTerminal: string | null): Refund {
  const p = sale.payment;
  if (p.amount === 0) return { kind: 'owed', amount: 0, why: 'nothing was paid by card' };
  if (p.receiptNo === undefined) return { kind: 'owed', amount: p.amount, why: 'the payment has no terminal receipt number (not a card payment, or an attendant override)' };
  if (lastOfTerminal !== p.requestId) return { kind: 'owed', amount: p.amount, why: 'the terminal has taken another payment since: it reverses only its last one' };
  return { kind: 'reversed', paymentRequestId: p.requestId, amount: p.amount, receiptNo: p.receiptNo };
}

/** The stock the sale took, given back: one `return` movement per line, keyed by the transaction. */
export function voidMovements(sale: VoidableSale, by: string, now: number): NewMovement[] {
  return sale.lines.map((l, i) => ({
    movementId: `void:${sale.transactionId}:${i}`,
    gtin: l.gtin,
    kind: 'return' as const,
    qty: l.grams !== undefined ? l.grams * l.qty : l.qty,
    uom: l.grams !== undefined ? ('g' as const) : ('unit' as const),
    reason: 'void',
    eventTime: now,
    recordTime: now,
    actor: by,
    sourceRef: sale.transactionId,
  }));
}

/**
 * Points earned and spent, and single-use coupons, given back by the loyalty side. Both halves are
 * keyed by the transaction id, so a repeat after a crash changes nothing more.
 */
export interface VoidGiveBack {
  /**
   * kiosk.db statements run in the void's own commit: the points ledger's reversal rows, the
   * sale's single-use coupon serials free again and the member's per-coupon counts lowered. From
   * that commit on the balance and the coupons are back, whatever happens next.
   */
  commitSteps(transactionId: string, now: number): Step[];
  /** After the commit: one exact `pointsChange` record per reversal row (each once), the offline balance updated. */
  pointsBack(transactionId: string): Promise<void>;
}

/**
 * What the sale added to the store's numbers, for the KPIs to take out again (the hour's member
 * sales and transactions, points issued and spent, coupon redemptions). Whether there was a member
 * is enough for those counts: the member code itself stays out of the record.
 */
export function voidCounts(sale: VoidableSale): NonNullable<SaleVoidedRec['counts']> {
  const count = (v: unknown) => (Number.isInteger(v) && (v as number) > 0 ? (v as number) : 0);
  return { member: typeof sale.memberCode === 'string' && sale.memberCode.length > 0, pointsEarned: count(sale.points?.earned), pointsSpent: count(sale.points?.spent), coupons: sale.coupons?.length ?? 0 };
}

/**
 * The records of a void, committed to the outbox as one group: the `saleVoided` record first, then
 * one `couponReleased` per coupon the sale used (the exact reverse of its `couponRedeemed`).
 */
export function voidRecords(sale: VoidableSale, record: SaleVoidedRec): { type: 'saleVoided' | 'couponReleased'; data: object }[] {
  return [{ type: 'saleVoided', data: record }, ...couponReleaseRecords(sale as unknown as KioskTransactionRec, record.ts).map((c) => ({ type: 'couponReleased' as const, data: c }))];
}

/** The exact record HQ gets. */
export function saleVoidedRecord(sale: VoidableSale, o: { by: string; role: 'attendant' | 'admin'; reason: string; refund: Refund; now: number }): SaleVoidedRec {
  return {
    ts: new Date(o.now).toISOString(),
    transactionId: sale.transactionId,
    kioskId: sale.kioskId,
    saleTs: sale.ts,
    total: sale.total,
    currency: sale.currency,
    by: o.by,
    role: o.role,
    reason: o.reason,
    refund: o.refund,
    movements: sale.lines.map((_, i) => `void:${sale.transactionId}:${i}`),
    serials: serialsOfSale(sale).map((s) => ({ gtin: s.gtin, serial: s.serial })),
    counts: voidCounts(sale),
  };
}
