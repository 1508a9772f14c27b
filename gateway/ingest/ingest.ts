/**
 * Durable ingest (gateway/README.md §Data flow, steps 3-4): validate, stamp a gateway-wide
 * sequence and receive time, update live state, append to the outbox with group commit, and only
 * then let the broker PUBACK. A bad payload is a dead letter with its reason, counted per device,
 * logged (rate-limited) and told to the device on `rej`; it is acknowledged too (the device must
 * not retry it forever) and never forwarded.
 */
import type { Logger } from '../log.js';
import { LogLimiter } from '../log.js';
import type { Metrics } from '../metrics.js';
import type { OutboxStore, NewEvent, DeadLetter } from '../outbox/store.js';
import type { DeviceRegistry, DeviceEntry } from '../devices/registry.js';
import { checkEvent } from '../protocol/validate.js';
import type { DeviceKind } from '../protocol/topics.js';
import { GroupCommit, type PerItem, type Done } from './groupCommit.js';

type Item = { event: NewEvent } | { dead: DeadLetter };

export interface RejectNotice {
  topic: string;
  reason: string;
  code: string;
  seq: number | null;
}

export interface IngestOptions {
  store: OutboxStore;
  registry: DeviceRegistry;
  metrics: Metrics;
  log: Logger;
  now: () => number;
  /** Monotonic milliseconds since this boot. */
  mono: () => number;
  bootId: string;
  maxBatch: number;
  /** Tells the device why (gateway → device `rej`); called after the dead letter is committed. */
  sendReject: (kind: DeviceKind, deviceId: string, notice: RejectNotice) => void;
  /** Observes each committed event (compactor, kiosk sessions, KPIs…); never blocks ingest. */
  onCommitted?: (e: NewEvent) => void;
}

/** A dead letter keeps the first 4 KiB of its payload: enough to diagnose, bounded per row. */
const DEAD_PAYLOAD_BYTES = 4096;

/**
 * The first `max` bytes as text, cut before a character that does not fit whole: a cut inside a
 * UTF-8 sequence would store U+FFFD, a character the device never sent.
 */
export function utf8Prefix(buf: Buffer, max: number): string {
  if (buf.length <= max) return buf.toString('utf8');
  let end = max;
  while (end > 0 && (buf[end] & 0xc0) === 0x80) end--; // buf[end] continues the character before it
  return buf.subarray(0, end).toString('utf8');
}

export class Ingest {
  private seq = 0;
  private readonly gc: GroupCommit<Item>;
  private readonly limiter: LogLimiter;
  private readonly log: Logger;

  constructor(private readonly o: IngestOptions) {
    this.log = o.log.child({ module: 'ingest' });
    this.limiter = new LogLimiter(o.now);
    this.gc = new GroupCommit<Item>(
      (items) => this.commit(items),
      o.maxBatch,
      (n, ms) => {
        o.metrics.commitSeconds.observe(ms / 1000);
        o.metrics.eventsPerCommit.observe(n);
      },
    );
    this.gc.onCallbackError = (err) => this.log.error({ err }, 'a post-commit callback failed');
  }

  async start(): Promise<void> {
    this.seq = await this.o.store.lastSeq();
    this.log.info({ lastSeq: this.seq }, 'ingest ready');
  }

  async stop(): Promise<void> {
    await this.gc.close();
  }

  get lastSeq(): number {
    return this.seq;
  }

  get commitStats() {
    return this.gc.stats;
  }

  private async commit(items: Item[]): Promise<void | PerItem> {
    const events: NewEvent[] = [];
    const dead: DeadLetter[] = [];
    for (const it of items) {
      if ('event' in it) events.push(it.event);
      else dead.push(it.dead);
    }
    const outcome = await this.o.store.appendGroup(events, dead, this.o.bootId);
    if (outcome.dead) this.log.error({ err: outcome.dead, deadLetters: dead.length }, 'dead letters not stored; their devices are not acknowledged and will re-send');
    if (outcome.events) {
      this.log.error({ err: outcome.events, events: events.length }, 'events not stored; their devices are not acknowledged and will re-send');
      return (i) => ('event' in items[i] ? outcome.events : null);
    }
    for (const e of events) {
      this.o.metrics.events.labels(e.kind, e.cls).inc();
      if (this.o.onCommitted) {
        try {
          this.o.onCommitted(e);
        } catch (err) {
          this.log.error({ err, seq: e.seq }, 'an ingest observer failed');
        }
      }
    }
    if (outcome.dead) return (i) => ('event' in items[i] ? null : outcome.dead);
  }

