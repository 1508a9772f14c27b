/**
 * The link to HQ (gateway/README.md §Data flow, step 5): mqtt.js, MQTT 5 so a refusal is visible
 * (a PUBACK reason ≥ 0x80 [MQTT-3.4.2.1]; under 3.1.1 a broker acks and drops). One client per
 * connection attempt, reconnects with jittered exponential backoff (backoff.ts), a retained
 * `hq/v1/store/{id}/status` (`online`) with the Last Will `offline`.
 *
 * What goes into a batch, the send order and refusals are batcher.ts; this file owns the
 * connection: it hands the batcher a `publish` that resolves on PUBACK, rejects `Refused` on a
 * reason code ≥ 0x80 and `Dropped` when the connection goes away first. The backlog drains as
 * soon as the link is up (not on the next event). One publish is in flight at a time, so exact
 * records are never reordered (with ingest-ack, several batches may await HQ's ack; batcher.ts). A connection that drops twice in a row on the same batch (a broker
 * closing a publisher whose packet is over its limit without saying so in CONNACK) halves the
 * batch size limit; Mosquitto announces its limit in CONNACK [MQTT-3.2.2.3.6], which is used.
 */
import type { MqttClient } from 'mqtt';
import type { Logger } from '../log.js';
import type { Metrics } from '../metrics.js';
import type { Compression } from '../protocol/envelopes.js';
import { topics } from '../protocol/topics.js';
import type { HqConnection, HqEndpoint } from '../hq/hqConnection.js';
import { Backoff, resolveBackoffConfig } from './backoff.js';
import type { UplinkStore } from './store.js';
import type { SelfRecords } from './selfRecords.js';
import { Batcher, Dropped, Refused, type AckDelivery } from './batcher.js';
import { DuplicateWatch, parseStatus } from './duplicateStore.js';
import { loadOrCreateInstallId } from './installId.js';

/** Room for the fixed header, topic and properties of a PUBLISH under HQ's packet limit. */
const PACKET_OVERHEAD = 512;
const STOP_STATUS_TIMEOUT_MS = 2000;

/** The HQ endpoint (one owner: hq/hqConnection.ts) and how batches are compressed. */
export interface HqLinkConfig extends HqEndpoint {
  compression: Compression;
}

export interface UplinkTuning {
  batchMaxRecords: number;
  batchMaxBytes: number;
  batchMaxAgeMs: number;
  keepaliveS: number;
  connectTimeoutMs: number;
  backoffInitialMs: number;
  backoffMaxMs: number;
}

export interface UplinkOptions {
  hq: HqLinkConfig;
  /** Started: the HQ endpoint and its credentials, shared with the feed subscribers. */
  connection: HqConnection;
  tuning: UplinkTuning;
  storeId: string;
  bootId: string;
  version: string;
  store: UplinkStore;
  selfRecords: SelfRecords;
  metrics: Metrics;
  log: Logger;
  now: () => number;
  random?: () => number;
  /** Where this box's install id is kept; with it, a second box with this storeId is detected (duplicateStore.ts). */
  dataDir?: string;
  /** hq.delivery ingest-ack: batches stay until HQ's ingest acknowledges them. */
  delivery?: AckDelivery;
}

export interface UplinkState {
  connected: boolean;
  connects: number;
  lastConnectedAt: number | null;
  lastError: string | null;
  batchLimitBytes: number;
  held: number[];
  batchesSent: number;
  recordsSent: number;
  bytesSent: number;
  lineBytesSent: number;
  /** Set when another box with this storeId was seen: the uplink stopped (duplicateStore.ts). */
  duplicateStoreId: { storeId: string; installId: string; otherInstallId: string; at: string } | null;
}

export class Uplink {
  private client: MqttClient | null = null;
  private connected = false;
  private stopped = true;
  private reconnectTimer: NodeJS.Timeout | null = null;
  private kickTimer: NodeJS.Timeout | null = null;
  private resendTimer: NodeJS.Timeout | null = null;
  private pumping: Promise<void> | null = null;
  private again = false;
  private inflight: { reject: (e: Error) => void; firstSeq: number; bytes: number } | null = null;
  private dropStreak = { firstSeq: -1, n: 0 };
  private sizeLimit: number;
  private hqPacketLimit = Infinity;
  private readonly batcher: Batcher;
  private readonly backoff: Backoff;
  private readonly log: Logger;
  private readonly link: Pick<UplinkState, 'connected' | 'connects' | 'lastConnectedAt' | 'lastError'>;
  private installId: string | null = null;
  private watch: DuplicateWatch | null = null;
  private duplicate: UplinkState['duplicateStoreId'] = null;

