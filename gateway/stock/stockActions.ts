/**
 * What people do with stock on the ops page: find an item, see its level and last movements, the
 * low and out lists, and record goods received, adjustments (with a reason), returns and counts.
 * Each action is movements keyed by the request id the page made for that press (a double press
 * or a retried request is one movement), written as exact `stockMove` records naming who did it,
 * before the answer.
 */
import type { StockItem, StockMovementView } from '../protocol/schemas/api/stock.js';
import type { AdjustReason } from './onHand.js';
import { stockState } from './onHand.js';
import { stockLine } from './movements.js';
import type { NewMovement } from './movements.js';
import type { MovementRow } from './store.js';
import type { StockService } from './stockService.js';
import { confirmMovements, receivedPerLine, type DeliveryT } from './deliveries.js';

export interface StockActionsOptions {
  service: StockService;
  /** The catalog's item name, or null. */
  nameOf: (gtin: string) => string | null;
  /** Catalog items whose name contains `text` (case-insensitive), at most `limit`. */
  searchNames: (text: string, limit: number) => string[];
  lowBelow: number;
  now: () => number;
}

export function movementView(m: MovementRow): StockMovementView {
  return { movementId: m.movementId, kind: m.kind, qty: m.qty, uom: m.uom, reason: m.reason, eventTime: new Date(m.eventTime).toISOString(), actor: m.actor, sourceRef: m.sourceRef, seq: m.seq };
}

export class StockActions {
  constructor(private readonly o: StockActionsOptions) {}

  async item(gtin: string, reserved?: Map<string, number>): Promise<StockItem> {
    const level = await this.o.service.store.level(gtin);
    const lowBelow = (await this.o.service.store.threshold(gtin)) ?? this.o.lowBelow;
    return this.itemOf(gtin, level?.onHand ?? 0, lowBelow, reserved ?? (await this.o.service.reserved()));
  }

  private itemOf(gtin: string, onHand: number, lowBelow: number, reserved: ReadonlyMap<string, number>): StockItem {
    const line = stockLine(gtin, onHand, reserved.get(gtin) ?? 0);
    return { ...line, name: this.o.nameOf(gtin) ?? '', lowBelow, state: stockState(line.onHand, lowBelow) };
  }

  /** By GTIN (digits) or by a part of the name. */
  async find(q: string): Promise<StockItem[]> {
    const text = q.trim();
    const gtins = /^[0-9]{8,14}$/.test(text) ? [text] : this.o.searchNames(text, 20);
    const reserved = await this.o.service.reserved();
    return Promise.all(gtins.map((g) => this.item(g, reserved)));
  }

  async detail(gtin: string): Promise<{ item: StockItem; movements: StockMovementView[] }> {
    return { item: await this.item(gtin), movements: (await this.o.service.movements(gtin, 20)).map(movementView) };
  }

  async lists(limit = 100): Promise<{ out: StockItem[]; low: StockItem[] }> {
    const reserved = await this.o.service.reserved();
    const rows = await this.o.service.store.lowLevels(this.o.lowBelow, limit * 2);
    const items = await Promise.all(rows.map((r) => this.item(r.gtin, reserved)));
    return { out: items.filter((i) => i.state === 'out').slice(0, limit), low: items.filter((i) => i.state === 'low').slice(0, limit) };
  }

  receive(by: string, requestId: string, lines: readonly { gtin: string; qty: number }[], ref?: string) {
    return this.apply(lines.map((l, i) => this.move(`rcv:${requestId}:${i}`, l.gtin, 'receipt', l.qty, null, by, ref)));
  }

  adjust(by: string, requestId: string, gtin: string, qty: number, reason: AdjustReason) {
    return this.apply([this.move(`adj:${requestId}`, gtin, 'adjustment', qty, reason, by)]);
  }

  giveBack(by: string, requestId: string, gtin: string, qty: number, ref?: string) {
    return this.apply([this.move(`ret:${requestId}`, gtin, 'return', qty, null, by, ref)]);
  }

