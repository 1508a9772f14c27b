/**
 * The signed `loyalty` feed (hq/v1/store/{storeId}/loyalty and hq/v1/all/loyalty) as a handler of
 * the one HQ feed subscriber (hq/feedSubscriber.ts): size cap, signature and body check, a delta
 * must name its `baseVersion` (hq/feedPolicy.ts), the PUBACK only once the feed is committed to
 * kiosk.db or refused for good, every refusal counted (`storegw_feed_rejects_total{feed="loyalty"}`)
 * and written as a FEED_REJECTED record. Its own connection and session at HQ: a held re-delivery
 * of orders never holds up balances, nor the other way round.
 */
import { LoyaltyBody, type LoyaltyBodyT } from './pointsRules.js';
import type { PointsStore } from './pointsStore.js';
import { SignedFeed, type SignedFeedOptions } from '../hq/signedFeed.js';

export interface LoyaltyFeedOptions extends SignedFeedOptions {
  store: PointsStore;
  /** After a feed was committed: the caller reloads rules and balances. */
  onApplied: () => Promise<void>;
}

export class LoyaltyFeed extends SignedFeed<LoyaltyBodyT> {
  constructor(o: LoyaltyFeedOptions) {
    const log = o.log.child({ module: 'loyalty' });
    super(o, {
      feed: 'loyalty',
      body: LoyaltyBody,
      scopes: ['store', 'all'],
      log,
      versions: async () => (await o.store.versions()).map((v) => ({ scope: v.scope, version: v.version })),
      apply: async (f, body) => {
        await o.store.apply(f.scope, f.version, body, o.now());
        log.info({ scope: f.scope, version: f.version, balances: body.balances.length, mode: body.mode }, 'loyalty applied');
      },
      onApplied: () => o.onApplied(),
    });
  }
}
