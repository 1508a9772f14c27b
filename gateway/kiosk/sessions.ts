/**
 * Kiosk sessions, the I/O shell around sessionMachine.ts: device events and page intents
 * become actions, one at a time per kiosk; every new session state is saved to kiosk.db before it
 * is shown; effects run after that: the payment request is written before the charge is sent, the
 * transaction is an exact record committed (through ingest, like any device event) before the
 * page gets "thank you". Sales, reversals and the settling of payments after a restart live in
 * saleLedger.ts; a sale is never recorded twice.
 */
import { EventEmitter } from 'node:events';
import { randomUUID } from 'node:crypto';
import path from 'node:path';
import type { Config } from '../config.js';
import { LogLimiter, type Logger } from '../log.js';
import type { NewEvent, OutboxStore } from '../outbox/store.js';
import type { Ingest } from '../ingest/ingest.js';
import type { PriceService } from '../prices/prices.js';
import { buildCatalog, type Catalog } from '../prices/catalog.js';
import type { CartView, KioskLanguage, KioskSessionIntent } from '../protocol/schemas/kiosk.js';
import { createBarcodeParser, type BarcodeParser } from './barcodes.js';
import { KioskStore, type SaleRow } from './store.js';
import { isShopping, newSession, type Ctx, type Session } from './sessionMachine.js';
import type { MemberQrRefusal } from './memberVerify.js';
import { KioskMembers } from './kioskMembers.js';
import { SaleLedger, type SaleStep } from './saleLedger.js';
import { recordKioskEvent, type KioskRecordType } from './kioskRecords.js';
import { KioskTimers } from './sessionTimers.js';
import { catalogGtin } from './scanResolver.js';
import { cartView, produceList, requestView } from './cartView.js';
import type { KioskDeviceMap } from './kioskConfig.js';
import type { OrderFeed } from './orderFeed.js'; // click & collect
import { PickupFlow } from './pickupFlow.js';
import { Handovers } from './handovers.js'; // click & collect hand-over tasks
import { recordSale } from './saleRecords.js'; // shelf = till
import { PaymentPrompts } from './paymentPrompts.js';
import { paymentInFlightOf } from './paymentEvents.js';
import { KioskReceipts } from './kioskReceipts.js';
import { KioskEffects } from './kioskEffects.js';
import { ProduceOrder, SoldCounts } from './produceRanking.js'; // produce lookup: most-sold first
import { KioskPoints } from './kioskPoints.js'; // loyalty points
import { Serials } from './serials.js'; // serialised items: sold once, the exit gate's book
import { CouponBook } from './coupons/couponBook.js';
import { CouponStore } from './coupons/couponStore.js';
import type { CouponRefusal } from './coupons/couponVerify.js';
import { memberKeyring } from './memberVerify.js';
import { KioskIntake } from './kioskIntake.js';
import { startKioskFeeds, type KioskHqFeeds } from './kioskFeeds.js';
import { SessionRunner } from './sessionRunner.js';

export interface KioskServiceOptions {
  config: Readonly<Config>;
  ingest: Ingest;
  outbox: OutboxStore;
  prices: PriceService | null;
  /**
   * Sends a device command through the command store (gateway/devices/commands.ts: recorded until
   * acked, re-sent on reconnect, a charge never replayed after its TTL); resolves with its cmdId.
   */
  command: (kind: 'light' | 'payment' | 'printer', id: string, type: string, data: Record<string, unknown>, source: string) => Promise<string>;
  log: Logger;
  now: () => number;
  mono: () => number;
  /** A page's intent refused by the machine (e.g. `notSoldByWeight`): the gateway counts it. */
  onRefused?: (code: string) => void;
  /** Raises an ops alert (the alert book): a payment not matched, a sale that could not be written. */
  alert?: (code: string, severity: 'warning' | 'critical', message: string) => void;
  /** Counts payments not matched (`mismatch`, `noSale`) and failed sale writes (metrics). */
  count?: (what: 'mismatch' | 'noSale' | 'writeFailed') => void;
  /** Called at each step boundary of a sale (the crash test halts the process there); no-op by default. */
  checkpoint?: (step: SaleStep, kioskId: string) => void;
  /** The HQ link for the orders feed (null without `hq`), the feed counters and where rejections and storage failures are recorded. */
  hqFeeds?: KioskHqFeeds;
  /** A terminal prompt for another request than the kiosk's open payment: not shown, counted. */
  onPromptIgnored?: () => void;
  /** A scan refused: `currency` = an amount in another currency (GS1 393n), `unreadable` = any other bad code. */
  onScanRefused?: (reason: 'currency' | 'unreadable') => void;
  /** A member QR refused, by reason (memberVerify.ts). */
  onMemberQrRefused?: (reason: MemberQrRefusal) => void;
  /** A coupon refused, by reason (coupons/couponVerify.ts). */
  onCouponRefused?: (reason: CouponRefusal) => void;
}

