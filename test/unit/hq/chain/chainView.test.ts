/**
 * The chain view's pure core: who is lagging or offline, feeds against HQ's latest, the order; and
 * a seeded property over what stores may publish (any JSON as status or sync report, any store id):
 * the view never throws, and the page's HTML carries none of it unescaped.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { StoreRow } from '../../../../hq/chain/chainQuery.js';
import { chainView, duration, formatTable } from '../../../../hq/chain/chainView.js';
import { escapeHtml, tableHtml } from '../../../../hq/chain/chainServer.js';

const NOW = new Date('2026-12-05T12:00:00.000Z');
function row(storeId: string, o: Partial<StoreRow> = {}): StoreRow {
  return { storeId, lastBatchId: 'b', lastSeq: 9, lastBatchAt: new Date(NOW.getTime() - 30_000), batches: 1, status: { state: 'online' }, statusAt: NOW, sync: null, syncAt: null, duplicateBatches: 0, conflictBatches: 0, duplicates: 0, conflicts: 0, rejectedBatches: 0, classes24h: { exact: 3 }, dbNow: NOW, ...o };
}
const sync = (storeId: string, age: number | null, ts = NOW.toISOString()): unknown => ({ ts, storeId, gatewayVersion: '1', installId: null, feeds: [{ feed: 'prices', scope: 'store', version: 4, appliedAt: null }], outbox: { records: 1, oldestUnackedAgeS: age, unackedBatches: 0, delivery: 'ingest-ack' } });

describe('chainView', () => {
  it('puts offline, lagging (by HQ or by the store itself) and behind stores first', () => {
    const v = chainView(
      [
        row('ok'),
        row('off', { status: { state: 'offline' } }),
        row('late', { lastBatchAt: new Date(NOW.getTime() - 3_600_000) }),
        row('own', { sync: sync('own', 500, new Date(NOW.getTime() - 200_000).toISOString()) }),
        row('behind', { sync: sync('behind', null) }),
      ],
      { lagSeconds: 600, signed: { 'prices store:behind': 5, 'prices store:own': 4 } },
    );
    expect(v.map((s) => s.storeId)).toEqual(['late', 'behind', 'off', 'own', 'ok']);
    const own = v.find((s) => s.storeId === 'own')!;
    // 500 s as reported, 200 s ago: 700 s now, over the 600 s threshold.
    expect(own).toMatchObject({ storeLagS: 700, lagging: true });
    expect(own.feeds).toEqual([{ feed: 'prices', scope: 'store:own', applied: 4, appliedAt: null, latest: 4, behind: false }]);
    expect(v.find((s) => s.storeId === 'behind')!.feeds[0]).toMatchObject({ applied: 4, latest: 5, behind: true });
    expect(v.find((s) => s.storeId === 'ok')!.attention).toBe(false);
  });

  it('ignores a sync report that names another store', () => {
    const [s] = chainView([row('a', { sync: sync('b', 99_999) })], { lagSeconds: 600 });
    expect(s).toMatchObject({ storeLagS: null, syncAt: null, lagging: false });
  });

  it('formats durations and the table', () => {
    expect([duration(null), duration(59.6), duration(90), duration(7200), duration(90_000)]).toEqual(['-', '1m00s', '1m30s', '2h00m', '1d01h']);
    const t = formatTable(chainView([row('s1')], { lagSeconds: 600 }));
    expect(t.split('\n')[1]).toMatch(/^s1\s+online\s+2026-12-05 11:59:30\s+9\s+30s\s+-\s+exact 3\s+-\s+0\/0\/0$/);
  });

  it('property: anything a store publishes never breaks the view, and never reaches the page unescaped', () => {
    const hostile = fc.oneof(fc.string({ maxLength: 20 }), fc.constantFrom('<script>x</script>', '"><img src=x>', "'&"));
    const body = fc.oneof(fc.jsonValue(), fc.record({ state: fc.oneof(hostile, fc.constant('online')), version: hostile, installId: hostile, ts: hostile }), fc.record({ ts: hostile, storeId: hostile, feeds: fc.array(fc.record({ feed: hostile, scope: fc.constantFrom('all', 'store', '<x>'), version: fc.integer(), appliedAt: fc.constant(null) })) }));
    fc.assert(
      fc.property(fc.array(fc.tuple(hostile, body, body), { minLength: 1, maxLength: 5 }), fc.dictionary(fc.string({ maxLength: 12 }), fc.nat()), (stores, signed) => {
        const v = chainView(stores.map(([id, status, s]) => row(id, { status, sync: s })), { lagSeconds: 600, signed });
        expect(v).toHaveLength(stores.length);
        const html = tableHtml(v, 'now');
        const text = html.replace(/<\/?(h1|p|table|tr|th|td|form|button)( [^>]*)?>/g, '');
        expect(text).not.toMatch(/[<>]/);
        for (const [id] of stores) if (id.length > 0) expect(html).toContain(escapeHtml(id));
      }),
      { seed: 20_2605, numRuns: 300 },
    );
  });
});
