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
import { isShopping, newSession, REFUSAL_NOTICES, step, type Action, type Ctx, type Session } from './sessionMachine.js';
import { memberQrOf } from './memberQr.js';
import type { MemberQrRefusal } from './memberVerify.js';
import { KioskMembers } from './kioskMembers.js';
import { SaleLedger, savedStep, type SaleStep } from './saleLedger.js';
import { recordKioskEvent, type KioskRecordType } from './kioskRecords.js';
import { KioskTimers } from './sessionTimers.js';
import { intentAction } from './intentCheck.js';
import { catalogGtin, resolveEpc, resolveScan } from './scanResolver.js';
import { cartView, produceList, requestView } from './cartView.js';
import type { KioskDeviceMap } from './kioskConfig.js';
import { OrderFeed } from './orderFeed.js'; // click & collect
import type { HqConnection } from '../hq/hqConnection.js';
import type { FeedAlert, FeedStoreFailure } from '../hq/feedSubscriber.js';
import type { Metrics } from '../metrics.js';
import { pickupCodeOf } from './orders.js'; // click & collect
import { PickupFlow } from './pickupFlow.js';
import { Handovers } from './handovers.js'; // click & collect hand-over tasks
import { recordSale } from './saleRecords.js'; // shelf = till
import { PaymentPrompts } from './paymentPrompts.js';
import { paymentInFlightOf, resultAction } from './paymentEvents.js';
import { KioskReceipts } from './kioskReceipts.js';
import { KioskEffects } from './kioskEffects.js';
import { ProduceOrder, SoldCounts } from './produceRanking.js'; // produce lookup: most-sold first
import { KioskPoints } from './kioskPoints.js'; // loyalty points
import { Serials } from './serials.js'; // serialised items: sold once, the exit gate's book
import { CouponBook } from './coupons/couponBook.js';
import { CouponStore } from './coupons/couponStore.js';
import { couponCodeOf } from './coupons/couponCode.js';
import type { CouponRefusal } from './coupons/couponVerify.js';
import { memberKeyring } from './memberVerify.js';

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
  hqFeeds?: { connection: HqConnection | null; metrics: Metrics; onRejected?: (a: FeedAlert) => void; onStoreFailed?: (f: FeedStoreFailure) => void };
  /** A terminal prompt for another request than the kiosk's open payment: not shown, counted. */
  onPromptIgnored?: () => void;
  /** A scan refused: `currency` = an amount in another currency (GS1 393n), `unreadable` = any other bad code. */
  onScanRefused?: (reason: 'currency' | 'unreadable') => void;
  /** A member QR refused, by reason (memberVerify.ts). */
  onMemberQrRefused?: (reason: MemberQrRefusal) => void;
  /** A coupon refused, by reason (coupons/couponVerify.ts). */
  onCouponRefused?: (reason: CouponRefusal) => void;
}

