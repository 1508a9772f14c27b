/**
 * What reaches a kiosk and what it becomes: a committed device event (scanner, scales, RFID
 * reader, terminal) or a page intent turns into one session action, or into a flow of its own
 * (a member QR, a coupon, a pickup code, a print request). Codes a shopper presents are told apart
 * here before they could be read as products. The session service (sessions.ts) owns the per-kiosk
 * queue and runs what comes out of here on it.
 */
import type { Config } from '../config.js';
import type { LogLimiter, Logger } from '../log.js';
import type { NewEvent } from '../outbox/store.js';
import type { Catalog } from '../prices/catalog.js';
import type { KioskSessionIntent } from '../protocol/schemas/kiosk.js';
import type { BarcodeParser } from './barcodes.js';
import { isShopping, type Action, type Session } from './sessionMachine.js';
import { memberQrOf } from './memberQr.js';
import type { KioskMembers } from './kioskMembers.js';
import type { SaleLedger } from './saleLedger.js';
import { intentAction } from './intentCheck.js';
import { resolveEpc, resolveScan } from './scanResolver.js';
import type { KioskDeviceMap } from './kioskConfig.js';
import { pickupCodeOf } from './orders.js'; // click & collect
import type { PickupFlow } from './pickupFlow.js';
import type { PaymentPrompts } from './paymentPrompts.js';
import { resultAction } from './paymentEvents.js';
import type { KioskReceipts } from './kioskReceipts.js';
import type { CouponBook } from './coupons/couponBook.js';
import { couponCodeOf } from './coupons/couponCode.js';

type Role = keyof KioskDeviceMap;

export interface KioskIntakeHost {
  config: Readonly<Config>;
  log: Logger;
  /** Refused scans are logged at most a few per kiosk and window: a device may send them in a loop. */
  refusalLog: LogLimiter;
  parse: BarcodeParser;
  /** A scan refused: `currency` = an amount in another currency (GS1 393n), `unreadable` = any other bad code. */
  onScanRefused?: (reason: 'currency' | 'unreadable') => void;
  ledger: Pick<SaleLedger, 'passStaleResult'>;
  prompts: Pick<PaymentPrompts, 'onStatus'>;
  receipts: Pick<KioskReceipts, 'languages' | 'print'>;
  pickup: Pick<PickupFlow, 'scan' | 'confirm' | 'close'>;
  members: Pick<KioskMembers, 'scan'>;
  coupons: Pick<CouponBook, 'present'>;
  session(kioskId: string): Session | undefined;
  catalog(): Catalog;
  /** Runs an action after the kiosk's previous one (never rejects). */
  dispatch(kioskId: string, action: Action, eventMono: number | null): Promise<void>;
  /** Runs a step after the kiosk's previous one (never rejects). */
  enqueue(kioskId: string, fn: () => Promise<void>): Promise<void>;
  /** One action on the kiosk's current session; only from its queue. */
  applyNow(kioskId: string, action: Action, eventMono?: number | null): Promise<void>;
  /** The kiosk's cart view changed outside an action (a receipt printed). */
  showView(kioskId: string): void;
}

export class KioskIntake {
  private readonly byDevice = new Map<string, { kioskId: string; role: Role }>();

  constructor(private readonly h: KioskIntakeHost) {}

  /** Which kiosk, in which role, each configured device serves. */
  mapDevices(devices: Readonly<Record<string, KioskDeviceMap>>): void {
    for (const [kioskId, devs] of Object.entries(devices)) {
      for (const [role, id] of Object.entries(devs) as [Role, string][]) this.byDevice.set(`${kindOf(role)}/${id}`, { kioskId, role });
    }
  }

  /** Committed device events (gateway observer): a kiosk's scanner, scales, RFID reader, terminal. */
  onEvent(e: NewEvent): void {
    const dev = this.byDevice.get(`${e.kind}/${e.deviceId}`);
    if (!dev) return;
    const data = JSON.parse(e.data) as Record<string, unknown>;
    let action: Action | null = null;
    const qr = dev.role === 'scanner' && e.type === 'scan' ? memberQrOf(String(data.code)) : null;
    if (qr !== null) return void this.h.enqueue(dev.kioskId, () => this.memberScan(dev.kioskId, qr));
    if (dev.role === 'scanner' && e.type === 'scan' && couponCodeOf(String(data.code)) !== null) return void this.h.enqueue(dev.kioskId, () => this.couponPresented(dev.kioskId, String(data.code)));
    if (dev.role === 'scanner' && e.type === 'scan' && pickupCodeOf(String(data.code)) !== null) return void this.h.enqueue(dev.kioskId, () => this.h.pickup.scan(dev.kioskId, String(data.code)));
    if (dev.role === 'scanner' && e.type === 'scan') action = this.resolveScanned(String(data.code), data.symbology as string | undefined, dev.kioskId);
    else if (dev.role === 'produceScale' && e.type === 'weight') action = { type: 'produceWeight', grams: Number(data.grams), stable: data.stable === true && (data.range ?? 'ok') === 'ok' };
    else if (dev.role === 'baggingScale' && e.type === 'weight') action = { type: 'bagWeight', grams: Number(data.grams), stable: data.stable === true && (data.range ?? 'ok') === 'ok' };
    else if (dev.role === 'rfid' && e.type === 'read') action = resolveEpc(String(data.epc), this.h.catalog());
    else if (dev.role === 'payment' && e.type === 'result') return this.onResult(dev.kioskId, data, e.monoMs);
    else if (dev.role === 'payment' && e.type === 'status') return this.h.prompts.onStatus(dev.kioskId, data);
    else if (dev.role === 'payment' && e.type === 'endOfDay') return void this.h.log.info({ deviceId: e.deviceId, kioskId: dev.kioskId, seq: e.seq, cmdId: data.cmdId, ok: data.ok, count: data.count ?? null, totalAmount: data.totalAmount ?? null, currency: data.currency ?? null }, 'terminal end of day');
    if (action) void this.h.dispatch(dev.kioskId, action, e.monoMs);
  }

