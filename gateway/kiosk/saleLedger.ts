/**
 * The kiosk's sales ledger and payment settlement, beside sessions.ts.
 *
 * A sale is committed in kiosk.db first (the ledger row and the payment's `recorded` status, one
 * transaction), then forwarded into the outbox as the exact `transaction` record. The forward is
 * keyed: the outbox keeps, in the same transaction as each sale record, which payment it was for
 * (OutboxStore.saleFor, never deleted by the uplink), so a forward repeated after a crash finds
 * the record instead of writing a second one. Writes that fail (a full disk) are retried with
 * back-off and raise an ops alert; the kiosk stays on "paying" meanwhile, never silently approved.
 *
 * After a restart a payment's outcome comes from what was committed (the ledger, the last result
 * the outbox kept for it) or else from the terminal, asked once with a cancel (a terminal answers a
 * cancel of a finished request with its final result); a charge is never sent again. An approval
 * that cannot become a sale is reversed.
 */
import type { Logger } from '../log.js';
import type { OutboxStore } from '../outbox/store.js';
import type { KioskTransactionRec } from '../protocol/schemas/kiosk.js';
import type { KioskStore } from './store.js';
import type { Step } from '../db/owner.js';
import { formatMinor } from '../protocol/currency.js';
import { transactionOf, type Action, type Effect, type Session } from './sessionMachine.js';
import { resultAction } from './paymentEvents.js';

/** The step boundaries of a sale, as the crash test names them. */
export type SaleStep = 'scan' | 'paySent' | 'approved' | 'recorded' | 'forwarded' | 'pointsRecorded' | 'sessionSaved' | 'thankYou';

export interface SaleLedgerHost {
  store: KioskStore;
  outbox: OutboxStore;
  log: Logger;
  now: () => number;
  /** The outbox's last seq (ingest takes the next one synchronously). */
  lastSeq(): number;
  session(kioskId: string): Session | undefined;
  /** Runs `fn` on the kiosk's chain (after its previous action). */
  enqueue(kioskId: string, fn: () => Promise<void>): Promise<void>;
  /** Applies an action now; only from a function already on the kiosk's chain. */
  applyNow(kioskId: string, action: Action): Promise<void>;
  /** Appends the exact record through ingest; resolves with its seq once durable. */
  recordTransaction(kioskId: string, data: KioskTransactionRec): Promise<number>;
  /** A payment command through the command store (recorded until acked, re-sent on reconnect). */
  command(kioskId: string, type: 'cancel' | 'reverse', data: Record<string, unknown>): Promise<void>;
  checkpoint(step: SaleStep, kioskId: string): void;
  /** After the sale is in the ledger and the outbox: its side records (points changes). */
  afterSale?(kioskId: string, data: KioskTransactionRec): Promise<void>;
  /** Right after a sale's commit: its serials are sold from this moment (the exit gate's book). */
  committed?(data: KioskTransactionRec): void;
  /** What else the sale makes final in its commit (the single-use coupons it used). */
  saleSteps?: (data: KioskTransactionRec) => Step[];
  alert(code: string, severity: 'warning' | 'critical', message: string): void;
  count(what: 'mismatch' | 'noSale' | 'writeFailed'): void;
}

/** Back-off of a failed sale write: 200 ms doubling to 30 s. */
export function retryDelayMs(attempt: number): number {
  return Math.min(30_000, 200 * 2 ** Math.min(attempt - 1, 10));
}

/** Which step boundary a saved session crosses (pure; `prev` is the session before the change). */
export function savedStep(prev: Session, next: Session): SaleStep | null {
  if (next.phase === 'done' && prev.phase !== 'done') return 'sessionSaved';
  if (next.payment?.status === 'approved' && prev.payment?.status !== 'approved') return 'approved';
  if (next.lines.reduce((n, l) => n + l.qty, 0) > prev.lines.reduce((n, l) => n + l.qty, 0)) return 'scan';
  return null;
}

export class SaleLedger {
  private stopping = false;
  /** Back-off waits in progress; stop() ends them so a stop never waits out a back-off. */
  private readonly waits = new Set<() => void>();
  private readonly log: Logger;

  constructor(private readonly h: SaleLedgerHost) {
    this.log = h.log.child({ module: 'sales' });
  }

  stop(): void {
    this.stopping = true;
    for (const wake of this.waits) wake();
  }