/** The produce lookup ranks by the last four weeks of sales: what sells this season, read quickly at start. */
const SOLD_WINDOW_MS = 28 * 86_400_000;
const EMPTY_CATALOG = buildCatalog({ items: [], prices: [], promotions: [], members: [], bindings: [] });

export class KioskService {
  /**
   * 'view' (kioskId, CartView, hopMs | null) after every change; the WebSocket route and tests listen.
   * 'prompt' (kioskId, KioskPaymentPrompt) when the terminal asks the shopper something.
   */
  readonly changes = new EventEmitter();
  /** The terminal's latest prompt per kiosk, for its current payment only (paymentPrompts.ts). */
  readonly prompts: PaymentPrompts;
  private readonly store: KioskStore;
  private readonly sessions = new Map<string, Session>();
  private readonly timers: KioskTimers;
  private readonly parse: BarcodeParser;
  private readonly log: Logger;
  /** Refused intents are logged at most a few per kiosk and window: a page may send them in a loop. */
  private readonly refusalLog: LogLimiter;
  private readonly ledger: SaleLedger;
  /** Click & collect at the kiosks (pickupFlow.ts). */
  private readonly pickup: PickupFlow;
  /** HQ's `orders` feed intake; null without `hq` in the config. */
  orderFeed: OrderFeed | null = null;
  /** Each kiosk's last receipt, for the thank-you screen and the printer (kioskReceipts.ts). */
  private readonly receipts: KioskReceipts;
  /** Collected orders waiting to be handed over by a person. */
  readonly handovers: Handovers;
  private readonly sold = new SoldCounts();
  private readonly produceOrder = new ProduceOrder(this.sold);
  private readonly members: KioskMembers;
  /** Loyalty points: the `loyalty` feed, balances, the pointsChange records. */
  readonly points: KioskPoints;
  /** Every serialised item sold here, flagged by HQ or exempted by ops (the exit gate reads it too). */
  readonly serials: Serials;
  /** Coupons: the feed, the checks, the single-use reservations (coupons/couponBook.ts). */
  readonly coupons: CouponBook;
  /** What the session machine's effects do to devices, the ledger and the receipts. */
  private readonly effects: KioskEffects;
  /** Device events and page intents → actions and flows (kioskIntake.ts). */
  private readonly intake: KioskIntake;
  /** Runs actions one at a time per kiosk: step, save, show, then the effects (sessionRunner.ts). */
  private readonly runner: SessionRunner;

