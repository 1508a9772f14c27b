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
import type { SerialStore } from './serialStore.js';
import { SignedFeed, type SignedFeedOptions } from '../hq/signedFeed.js';

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

export interface SerialFeedOptions extends SignedFeedOptions {
  store: SerialStore;
  /** After a feed is committed: the book reloads the flags. */
  onApplied: () => Promise<void>;
}

export class SerialFeed extends SignedFeed<SerialsBodyT> {
  constructor(o: SerialFeedOptions) {
    const log = o.log.child({ module: 'serials' });
    super(o, {
      feed: 'serials',
      body: SerialsBody,
      scopes: ['store'],
      log,
      versions: async () => {
        const version = await o.store.feedVersion();
        return version === undefined ? [] : [{ scope: 'store', version }];
      },
      apply: async (f, body) => {
        await o.store.applyFeed(f.version, body, o.now());
        log.info({ version: f.version, serials: body.serials.length, removed: body.remove?.length ?? 0, mode: body.mode }, 'serials applied');
      },
      onApplied: () => o.onApplied(),
    });
  }
}