  constructor(private readonly o: UplinkOptions) {
    this.log = o.log.child({ module: 'uplink' });
    this.backoff = new Backoff(o.random ?? Math.random, resolveBackoffConfig({ initialMs: o.tuning.backoffInitialMs, maxMs: o.tuning.backoffMaxMs }));
    this.sizeLimit = o.tuning.batchMaxBytes;
    this.batcher = new Batcher({
      store: o.store,
      selfRecords: o.selfRecords,
      metrics: o.metrics,
      log: this.log,
      now: o.now,
      storeId: o.storeId,
      compression: o.hq.compression,
      maxRecords: o.tuning.batchMaxRecords,
      maxBytes: () => Math.min(this.sizeLimit, this.hqPacketLimit),
      publish: (payload, firstSeq) => this.publish(payload, firstSeq),
      onSent: () => (this.dropStreak = { firstSeq: -1, n: 0 }),
      ...(o.delivery ? { delivery: o.delivery } : {}),
    });
    this.link = { connected: false, connects: 0, lastConnectedAt: null, lastError: null };
  }

  /** The link and what went through it (GET /api/uplink). */
  get state(): UplinkState {
    return { ...this.link, batchLimitBytes: this.sizeLimit, held: this.batcher.heldSeqs, ...this.batcher.stats, duplicateStoreId: this.duplicate };
  }

