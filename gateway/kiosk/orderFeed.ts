/**
 * Click & collect order intake (issue 7 §2), the I/O shell around `feedVerify` and
 * `KioskStore.applyOrders`: its own persistent-session mqtt.js connection to HQ, subscribed to
 * `hq/v1/store/{storeId}/orders` only (the prices intake skips that feed: "orders belong to another
 * component"). One message at a time; the PUBACK goes to HQ after the orders are committed to
 * kiosk.db or the feed was rejected, so a gateway killed mid-apply gets the feed again. Once
 * applied, orders are served from kiosk.db: pickup keeps working while the WAN is down.
 */
import { endClient } from '../mqttEnd.js';
import { readFileSync } from 'node:fs';
import mqtt, { type IClientOptions, type IPublishPacket, type MqttClient } from 'mqtt';
import type { Config } from '../config.js';
import type { Logger } from '../log.js';
import { createFeedVerifier, type FeedVerifier } from '../protocol/feedVerify.js';
import { topics } from '../protocol/topics.js';
import { OrdersBody, type OrdersBodyT } from './orders.js';
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
}

export class OrderFeed {
  private client: MqttClient | null = null;
  private verify!: FeedVerifier;
  private lastVersion: number | undefined;
  private queue: Promise<void> = Promise.resolve();
  private readonly log: Logger;
  applied = 0;
  rejected: { code: string; reason: string }[] = [];

  constructor(private readonly o: OrderFeedOptions) {
    this.log = o.log.child({ module: 'orders' });
  }

  async start(): Promise<void> {
    this.verify = createFeedVerifier({ storeId: this.o.storeId, keys: Object.fromEntries(this.o.hq.publicKeys.map((k) => [k.kid, k.pem])), bodySchemas: { orders: OrdersBody } });
    this.lastVersion = await this.o.store.ordersVersion();
    const h = this.o.hq;
    const opts: IClientOptions = {
      clientId: this.o.clientId,
      clean: false,
      protocolVersion: 4,
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
    // mqtt.js sends a QoS 1 PUBACK when `done` is called: after the commit.
    client.handleMessage = (packet: IPublishPacket, done: (err?: Error) => void) => {
      const payload = Buffer.isBuffer(packet.payload) ? packet.payload : Buffer.from(packet.payload);
      this.queue = this.queue
        .then(() => (packet.topic === topic ? this.handle(payload) : undefined))
        .then(
          () => done(),
          (err: Error) => {
            this.log.error({ err }, 'orders feed handling failed');
            done();
          },
        );
    };
    client.on('connect', (ack) => {
      if (!ack.sessionPresent) client.subscribe(topic, { qos: 1 }, (err) => err && this.log.error({ err }, 'subscribing to the orders feed failed'));
    });
    client.on('error', (err) => this.log.warn({ err: err.message }, 'HQ orders connection error'));
  }

  async stop(): Promise<void> {
    const c = this.client;
    this.client = null;
    if (c) await endClient(c);
    await this.queue;
  }

  private async handle(payload: Buffer): Promise<void> {
    const res = this.verify(payload, { feed: 'orders', topicScope: 'store', lastVersion: this.lastVersion });
    if (!res.ok) {
      this.rejected.push({ code: res.code, reason: res.reason });
      if (this.rejected.length > 100) this.rejected.shift();
      this.log.warn({ code: res.code, reason: res.reason, kid: res.kid }, 'orders feed rejected');
      this.o.onHandled?.();
      return;
    }
    const body = res.body as unknown as OrdersBodyT;
    try {
      await this.o.store.applyOrders(res.version, body, this.o.now());
    } catch (err) {
      // e.g. one pickup code given to two orders (UNIQUE): nothing of this feed was applied.
      this.rejected.push({ code: 'SGW_ERR_FEED_APPLY', reason: `storage: ${(err as Error).message}` });
      this.log.error({ err, version: res.version }, 'orders feed could not be applied');
      this.o.onHandled?.();
      return;
    }
    this.lastVersion = res.version;
    this.applied++;
    this.log.info({ version: res.version, orders: body.orders.length, mode: body.mode }, 'orders feed applied');
    this.o.onHandled?.();
  }
}
