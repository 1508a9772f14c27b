/**
 * The stock ledger's I/O shell. Movements come from the kiosk's sales (seen as their `transaction`
 * records commit, and caught up from the sales ledger in kiosk.db at start and every minute, so a
 * sale whose movement a crash lost is found again), from collected click & collect orders, and
 * from people on the ops page. Each is appended to stock.db by its movement id (a repeat is one
 * movement), then written as an exact `stockMove` record; the outbox keeps which movement each
 * record was for, so a forward a crash interrupted is found instead of written twice.
 * HQ gets a retained `report/stock` after a change, at most once per `stock.reportEveryMs`.
 */
import { EventEmitter } from 'node:events';
import type { Logger } from '../log.js';
import type { NewEvent, OutboxStore } from '../outbox/store.js';
import type { StockMoveRec } from '../protocol/schemas/stock.js';
import type { KioskStore } from '../kiosk/store.js';
import type { StockConfig } from './stockConfig.js';
import type { OwnerSupervision } from '../db/owner.js';
import { StockStore, type LevelAfter, type MovementRow } from './store.js';
import { pickupMovements, reservedOf, saleMovements, stockLine, stockMoveRecord, type NewMovement, type StockLine } from './movements.js';
import { StockReport } from './stockReport.js';
import { DeliveryFeed, type DeliveryFeedOptions } from './deliveryFeed.js';

export interface StockServiceOptions {
  file: string;
  config: StockConfig;
  kiosk: Pick<KioskStore, 'salesRecordedSince' | 'openOrders' | 'order'>;
  /** Appends the exact record through ingest; resolves with its seq once durable. */
  record: (data: StockMoveRec) => Promise<number>;
  outbox: Pick<OutboxStore, 'recordKey'>;
  /** The retained report to HQ (the uplink keeps the latest and sends it again on reconnect). */
  report: (payload: Buffer) => void;
  log: Logger;
  now: () => number;
  /** HQ's signed `deliveries` feed; absent without an HQ link or its public keys. */
  deliveries?: Omit<DeliveryFeedOptions, 'store' | 'log' | 'now'>;
  /** stock.db's writer thread: its deaths and restarts, reported like the shared writer's. */
  writer?: OwnerSupervision;
}

const SALES_CURSOR = 'sales';
/** The catch-up reads back this far before its cursor: a sale stamped by a clock that stepped back. */
const CATCH_UP_MARGIN_MS = 5 * 60_000;
const CATCH_UP_EVERY_MS = 60_000;
/**
 * Movements a forward hands to ingest at once (they share its group commits). Each batch waits for
 * its records before the next starts, so a small one puts an outbox fsync per batch in front of
 * every recording that waits behind a burst.
 */
const FORWARD_BATCH = 1000;

/**
 * stock.db refused the movements themselves (disk full, the writer thread down): nothing was
 * stored, unlike a movement stored whose record is not written yet (that one is forwarded later).
 * The ops answer differs: send it again with the same request id, not "it is kept".
 */
export class MovementsNotStored extends Error {
  constructor(readonly reason: Error) {
    super(`stock.db did not store the movements: ${reason.message}`, { cause: reason });
    this.name = 'MovementsNotStored';
  }
}

async function stored<T>(append: Promise<T>): Promise<T> {
  try {
    return await append;
  } catch (err) {
    throw new MovementsNotStored(err as Error);
  }
}

export class StockService {
  readonly store: StockStore;
  private readonly log: Logger;
  /** Forwards run one after another: two never write the same movement's record. */
  private forwarding: Promise<unknown> = Promise.resolve();
  private queuedForward: Promise<ReadonlyMap<string, number>> | null = null;
  private catchUpTimer: NodeJS.Timeout | null = null;
  private reporter: StockReport | null = null;
  private stopping = false;
  deliveryFeed: DeliveryFeed | null = null;
  /** 'deliveries' after each deliveries feed handled (applied or refused). */
  readonly changes = new EventEmitter();

  constructor(private readonly o: StockServiceOptions) {
    this.store = new StockStore(o.file, o.writer);
    this.log = o.log.child({ module: 'stock' });
  }