  /** A count sets on hand at this moment: movements that happened before it are inside what was counted. */
  count(by: string, requestId: string, gtin: string, counted: number) {
    return this.apply([this.move(`cnt:${requestId}:${gtin}`, gtin, 'count', counted, null, by)]);
  }

  /**
   * An RFID cycle count the store manager confirmed: each item's counted units set on hand as of
   * the count's event time (reason `rfid`). Keyed by the count, so confirming twice is one count.
   */
  applyCount(by: string, countId: string, eventTime: number, lines: readonly { gtin: string; counted: number }[]) {
    const t = this.o.now();
    return this.apply(lines.map((l) => ({ movementId: `cnt:${countId}:${l.gtin}`, gtin: l.gtin, kind: 'count' as const, qty: l.counted, uom: 'unit' as const, reason: 'rfid', eventTime, recordTime: t, actor: by, sourceRef: countId })));
  }

  /** Open deliveries HQ announced, each line with what confirmations took in so far. */
  async deliveries(): Promise<(DeliveryT & { received: number[] })[]> {
    const open = await this.o.service.store.openDeliveries();
    return Promise.all(open.map(async (d) => ({ ...d, received: receivedPerLine(d, await this.o.service.store.movementsOf(d.deliveryId)) })));
  }

  /** "Confirm at the back door": the units taken in per announced line become receipts (partial allowed). */
  async confirmDelivery(by: string, requestId: string, deliveryId: string, lines: readonly { line: number; qty: number }[]) {
    const d = await this.o.service.store.delivery(deliveryId);
    if (!d) return { ok: false as const, status: 404, field: 'params.deliveryId', message: `no open delivery ${deliveryId}` };
    const r = confirmMovements(d, requestId, lines, by, this.o.now());
    if (!r.ok) return { ok: false as const, status: 400, field: r.field, message: r.message };
    return { ok: true as const, ...(await this.apply(r.moves)) };
  }

  private move(movementId: string, gtin: string, kind: NewMovement['kind'], qty: number, reason: string | null, actor: string, ref?: string): NewMovement {
    const t = this.o.now();
    return { movementId, gtin, kind, qty, uom: 'unit', reason, eventTime: t, recordTime: t, actor, sourceRef: ref ?? null };
  }

  /**
   * Appends, writes the records, and answers with the movements as stored (a repeat: the first
   * one's) and the items' levels as the append's own transaction left them: a new movement is
   * what was sent plus its record's seq, so only a repeat is read back.
   */
  private async apply(moves: NewMovement[]): Promise<{ movements: StockMovementView[]; items: StockItem[] }> {
    const { fresh, levels, seqs } = await this.o.service.addRead(moves);
    const isNew = new Set(fresh);
    const stored = await Promise.all(moves.map((m) => (isNew.has(m.movementId) && seqs.has(m.movementId) ? { ...m, seq: seqs.get(m.movementId)! } : this.o.service.store.movement(m.movementId))));
    const reserved = await this.o.service.reserved();
    const gtins = [...new Set(moves.map((m) => m.gtin))];
    const items = await Promise.all(gtins.map((g) => {
      const l = levels.get(g);
      return l ? this.itemOf(g, l.onHand, l.lowBelow ?? this.o.lowBelow, reserved) : this.item(g, reserved);
    }));
    return { movements: stored.filter((m): m is MovementRow => m !== null).map(movementView), items };
  }
}

/** GTINs of catalog items whose name contains `text` (case-insensitive), at most `limit`. */
export function searchItemNames(items: ReadonlyMap<string, { name: string }> | undefined, text: string, limit: number): string[] {
  if (!items) return [];
  const needle = text.toLocaleLowerCase();
  const out: string[] = [];
  for (const [gtin, item] of items) {
    if (item.name.toLocaleLowerCase().includes(needle)) out.push(gtin);
    if (out.length >= limit) break;
  }
  return out;
}
