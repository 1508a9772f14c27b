/**
 * The prices component: HQ feeds in, the catalog, label fan-out, sync reports out.
 * start() opens prices.db, rebuilds the catalog and the label tracking from it, connects to HQ
 * (when configured) and starts its timers; stop() undoes that in reverse.
 *
 * Timers (all on the injected clock `now`; real timers only decide when to look):
 * - a tick (esl.tickMs): the ack watchdog, due retries, the SQLite flush of tracking rows, reports;
 * - an effective-time timer that wakes at the next promotion start/end (at most a minute ahead,
 *   so a clock step is noticed) and re-evaluates every label — promotions switch on time with the
 *   WAN down.
 */
import { EventEmitter } from 'node:events';
import path from 'node:path';
import type { Config } from '../config.js';
import type { Logger } from '../log.js';
import type { Metrics } from '../metrics.js';
import type { NewEvent } from '../outbox/store.js';
import type { DeviceRegistry, DeviceView } from '../devices/registry.js';
import { topics } from '../protocol/topics.js';
import { buildCatalog, nextChangeAfter, priceAt, rebuildCatalog, type Catalog, type PriceQuote, type ScopedRows } from './catalog.js';
import { EslFanout } from './fanout.js';
import { FeedIntake, type FeedAlert, type FeedStoreFailure } from './feeds.js';
import type { HqConnection } from '../hq/hqConnection.js';
import { LabelTracker, type LabelCounts, type TrackedLabel } from './labels.js';
import { FEED_PARTS, PriceStore, ROW_PARTS, type RowPart } from './store.js';
import { ShelfView, type MismatchLine } from './shelfView.js'; // shelf = till
import type { LabelAtSale } from './shelfTill.js';

export interface PriceServiceOptions {
  config: Readonly<Config>;
  registry: DeviceRegistry;
  metrics: Metrics;
  log: Logger;
  now: () => number;
  /** Publishes a command on the gateway's broker. */
  publish: (topic: string, payload: string, qos: 0 | 1) => Promise<void>;
  bootId: string;
  /** Started: the HQ endpoint and credentials; null without `hq` (no feeds then). */
  hqConnection: HqConnection | null;
  /** Told of every rejected feed, so the gateway can commit an exact alert record for HQ and ops. */
  onFeedRejected?: (a: FeedAlert) => void;
  /** Told when a feed could not be stored (it stays unacknowledged; HQ re-delivers it). */
  onFeedStoreFailed?: (f: FeedStoreFailure) => void;
}

export interface SyncReport {
  ts: string;
  storeId: string;
  hqConnected: boolean;
  /**
   * Feed versions (`feed/scope`) the catalog in use — prices and label contents — was built from.
   * `labels` counts are against exactly these versions (a feed that is committed but still being
   * evaluated shows in `appliedVersions` only).
   */
  versions: Record<string, number>;
  appliedVersions: Record<string, number>;
  feeds: { applied: number; rejected: number };
  labels: LabelCounts & { acked: number };
  commands: { sent: number; labelsSent: number; outstanding: number; acks: number };
  alerts: FeedAlert[];
  /** Shelf = till: sales at a price a label did not show, committed since start. */
  priceMismatches: { total: number; recent: MismatchLine[] };
}

const MAX_TIMER_MS = 60_000;
const FLUSH_ROWS = 5000;

export class PriceService {
  readonly store: PriceStore;
  readonly fanout: EslFanout;
  readonly shelf: ShelfView;
  feeds: FeedIntake | null = null;
  /** 'change' after every evaluation, dispatch and ack batch (tests and SSE listen here). */
  readonly changes = new EventEmitter();
  private rows: ScopedRows = { items: [], prices: [], promotions: [], members: [], bindings: [] };
  /** The catalog prices and labels are on now, and the newest one built (switched to by evaluate). */
  private catalog: Catalog = buildCatalog(this.rows);
  private latest: Catalog = this.catalog;
  private evalChain: Promise<number> = Promise.resolve(0);
  /** Feed versions of `latest`, and of the catalog the labels were last evaluated against. */
  private latestVersions: Record<string, number> = {};
  private labelVersions: Record<string, number> = {};
  private tick: NodeJS.Timeout | null = null;
  private effTimer: NodeJS.Timeout | null = null;
  private unsubscribe: (() => void) | null = null;
  private flushing: Promise<void> | null = null;
  private dispatching = false;
  private lastReportAt = 0;
  private lastReportKey = '';
  private readonly log: Logger;
  private stopped = false;
  private readonly apOnline = new Map<string, boolean>();

