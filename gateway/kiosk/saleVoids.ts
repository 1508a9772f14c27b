/**
 * The post-sale void's I/O shell (the rules are saleVoid.ts). A void runs in steps, each stored
 * once done (voidStore.ts), so a restart finishes what a crash left and no step happens twice:
 *
 *   committed  the void's row, its serials released, its points reversal rows in the points ledger
 *              and its coupons let go: one kiosk.db transaction (from here on the void exists: a
 *              second request is refused, the serials sell without an attendant, the member's
 *              balance and single-use coupons are back)
 *   reversed   the card payment's reversal sent to the terminal once and its answer awaited
 *              (saleVoidReversal.ts): approved leaves the refund `reversed`; refused, or no answer
 *              in time, turns it into `owed` with why, stored with the step. Skipped when owed.
 *   stock      one `return` movement per line (`void:<transactionId>:<line>`: a repeat is one movement)
 *   givenBack  the points reversal's exact `pointsChange` records (each row once, marked with its seq)
 *   done       the exact `saleVoided` record with one `couponReleased` per coupon, one outbox group;
 *              the outbox keeps which transaction the `saleVoided` was for, so a group a crash
 *              interrupted is found instead of written twice
 *
 * The records go last: `saleVoided` says what was given back and how the money went, so it is
 * written once all of it is known and never needs a correction. The API answers after it.
 */
import type { Logger } from '../log.js';
import type { Ingest } from '../ingest/ingest.js';
import type { SaleVoidedRec } from '../protocol/schemas/saleVoid.js';
import { topics } from '../protocol/topics.js';
import type { NewMovement } from '../stock/movements.js';
import { kioskDevice } from './kioskRecords.js';
import type { SerialBook } from './serialBook.js';
import type { VoidStep, VoidStore } from './voidStore.js';
import type { VoidReversal } from './saleVoidReversal.js';
import { serialsOfSale } from './serialStore.js';
import { shortTransactionNo } from './receiptModel.js';
import { pointsReversalSteps } from './pointsStore.js';
import { releaseSaleSteps } from './coupons/couponStore.js';
import type { KioskPoints } from './kioskPoints.js';
import { checkVoid, refundOf, saleVoidedRecord, voidMovements, voidRecords, type VoidGiveBack, type VoidRefusal, type VoidableSale } from './saleVoid.js';

/** The step boundaries of a void, as the crash test names them (STOREGW_TEST_HALT_AT). */
export type VoidCheckpoint = 'voidCommitted' | 'voidReversalSent' | 'voidReversed' | 'voidStock' | 'voidGivenBack' | 'voidRecorded';

export interface SaleVoidsOptions {
  store: VoidStore;
  book: Pick<SerialBook, 'release'>;
  /** The payment reversal: stored once per transaction, then its answer awaited. */
  reversal: VoidReversal;
  /** Appends stock movements (idempotent by movement id); absent without a stock ledger. */
  stock: () => ((moves: readonly NewMovement[]) => Promise<unknown>) | null;
  /** The void's records through ingest as one group; resolves with the first seq once durable. */
  record: (kioskId: string, records: readonly { type: string; data: object }[]) => Promise<number>;
  /** The seq of the `saleVoided` record already committed for a transaction, or null. */
  recordKey: (transactionId: string) => Promise<number | null>;
  /** Points and coupons back (the loyalty side); absent, a void of a sale with either says so in its log. */
  giveBack?: VoidGiveBack;
  windowMs: number;
  now: () => number;
  log: Logger;
  checkpoint?: (step: VoidCheckpoint, kioskId: string) => void;
}

/** A sale found by its receipt's short number. */
export interface SaleFound {
  transactionId: string;
  kioskId: string;
  ts: string;
  total: number;
  currency: string;
  voided: boolean;
}

export type VoidOutcome = { ok: true; record: SaleVoidedRec } | VoidRefusal;

/** Commits a void's records (`saleVoided`, then its `couponReleased`) as one outbox group; the first seq. */
export function recordVoidGroup(ingest: Ingest, kioskId: string, records: readonly { type: string; data: object }[]): Promise<number> {
  return new Promise((resolve, reject) => {
    ingest.handleGroup(kioskDevice(kioskId), records.map((r) => ({ type: r.type, topic: topics.evt('kiosk', kioskId, r.type), payload: Buffer.from(JSON.stringify(r.data), 'utf8') })), (err, rejected, seq) => {
      if (err) reject(err);
      else if (rejected) reject(new Error('a saleVoided or couponReleased record failed its schema'));
      else resolve(seq);
    });
  });
}

/**
 * The loyalty side's give-back: the points ledger's reversal rows and the coupons' release in the
 * void's commit, the `pointsChange` records of the reversal after it.
 */