  /**
   * The `recordTransaction` effect (on the kiosk's chain): ledger, outbox, then the receipt.
   * `terminalReceipt`: the terminal's customer receipt lines, kept with the sale in the ledger only.
   */
  async recordSale(kioskId: string, data: KioskTransactionRec, terminalReceipt?: string[]): Promise<void> {
    const { requestId, authCode } = data.payment;
    await this.retry(kioskId, requestId, 'the sales ledger (kiosk.db)', () => this.h.store.commitSale({ requestId, transactionId: data.transactionId, kioskId, record: data, authCode, ...(terminalReceipt ? { terminalReceipt } : {}) }, this.h.now()));
    this.h.committed?.(data);
    await this.retry(kioskId, requestId, 'the sales ledger (kiosk.db)', () => this.h.store.commitSale({ requestId, transactionId: data.transactionId, kioskId, record: data, authCode, ...(terminalReceipt ? { terminalReceipt } : {}) }, this.h.now(), this.h.saleSteps?.(data)));
    this.h.checkpoint('recorded', kioskId);
    const seq = await this.retry(kioskId, requestId, 'the outbox', () => this.forward(kioskId, requestId, data));
    this.h.checkpoint('forwarded', kioskId);
    await this.retry(kioskId, requestId, 'the outbox (points)', async () => this.h.afterSale?.(kioskId, data));
    await this.prune();
    await this.h.applyNow(kioskId, { type: 'recorded', transactionId: data.transactionId });
    this.log.info({ deviceId: kioskId, seq, requestId, transactionId: data.transactionId, total: data.total }, 'sale recorded');
  }

  /** The `reverseCharge` effect: the payment is settled as reversed, counted, logged, alerted, and the terminal told. */
  async reverse(kioskId: string, fx: Extract<Effect, { type: 'reverseCharge' }>): Promise<void> {
    await this.h.store.updatePayment(fx.requestId, 'reversed', this.h.now());
    this.h.count(fx.reason);
    const row = await this.h.store.payment(fx.requestId);
    const approved = formatMinor(fx.amount, fx.currency);
    const charged = row ? formatMinor(row.amount, this.h.session(kioskId)?.currency ?? fx.currency) : '?';
    const what = fx.reason === 'mismatch' ? `approved ${approved} for a charge of ${charged}` : `approved ${approved} after its sale was voided or declined`;
    this.log.warn({ deviceId: kioskId, requestId: fx.requestId, amount: fx.amount, currency: fx.currency, charged: row?.amount ?? null, reason: fx.reason, receiptNo: fx.receiptNo ?? null }, 'payment not matched: reversing it');
    this.h.alert(fx.reason === 'mismatch' ? 'PAYMENT_MISMATCH' : 'PAYMENT_WITHOUT_SALE', 'warning', `kiosk ${kioskId}: payment ${fx.requestId} ${what}; no sale recorded, the terminal is told to reverse it`);
    await this.h.command(kioskId, 'reverse', { requestId: fx.requestId, amount: fx.amount, currency: fx.currency, ...(fx.receiptNo !== undefined ? { receiptNo: fx.receiptNo } : {}) });
  }

  /**
   * A terminal's result that is not for the kiosk's current payment: dropped when that payment is
   * settled already (its sale is recorded, or it was reversed), else passed on (the machine
   * reverses an approval that has no sale). Called on the kiosk's chain.
   */
  async passStaleResult(requestId: string): Promise<boolean> {
    const row = await this.h.store.payment(requestId);
    if (row?.status === 'recorded' || row?.status === 'reversed' || (await this.h.store.sale(requestId))) {
      this.log.info({ requestId, status: row?.status }, 'a repeated result of a settled payment: ignored');
      return false;
    }
    return true;
  }

  /**
   * Keeps the outbox's settlement tables small: a sale key or payment result is needed only while a
   * payment that old is open or its sale unforwarded (each has seq >= that payment's fromSeq).
   * Never fails a sale: a failed prune is logged and tried again after the next one.
   */
  private async prune(): Promise<void> {
    try {
      let floor = this.h.lastSeq() + 1;
      for (const p of await this.h.store.openPayments()) floor = Math.min(floor, p.fromSeq);
      for (const sale of await this.h.store.unforwardedSales()) floor = Math.min(floor, (await this.h.store.payment(sale.requestId))?.fromSeq ?? 0);
      await this.h.outbox.pruneSettlement(floor);
    } catch (err) {
      this.log.warn({ err }, 'pruning sale keys and payment results failed');
    }
  }

