/**
 * Click & collect order intake, the I/O shell around `feedVerify` and
 * `KioskStore.applyOrders`: its own persistent-session mqtt.js connection to HQ, subscribed to
 * `hq/v1/store/{storeId}/orders` only (the prices intake skips that feed: "orders belong to another
 * component"). One message at a time; the PUBACK goes to HQ after the orders are committed to
 * kiosk.db or the feed was refused for good, so a gateway killed mid-apply gets the feed again.
 * A feed that could not be stored (SQLITE_BUSY, SQLITE_FULL, …) is not acknowledged either: the
 * connection is re-opened after a back-off and HQ re-delivers it [MQTT-4.4.0-1]. A payload over
 * `prices.maxFeedBytes` is refused before parsing; a delta must name its `baseVersion` (the
 * same rules as the price feeds, prices/feedPolicy.ts). Once applied, orders are served from
 * kiosk.db: pickup keeps working while the WAN is down.
 */
import { endClient } from '../mqttEnd.js';
import { readFileSync } from 'node:fs';
import mqtt, { type IClientOptions, type MqttClient } from 'mqtt';
import type { Config } from '../config.js';
import { LogLimiter, type Logger } from '../log.js';
import { createFeedVerifier, type FeedVerifier } from '../protocol/feedVerify.js';
import { topics } from '../protocol/topics.js';
import { OrdersBody, type OrdersBodyT } from './orders.js';
import { deltaBaseError, feedConnectProperties, feedSizeError, isTransientStorageError } from '../prices/feedPolicy.js';
import { FeedDelivery } from '../prices/feedDelivery.js';
import type { KioskStore } from './store.js';

export interface OrderFeedOptions {
  storeId: string;
  hq: NonNullable<Config['hq']>;
  clientId: string;
  store: KioskStore;
  log: Logger;
  now: () => number;
  /** After each applied or rejected feed (tests and the service wait on it). */
  onHandled?: () => void;
  /** Size cap and re-delivery back-off (config `prices`); defaults as there. */
  limits?: { maxFeedBytes: number; feedRetryInitialMs: number; feedRetryMaxMs: number };
}

export class OrderFeed {
  private client: MqttClient | null = null;
  private verify!: FeedVerifier;
  private lastVersion: number | undefined;
  private readonly log: Logger;
  private readonly logLimit: LogLimiter;
  /** One feed at a time, acked once applied or refused for good; held after a storage failure. */
  private readonly delivery: FeedDelivery;
  applied = 0;
  /** Feeds that could not be stored (left unacknowledged for re-delivery). */
  storeFailures = 0;
  rejected: { code: string; reason: string }[] = [];

  constructor(private readonly o: OrderFeedOptions) {
    this.log = o.log.child({ module: 'orders' });
    const l = o.limits ?? { feedRetryInitialMs: 1000, feedRetryMaxMs: 60_000 };
    this.delivery = new FeedDelivery({ log: this.log, what: 'orders feed', retryInitialMs: l.feedRetryInitialMs, retryMaxMs: l.feedRetryMaxMs });
    this.logLimit = new LogLimiter(o.now);
  }

  async start(): Promise<void> {
    this.verify = createFeedVerifier({ storeId: this.o.storeId, keys: Object.fromEntries(this.o.hq.publicKeys.map((k) => [k.kid, k.pem])), bodySchemas: { orders: OrdersBody } });
    this.lastVersion = await this.o.store.ordersVersion();
    const h = this.o.hq;
    const opts: IClientOptions = {
      clientId: this.o.clientId,
      clean: false,
      // MQTT 5, as the price feeds (prices/feeds.ts): HQ's broker sends nothing over twice the cap.
      protocolVersion: 5,
      properties: feedConnectProperties(this.o.limits?.maxFeedBytes ?? 32 * 1024 * 1024),
      reconnectPeriod: 1000,
      connectTimeout: 10_000,
      username: h.username,
      password: h.passwordFile ? readFileSync(h.passwordFile, 'utf8').trim() : undefined,
      ca: h.caFile ? readFileSync(h.caFile) : undefined,
      cert: h.certFile ? readFileSync(h.certFile) : undefined,
      key: h.keyFile ? readFileSync(h.keyFile) : undefined,
    };
    const topic = topics.hqStoreFeed(this.o.storeId, 'orders');
    const client = mqtt.connect(h.url, opts);
    this.client = client;
    this.delivery.attach(client, async (t, payload) => (t === topic ? this.handle(payload) : 'ack'));
    client.on('connect', (ack) => {
      if (!ack.sessionPresent) client.subscribe(topic, { qos: 1 }, (err) => err && this.log.error({ err }, 'subscribing to the orders feed failed'));
    });
    client.on('error', (err) => this.log.warn({ err: err.message }, 'HQ orders connection error'));
  }

  async stop(): Promise<void> {
    this.delivery.detach();
    const c = this.client;
    this.client = null;
    if (c) await endClient(c);
    await this.delivery.drained();
  }

  private async handle(payload: Buffer): Promise<'ack' | 'hold'> {
    const tooBig = feedSizeError(payload.length, this.o.limits?.maxFeedBytes ?? 32 * 1024 * 1024);
    const verified = tooBig ?? this.verify(payload, { feed: 'orders', topicScope: 'store', lastVersion: this.lastVersion });
    const res = verified.ok ? (deltaBaseError(verified.body, verified.version, this.lastVersion, verified.kid) ?? verified) : verified;
    if (!res.ok) {
      this.rejected.push({ code: res.code, reason: res.reason });
      if (this.rejected.length > 100) this.rejected.shift();
      // Whoever may publish on HQ's broker sets the rate: the log is bounded per code.
      const suppressed = this.logLimit.take(res.code);
      if (suppressed >= 0) this.log.warn({ code: res.code, reason: res.reason.slice(0, 512), kid: res.kid, suppressed }, 'orders feed rejected');
      if (res.gap) this.reportGap(res.gap);
      this.o.onHandled?.();
      return 'ack';
    }
    const body = res.body as unknown as OrdersBodyT;
    try {
      await this.o.store.applyOrders(res.version, body, this.o.now());
    } catch (err) {
      if (isTransientStorageError(err)) {
        this.storeFailures++;
        this.delivery.failStreak++;
        this.log.error({ err, version: res.version, attempt: this.delivery.failStreak }, 'orders feed could not be stored; left unacknowledged for HQ to re-deliver');
        this.delivery.hold();
        this.o.onHandled?.();
        return 'hold';
      }
      // e.g. one pickup code given to two orders (UNIQUE): nothing of this feed was applied.
      this.rejected.push({ code: 'SGW_ERR_FEED_APPLY', reason: `storage: ${(err as Error).message}` });
      this.log.error({ err, version: res.version }, 'orders feed could not be applied');
      this.o.onHandled?.();
      return 'ack';
    }
    this.delivery.failStreak = 0;
    this.lastVersion = res.version;
    this.applied++;
    this.log.info({ version: res.version, orders: body.orders.length, mode: body.mode }, 'orders feed applied');
    this.o.onHandled?.();
    return 'ack';
  }

  /** Tells HQ an orders delta did not fit: it must send a snapshot (the same report as the price feeds). */
  private reportGap(gap: { version: number; baseVersion: number }): void {
    const report = { ts: new Date(this.o.now()).toISOString(), storeId: this.o.storeId, need: 'snapshot', feed: 'orders', scope: 'store', appliedVersion: this.lastVersion ?? null, ...gap };
    if (this.client?.connected) this.client.publish(topics.hqReport(this.o.storeId, 'feeds'), JSON.stringify(report), { qos: 1 });
  }
}
