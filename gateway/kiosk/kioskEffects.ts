/**
 * What the session machine's effects do outside it: the charge written to kiosk.db before the
 * terminal hears of it, cancels and reversals, attendant and sale records through the ledger, the
 * receipt shown once the sale is durable, and the light tower following the session. The session
 * service (sessions.ts) runs each effect after the state that asked for it is saved.
 */
import type { Logger } from '../log.js';
import type { Ingest } from '../ingest/ingest.js';
import type { KioskDeviceMap } from './kioskConfig.js';
import type { KioskReceipts } from './kioskReceipts.js';
import type { SaleLedger, SaleStep } from './saleLedger.js';
import { lightFor } from './sessionMachine.js';
import type { Effect, Session } from './sessionTypes.js';
import type { KioskStore } from './store.js';
import type { KioskServiceOptions } from './sessions.js';
import { recordKioskEvent } from './kioskRecords.js';

export interface KioskEffectsHost {
  command: KioskServiceOptions['command'];
  ingest: Ingest;
  now: () => number;
  store: KioskStore;
  ledger: SaleLedger;
  receipts: KioskReceipts;
  log: Logger;
  devices(kioskId: string): KioskDeviceMap;
  session(kioskId: string): Session | undefined;
  checkpoint(step: SaleStep, kioskId: string): void;
}

export class KioskEffects {
  private readonly lights = new Map<string, string>();

  constructor(private readonly h: KioskEffectsHost) {}

  async run(kioskId: string, fx: Effect): Promise<void> {
    const dev = this.h.devices(kioskId);
    const now = this.h.now();
    switch (fx.type) {
      case 'charge': {
        // Written (FULL sync) before the terminal hears of it: a restart always knows what it asked for.
        await this.h.store.insertPayment({ requestId: fx.requestId, kioskId, sessionId: this.h.session(kioskId)!.sessionId, amount: fx.amount, status: 'sent', fromSeq: this.h.ingest.lastSeq, authCode: null, transactionSeq: null }, now);
        if (dev.payment) {
          await this.h.command('payment', dev.payment, 'charge', { requestId: fx.requestId, amount: fx.amount, currency: fx.currency }, `kiosk:${kioskId}`);
          this.h.checkpoint('paySent', kioskId);
        } else this.h.log.warn({ deviceId: kioskId }, 'kiosk has no payment device configured');
        return;
      }
      case 'cancelCharge':
        if (dev.payment) await this.h.command('payment', dev.payment, 'cancel', { requestId: fx.requestId }, `kiosk:${kioskId}`);
        return;
      case 'recordAttendant':
        await recordKioskEvent(this.h.ingest, kioskId, 'attendant', fx.data);
        return;
      case 'recordTransaction': {
        await this.h.store.updatePayment(fx.data.payment.requestId, 'approved', now, { authCode: fx.data.payment.authCode });
        const p = this.h.session(kioskId)?.payment;
        const terminalReceipt = p?.requestId === fx.data.payment.requestId ? p.receipt : undefined;
        // Built from the record being committed, shown with the thank-you once it is.
        this.h.receipts.prepare(kioskId, fx.data, terminalReceipt);
        await this.h.ledger.recordSale(kioskId, fx.data, terminalReceipt);
        // The sale is durable now; the receipt never holds it up.
        return void this.h.receipts.recorded(kioskId, fx.data.transactionId);
      }
      case 'reverseCharge':
        return this.h.ledger.reverse(kioskId, fx);
    }
  }

  /** The light tower follows the session; only a change is sent. */
  sendLight(kioskId: string): void {
    const id = this.h.devices(kioskId).light;
    const s = this.h.session(kioskId);
    if (!id || !s) return;
    const l = lightFor(s);
    const key = `${l.color}/${l.mode}`;
    if (this.lights.get(kioskId) === key) return;
    this.lights.set(kioskId, key);
    this.h.command('light', id, 'set', { ...l }, `kiosk:${kioskId}`).catch((err: Error) => this.h.log.warn({ err, deviceId: id }, 'light command failed'));
  }
}
