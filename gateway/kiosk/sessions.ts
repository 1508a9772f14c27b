/**
 * Kiosk sessions, the I/O shell around sessionMachine.ts (issue 7): device events and page intents
 * become actions, one at a time per kiosk; every new session state is saved to kiosk.db before it
 * is shown; effects run after that: the payment request is written before the charge is sent, the
 * transaction is an exact record committed (through ingest, like any device event) before the
 * page gets "thank you". After a restart, open payments are settled from the outbox and by asking
 * the terminal (a cancel answers with the request's final status); a sale is never recorded twice.
 */
import { EventEmitter } from 'node:events';
import { randomUUID } from 'node:crypto';
import path from 'node:path';
import type { Config } from '../config.js';
import type { Logger } from '../log.js';
import type { NewEvent, OutboxStore } from '../outbox/store.js';
import type { Ingest } from '../ingest/ingest.js';
import type { DeviceEntry, DeviceRegistry, DeviceView } from '../devices/registry.js';
import type { PriceService } from '../prices/prices.js';
import { buildCatalog, type Catalog } from '../prices/catalog.js';
import { topics } from '../protocol/topics.js';
import type { CartView, KioskIntent, KioskLanguage } from '../protocol/schemas/kiosk.js';
import { createBarcodeParser, type BarcodeParser } from './barcodes.js';
import { KioskStore } from './store.js';
import { isShopping, lightFor, newSession, step, transactionOf, type Action, type Ctx, type Effect, type Session } from './sessionMachine.js';
import { resolveEpc, resolveScan } from './scanResolver.js';
import { cartView, produceList, requestView } from './cartView.js';
import type { KioskDeviceMap } from './kioskConfig.js';
import { OrderFeed } from './orderFeed.js'; // click & collect
import { decidePickup, pickupCodeOf, pickupRecord, type PickupView } from './orders.js'; // click & collect

export interface KioskServiceOptions {
  config: Readonly<Config>;
  ingest: Ingest;
  outbox: OutboxStore;
  /** Device online/offline: a terminal that (re)connects is asked again about a payment in doubt. */
  registry: DeviceRegistry;
  prices: PriceService | null;
  /**
   * Sends a device command through the command store (gateway/devices/commands.ts: recorded until
   * acked, re-sent on reconnect, a charge never replayed after its TTL); resolves with its cmdId.
   */
  command: (kind: 'light' | 'payment', id: string, type: string, data: Record<string, unknown>, source: string) => Promise<string>;
  log: Logger;
  now: () => number;
  mono: () => number;
  /** A scan refused (issue 14): `currency` = an amount in another currency (GS1 393n), `unreadable` = any other bad code. */
  onScanRefused?: (reason: 'currency' | 'unreadable') => void;
}

type Role = keyof KioskDeviceMap;
const EMPTY_CATALOG = buildCatalog({ items: [], prices: [], promotions: [], members: [], bindings: [] });

export class KioskService {
  /** 'view' (kioskId, CartView, hopMs | null) after every change; the WebSocket route and tests listen. */
  readonly changes = new EventEmitter();
  private readonly store: KioskStore;
  private readonly sessions = new Map<string, Session>();
  private readonly chains = new Map<string, Promise<void>>();
  private readonly byDevice = new Map<string, { kioskId: string; role: Role }>();
  private readonly timers = new Map<string, NodeJS.Timeout>();
  private readonly lights = new Map<string, string>();
  /** When each kiosk last logged a refused scan (mono ms). */
  private readonly refusedLogAt = new Map<string, number>();
  private readonly parse: BarcodeParser;
  private readonly log: Logger;
  private unsubscribe: (() => void) | null = null;
  /** Payments left open by a previous run, until their terminal answers. */
  private readonly inDoubt = new Set<string>();
  /** Click & collect: the order shown on each kiosk (not persisted: after a restart the shopper scans again). */
  private readonly pickups = new Map<string, PickupView>();
  private readonly pickupNotices = new Map<string, { code: string; detail?: string }>();
  /** HQ's `orders` feed intake; null without `hq` in the config. */
  orderFeed: OrderFeed | null = null;

  constructor(private readonly o: KioskServiceOptions) {
    this.log = o.log.child({ module: 'kiosk' });
    this.store = new KioskStore(path.join(o.config.data.dir, 'kiosk.db'));
    const k = o.config.kiosk;
    this.parse = createBarcodeParser({ ...(k.region !== undefined ? { region: k.region } : {}), currency: k.currency });
    this.changes.setMaxListeners(0);
  }

