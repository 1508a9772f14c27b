/**
 * The uplink feature as one gateway component: builds the compactor, the HQ link (when
 * `hq` is configured), the quota and the clock watch over the outbox file, runs their periodic
 * checks, and answers `GET /api/uplink` and the uplink metrics. Constructor assigns; start() does
 * the I/O; stop() undoes it in reverse.
 */
import type { OutboxCounts } from '../outbox/counts.js';
import type { Config } from '../config.js';
import { LogLimiter, type Logger } from '../log.js';
import type { Metrics } from '../metrics.js';
import type { Ingest } from '../ingest/ingest.js';
import type { NewEvent } from '../outbox/store.js';
import type { HqConnection } from '../hq/hqConnection.js';
import { resolveCompactionConfig } from './compaction.js';
import { Compactor } from './compactor.js';
import { Uplink, type UplinkState } from './uplink.js';
import { UplinkStore } from './store.js';
import type { OwnerConnection } from '../db/owner.js';
import { SelfRecords } from './selfRecords.js';
import { Quota, type QuotaStatus } from './quota.js';
import { behindAtBoot, ClockWatch, type ClockJump } from './clockWatch.js';
import { DeliveryStore } from './deliveryStore.js';
import { AckSubscriber } from './ackSubscriber.js';

export interface UplinkServiceOptions {
  config: Readonly<Config>;
  /** The outbox SQLite file (outbox/store.ts has created and migrated it). */
  outboxFile: string;
  /** The outbox's per-class row counts (OutboxStore.counts), moved by this service's deletes. */
  outboxCounts?: OutboxCounts;
  /** The outbox's writer connection (OutboxStore.writer): the uplink writes through it. */
  outboxWriter?: OwnerConnection | null;
  ingest: Ingest;
  /** Started; null when no `hq` is configured (then there is no HQ link, only the local outbox). */
  hqConnection: HqConnection | null;
  bootId: string;
  version: string;
  metrics: Metrics;
  log: Logger;
  now: () => number;
  mono: () => number;
  random?: () => number;
  freeDisk?: (dir: string) => Promise<number>;
}

export interface UplinkStatus {
  configured: boolean;
  hqUrl: string | null;
  wan: UplinkState | null;
  outbox: { rows: Record<string, number>; total: number; oldestUnsentAgeS: number | null };
  quota: QuotaStatus;
  compaction: { rawRecords: number; compactRecords: number; dropped: number; rawPayloadBytes: number; compactBytes: number };
  /** Device payload bytes in / compressed bytes HQ acknowledged. */
  compactionRatio: number | null;
  clockJumps: ClockJump[];
  /** How HQ's receipt is established, and what HQ has not acknowledged yet. */
  delivery: DeliveryStatus;
}

export interface DeliveryStatus {
  mode: 'broker-puback' | 'ingest-ack';
  /** ingest-ack: batches sent (or exported) and not yet acknowledged, and their records. */
  unackedBatches: number;
  unackedRecords: number;
  /** Age of the oldest record HQ has not acknowledged (every outbox row counts). */
  lagS: number | null;
  lastAckAt: number | null;
  acksAccepted: number;
  acksRefused: number;
  ackConnected: boolean;
}

export class UplinkService {
  readonly store: UplinkStore;
  readonly selfRecords: SelfRecords;
  readonly compactor: Compactor;
  readonly quota: Quota;
  readonly uplink: Uplink | null;
  /** hq.delivery ingest-ack only. */
  readonly deliveryStore: DeliveryStore | null;
  readonly acks: AckSubscriber | null;
  private readonly clock: ClockWatch;
  private readonly clockJumps: ClockJump[] = [];
  private timer: NodeJS.Timeout | null = null;
  private checking: Promise<void> | null = null;
  private readonly log: Logger;

