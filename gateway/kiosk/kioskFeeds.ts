/**
 * HQ's signed feeds the kiosks take besides prices and loyalty: `orders` (click & collect),
 * `serials` (serialised items HQ flags) and `coupons`. They start only with an HQ link and HQ's
 * public keys: a feed that cannot be verified is never accepted, so without a key they stay off.
 * Each is a handler of the one HQ feed subscriber (hq/feedSubscriber.ts) and follows its path.
 */
import type { Config } from '../config.js';
import type { Logger } from '../log.js';
import type { HqConnection } from '../hq/hqConnection.js';
import type { FeedAlert, FeedStoreFailure } from '../hq/feedSubscriber.js';
import type { Metrics } from '../metrics.js';
import { OrderFeed } from './orderFeed.js'; // click & collect
import type { Serials } from './serials.js';
import type { CouponBook } from './coupons/couponBook.js';
import type { KioskStore } from './store.js';

/** The HQ link for the kiosk feeds (null without `hq`), the feed counters and where rejections and storage failures are recorded. */
export interface KioskHqFeeds {
  connection: HqConnection | null;
  metrics: Metrics;
  onRejected?: (a: FeedAlert) => void;
  onStoreFailed?: (f: FeedStoreFailure) => void;
}

export interface KioskFeedsOptions {
  config: Readonly<Config>;
  hqFeeds: KioskHqFeeds | undefined;
  store: KioskStore;
  serials: Pick<Serials, 'startFeed'>;
  coupons: Pick<CouponBook, 'startFeed'>;
  /** The root logger (each feed takes its own child) and the kiosk's own, for the warning below. */
  rootLog: Logger;
  log: Logger;
  now: () => number;
  /** A feed was applied: the kiosk pages and the ops view are told. */
  onHandled: (feed: 'orders' | 'serials' | 'coupons') => void;
  /** Holds the orders feed as soon as it exists, so that a start that fails is still stopped. */
  adoptOrderFeed: (f: OrderFeed) => void;
  /** After a coupons feed: a coupon HQ revoked leaves the carts that hold it. */
  couponsRevoked: () => Promise<void>;
}

/** Starts the orders, serials and coupons feeds when HQ is configured with keys to verify them. */
export async function startKioskFeeds(o: KioskFeedsOptions): Promise<void> {
  if (o.config.hq && o.config.hq.publicKeys.length === 0) {
    // Orders must be signed by HQ; without a key to check them, none is accepted.
    o.log.warn('click & collect is off: hq.publicKeys is empty, so no orders feed can be verified');
  } else if (o.config.hq && o.hqFeeds?.connection) {
    const { connection, metrics, onRejected, onStoreFailed } = o.hqFeeds;
    const c = o.config;
    const orderFeed = new OrderFeed({ storeId: c.storeId, hq: o.config.hq, connection, clientId: `storegw-${c.storeId}-orders`, store: o.store, metrics, log: o.rootLog, now: o.now, onHandled: () => o.onHandled('orders'), ...(onRejected ? { onRejected } : {}), ...(onStoreFailed ? { onStoreFailed } : {}), limits: c.prices });
    o.adoptOrderFeed(orderFeed);
    await orderFeed.start();
    await o.serials.startFeed({ storeId: c.storeId, hq: o.config.hq, connection, metrics, onHandled: () => o.onHandled('serials'), ...(onRejected ? { onRejected } : {}), ...(onStoreFailed ? { onStoreFailed } : {}), limits: c.prices });
    await o.coupons.startFeed({ storeId: c.storeId, hq: o.config.hq, connection, clientId: `storegw-${c.storeId}-coupons`, metrics, onHandled: () => o.onHandled('coupons'), ...(onRejected ? { onRejected } : {}), ...(onStoreFailed ? { onStoreFailed } : {}), limits: c.prices }, o.couponsRevoked);
  }
}
