/**
 * Pure: which movements an event of the store is, and the exact `stockMove` record of a movement.
 * Movement ids are derived from what happened, never random, so the same event seen twice (the
 * live path and the start-up catch-up, a replay after a crash) is one movement:
 * `sale:<transactionId>:<line>`, `pick:<orderId>:<line>`, and for ops actions the request id the
 * page made for that press (`rcv:<requestId>:<line>`, `adj:…`, `ret:…`, `cnt:…`).
 */
import type { StockMoveRec } from '../protocol/schemas/stock.js';
import type { MovementRow } from './store.js';

export type NewMovement = Omit<MovementRow, 'seq'>;

interface SaleLine {
  gtin: string;
  qty: number;
  grams?: number;
}

/**
 * A sale's lines as movements out of stock. A weighed line moves its grams (uom `g`); every
 * other line its count.
 */
export function saleMovements(sale: { transactionId: string; kioskId: string; ts: string; lines: readonly SaleLine[] }, recordTime: number): NewMovement[] {
  const eventTime = Date.parse(sale.ts);
  return sale.lines.map((l, i) => ({
    movementId: `sale:${sale.transactionId}:${i}`,
    gtin: l.gtin,
    kind: 'sale' as const,
    qty: -(l.grams !== undefined ? l.grams * l.qty : l.qty),
    uom: l.grams !== undefined ? ('g' as const) : ('unit' as const),
    reason: null,
    eventTime: Number.isFinite(eventTime) ? eventTime : recordTime,
    recordTime,
    actor: `kiosk:${sale.kioskId}`,
    sourceRef: sale.transactionId,
  }));
}

/** A click & collect order collected at a kiosk: its lines (those with a GTIN) leave the store. */
export function pickupMovements(orderId: string, kioskId: string, lines: readonly { gtin?: string; qty: number }[], eventTime: number, recordTime: number): NewMovement[] {
  return lines.flatMap((l, i) =>
    l.gtin ? [{ movementId: `pick:${orderId}:${i}`, gtin: l.gtin, kind: 'pickup' as const, qty: -l.qty, uom: 'unit' as const, reason: null, eventTime, recordTime, actor: `kiosk:${kioskId}`, sourceRef: orderId }] : [],
  );
}

/** Per GTIN, what open click & collect orders hold back. */
export function reservedOf(orders: readonly { lines: readonly { gtin?: string; qty: number }[] }[]): Map<string, number> {
  const out = new Map<string, number>();
  for (const o of orders) for (const l of o.lines) if (l.gtin) out.set(l.gtin, (out.get(l.gtin) ?? 0) + l.qty);
  return out;
}

/** The exact record HQ gets for a movement. */
export function stockMoveRecord(m: NewMovement): StockMoveRec {
  return {
    ts: new Date(m.recordTime).toISOString(),
    movementId: m.movementId,
    gtin: m.gtin,
    kind: m.kind,
    qty: m.qty,
    uom: m.uom,
    ...(m.reason ? { reason: m.reason } : {}),
    eventTime: new Date(m.eventTime).toISOString(),
    recordTime: new Date(m.recordTime).toISOString(),
    actor: m.actor,
    ...(m.sourceRef ? { sourceRef: m.sourceRef } : {}),
  };
}

/** One GTIN in the stock report and on the ops page: available = on hand − reserved. */
export interface StockLine {
  gtin: string;
  onHand: number;
  reserved: number;
  available: number;
}

export function stockLine(gtin: string, onHand: number, reserved: number): StockLine {
  return { gtin, onHand, reserved, available: onHand - reserved };
}