  constructor(private readonly o: KioskServiceOptions) {
    this.log = o.log.child({ module: 'kiosk' });
    this.refusalLog = new LogLimiter(o.now);
    this.timers = new KioskTimers(o.config.kiosk, (id, action) => void this.runner.dispatch(id, action, null));
    this.store = new KioskStore(path.join(o.config.data.dir, 'kiosk.db'));
    const k = o.config.kiosk;
    this.parse = createBarcodeParser({ ...(k.region !== undefined ? { region: k.region } : {}), currency: k.currency });
    this.changes.setMaxListeners(0);
    this.serials = new Serials({ store: this.store.serials, log: o.log, now: o.now });
    this.prompts = new PaymentPrompts({ session: (id) => this.sessions.get(id), emit: (id, m) => void this.changes.emit('prompt', id, m), log: this.log, ...(o.onPromptIgnored ? { onIgnored: o.onPromptIgnored } : {}) });
    this.receipts = new KioskReceipts({ config: o.config, command: o.command, log: this.log, memberTier: (code) => this.catalog().members.get(code) ?? this.members.credentialTier(code) });
    this.members = new KioskMembers({ config: o.config, store: this.store, catalog: () => this.catalog(), now: o.now, log: this.log, ...(o.onMemberQrRefused ? { onRefused: o.onMemberQrRefused } : {}) });
    this.points = new KioskPoints({ config: o.config, store: this.store, log: this.log, now: o.now, sessions: () => this.sessions.values(), tier: (m) => this.catalog().members.get(m) ?? this.members.credentialTier(m) ?? null, record: (id, data) => this.record(id, 'pointsChange', data), onChanged: () => this.changes.emit('loyalty'), checkpoint: (id) => this.checkpoint('pointsRecorded', id) });
    this.coupons = new CouponBook({ store: new CouponStore(() => this.store.connection), keys: memberKeyring(o.config.hq?.publicKeys ?? []), now: o.now, log: o.log, memberTier: (m) => this.memberTier(m), ...(o.onCouponRefused ? { onRefused: o.onCouponRefused } : {}) });
    this.handovers = new Handovers({ store: this.store, record: (kioskId, data) => this.record(kioskId, 'handover', data), outbox: o.outbox, lastSeq: () => o.ingest.lastSeq, log: this.log, now: o.now });
    this.pickup = new PickupFlow({
      store: this.store,
      outbox: o.outbox,
      handovers: this.handovers,
      log: this.log,
      now: o.now,
      lastSeq: () => o.ingest.lastSeq,
      session: (id) => this.sessions.get(id),
      record: (id, type, data) => this.record(id, type, data),
      show: (id) => void this.changes.emit('view', id, this.view(id), null),
    });
    this.ledger = new SaleLedger({
      store: this.store,
      outbox: o.outbox,
      log: o.log,
      now: o.now,
      lastSeq: () => o.ingest.lastSeq,
      session: (id) => this.sessions.get(id),
      enqueue: (id, fn) => this.runner.enqueue(id, fn),
      applyNow: (id, action) => this.runner.applyNow(id, action),
      // The sale and its shelf-label price mismatches, one commit (shelf = till).
      saleSteps: (data) => this.coupons.saleSteps(data),
      recordTransaction: (id, data) => recordSale(this.o.ingest, id, data, (gtin) => this.o.prices?.labelsAt(gtin) ?? [], this.log).then((seq) => (this.sold.add(data.lines), seq)),
      command: async (id, type, data) => {
        const dev = this.devices(id).payment;
        if (dev) await o.command('payment', dev, type, data, `kiosk:${id}`);
      },
      checkpoint: (step, id) => this.checkpoint(step, id),
      afterSale: (id, data) => this.points.afterSale(id, data),
      committed: (data) => this.serials.committed(data),
      alert: (code, severity, message) => o.alert?.(code, severity, message),
      count: (what) => o.count?.(what),
    });
    this.effects = new KioskEffects({ command: o.command, ingest: o.ingest, now: o.now, store: this.store, ledger: this.ledger, receipts: this.receipts, log: this.log, devices: (id) => this.devices(id), session: (id) => this.sessions.get(id), checkpoint: (step, id) => this.checkpoint(step, id) });
    this.runner = new SessionRunner({
      sessions: this.sessions, store: this.store, effects: this.effects, coupons: this.coupons, pickup: this.pickup, prompts: this.prompts, changes: this.changes,
      view: (id) => this.view(id), ctx: () => this.ctx(), armTimers: (id) => this.armTimers(id), checkpoint: (step, id) => this.checkpoint(step, id),
      ...(o.onRefused ? { onRefused: o.onRefused } : {}), refusalLog: this.refusalLog, log: this.log, now: o.now, mono: o.mono,
    });
    this.intake = new KioskIntake({
      config: o.config,
      log: this.log,
      refusalLog: this.refusalLog,
      parse: this.parse,
      ...(o.onScanRefused ? { onScanRefused: o.onScanRefused } : {}),
      ledger: this.ledger,
      prompts: this.prompts,
      receipts: this.receipts,
      pickup: this.pickup,
      members: this.members,
      coupons: this.coupons,
      session: (id) => this.sessions.get(id),
      catalog: () => this.catalog(),
      dispatch: (id, action, eventMono) => this.runner.dispatch(id, action, eventMono),
      enqueue: (id, fn) => this.runner.enqueue(id, fn),
      applyNow: (id, action, eventMono) => this.runner.applyNow(id, action, eventMono),
      showView: (id) => void this.changes.emit('view', id, this.view(id), null),
    });
  }

  private checkpoint(step: SaleStep, kioskId: string): void {
    this.o.checkpoint?.(step, kioskId);
  }

  get kioskIds(): string[] {
    return this.o.config.kiosks.map((k) => k.id);
  }

