/**
 * HQ's expected deliveries: the signed `deliveries` feed (hq/v1/store/{storeId}/deliveries) as a
 * handler of the one HQ feed subscriber (hq/feedSubscriber.ts), the same path as the orders and
 * price feeds: size cap, signature and body check, a delta must name its `baseVersion`
 * (hq/feedPolicy.ts), the PUBACK only once the deliveries are committed to stock.db or the feed
 * was refused for good, every refusal counted and written as a FEED_REJECTED record. Once applied,
 * deliveries are confirmed from stock.db: the back door works while the WAN is down.
 */
import type { Config } from '../config.js';
import type { Logger } from '../log.js';
import type { Metrics } from '../metrics.js';
import { createFeedVerifier, type FeedVerifier } from '../protocol/feedVerify.js';
import type { HqConnection } from '../hq/hqConnection.js';
import { FeedSubscriber, type FeedAlert, type FeedStoreFailure } from '../hq/feedSubscriber.js';
import { deltaBaseError } from '../hq/feedPolicy.js';
import { DeliveriesBody, type DeliveriesBodyT } from './deliveries.js';
import type { StockStore } from './store.js';

export interface DeliveryFeedOptions {
  storeId: string;
  hq: NonNullable<Config['hq']>;
  connection: HqConnection;
  store: StockStore;
  metrics: Metrics;
  log: Logger;
  now: () => number;
  onHandled?: () => void;
  onRejected?: (a: FeedAlert) => void;
  onStoreFailed?: (f: FeedStoreFailure) => void;
  limits?: Config['prices'];
}

export class DeliveryFeed {
  private verify!: FeedVerifier;
  private readonly sub: FeedSubscriber<DeliveriesBodyT>;

  constructor(private readonly o: DeliveryFeedOptions) {
    const log = o.log.child({ module: 'deliveries' });
    this.sub = new FeedSubscriber<DeliveriesBodyT>({
      storeId: o.storeId,
      connection: o.connection,
      clientId: `storegw-${o.storeId}-deliveries`,
      what: 'deliveries feed',
      handler: {
        feeds: ['deliveries'],
        scopes: ['store'],
        versions: async () => {
          const version = await o.store.deliveriesVersion();
          return version === undefined ? [] : [{ feed: 'deliveries', scope: 'store', version }];
        },
        check: async (payload, ctx) => {
          const v = this.verify(payload, ctx);
          if (!v.ok) return v;
          const gap = deltaBaseError(v.body, v.version, ctx.lastVersion, v.kid);
          if (gap) return gap;
          return { ok: true, kid: v.kid, version: v.version, issuedAt: v.issuedAt, prepared: v.body as unknown as DeliveriesBodyT };
        },
        apply: async (f, body) => {
          await o.store.applyDeliveries(f.version, body, o.now());
          log.info({ version: f.version, deliveries: body.deliveries.length, mode: body.mode }, 'deliveries applied');
        },
      },
      metrics: o.metrics,
      log,
      now: o.now,
      ...(o.limits ? { limits: o.limits } : {}),
      ...(o.onHandled ? { onHandled: o.onHandled } : {}),
      ...(o.onRejected ? { onRejected: o.onRejected } : {}),
      ...(o.onStoreFailed ? { onStoreFailed: o.onStoreFailed } : {}),
    });
  }

  get applied(): number {
    return this.sub.appliedCount;
  }

  get rejected(): FeedAlert[] {
    return this.sub.alerts;
  }

  async start(): Promise<void> {
    this.verify = createFeedVerifier({ storeId: this.o.storeId, keys: Object.fromEntries(this.o.hq.publicKeys.map((k) => [k.kid, k.pem])), bodySchemas: { deliveries: DeliveriesBody } });
    await this.sub.start();
  }

  async stop(): Promise<void> {
    await this.sub.stop();
  }
}