  get kioskIds(): string[] {
    return this.o.config.kiosks.map((k) => k.id);
  }

  async start(): Promise<void> {
    await this.store.start();
    for (const s of await this.store.loadSessions()) this.sessions.set(s.kioskId, s);
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
    this.unsubscribe = this.o.registry.onChange((d) => this.onDevice(d));
    await this.recover();
    await this.recoverPickups();
    if (this.o.config.hq && this.o.config.hq.publicKeys.length === 0) {
      // Orders must be signed by HQ; without a key to check them, none is accepted.
      this.log.warn('click & collect is off: hq.publicKeys is empty, so no orders feed can be verified');
    } else if (this.o.config.hq) {
      this.orderFeed = new OrderFeed({ storeId: this.o.config.storeId, hq: this.o.config.hq, clientId: `storegw-${this.o.config.storeId}-orders`, store: this.store, log: this.o.log, now: this.o.now, onHandled: () => this.changes.emit('orders'), limits: this.o.config.prices });
      await this.orderFeed.start();
    }
    this.log.info({ kiosks: this.kioskIds.length, sessions: [...this.sessions.values()].map((s) => ({ kioskId: s.kioskId, phase: s.phase, lines: s.lines.length })) }, 'kiosk sessions ready');
  }

  async stop(): Promise<void> {
    await this.orderFeed?.stop().catch((err: Error) => this.log.warn({ err }, 'orders feed stop failed'));
    this.unsubscribe?.();
    for (const t of this.timers.values()) clearTimeout(t);
    this.timers.clear();
    await Promise.allSettled([...this.chains.values()]);
    await this.store.stop();
  }

  /** The kiosk page's default language and idle reset (issue 14), sent with the welcome. */
  get language(): KioskLanguage {
    return { default: this.o.config.kiosk.language, idleMs: this.o.config.kiosk.languageIdleMs };
  }

  devices(kioskId: string): KioskDeviceMap {
    return this.o.config.kiosk.devices[kioskId] ?? {};
  }

  view(kioskId: string): CartView | null {
    const s = this.sessions.get(kioskId);
    if (!s) return null;
    const v = cartView(s, produceList(this.catalog(), (g) => this.quote(g, s.memberCode)?.price ?? null), this.o.config.demo);
    const notice = this.pickupNotices.get(kioskId);
    return { ...v, pickup: this.pickups.get(kioskId) ?? null, ...(notice ? { notice } : {}) };
  }

