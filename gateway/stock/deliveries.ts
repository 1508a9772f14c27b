/**
 * Expected deliveries, the pure part: the signed `deliveries` feed body HQ pushes on
 * `hq/v1/store/{storeId}/deliveries` (an advance ship notice per delivery: its lines, GTIN and
 * quantity), and what "confirm at the back door" turns into: receipt movements for what was
 * actually counted off the truck, line by line, several confirmations allowed (partial), never more
 * than a line announced in one confirmation without saying so (an over-delivery is a receipt too,
 * but it is flagged to the person confirming).
 */
import type { NewMovement } from './movements.js';

// The body schema is part of the wire contract, shared with HQ's signing tool: gateway/protocol/schemas/feeds/.
export { Delivery, DeliveriesBody, type DeliveryT, type DeliveriesBodyT } from '../protocol/schemas/feeds/deliveries.js';
import type { DeliveryT } from '../protocol/schemas/feeds/deliveries.js';

export type ConfirmResult = { ok: true; moves: NewMovement[] } | { ok: false; field: string; message: string };

/**
 * Receipt movements for one confirmation: `lines[i].line` is the index of the announced line,
 * `qty` the units taken in now. Keyed by delivery, line and the page's request id, so the same
 * confirmation sent twice is one receipt.
 */
export function confirmMovements(d: DeliveryT, requestId: string, lines: readonly { line: number; qty: number }[], by: string, now: number): ConfirmResult {
  const seen = new Set<number>();
  for (const [i, l] of lines.entries()) {
    if (!Number.isInteger(l.line) || l.line < 0 || l.line >= d.lines.length) return { ok: false, field: `body.lines[${i}].line`, message: `delivery ${d.deliveryId} has lines 0..${d.lines.length - 1}` };
    if (seen.has(l.line)) return { ok: false, field: `body.lines[${i}].line`, message: `line ${l.line} is named twice` };
    seen.add(l.line);
  }
  return {
    ok: true,
    moves: lines.map((l) => ({ movementId: `dlv:${d.deliveryId}:${l.line}:${requestId}`, gtin: d.lines[l.line]!.gtin, kind: 'receipt' as const, qty: l.qty, uom: 'unit' as const, reason: null, eventTime: now, recordTime: now, actor: by, sourceRef: d.deliveryId })),
  };
}

/** Per announced line, how many units confirmations took in so far (from the delivery's receipt movements). */
export function receivedPerLine(d: DeliveryT, moves: readonly { movementId: string; qty: number }[]): number[] {
  const out = d.lines.map(() => 0);
  const prefix = `dlv:${d.deliveryId}:`;
  for (const m of moves) {
    if (!m.movementId.startsWith(prefix)) continue;
    const line = Number(m.movementId.slice(prefix.length).split(':')[0]);
    if (Number.isInteger(line) && line >= 0 && line < out.length) out[line]! += m.qty;
  }
  return out;
}
