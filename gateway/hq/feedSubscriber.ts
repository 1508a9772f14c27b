/**
 * Every signed HQ feed (prices, orders, and any later one) comes in here and takes the same path:
 * size cap → verify (signature, scope, version, body; the handler's `check`) → apply (the
 * handler's store, one transaction) → PUBACK; or reject → PUBACK, counted
 * (`storegw_feed_rejects_total{feed,code}`), logged (bounded), kept in a short list for the
 * pages, and handed to `onRejected`, which the composition root turns into an exact
 * FEED_REJECTED record. Only what a feed *means* differs between feeds, so only that is in the
 * handler.
 *
 * The connection: a persistent MQTT 5 session at HQ (QoS 1), subscribed to each feed by name
 * (feedPolicy.ts says why not `+`), messages handled one at a time in arrival order
 * (feedDelivery.ts). A feed that could not be stored (SQLITE_BUSY, SQLITE_FULL, an I/O
 * error) is not acknowledged: counted, handed to `onStoreFailed`, the connection re-opened after a
 * back-off, and HQ re-delivers every unacknowledged feed of the session in order [MQTT-4.4.0-1].
 * A gateway killed mid-apply gets the feed again the same way.
 *
 * One subscriber per store file, not one for all feeds: a held re-delivery stops everything on its
 * connection, and a locked prices.db must not keep click & collect orders from kiosk.db.
 */
import type { MqttClient } from 'mqtt';
import { endClient } from '../mqttEnd.js';
import { LogLimiter, type Logger } from '../log.js';
import type { Metrics } from '../metrics.js';
import type { FeedError, FeedErrorCode, FeedTopicScope, FeedVerifyContext } from '../protocol/feedVerify.js';
import { topics } from '../protocol/topics.js';
import { feedConnectProperties, feedSizeError, feedSubscriptions, isTransientStorageError } from './feedPolicy.js';
import { FeedDelivery } from './feedDelivery.js';
import type { HqConnection } from './hqConnection.js';

/** A rejected feed: what the counter, the log, the pages' list and the FEED_REJECTED record say. */
export interface FeedAlert {
  at: number;
  topic: string;
  feed: string;
  scope: FeedTopicScope;
  code: FeedErrorCode | 'SGW_ERR_FEED_APPLY';
  reason: string;
  kid?: string;
}

/** A feed that passed every check but could not be stored; it stays unacknowledged. */
export interface FeedStoreFailure {
  at: number;
  topic: string;
  feed: string;
  scope: FeedTopicScope;
  version: number;
  error: string;
  /** Failures in a row (1 on the first); the connection re-opens after `retryInMs`. */
  attempt: number;
  retryInMs: number;
}

/** Size cap, worker limits and re-delivery back-off (config `prices`, which every feed shares). */
export interface FeedLimits {
  maxFeedBytes: number;
  feedRetryInitialMs: number;
  feedRetryMaxMs: number;
  feedWorker?: { maxOldGenerationSizeMb?: number; maxYoungGenerationSizeMb?: number; stackSizeMb?: number };
}

export const DEFAULT_FEED_LIMITS: FeedLimits = { maxFeedBytes: 32 * 1024 * 1024, feedRetryInitialMs: 1000, feedRetryMaxMs: 60_000 };

/** A feed that passed verification, its body already turned into what `apply` writes. */
export interface CheckedFeed<P> {
  ok: true;
  kid: string;
  version: number;
  issuedAt: string;
  prepared: P;
}

/** The identity and version of a feed being applied. */
export interface FeedMeta {
  feed: string;
  scope: FeedTopicScope;
  version: number;
  issuedAt: string;
  kid: string;
  appliedAt: number;
}

/** What a feed means: how it is checked and where it is stored. */
export interface FeedHandler<P> {
  /** Feed names taken, each subscribed by name. */
  readonly feeds: readonly string[];
  /** Topic scopes subscribed: `store` is hq/v1/store/{id}/{feed}, `all` is hq/v1/all/{feed}. */
  readonly scopes: readonly FeedTopicScope[];
  /** The applied versions in the handler's store (read at start). */
  versions(): Promise<{ feed: string; scope: FeedTopicScope; version: number; appliedAt?: number }[]>;
  /** Verify and prepare; must not throw on any payload. */
  check(payload: Buffer, ctx: FeedVerifyContext): Promise<CheckedFeed<P> | FeedError>;
  /** Stores the feed in one transaction; throws on a storage error. */
  apply(f: FeedMeta, prepared: P): Promise<void>;
}

export interface FeedSubscriberOptions<P> {
  storeId: string;
  /** Started (it holds the credentials). */
  connection: HqConnection;
  /** The persistent session's client id at HQ. */
  clientId: string;
  handler: FeedHandler<P>;
  /** What log lines call these messages ("feed", "orders feed"). */
  what: string;
  /** Filters an older gateway may have left in this session; unsubscribed once per start. */
  legacyFilters?: string[];
  metrics: Metrics;
  log: Logger;
  now: () => number;
  limits?: FeedLimits;
  maxAlerts?: number;
  /** After a feed was committed (the caller reloads what it derives from it). */
  onApplied?: (f: FeedMeta) => Promise<void>;
  /** Every rejection, after it was counted and logged. */
  onRejected?: (a: FeedAlert) => void;
  /** Every storage failure, after it was counted and logged. */
  onStoreFailed?: (f: FeedStoreFailure) => void;
  onConnection?: (up: boolean) => void;
  /** After every message, whatever its fate. */
  onHandled?: () => void;
}