  /** Starts connecting; never waits for HQ. */
  async start(): Promise<void> {
    if (this.o.dataDir !== undefined) {
      this.installId = loadOrCreateInstallId(this.o.dataDir);
      this.watch = new DuplicateWatch(this.installId);
    }
    this.stopped = false;
    this.o.metrics.wanUp.set(0);
    this.connect();
    // ingest-ack: a batch whose ack is overdue is sent again even when nothing new arrives.
    const d = this.o.delivery;
    if (d) {
      this.resendTimer = setInterval(() => this.kick(true), Math.max(50, Math.min(1000, Math.floor(d.ackTimeoutMs / 4))));
      this.resendTimer.unref();
    }
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.resendTimer) clearInterval(this.resendTimer);
    this.resendTimer = null;
    for (const t of [this.reconnectTimer, this.kickTimer]) if (t) clearTimeout(t);
    this.reconnectTimer = this.kickTimer = null;
    const c = this.client;
    if (c && this.connected) {
      // A clean DISCONNECT suppresses the Will [MQTT-3.14.4-3]: say offline ourselves first.
      // Bounded: a link that died silently must not hold up the gateway's shutdown.
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, STOP_STATUS_TIMEOUT_MS);
        c.publish(topics.hqStatus(this.o.storeId), this.statusPayload('offline'), { qos: 1, retain: true }, () => (clearTimeout(t), resolve()));
      });
    }
    this.inflight?.reject(new Dropped('stopping'));
    await this.pumping?.catch(() => undefined);
    if (c) await c.endAsync(!this.connected).catch(() => undefined);
    this.client = null;
    this.setConnected(false);
  }

  /** Something new to send: a batch leaves within `batchMaxAgeMs` (bounded by age), or now if `now`. */
  kick(now = false): void {
    if (this.stopped || !this.connected) return;
    if (now || this.o.tuning.batchMaxAgeMs === 0) {
      void this.pump();
      return;
    }
    this.kickTimer ??= setTimeout(() => {
      this.kickTimer = null;
      void this.pump();
    }, this.o.tuning.batchMaxAgeMs);
  }

  get isConnected(): boolean {
    return this.connected;
  }

  // ----- connection -------------------------------------------------------------------------------

  private readonly reports = new Map<string, Buffer>();

  private connect(): void {
    if (this.stopped) return;
    const { hq, tuning, storeId } = this.o;
    const c = this.o.connection.connect({
      clientId: `storegw-${storeId}`,
      clean: true,
      reconnectPeriod: 0, // ours: jittered backoff, a fresh client per attempt
      connectTimeout: tuning.connectTimeoutMs,
      keepalive: tuning.keepaliveS,
      will: { topic: topics.hqStatus(storeId), payload: this.statusPayload('offline'), qos: 1, retain: true },
    });
    this.client = c;
    c.on('connect', (connack) => {
      if (c !== this.client) return;
      this.link.connects++;
      this.link.lastConnectedAt = this.o.now();
      this.o.metrics.uplinkConnects.labels('ok').inc();
      // [MQTT-3.2.2.3.6] Maximum Packet Size: a bigger PUBLISH makes HQ close the connection.
      const max = connack.properties?.maximumPacketSize;
      this.hqPacketLimit = typeof max === 'number' && max > PACKET_OVERHEAD ? max - PACKET_OVERHEAD : Infinity;
      this.backoff.reset();
      this.batcher.resetHeld();
      this.setConnected(true);
      this.log.info({ url: hq.url, hqPacketLimit: max ?? null }, 'HQ link up');
      // The retained status is read before this box writes its own: it names who held the link.
      const connectNo = this.link.connects;
      if (this.watch) {
        c.on('message', (topic, payload) => this.onStatus(c, connectNo, topic, payload));
        c.subscribe(topics.hqStatus(storeId), { qos: 1 });
      }
      c.publish(topics.hqStatus(storeId), this.statusPayload('online'), { qos: 1, retain: true }, (err) => {
        if (err) this.log.warn({ err: err.message }, 'status publish failed');
      });
      for (const [what, payload] of this.reports) this.sendReport(what, payload);
      void this.pump();
    });
    c.on('error', (err) => {
      if (c !== this.client) return;
      this.link.lastError = err.message;
      if (!this.connected) this.o.metrics.uplinkConnects.labels('error').inc();
      this.log.warn({ err: err.message, code: (err as { code?: unknown }).code }, 'HQ link error');
    });
    c.on('close', () => {
      if (c !== this.client) return;
      const was = this.connected;
      this.setConnected(false);
      this.inflight?.reject(new Dropped('the HQ connection closed during a publish'));
      c.end(true);
      this.client = null;
      if (this.stopped) return;
      const delay = this.backoff.next();
      if (was) this.log.warn({ reconnectInMs: delay }, 'HQ link down');
      this.reconnectTimer = setTimeout(() => {
        this.reconnectTimer = null;
        this.connect();
      }, delay);
    });
  }

  /**
   * A retained `hq/v1/store/{id}/report/{what}` snapshot (the day's numbers, …): sent now when the
   * link is up and again on every reconnect; only the latest payload per report is kept. Reports
   * are state, not events, so they do not go through the outbox.
   */
  report(what: string, payload: Buffer): void {
    this.reports.set(what, payload);
    if (this.connected) this.sendReport(what, payload);
  }

  private sendReport(what: string, payload: Buffer): void {
    // A PUBLISH over the limit HQ's broker announced in CONNACK makes it close the connection
    // [MQTT-3.2.2-15]: one oversized report would take the batches down with it, again on every
    // reconnect. Such a report is left out (logged, counted); the next smaller one goes.
    if (payload.length + topics.hqReport(this.o.storeId, what).length > this.hqPacketLimit) {
      this.o.metrics.uplinkReportsTooLarge.labels(what).inc();
      this.log.warn({ report: what, bytes: payload.length, hqPacketLimit: this.hqPacketLimit }, 'report larger than HQ\'s packet limit; not sent');
      return;
    }
    this.client?.publish(topics.hqReport(this.o.storeId, what), payload, { qos: 1, retain: true }, (err) => {
      if (err) this.log.warn({ err: err.message, report: what }, 'report publish failed; it is sent again on reconnect');
    });
  }

  private setConnected(up: boolean): void {
    this.connected = up;
    this.link.connected = up;
    this.o.metrics.wanUp.set(up ? 1 : 0);
  }

  private statusPayload(state: 'online' | 'offline'): Buffer {
    const install = this.installId === null ? {} : { installId: this.installId };
    return Buffer.from(JSON.stringify({ state, storeId: this.o.storeId, bootId: this.o.bootId, version: this.o.version, ts: new Date(this.o.now()).toISOString(), ...install }), 'utf8');
  }

  /** A status on this store's topic: this box's own, a replaced box's last one, or a twin's. */
  private onStatus(c: MqttClient, connectNo: number, topic: string, payload: Buffer): void {
    if (c !== this.client || topic !== topics.hqStatus(this.o.storeId) || !this.watch) return;
    const status = parseStatus(payload);
    if (!status) return;
    const v = this.watch.seen(connectNo, status);
    if (v.kind === 'replaced') this.log.warn({ installId: this.installId, otherInstallId: v.otherInstallId, state: status.state }, 'HQ holds the status of another box with this storeId (a replaced box?)');
    if (v.kind === 'duplicate') this.refuseDuplicate(c, v.otherInstallId);
  }

  /** Another live box has this storeId: stop sending, so HQ does not mix two boxes' records under one store. */
  private refuseDuplicate(c: MqttClient, otherInstallId: string): void {
    if (this.duplicate) return;
    const storeId = this.o.storeId;
    this.duplicate = { storeId, installId: this.installId!, otherInstallId, at: new Date(this.o.now()).toISOString() };
    this.stopped = true;
    for (const t of [this.reconnectTimer, this.kickTimer]) if (t) clearTimeout(t);
    this.reconnectTimer = this.kickTimer = null;
    this.client = null;
    this.setConnected(false);
    this.inflight?.reject(new Dropped('another box has this storeId'));
    // No DISCONNECT: the broker publishes this box's Will (offline, with its install id) for HQ to see.
    c.end(true);
    this.o.metrics.uplinkDuplicateStoreId.set(1);
    this.log.error(this.duplicate, 'another gateway uses this storeId: uplink stopped (give each box its own storeId, then restart)');
    void this.o.selfRecords
      .record('DUPLICATE_STORE_ID', 'critical', `another gateway (install ${otherInstallId}) uses storeId ${storeId}; this one (install ${this.installId}) stopped sending to HQ: give each box its own storeId and restart`, { duplicateStoreId: this.duplicate })
      .catch((err) => this.log.error({ err }, 'recording DUPLICATE_STORE_ID failed'));
  }

  // ----- sending ----------------------------------------------------------------------------------

  /** Single-flight drain loop: sends until nothing sendable is left or the link goes down. */
  private pump(): Promise<void> {
    if (this.pumping) {
      this.again = true;
      return this.pumping;
    }
    this.pumping = (async () => {
      do {
        this.again = false;
        try {
          while (this.connected && !this.stopped && (await this.batcher.sendNext())) {
            /* next batch */
          }
        } catch (err) {
          if (err instanceof Refused) {
            // A single record refused: keep order, retry it after a backoff.
            const delay = this.backoff.next();
            this.log.warn({ reasonCode: err.reasonCode, retryInMs: delay }, 'HQ refused a record; retrying later');
            this.kickTimer ??= setTimeout(() => {
              this.kickTimer = null;
              void this.pump();
            }, delay);
            return;
          }
          if (!(err instanceof Dropped)) {
            this.link.lastError = (err as Error).message;
            this.log.error({ err }, 'uplink pump failed');
          }
          return;
        }
      } while (this.again && this.connected && !this.stopped);
    })().finally(() => {
      this.pumping = null;
    });
    return this.pumping;
  }

  /** QoS 1 publish; resolves on a PUBACK < 0x80, rejects Refused (≥ 0x80) or Dropped (connection gone). */
  private publish(payload: Buffer, firstSeq: number): Promise<void> {
    const c = this.client;
    if (!c || !this.connected) return Promise.reject(new Dropped('not connected'));
    return new Promise<void>((resolve, reject) => {
      let settled = false;
      const settle = (err: Error | null): void => {
        if (settled) return;
        settled = true;
        this.inflight = null;
        if (err) reject(err);
        else resolve();
      };
      this.inflight = {
        firstSeq,
        bytes: payload.length,
        reject: (e) => {
          this.noteDrop(firstSeq, payload.length);
          settle(e);
        },
      };
      c.publish(topics.hqBatch(this.o.storeId), payload, { qos: 1 }, (err) => {
        if (!err) return settle(null);
        const code = (err as { code?: unknown }).code;
        if (typeof code === 'number' && code >= 0x80) return settle(new Refused(code, err.message));
        settle(new Dropped(err.message));
      });
    });
  }

  /** Two drops in a row on the same batch: HQ most likely closes on its size; halve the limit. */
  private noteDrop(firstSeq: number, bytes: number): void {
    if (this.dropStreak.firstSeq === firstSeq) this.dropStreak.n++;
    else this.dropStreak = { firstSeq, n: 1 };
    if (this.dropStreak.n >= 2 && bytes > 1024) {
      this.sizeLimit = Math.max(1024, Math.floor(Math.min(this.sizeLimit, bytes) / 2));
      this.o.metrics.uplinkRefused.labels('dropped').inc();
      this.log.warn({ seq: firstSeq, bytes, batchLimitBytes: this.sizeLimit }, 'HQ dropped the link twice on one batch; smaller batches from now on');
      this.dropStreak = { firstSeq: -1, n: 0 };
    }
  }
}
