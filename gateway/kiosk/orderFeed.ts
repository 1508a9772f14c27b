/**
 * Click & collect orders from HQ: the signed `orders` feed (hq/v1/store/{storeId}/orders only; the
 * price feeds do not take it) as a handler of the one HQ feed subscriber (hq/feedSubscriber.ts),
 * so it follows the same path as the price feeds: size cap, signature and body check, a delta must
 * name its `baseVersion` (hq/feedPolicy.ts), the PUBACK only once the orders are committed to
 * kiosk.db or the feed was refused for good, and every refusal counted
 * (`storegw_feed_rejects_total{feed="orders"}`) and written as a FEED_REJECTED record. Once
 * applied, orders are served from kiosk.db: pickup keeps working while the WAN is down.
 *
 * Orders are small, so they are verified on the main thread (no worker as for the price feeds).
 */
import type { Config } from '../config.js';
import type { Logger } from '../log.js';
import type { Metrics } from '../metrics.js';
import { createFeedVerifier, type FeedVerifier } from '../protocol/feedVerify.js';
import type { HqConnection } from '../hq/hqConnection.js';
import { FeedSubscriber, type FeedAlert, type FeedLimits, type FeedStoreFailure } from '../hq/feedSubscriber.js';
import { OrdersBody, type OrdersBodyT } from './orders.js';
import { deltaBaseError } from '../hq/feedPolicy.js';
import type { KioskStore } from './store.js';

export interface OrderFeedOptions {
  storeId: string;
  hq: NonNullable<Config['hq']>;
  /** Started: the HQ endpoint and credentials. */
  connection: HqConnection;
  clientId: string;
  store: KioskStore;
  metrics: Metrics;
  log: Logger;
  now: () => number;
  /** After each applied or rejected feed (tests and the service wait on it). */
  onHandled?: () => void;
  /** Every rejection (the composition root writes the FEED_REJECTED record). */
  onRejected?: (a: FeedAlert) => void;
  /** Every storage failure (the composition root writes the FEED_STORE_FAILED record). */
  onStoreFailed?: (f: FeedStoreFailure) => void;
  /** Size cap and re-delivery back-off (config `prices`); defaults as there. */
  limits?: FeedLimits;
}

export class OrderFeed {
  private verify!: FeedVerifier;
  private readonly sub: FeedSubscriber<OrdersBodyT>;
  private readonly log: Logger;

  constructor(private readonly o: OrderFeedOptions) {
    this.log = o.log.child({ module: 'orders' });
    this.sub = new FeedSubscriber<OrdersBodyT>({
      storeId: o.storeId,
      connection: o.connection,
      clientId: o.clientId,
      what: 'orders feed',
      handler: {
        feeds: ['orders'],
        scopes: ['store'],
        versions: async () => {
          const version = await o.store.ordersVersion();
          return version === undefined ? [] : [{ feed: 'orders', scope: 'store', version }];
        },
        check: async (payload, ctx) => {
          const v = this.verify(payload, ctx);
          if (!v.ok) return v;
          const gap = deltaBaseError(v.body, v.version, ctx.lastVersion, v.kid);
          if (gap) return gap;
          return { ok: true, kid: v.kid, version: v.version, issuedAt: v.issuedAt, prepared: v.body as unknown as OrdersBodyT };
        },
        apply: async (f, body) => {
          await o.store.applyOrders(f.version, body, o.now());
          this.log.info({ version: f.version, orders: body.orders.length, mode: body.mode }, 'orders applied');
        },
      },
      metrics: o.metrics,
      log: this.log,
      now: o.now,
      ...(o.limits ? { limits: o.limits } : {}),
      ...(o.onHandled ? { onHandled: o.onHandled } : {}),
      ...(o.onRejected ? { onRejected: o.onRejected } : {}),
      ...(o.onStoreFailed ? { onStoreFailed: o.onStoreFailed } : {}),
    });
  }

  /** Orders feeds applied since start. */
  get applied(): number {
    return this.sub.appliedCount;
  }

  /** Orders feeds that could not be stored (left unacknowledged for re-delivery). */
  get storeFailures(): number {
    return this.sub.storeFailureCount;
  }

  /** The latest rejections, oldest first. */
  get rejected(): FeedAlert[] {
    return this.sub.alerts;
  }

  async start(): Promise<void> {
    this.verify = createFeedVerifier({ storeId: this.o.storeId, keys: Object.fromEntries(this.o.hq.publicKeys.map((k) => [k.kid, k.pem])), bodySchemas: { orders: OrdersBody } });
    await this.sub.start();
  }

  async stop(): Promise<void> {
    await this.sub.stop();
  }
}
