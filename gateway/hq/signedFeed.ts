/**
 * One signed HQ feed beside the price feeds (orders, serials, coupons, loyalty, deliveries): the
 * same path for each through the one feed subscriber (feedSubscriber.ts): the signature and the
 * body's schema checked with HQ's keys, a delta that must name the version it applies to
 * (feedPolicy.ts, deltaBaseError), an optional rule the schema cannot express, then the feed's own
 * store in one transaction; every refusal counted and handed to the composition root. Each feed
 * module says only what is its own: its name, body schema, scopes, store and log line.
 */
import type { TSchema } from '@sinclair/typebox';
import type { Config } from '../config.js';
import type { Logger } from '../log.js';
import type { Metrics } from '../metrics.js';
import { createFeedVerifier, type FeedVerifier } from '../protocol/feedVerify.js';
import type { HqConnection } from './hqConnection.js';
import { FeedSubscriber, type FeedAlert, type FeedLimits, type FeedMeta, type FeedStoreFailure } from './feedSubscriber.js';
import { deltaBaseError } from './feedPolicy.js';

/** What every signed feed takes from the composition root. */
export interface SignedFeedOptions {
  storeId: string;
  hq: NonNullable<Config['hq']>;
  /** Started: the HQ endpoint and credentials. */
  connection: HqConnection;
  /** The feed's own persistent session at HQ: one feed held back never holds another. */
  clientId: string;
  metrics: Metrics;
  log: Logger;
  now: () => number;
  /** After each applied or rejected feed (tests and the services wait on it). */
  onHandled?: () => void;
  /** Every rejection (the composition root writes the FEED_REJECTED record). */
  onRejected?: (a: FeedAlert) => void;
  /** Every storage failure (the composition root writes the FEED_STORE_FAILED record). */
  onStoreFailed?: (f: FeedStoreFailure) => void;
  /** Size cap and re-delivery back-off (config `prices`); defaults as there. */
  limits?: FeedLimits;
}

/** What is a feed's own. */
export interface SignedFeedSpec<P> {
  feed: string;
  body: TSchema;
  scopes: ('store' | 'all')[];
  log: Logger;
  /** The applied versions per scope, from the feed's store (read at start). */
  versions: () => Promise<{ scope: 'store' | 'all'; version: number }[]>;
  /** A rule the schema cannot express; the error names the field below the body (`coupons[2].percentBp: …`). */
  bodyError?: (body: P) => string | null;
  /** Stores the feed in one transaction; throws on a storage error. */
  apply: (f: FeedMeta, body: P) => Promise<void>;
  /** After a feed was committed (the caller reloads what it derives from it). */
  onApplied?: (f: FeedMeta) => Promise<void>;
}

export class SignedFeed<P> {
  private verify: FeedVerifier | null = null;
  private readonly sub: FeedSubscriber<P>;

  constructor(
    private readonly o: SignedFeedOptions,
    private readonly spec: SignedFeedSpec<P>,
  ) {
    this.sub = new FeedSubscriber<P>({
      storeId: o.storeId,
      connection: o.connection,
      clientId: o.clientId,
      what: `${spec.feed} feed`,
      handler: {
        feeds: [spec.feed],
        scopes: spec.scopes,
        versions: async () => (await spec.versions()).map((v) => ({ feed: spec.feed, ...v })),
        check: async (payload, ctx) => {
          const v = this.verify!(payload, ctx);
          if (!v.ok) return v;
          const gap = deltaBaseError(v.body, v.version, ctx.lastVersion, v.kid);
          if (gap) return gap;
          const body = v.body as unknown as P;
          const err = spec.bodyError?.(body);
          if (err) return { ok: false, code: 'SGW_ERR_FEED_BAD_BODY', reason: `signed.body.${err}`, kid: v.kid };
          return { ok: true, kid: v.kid, version: v.version, issuedAt: v.issuedAt, prepared: body };
        },
        apply: spec.apply,
      },
      metrics: o.metrics,
      log: spec.log,
      now: o.now,
      ...(spec.onApplied ? { onApplied: spec.onApplied } : {}),
      ...(o.limits ? { limits: o.limits } : {}),
      ...(o.onHandled ? { onHandled: o.onHandled } : {}),
      ...(o.onRejected ? { onRejected: o.onRejected } : {}),
      ...(o.onStoreFailed ? { onStoreFailed: o.onStoreFailed } : {}),
    });
  }

  /** Feeds applied since start. */
  get applied(): number {
    return this.sub.appliedCount;
  }

  /** Feeds that could not be stored (left unacknowledged for re-delivery). */
  get storeFailures(): number {
    return this.sub.storeFailureCount;
  }

  /** The latest rejections, oldest first. */
  get rejected(): FeedAlert[] {
    return this.sub.alerts;
  }

  async start(): Promise<void> {
    this.verify = createFeedVerifier({ storeId: this.o.storeId, keys: Object.fromEntries(this.o.hq.publicKeys.map((k) => [k.kid, k.pem])), bodySchemas: { [this.spec.feed]: this.spec.body } });
    await this.sub.start();
  }

  async stop(): Promise<void> {
    await this.sub.stop();
  }
}