export function loyaltyGiveBack(points: Pick<KioskPoints, 'reversePoints'>): VoidGiveBack {
  return {
    commitSteps: (transactionId, now) => [...pointsReversalSteps(transactionId, now), ...releaseSaleSteps(transactionId)],
    pointsBack: async (transactionId) => void (await points.reversePoints(transactionId, { inCommit: true })),
  };
}

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
    if (!(await this.o.store.commit(record, now, this.o.giveBack?.commitSteps(transactionId, now) ?? []))) return checkVoid(sale, true, now, this.o.windowMs, transactionId) as VoidRefusal;
    this.o.book.release(serialsOfSale(sale!));
    this.o.checkpoint?.('voidCommitted', sale!.kioskId);
    this.log.warn({ deviceId: sale!.kioskId, transactionId, by, role, reason, total: sale!.total, refund: refund.kind }, 'sale voided');
    return { ok: true, record: await this.finish(record, 'committed', sale!) };
  }

  /**
   * The sales within the void window whose receipt shows `shortNo` (the thank-you screen's and
   * paper receipt's short number, receiptModel.ts shortTransactionNo; case does not matter).
   */
  async byReceipt(shortNo: string): Promise<SaleFound[]> {
    const want = shortNo.toUpperCase();
    const found = (await this.o.store.salesSince(this.o.now() - this.o.windowMs)).filter((r) => shortTransactionNo(String(r.transactionId)) === want);
    return Promise.all(
      found.map(async (r) => {
        const s = r as unknown as VoidableSale;
        return { transactionId: s.transactionId, kioskId: s.kioskId, ts: s.ts, total: s.total, currency: s.currency, voided: (await this.o.store.void(s.transactionId)) !== null };
      }),
    );
  }

  /**
   * After a restart: finishes every void a crash left between its steps, in the background (a
   * reversal waits for the terminal, whose bridge connects after the gateway is up) and ahead of
   * any new void. Resolves once the voids to finish are read; `recovered` once they are finished.
   */
  async recover(): Promise<void> {
    const open = await this.o.store.open();
    const run = this.chain.then(() => this.finishOpen(open));
    this.chain = run.catch(() => undefined);
    this.recovered = run;
  }

  /** Finishing the voids a restart found (recover). */
  recovered: Promise<void> = Promise.resolve();

  private async finishOpen(open: Awaited<ReturnType<VoidStore['open']>>): Promise<void> {
    for (const v of open) {
      const sale = (await this.o.store.saleRecord(v.record.transactionId)) as unknown as VoidableSale | null;
      if (!sale) continue;
      this.log.warn({ deviceId: v.record.kioskId, transactionId: v.record.transactionId, step: v.step }, 'finishing a void a restart interrupted');
      // Serials, points rows and coupons: the commit let them go in kiosk.db; the book was loaded from it, so it agrees.
      // A step that fails again is logged and left for the next start: it never stops this one.
      await this.finish(v.record, v.step, sale).catch((err: Error) => this.log.error({ err, transactionId: v.record.transactionId }, 'a voided sale could not be finished; tried again at the next start'));
    }
  }

  /** Runs the steps after `from`; the record as it ends (its refund as the terminal answered). */
  private async finish(record: SaleVoidedRec, from: VoidStep, sale: VoidableSale): Promise<SaleVoidedRec> {
    const { transactionId, kioskId } = record;
    const order: VoidStep[] = ['committed', 'reversed', 'stock', 'givenBack', 'done'];
    const after = (s: VoidStep) => order.indexOf(from) < order.indexOf(s);
    if (after('reversed')) {
      const r = record.refund;
      if (r.kind === 'reversed') {
        const data = { requestId: r.paymentRequestId, amount: r.amount, currency: record.currency, receiptNo: r.receiptNo };
        const answer = (await this.o.reversal.send(kioskId, transactionId, data)) ?? (this.o.checkpoint?.('voidReversalSent', kioskId), await this.o.reversal.answer(transactionId));
        if (!answer.ok) {
          record = { ...record, refund: { kind: 'owed', amount: r.amount, why: answer.why } };
          this.log.error({ deviceId: kioskId, transactionId, paymentRequestId: r.paymentRequestId, why: answer.why }, 'the terminal did not reverse a voided sale: the refund is owed');
        }
      }
      await this.o.store.setStep(transactionId, 'reversed', undefined, record);
      this.o.checkpoint?.('voidReversed', kioskId);
    }
    if (after('stock')) {
      await this.o.stock()?.(voidMovements(sale, record.by, Date.parse(record.ts)));
      await this.o.store.setStep(transactionId, 'stock');
      this.o.checkpoint?.('voidStock', kioskId);
    }
    if (after('givenBack')) {
      if (this.o.giveBack) await this.o.giveBack.pointsBack(transactionId);
      else if (sale.points || sale.coupons?.length) this.log.warn({ deviceId: kioskId, transactionId }, 'the voided sale had points or coupons; nothing here gives them back');
      await this.o.store.setStep(transactionId, 'givenBack');
      this.o.checkpoint?.('voidGivenBack', kioskId);
    }
    if (after('done')) {
      const seq = (await this.o.recordKey(transactionId)) ?? (await this.o.record(kioskId, voidRecords(sale, record)));
      await this.o.store.setStep(transactionId, 'done', seq);
      this.o.checkpoint?.('voidRecorded', kioskId);
    }
    return record;
  }
}
