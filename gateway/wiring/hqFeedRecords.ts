/**
 * How every HQ feed (prices, orders, serials, coupons, deliveries) is recorded when it goes wrong:
 * a rejected feed is an exact alert record, so it reaches HQ in order and lands in the ops alert
 * book; a feed that could not be stored stays unacknowledged, and its streak is recorded on
 * attempts 1, 2, 4, … (hq/feedPolicy.ts).
 */
import type { Logger } from '../log.js';
import type { FeedAlert, FeedStoreFailure } from '../hq/feedSubscriber.js';
import { recordStoreFailure } from '../hq/feedPolicy.js'; // HQ feeds: storage failure alerts
import type { SelfRecords } from '../uplink/selfRecords.js';

export interface HqFeedRecords {
  rejected: (a: FeedAlert) => void;
  storeFailed: (f: FeedStoreFailure) => void;
}

/** The feed subscribers' `onRejected` / `onStoreFailed`, writing through the uplink's self records. */
export function hqFeedRecords(selfRecords: SelfRecords, log: Logger): HqFeedRecords {
  return {
    rejected: (a: FeedAlert) =>
      void selfRecords
        .record('FEED_REJECTED', 'warning', `${a.feed} feed rejected: ${a.reason}`, { feedRejected: { topic: a.topic, feed: a.feed, scope: a.scope, code: a.code, kid: a.kid ?? null } })
        .catch((err: Error) => log.error({ err }, 'could not record a feed rejection')),
    storeFailed: (f: FeedStoreFailure) =>
      void (recordStoreFailure(f.attempt)
        ? selfRecords
            .record('FEED_STORE_FAILED', 'critical', `${f.feed} feed version ${f.version} could not be stored (${f.error}); not acknowledged, HQ re-delivers it in ${f.retryInMs} ms`, {
              feedStoreFailed: { topic: f.topic, feed: f.feed, scope: f.scope, version: f.version, error: f.error.slice(0, 256), attempt: f.attempt },
            })
            .catch((err: Error) => log.error({ err }, 'could not record a feed storage failure'))
        : undefined),
  };
}
