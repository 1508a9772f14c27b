/**
 * HQ feed intake, the I/O shell around `feedVerify` and `PriceStore.applyFeed`: its own mqtt.js
 * connection to the HQ broker (a persistent session, QoS 1), subscribed to
 * `hq/v1/store/{storeId}/+` and `hq/v1/all/+`. Messages are handled one at a time, in arrival
 * order, and the PUBACK goes to HQ only after the feed was applied (committed) or rejected: a
 * gateway killed mid-apply gets the feed again from its session at HQ.
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
import mqtt, { type MqttClient, type IClientOptions, type IPublishPacket } from 'mqtt';
import { Counter } from 'prom-client';
import type { Logger } from '../log.js';
import type { Metrics } from '../metrics.js';
import type { Config } from '../config.js';
import type { FeedErrorCode } from '../protocol/feedVerify.js';
import { HQ_ROOT } from '../protocol/topics.js';
import { PRICE_FEEDS } from './feedSchemas.js';
import type { FeedScope } from './catalog.js';
import { FeedChecker } from './feedCheck.js';
import type { FeedApplyMeta, PriceStore } from './store.js';

export interface FeedAlert {
  at: number;
  topic: string;
  feed: string;
  scope: FeedScope;
  code: FeedErrorCode | 'SGW_ERR_FEED_APPLY';
  reason: string;
  kid?: string;
}

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
}

export class FeedIntake {
  private client: MqttClient | null = null;
  private checker: FeedChecker | null = null;
  private readonly versions = new Map<string, number>();
  private queue: Promise<void> = Promise.resolve();
  readonly alerts: FeedAlert[] = [];
  /** Feeds applied and rejected since start. */
  appliedCount = 0;
  rejectedCount = 0;
  readonly rejects: Counter<'feed' | 'code'>;
  readonly applied: Counter<'feed' | 'scope'>;
  private readonly log: Logger;

  constructor(private readonly o: FeedIntakeOptions) {
    this.log = o.log.child({ module: 'feeds' });
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
    });
    await this.checker.start();
    for (const v of await this.o.store.versions()) this.versions.set(`${v.feed}/${v.scope}`, v.version);

    const opts: IClientOptions = {
      clientId: this.o.clientId,
      clean: false,
      protocolVersion: 4,
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
    // mqtt.js sends the PUBACK of a QoS 1 message when this callback is called: after the commit.
    client.handleMessage = (packet: IPublishPacket, done: (err?: Error) => void) => {
      const payload = Buffer.isBuffer(packet.payload) ? packet.payload : Buffer.from(packet.payload);
      this.queue = this.queue.then(() => this.handle(packet.topic, payload)).then(
        () => done(),
        (err: Error) => {
          this.log.error({ err, topic: packet.topic }, 'feed handling failed');
          done();
        },
      );
    };
    client.on('connect', (ack) => {
      this.log.info({ url: this.o.hq.url, sessionPresent: ack.sessionPresent }, 'connected to HQ for feeds');
      this.o.onConnection?.(true);
      if (!ack.sessionPresent) {
        client.subscribe([`${HQ_ROOT}/store/${this.o.storeId}/+`, `${HQ_ROOT}/all/+`], { qos: 1 }, (err) => {
          if (err) this.log.error({ err }, 'subscribing to HQ feeds failed');
        });
      }
    });
    client.on('error', (err) => this.log.warn({ err: err.message }, 'HQ feed connection error'));
    client.on('close', () => this.o.onConnection?.(false));
    client.on('offline', () => this.log.warn('HQ feed connection down'));
  }

  async stop(): Promise<void> {
    const c = this.client;
    this.client = null;
    if (c) await endClient(c);
    await this.queue;
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

  private async handle(topic: string, payload: Buffer): Promise<void> {
    const parts = topic.split('/');
    let scope: FeedScope;
    let feed: string;
    if (parts.length === 4 && parts[2] === 'all') {
      scope = 'all';
      feed = parts[3];
    } else if (parts.length === 5 && parts[2] === 'store' && parts[3] === this.o.storeId) {
      scope = 'store';
      feed = parts[4];
    } else return;
    // batch/status are the gateway's own uplink topics, orders belong to another component.
    if (!(PRICE_FEEDS as readonly string[]).includes(feed)) return;
    const key = `${feed}/${scope}`;
    const c0 = this.o.now();
    const res = await this.checker!.check(payload, { feed, topicScope: scope, lastVersion: this.versions.get(key) });
    if (!res.ok) {
      this.reject({ at: this.o.now(), topic, feed, scope, code: res.code, reason: res.reason, ...(res.kid !== undefined ? { kid: res.kid } : {}) });
      return;
    }
    const f: FeedApplyMeta = { feed: res.feed, scope, version: res.version, issuedAt: res.issuedAt, kid: res.kid, appliedAt: this.o.now() };
    const t0 = this.o.now();
    this.log.info({ feed, scope, version: res.version, bytes: payload.length, checkMs: t0 - c0 }, 'applying feed');
    try {
      await this.o.store.applyPrepared(f, res.prepared);
    } catch (err) {
      this.reject({ at: this.o.now(), topic, feed, scope, code: 'SGW_ERR_FEED_APPLY', reason: `storage: ${(err as Error).message}` });
      return;
    }
    this.versions.set(key, res.version);
    this.applied.labels(feed, scope).inc();
    this.appliedCount++;
    this.log.info({ feed, scope, version: res.version, ms: this.o.now() - t0 }, 'feed applied');
    await this.o.onApplied(f);
  }

  private reject(a: FeedAlert): void {
    this.rejects.labels(a.feed, a.code).inc();
    this.rejectedCount++;
    this.log.warn({ topic: a.topic, feed: a.feed, scope: a.scope, code: a.code, reason: a.reason, kid: a.kid }, 'feed rejected');
    this.alerts.push(a);
    if (this.alerts.length > (this.o.maxAlerts ?? 100)) this.alerts.shift();
    this.o.onRejected?.(a);
  }
}
