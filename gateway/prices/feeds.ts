/**
 * HQ feed intake, the I/O shell around `feedVerify`, `feedPolicy` and `PriceStore.applyFeed`: its
 * own mqtt.js connection to the HQ broker (MQTT 5, a session that outlives the connection, QoS 1),
 * subscribed to each feed by name (feedPolicy.ts says why not `+`). Messages are handled one at a
 * time, in arrival order.
 *
 * The PUBACK goes to HQ only once the feed was applied (committed) or refused for good (bad
 * signature or shape, an old version, a version gap, too large, it killed the checker). A feed
 * that could not be stored (SQLITE_BUSY, SQLITE_FULL, an I/O error) is NOT acknowledged: an alert
 * is raised, the connection is closed and re-opened after a back-off, and HQ re-delivers every
 * unacknowledged feed of the session in order [MQTT-4.4.0-1]. A gateway killed mid-apply gets the
 * feed again the same way.
 *
 * A rejected feed is counted (`storegw_feed_rejects_total{feed,code}`), logged with its reason and
 * kept in a bounded in-memory alert list (GET /api/prices/sync).
 *
 * Checking a feed (parse, signature, schema, and turning its body into table writes) runs in a
 * worker thread through `FeedChecker` (feedCheck.ts says why): a 60k-row feed kept device
 * PUBACKs waiting ~200 ms on the main thread.
 */
import { endClient } from '../mqttEnd.js';
import { readFileSync } from 'node:fs';
import mqtt, { type MqttClient, type IClientOptions } from 'mqtt';
import { Counter } from 'prom-client';
import type { Logger } from '../log.js';
import type { Metrics } from '../metrics.js';
import type { Config } from '../config.js';
import type { FeedErrorCode } from '../protocol/feedVerify.js';
import { topics } from '../protocol/topics.js';
import { PRICE_FEEDS } from './feedSchemas.js';
import type { FeedScope } from './catalog.js';
import { FeedChecker } from './feedCheck.js';
import type { FeedApplyMeta, PriceStore } from './store.js';
import { feedConnectProperties, feedSizeError, feedSubscriptions, isTransientStorageError, legacyFeedFilters } from './feedPolicy.js';
import { FeedDelivery } from './feedDelivery.js';
import { LogLimiter } from '../log.js';

export interface FeedAlert {
  at: number;
  topic: string;
  feed: string;
  scope: FeedScope;
  code: FeedErrorCode | 'SGW_ERR_FEED_APPLY';
  reason: string;
  kid?: string;
}

/** A feed that passed every check but could not be stored; it stays unacknowledged. */
export interface FeedStoreFailure {
  at: number;
  topic: string;
  feed: string;
  scope: FeedScope;
  version: number;
  error: string;
  /** Failures in a row (1 on the first); the connection re-opens after `retryInMs`. */
  attempt: number;
  retryInMs: number;
}

/** The intake's limits (config `prices`). */
export interface FeedLimits {
  maxFeedBytes: number;
  feedRetryInitialMs: number;
  feedRetryMaxMs: number;
  feedWorker?: { maxOldGenerationSizeMb?: number; maxYoungGenerationSizeMb?: number; stackSizeMb?: number };
}

const DEFAULT_LIMITS: FeedLimits = { maxFeedBytes: 32 * 1024 * 1024, feedRetryInitialMs: 1000, feedRetryMaxMs: 60_000 };

export interface FeedIntakeOptions {
  storeId: string;
  hq: NonNullable<Config['hq']>;
  clientId: string;
  store: PriceStore;
  metrics: Metrics;
  log: Logger;
  now: () => number;
  /** Called after a feed was committed (the caller reloads the catalog and re-evaluates labels). */
  onApplied: (f: FeedApplyMeta) => Promise<void>;
  /** Called for every rejection (after it was counted and logged). */
  onRejected?: (a: FeedAlert) => void;
  /** Called when the HQ connection comes up or goes down. */
  onConnection?: (up: boolean) => void;
  maxAlerts?: number;
  /** The built feed worker (feedCheck.ts); null checks feeds on the main thread. Default: next to the bundle. */
  feedWorker?: URL | null;
  /** Size cap, worker limits, re-delivery back-off; defaults as in the config schema. */
  limits?: FeedLimits;
  /** Called when a checked feed could not be stored (after it was counted and logged). */
  onStoreFailed?: (f: FeedStoreFailure) => void;
}

export class FeedIntake {
  private client: MqttClient | null = null;
  private checker: FeedChecker | null = null;
  private readonly versions = new Map<string, number>();
  /** One feed at a time, acked once applied or refused for good; held after a storage failure. */
  private readonly delivery: FeedDelivery;
  private readonly limits: FeedLimits;
  private readonly logLimit: LogLimiter;
  readonly alerts: FeedAlert[] = [];
  /** Feeds applied and rejected since start. */
  appliedCount = 0;
  rejectedCount = 0;
  readonly rejects: Counter<'feed' | 'code'>;
  readonly applied: Counter<'feed' | 'scope'>;
  readonly storeFailures: Counter<'feed'>;
  private readonly log: Logger;

