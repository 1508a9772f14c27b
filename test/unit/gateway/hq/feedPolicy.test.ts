import { describe, expect, it } from 'vitest';
import { deltaBaseError, feedSizeError, feedSubscriptions, isTransientStorageError, legacyFeedFilters, recordStoreFailure, retryDelay } from '../../../../gateway/hq/feedPolicy.js';
import { topics } from '../../../../gateway/protocol/topics.js';

/** MQTT topic filter matching [MQTT-4.7.1-2], [MQTT-4.7.1-3]: enough for these filters. */
function matches(filter: string, topic: string): boolean {
  const f = filter.split('/');
  const t = topic.split('/');
  for (let i = 0; i < f.length; i++) {
    if (f[i] === '#') return true;
    if (i >= t.length || (f[i] !== '+' && f[i] !== t[i])) return false;
  }
  return f.length === t.length;
}

describe('feedPolicy', () => {
  it("subscribes to the feeds by name: none of the gateway's own uploads match, every price feed does", () => {
    const subs = feedSubscriptions('s1', ['catalog', 'prices', 'members', 'labels']);
    const own = [topics.hqBatch('s1'), topics.hqStatus('s1'), topics.hqReport('s1', 'prices'), topics.hqReport('s1', 'feeds')];
    for (const t of own) expect(subs.some((f) => matches(f, t)), t).toBe(false);
    // …which the old wildcard did.
    expect(own.filter((t) => legacyFeedFilters('s1').some((f) => matches(f, t)))).toEqual([topics.hqBatch('s1'), topics.hqStatus('s1')]);
    for (const feed of ['catalog', 'prices', 'members', 'labels']) {
      expect(subs.some((f) => matches(f, topics.hqStoreFeed('s1', feed)))).toBe(true);
      expect(subs.some((f) => matches(f, topics.hqAllFeed(feed)))).toBe(true);
    }
    expect(subs.some((f) => matches(f, topics.hqStoreFeed('s2', 'prices')))).toBe(false);
    expect(subs.some((f) => matches(f, topics.hqStoreFeed('s1', 'orders')))).toBe(false);
  });

  it('refuses a payload over the cap, naming both sizes', () => {
    expect(feedSizeError(1024, 1024)).toBeNull();
    expect(feedSizeError(1025, 1024)).toEqual({ ok: false, code: 'SGW_ERR_FEED_TOO_LARGE', reason: 'payload: 1025 bytes is over the 1024-byte limit (prices.maxFeedBytes)' });
  });

  it('a delta must name the applied version as its base; a snapshot needs none', () => {
    expect(deltaBaseError({ mode: 'snapshot' }, 5, undefined, 'k')).toBeNull();
    expect(deltaBaseError({ mode: 'delta', baseVersion: 4 }, 5, 4, 'k')).toBeNull();
    expect(deltaBaseError({ mode: 'delta' }, 5, 4, 'k')).toMatchObject({ code: 'SGW_ERR_FEED_BAD_BODY', reason: /^signed\.body\.baseVersion: a delta must name/ });
    expect(deltaBaseError({ mode: 'delta', baseVersion: 3 }, 5, 4, 'k')).toEqual({
      ok: false,
      code: 'SGW_ERR_FEED_VERSION_GAP',
      reason: 'signed.body.baseVersion: 3 but the applied version is 4; a snapshot is needed',
      kid: 'k',
      gap: { version: 5, baseVersion: 3 },
    });
    expect(deltaBaseError({ mode: 'delta', baseVersion: 0 }, 1, undefined, 'k')).toMatchObject({ code: 'SGW_ERR_FEED_VERSION_GAP', reason: /no version is applied yet/ });
  });

  it('tells storage trouble (retry) from a feed that can never be stored (refuse)', () => {
    for (const code of ['SQLITE_BUSY', 'SQLITE_FULL', 'SQLITE_IOERR', 'SQLITE_IOERR_WRITE', 'SQLITE_READONLY', 'SQLITE_LOCKED']) expect(isTransientStorageError(Object.assign(new Error(code), { code })), code).toBe(true);
    for (const code of ['SQLITE_CONSTRAINT', 'SQLITE_TOOBIG', 'SQLITE_MISMATCH', 'SQLITE_ERROR', undefined]) expect(isTransientStorageError(Object.assign(new Error('x'), { code })), String(code)).toBe(false);
    expect(isTransientStorageError(null)).toBe(false);
  });

  it('backs off by doubling up to the maximum, and records a failure streak on 1, 2, 4, 8 …', () => {
    expect([1, 2, 3, 4, 10, 100].map((n) => retryDelay(n, 1000, 60_000))).toEqual([1000, 2000, 4000, 8000, 60_000, 60_000]);
    expect([1, 2, 3, 4, 5, 8, 9, 16].filter(recordStoreFailure)).toEqual([1, 2, 4, 8, 16]);
  });
});
