/**
 * How every HQ feed (prices, orders, serials, coupons, deliveries) is recorded when it goes wrong:
 * a rejected feed is an exact alert record, so it reaches HQ in order and lands in the ops alert
 * book; a feed that could not be stored stays unacknowledged, and its streak is recorded on
 * attempts 1, 2, 4, … (hq/feedPolicy.ts). Anyone who may publish on HQ's broker can send refused
 * feeds by the thousand: at most `perMinute` records per feed and refusal code and minute, the
 * next one counting those left out (the metric counts every refusal).
 */
import { LogLimiter, type Logger } from '../log.js';
import type { FeedAlert, FeedStoreFailure } from '../hq/feedSubscriber.js';
import { recordStoreFailure } from '../hq/feedPolicy.js'; // HQ feeds: storage failure alerts
import type { SelfRecords } from '../uplink/selfRecords.js';

export interface HqFeedRecords {
  rejected: (a: FeedAlert) => void;
  storeFailed: (f: FeedStoreFailure) => void;
}

/** The feed subscribers' `onRejected` / `onStoreFailed`, writing through the uplink's self records. */
export function hqFeedRecords(selfRecords: SelfRecords, log: Logger, now: () => number, perMinute: number): HqFeedRecords {
  const limit = new LogLimiter(now, perMinute, 60_000);
  return {
    rejected: (a: FeedAlert) => {
      const suppressed = limit.take(`${a.feed}:${a.code}`);
      if (suppressed < 0) return;
      void selfRecords
        .record('FEED_REJECTED', 'warning', `${a.feed} feed rejected: ${a.reason}`, { feedRejected: { topic: a.topic, feed: a.feed, scope: a.scope, code: a.code, kid: a.kid ?? null, ...(suppressed > 0 ? { suppressed } : {}) } })
        .catch((err: Error) => log.error({ err }, 'could not record a feed rejection'));
    },
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
