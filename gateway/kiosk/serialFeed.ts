/**
 * HQ's signed `serials` feed: serials sold at another store (`soldElsewhere`) or blocked
 * (`stolen`, `recalled`), per GTIN-14 and serial. It takes the one feed path of every HQ feed
 * (hq/feedSubscriber.ts): size cap, signature, scope and version, body schema, a delta must name
 * its `baseVersion` (hq/feedPolicy.ts), PUBACK only once committed to kiosk.db or refused for good,
 * every refusal counted and written as a FEED_REJECTED record. After each applied feed the
 * in-memory book is reloaded from kiosk.db, so kiosks and exit gates see it at once.
 *
 * Its own connection (client id `storegw-{store}-serials`), not the orders feed's: a serials
 * snapshot can be large, and its re-delivery after a storage failure must not hold up pickups.
 */
import { Type, type Static } from '@sinclair/typebox';
import type { Config } from '../config.js';
import type { Logger } from '../log.js';
import type { Metrics } from '../metrics.js';
import { createFeedVerifier, type FeedVerifier } from '../protocol/feedVerify.js';
import type { HqConnection } from '../hq/hqConnection.js';
import { FeedSubscriber, type FeedAlert, type FeedLimits, type FeedStoreFailure } from '../hq/feedSubscriber.js';
import { deltaBaseError } from '../hq/feedPolicy.js';
import type { SerialStore } from './serialStore.js';

const Gtin = Type.String({ pattern: '^[0-9]{8,14}$' });
/** AI 21 allows up to 20 characters; an SGTIN-96 serial is a number up to 2^38 − 1. */
const Serial = Type.String({ minLength: 1, maxLength: 20 });

export const SerialsBody = Type.Object(
  {
    mode: Type.Union([Type.Literal('snapshot'), Type.Literal('delta')]),
    baseVersion: Type.Optional(Type.Integer({ minimum: 0, maximum: Number.MAX_SAFE_INTEGER })),
    serials: Type.Array(Type.Object({ gtin: Gtin, serial: Serial, state: Type.Union([Type.Literal('soldElsewhere'), Type.Literal('stolen'), Type.Literal('recalled')]) }, { additionalProperties: false }), { maxItems: 1_000_000 }),
    remove: Type.Optional(Type.Array(Type.Object({ gtin: Gtin, serial: Serial }, { additionalProperties: false }), { maxItems: 1_000_000 })),
  },
  { additionalProperties: false },
);
export type SerialsBodyT = Static<typeof SerialsBody>;

export interface SerialFeedOptions {
  storeId: string;
  hq: NonNullable<Config['hq']>;
  connection: HqConnection;
  clientId: string;
  store: SerialStore;
  /** After a feed is committed: the book reloads the flags. */
  onApplied: () => Promise<void>;
  metrics: Metrics;
  log: Logger;
  now: () => number;
  onHandled?: () => void;
  onRejected?: (a: FeedAlert) => void;
  onStoreFailed?: (f: FeedStoreFailure) => void;
  limits?: FeedLimits;
}

export class SerialFeed {
  private verify!: FeedVerifier;
  private readonly sub: FeedSubscriber<SerialsBodyT>;
  private readonly log: Logger;

  constructor(private readonly o: SerialFeedOptions) {
    this.log = o.log.child({ module: 'serials' });
    this.sub = new FeedSubscriber<SerialsBodyT>({
      storeId: o.storeId,
      connection: o.connection,
      clientId: o.clientId,
      what: 'serials feed',
      handler: {
        feeds: ['serials'],
        scopes: ['store'],
        versions: async () => {
          const version = await o.store.feedVersion();
          return version === undefined ? [] : [{ feed: 'serials', scope: 'store', version }];
        },
        check: async (payload, ctx) => {
          const v = this.verify(payload, ctx);
          if (!v.ok) return v;
          const gap = deltaBaseError(v.body, v.version, ctx.lastVersion, v.kid);
          if (gap) return gap;
          return { ok: true, kid: v.kid, version: v.version, issuedAt: v.issuedAt, prepared: v.body as unknown as SerialsBodyT };
        },
        apply: async (f, body) => {
          await o.store.applyFeed(f.version, body, o.now());
          this.log.info({ version: f.version, serials: body.serials.length, removed: body.remove?.length ?? 0, mode: body.mode }, 'serials applied');
        },
      },
      metrics: o.metrics,
      log: this.log,
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

  async start(): Promise<void> {
    this.verify = createFeedVerifier({ storeId: this.o.storeId, keys: Object.fromEntries(this.o.hq.publicKeys.map((k) => [k.kid, k.pem])), bodySchemas: { serials: SerialsBody } });
    await this.sub.start();
  }

  async stop(): Promise<void> {
    await this.sub.stop();
  }
}