  constructor(private readonly o: PriceServiceOptions) {
    this.log = o.log.child({ module: 'prices' });
    this.store = new PriceStore(path.join(o.config.data.dir, 'prices.db'));
    const e = o.config.esl;
    this.fanout = new EslFanout({
      tracker: { ackTimeoutMs: e.ackTimeoutMs, maxAttempts: e.maxAttempts, backoff: { initialMs: e.retryInitialMs, maxMs: Math.max(e.retryMaxMs, e.retryInitialMs) } },
      maxLabelsPerCommand: e.maxLabelsPerCommand,
      publish: (ap, payload) => o.publish(topics.cmd('esl', ap, 'show'), payload, 1),
      online: (ap) => o.registry.get('esl', ap)?.online === true,
      acksOutOfOrder: (ap) => acksOutOfOrder(o.registry, ap),
      log: this.log,
      cmdPrefix: o.bootId.slice(0, 8),
    });
    this.shelf = new ShelfView(this.fanout);
  }

  async start(): Promise<void> {
    this.stopped = false;
    await this.store.start();
    for (const row of await this.store.loadTracking()) this.fanout.tracker.restore(row);
    this.fanout.restoreShown(await this.store.loadShown());
    await this.reloadCatalog();
    const hq = this.o.config.hq;
    if (hq && this.o.hqConnection) {
      this.feeds = new FeedIntake({
        storeId: this.o.config.storeId,
        hq,
        connection: this.o.hqConnection,
        clientId: this.o.config.prices.hqClientId ?? `storegw-${this.o.config.storeId}-prices`,
        store: this.store,
        metrics: this.o.metrics,
        log: this.o.log,
        now: this.o.now,
        onApplied: async (f) => {
          await this.reloadCatalog(FEED_PARTS[f.feed]);
          await this.dispatch();
        },
        onRejected: (a) => {
          this.changes.emit('change');
          this.o.onFeedRejected?.(a);
        },
        onConnection: () => this.changes.emit('change'),
        onStoreFailed: (f) => {
          this.changes.emit('change');
          this.o.onFeedStoreFailed?.(f);
        },
        limits: this.o.config.prices,
      });
      await this.feeds.start();
    }
    this.unsubscribe = this.o.registry.onChange((d) => this.onDevice(d));
    this.tick = setInterval(() => void this.onTick(), this.o.config.esl.tickMs);
    this.tick.unref();
    await this.dispatch();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.unsubscribe?.();
    if (this.tick) clearInterval(this.tick);
    if (this.effTimer) clearTimeout(this.effTimer);
    this.tick = this.effTimer = null;
    try {
      await this.feeds?.stop();
    } catch (err) {
      this.log.error({ err }, 'stopping the HQ feed connection failed');
    }
    await this.flushing;
    // Everything left, in one statement; a failing write is retried twice, then logged and dropped.
    for (let i = 0; i < 3 && (this.fanout.tracker.dirty.size > 0 || this.fanout.tracker.removed.size > 0 || this.fanout.shownDirty.size > 0); i++) await this.flush();
    await this.store.stop();
  }

  /** The kiosk and the labels price from this same function (gateway/README.md, "One price"). */
  priceAt(gtin: string, t = this.o.now(), memberCode?: string, credentialTier?: string): PriceQuote | null {
    const q = priceAt(this.catalog, gtin, t, memberCode, credentialTier);
    // The feed versions of this same catalog: a sale line says what it was priced from.
    return q ? { ...q, versions: this.labelVersions } : null;
  }

  /** The labels of `gtin` and what they show now, from memory (a sale reads this per line). */
  labelsAt(gtin: string): LabelAtSale[] {
    return this.shelf.labelsAt(this.catalog, gtin);
  }