  constructor(private readonly o: UplinkServiceOptions) {
    const c = o.config;
    this.log = o.log.child({ module: 'uplink' });
    this.store = new UplinkStore(o.outboxFile, o.outboxCounts, o.outboxWriter);
    this.selfRecords = new SelfRecords(o.ingest, o.now);
    const { intervalMs, ...rules } = c.compaction;
    this.compactor = new Compactor({
      store: this.store,
      config: { ...resolveCompactionConfig(rules), intervalMs },
      bootId: o.bootId,
      mono: o.mono,
      metrics: o.metrics,
      log: o.log,
      onCompacted: () => this.uplink?.kick(true),
    });
    const ackMode = c.hq?.delivery === 'ingest-ack' && o.hqConnection !== null;
    const ackAlerts = new LogLimiter(o.now, c.hq?.rejectRecordsPerMinute ?? 5, 60_000);
    this.deliveryStore = ackMode ? new DeliveryStore(() => this.store.connection, o.outboxCounts) : null;
    this.acks =
      ackMode && this.deliveryStore
        ? new AckSubscriber({
            storeId: c.storeId,
            connection: o.hqConnection!,
            publicKeys: c.hq!.publicKeys,
            store: this.deliveryStore,
            metrics: o.metrics,
            log: this.log,
            now: o.now,
            onAcked: () => this.uplink?.kick(true),
            // Like every refused HQ feed: an exact alert record for HQ and the ops alert book. Acks
            // are not retained, so anyone who may publish on the ack topic can send them by the
            // thousand: a few records per refusal code and minute, the next one counting the rest
            // (the metric counts every refusal).
            onRejected: (a) => {
              const suppressed = ackAlerts.take(a.code);
              if (suppressed < 0) return;
              void this.selfRecords
                .record('FEED_REJECTED', 'warning', `ingestAck feed rejected: ${a.reason}`, { feedRejected: { topic: a.topic, feed: 'ingestAck', scope: 'store', code: a.code, kid: a.kid ?? null, suppressed } })
                .catch((err: Error) => this.log.error({ err }, 'could not record an ack refusal'));
            },
          })
        : null;
    this.uplink =
      c.hq && o.hqConnection
      ? new Uplink({
          hq: c.hq,
          connection: o.hqConnection,
          tuning: c.uplink,
          storeId: c.storeId,
          bootId: o.bootId,
          version: o.version,
          store: this.store,
          selfRecords: this.selfRecords,
          metrics: o.metrics,
          log: o.log,
          now: o.now,
          random: o.random,
          dataDir: c.data.dir,
          ...(this.deliveryStore ? { delivery: { store: this.deliveryStore, maxUnacked: c.hq.maxUnackedBatches, ackTimeoutMs: c.hq.ackTimeoutMs, stuckAttempts: c.hq.stuckBatchAttempts } } : {}),
        })
      : null;
    this.quota = new Quota({
      store: this.store,
      dir: c.data.dir,
      quotaBytes: c.data.quotaBytes,
      minFreeDiskBytes: c.uplink.minFreeDiskBytes,
      selfRecords: this.selfRecords,
      metrics: o.metrics,
      log: o.log,
      now: o.now,
      freeDisk: o.freeDisk,
      shrink: () => {
        const t = this.compactor.totals;
        return t.rawRecords > 0 ? t.compactRecords / t.rawRecords : 1;
      },
    });
    this.clock = new ClockWatch(o.now, o.mono, c.uplink.clockJumpMs);
  }