  /** A page intent (already authenticated for `kioskId`). Prices or totals in it are never read. */
  intent(kioskId: string, m: KioskSessionIntent): Promise<void> {
    const demo = this.h.config.demo;
    if (m.type === 'pay') this.h.receipts.languages.remember(kioskId, this.h.session(kioskId)?.sessionId, m.lang);
    if (m.type === 'printReceipt') return this.h.enqueue(kioskId, async () => this.printRequested(kioskId));
    if (m.type === 'pickupConfirm') return this.h.enqueue(kioskId, () => this.h.pickup.confirm(kioskId));
    if (m.type === 'pickupClose') return this.h.enqueue(kioskId, () => this.h.pickup.close(kioskId));
    if (m.type === 'coupon' || (m.type === 'scan' && demo && couponCodeOf(m.code) !== null)) return this.h.enqueue(kioskId, () => this.couponPresented(kioskId, m.code));
    const qr = m.type === 'scan' && demo ? memberQrOf(m.code) : null;
    if (qr !== null) return this.h.enqueue(kioskId, () => this.memberScan(kioskId, qr));
    if (m.type === 'scan' && demo && pickupCodeOf(m.code) !== null) return this.h.enqueue(kioskId, () => this.h.pickup.scan(kioskId, m.code));
    const action = intentAction(m, { demo, scan: (code, sym) => this.resolveScanned(code, sym), knownMember: (code) => this.h.catalog().members.has(code) && this.h.catalog().memberStates.get(code)?.status !== 'suspended' });
    return action ? this.h.dispatch(kioskId, action, null) : Promise.resolve();
  }

  /**
   * A terminal's result. One for another request than the current payment passes only if that
   * payment is not settled (a repeated result of a recorded sale must not look like money
   * taken without a sale). A terminal is asked about a payment in doubt once, at start-up (the
   * command store re-sends that question when it is back), never again on each reconnect.
   */
  private onResult(kioskId: string, d: Record<string, unknown>, monoMs: number): void {
    const action = resultAction(String(d.requestId), d);
    void this.h.enqueue(kioskId, async () => {
      const s = this.h.session(kioskId);
      const current = s?.payment?.requestId === action.requestId;
      // Learned from the terminal after a lost connection (its repeat receipt): settles the payment like any result.
      if (d.recovered === true) this.h.log.warn({ deviceId: kioskId, requestId: action.requestId, status: action.status, amount: action.amount, receiptNo: action.terminal?.receiptNo ?? null, current }, 'payment result recovered from the terminal after a lost connection');
      if (!current && !(await this.h.ledger.passStaleResult(action.requestId))) return;
      await this.h.applyNow(kioskId, action, monoMs);
    });
  }

  /** A scanned code → its action; a refused code is counted and logged (rate-limited per kiosk and reason). */
  private resolveScanned(code: string, symbology: string | undefined, kioskId = 'demo'): Action {
    const action = resolveScan(code, symbology, this.h.parse, this.h.catalog());
    if (action.type !== 'badCode') return action;
    const reason = action.currency !== undefined ? 'currency' : 'unreadable';
    this.h.onScanRefused?.(reason);
    const suppressed = this.h.refusalLog.take(`${kioskId}:scan:${reason}`);
    if (suppressed >= 0) this.h.log.warn({ deviceId: kioskId, reason, detail: action.detail, suppressed }, 'scan refused');
    return action;
  }

  /** A member QR (never a product code): verified, used up, then the member or the refusal on the cart. */
  private async memberScan(kioskId: string, code: string): Promise<void> {
    const s = this.h.session(kioskId);
    // A kiosk that is paying or saying thank-you takes no member: the QR is not used up.
    if (!s || !isShopping(s.phase)) return;
    await this.h.applyNow(kioskId, await this.h.members.scan(kioskId, code));
  }

  /** A coupon scanned or typed: verified and its serial reserved for this cart, then on the cart or refused by name. */
  private async couponPresented(kioskId: string, code: string): Promise<void> {
    const s = this.h.session(kioskId);
    // A kiosk that is paying or saying thank-you takes no coupon: its serial is not reserved.
    if (!s || !isShopping(s.phase)) return;
    await this.h.applyNow(kioskId, await this.h.coupons.present(kioskId, s, code));
  }

  /** The shopper asked for paper: the current sale's receipt is printed once, and the page told. */
  private printRequested(kioskId: string): void {
    const s = this.h.session(kioskId);
    if (s?.phase !== 'done' || !s.receipt) return;
    if (this.h.receipts.print(kioskId, s.receipt.transactionId)) this.h.showView(kioskId);
  }
}

function kindOf(role: Role): 'scanner' | 'scale' | 'rfid' | 'light' | 'payment' | 'printer' {
  return role === 'produceScale' || role === 'baggingScale' ? 'scale' : role;
}
