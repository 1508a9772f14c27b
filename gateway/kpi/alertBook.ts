/**
 * The ops alert book: every committed `alert` event (devices, and the gateway's own records such as
 * quota evictions), every security-scale or override decision an attendant made at a kiosk (an
 * exact `attendant` record), every sale at a price a shelf label does not show (`priceMismatch`),
 * plus "device went offline" seen by the registry. Kept in
 * kpi.db so acknowledgements survive a restart; the live page hears new ones over SSE.
 */
import { formatMinor } from '../protocol/currency.js';
import type { Logger } from '../log.js';
import type { DeviceView } from '../devices/registry.js';
import type { AlertRow, KpiStore } from './kpiStore.js';

const SEVERITIES = new Set(['info', 'warning', 'critical']);

export class AlertBook {
  private readonly wasOnline = new Map<string, boolean>();
  private readonly listeners = new Set<(a: AlertRow) => void>();
  private writes: Promise<unknown> = Promise.resolve();
  private readonly log: Logger;

  constructor(
    private readonly o: { store: KpiStore; log: Logger; now: () => number },
  ) {
    this.log = o.log.child({ module: 'alerts' });
  }

  /** A committed event: `alert` events, and kiosk overrides (so ops can review them). */
  onEvent(e: { seq: number; kind: string; deviceId: string; type: string; recvTs: number; data: string }): void {
    if (e.kind === 'kiosk' && e.type === 'attendant') return this.onAttendant(e);
    if (e.kind === 'kiosk' && e.type === 'priceMismatch') return this.onPriceMismatch(e);
    if (e.kind === 'rfid' && e.type === 'exitAlarm') return this.onExitAlarm(e);
    if (e.type !== 'alert') return;
    let d: { code?: unknown; severity?: unknown; message?: unknown };
    try {
      d = JSON.parse(e.data) as typeof d;
    } catch {
      return;
    }
    const severity = typeof d.severity === 'string' && SEVERITIES.has(d.severity) ? (d.severity as AlertRow['severity']) : 'warning';
    this.add({ at: e.recvTs, source: `${e.kind}/${e.deviceId}`, code: String(d.code ?? 'ALERT'), severity, message: String(d.message ?? ''), seq: e.seq });
  }

  private onAttendant(e: { seq: number; deviceId: string; recvTs: number; data: string }): void {
    let d: { kind?: unknown; decision?: unknown; by?: unknown; requestId?: unknown };
    try {
      d = JSON.parse(e.data) as typeof d;
    } catch {
      return;
    }
    if (d.kind !== 'security' && d.kind !== 'override') return;
    const what = d.kind === 'security' ? 'a security-scale stop' : 'an override';
    this.add({ at: e.recvTs, source: `kiosk/${e.deviceId}`, code: d.kind === 'security' ? 'SECURITY_OVERRIDE' : 'ATTENDANT_OVERRIDE', severity: 'info', message: `${String(d.by ?? '?')} ${String(d.decision ?? 'decided')} ${what} at ${e.deviceId} (request ${String(d.requestId ?? '?')})`, seq: e.seq });
  }

  /** Shelf = till: a sale line at a price one of its shelf labels does not show. */
  private onPriceMismatch(e: { seq: number; deviceId: string; recvTs: number; data: string }): void {
    let d: Record<string, unknown>;
    try {
      d = JSON.parse(e.data) as Record<string, unknown>;
    } catch {
      return;
    }
    // The record keeps minor units; the message shows money by the currency's ISO 4217 exponent.
    const cur = String(d.currency);
    const money = (v: unknown, c: string) => (typeof v === 'number' ? formatMinor(v, c) : String(v));
    const msg = `${String(d.name)} (${String(d.gtin)}) sold at ${String(d.kioskId)} for ${money(d.tillPrice, cur)}; label ${String(d.labelId)} (${String(d.labelState)}) shows ${money(d.labelPrice, typeof d.labelCurrency === 'string' ? d.labelCurrency : cur)} [transaction ${String(d.transactionId)}; the till's price was charged]`;
    this.add({ at: e.recvTs, source: `kiosk/${e.deviceId}`, code: 'PRICE_MISMATCH', severity: 'warning', message: msg, seq: e.seq });
  }

  /** An exit gate alarmed: an unsold serialised item went through it. */
  private onExitAlarm(e: { seq: number; deviceId: string; recvTs: number; data: string }): void {
    let d: Record<string, unknown>;
    try {
      d = JSON.parse(e.data) as Record<string, unknown>;
    } catch {
      return;
    }
    const where = typeof d.zone === 'string' ? `${d.zone} (reader ${e.deviceId})` : `reader ${e.deviceId}`;
    const flag = typeof d.flag === 'string' ? ` — listed as ${d.flag}` : '';
    this.add({ at: e.recvTs, source: `rfid/${e.deviceId}`, code: 'EXIT_ALARM', severity: 'critical', message: `${String(d.name)} (GTIN ${String(d.gtin)}, serial ${String(d.serial)}) left through the exit gate at ${where} unsold${flag}`, seq: e.seq });
  }

  /** A registry change: a device that was online and is now offline raises DEVICE_OFFLINE. */
  onDevice(v: DeviceView): void {
    const before = this.wasOnline.get(v.username);
    this.wasOnline.set(v.username, v.online);
    if (before === true && !v.online && !v.disabled) {
      this.add({ at: this.o.now(), source: v.username, code: 'DEVICE_OFFLINE', severity: 'warning', message: `${v.username}${v.location ? ` (${v.location})` : ''} went offline`, seq: null });
    }
  }

  /** An alert the gateway raises itself, not from a committed event (a sale that could not be written). */
  raise(a: { source: string; code: string; severity: AlertRow['severity']; message: string }): void {
    this.add({ at: this.o.now(), source: a.source, code: a.code, severity: a.severity, message: a.message, seq: null });
  }

  onAlert(fn: (a: AlertRow) => void): () => void {
    this.listeners.add(fn);
    return () => this.listeners.delete(fn);
  }

  list(limit: number, openOnly: boolean): Promise<AlertRow[]> {
    return this.o.store.alerts(limit, openOnly);
  }

  ack(id: number, by: string): Promise<boolean> {
    return this.o.store.ackAlert(id, by, this.o.now());
  }

  /** Resolves when every alert handed in so far is written (tests, stop). */
  settled(): Promise<void> {
    return this.writes.then(() => undefined);
  }

  private add(a: Omit<AlertRow, 'id' | 'ackedBy' | 'ackedAt'>): void {
    this.writes = this.writes
      .then(() => this.o.store.addAlert(a))
      .then((row) => {
        for (const fn of this.listeners) {
          try {
            fn(row);
          } catch (err) {
            this.log.error({ err }, 'an alert listener failed');
          }
        }
      })
      .catch((err: unknown) => this.log.error({ err, code: a.code }, 'saving an alert failed'));
  }
}