  session(kioskId: string): Session | undefined {
    return this.sessions.get(kioskId);
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
  intent(kioskId: string, m: KioskIntent): Promise<void> {
    if (m.type === 'pickupConfirm') return this.enqueue(kioskId, () => this.confirmPickup(kioskId));
    if (m.type === 'pickupClose') return this.enqueue(kioskId, () => this.closePickup(kioskId));
    if (m.type === 'scan' && this.o.config.demo && typeof m.code === 'string' && pickupCodeOf(m.code) !== null) return this.enqueue(kioskId, () => this.scanPickup(kioskId, m.code));
    const action = this.intentAction(m);
    return action ? this.dispatch(kioskId, action, null) : Promise.resolve();
  }

  private intentAction(m: KioskIntent): Action | null {
    switch (m.type) {
      case 'scan':
        // Demo only: the page's "simulated scan" stands in for the scanner (issue 7 §2).
        return this.o.config.demo && typeof m.code === 'string' && m.code.length <= 512 ? this.resolveScanned(m.code, typeof m.symbology === 'string' ? m.symbology : undefined) : null;
      case 'setQty':
        return typeof m.lineId === 'string' && Number.isInteger(m.qty) ? { type: 'setQty', lineId: m.lineId, qty: m.qty } : null;
      case 'remove':
        return typeof m.lineId === 'string' ? { type: 'remove', lineId: m.lineId } : null;
      case 'member':
        return typeof m.code === 'string' ? { type: 'member', code: m.code, known: this.catalog().members.has(m.code) } : null;
      case 'pickProduce':
        return typeof m.gtin === 'string' ? { type: 'pickProduce', gtin: m.gtin } : null;
      case 'pay':
      case 'cancel':
      case 'help':
        return { type: m.type };

      default:
        return null;
    }
  }

  /** Committed device events (gateway observer): a kiosk's scanner, scales, RFID reader, terminal. */
  onEvent(e: NewEvent): void {
    const dev = this.byDevice.get(`${e.kind}/${e.deviceId}`);
    if (!dev) return;
    const data = JSON.parse(e.data) as Record<string, unknown>;
    let action: Action | null = null;
    if (dev.role === 'scanner' && e.type === 'scan' && pickupCodeOf(String(data.code)) !== null) return void this.enqueue(dev.kioskId, () => this.scanPickup(dev.kioskId, String(data.code)));
    if (dev.role === 'scanner' && e.type === 'scan') action = this.resolveScanned(String(data.code), data.symbology as string | undefined, dev.kioskId);
    else if (dev.role === 'produceScale' && e.type === 'weight') action = { type: 'produceWeight', grams: Number(data.grams), stable: data.stable === true && (data.range ?? 'ok') === 'ok' };
    else if (dev.role === 'baggingScale' && e.type === 'weight') action = { type: 'bagWeight', grams: Number(data.grams), stable: data.stable === true && (data.range ?? 'ok') === 'ok' };
    else if (dev.role === 'rfid' && e.type === 'read') action = resolveEpc(String(data.epc), this.catalog());
    else if (dev.role === 'payment' && e.type === 'result') action = { type: 'paymentResult', requestId: String(data.requestId), status: data.status as 'approved', amount: Number(data.amount), ...(typeof data.authCode === 'string' ? { authCode: data.authCode } : {}) };
    else if (dev.role === 'payment' && e.type === 'heartbeat') this.askAgain(dev.kioskId); // it is listening again
    if (action) void this.dispatch(dev.kioskId, action, e.monoMs);
  }

  /** A scanned code → its action; a refused code is counted and logged (at most one line per kiosk per 10 s). */
  private resolveScanned(code: string, symbology: string | undefined, kioskId = 'demo'): Action {
    const action = resolveScan(code, symbology, this.parse, this.catalog());
    if (action.type !== 'badCode') return action;
    const reason = action.currency !== undefined ? 'currency' : 'unreadable';
    this.o.onScanRefused?.(reason);
    const last = this.refusedLogAt.get(kioskId) ?? -Infinity;
    if (this.o.mono() - last >= 10_000) {
      this.refusedLogAt.set(kioskId, this.o.mono());
      this.log.warn({ deviceId: kioskId, reason, detail: action.detail }, 'scan refused');
    }
    return action;
  }

  /** A kiosk's terminal came online while a payment is in doubt: ask it again (its session may be new). */
  private onDevice(d: DeviceView): void {
    if (d.kind !== 'payment' || !d.online) return;
    const dev = this.byDevice.get(`payment/${d.id}`);
    if (dev) this.askAgain(dev.kioskId);
  }

  /** A payment in doubt after a restart: a cancel makes the terminal answer with the request's final status. */
  private askAgain(kioskId: string): void {
    const s = this.sessions.get(kioskId);
    if (!s || s.phase !== 'paying' || !s.payment || !this.inDoubt.has(s.payment.requestId)) return;
    const { requestId, status } = s.payment;
    if (status === 'sent') void this.dispatch(kioskId, { type: 'cancel' }, null);
    else if (status === 'cancelling') void this.enqueue(kioskId, () => this.run(kioskId, { type: 'cancelCharge', requestId }));
  }

  private catalog(): Catalog {
    return this.o.prices?.currentCatalog() ?? EMPTY_CATALOG;
  }

  private quote(gtin: string, member: string | null) {
    return this.o.prices?.priceAt(gtin, this.o.now(), member ?? undefined) ?? null;
  }

  private ctx(): Ctx {
    const k = this.o.config.kiosk;
    return {
      now: this.o.now(),
      quote: (g, m) => this.quote(g, m),
      rules: { removalNeedsAttendant: k.removalNeedsAttendant, voidNeedsAttendant: k.voidNeedsAttendant, bagToleranceG: k.bagToleranceG, bagTolerancePct: k.bagTolerancePct, bagNoiseG: k.bagNoiseG },
      newId: () => randomUUID(),
    };
  }

  /** Runs one action after the kiosk's previous one; never rejects (a failure is logged). */
  private dispatch(kioskId: string, action: Action, eventMono: number | null, peek?: (before: Session) => void): Promise<void> {
    const prev = this.chains.get(kioskId) ?? Promise.resolve();
    const next = prev.then(() => {
      const s = this.sessions.get(kioskId);
      if (!s) return;
      peek?.(s);
      return this.apply(s, action, eventMono);
    }).catch((err: Error) => this.log.error({ err, deviceId: kioskId, action: action.type }, 'a kiosk action failed'));
    this.chains.set(kioskId, next);
    return next;
  }

  private async apply(s: Session, action: Action, eventMono: number | null): Promise<void> {
    const { session, effects } = step(s, action, this.ctx());
    if (session === s) return;
    await this.commitState(session, eventMono);
    if (s.payment && !session.payment) await this.store.updatePayment(s.payment.requestId, action.type === 'paymentResult' ? action.status : 'cancelled', this.o.now());
    for (const fx of effects) await this.run(session.kioskId, fx);
  }

  private async commitState(session: Session, eventMono: number | null): Promise<void> {
    await this.store.saveSession(session, this.o.now());
    this.sessions.set(session.kioskId, session);
    this.pickupNotices.delete(session.kioskId);
    if (session.lines.length > 0) this.pickups.delete(session.kioskId); // the shopper moved on to a purchase
    this.changes.emit('view', session.kioskId, this.view(session.kioskId), eventMono);
    if (eventMono !== null) this.changes.emit('hop', session.kioskId, this.o.mono() - eventMono);
    this.sendLight(session.kioskId);
    this.armTimers(session.kioskId);
  }

  private async run(kioskId: string, fx: Effect): Promise<void> {
    const dev = this.devices(kioskId);
    const now = this.o.now();
    switch (fx.type) {
      case 'charge': {
        // Written (FULL sync) before the terminal hears of it: a restart always knows what it asked for.
        await this.store.insertPayment({ requestId: fx.requestId, kioskId, sessionId: this.sessions.get(kioskId)!.sessionId, amount: fx.amount, status: 'sent', fromSeq: this.o.ingest.lastSeq, authCode: null, transactionSeq: null }, now);
        if (dev.payment) await this.o.command('payment', dev.payment, 'charge', { requestId: fx.requestId, amount: fx.amount, currency: fx.currency }, `kiosk:${kioskId}`);
        else this.log.warn({ deviceId: kioskId }, 'kiosk has no payment device configured');
        return;
      }
      case 'cancelCharge':
        if (dev.payment) await this.o.command('payment', dev.payment, 'cancel', { requestId: fx.requestId }, `kiosk:${kioskId}`);
        return;
      case 'recordAttendant':
        await this.record(kioskId, 'attendant', fx.data);
        return;
      case 'recordTransaction': {
        const { requestId, authCode } = fx.data.payment;
        await this.store.updatePayment(requestId, 'approved', now, { authCode });
        const seq = await this.record(kioskId, 'transaction', fx.data);
        await this.store.updatePayment(requestId, 'recorded', this.o.now(), { transactionSeq: seq });
        const s = this.sessions.get(kioskId)!;
        const after = step(s, { type: 'recorded', transactionId: fx.data.transactionId }, this.ctx());
        if (after.session !== s) await this.commitState(after.session, null);
        this.log.info({ deviceId: kioskId, seq, transactionId: fx.data.transactionId, total: fx.data.total }, 'sale recorded');
        return;
      }
    }
  }

  /** Appends an exact record (kind kiosk, deviceId = kiosk id) through ingest; resolves with its seq once durable. */
  private record(kioskId: string, type: 'transaction' | 'attendant' | 'pickup', data: object): Promise<number> {
    const device: DeviceEntry = { kind: 'kiosk', id: kioskId, source: 'config', secretHash: null, bridge: null, location: null, disabled: false, online: true, via: null, connectedAt: null, lastSeen: null, birth: null, lastEvents: {}, events: 0, rejects: {}, lastReject: null };
    return new Promise((resolve, reject) => {
      const seq = this.o.ingest.lastSeq + 1; // handle() takes the next seq synchronously
      this.o.ingest.handle(device, type, topics.evt('kiosk', kioskId, type), Buffer.from(JSON.stringify(data), 'utf8'), (err, rejected) => {
        if (err) reject(err);
        else if (rejected) reject(new Error(`kiosk ${type} record failed its schema`));
        else resolve(seq);
      });
    });
  }

  // ---- click & collect (issue 7 §2) ------------------------------------------------------------

  private showPickup(kioskId: string): void {
    this.changes.emit('view', kioskId, this.view(kioskId), null);
  }

  /** A scanned `PICKUP:<code>`: the order on screen, or a clear refusal (unknown, already collected). */
  private async scanPickup(kioskId: string, scanned: string): Promise<void> {
    const s = this.sessions.get(kioskId);
    const code = pickupCodeOf(scanned);
    this.pickupNotices.delete(kioskId);
    if (!s || !isShopping(s.phase) || s.lines.length > 0) this.pickupNotices.set(kioskId, { code: 'pickupFinishCart' });
    else if (!code) this.pickupNotices.set(kioskId, { code: 'pickupUnknown' });
    else {
      const d = decidePickup(await this.store.orderByCode(code));
      if (d.ok) this.pickups.set(kioskId, d.view);
      else {
        this.pickups.delete(kioskId);
        this.pickupNotices.set(kioskId, d.notice);
        this.log.warn({ deviceId: kioskId, code: d.notice.code }, 'pickup refused');
      }
    }
    this.showPickup(kioskId);
  }

  /** Confirm: claim the order (only one kiosk can), record the exact `pickup` event, then mark it collected. */
  private async confirmPickup(kioskId: string): Promise<void> {
    const p = this.pickups.get(kioskId);
    if (!p || p.status !== 'ready') return;
    const row = await this.store.order(p.orderId);
    if (!row || !(await this.store.claimOrder(p.orderId, kioskId, this.o.ingest.lastSeq, this.o.now()))) {
      // Another kiosk claimed it between scan and confirm (or HQ withdrew it): say why.
      const d = decidePickup(await this.store.order(p.orderId));
      this.pickups.delete(kioskId);
      this.pickupNotices.set(kioskId, d.ok ? { code: 'pickupUnknown' } : d.notice);
      return this.showPickup(kioskId);
    }
    let seq: number;
    try {
      seq = await this.record(kioskId, 'pickup', pickupRecord(row.order, kioskId, this.o.now()));
    } catch (err) {
      // Not committed (ingest said so): the order is free again, the shopper is told to ask for help.
      await this.store.finishOrder(p.orderId, 'ready', this.o.now());
      this.pickupNotices.set(kioskId, { code: 'pickupFailed' });
      this.showPickup(kioskId);
      throw err;
    }
    await this.store.finishOrder(p.orderId, 'collected', this.o.now(), seq);
    this.log.info({ deviceId: kioskId, seq, orderId: p.orderId }, 'order collected');
    this.pickups.set(kioskId, { ...p, status: 'collected' });
    this.showPickup(kioskId);
  }

  private async closePickup(kioskId: string): Promise<void> {
    this.pickups.delete(kioskId);
    this.pickupNotices.delete(kioskId);
    this.showPickup(kioskId);
  }

  /** After a restart: an order claimed but not marked collected is collected iff its record is in the outbox. */
  private async recoverPickups(): Promise<void> {
    for (const o of await this.store.collectingOrders()) {
      let seq: number | null = null;
      for (let from = o.fromSeq + 1; seq === null; ) {
        const recs = await this.o.outbox.read(from, 2000);
        const hit = recs.find((r) => r.kind === 'kiosk' && r.type === 'pickup' && r.data.orderId === o.order.orderId);
        if (hit) seq = hit.seq;
        if (recs.length < 2000) break;
        from = recs[recs.length - 1].seq + 1;
      }
      await this.store.finishOrder(o.order.orderId, seq !== null ? 'collected' : 'ready', this.o.now(), seq);
      this.log.warn({ orderId: o.order.orderId, collected: seq !== null }, 'settled a pickup left open by a restart');
    }
  }

  private sendLight(kioskId: string): void {
    const id = this.devices(kioskId).light;
    const s = this.sessions.get(kioskId);
    if (!id || !s) return;
    const l = lightFor(s);
    const key = `${l.color}/${l.mode}`;
    if (this.lights.get(kioskId) === key) return;
    this.lights.set(kioskId, key);
    this.o.command('light', id, 'set', { ...l }, `kiosk:${kioskId}`).catch((err: Error) => this.log.warn({ err, deviceId: id }, 'light command failed'));
  }

  /** Payment timeout → cancel; unanswered cancel → attendant; done/cancelled → idle again. */
  private armTimers(kioskId: string): void {
    const s = this.sessions.get(kioskId)!;
    const key = `${s.phase}/${s.payment?.requestId ?? ''}/${s.payment?.status ?? ''}`;
    const old = this.timers.get(kioskId) as (NodeJS.Timeout & { key?: string }) | undefined;
    if (old?.key === key) return;
    if (old) clearTimeout(old);
    this.timers.delete(kioskId);
    const k = this.o.config.kiosk;
    let ms = 0;
    let action: Action | null = null;
    if (s.phase === 'paying' && s.payment?.status === 'sent') [ms, action] = [k.paymentTimeoutMs, { type: 'paymentTimeout', requestId: s.payment.requestId }];
    else if (s.phase === 'paying' && s.payment?.status === 'cancelling') [ms, action] = [k.paymentUnknownMs, { type: 'paymentUnknown', requestId: s.payment.requestId }];
    else if (s.phase === 'done' || s.phase === 'cancelled') [ms, action] = [k.doneResetMs, { type: 'reset' }];
    if (!action) return;
    const a = action;
    const t = setTimeout(() => {
      this.timers.delete(kioskId);
      void this.dispatch(kioskId, a, null);
    }, ms) as NodeJS.Timeout & { key?: string };
    t.key = key;
    t.unref();
    this.timers.set(kioskId, t);
  }

  /**
   * After a restart: a payment still "sent" is looked up in the outbox (its result may have been
   * committed just before the crash), else the terminal is asked again (a cancel of a finished
   * request answers with its final result); an approved payment whose sale is already in the
   * outbox gets its receipt, one whose sale is not is recorded now — once.
   */
  private async recover(): Promise<void> {
    for (const p of await this.store.openPayments()) {
      const s = this.sessions.get(p.kioskId);
      const current = s !== undefined && s.phase === 'paying' && s.payment?.requestId === p.requestId;
      const found = await this.scanOutbox(p.fromSeq, p.kioskId, p.requestId, p.sessionId);
      if (current) this.inDoubt.add(p.requestId);
      this.log.warn({ deviceId: p.kioskId, requestId: p.requestId, status: p.status, found: found.kind, current }, 'settling an open payment after restart');
      if (found.kind === 'transaction') {
        await this.store.updatePayment(p.requestId, 'recorded', this.o.now(), { transactionSeq: found.seq });
        if (current) await this.dispatch(p.kioskId, { type: 'recorded', transactionId: p.sessionId }, null);
      } else if (current && s.payment!.status === 'approved') {
        await this.enqueue(p.kioskId, () => this.run(p.kioskId, { type: 'recordTransaction', data: transactionOf(s, new Date(this.o.now()).toISOString()) }));
      } else if (found.action) {
        await this.dispatch(p.kioskId, found.action, null);
      } else if (current && s.payment!.status === 'sent') {
        await this.dispatch(p.kioskId, { type: 'cancel' }, null);
      } else if (current) {
        await this.enqueue(p.kioskId, () => this.run(p.kioskId, { type: 'cancelCharge', requestId: p.requestId }));
      } else {
        await this.store.updatePayment(p.requestId, 'cancelled', this.o.now());
      }
    }
  }

  private enqueue(kioskId: string, fn: () => Promise<void>): Promise<void> {
    const next = (this.chains.get(kioskId) ?? Promise.resolve()).then(fn).catch((err: Error) => this.log.error({ err, deviceId: kioskId }, 'a kiosk step failed'));
    this.chains.set(kioskId, next);
    return next;
  }

  private async scanOutbox(fromSeq: number, kioskId: string, requestId: string, transactionId: string): Promise<{ kind: 'none' | 'result' | 'transaction'; seq?: number; action?: Action }> {
    let from = fromSeq + 1;
    let result: { kind: 'none' | 'result' | 'transaction'; seq?: number; action?: Action } = { kind: 'none' };
    for (;;) {
      const recs = await this.o.outbox.read(from, 2000);
      for (const r of recs) {
        if (r.kind === 'kiosk' && r.type === 'transaction' && r.deviceId === kioskId && (r.data.transactionId === transactionId || (r.data.payment as { requestId?: string } | undefined)?.requestId === requestId)) return { kind: 'transaction', seq: r.seq };
        if (r.kind === 'payment' && r.type === 'result' && r.data.requestId === requestId && result.kind === 'none') {
          const d = r.data;
          result = { kind: 'result', action: { type: 'paymentResult', requestId, status: d.status as 'approved', amount: Number(d.amount), ...(typeof d.authCode === 'string' ? { authCode: d.authCode } : {}) } };
        }
      }
      if (recs.length < 2000) return result;
      from = recs[recs.length - 1].seq + 1;
    }
  }
}

function kindOf(role: Role): 'scanner' | 'scale' | 'rfid' | 'light' | 'payment' {
  return role === 'produceScale' || role === 'baggingScale' ? 'scale' : role;
}

