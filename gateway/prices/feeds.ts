/**
 * The price feeds (catalog, prices, members, labels) as a handler of the one HQ feed subscriber
 * (hq/feedSubscriber.ts, which owns the connection, the acknowledgements and the reject path):
 * checking a feed (parse, signature, schema, and turning its body into table writes) runs in a
 * worker thread through `FeedChecker` (feedCheck.ts says why: a 60k-row feed kept device PUBACKs
 * waiting ~200 ms on the main thread), and applying it is `PriceStore.applyPrepared`.
 */
import type { Logger } from '../log.js';
import type { Metrics } from '../metrics.js';
import type { Config } from '../config.js';
import type { HqConnection } from '../hq/hqConnection.js';
import { DEFAULT_FEED_LIMITS, FeedSubscriber, type FeedAlert, type FeedLimits, type FeedStoreFailure } from '../hq/feedSubscriber.js';
import { PRICE_FEEDS } from '../protocol/schemas/feeds/priceFeeds.js';
import { FeedChecker } from './feedCheck.js';
import type { FeedApplyMeta, PriceStore } from './store.js';
import type { PreparedFeed } from './feedRows.js';
import { legacyFeedFilters } from '../hq/feedPolicy.js';

export type { FeedAlert, FeedLimits, FeedStoreFailure };

export interface FeedIntakeOptions {
  storeId: string;
  hq: NonNullable<Config['hq']>;
  /** Started: the HQ endpoint and credentials. */
  connection: HqConnection;
  clientId: string;
  store: PriceStore;
  metrics: Metrics;
  log: Logger;
  now: () => number;
  /** Called after a feed was committed (the caller reloads the catalog and re-evaluates labels). */
  onApplied: (f: FeedApplyMeta) => Promise<void>;
  /** Called for every rejection (after it was counted and logged). */
  onRejected?: (a: FeedAlert) => void;
  /** Called when the HQ connection comes up or goes down. */
  onConnection?: (up: boolean) => void;
  maxAlerts?: number;
  /** The built feed worker (feedCheck.ts); null checks feeds on the main thread. Default: next to the bundle. */
  feedWorker?: URL | null;
  /** Size cap, worker limits, re-delivery back-off; defaults as in the config schema. */
  limits?: FeedLimits;
  /** Called when a checked feed could not be stored (after it was counted and logged). */
  onStoreFailed?: (f: FeedStoreFailure) => void;
}

export class FeedIntake {
  private checker: FeedChecker | null = null;
  private readonly sub: FeedSubscriber<PreparedFeed>;
  private readonly limits: FeedLimits;
  private readonly log: Logger;

  constructor(private readonly o: FeedIntakeOptions) {
    this.log = o.log.child({ module: 'feeds' });
    this.limits = o.limits ?? DEFAULT_FEED_LIMITS;
    this.sub = new FeedSubscriber<PreparedFeed>({
      storeId: o.storeId,
      connection: o.connection,
      clientId: o.clientId,
      what: 'feed',
      legacyFilters: legacyFeedFilters(o.storeId),
      handler: {
        feeds: PRICE_FEEDS,
        scopes: ['store', 'all'],
        versions: () => o.store.versions(),
        check: (payload, ctx) => this.checker!.check(payload, ctx),
        apply: (f, prepared) => o.store.applyPrepared(f as FeedApplyMeta, prepared),
      },
      metrics: o.metrics,
      log: this.log,
      now: o.now,
      limits: this.limits,
      ...(o.maxAlerts !== undefined ? { maxAlerts: o.maxAlerts } : {}),
      onApplied: (f) => o.onApplied(f as FeedApplyMeta),
      ...(o.onRejected ? { onRejected: o.onRejected } : {}),
      ...(o.onStoreFailed ? { onStoreFailed: o.onStoreFailed } : {}),
      ...(o.onConnection ? { onConnection: o.onConnection } : {}),
    });
  }

  get connected(): boolean {
    return this.sub.connected;
  }

  /** Applied version per `feed/scope`. */
  appliedVersions(): Record<string, number> {
    return this.sub.appliedVersions();
  }

  /** The latest rejections (GET /api/prices/sync). */
  get alerts(): FeedAlert[] {
    return this.sub.alerts;
  }

  get appliedCount(): number {
    return this.sub.appliedCount;
  }

  get rejectedCount(): number {
    return this.sub.rejectedCount;
  }

  async start(): Promise<void> {
    this.checker = new FeedChecker({
      storeId: this.o.storeId,
      keys: Object.fromEntries(this.o.hq.publicKeys.map((k) => [k.kid, k.pem])),
      log: this.log,
      ...(this.o.feedWorker !== undefined ? { workerUrl: this.o.feedWorker } : {}),
      ...(this.limits.feedWorker ? { resourceLimits: this.limits.feedWorker } : {}),
    });
    await this.checker.start();
    await this.sub.start();
  }

  async stop(): Promise<void> {
    await this.sub.stop();
    await this.checker?.stop();
  }

  /** How feeds are checked: in a worker thread, or inline when the built worker is not there. */
  get checkMode(): 'worker' | 'inline' | null {
    return this.checker?.mode ?? null;
  }

  /** Publishes to HQ (reports); false when the WAN is down (a report is only worth its latest value). */
  publish(topic: string, payload: string): boolean {
    return this.sub.publish(topic, payload);
  }
}