  /** After a restart, before any device event: settle what a crash left between the steps of a sale. */
  async recover(kioskIds: string[]): Promise<void> {
    for (const sale of await this.h.store.unforwardedSales()) {
      await this.h.enqueue(sale.kioskId, async () => {
        const seq = await this.retry(sale.kioskId, sale.requestId, 'the outbox', () => this.forward(sale.kioskId, sale.requestId, sale.record as unknown as KioskTransactionRec));
        this.log.warn({ deviceId: sale.kioskId, requestId: sale.requestId, seq }, 'forwarded a ledger sale left unforwarded by a restart');
      });
    }
    for (const kioskId of kioskIds) await this.h.enqueue(kioskId, () => this.settleSession(kioskId));
    for (const p of await this.h.store.openPayments()) {
      const current = this.h.session(p.kioskId)?.payment?.requestId === p.requestId;
      if (current) continue;
      await this.h.enqueue(p.kioskId, async () => {
        // Not the session's payment any more (voided while paying, or its session moved on).
        if (await this.h.store.sale(p.requestId)) return void (await this.h.store.updatePayment(p.requestId, 'recorded', this.h.now()));
        const r = await this.h.outbox.paymentResultFor(p.requestId);
        this.log.warn({ deviceId: p.kioskId, requestId: p.requestId, status: p.status, result: r?.data.status ?? null }, 'settling a payment its session left open');
        if (r && r.data.status === 'approved') await this.h.applyNow(p.kioskId, resultAction(p.requestId, r.data));
        else await this.h.store.updatePayment(p.requestId, 'cancelled', this.h.now());
      });
    }
    await Promise.all(kioskIds.map((id) => this.h.enqueue(id, async () => undefined)));
    await this.prune();
  }

  /** A session saved while paying: finish its sale, apply a result already committed, or ask the terminal once. */
  private async settleSession(kioskId: string): Promise<void> {
    const s = this.h.session(kioskId);
    if (!s || s.phase !== 'paying' || !s.payment) return;
    const { requestId, status } = s.payment;
    const sale = await this.h.store.sale(requestId);
    this.log.warn({ deviceId: kioskId, requestId, status, sale: sale !== null }, 'settling a payment left open by a restart');
    if (sale) {
      if (sale.seq === null) await this.retry(kioskId, requestId, 'the outbox', () => this.forward(kioskId, requestId, sale.record as unknown as KioskTransactionRec));
      return this.h.applyNow(kioskId, { type: 'recorded', transactionId: sale.transactionId });
    }
    if (status === 'approved' || status === 'recorded') return this.recordSale(kioskId, transactionOf(s, new Date(this.h.now()).toISOString()), s.payment.receipt);
    const r = await this.h.outbox.paymentResultFor(requestId);
    if (r) return this.h.applyNow(kioskId, resultAction(requestId, r.data));
    // Nothing committed: ask the terminal, once (the command store delivers it when it is back).
    if (status === 'sent') await this.h.applyNow(kioskId, { type: 'cancel' });
    else await this.h.command(kioskId, 'cancel', { requestId });
  }

  /** Puts a ledger sale into the outbox unless the outbox already has it; resolves with its seq. */
  private async forward(kioskId: string, requestId: string, data: KioskTransactionRec): Promise<number> {
    const known = await this.h.outbox.saleFor(requestId);
    const seq = known?.seq ?? (await this.h.recordTransaction(kioskId, data));
    await this.h.store.markForwarded(requestId, seq, this.h.now());
    return seq;
  }

  /** Runs a sale write until it succeeds: each failure is counted and logged, the first of a streak alerted. */
  private async retry<T>(kioskId: string, requestId: string, where: string, fn: () => Promise<T>): Promise<T> {
    for (let attempt = 1; ; attempt++) {
      try {
        const v = await fn();
        if (attempt > 1) this.log.warn({ deviceId: kioskId, requestId, attempts: attempt }, `sale written to ${where} after a retry`);
        return v;
      } catch (err) {
        if (this.stopping) throw err;
        const waitMs = retryDelayMs(attempt);
        this.h.count('writeFailed');
        this.log.error({ err, deviceId: kioskId, requestId, attempt, retryInMs: waitMs }, `writing a sale to ${where} failed; retrying`);
        if (attempt === 1) this.h.alert('SALE_WRITE_FAILED', 'critical', `kiosk ${kioskId}: the sale of payment ${requestId} could not be written to ${where} (${(err as Error).message}); retrying, the kiosk waits on "paying"`);
        await new Promise<void>((resolve) => {
          const wake = () => {
            clearTimeout(t);
            this.waits.delete(wake);
            resolve();
          };
          const t = setTimeout(wake, waitMs);
          this.waits.add(wake);
        });
      }
    }
  }
}