  /** ESL acks and status, and committed price mismatches, from the gateway's committed-event observer. */
  onEvent(e: NewEvent): void {
    if (e.kind === 'kiosk' && e.type === 'priceMismatch') {
      this.shelf.onMismatch(e.seq, e.data);
      this.changes.emit('change');
      return;
    }
    if (e.kind !== 'esl') return;
    this.fanout.onEvent(e);
    this.changes.emit('change');
  }

  private onDevice(d: DeviceView): void {
    if (d.kind !== 'esl' || this.stopped) return;
    // Only the offline → online transition: a birth or a reject of a connected AP is no reconnect.
    const was = this.apOnline.get(d.id) ?? false;
    this.apOnline.set(d.id, d.online);
    if (!d.online || was) return;
    // The AP's broker session is gone (aedes keeps it in memory only): re-send what it had pending.
    this.fanout.tracker.apOnline(d.id, this.o.now());
    void this.dispatch();
  }

  private async reloadCatalog(parts: readonly RowPart[] = ROW_PARTS): Promise<void> {
    this.rows = { ...this.rows, ...(await this.store.loadRows(parts)) };
    // Builds on the newest catalog: parts this reload did not read are the same rows as there.
    this.latest = rebuildCatalog(this.latest, this.rows, parts);
    this.latestVersions = Object.fromEntries((await this.store.versions()).map((v) => [`${v.feed}/${v.scope}`, v.version]));
    const n = await this.evaluate();
    if (n > 0) this.log.info({ labels: n }, 'label contents changed');
    this.scheduleEffective();
  }

  /** Evaluations run one after another, each on the newest catalog; labels and prices switch together. */
  private evaluate(): Promise<number> {
    this.evalChain = this.evalChain
      .catch(() => 0)
      .then(async () => {
        const versions = this.latestVersions;
        const n = await this.fanout.evaluate(this.latest, this.o.now());
        this.catalog = this.fanout.currentCatalog ?? this.catalog;
        this.labelVersions = versions;
        this.changes.emit('change');
        await this.fanout.keepShown(); // what labels still show of the previous catalog
        return n;
      });
    return this.evalChain;
  }

  private scheduleEffective(): void {
    if (this.effTimer) clearTimeout(this.effTimer);
    this.effTimer = null;
    if (this.stopped) return;
    const now = this.o.now();
    const next = nextChangeAfter(this.catalog, now);
    if (next === null) return;
    const delay = Math.min(Math.max(next - now, 0), MAX_TIMER_MS);
    this.effTimer = setTimeout(() => {
      this.effTimer = null;
      const t = this.o.now();
      if (t < next) return this.scheduleEffective();
      void this.evaluate().then(
        (n) => {
          this.log.info({ at: new Date(t).toISOString(), labels: n }, 'effective time reached; labels re-evaluated');
          this.scheduleEffective();
          return this.dispatch();
        },
        (err: Error) => this.log.error({ err }, 're-evaluating labels failed'),
      );
    }, delay);
    this.effTimer.unref();
  }

  /** Sends what is due; one dispatch at a time (the tick catches whatever arrives meanwhile). */
  async dispatch(): Promise<number> {
    if (this.dispatching || this.stopped) return 0;
    this.dispatching = true;
    try {
      const n = await this.fanout.dispatch(this.o.now());
      if (n > 0) this.changes.emit('change');
      return n;
    } finally {
      this.dispatching = false;
    }
  }

  private async onTick(): Promise<void> {
    if (this.stopped) return;
    const now = this.o.now();
    const lost = this.fanout.tracker.expire(now, (ap) => this.o.registry.get('esl', ap)?.online === true, (ap) => acksOutOfOrder(this.o.registry, ap));
    if (lost > 0) this.log.info({ labels: lost }, 'ESL commands timed out; retrying');
    await this.dispatch();
    void this.flush(FLUSH_ROWS);
    this.report(now);
  }