export class FeedSubscriber<P> {
  private client: MqttClient | null = null;
  private readonly versions = new Map<string, number>();
  private readonly delivery: FeedDelivery;
  private readonly limits: FeedLimits;
  private readonly logLimit: LogLimiter;
  private readonly log: Logger;
  /** The latest rejections, oldest first (bounded). */
  readonly alerts: FeedAlert[] = [];
  appliedCount = 0;
  rejectedCount = 0;
  storeFailureCount = 0;

  constructor(private readonly o: FeedSubscriberOptions<P>) {
    this.log = o.log;
    this.limits = o.limits ?? DEFAULT_FEED_LIMITS;
    this.delivery = new FeedDelivery({ log: this.log, what: o.what, retryInitialMs: this.limits.feedRetryInitialMs, retryMaxMs: this.limits.feedRetryMaxMs });
    this.logLimit = new LogLimiter(o.now);
  }

  get connected(): boolean {
    return this.client?.connected ?? false;
  }

  /** Applied version per `feed/scope`. */
  appliedVersions(): Record<string, number> {
    return Object.fromEntries(this.versions);
  }

  async start(): Promise<void> {
    const h = this.o.handler;
    for (const v of await h.versions()) {
      this.versions.set(`${v.feed}/${v.scope}`, v.version);
      this.o.metrics.feedVersion.labels(v.feed, v.scope).set(v.version);
      if (v.appliedAt !== undefined) this.o.metrics.feedAppliedAt.labels(v.feed, v.scope).set(v.appliedAt / 1000);
    }
    const client = this.o.connection.connect({
      clientId: this.o.clientId,
      clean: false,
      reconnectPeriod: 1000,
      connectTimeout: 10_000,
      // HQ's broker must not send a packet over this [MQTT-3.1.2-25]: a huge payload is never
      // buffered here. Twice the parse cap, so a feed just over the cap still arrives and is
      // refused by name (a FEED_REJECTED record).
      properties: feedConnectProperties(this.limits.maxFeedBytes),
    });
    this.client = client;
    this.delivery.attach(client, (topic, payload) => this.handle(topic, payload));
    let subscribed = false;
    client.on('connect', (ack) => {
      this.log.info({ url: this.o.connection.url, sessionPresent: ack.sessionPresent }, `connected to HQ (${this.o.what})`);
      this.o.onConnection?.(true);
      // Once per start, even with a session present: a session made by an older gateway may hold
      // other filters (legacyFilters) or miss a feed added since.
      if (!ack.sessionPresent || !subscribed) {
        subscribed = true;
        if (this.o.legacyFilters?.length) client.unsubscribe(this.o.legacyFilters, () => undefined);
        client.subscribe(feedSubscriptions(this.o.storeId, h.feeds, h.scopes), { qos: 1 }, (err) => {
          if (err) this.log.error({ err }, `subscribing to the ${this.o.what} failed`);
        });
      }
    });
    client.on('error', (err) => this.log.warn({ err: err.message }, `HQ ${this.o.what} connection error`));
    client.on('close', () => this.o.onConnection?.(false));
    client.on('offline', () => this.log.warn(`HQ ${this.o.what} connection down`));
  }

  async stop(): Promise<void> {
    this.delivery.detach();
    const c = this.client;
    this.client = null;
    if (c) await endClient(c);
    await this.delivery.drained();
  }

  /** Publishes to HQ on this connection (reports); false when the WAN is down. */
  publish(topic: string, payload: string): boolean {
    if (!this.client?.connected) return false;
    this.client.publish(topic, payload, { qos: 1 }, (err) => {
      if (err) this.log.warn({ err: err.message, topic }, 'report publish failed');
    });
    return true;
  }

  /** 'hold' when the feed must stay unacknowledged (storage failed); otherwise it is acked. */
  private async handle(topic: string, payload: Buffer): Promise<'ack' | 'hold'> {
    try {
      return await this.handleFeed(topic, payload);
    } finally {
      this.o.onHandled?.();
    }
  }

