/**
 * Click & collect hand-over tasks. A pickup confirmed at a kiosk tells the store to bring
 * the goods: the collected order is an open task (kiosk.db, `orders.handover`, set in the same
 * statement that marks it collected) until a person marks it handed over. That is an exact
 * `handover` record (kind kiosk, deviceId = the kiosk where it was collected) with who — the
 * logged-in ops user — and when.
 *
 * Order of writes: who and when are saved first ('handing'), then the record goes through ingest,
 * then the task is 'done'. Two tabs pressing at once: only one claim succeeds, the other is told.
 * After a crash, a task left 'handing' is settled by the outbox's record key for the order (written
 * in the record's own transaction, never deleted by the uplink): found → done with its seq; absent
 * → the record was never committed and is written now, with the saved who and when.
 */
import type { Logger } from '../log.js';
import type { OutboxStore } from '../outbox/store.js';
import type { OnlineOrderT } from './orders.js';
import type { KioskStore } from './store.js';
import type { PickupTask } from '../protocol/schemas/api/checkout.js';

export type HandoverState = 'open' | 'handing' | 'done';

/** One collected order as kiosk.db holds its hand-over. */
export interface HandoverRow {
  order: OnlineOrderT;
  kioskId: string;
  /** When the pickup was confirmed at the kiosk (ms): the task waits since then. */
  collectedAt: number;
  state: HandoverState;
  by: string | null;
  at: number | null;
  fromSeq: number | null;
  seq: number | null;
}

/** An open task as the ops page shows it (the API's contract). */
export type { PickupTask } from '../protocol/schemas/api/checkout.js';

export type HandoverResult =
  | { ok: true; orderId: string; kioskId: string; by: string; at: string; seq: number }
  | { ok: false; reason: 'notFound' | 'done' | 'busy' | 'failed'; message: string };

export function taskOf(r: HandoverRow): PickupTask {
  return {
    orderId: r.order.orderId,
    kioskId: r.kioskId,
    customer: r.order.customer ?? '',
    items: r.order.lines.reduce((n, l) => n + l.qty, 0),
    lines: r.order.lines.length,
    since: new Date(r.collectedAt).toISOString(),
    state: r.state === 'handing' ? 'handing' : 'open',
  };
}

/** The exact `handover` record (schema KioskHandover). */
export function handoverRecord(r: HandoverRow, by: string, at: number): Record<string, unknown> {
  const iso = new Date(at).toISOString();
  return { ts: iso, kioskId: r.kioskId, orderId: r.order.orderId, by, at: iso, collectedAt: new Date(r.collectedAt).toISOString() };
}

export interface HandoversOptions {
  store: KioskStore;
  /** Writes the exact record (kind kiosk, deviceId = kiosk id) through ingest; resolves with its seq once durable. */
  record: (kioskId: string, data: object) => Promise<number>;
  outbox: Pick<OutboxStore, 'recordKey'>;
  /** The last seq ingest handed out (the outbox seq before a claim). */
  lastSeq: () => number;
  log: Logger;
  now: () => number;
}

export class Handovers {
  private tasks: PickupTask[] = [];
  /** Refreshes may overlap (a kiosk confirms while someone hands over): the latest read wins. */
  private reads = 0;
  private shown = 0;
  private readonly listeners = new Set<(tasks: readonly PickupTask[]) => void>();
  private readonly log: Logger;

  constructor(private readonly o: HandoversOptions) {
    this.log = o.log.child({ module: 'handovers' });
  }

  /** Settles tasks a crash left 'handing', then loads the open ones. */
  async start(): Promise<void> {
    for (const r of await this.o.store.handovers(['handing'])) await this.settle(r);
    await this.refresh();
  }

  /** The open tasks, longest waiting first. */
  list(): readonly PickupTask[] {
    return this.tasks;
  }

  /** Called with the whole list after every change; returns the unsubscribe. */
  onChange(fn: (tasks: readonly PickupTask[]) => void): () => void {
    this.listeners.add(fn);
    return () => this.listeners.delete(fn);
  }

  /** Re-reads the open tasks from kiosk.db (after a pickup was confirmed) and tells the listeners. */
  async refresh(): Promise<void> {
    const read = ++this.reads;
    const tasks = (await this.o.store.handovers(['open', 'handing'])).map(taskOf);
    if (read < this.shown) return;
    this.shown = read;
    this.tasks = tasks;
    for (const fn of [...this.listeners]) {
      try {
        fn(this.tasks);
      } catch (err) {
        this.log.error({ err }, 'a pickup task listener failed');
      }
    }
  }

  /** `by` is the logged-in person (never taken from a request body); resolves once the record is durable. */
  async handOver(orderId: string, by: string): Promise<HandoverResult> {
    const at = this.o.now();
    if (!(await this.o.store.claimHandover(orderId, by, at, this.o.lastSeq()))) {
      const r = await this.o.store.handover(orderId);
      if (!r) return { ok: false, reason: 'notFound', message: `no pickup task for order ${orderId}` };
      if (r.state === 'done') return { ok: false, reason: 'done', message: `order ${orderId} was already handed over by ${r.by ?? '?'} at ${r.at !== null ? new Date(r.at).toISOString() : '?'}` };
      if (r.state === 'handing') return { ok: false, reason: 'busy', message: `order ${orderId} is being handed over by ${r.by ?? '?'}` };
      return { ok: false, reason: 'notFound', message: `no pickup task for order ${orderId}` };
    }
    await this.refresh();
    const row = (await this.o.store.handover(orderId))!;
    let seq: number;
    try {
      seq = await this.o.record(row.kioskId, handoverRecord(row, by, at));
    } catch (err) {
      // Not committed (ingest said so): the task is open again, the person is told.
      await this.o.store.finishHandover(orderId, 'reopen', this.o.now());
      await this.refresh();
      this.log.error({ err, orderId }, 'hand-over record failed; the task is open again');
      return { ok: false, reason: 'failed', message: `the hand-over of order ${orderId} could not be recorded (${(err as Error).message}); try again` };
    }
    await this.o.store.finishHandover(orderId, { seq }, this.o.now());
    this.log.info({ deviceId: row.kioskId, orderId, by, seq }, 'order handed over');
    await this.refresh();
    return { ok: true, orderId, kioskId: row.kioskId, by, at: new Date(at).toISOString(), seq };
  }

  private async settle(r: HandoverRow): Promise<void> {
    const orderId = r.order.orderId;
    let seq = await this.o.outbox.recordKey('handover', orderId);
    if (seq !== null) {
      this.log.warn({ orderId, seq }, 'hand-over left half done by a restart: its record was committed');
    } else if (r.by !== null && r.at !== null) {
      try {
        seq = await this.o.record(r.kioskId, handoverRecord(r, r.by, r.at));
      } catch (err) {
        this.log.error({ err, orderId }, 'hand-over left half done by a restart could not be recorded; the task is open again');
        return this.o.store.finishHandover(orderId, 'reopen', this.o.now());
      }
      this.log.warn({ orderId, seq, by: r.by }, 'hand-over left half done by a restart: recorded now');
    } else {
      this.log.error({ orderId }, 'hand-over left half done by a restart without who and when: open again');
      return this.o.store.finishHandover(orderId, 'reopen', this.o.now());
    }
    await this.o.store.finishHandover(orderId, { seq }, this.o.now());
  }

}