  /**
   * One device event. `done(null)` once it is durable (the broker then PUBACKs), `done(err)` only
   * if storage failed (the connection drops; the device retries its unacknowledged event).
   */
  handle(device: DeviceEntry, type: string, topic: string, payload: Buffer, done: (err: Error | null, rejected: boolean) => void): void {
    const recvTs = this.o.now();
    const check = checkEvent(device.kind, type, payload);
    if (!check.ok) {
      this.reject(device, topic, payload, check.code, check.reason, recvTs, done);
      return;
    }
    const seq = ++this.seq;
    const event: NewEvent = {
      seq,
      cls: check.cls,
      kind: device.kind,
      deviceId: device.id,
      type,
      ts: String(check.data.ts ?? new Date(recvTs).toISOString()),
      recvTs,
      monoMs: Math.round(this.o.mono()),
      data: payload.toString('utf8'),
    };
    this.gc.add({ event }, (err: Error | null) => {
      if (err) this.log.error({ err, deviceId: device.id, seq }, 'outbox commit failed; the device will retry');
      else this.o.registry.noteEvent(device, type, seq, recvTs, check.data);
      done(err, false);
    });
  }

  /**
   * Several records of one device committed in ONE transaction, in order (a sale and the
   * `priceMismatch` records derived from it): all are stored or none. `done` hears once,
   * after the commit, with the first record's seq. A record that fails its schema is dead-lettered
   * and logged like any reject; when it is the first one nothing is stored (`done(null, true)`), a
   * later one never keeps the others (a sale) from being stored.
   */
  handleGroup(device: DeviceEntry, records: readonly { type: string; topic: string; payload: Buffer }[], done: (err: Error | null, rejected: boolean, firstSeq: number) => void): void {
    if (records.length === 0) return done(null, false, 0);
    const recvTs = this.o.now();
    const checked = records.map((r) => ({ r, check: checkEvent(device.kind, r.type, r.payload) }));
    const first = checked[0];
    if (!first.check.ok) {
      this.reject(device, first.r.topic, first.r.payload, first.check.code, first.check.reason, recvTs, (err) => done(err, true, 0));
      return;
    }
    const items: Item[] = [];
    const dones: Done[] = [];
    const firstSeq = this.seq + 1;
    let failed: Error | null = null;
    for (const { r, check } of checked) {
      if (!check.ok) {
        this.reject(device, r.topic, r.payload, check.code, check.reason, recvTs, () => undefined);
        continue;
      }
      const seq = ++this.seq;
      items.push({ event: { seq, cls: check.cls, kind: device.kind, deviceId: device.id, type: r.type, ts: String(check.data.ts ?? new Date(recvTs).toISOString()), recvTs, monoMs: Math.round(this.o.mono()), data: r.payload.toString('utf8') } });
      dones.push((err) => {
        if (err) failed ??= err;
        else this.o.registry.noteEvent(device, r.type, seq, recvTs, check.data);
      });
    }
    // The group's last callback runs after every other one of the same commit.
    const last = dones.length - 1;
    const lastDone = dones[last];
    dones[last] = (err) => {
      lastDone(err);
      if (failed) this.log.error({ err: failed, deviceId: device.id, seq: firstSeq }, 'outbox commit failed for a group of records');
      done(failed, false, firstSeq);
    };
    this.gc.addGroup(items, dones);
  }

  private reject(device: DeviceEntry, topic: string, payload: Buffer, code: string, reason: string, recvTs: number, done: (err: Error | null, rejected: boolean) => void): void {
    this.o.metrics.rejects.labels(code).inc();
    this.o.registry.noteReject(device, code, reason);
    const suppressed = this.limiter.take(`${device.kind}/${device.id}/${code}`);
    if (suppressed >= 0) this.log.warn({ deviceId: device.id, kind: device.kind, topic, code, reason, suppressed }, 'event rejected');
    const dead: DeadLetter = {
      recvTs,
      kind: device.kind,
      deviceId: device.id,
      topic,
      code,
      reason,
      payload: utf8Prefix(payload, DEAD_PAYLOAD_BYTES),
    };
    const done2: Done = (err) => {
      if (!err) this.o.sendReject(device.kind, device.id, { topic, reason, code, seq: null });
      done(err, true);
    };
    this.gc.add({ dead }, done2);
  }

  /** Resolves when nothing waits for a commit. */
  drain(): Promise<void> {
    return this.gc.drain();
  }
}