type Role = keyof KioskDeviceMap;
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
  private readonly chains = new Map<string, Promise<void>>();
  private readonly byDevice = new Map<string, { kioskId: string; role: Role }>();
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

  constructor(private readonly o: KioskServiceOptions) {
    this.log = o.log.child({ module: 'kiosk' });
    this.refusalLog = new LogLimiter(o.now);
    this.timers = new KioskTimers(o.config.kiosk, (id, action) => void this.dispatch(id, action, null));
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
      enqueue: (id, fn) => this.enqueue(id, fn),
      applyNow: (id, action) => this.applyNow(id, action),
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
    for (const [kioskId, devs] of Object.entries(this.o.config.kiosk.devices)) {
      for (const [role, id] of Object.entries(devs) as [Role, string][]) this.byDevice.set(`${kindOf(role)}/${id}`, { kioskId, role });
    }
    for (const id of this.kioskIds) {
      if (!this.sessions.has(id)) {
        const s = newSession(id, randomUUID(), this.o.config.kiosk.currency, this.o.now(), this.devices(id).baggingScale !== undefined);
        this.sessions.set(id, s);
        await this.store.saveSession(s, this.o.now());
      }
      this.sendLight(id);
      this.armTimers(id);
    }
    await this.points.start(this.o.config.hq && this.o.hqFeeds ? this.o.hqFeeds : undefined, () => this.changes.emit('loyalty'));
    await this.ledger.recover(this.kioskIds);
    await this.points.recover();
    for (const s of this.sessions.values()) await this.receipts.restore(s, (requestId) => this.store.sale(requestId));
    await this.coupons.recover([...this.sessions.values()]);
    await this.pickup.recover();
    await this.handovers.start();
    if (this.o.config.hq && this.o.config.hq.publicKeys.length === 0) {
      // Orders must be signed by HQ; without a key to check them, none is accepted.
      this.log.warn('click & collect is off: hq.publicKeys is empty, so no orders feed can be verified');
    } else if (this.o.config.hq && this.o.hqFeeds?.connection) {
      const { connection, metrics, onRejected, onStoreFailed } = this.o.hqFeeds;
      const c = this.o.config;
      this.orderFeed = new OrderFeed({ storeId: c.storeId, hq: this.o.config.hq, connection, clientId: `storegw-${c.storeId}-orders`, store: this.store, metrics, log: this.o.log, now: this.o.now, onHandled: () => this.changes.emit('orders'), ...(onRejected ? { onRejected } : {}), ...(onStoreFailed ? { onStoreFailed } : {}), limits: c.prices });
      await this.orderFeed.start();
      await this.serials.startFeed({ storeId: c.storeId, hq: this.o.config.hq, connection, metrics, onHandled: () => this.changes.emit('serials'), ...(onRejected ? { onRejected } : {}), ...(onStoreFailed ? { onStoreFailed } : {}), limits: c.prices });
      await this.coupons.startFeed({ storeId: c.storeId, hq: this.o.config.hq, connection, clientId: `storegw-${c.storeId}-coupons`, metrics, onHandled: () => this.changes.emit('coupons'), ...(onRejected ? { onRejected } : {}), ...(onStoreFailed ? { onStoreFailed } : {}), limits: c.prices }, () => this.couponsRevoked());
    }
    this.log.info({ kiosks: this.kioskIds.length, sessions: [...this.sessions.values()].map((s) => ({ kioskId: s.kioskId, phase: s.phase, lines: s.lines.length })) }, 'kiosk sessions ready');
  }

  async stop(): Promise<void> {
    await this.orderFeed?.stop().catch((err: Error) => this.log.warn({ err }, 'orders feed stop failed'));
    await this.points.stop();
    await this.serials.stop();
    await this.coupons.stop().catch((err: Error) => this.log.warn({ err }, 'coupons feed stop failed'));
    this.ledger.stop();
    this.timers.clear();
    await Promise.allSettled([...this.chains.values()]);
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
    await this.dispatch(s.kioskId, { type: 'attendant', requestId, decision, by }, null, (before) => (found = before.requests.some((r) => r.requestId === requestId)));
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
    await this.dispatch(kioskId, { type: 'attendantVoid', by }, null, (s) => (before = s));
    // The machine decides; a changed session is a voided one.
    return before !== undefined && this.sessions.get(kioskId) !== before ? 'voided' : 'notOpen';
  }

  /** A page intent (already authenticated for `kioskId`). Prices or totals in it are never read. */
  intent(kioskId: string, m: KioskSessionIntent): Promise<void> {
    if (m.type === 'pay') this.receipts.languages.remember(kioskId, this.sessions.get(kioskId)?.sessionId, m.lang);
    if (m.type === 'printReceipt') return this.enqueue(kioskId, async () => this.printRequested(kioskId));
    if (m.type === 'pickupConfirm') return this.enqueue(kioskId, () => this.pickup.confirm(kioskId));
    if (m.type === 'pickupClose') return this.enqueue(kioskId, () => this.pickup.close(kioskId));
    if (m.type === 'coupon' || (m.type === 'scan' && this.o.config.demo && couponCodeOf(m.code) !== null)) return this.enqueue(kioskId, () => this.couponPresented(kioskId, m.code));
    const qr = m.type === 'scan' && this.o.config.demo ? memberQrOf(m.code) : null;
    if (qr !== null) return this.enqueue(kioskId, () => this.memberScan(kioskId, qr));
    if (m.type === 'scan' && this.o.config.demo && pickupCodeOf(m.code) !== null) return this.enqueue(kioskId, () => this.pickup.scan(kioskId, m.code));
    const action = intentAction(m, { demo: this.o.config.demo, scan: (code, sym) => this.resolveScanned(code, sym), knownMember: (code) => this.catalog().members.has(code) && this.catalog().memberStates.get(code)?.status !== 'suspended' });
    return action ? this.dispatch(kioskId, action, null) : Promise.resolve();
  }

  /** Committed device events (gateway observer): a kiosk's scanner, scales, RFID reader, terminal. */
  onEvent(e: NewEvent): void {
    const dev = this.byDevice.get(`${e.kind}/${e.deviceId}`);
    if (!dev) return;
    const data = JSON.parse(e.data) as Record<string, unknown>;
    let action: Action | null = null;
    const qr = dev.role === 'scanner' && e.type === 'scan' ? memberQrOf(String(data.code)) : null;
    if (qr !== null) return void this.enqueue(dev.kioskId, () => this.memberScan(dev.kioskId, qr));
    if (dev.role === 'scanner' && e.type === 'scan' && couponCodeOf(String(data.code)) !== null) return void this.enqueue(dev.kioskId, () => this.couponPresented(dev.kioskId, String(data.code)));
    if (dev.role === 'scanner' && e.type === 'scan' && pickupCodeOf(String(data.code)) !== null) return void this.enqueue(dev.kioskId, () => this.pickup.scan(dev.kioskId, String(data.code)));
    if (dev.role === 'scanner' && e.type === 'scan') action = this.resolveScanned(String(data.code), data.symbology as string | undefined, dev.kioskId);
    else if (dev.role === 'produceScale' && e.type === 'weight') action = { type: 'produceWeight', grams: Number(data.grams), stable: data.stable === true && (data.range ?? 'ok') === 'ok' };
    else if (dev.role === 'baggingScale' && e.type === 'weight') action = { type: 'bagWeight', grams: Number(data.grams), stable: data.stable === true && (data.range ?? 'ok') === 'ok' };
    else if (dev.role === 'rfid' && e.type === 'read') action = resolveEpc(String(data.epc), this.catalog());
    else if (dev.role === 'payment' && e.type === 'result') return this.onResult(dev.kioskId, data, e.monoMs);
    else if (dev.role === 'payment' && e.type === 'status') return this.prompts.onStatus(dev.kioskId, data);
    else if (dev.role === 'payment' && e.type === 'endOfDay') return void this.log.info({ deviceId: e.deviceId, kioskId: dev.kioskId, seq: e.seq, cmdId: data.cmdId, ok: data.ok, count: data.count ?? null, totalAmount: data.totalAmount ?? null, currency: data.currency ?? null }, 'terminal end of day');
    if (action) void this.dispatch(dev.kioskId, action, e.monoMs);
  }

  /**
   * A terminal's result. One for another request than the current payment passes only if that
   * payment is not settled (a repeated result of a recorded sale must not look like money
   * taken without a sale). A terminal is asked about a payment in doubt once, at start-up (the
   * command store re-sends that question when it is back), never again on each reconnect.
   */
  private onResult(kioskId: string, d: Record<string, unknown>, monoMs: number): void {
    const action = resultAction(String(d.requestId), d);
    void this.enqueue(kioskId, async () => {
      const s = this.sessions.get(kioskId);
      const current = s?.payment?.requestId === action.requestId;
      // Learned from the terminal after a lost connection (its repeat receipt): settles the payment like any result.
      if (d.recovered === true) this.log.warn({ deviceId: kioskId, requestId: action.requestId, status: action.status, amount: action.amount, receiptNo: action.terminal?.receiptNo ?? null, current }, 'payment result recovered from the terminal after a lost connection');
      if (!current && !(await this.ledger.passStaleResult(action.requestId))) return;
      await this.applyNow(kioskId, action, monoMs);
    });
  }

  /** A scanned code → its action; a refused code is counted and logged (rate-limited per kiosk and reason). */
  private resolveScanned(code: string, symbology: string | undefined, kioskId = 'demo'): Action {
    const action = resolveScan(code, symbology, this.parse, this.catalog());
    if (action.type !== 'badCode') return action;
    const reason = action.currency !== undefined ? 'currency' : 'unreadable';
    this.o.onScanRefused?.(reason);
    const suppressed = this.refusalLog.take(`${kioskId}:scan:${reason}`);
    if (suppressed >= 0) this.log.warn({ deviceId: kioskId, reason, detail: action.detail, suppressed }, 'scan refused');
    return action;
  }

  /** A member QR (never a product code): verified, used up, then the member or the refusal on the cart. */
  private async memberScan(kioskId: string, code: string): Promise<void> {
    const s = this.sessions.get(kioskId);
    // A kiosk that is paying or saying thank-you takes no member: the QR is not used up.
    if (!s || !isShopping(s.phase)) return;
    await this.applyNow(kioskId, await this.members.scan(kioskId, code));
  }

  /** A coupon scanned or typed: verified and its serial reserved for this cart, then on the cart or refused by name. */
  private async couponPresented(kioskId: string, code: string): Promise<void> {
    const s = this.sessions.get(kioskId);
    // A kiosk that is paying or saying thank-you takes no coupon: its serial is not reserved.
    if (!s || !isShopping(s.phase)) return;
    await this.applyNow(kioskId, await this.coupons.present(kioskId, s, code));
  }

  /** After a coupons feed: a coupon HQ revoked leaves the carts that hold it (not a cart already paying). */
  private async couponsRevoked(): Promise<void> {
    for (const id of this.kioskIds) {
      await this.enqueue(id, async () => {
        const s = this.sessions.get(id);
        if (s && isShopping(s.phase)) for (const a of this.coupons.revokedOn(s)) await this.applyNow(id, a);
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

  /** Runs one action after the kiosk's previous one; never rejects (a failure is logged). */
  private dispatch(kioskId: string, action: Action, eventMono: number | null, peek?: (before: Session) => void): Promise<void> {
    const prev = this.chains.get(kioskId) ?? Promise.resolve();
    const next = prev.then(() => {
      const s = this.sessions.get(kioskId);
      if (!s) return;
      peek?.(s);
      return this.applyNow(kioskId, action, eventMono);
    }).catch((err: Error) => this.log.error({ err, deviceId: kioskId, action: action.type }, 'a kiosk action failed'));
    this.chains.set(kioskId, next);
    return next;
  }

  /** One action on the kiosk's current session; only from its chain (dispatch, enqueue). */
  private async applyNow(kioskId: string, action: Action, eventMono: number | null = null): Promise<void> {
    const s = this.sessions.get(kioskId);
    if (!s) return;
    const { session, effects } = step(s, action, this.ctx());
    if (session === s) return;
    if (session.notice && REFUSAL_NOTICES.has(session.notice.code)) this.refused(session.kioskId, action.type, session.notice);
    await this.commitState(s, session, eventMono);
    await this.coupons.sessionChanged(s, session);
    if (s.payment && !session.payment) {
      // A payment the machine gave up on: settled as its result says, or reversed.
      const reversed = effects.some((fx) => fx.type === 'reverseCharge' && fx.requestId === s.payment!.requestId);
      await this.store.updatePayment(s.payment.requestId, reversed ? 'reversed' : action.type === 'paymentResult' ? action.status : 'cancelled', this.o.now());
    }
    for (const fx of effects) await this.effects.run(session.kioskId, fx);
  }

  private async commitState(prev: Session, session: Session, eventMono: number | null): Promise<void> {
    await this.store.saveSession(session, this.o.now());
    const crossed = savedStep(prev, session);
    if (crossed) this.checkpoint(crossed, session.kioskId);
    this.sessions.set(session.kioskId, session);
    this.pickup.sessionChanged(session);
    this.prompts.sessionChanged(session);
    this.changes.emit('view', session.kioskId, this.view(session.kioskId), eventMono);
    if (eventMono !== null) this.changes.emit('hop', session.kioskId, this.o.mono() - eventMono);
    if (crossed === 'sessionSaved') this.checkpoint('thankYou', session.kioskId);
    this.sendLight(session.kioskId);
    this.armTimers(session.kioskId);
  }

  /** The shopper asked for paper: the current sale's receipt is printed once, and the page told. */
  private printRequested(kioskId: string): void {
    const s = this.sessions.get(kioskId);
    if (s?.phase !== 'done' || !s.receipt) return;
    if (this.receipts.print(kioskId, s.receipt.transactionId)) this.changes.emit('view', kioskId, this.view(kioskId), null);
  }

  /** Counted always, logged rate-limited, naming the field in `detail`. */
  private refused(kioskId: string, intent: string, notice: { code: string; detail?: string }): void {
    this.o.onRefused?.(notice.code);
    const suppressed = this.refusalLog.take(`${kioskId}:${notice.code}`);
    if (suppressed >= 0) this.log.warn({ deviceId: kioskId, intent, code: notice.code, reason: notice.detail, suppressed }, 'kiosk intent refused');
  }

  /** Appends an exact record about the kiosk through ingest; resolves with its seq once durable. */
  private record(kioskId: string, type: KioskRecordType, data: object): Promise<number> {
    return recordKioskEvent(this.o.ingest, kioskId, type, data);
  }

  private sendLight(kioskId: string): void {
    this.effects.sendLight(kioskId);
  }

  /** Payment timeout → cancel; unanswered cancel → attendant; done/cancelled → idle again (sessionTimers.ts). */
  private armTimers(kioskId: string): void {
    this.timers.arm(kioskId, this.sessions.get(kioskId)!);
  }

  private enqueue(kioskId: string, fn: () => Promise<void>): Promise<void> {
    const next = (this.chains.get(kioskId) ?? Promise.resolve()).then(fn).catch((err: Error) => this.log.error({ err, deviceId: kioskId }, 'a kiosk step failed'));
    this.chains.set(kioskId, next);
    return next;
  }
}

function kindOf(role: Role): 'scanner' | 'scale' | 'rfid' | 'light' | 'payment' | 'printer' {
  return role === 'produceScale' || role === 'baggingScale' ? 'scale' : role;
}

