/**
 * HQ's signed `coupons` feed (hq/v1/store/{storeId}/coupons and hq/v1/all/coupons) as a handler of
 * the one HQ feed subscriber (hq/feedSubscriber.ts): the same size cap, signature, version and
 * body checks as every feed, a delta must name its `baseVersion` (hq/feedPolicy.ts), the PUBACK
 * only once the feed is committed to kiosk.db or refused for good, and every refusal counted
 * (`storegw_feed_rejects_total{feed="coupons"}`) and written as a FEED_REJECTED record. What the
 * schema cannot say (exactly one discount per coupon, …) is refused by name as a bad body.
 */
import type { Config } from '../../config.js';
import type { Logger } from '../../log.js';
import type { Metrics } from '../../metrics.js';
import { createFeedVerifier, type FeedVerifier } from '../../protocol/feedVerify.js';
import type { HqConnection } from '../../hq/hqConnection.js';
import { FeedSubscriber, type FeedAlert, type FeedLimits, type FeedMeta, type FeedStoreFailure } from '../../hq/feedSubscriber.js';
import { deltaBaseError } from '../../hq/feedPolicy.js';
import { couponDefError, CouponsBody, type CouponsBodyT } from './couponFeedSchema.js';
import type { CouponStore } from './couponStore.js';

export interface CouponFeedOptions {
  storeId: string;
  hq: NonNullable<Config['hq']>;
  connection: HqConnection;
  clientId: string;
  store: CouponStore;
  metrics: Metrics;
  log: Logger;
  now: () => number;
  /** After a feed was committed (the book reloads). */
  onApplied: (f: FeedMeta) => Promise<void>;
  onHandled?: () => void;
  onRejected?: (a: FeedAlert) => void;
  onStoreFailed?: (f: FeedStoreFailure) => void;
  limits?: FeedLimits;
}

export class CouponFeed {
  private verify!: FeedVerifier;
  private readonly sub: FeedSubscriber<CouponsBodyT>;

  constructor(private readonly o: CouponFeedOptions) {
    const log = o.log.child({ module: 'coupons' });
    this.sub = new FeedSubscriber<CouponsBodyT>({
      storeId: o.storeId,
      connection: o.connection,
      clientId: o.clientId,
      what: 'coupons feed',
      handler: {
        feeds: ['coupons'],
        scopes: ['store', 'all'],
        versions: async () => (await o.store.versions()).map((v) => ({ feed: 'coupons', ...v })),
        check: async (payload, ctx) => {
          const v = this.verify(payload, ctx);
          if (!v.ok) return v;
          const gap = deltaBaseError(v.body, v.version, ctx.lastVersion, v.kid);
          if (gap) return gap;
          const body = v.body as unknown as CouponsBodyT;
          for (const d of body.coupons) {
            const err = couponDefError(d);
            if (err) return { ok: false, code: 'SGW_ERR_FEED_BAD_BODY', reason: `signed.body.${err}`, kid: v.kid };
          }
          return { ok: true, kid: v.kid, version: v.version, issuedAt: v.issuedAt, prepared: body };
        },
        apply: async (f, body) => {
          await o.store.applyFeed(f.scope, f.version, body, o.now());
          log.info({ scope: f.scope, version: f.version, coupons: body.coupons.length, revoked: body.revoked.length, mode: body.mode }, 'coupons applied');
        },
      },
      metrics: o.metrics,
      log,
      now: o.now,
      onApplied: o.onApplied,
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
    this.verify = createFeedVerifier({ storeId: this.o.storeId, keys: Object.fromEntries(this.o.hq.publicKeys.map((k) => [k.kid, k.pem])), bodySchemas: { coupons: CouponsBody } });
    await this.sub.start();
  }

  async stop(): Promise<void> {
    await this.sub.stop();
  }
}
