/**
 * The stock ledger on a real SQLite file: the level SQL keeps per GTIN equals the pure rule of
 * onHand.ts whatever order and batching the movements arrive in (seeded), a replayed movement is
 * one movement, and the low list honours a per-item threshold.
 */
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { StockStore, type MovementRow } from '../../../../gateway/stock/store.js';
import { levelsOf, type Movement } from '../../../../gateway/stock/onHand.js';
import { tempDir } from '../../../helpers/tmp.js';

const GTINS = ['04006381333931', '1111111111116', '96385074'];
let tmp: ReturnType<typeof tempDir>;
beforeAll(() => {
  tmp = tempDir('sgw-stock-');
});
afterAll(() => tmp.remove());

const row = (x: Movement): Omit<MovementRow, 'seq'> => ({ ...x, uom: 'unit', reason: null, recordTime: 0, actor: 'test', sourceRef: null });

describe('StockStore', () => {
  it('levels equal onHand.ts for any arrival order and batching, replays included (seeded, real SQLite)', async () => {
    let run = 0;
    const store = new StockStore(path.join(tmp.dir, 'perm.db'));
    await store.start();
    await fc.assert(
      fc.asyncProperty(
        fc.uniqueArray(
          fc.record({ movementId: fc.stringMatching(/^[a-z0-9]{1,5}$/), gtin: fc.constantFrom(...GTINS), kind: fc.constantFrom<Movement['kind']>('sale', 'receipt', 'adjustment', 'count'), qty: fc.integer({ min: -20, max: 20 }), eventTime: fc.integer({ min: 0, max: 10 }) }),
          { selector: (x) => x.movementId, maxLength: 25 },
        ),
        fc.func(fc.integer()),
        fc.array(fc.integer({ min: 1, max: 6 }), { minLength: 1, maxLength: 10 }),
        async (raw, key, sizes) => {
          // One file for every run: each run's GTINs and ids are its own (prefixed by the run).
          const p = `${run++}/`;
          const moves = raw.map((x) => ({ ...x, movementId: p + x.movementId, gtin: p + x.gtin }));
          const order = [...moves, ...moves.slice(0, 3)].sort((a, b) => key(a.movementId) - key(b.movementId));
          for (let i = 0, b = 0; i < order.length; b++) {
            const n = sizes[b % sizes.length]!;
            await store.append(order.slice(i, i + n).map(row), 1000 + b);
            i += n;
          }
          const want = levelsOf(moves);
          const got = new Map((await store.levels()).filter((l) => l.gtin.startsWith(p)).map((l) => [l.gtin, l.onHand]));
          expect(got).toEqual(new Map([...want].map(([g, l]) => [g, l.onHand])));
        },
      ),
      { seed: 1908, numRuns: 60 },
    );
    await store.stop();
  }, 20_000);

  it('append answers only the new ids; a threshold per item moves it on or off the low list', async () => {
    const store = new StockStore(path.join(tmp.dir, 'lists.db'));
    await store.start();
    try {
      const a = { movementId: 'rcv:1:0', gtin: GTINS[0]!, kind: 'receipt' as const, qty: 3, eventTime: 1 };
      expect(await store.append([row(a)], 10)).toEqual(['rcv:1:0']);
      expect(await store.append([row(a), row({ ...a, movementId: 'rcv:1:1', gtin: GTINS[1]!, qty: 0 })], 11)).toEqual(['rcv:1:1']);
      expect((await store.level(GTINS[0]!))!.onHand).toBe(3);
      expect((await store.lowLevels(5, 10)).map((l) => [l.gtin, l.onHand])).toEqual([[GTINS[1], 0], [GTINS[0], 3]]);
      await store.setThreshold(GTINS[0]!, 2);
      expect((await store.lowLevels(5, 10)).map((l) => l.gtin)).toEqual([GTINS[1]]);
      await store.setThreshold(GTINS[0]!, null);
      expect((await store.lowLevels(5, 10)).map((l) => l.gtin)).toEqual([GTINS[1], GTINS[0]]);
      expect((await store.unforwarded(10)).map((m) => m.movementId)).toEqual(['rcv:1:0', 'rcv:1:1']);
      await store.markForwarded([{ movementId: 'rcv:1:0', seq: 42 }]);
      expect((await store.movement('rcv:1:0'))!.seq).toBe(42);
      expect((await store.unforwarded(10)).map((m) => m.movementId)).toEqual(['rcv:1:1']);
    } finally {
      await store.stop();
    }
  });
  it('appends made at once share commits: each answers with its own new ids, a repeat across them is one movement', async () => {
    const store = new StockStore(path.join(tmp.dir, 'group.db'));
    await store.start();
    try {
      const m = (id: string, qty: number, kind: Movement['kind'] = 'receipt'): Omit<MovementRow, 'seq'> => row({ movementId: id, gtin: GTINS[2]!, kind, qty, eventTime: 5 });
      // 100 appends in one tick share a commit; 'dup' is in two of them: the first one gets it.
      const calls = Array.from({ length: 100 }, (_, i) => store.append(i === 70 ? [m('dup', 1), m(`g${i}`, 1)] : [m(i === 3 ? 'dup' : `g${i}`, 1)], 20 + i));
      const fresh = await Promise.all(calls);
      expect(fresh[3]).toEqual(['dup']);
      expect(fresh[70]).toEqual(['g70']);
      expect(fresh.flat().length).toBe(100);
      expect((await store.level(GTINS[2]!))!.onHand).toBe(100);
      // A count in the same burst as later movements: the level follows the rule of onHand.ts.
      await Promise.all([store.append([m('c1', 7, 'count')], 200), store.append([row({ movementId: 'late', gtin: GTINS[2]!, kind: 'sale', qty: -2, eventTime: 9 })], 201)]);
      expect((await store.level(GTINS[2]!))!.onHand).toBe(5);
    } finally {
      await store.stop();
    }
  });

  it('a forwarded mark not committed yet: reads show its seq, the forward skips it, stop commits it; appendRead answers the level its commit left', async () => {
    const file = path.join(tmp.dir, 'marks.db');
    const store = new StockStore(file);
    await store.start();
    const g = GTINS[0]!;
    const r = await store.appendRead([row({ movementId: 'a', gtin: g, kind: 'receipt', qty: 4, eventTime: 1 }), row({ movementId: 'b', gtin: g, kind: 'sale', qty: -1, eventTime: 2 })], 10);
    expect(r.fresh).toEqual(['a', 'b']);
    expect(r.levels.get(g)).toEqual({ onHand: 3, lowBelow: null });
    expect((await store.unforwarded(10)).map((m) => m.movementId)).toEqual(['a', 'b']);
    const marked = store.markForwarded([{ movementId: 'a', seq: 41 }]);
    // Not awaited: until the commit, the seq comes from memory and 'a' is not forwarded again.
    expect((await store.movement('a'))!.seq).toBe(41);
    expect((await store.unforwarded(1)).map((m) => m.movementId)).toEqual(['b']);
    void marked;
    await store.stop();
    const again = new StockStore(file);
    await again.start();
    try {
      expect((await again.movement('a'))!.seq).toBe(41);
      expect((await again.unforwarded(10)).map((m) => m.movementId)).toEqual(['b']);
    } finally {
      await again.stop();
    }
  });
});