  async start(): Promise<void> {
    await this.store.start();
    // Batches left awaiting an ingest ack by an earlier ingest-ack run (or an export) go out as plain rows now.
    if (!this.deliveryStore && this.uplink) {
      const n = await new DeliveryStore(() => this.store.connection).releaseAll();
      if (n > 0) this.log.info({ batches: n }, 'hq.delivery is broker-puback: batches that awaited an ingest ack are sent as plain rows');
    }
    // Without an HQ link nothing leaves the box: raw rows stay raw (an operator's `outbox export`
    // carries them out as received), and only the quota acts.
    if (this.uplink) await this.compactor.start();
    await this.acks?.start();
    await this.uplink?.start();
    this.timer = setInterval(() => void this.checkNow().catch((err) => this.log.error({ err }, 'uplink check failed')), this.o.config.uplink.checkIntervalMs);
    this.timer.unref();
    await this.checkNow();
  }

  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    await this.checking?.catch(() => undefined);
    await this.uplink?.stop();
    await this.acks?.stop();
    await this.compactor.stop();
    await this.store.stop();
  }

  /** Every committed event (gateway onEvent): the rate estimate, the clock, and exact records leave soon. */
  /** A retained report to HQ (`report/{what}`); dropped silently when no HQ is configured. */
  report(what: string, payload: Buffer): void {
    this.uplink?.report(what, payload);
  }

  onEvent(e: NewEvent): void {
    this.quota.noteEvents(1);
    this.checkClock();
    if (e.cls === 'exact') this.uplink?.kick();
  }

  /** The periodic work, on demand too (tests, after a long outage): clock, compaction, quota, drain. */
  checkNow(): Promise<void> {
    this.checking ??= (async () => {
      this.checkClock();
      if (this.uplink) await this.compactor.runOnce();
      await this.quota.check();
      const s = await this.store.summary();
      const age = s.oldestRecvTs === null ? 0 : Math.max(0, (this.o.now() - s.oldestRecvTs) / 1000);
      this.o.metrics.uplinkOldestAge.set(age);
      this.o.metrics.hqDeliveryLag.set(age);
      if (this.deliveryStore) this.o.metrics.hqUnackedBatches.set((await this.deliveryStore.inflight()).batches);
      this.uplink?.kick(true);
    })().finally(() => {
      this.checking = null;
    });
    return this.checking;
  }

  async status(): Promise<UplinkStatus> {
    const s = await this.store.summary();
    const t = this.compactor.totals;
    const m = this.o.metrics;
    const rawIn = (await m.uplinkRawBytes.get()).values.reduce((a, v) => a + v.value, 0);
    const sent = this.uplink?.state.bytesSent ?? 0;
    return {
      configured: this.uplink !== null,
      hqUrl: this.o.config.hq ? withoutUserinfo(this.o.config.hq.url) : null,
      wan: this.uplink?.state ?? null,
      outbox: { rows: s.rows, total: s.total, oldestUnsentAgeS: s.oldestRecvTs === null ? null : Math.max(0, (this.o.now() - s.oldestRecvTs) / 1000) },
      quota: this.quota.status,
      compaction: { rawRecords: t.rawRecords, compactRecords: t.compactRecords, dropped: t.dropped, rawPayloadBytes: t.rawPayloadBytes, compactBytes: t.compactBytes },
      compactionRatio: sent > 0 ? rawIn / sent : null,
      clockJumps: this.clockJumps.slice(-20),
      delivery: await this.deliveryStatus(s.oldestRecvTs),
    };
  }

  private async deliveryStatus(oldestRecvTs: number | null): Promise<DeliveryStatus> {
    const d = this.deliveryStore;
    const inflight = d ? await d.inflight() : { batches: 0, records: 0 };
    if (d) this.o.metrics.hqUnackedBatches.set(inflight.batches);
    return {
      mode: this.o.config.hq?.delivery ?? 'broker-puback',
      unackedBatches: inflight.batches,
      unackedRecords: inflight.records,
      lagS: oldestRecvTs === null ? null : Math.max(0, (this.o.now() - oldestRecvTs) / 1000),
      lastAckAt: d ? await d.lastAckAt() : null,
      acksAccepted: this.acks?.accepted ?? 0,
      acksRefused: this.acks?.rejected ?? 0,
      ackConnected: this.acks?.connected ?? false,
    };
  }

  /**
   * Once at start, after the ops component listens (so the alert book shows it): a wall clock
   * behind the last time this gateway wrote down is recorded as an exact critical record.
   */
  async checkBootClock(lastWall: number | null): Promise<void> {
    const now = this.o.now();
    const b = behindAtBoot(now, lastWall, this.o.config.uplink.clockJumpMs);
    if (!b) return;
    const facts = { clock: { behindMs: b.behindMs, now: new Date(now).toISOString(), lastSeenBefore: new Date(lastWall!).toISOString(), bootId: this.o.bootId } };
    this.log.error(facts.clock, 'wall clock at start is behind the last time seen before: fix the clock (NTP)');
    await this.selfRecords.record('CLOCK_BEHIND_AT_BOOT', 'critical', `the wall clock at start is ${Math.round(b.behindMs / 60_000)} min behind the last time seen before this start: the clock is wrong now or was before; check NTP`, facts);
  }

  private checkClock(): void {
    const j = this.clock.check();
    if (!j) return;
    this.clockJumps.push(j);
    this.o.metrics.clockJumps.labels(j.direction).inc();
    this.log.warn({ jumpMs: j.jumpMs, direction: j.direction, monoMs: j.monoMs }, 'wall clock jumped');
    void this.selfRecords
      .record('CLOCK_JUMP', 'warning', `wall clock jumped ${j.direction} by ${Math.round(Math.abs(j.jumpMs) / 1000)} s`, {
        clock: { jumpMs: j.jumpMs, direction: j.direction, wallBefore: new Date(j.wallBefore).toISOString(), wallAfter: new Date(j.wallAfter).toISOString(), bootId: this.o.bootId, monoMs: j.monoMs },
      })
      .catch((err) => this.log.error({ err }, 'recording a clock jump failed'));
  }
}

/** A URL may carry `user:password@`: never shown on the ops page. */
function withoutUserinfo(url: string): string {
  if (!URL.canParse(url)) return url;
  const u = new URL(url);
  u.username = '';
  u.password = '';
  return u.toString();
}