  async start(): Promise<void> {
    await this.store.start();
    await this.serials.start();
    this.sold.seed(await this.store.soldLines(this.o.now() - SOLD_WINDOW_MS));
    for (const s of await this.store.loadSessions()) this.sessions.set(s.kioskId, s);
    await this.coupons.reload();
    this.intake.mapDevices(this.o.config.kiosk.devices);
    for (const id of this.kioskIds) {
      if (!this.sessions.has(id)) {
        const s = newSession(id, randomUUID(), this.o.config.kiosk.currency, this.o.now(), this.devices(id).baggingScale !== undefined);
        this.sessions.set(id, s);
        await this.store.saveSession(s, this.o.now());
      }
      this.effects.sendLight(id);
      this.armTimers(id);
    }
    await this.points.start(this.o.config.hq && this.o.hqFeeds ? this.o.hqFeeds : undefined, () => this.changes.emit('loyalty'));
    await this.ledger.recover(this.kioskIds);
    await this.points.recover();
    for (const s of this.sessions.values()) await this.receipts.restore(s, (requestId) => this.store.sale(requestId));
    await this.coupons.recover([...this.sessions.values()]);
    await this.pickup.recover();
    await this.handovers.start();
    await startKioskFeeds({
      config: this.o.config,
      hqFeeds: this.o.hqFeeds,
      store: this.store,
      serials: this.serials,
      coupons: this.coupons,
      rootLog: this.o.log,
      log: this.log,
      now: this.o.now,
      onHandled: (feed) => void this.changes.emit(feed),
      adoptOrderFeed: (f) => (this.orderFeed = f),
      couponsRevoked: () => this.couponsRevoked(),
    });
    this.log.info({ kiosks: this.kioskIds.length, sessions: [...this.sessions.values()].map((s) => ({ kioskId: s.kioskId, phase: s.phase, lines: s.lines.length })) }, 'kiosk sessions ready');
  }

  async stop(): Promise<void> {
    await this.orderFeed?.stop().catch((err: Error) => this.log.warn({ err }, 'orders feed stop failed'));
    await this.points.stop();
    await this.serials.stop();
    await this.coupons.stop().catch((err: Error) => this.log.warn({ err }, 'coupons feed stop failed'));
    this.ledger.stop();
    this.timers.clear();
    await this.runner.settled();
    await this.store.stop();
  }

  /** The kiosk page's default language and idle reset, sent with the welcome. */
  get language(): KioskLanguage {
    return { default: this.o.config.kiosk.language, idleMs: this.o.config.kiosk.languageIdleMs };
  }

  /** The volume of the page's sound cues (0–1), sent with the welcome. */
  get soundVolume(): number {
    return this.o.config.kiosk.soundVolume;
  }

  /** The catalog item of a GTIN-14 (feeds may key it as GTIN-8/12/13), or null: not sold here. */
  itemOf(gtin14: string): { gtin: string; name: string } | null {
    const g = catalogGtin(this.catalog(), gtin14);
    return g === null ? null : { gtin: g, name: this.catalog().items.get(g)?.name ?? g };
  }

  /** A catalog item's name, for its generated picture (null: not in the catalog). */
  /** What the stock ledger reads of kiosk.db: sales to catch up on, open and collected orders. */
  get stockSource(): Pick<KioskStore, 'salesRecordedSince' | 'openOrders' | 'order'> {
    return this.store;
  }

  /** Voided sales and the sales ledger they read (saleVoids.ts). */
  get voidStore(): KioskStore['voids'] {
    return this.store.voids;
  }

  itemName(gtin: string): string | null {
    return this.catalog().items.get(gtin)?.name ?? null;
  }

  devices(kioskId: string): KioskDeviceMap {
    return this.o.config.kiosk.devices[kioskId] ?? {};
  }

  view(kioskId: string): CartView | null {
    const s = this.sessions.get(kioskId);
    if (!s) return null;
    const v = cartView(s, produceList(this.catalog(), (g) => this.quote(g, s.memberCode)?.price ?? null, this.produceOrder.of(this.catalog())), this.o.config.demo);
    const r = v.receipt ? this.receipts.viewOf(kioskId, v.receipt.transactionId) : null;
    return { ...v, ...this.pickup.viewOf(kioskId), ...(v.receipt && r ? { receipt: { ...v.receipt, ...r } } : {}) };
  }

  session(kioskId: string): Session | undefined {
    return this.sessions.get(kioskId);
  }

  /** The kiosk paying on terminal `paymentId` and its request, or null (its end of day waits for it). */
  paymentInFlight(paymentId: string): { kioskId: string; requestId: string | null } | null {
    return paymentInFlightOf(this.o.config.kiosk.devices, (id) => this.sessions.get(id), paymentId);
  }