  async start(): Promise<void> {
    await this.store.start();
    // A new ledger starts with today's sales: older ones predate every count it will ever have.
    if ((await this.store.cursor(SALES_CURSOR)) === null) await this.store.append([], this.o.now(), { name: SALES_CURSOR, value: this.o.now() });
    this.reporter = new StockReport({ snapshot: (since) => this.reportLines(since), send: this.o.report, minIntervalMs: this.o.config.reportEveryMs, now: this.o.now, log: this.log });
  }

  /** After the kiosk started (its ledger recovered): catch up on sales, forward what is left, report. */
  async ready(): Promise<void> {
    await this.catchUp();
    await this.forward();
    this.reporter!.start();
    if (this.o.deliveries) {
      this.deliveryFeed = new DeliveryFeed({ ...this.o.deliveries, store: this.store, log: this.o.log, now: this.o.now, onHandled: () => this.changes.emit('deliveries') });
      await this.deliveryFeed.start();
    }
    this.catchUpTimer = setInterval(() => void this.catchUp().catch((err: Error) => this.log.error({ err }, 'stock catch-up from the sales ledger failed')), CATCH_UP_EVERY_MS);
    this.catchUpTimer.unref();
  }

  async stop(): Promise<void> {
    this.stopping = true;
    if (this.catchUpTimer) clearInterval(this.catchUpTimer);
    this.reporter?.stop();
    await this.deliveryFeed?.stop().catch((err: Error) => this.log.warn({ err }, 'deliveries feed stop failed'));
    await this.forwarding.catch(() => undefined);
    await this.store.stop();
  }

  /** A committed event: a kiosk sale or a collected order moves stock. */
  onEvent(e: NewEvent): void {
    if (e.kind !== 'kiosk' || (e.type !== 'transaction' && e.type !== 'pickup')) return;
    const data = JSON.parse(e.data) as Record<string, unknown>;
    const work = e.type === 'transaction' ? Promise.resolve(saleMovements(data as never, this.o.now())) : this.pickupOf(data, e.recvTs);
    void work
      .then((moves) => this.add(moves))
      .catch((err: Error) => this.log.error({ err, deviceId: e.deviceId, seq: e.seq }, 'a stock movement could not be recorded; the catch-up tries again'));
  }

  private async pickupOf(data: Record<string, unknown>, at: number): Promise<NewMovement[]> {
    const row = await this.o.kiosk.order(String(data.orderId));
    if (!row) return [];
    return pickupMovements(row.order.orderId, String(data.kioskId), row.order.lines, Date.parse(String(data.ts)) || at, this.o.now());
  }

  /** Reads the sales ledger from the cursor on: whatever the live path missed is appended now. */
  async catchUp(): Promise<number> {
    const from = ((await this.store.cursor(SALES_CURSOR)) ?? this.o.now()) - CATCH_UP_MARGIN_MS;
    let added = 0;
    for (let since = from; ; ) {
      const sales = await this.o.kiosk.salesRecordedSince(since, 500);
      if (sales.length === 0) break;
      const moves = sales.flatMap((s) => saleMovements(s.record as never, this.o.now()));
      const last = sales[sales.length - 1]!.recordedAt;
      const fresh = await this.store.append(moves, this.o.now(), { name: SALES_CURSOR, value: last });
      added += fresh.length;
      if (sales.length < 500 || last === since) break;
      since = last;
    }
    if (added > 0) {
      this.log.warn({ movements: added }, 'sale movements caught up from the sales ledger');
      await this.forward();
      this.reporter?.changed();
    }
    return added;
  }

  /**
   * Appends movements and writes their records; resolves once every new one is an exact record.
   * Rejects with MovementsNotStored when stock.db did not take them (nothing changed), or with the
   * record's error when they are stored but a record is not written yet (it is forwarded later).
   * Repeats of known ids change nothing.
   */
  async add(moves: readonly NewMovement[]): Promise<string[]> {
    const fresh = await stored(this.store.append(moves, this.o.now()));
    this.moved(moves, fresh);
    await this.forward();
    return fresh;
  }

