/**
 * The post-sale void's I/O shell (the rules are saleVoid.ts). A void runs in steps, each stored
 * once done (voidStore.ts), so a restart finishes what a crash left and no step happens twice:
 *
 *   committed  the void's row and its serials released, one kiosk.db transaction (from here on
 *              the void exists: a second request is refused, the serials sell without an attendant)
 *   reversed   the card payment's reversal handed to the command store (durable, re-sent on
 *              reconnect) when the plan reverses; skipped when a refund is owed
 *   stock      one `return` movement per line (`void:<transactionId>:<line>`: a repeat is one movement)
 *   givenBack  points and coupons given back by the loyalty side (keyed by the transaction)
 *   done       the exact `saleVoided` record; the outbox keeps which transaction it was for, so a
 *              record a crash interrupted is found instead of written twice
 *
 * The record goes last: it tells HQ what was given back, so it is written once all of it was.
 * One window is left: a crash after the reversal command is stored but before `reversed` is, sends
 * the reversal again after the restart. The terminal refuses that second one (its last
 * transaction is then the reversal itself, not the receipt number named), so no money moves twice.
 */
import type { Logger } from '../log.js';
import type { SaleVoidedRec } from '../protocol/schemas/saleVoid.js';
import type { NewMovement } from '../stock/movements.js';
import type { SerialBook } from './serialBook.js';
import type { VoidStep, VoidStore } from './voidStore.js';
import { serialsOfSale } from './serialStore.js';
import { checkVoid, refundOf, saleVoidedRecord, voidMovements, type VoidGiveBack, type VoidRefusal, type VoidableSale } from './saleVoid.js';

/** The step boundaries of a void, as the crash test names them (STOREGW_TEST_HALT_AT). */
export type VoidCheckpoint = 'voidCommitted' | 'voidReversed' | 'voidStock' | 'voidGivenBack' | 'voidRecorded';

export interface SaleVoidsOptions {
  store: VoidStore;
  book: Pick<SerialBook, 'release'>;
  /** The payment reversal through the command store, to the kiosk's terminal; resolves once durable. */
  reverse: (kioskId: string, data: { requestId: string; amount: number; currency: string; receiptNo: string }) => Promise<void>;
  /** Appends stock movements (idempotent by movement id); absent without a stock ledger. */
  stock: () => ((moves: readonly NewMovement[]) => Promise<unknown>) | null;
  /** The exact record through ingest; resolves with its seq once durable. */
  record: (kioskId: string, data: SaleVoidedRec) => Promise<number>;
  /** The seq of the `saleVoided` record already committed for a transaction, or null. */
  recordKey: (transactionId: string) => Promise<number | null>;
  /** Points and coupons back; absent until the loyalty side provides it (the void then says so in its log). */
  giveBack?: VoidGiveBack;
  windowMs: number;
  now: () => number;
  log: Logger;
  checkpoint?: (step: VoidCheckpoint, kioskId: string) => void;
}

export type VoidOutcome = { ok: true; record: SaleVoidedRec } | VoidRefusal;

export class SaleVoids {
  private readonly log: Logger;
  /** One void at a time: two presses at once are one void and one refusal, never two voids. */
  private chain: Promise<unknown> = Promise.resolve();

  constructor(private readonly o: SaleVoidsOptions) {
    this.log = o.log.child({ module: 'saleVoids' });
  }

  /** Voids a completed sale; resolves once every step is done (or rejects, the rest finished at the next start). */
  void(transactionId: string, by: string, role: 'attendant' | 'admin', reason: string): Promise<VoidOutcome> {
    const run = this.chain.then(() => this.voidNow(transactionId, by, role, reason));
    this.chain = run.catch(() => undefined);
    return run;
  }

  private async voidNow(transactionId: string, by: string, role: 'attendant' | 'admin', reason: string): Promise<VoidOutcome> {
    const now = this.o.now();
    const sale = (await this.o.store.saleRecord(transactionId)) as unknown as VoidableSale | null;
    const existing = await this.o.store.void(transactionId);
    const check = checkVoid(sale, existing !== null, now, this.o.windowMs, transactionId);
    if (!check.ok) return check;
    const refund = refundOf(sale!, await this.o.store.lastPaymentOf(sale!.kioskId));
    const record = saleVoidedRecord(sale!, { by, role, reason, refund, now });
    if (!(await this.o.store.commit(record, now))) return checkVoid(sale, true, now, this.o.windowMs, transactionId) as VoidRefusal;
    this.o.book.release(serialsOfSale(sale!));
    this.o.checkpoint?.('voidCommitted', sale!.kioskId);
    this.log.warn({ deviceId: sale!.kioskId, transactionId, by, role, reason, total: sale!.total, refund: refund.kind }, 'sale voided');
    await this.finish(record, 'committed', sale!);
    return { ok: true, record };
  }

  /** After a restart: finishes every void a crash left between its steps. */
  async recover(): Promise<void> {
    for (const v of await this.o.store.open()) {
      const sale = (await this.o.store.saleRecord(v.record.transactionId)) as unknown as VoidableSale | null;
      if (!sale) continue;
      this.log.warn({ deviceId: v.record.kioskId, transactionId: v.record.transactionId, step: v.step }, 'finishing a void a restart interrupted');
      // Serials: the commit released them in kiosk.db; the book was loaded from it, so it agrees.
      // A step that fails again is logged and left for the next start: it never stops this one.
      await this.finish(v.record, v.step, sale).catch((err: Error) => this.log.error({ err, transactionId: v.record.transactionId }, 'a voided sale could not be finished; tried again at the next start'));
    }
  }

  private async finish(record: SaleVoidedRec, from: VoidStep, sale: VoidableSale): Promise<void> {
    const { transactionId, kioskId } = record;
    const order: VoidStep[] = ['committed', 'reversed', 'stock', 'givenBack', 'done'];
    const after = (s: VoidStep) => order.indexOf(from) < order.indexOf(s);
    if (after('reversed')) {
      if (record.refund.kind === 'reversed') await this.o.reverse(kioskId, { requestId: record.refund.paymentRequestId, amount: record.refund.amount, currency: record.currency, receiptNo: record.refund.receiptNo });
      await this.o.store.setStep(transactionId, 'reversed');
      this.o.checkpoint?.('voidReversed', kioskId);
    }
    if (after('stock')) {
      await this.o.stock()?.(voidMovements(sale, record.by, Date.parse(record.ts)));
      await this.o.store.setStep(transactionId, 'stock');
      this.o.checkpoint?.('voidStock', kioskId);
    }
    if (after('givenBack')) {
      if (this.o.giveBack) {
        await this.o.giveBack.pointsBack(transactionId);
        await this.o.giveBack.couponsBack(transactionId);
      } else if ((sale as { points?: unknown; coupons?: unknown[] }).points || (sale as { coupons?: unknown[] }).coupons?.length) {
        this.log.warn({ deviceId: kioskId, transactionId }, 'the voided sale had points or coupons; nothing here gives them back yet');
      }
      await this.o.store.setStep(transactionId, 'givenBack');
      this.o.checkpoint?.('voidGivenBack', kioskId);
    }
    if (after('done')) {
      const seq = (await this.o.recordKey(transactionId)) ?? (await this.o.record(kioskId, record));
      await this.o.store.setStep(transactionId, 'done', seq);
      this.o.checkpoint?.('voidRecorded', kioskId);
    }
  }
}
