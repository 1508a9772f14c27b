/**
 * RFID exit gates, the I/O shell around exitGateDecide.ts: every committed `read` of a gate's
 * reader is decided at once; an alarm sends the gate's light `set` red flash first (nothing
 * waits before it but the decision), then writes the exact `exitAlarm` record through ingest
 * (the ops alert book raises the alert from it, naming the item). Each outcome is counted
 * (`storegw_exit_gate_reads_total{outcome}`), and the time from the read reaching the gateway to
 * the command leaving it is observed (`storegw_exit_gate_alarm_seconds`) and kept in the record.
 *
 * The light goes back off `alarmForMs` after the last alarm of that gate.
 */
import type { DeviceEntry } from '../devices/registry.js';
import type { Ingest } from '../ingest/ingest.js';
import { LogLimiter, type Logger } from '../log.js';
import type { NewEvent } from '../outbox/store.js';
import type { ExitAlarmRec } from '../protocol/schemas/exitAlarm.js';
import { topics } from '../protocol/topics.js';
import type { SerialBook } from '../kiosk/serialBook.js';
import type { ExitGateConfig } from './exitGateConfig.js';
import { decideExit, Passages, type GateDecision } from './exitGateDecide.js';

export interface ExitGatesOptions {
  gates: readonly ExitGateConfig[];
  book: SerialBook;
  itemOf: (gtin14: string) => { gtin: string; name: string } | null;
  /** A device command through the command store; resolves once it is durable and published. */
  command: (kind: 'light', id: string, type: string, data: Record<string, unknown>, source: string) => Promise<string>;
  ingest: Ingest;
  /** Every read's outcome and each alarm's latency (seconds). */
  count: (outcome: string) => void;
  observe: (seconds: number) => void;
  log: Logger;
  now: () => number;
  mono: () => number;
}

export class ExitGates {
  private readonly byReader = new Map<string, { gate: ExitGateConfig; passages: Passages }>();
  private readonly offTimers = new Map<string, NodeJS.Timeout>();
  private readonly log: Logger;
  private readonly logLimit: LogLimiter;

  constructor(private readonly o: ExitGatesOptions) {
    this.log = o.log.child({ module: 'exitGate' });
    this.logLimit = new LogLimiter(o.now);
    for (const gate of o.gates) this.byReader.set(gate.reader, { gate, passages: new Passages(gate.passageMs) });
  }

  /** True when `readerId` is an exit gate's reader (a kiosk must not take it as a basket reader). */
  isGateReader(readerId: string): boolean {
    return this.byReader.has(readerId);
  }

  stop(): void {
    for (const t of this.offTimers.values()) clearTimeout(t);
    this.offTimers.clear();
  }

  /** A committed device event; only gate readers' reads are ours. Never throws. */
  onEvent(e: NewEvent): void {
    if (e.kind !== 'rfid' || e.type !== 'read') return;
    const g = this.byReader.get(e.deviceId);
    if (!g) return;
    let epc: unknown;
    try {
      epc = (JSON.parse(e.data) as { epc?: unknown }).epc;
    } catch {
      epc = undefined;
    }
    const d = decideExit(epc, { book: this.o.book, itemOf: this.o.itemOf, passages: g.passages }, this.o.now(), this.o.mono());
    this.o.count(d.alarm ? 'alarm' : d.reason);
    if (!d.alarm) {
      if (d.reason !== 'samePassage' && this.logLimit.take(`quiet:${e.deviceId}:${d.reason}`) >= 0) this.log.debug({ deviceId: e.deviceId, reason: d.reason, gtin: d.gtin, serial: d.serial }, 'exit gate read: no alarm');
      return;
    }
    void this.alarm(g.gate, d, e);
  }

  private async alarm(gate: ExitGateConfig, d: Extract<GateDecision, { alarm: true }>, e: NewEvent): Promise<void> {
    let latencyMs = 0;
    try {
      await this.o.command('light', gate.alarm, 'set', { color: 'red', mode: 'flash' }, `exitGate:${gate.reader}`);
      latencyMs = Math.max(0, this.o.mono() - e.monoMs);
      this.o.observe(latencyMs / 1000);
      this.armOff(gate);
    } catch (err) {
      this.log.error({ err, deviceId: gate.alarm, reader: gate.reader }, 'exit gate alarm command failed');
    }
    const rec: ExitAlarmRec = {
      ts: new Date(e.recvTs).toISOString(),
      alarmId: `${gate.reader}:${d.gtin}:${d.serial}:${e.recvTs}`,
      reader: gate.reader,
      alarm: gate.alarm,
      ...(gate.zone !== undefined ? { zone: gate.zone } : {}),
      gtin: d.gtin,
      serial: d.serial,
      epc: d.epc,
      name: d.name.slice(0, 200),
      ...(d.flag ? { flag: d.flag } : {}),
      latencyMs,
    };
    this.log.warn({ deviceId: gate.reader, alarm: gate.alarm, zone: gate.zone, gtin: d.gtin, serial: d.serial, flag: d.flag, latencyMs }, 'exit gate alarm: an unsold item');
    try {
      await recordExitAlarm(this.o.ingest, rec);
    } catch (err) {
      this.log.error({ err, deviceId: gate.reader, gtin: d.gtin, serial: d.serial }, 'exit alarm record could not be written');
    }
  }

  /** Sets the light off `alarmForMs` after the last alarm (a new alarm restarts the wait). */
  private armOff(gate: ExitGateConfig): void {
    if (gate.alarmForMs === 0) return;
    clearTimeout(this.offTimers.get(gate.alarm));
    const t = setTimeout(() => {
      this.offTimers.delete(gate.alarm);
      this.o.command('light', gate.alarm, 'set', { color: 'off', mode: 'steady' }, `exitGate:${gate.reader}`).catch((err: Error) => this.log.warn({ err, deviceId: gate.alarm }, 'exit gate light off failed'));
    }, gate.alarmForMs);
    t.unref();
    this.offTimers.set(gate.alarm, t);
  }
}

/** The gate's reader as the device its `exitAlarm` records are filed under. */
function readerDevice(id: string): DeviceEntry {
  return { kind: 'rfid', id, source: 'config', secretHash: null, bridge: null, location: null, disabled: false, online: true, via: null, connectedAt: null, lastSeen: null, birth: null, lastEvents: {}, events: 0, rejects: {}, lastReject: null };
}

/** Appends the exact record through ingest; resolves with its seq once durable. */
export function recordExitAlarm(ingest: Ingest, rec: ExitAlarmRec): Promise<number> {
  return new Promise((resolve, reject) => {
    const seq = ingest.lastSeq + 1; // handle() takes the next seq synchronously
    ingest.handle(readerDevice(rec.reader), 'exitAlarm', topics.evt('rfid', rec.reader, 'exitAlarm'), Buffer.from(JSON.stringify(rec), 'utf8'), (err, rejected) => {
      if (err) reject(err);
      else if (rejected) reject(new Error('exitAlarm record failed its schema'));
      else resolve(seq);
    });
  });
}
