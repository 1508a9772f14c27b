/**
 * HQ's signed `coupons` feed (hq/v1/store/{storeId}/coupons and hq/v1/all/coupons) as a handler of
 * the one HQ feed subscriber (hq/feedSubscriber.ts): the same size cap, signature, version and
 * body checks as every feed, a delta must name its `baseVersion` (hq/feedPolicy.ts), the PUBACK
 * only once the feed is committed to kiosk.db or refused for good, and every refusal counted
 * (`storegw_feed_rejects_total{feed="coupons"}`) and written as a FEED_REJECTED record. What the
 * schema cannot say (exactly one discount per coupon, …) is refused by name as a bad body.
 */
import { couponDefError, CouponsBody, type CouponsBodyT } from '../../protocol/schemas/feeds/coupons.js';
import type { CouponStore } from './couponStore.js';
import { SignedFeed, type SignedFeedOptions } from '../../hq/signedFeed.js';
import type { FeedMeta } from '../../hq/feedSubscriber.js';

export interface CouponFeedOptions extends SignedFeedOptions {
  store: CouponStore;
  /** After a feed was committed (the book reloads). */
  onApplied: (f: FeedMeta) => Promise<void>;
}

export class CouponFeed extends SignedFeed<CouponsBodyT> {
  constructor(o: CouponFeedOptions) {
    const log = o.log.child({ module: 'coupons' });
    super(o, {
      feed: 'coupons',
      body: CouponsBody,
      scopes: ['store', 'all'],
      log,
      versions: () => o.store.versions(),
      // What the schema cannot say (both or neither discount, tiers without member-only, dates reversed).
      bodyError: (body) => {
        for (const d of body.coupons) {
          const err = couponDefError(d);
          if (err) return err;
        }
        return null;
      },
      apply: async (f, body) => {
        await o.store.applyFeed(f.scope, f.version, body, o.now());
        log.info({ scope: f.scope, version: f.version, coupons: body.coupons.length, revoked: body.revoked.length, mode: body.mode }, 'coupons applied');
      },
      onApplied: o.onApplied,
    });
  }
}
