/**
 * HQ's expected deliveries: the signed `deliveries` feed (hq/v1/store/{storeId}/deliveries) as a
 * handler of the one HQ feed subscriber (hq/feedSubscriber.ts), the same path as the orders and
 * price feeds: size cap, signature and body check, a delta must name its `baseVersion`
 * (hq/feedPolicy.ts), the PUBACK only once the deliveries are committed to stock.db or the feed
 * was refused for good, every refusal counted and written as a FEED_REJECTED record. Once applied,
 * deliveries are confirmed from stock.db: the back door works while the WAN is down.
 */
import { DeliveriesBody, type DeliveriesBodyT } from './deliveries.js';
import type { StockStore } from './store.js';
import { SignedFeed, type SignedFeedOptions } from '../hq/signedFeed.js';

export interface DeliveryFeedOptions extends Omit<SignedFeedOptions, 'clientId'> {
  store: StockStore;
}

export class DeliveryFeed extends SignedFeed<DeliveriesBodyT> {
  constructor(o: DeliveryFeedOptions) {
    const log = o.log.child({ module: 'deliveries' });
    super({ ...o, clientId: `storegw-${o.storeId}-deliveries` }, {
      feed: 'deliveries',
      body: DeliveriesBody,
      scopes: ['store'],
      log,
      versions: async () => {
        const version = await o.store.deliveriesVersion();
        return version === undefined ? [] : [{ scope: 'store', version }];
      },
      apply: async (f, body) => {
        await o.store.applyDeliveries(f.version, body, o.now());
        log.info({ version: f.version, deliveries: body.deliveries.length, mode: body.mode }, 'deliveries applied');
      },
    });
  }
}