  /** A sale in the kiosk's ledger (kiosk.db) by its payment request, with the terminal's receipt lines. */
  sale(requestId: string): Promise<SaleRow | null> {
    return this.store.sale(requestId);
  }

  /** Open attendant requests of every kiosk, oldest first. */
  queue(): (CartView['requests'][number] & { kioskId: string })[] {
    const out = [];
    for (const s of this.sessions.values()) for (const r of s.requests) out.push({ ...requestView(r), kioskId: s.kioskId });
    return out.sort((a, b) => a.createdAt.localeCompare(b.createdAt));
  }

  /** An attendant's decision; resolves once the attendant record is committed (false: no such request). */
  async decide(requestId: string, decision: 'approved' | 'rejected', by: string): Promise<boolean> {
    const s = [...this.sessions.values()].find((x) => x.requests.some((r) => r.requestId === requestId));
    if (!s) return false;
    let found = false;
    await this.runner.dispatch(s.kioskId, { type: 'attendant', requestId, decision, by }, null, (before) => (found = before.requests.some((r) => r.requestId === requestId)));
    return found;
  }

  /**
   * An attendant voids the open transaction of `kioskId` (committed as an exact `attendant` record
   * before it resolves): 'notFound' for an unknown kiosk, 'notOpen' when there is nothing to void or
   * a payment is under way.
   */
  async voidSession(kioskId: string, by: string): Promise<'voided' | 'notFound' | 'notOpen'> {
    if (!this.sessions.has(kioskId)) return 'notFound';
    let before: Session | undefined;
    await this.runner.dispatch(kioskId, { type: 'attendantVoid', by }, null, (s) => (before = s));
    // The machine decides; a changed session is a voided one.
    return before !== undefined && this.sessions.get(kioskId) !== before ? 'voided' : 'notOpen';
  }

  /** A page intent (already authenticated for `kioskId`). Prices or totals in it are never read. */
  intent(kioskId: string, m: KioskSessionIntent): Promise<void> {
    return this.intake.intent(kioskId, m);
  }

  /** Committed device events (gateway observer): a kiosk's scanner, scales, RFID reader, terminal. */
  onEvent(e: NewEvent): void {
    this.intake.onEvent(e);
  }

  /** After a coupons feed: a coupon HQ revoked leaves the carts that hold it (not a cart already paying). */
  private async couponsRevoked(): Promise<void> {
    for (const id of this.kioskIds) {
      await this.runner.enqueue(id, async () => {
        const s = this.sessions.get(id);
        if (s && isShopping(s.phase)) for (const a of this.coupons.revokedOn(s)) await this.runner.applyNow(id, a);
      });
    }
  }

  /** A member's tier: the member QR's credential, else the members feed. */
  private memberTier(member: string): string | null {
    return this.members.credentialTier(member) ?? this.catalog().members.get(member) ?? null;
  }

  private catalog(): Catalog {
    return this.o.prices?.currentCatalog() ?? EMPTY_CATALOG;
  }

  private quote(gtin: string, member: string | null) {
    return this.o.prices?.priceAt(gtin, this.o.now(), member ?? undefined, member !== null ? this.members.credentialTier(member) : undefined) ?? null;
  }

  private ctx(): Ctx {
    const k = this.o.config.kiosk;
    return {
      now: this.o.now(),
      quote: (g, m) => this.quote(g, m),
      rules: { removalNeedsAttendant: k.removalNeedsAttendant, voidNeedsAttendant: k.voidNeedsAttendant, bagToleranceG: k.bagToleranceG, bagTolerancePct: k.bagTolerancePct, bagNoiseG: k.bagNoiseG, soldTagQuietMs: k.soldTagQuietMs },
      newId: () => randomUUID(),
      points: this.points.ctx(),
      serialState: (g, serial) => this.serials.book.stateOf(g, serial),
      memberTier: (m) => this.memberTier(m),
    };
  }

  /** Appends an exact record about the kiosk through ingest; resolves with its seq once durable. */
  private record(kioskId: string, type: KioskRecordType, data: object): Promise<number> {
    return recordKioskEvent(this.o.ingest, kioskId, type, data);
  }

  /** Payment timeout → cancel; unanswered cancel → attendant; done/cancelled → idle again (sessionTimers.ts). */
  private armTimers(kioskId: string): void {
    this.timers.arm(kioskId, this.sessions.get(kioskId)!);
  }
}
