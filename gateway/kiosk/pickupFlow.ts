/**
 * Click & collect at the kiosk (its own flow beside the checkout session): a scanned pickup code
 * shows its order, "confirm" claims it (one kiosk only), records the exact `pickup` event and makes
 * a hand-over task for the store; after a restart a claim left open is settled.
 */
import type { Logger } from '../log.js';
import type { OutboxStore } from '../outbox/store.js';
import type { Handovers } from './handovers.js';
import { decidePickup, pickupCodeOf, pickupRecord, type PickupView } from './orders.js';
import { isShopping, type Session } from './sessionMachine.js';
import type { KioskStore } from './store.js';

export interface PickupFlowHost {
  store: KioskStore;
  outbox: Pick<OutboxStore, 'recordKey'>;
  handovers: Handovers;
  log: Logger;
  now: () => number;
  lastSeq(): number;
  session(kioskId: string): Session | undefined;
  record(kioskId: string, type: 'pickup', data: object): Promise<number>;
  /** Sends the kiosk's view again (its pickup panel changed). */
  show(kioskId: string): void;
}

export class PickupFlow {
  /** The order shown on each kiosk (not persisted: after a restart the shopper scans again). */
  private readonly shown = new Map<string, PickupView>();
  private readonly notices = new Map<string, { code: string; detail?: string }>();
  private readonly log: Logger;

  constructor(private readonly h: PickupFlowHost) {
    this.log = h.log;
  }

  /** What the kiosk's view shows of click & collect. */
  viewOf(kioskId: string): { pickup: PickupView | null; notice?: { code: string; detail?: string } } {
    const notice = this.notices.get(kioskId);
    return { pickup: this.shown.get(kioskId) ?? null, ...(notice ? { notice } : {}) };
  }

  /** The session changed: a pickup notice is gone, and a cart with items ends the pickup. */
  sessionChanged(session: Session): void {
    this.notices.delete(session.kioskId);
    if (session.lines.length > 0) this.shown.delete(session.kioskId); // the shopper moved on to a purchase
  }

  /** A scanned `PICKUP:<code>`: the order on screen, or a clear refusal (unknown, already collected). */
  async scan(kioskId: string, scanned: string): Promise<void> {
    const s = this.h.session(kioskId);
    const code = pickupCodeOf(scanned);
    this.notices.delete(kioskId);
    if (!s || !isShopping(s.phase) || s.lines.length > 0) this.notices.set(kioskId, { code: 'pickupFinishCart' });
    else if (!code) this.notices.set(kioskId, { code: 'pickupUnknown' });
    else {
      const d = decidePickup(await this.h.store.orderByCode(code));
      if (d.ok) this.shown.set(kioskId, d.view);
      else {
        this.shown.delete(kioskId);
        this.notices.set(kioskId, d.notice);
        this.log.warn({ deviceId: kioskId, code: d.notice.code }, 'pickup refused');
      }
    }
    this.h.show(kioskId);
  }

  /** Confirm: claim the order (only one kiosk can), record the exact `pickup` event, then mark it collected. */
  async confirm(kioskId: string): Promise<void> {
    const p = this.shown.get(kioskId);
    if (!p || p.status !== 'ready') return;
    const row = await this.h.store.order(p.orderId);
    if (!row || !(await this.h.store.claimOrder(p.orderId, kioskId, this.h.lastSeq(), this.h.now()))) {
      // Another kiosk claimed it between scan and confirm (or HQ withdrew it): say why.
      const d = decidePickup(await this.h.store.order(p.orderId));
      this.shown.delete(kioskId);
      this.notices.set(kioskId, d.ok ? { code: 'pickupUnknown' } : d.notice);
      return this.h.show(kioskId);
    }
    let seq: number;
    try {
      seq = await this.h.record(kioskId, 'pickup', pickupRecord(row.order, kioskId, this.h.now()));
    } catch (err) {
      // Not committed (ingest said so): the order is free again, the shopper is told to ask for help.
      await this.h.store.finishOrder(p.orderId, 'ready', this.h.now());
      this.notices.set(kioskId, { code: 'pickupFailed' });
      this.h.show(kioskId);
      throw err;
    }
    await this.h.store.finishOrder(p.orderId, 'collected', this.h.now(), seq);
    this.log.info({ deviceId: kioskId, seq, orderId: p.orderId }, 'order collected');
    this.shown.set(kioskId, { ...p, status: 'collected' });
    this.notices.set(kioskId, { code: 'pickupBringing' }); // a task on the ops page now
    this.h.show(kioskId);
    await this.h.handovers.refresh();
  }

  async close(kioskId: string): Promise<void> {
    this.shown.delete(kioskId);
    this.notices.delete(kioskId);
    this.h.show(kioskId);
  }

  /**
   * After a restart: an order claimed but not marked collected is collected iff its `pickup` record
   * was committed — told by the outbox's record key, written in the record's own transaction and
   * kept after the uplink delivered the row.
   */
  async recover(): Promise<void> {
    for (const o of await this.h.store.collectingOrders()) {
      const seq = await this.h.outbox.recordKey('pickup', o.order.orderId);
      await this.h.store.finishOrder(o.order.orderId, seq !== null ? 'collected' : 'ready', this.h.now(), seq);
      this.log.warn({ orderId: o.order.orderId, collected: seq !== null }, 'settled a pickup left open by a restart');
    }
  }

}