  /**
   * `add` for the ops answer: also the levels the commit left (read in its transaction) and the
   * seq of each record the forward wrote or found.
   */
  async addRead(moves: readonly NewMovement[]): Promise<{ fresh: string[]; levels: Map<string, LevelAfter>; seqs: ReadonlyMap<string, number> }> {
    const { fresh, levels } = await stored(this.store.appendRead(moves, this.o.now()));
    this.moved(moves, fresh);
    return { fresh, levels, seqs: await this.forward() };
  }

  private moved(moves: readonly NewMovement[], fresh: readonly string[]): void {
    if (fresh.length === 0) return;
    // The one line per recording (the ops route adds none on success): what moved, and who moved it.
    this.log.info({ movements: fresh.length, gtins: [...new Set(moves.map((m) => m.gtin))].slice(0, 10), by: [...new Set(moves.map((m) => m.actor))].slice(0, 3) }, 'stock moved');
    this.reporter?.changed();
  }

  /** Writes the record of every movement not yet forwarded; resolves with the seqs it wrote or found. */
  forward(): Promise<ReadonlyMap<string, number>> {
    // A run not started yet reads the ledger when it starts, so it covers a caller that comes now.
    if (this.queuedForward) return this.queuedForward;
    const run = this.forwarding.then(() => {
      this.queuedForward = null;
      return this.forwardNow();
    });
    this.queuedForward = run;
    this.forwarding = run.catch(() => undefined);
    return run;
  }

  /**
   * A batch at a time: the records it still needs are handed to ingest together, in ledger order
   * (ingest takes each seq as it is called), so they share its group commits, and the batch is
   * marked forwarded in one transaction. One record and one stock.db commit per movement, awaited
   * one after another, held the ledger to a few hundred movements a second.
   */
  private async forwardNow(): Promise<ReadonlyMap<string, number>> {
    const seqs = new Map<string, number>();
    for (;;) {
      const batch = await this.store.unforwarded(FORWARD_BATCH);
      if (this.stopping) return seqs;
      const known = await Promise.all(batch.map((m) => this.o.outbox.recordKey('stockMove', m.movementId)));
      const written = await Promise.allSettled(batch.map((m, i) => (known[i] !== null ? Promise.resolve(known[i]) : this.o.record(stockMoveRecord(m)))));
      const done = batch.flatMap((m, i) => (written[i]!.status === 'fulfilled' ? [{ movementId: m.movementId, seq: (written[i] as PromiseFulfilledResult<number>).value }] : []));
      for (const d of done) seqs.set(d.movementId, d.seq);
      // Not awaited: the records are durable, which is what the caller waits for; the seqs ride on
      // stock.db's next group commit (a lost one is found again through the outbox's record keys).
      void this.store.markForwarded(done).catch((err: Error) => this.log.warn({ err, movements: done.length }, 'noting forwarded stock movements failed; the next forward finds their records'));
      const failed = written.find((w): w is PromiseRejectedResult => w.status === 'rejected');
      if (failed) throw failed.reason;
      if (batch.length < FORWARD_BATCH) return seqs;
    }
  }

  /** Per GTIN, what open click & collect orders hold back. */
  async reserved(): Promise<Map<string, number>> {
    return reservedOf((await this.o.kiosk.openOrders()).map((r) => r.order));
  }

  /** On hand, reserved and available of one GTIN. */
  async lineOf(gtin: string, reserved?: Map<string, number>): Promise<StockLine> {
    const level = await this.store.level(gtin);
    return stockLine(gtin, level?.onHand ?? 0, (reserved ?? (await this.reserved())).get(gtin) ?? 0);
  }

  async movements(gtin: string, limit = 20): Promise<MovementRow[]> {
    return this.store.movements(gtin, limit);
  }

  /** Levels changed since `sinceMs` plus every GTIN whose reservation changed, for the report. */
  private async reportLines(sinceMs: number): Promise<{ lines: StockLine[]; reserved: Map<string, number> }> {
    const reserved = await this.reserved();
    const levels = await this.store.levels(0);
    const lines = levels.map((l) => stockLine(l.gtin, l.onHand, reserved.get(l.gtin) ?? 0));
    const known = new Set(levels.map((l) => l.gtin));
    for (const [g, n] of reserved) if (!known.has(g)) lines.push(stockLine(g, 0, n));
    void sinceMs;
    return { lines, reserved };
  }
}