  private async handleFeed(topic: string, payload: Buffer): Promise<'ack' | 'hold'> {
    const where = this.parseTopic(topic);
    // Only the feeds subscribed by name arrive; anything else is not ours to apply.
    if (!where) return 'ack';
    const { feed, scope } = where;
    const key = `${feed}/${scope}`;
    const tooBig = feedSizeError(payload.length, this.limits.maxFeedBytes);
    if (tooBig) {
      this.reject({ at: this.o.now(), topic, feed, scope, code: tooBig.code, reason: tooBig.reason });
      return 'ack';
    }
    const c0 = this.o.now();
    const lastVersion = this.versions.get(key);
    const res = await this.o.handler.check(payload, { feed, topicScope: scope, lastVersion });
    if (!res.ok) {
      this.reject({ at: this.o.now(), topic, feed, scope, code: res.code, reason: res.reason, ...(res.kid !== undefined ? { kid: res.kid } : {}) });
      if (res.code === 'SGW_ERR_FEED_VERSION_GAP') this.reportGap(feed, scope, lastVersion, res.gap);
      return 'ack';
    }
    const f: FeedMeta = { feed, scope, version: res.version, issuedAt: res.issuedAt, kid: res.kid, appliedAt: this.o.now() };
    const t0 = this.o.now();
    this.log.info({ feed, scope, version: res.version, bytes: payload.length, checkMs: t0 - c0 }, `applying ${this.o.what}`);
    try {
      await this.o.handler.apply(f, res.prepared);
    } catch (err) {
      if (!isTransientStorageError(err)) {
        // The feed itself cannot be stored (it would fail on every re-delivery): refused for good.
        this.reject({ at: this.o.now(), topic, feed, scope, code: 'SGW_ERR_FEED_APPLY', reason: `storage: ${(err as Error).message}` });
        return 'ack';
      }
      this.storeFailed({ at: this.o.now(), topic, feed, scope, version: res.version, error: (err as Error).message, attempt: ++this.delivery.failStreak, retryInMs: 0 });
      return 'hold';
    }
    if (this.delivery.failStreak > 0) this.log.info({ feed, scope, version: res.version, failures: this.delivery.failStreak }, `${this.o.what} stored after earlier storage failures`);
    this.delivery.failStreak = 0;
    this.versions.set(key, res.version);
    this.o.metrics.feedApplied.labels(feed, scope).inc();
    this.o.metrics.feedVersion.labels(feed, scope).set(res.version);
    this.o.metrics.feedAppliedAt.labels(feed, scope).set(f.appliedAt / 1000);
    this.appliedCount++;
    this.log.info({ feed, scope, version: res.version, ms: this.o.now() - t0 }, `${this.o.what} applied`);
    await this.o.onApplied?.(f);
    return 'ack';
  }

  /** `hq/v1/all/{feed}` or `hq/v1/store/{storeId}/{feed}`, for a feed and scope the handler takes. */
  private parseTopic(topic: string): { feed: string; scope: FeedTopicScope } | null {
    const parts = topic.split('/');
    let where: { feed: string; scope: FeedTopicScope } | null = null;
    if (parts.length === 4 && parts[2] === 'all') where = { feed: parts[3], scope: 'all' };
    else if (parts.length === 5 && parts[2] === 'store' && parts[3] === this.o.storeId) where = { feed: parts[4], scope: 'store' };
    const h = this.o.handler;
    return where && h.feeds.includes(where.feed) && h.scopes.includes(where.scope) ? where : null;
  }

  private storeFailed(f: FeedStoreFailure): void {
    f.retryInMs = this.delivery.retryInMs;
    this.o.metrics.feedStoreFailures.labels(f.feed).inc();
    this.storeFailureCount++;
    const suppressed = this.logLimit.take(`store:${f.feed}`);
    if (suppressed >= 0) this.log.error({ topic: f.topic, feed: f.feed, scope: f.scope, version: f.version, err: f.error, attempt: f.attempt, retryInMs: f.retryInMs, suppressed }, `${this.o.what} could not be stored; left unacknowledged for HQ to re-deliver`);
    this.delivery.hold();
    this.o.onStoreFailed?.(f);
  }

  /** Tells HQ a delta did not fit: it must send a snapshot of that feed (report topic, QoS 1). */
  private reportGap(feed: string, scope: FeedTopicScope, appliedVersion: number | undefined, gap: { version: number; baseVersion: number } | undefined): void {
    const report = { ts: new Date(this.o.now()).toISOString(), storeId: this.o.storeId, need: 'snapshot', feed, scope, appliedVersion: appliedVersion ?? null, baseVersion: gap?.baseVersion ?? null, version: gap?.version ?? null };
    if (!this.publish(topics.hqReport(this.o.storeId, 'feeds'), JSON.stringify(report))) this.log.warn({ feed, scope }, 'could not tell HQ a snapshot is needed (not connected)');
  }

  private reject(a: FeedAlert): void {
    this.o.metrics.feedRejects.labels(a.feed, a.code).inc();
    this.rejectedCount++;
    // Whoever may publish on HQ's broker can send junk at any rate: the log is bounded per feed and code.
    const suppressed = this.logLimit.take(`reject:${a.feed}:${a.code}`);
    if (suppressed >= 0) this.log.warn({ topic: a.topic, feed: a.feed, scope: a.scope, code: a.code, reason: a.reason.slice(0, 512), kid: a.kid, suppressed }, `${this.o.what} rejected`);
    this.alerts.push(a);
    if (this.alerts.length > (this.o.maxAlerts ?? 100)) this.alerts.shift();
    this.o.onRejected?.(a);
  }
}
