import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { PriceStore } from '../../../../gateway/prices/store.js';
import { tempDir } from '../../../helpers/tmp.js';

let tmp: ReturnType<typeof tempDir>;
let store: PriceStore;
beforeEach(async () => {
  tmp = tempDir('sgw-pstore-');
  store = new PriceStore(path.join(tmp.dir, 'prices.db'));
  await store.start();
});
afterEach(async () => {
  await store.stop();
  tmp.remove();
});

const base = { scope: 'store' as const, issuedAt: '2026-11-25T09:00:00.000Z', kid: 'k', appliedAt: 1 };

describe('PriceStore', () => {
  it('snapshot replaces, delta upserts and removes, versions recorded with the rows', async () => {
    await store.applyFeed({ ...base, feed: 'catalog', version: 1, body: { mode: 'snapshot', items: [{ gtin: '2000000000017', name: 'A', unit: 'each' }, { gtin: '2000000000024', name: 'B', unit: 'kg' }] } });
    await store.applyFeed({ ...base, feed: 'catalog', version: 2, body: { mode: 'delta', items: [{ gtin: '2000000000031', name: 'C', unit: 'each' }], remove: ['2000000000017'] } });
    const rows = await store.loadRows();
    expect(rows.items!.map((r) => r.item.name).sort()).toEqual(['B', 'C']);
    expect(await store.versions()).toMatchObject([{ feed: 'catalog', scope: 'store', version: 2 }]);
    expect((await store.versionCensus()).item).toEqual([{ scope: 'store', ver: 1, rows: 1 }, { scope: 'store', ver: 2, rows: 1 }]);
    await store.applyFeed({ ...base, feed: 'catalog', version: 3, body: { mode: 'snapshot', items: [{ gtin: '2000000000048', name: 'D', unit: 'each' }] } });
    expect((await store.loadRows()).items!.map((r) => r.item.name)).toEqual(['D']);
  });

  it('prices fill the feed currency; a failing apply leaves nothing behind (one transaction)', async () => {
    await store.applyFeed({ ...base, feed: 'prices', version: 1, body: { mode: 'snapshot', currency: 'EUR', prices: [{ gtin: '2000000000017', price: 100 }], promotions: [] } });
    expect((await store.loadRows()).prices![0].row).toEqual({ gtin: '2000000000017', price: 100, currency: 'EUR' });
    // A member row without a tier violates NOT NULL halfway through the feed.
    await expect(store.applyFeed({ ...base, feed: 'members', version: 1, body: { mode: 'snapshot', members: [{ code: 'a', tier: 'gold' }, { code: 'b' }] } })).rejects.toThrow(/NOT NULL/);
    await expect(store.applyFeed({ ...base, feed: 'labels', version: 1, body: { mode: 'snapshot', bindings: [{ labelId: 'L1', gtin: '2000000000017' }, { labelId: 'L2' }] } })).rejects.toThrow(/NOT NULL/);
    const rows = await store.loadRows();
    expect(rows.members).toEqual([]);
    expect(rows.bindings).toEqual([]);
    expect(rows.prices![0].row.price).toBe(100);
    expect((await store.versions()).map((v) => `${v.feed}:${v.version}`)).toEqual(['prices:1']);
  });

  it("member rows keep their status and revoked credential ids (and a row without them has neither)", async () => {
    const members = [{ code: 'a', tier: 'gold', status: 'suspended' }, { code: 'b', tier: 'gold', revoked: ['00000000000000aa', '00000000000000bb'] }, { code: 'c', tier: 'silver' }];
    await store.applyFeed({ ...base, feed: 'members', version: 1, body: { mode: 'snapshot', members } });
    expect((await store.loadRows()).members).toEqual([
      { scope: 'store', code: 'a', tier: 'gold', status: 'suspended' },
      { scope: 'store', code: 'b', tier: 'gold', revoked: ['00000000000000aa', '00000000000000bb'] },
      { scope: 'store', code: 'c', tier: 'silver' },
    ]);
  });

  it('tracking rows are compact: well under 1 KB per label', async () => {
    const rows = Array.from({ length: 5000 }, (_, i) => ({ labelId: `L${String(i).padStart(6, '0')}`, ap: 'ap-12', target: 'a1b2c3d4e5f60718', acked: '0718a1b2c3d4e5f6', state: 1, attempts: 2, nextAt: 1764061200000, err: 'no ack within 60000 ms' }));
    await store.saveTracking(rows);
    await store.saveTracking([{ ...rows[0], state: 2 }], [rows[1].labelId]);
    const loaded = await store.loadTracking();
    expect(loaded).toHaveLength(4999);
    expect(loaded.find((r) => r.labelId === rows[0].labelId)!.state).toBe(2);
    const f = await store.trackingFootprint();
    expect(f.rows).toBe(4999);
    expect(f.bytes / f.rows).toBeLessThan(1024);
  });
});
