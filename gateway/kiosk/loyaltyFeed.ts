/**
 * The signed `loyalty` feed (hq/v1/store/{storeId}/loyalty and hq/v1/all/loyalty) as a handler of
 * the one HQ feed subscriber (hq/feedSubscriber.ts): size cap, signature and body check, a delta
 * must name its `baseVersion` (hq/feedPolicy.ts), the PUBACK only once the feed is committed to
 * kiosk.db or refused for good, every refusal counted (`storegw_feed_rejects_total{feed="loyalty"}`)
 * and written as a FEED_REJECTED record. Its own connection and session at HQ: a held re-delivery
 * of orders never holds up balances, nor the other way round.
 */
import type { Config } from '../config.js';
import type { Logger } from '../log.js';
import type { Metrics } from '../metrics.js';
import { createFeedVerifier, type FeedVerifier } from '../protocol/feedVerify.js';
import type { HqConnection } from '../hq/hqConnection.js';
import { FeedSubscriber, type FeedAlert, type FeedLimits, type FeedStoreFailure } from '../hq/feedSubscriber.js';
import { deltaBaseError } from '../hq/feedPolicy.js';
import { LoyaltyBody, type LoyaltyBodyT } from './pointsRules.js';
import type { PointsStore } from './pointsStore.js';

export interface LoyaltyFeedOptions {
  storeId: string;
  hq: NonNullable<Config['hq']>;
  connection: HqConnection;
  clientId: string;
  store: PointsStore;
  metrics: Metrics;
  log: Logger;
  now: () => number;
  /** After a feed was committed: the caller reloads rules and balances. */
  onApplied: () => Promise<void>;
  onHandled?: () => void;
  onRejected?: (a: FeedAlert) => void;
  onStoreFailed?: (f: FeedStoreFailure) => void;
  limits?: FeedLimits;
}

export class LoyaltyFeed {
  private verify!: FeedVerifier;
  private readonly sub: FeedSubscriber<LoyaltyBodyT>;

  constructor(private readonly o: LoyaltyFeedOptions) {
    const log = o.log.child({ module: 'loyalty' });
    this.sub = new FeedSubscriber<LoyaltyBodyT>({
      storeId: o.storeId,
      connection: o.connection,
      clientId: o.clientId,
      what: 'loyalty feed',
      handler: {
        feeds: ['loyalty'],
        scopes: ['store', 'all'],
        versions: async () => (await o.store.versions()).map((v) => ({ feed: 'loyalty', scope: v.scope, version: v.version })),
        check: async (payload, ctx) => {
          const v = this.verify(payload, ctx);
          if (!v.ok) return v;
          const gap = deltaBaseError(v.body, v.version, ctx.lastVersion, v.kid);
          if (gap) return gap;
          return { ok: true, kid: v.kid, version: v.version, issuedAt: v.issuedAt, prepared: v.body as unknown as LoyaltyBodyT };
        },
        apply: async (f, body) => {
          await o.store.apply(f.scope, f.version, body, o.now());
          log.info({ scope: f.scope, version: f.version, balances: body.balances.length, mode: body.mode }, 'loyalty applied');
        },
      },
      metrics: o.metrics,
      log,
      now: o.now,
      onApplied: () => o.onApplied(),
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
    this.verify = createFeedVerifier({ storeId: this.o.storeId, keys: Object.fromEntries(this.o.hq.publicKeys.map((k) => [k.kid, k.pem])), bodySchemas: { loyalty: LoyaltyBody } });
    await this.sub.start();
  }

  async stop(): Promise<void> {
    await this.sub.stop();
  }
}