  constructor(private readonly o: FeedIntakeOptions) {
    this.log = o.log.child({ module: 'feeds' });
    this.limits = o.limits ?? DEFAULT_LIMITS;
    this.delivery = new FeedDelivery({ log: this.log, what: 'feed', retryInitialMs: this.limits.feedRetryInitialMs, retryMaxMs: this.limits.feedRetryMaxMs });
    this.logLimit = new LogLimiter(o.now);
    this.storeFailures = new Counter({ name: 'storegw_feed_store_failures_total', help: 'HQ feeds that passed every check but could not be stored (left unacknowledged for re-delivery), by feed', labelNames: ['feed'], registers: [o.metrics.registry] });
    this.rejects = new Counter({ name: 'storegw_feed_rejects_total', help: 'HQ feeds rejected, by feed and reason code', labelNames: ['feed', 'code'], registers: [o.metrics.registry] });
    this.applied = new Counter({ name: 'storegw_feed_applied_total', help: 'HQ feeds applied', labelNames: ['feed', 'scope'], registers: [o.metrics.registry] });
  }

  get connected(): boolean {
    return this.client?.connected ?? false;
  }

  /** Applied version per `feed/scope`. */
  appliedVersions(): Record<string, number> {
    return Object.fromEntries(this.versions);
  }

  async start(): Promise<void> {
    this.checker = new FeedChecker({
      storeId: this.o.storeId,
      keys: Object.fromEntries(this.o.hq.publicKeys.map((k) => [k.kid, k.pem])),
      log: this.log,
      ...(this.o.feedWorker !== undefined ? { workerUrl: this.o.feedWorker } : {}),
      ...(this.limits.feedWorker ? { resourceLimits: this.limits.feedWorker } : {}),
    });
    await this.checker.start();
    for (const v of await this.o.store.versions()) this.versions.set(`${v.feed}/${v.scope}`, v.version);

    const opts: IClientOptions = {
      clientId: this.o.clientId,
      clean: false,
      // MQTT 5 for Maximum Packet Size: HQ's broker must not send a packet over it
      // [MQTT-3.1.2-25], so a huge payload is never buffered here. Twice the parse cap, so a feed
      // just over the cap still arrives and is refused by name (a FEED_REJECTED record).
      protocolVersion: 5,
      properties: feedConnectProperties(this.limits.maxFeedBytes),
      reconnectPeriod: 1000,
      connectTimeout: 10_000,
      username: this.o.hq.username,
      password: this.o.hq.passwordFile ? readFileSync(this.o.hq.passwordFile, 'utf8').trim() : undefined,
      ca: this.o.hq.caFile ? readFileSync(this.o.hq.caFile) : undefined,
      cert: this.o.hq.certFile ? readFileSync(this.o.hq.certFile) : undefined,
      key: this.o.hq.keyFile ? readFileSync(this.o.hq.keyFile) : undefined,
    };
    const client = mqtt.connect(this.o.hq.url, opts);
    this.client = client;
    // mqtt.js sends the PUBACK of a QoS 1 message when `done()` is called, and none when it is
    // called with an error (mqtt.js handlers/publish.js); it hands over the next packet only then.
    this.delivery.attach(client, (topic, payload) => this.handle(topic, payload));
    let subscribed = false;
    client.on('connect', (ack) => {
      this.log.info({ url: this.o.hq.url, sessionPresent: ack.sessionPresent }, 'connected to HQ for feeds');
      this.o.onConnection?.(true);
      // Once per start, even with a session present: a session made by an older gateway holds the
      // wildcard filters that also match the gateway's own uploads.
      if (!ack.sessionPresent || !subscribed) {
        subscribed = true;
        client.unsubscribe(legacyFeedFilters(this.o.storeId), () => undefined);
        client.subscribe(feedSubscriptions(this.o.storeId), { qos: 1 }, (err) => {
          if (err) this.log.error({ err }, 'subscribing to HQ feeds failed');
        });
      }
    });
    client.on('error', (err) => this.log.warn({ err: err.message }, 'HQ feed connection error'));
    client.on('close', () => this.o.onConnection?.(false));
    client.on('offline', () => this.log.warn('HQ feed connection down'));
  }

  async stop(): Promise<void> {
    this.delivery.detach();
    const c = this.client;
    this.client = null;
    if (c) await endClient(c);
    await this.delivery.drained();
    await this.checker?.stop();
  }

  /** How feeds are checked: in a worker thread, or inline when the built worker is not there. */
  get checkMode(): 'worker' | 'inline' | null {
    return this.checker?.mode ?? null;
  }

  /** Publishes to HQ (reports); false when the WAN is down (a report is only worth its latest value). */
  publish(topic: string, payload: string): boolean {
    if (!this.client?.connected) return false;
    this.client.publish(topic, payload, { qos: 1 }, (err) => {
      if (err) this.log.warn({ err: err.message, topic }, 'report publish failed');
    });
    return true;
  }

