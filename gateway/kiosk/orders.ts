/**
 * Click & collect, the pure part: the signed `orders` feed body HQ pushes on
 * `hq/v1/store/{storeId}/orders`, the pickup code a shopper scans, what the kiosk shows for it and
 * the exact `pickup` record. No clock, no I/O: the shell (orderFeed.ts, sessions.ts) passes `now`.
 */

// The body schema is part of the wire contract, shared with HQ's signing tool: gateway/protocol/schemas/feeds/.
export { OnlineOrder, OrdersBody, type OnlineOrderT, type OrdersBodyT } from '../protocol/schemas/feeds/orders.js';
import type { OnlineOrderT } from '../protocol/schemas/feeds/orders.js';

export type OrderStatus = 'ready' | 'collecting' | 'collected' | 'removed';

export interface OrderRow {
  order: OnlineOrderT;
  status: OrderStatus;
  kioskId: string | null;
  collectedAt: number | null;
}

/** The printed/e-mailed pickup QR holds `PICKUP:<code>`; a scan without the prefix is a product barcode. */
export const PICKUP_PREFIX = 'PICKUP:';

export function pickupCodeOf(scanned: string): string | null {
  if (!scanned.startsWith(PICKUP_PREFIX)) return null;
  const code = scanned.slice(PICKUP_PREFIX.length).trim().toUpperCase();
  return /^[A-Z0-9]{6,32}$/.test(code) ? code : '';
}

export interface PickupView {
  orderId: string;
  customer: string;
  lines: { name: string; qty: number }[];
  total: number;
  currency: string;
  status: 'ready' | 'collected';
}

export type PickupDecision = { ok: true; view: PickupView } | { ok: false; notice: { code: 'pickupUnknown' | 'pickupUsed' | 'pickupBusy'; detail?: string } };

/** What a scanned pickup code shows: the order, or why not (unknown, already collected, being collected elsewhere). */
export function decidePickup(row: OrderRow | null): PickupDecision {
  if (!row || row.status === 'removed') return { ok: false, notice: { code: 'pickupUnknown' } };
  // The detail is language-neutral (order @ kiosk, ISO time): the page says the sentence in its language.
  if (row.status === 'collected') return { ok: false, notice: { code: 'pickupUsed', detail: `${row.order.orderId}${row.kioskId ? ` @ ${row.kioskId}` : ''}${row.collectedAt !== null ? ` ${new Date(row.collectedAt).toISOString()}` : ''}` } };
  if (row.status === 'collecting') return { ok: false, notice: { code: 'pickupBusy', detail: `${row.order.orderId} @ ${row.kioskId ?? '?'}` } };
  const o = row.order;
  return { ok: true, view: { orderId: o.orderId, customer: o.customer ?? '', lines: o.lines.map((l) => ({ name: l.name, qty: l.qty })), total: o.total, currency: o.currency, status: 'ready' } };
}

/** The exact `pickup` record (kind kiosk, deviceId = kiosk id; schema KioskPickup). */
export function pickupRecord(o: OnlineOrderT, kioskId: string, now: number): Record<string, unknown> {
  const ts = new Date(now).toISOString();
  return { ts, kioskId, orderId: o.orderId, pickupCode: o.pickupCode, lines: o.lines, total: o.total, currency: o.currency, paidAt: o.paidAt, collectedAt: ts };
}
