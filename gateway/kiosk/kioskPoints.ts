/**
 * Loyalty points at the kiosks, the I/O shell around pointsRules.ts and pointsPricing.ts: the
 * `loyalty` feed's rules and HQ's balances held in memory (read from kiosk.db at start and after
 * each feed), this store's changes since, the points open carts hold, and the exact
 * `pointsChange` records.
 *
 * A sale's points rows are committed with the sale (store.ts commitSale). Each row then becomes
 * one `pointsChange` record in the outbox and is marked with its seq. A crash between the record
 * and the mark sends that record again after the restart, with the same `entryId`: HQ applies
 * records by that key, so a repeat changes no balance (the lesson of loyalty systems that counted
 * a retried sync twice). A row is never dropped before its record is durable.
 */
import type { Config } from '../config.js';
import type { Logger } from '../log.js';
import type { Metrics } from '../metrics.js';
import type { HqConnection } from '../hq/hqConnection.js';
import type { FeedAlert, FeedStoreFailure } from '../hq/feedSubscriber.js';
import type { KioskTransactionRec } from '../protocol/schemas/kiosk.js';
import { LoyaltyFeed } from './loyaltyFeed.js';
import { offlineBalance, type LocalChange, type LoyaltyRules } from './pointsRules.js';
import { reservedBy, type PointsCtx } from './pointsPricing.js';
import { PointsStore, type PointsEntry } from './pointsStore.js';
import type { KioskStore } from './store.js';
import type { Session } from './sessionTypes.js';

export interface KioskPointsOptions {
  config: Readonly<Config>;
  store: KioskStore;
  log: Logger;
  now: () => number;
  /** Every kiosk's current session (the points they hold). */
  sessions: () => Iterable<Session>;
  /** The member's tier from the members feed or their QR credential. */
  tier: (memberId: string) => string | null;
  /** Appends a `pointsChange` record through ingest; resolves with its seq once durable. */
  record: (kioskId: string, data: object) => Promise<number>;
  /** After a feed changed rules or balances (the shell re-shows carts). */
  onChanged?: () => void;
  /** Between a pointsChange record and its mark in the ledger (the crash test halts there). */
  checkpoint?: (kioskId: string) => void;
}

export class KioskPoints {
  private readonly store: PointsStore;
  private readonly log: Logger;
  private rules: LoyaltyRules | null = null;
  private balances = new Map<string, { points: number; asOfMs: number }>();
  private changes: LocalChange[] = [];
  private feed: LoyaltyFeed | null = null;
  /** Records written since start (tests and the ops page read it). */
  recordsWritten = 0;

  constructor(private readonly o: KioskPointsOptions) {
    this.store = new PointsStore(() => o.store.connection);
    this.log = o.log.child({ module: 'points' });
  }

  /** After the kiosk store is open: rules, balances and this store's changes, then the feed. */
  async start(hqFeeds?: { connection: HqConnection | null; metrics: Metrics; onRejected?: (a: FeedAlert) => void; onStoreFailed?: (f: FeedStoreFailure) => void }, onHandled?: () => void): Promise<void> {
    await this.reload();
    const hq = this.o.config.hq;
    if (hq && hq.publicKeys.length > 0 && hqFeeds?.connection) {
      const { connection, metrics, onRejected, onStoreFailed } = hqFeeds;
      const c = this.o.config;
      this.feed = new LoyaltyFeed({
        storeId: c.storeId,
        hq,
        connection,
        clientId: `storegw-${c.storeId}-loyalty`,
        store: this.store,
        metrics,
        log: this.o.log,
        now: this.o.now,
        onApplied: async () => {
          await this.reload();
          this.o.onChanged?.();
        },
        ...(onHandled ? { onHandled } : {}),
        ...(onRejected ? { onRejected } : {}),
        ...(onStoreFailed ? { onStoreFailed } : {}),
        limits: c.prices,
      });
      await this.feed.start();
    }
  }

  async stop(): Promise<void> {
    await this.feed?.stop().catch((err: Error) => this.log.warn({ err }, 'loyalty feed stop failed'));
  }

  get loyaltyFeed(): LoyaltyFeed | null {
    return this.feed;
  }

  private async reload(): Promise<void> {
    this.rules = await this.store.rules();
    this.balances = await this.store.balances();
    this.changes = await this.store.changesSinceHq();
  }

  /** What a session step needs (sessionMachine.ts `ctx.points`). */
  ctx(): PointsCtx {
    return { rules: this.rules, available: (m, k) => this.available(m, k), tier: (m) => this.o.tier(m) };
  }

  /** Points `memberId` may spend at `kioskId`: the offline balance less what other kiosks' open carts hold. */
  available(memberId: string, kioskId: string): number {
    let reserved = 0;
    for (const s of this.o.sessions()) {
      if (s.kioskId === kioskId) continue;
      const r = reservedBy(s);
      if (r?.memberId === memberId) reserved += r.points;
    }
    return offlineBalance(this.balances.get(memberId) ?? null, this.changes, memberId, reserved);
  }

  /** A sale is in the ledger (its points rows with it): count them here, then write their records. */
  async afterSale(kioskId: string, sale: KioskTransactionRec): Promise<void> {
    if (!sale.points) return;
    // Read back from the ledger, not added up here: a sale recorded twice after a crash counts once.
    this.changes = await this.store.changesSinceHq();
    for (const e of await this.store.entries(sale.transactionId)) if (e.seq === null) await this.forward(kioskId, e);
  }

  /**
   * A post-sale void gives the sale's points back: exact reversal rows in kiosk.db keyed by the
   * transaction id (pointsReversalSteps; pass `inCommit: true` when the void's own commit already
   * ran them), then one `pointsChange` record each (entryId `<store>:<tx>:earnReversal` …), so HQ
   * undoes the sale's points once. Returns the reversal entries (none for a sale without points).
   * Idempotent: calling it again writes and sends nothing new.
   */
  async reversePoints(transactionId: string, o: { inCommit?: boolean } = {}): Promise<PointsEntry[]> {
    if (!o.inCommit) await this.store.reverse(transactionId, this.o.now());
    const reversals = (await this.store.entries(transactionId)).filter((e) => e.kind === 'earnReversal' || e.kind === 'spendReversal');
    this.changes = await this.store.changesSinceHq();
    for (const e of reversals) if (e.seq === null) await this.forward(e.kioskId, e);
    return this.store.entries(transactionId).then((all) => all.filter((e) => e.kind === 'earnReversal' || e.kind === 'spendReversal'));
  }

  /** After a restart: every row whose record may not be in the outbox yet gets it (again). */
  async recover(): Promise<void> {
    const rows = await this.store.unforwarded();
    for (const e of rows) await this.forward(e.kioskId, e);
    if (rows.length > 0) this.log.warn({ rows: rows.length }, 'points changes forwarded after a restart');
  }

  private async forward(kioskId: string, e: PointsEntry): Promise<void> {
    const data = { ts: new Date(e.at).toISOString(), entryId: `${this.o.config.storeId}:${e.transactionId}:${e.kind}`, transactionId: e.transactionId, kioskId, kind: e.kind, memberId: e.memberId, delta: e.delta, program: e.program };
    const seq = await this.o.record(kioskId, data);
    this.o.checkpoint?.(kioskId);
    await this.store.markForwarded(e.transactionId, e.kind, seq);
    this.recordsWritten++;
    this.log.info({ deviceId: kioskId, seq, transactionId: e.transactionId, kind: e.kind, delta: e.delta }, 'points change recorded');
  }
}