  /** 'hold' when the feed must stay unacknowledged (storage failed); otherwise it is acked. */
  private async handle(topic: string, payload: Buffer): Promise<'ack' | 'hold'> {
    const parts = topic.split('/');
    let scope: FeedScope;
    let feed: string;
    if (parts.length === 4 && parts[2] === 'all') {
      scope = 'all';
      feed = parts[3];
    } else if (parts.length === 5 && parts[2] === 'store' && parts[3] === this.o.storeId) {
      scope = 'store';
      feed = parts[4];
    } else return 'ack';
    // Only the feeds subscribed by name arrive; anything else is not ours to apply.
    if (!(PRICE_FEEDS as readonly string[]).includes(feed)) return 'ack';
    const key = `${feed}/${scope}`;
    const tooBig = feedSizeError(payload.length, this.limits.maxFeedBytes);
    if (tooBig) {
      this.reject({ at: this.o.now(), topic, feed, scope, code: tooBig.code, reason: tooBig.reason });
      return 'ack';
    }
    const c0 = this.o.now();
    const lastVersion = this.versions.get(key);
    const res = await this.checker!.check(payload, { feed, topicScope: scope, lastVersion });
    if (!res.ok) {
      this.reject({ at: this.o.now(), topic, feed, scope, code: res.code, reason: res.reason, ...(res.kid !== undefined ? { kid: res.kid } : {}) });
      if (res.code === 'SGW_ERR_FEED_VERSION_GAP') this.reportGap(feed, scope, lastVersion, res.gap);
      return 'ack';
    }
    const f: FeedApplyMeta = { feed: res.feed, scope, version: res.version, issuedAt: res.issuedAt, kid: res.kid, appliedAt: this.o.now() };
    const t0 = this.o.now();
    this.log.info({ feed, scope, version: res.version, bytes: payload.length, checkMs: t0 - c0 }, 'applying feed');
    try {
      await this.o.store.applyPrepared(f, res.prepared);
    } catch (err) {
      if (!isTransientStorageError(err)) {
        // The feed itself cannot be stored (it would fail on every re-delivery): refused for good.
        this.reject({ at: this.o.now(), topic, feed, scope, code: 'SGW_ERR_FEED_APPLY', reason: `storage: ${(err as Error).message}` });
        return 'ack';
      }
      this.storeFailed({ at: this.o.now(), topic, feed, scope, version: res.version, error: (err as Error).message, attempt: ++this.delivery.failStreak, retryInMs: 0 });
      return 'hold';
    }
    if (this.delivery.failStreak > 0) this.log.info({ feed, scope, version: res.version, failures: this.delivery.failStreak }, 'feed stored after earlier storage failures');
    this.delivery.failStreak = 0;
    this.versions.set(key, res.version);
    this.applied.labels(feed, scope).inc();
    this.appliedCount++;
    this.log.info({ feed, scope, version: res.version, ms: this.o.now() - t0 }, 'feed applied');
    await this.o.onApplied(f);
    return 'ack';
  }

  private storeFailed(f: FeedStoreFailure): void {
    f.retryInMs = this.delivery.retryInMs;
    this.storeFailures.labels(f.feed).inc();
    const suppressed = this.logLimit.take(`store:${f.feed}`);
    if (suppressed >= 0) this.log.error({ topic: f.topic, feed: f.feed, scope: f.scope, version: f.version, err: f.error, attempt: f.attempt, retryInMs: f.retryInMs, suppressed }, 'feed could not be stored; left unacknowledged for HQ to re-deliver');
    this.delivery.hold();
    this.o.onStoreFailed?.(f);
  }

  /** Tells HQ a delta did not fit: it must send a snapshot of that feed (report topic, QoS 1). */
  private reportGap(feed: string, scope: FeedScope, appliedVersion: number | undefined, gap: { version: number; baseVersion: number } | undefined): void {
    const report = { ts: new Date(this.o.now()).toISOString(), storeId: this.o.storeId, need: 'snapshot', feed, scope, appliedVersion: appliedVersion ?? null, baseVersion: gap?.baseVersion ?? null, version: gap?.version ?? null };
    if (!this.publish(topics.hqReport(this.o.storeId, 'feeds'), JSON.stringify(report))) this.log.warn({ feed, scope }, 'could not tell HQ a snapshot is needed (not connected)');
  }


  private reject(a: FeedAlert): void {
    this.rejects.labels(a.feed, a.code).inc();
    this.rejectedCount++;
    // Whoever may publish on HQ's broker can send junk at any rate: the log is bounded per feed and code.
    const suppressed = this.logLimit.take(`reject:${a.feed}:${a.code}`);
    if (suppressed >= 0) this.log.warn({ topic: a.topic, feed: a.feed, scope: a.scope, code: a.code, reason: a.reason.slice(0, 512), kid: a.kid, suppressed }, 'feed rejected');
    this.alerts.push(a);
    if (this.alerts.length > (this.o.maxAlerts ?? 100)) this.alerts.shift();
    this.o.onRejected?.(a);
  }
}
