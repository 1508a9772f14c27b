/** On-shelf units by distinct serial within the presence window, the refill rule, one alert per episode, and the cycle count's lines. */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { CycleCount } from '../../../../gateway/items/cycleCount.js';
import { episodeStep, ShelfPresence, shelfState } from '../../../../gateway/items/shelfPresence.js';

const never = () => false;

describe('ShelfPresence', () => {
  it('counts distinct serials, not reads; a unit stays for the window after its last read', () => {
    const p = new ShelfPresence(() => 1000);
    for (let i = 0; i < 50; i++) p.see('tees', '111', '1', 100 + i); // one unit read 50 times
    p.see('tees', '111', '2', 500);
    expect(p.onShelf('tees', '111', 600, never)).toBe(2);
    expect(p.onShelf('other', '111', 600, never)).toBe(0); // per zone
    expect(p.onShelf('tees', '111', 1148, never)).toBe(2);
    expect(p.onShelf('tees', '111', 1149, never)).toBe(1); // serial 1 last read at 149: gone a full window later
    expect(p.onShelf('tees', '111', 1500, never)).toBe(0);
    expect(p.itemsIn('tees')).toEqual(['111']);
  });

  it('a sold unit leaves at once; an older read never moves a unit back in time', () => {
    const p = new ShelfPresence(() => 1000);
    p.see('z', 'g', '1', 500);
    p.see('z', 'g', '1', 100);
    p.see('z', 'g', '2', 500);
    expect(p.onShelf('z', 'g', 1400, (_g, s) => s === '2')).toBe(1);
    expect(p.onShelf('z', 'g', 1400, never)).toBe(1); // forgotten for good
  });

  it('property (seeded): on shelf = distinct serials read within the window, whatever the order of reads', () => {
    fc.assert(
      fc.property(fc.array(fc.record({ serial: fc.integer({ min: 0, max: 20 }), at: fc.integer({ min: 0, max: 5000 }) }), { maxLength: 60 }), fc.integer({ min: 0, max: 6000 }), (reads, now) => {
        const p = new ShelfPresence(() => 1000);
        for (const r of reads) p.see('z', 'g', String(r.serial), r.at);
        const last = new Map<number, number>();
        for (const r of reads) last.set(r.serial, Math.max(last.get(r.serial) ?? -Infinity, r.at));
        const expected = [...last.values()].filter((at) => at > now - 1000).length;
        expect(p.onShelf('z', 'g', now, never)).toBe(expected);
      }),
      { seed: 1919, numRuns: 200 },
    );
  });
});

describe('the refill rule and episodes', () => {
  it('out with nothing on hand; refill with some on hand and fewer than the facings on the shelf', () => {
    expect(shelfState(5, 0, 1)).toBe('out');
    expect(shelfState(0, -2, 1)).toBe('out');
    expect(shelfState(0, 4, 1)).toBe('refill');
    expect(shelfState(2, 4, 3)).toBe('refill');
    expect(shelfState(3, 4, 3)).toBe('ok');
  });

  it('raises once when an episode opens, nothing while it lasts, closes when refilled', () => {
    const seq = ['ok', 'refill', 'refill', 'out', 'ok', 'ok', 'refill'] as const;
    let open = false;
    const steps = seq.map((s) => {
      const step = episodeStep(open, s);
      if (step === 'raise') open = true;
      if (step === 'close') open = false;
      return step;
    });
    expect(steps).toEqual(['none', 'raise', 'none', 'none', 'close', 'none', 'raise']);
  });
});

describe('CycleCount', () => {
  it('counts distinct serials per item while open, planned items at 0, sold units left out, nothing after close', () => {
    const c = new CycleCount('cc-1', 'tees', 0, 'anna', ['333'], 'req-00001');
    c.read('111', '1');
    c.read('111', '1');
    c.read('111', '2');
    c.read('222', '9');
    c.close(100);
    expect(c.read('111', '3')).toBe(false);
    expect(c.closedAt).toBe(100);
    const onHand: Record<string, number> = { '111': 5, '222': 1, '333': 2 };
    expect(c.lines((g) => onHand[g] ?? 0, (g, s) => g === '222' && s === '9')).toEqual([
      { gtin: '111', counted: 2, onHand: 5, difference: -3 },
      { gtin: '222', counted: 0, onHand: 1, difference: -1 },
      { gtin: '333', counted: 0, onHand: 2, difference: -2 },
    ]);
  });
});