  /**
   * Writes changed tracking rows (one statement); at most one flush at a time. The tick flushes at
   * most FLUSH_ROWS rows so a 60k-label change is written over a few ticks instead of one long
   * stall of the event loop; stop() flushes everything.
   */
  flush(max = Infinity): Promise<void> {
    if (this.flushing) return this.flushing;
    const { rows, removed } = this.fanout.tracker.takeDirty(max);
    const shown = this.fanout.takeShownDirty(max);
    if (rows.length === 0 && removed.length === 0 && shown.length === 0) return Promise.resolve();
    this.flushing = this.store
      .saveTracking(rows, removed, shown)
      .catch((err: Error) => {
        this.log.error({ err }, 'saving label tracking failed');
        for (const r of rows) this.fanout.tracker.dirty.add(r.labelId);
        this.fanout.shownNotSaved(shown);
      })
      .finally(() => {
        this.flushing = null;
      });
    return this.flushing;
  }

  private report(now: number): void {
    const s = this.sync();
    const key = JSON.stringify([s.versions, s.labels, s.priceMismatches.total]);
    if (key === this.lastReportKey ? now - this.lastReportAt < this.o.config.prices.reportEveryMs : now - this.lastReportAt < 1000) return;
    const payload = JSON.stringify({
      ts: s.ts,
      storeId: s.storeId,
      versions: s.versions,
      labels: { total: s.labels.total, acked: s.labels.acked, stale: s.labels.stale, pending: s.labels.pending + s.labels.sent, failed: s.labels.failed },
      // Shelf = till: one line per sale at a price a label did not show (the last 100 since start).
      priceMismatches: s.priceMismatches,
    });
    if (this.feeds?.publish(topics.hqReport(this.o.config.storeId, 'prices'), payload)) {
      this.lastReportAt = now;
      this.lastReportKey = key;
    }
  }

  sync(): SyncReport {
    const counts = this.fanout.tracker.counts();
    return {
      ts: new Date(this.o.now()).toISOString(),
      storeId: this.o.config.storeId,
      hqConnected: this.feeds?.connected ?? false,
      versions: this.labelVersions,
      appliedVersions: this.feeds?.appliedVersions() ?? {},
      feeds: { applied: this.feeds?.appliedCount ?? 0, rejected: this.feeds?.rejectedCount ?? 0 },
      labels: { ...counts, acked: counts.current },
      commands: { sent: this.fanout.commandsSent, labelsSent: this.fanout.labelsSent, outstanding: this.fanout.tracker.outstandingCommands(), acks: this.fanout.acksSeen },
      alerts: this.feeds?.alerts ?? [],
      priceMismatches: this.shelf.report(),
    };
  }

  listLabels(state: 'stale' | 'pending' | 'failed' | 'current', limit: number, offset: number): { total: number; labels: ReturnType<typeof labelView>[] } {
    const all = this.fanout.tracker.list(state).sort((a, b) => (a.labelId < b.labelId ? -1 : a.labelId > b.labelId ? 1 : 0));
    return { total: all.length, labels: all.slice(offset, offset + limit).map((l) => labelView(l, this.catalog)) };
  }

  label(labelId: string): ReturnType<typeof labelView> | null {
    const l = this.fanout.tracker.labels.get(labelId);
    return l ? labelView(l, this.catalog) : null;
  }

  flash(labelId: string, color: string, seconds: number) {
    return this.fanout.flash(labelId, color, seconds, this.o.now());
  }

  async resend(labelId: string): Promise<boolean> {
    if (!this.fanout.tracker.resend(labelId, this.o.now())) return false;
    await this.dispatch();
    return true;
  }

  /** Kiosk: the catalog in force, read-only — member codes and the produce picture list. */
  currentCatalog(): Catalog {
    return this.catalog;
  }
}

function labelView(l: TrackedLabel, cat: Catalog) {
  return {
    labelId: l.labelId,
    gtin: cat.bindings.get(l.labelId)?.gtin ?? null,
    ap: LabelTracker.apOf(l),
    state: l.state,
    stale: LabelTracker.isStale(l),
    target: l.target,
    acked: l.acked,
    attempts: l.attempts,
    error: l.err,
  };
}

/** The AP's birth says its acks come in any order (labels.ts: then order proves no loss). */
function acksOutOfOrder(registry: DeviceRegistry, ap: string): boolean {
  return registry.get('esl', ap)?.birth?.capabilities.includes('acksOutOfOrder') === true;
}
