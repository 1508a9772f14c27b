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
import { OrdersBody, type OrdersBodyT } from './orders.js';
import type { KioskStore } from './store.js';
import { SignedFeed, type SignedFeedOptions } from '../hq/signedFeed.js';

export interface OrderFeedOptions extends SignedFeedOptions {
  store: KioskStore;
}

export class OrderFeed extends SignedFeed<OrdersBodyT> {
  constructor(o: OrderFeedOptions) {
    const log = o.log.child({ module: 'orders' });
    super(o, {
      feed: 'orders',
      body: OrdersBody,
      scopes: ['store'],
      log,
      versions: async () => {
        const version = await o.store.ordersVersion();
        return version === undefined ? [] : [{ scope: 'store', version }];
      },
      apply: async (f, body) => {
        await o.store.applyOrders(f.version, body, o.now());
        log.info({ version: f.version, orders: body.orders.length, mode: body.mode }, 'orders applied');
      },
    });
  }
}
