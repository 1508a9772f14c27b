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
import type { SerialStore } from './serialStore.js';
import { SignedFeed, type SignedFeedOptions } from '../hq/signedFeed.js';

// The body schema is part of the wire contract, shared with HQ's signing tool: gateway/protocol/schemas/feeds/.
export { SerialsBody, type SerialsBodyT } from '../protocol/schemas/feeds/serials.js';
import { SerialsBody, type SerialsBodyT } from '../protocol/schemas/feeds/serials.js';

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
