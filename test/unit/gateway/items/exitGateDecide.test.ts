/**
 * The exit gate's decision: passage windowing (one alarm per tag and passage, a tag seen again
 * after the window is a new passage), exemptions with a TTL, sold here / elsewhere, stolen and
 * recalled, foreign and non-SGTIN tags quiet; and any EPC string is decided without a throw.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { decideExit, Passages, type DecideDeps } from '../../../../gateway/items/exitGateDecide.js';
import { SerialBook } from '../../../../gateway/kiosk/serialBook.js';
import { encodeSgtin96 } from '../../../../gateway/kiosk/sgtin.js';

const T0 = Date.parse('2026-03-02T10:00:00Z');
const SHIRT = '80614141123458';
function epc(itemReference: string, serial: number): string {
  const r = encodeSgtin96({ filter: 1, companyPrefix: '0614141', itemReference, serial });
  if (!r.ok) throw new Error(r.reason);
  return r.hex;
}
const shirt = (n: number) => epc('812345', n);

function deps(book = new SerialBook(), windowMs = 10_000): DecideDeps {
  return { book, itemOf: (g) => (g === SHIRT ? { gtin: SHIRT, name: 'T-shirt' } : null), passages: new Passages(windowMs) };
}

describe('passages', () => {
  it('reads less than the window apart are one passage; a read after a gap of the window is a new one', () => {
    const p = new Passages(1000);
    expect([p.seen('a', 0), p.seen('a', 500), p.seen('a', 1400), p.seen('a', 2399), p.seen('a', 3399), p.seen('b', 3399)]).toEqual([true, false, false, false, true, true]);
  });

  it('stays bounded: old tags are swept once the map is large', () => {
    const p = new Passages(1000, 100);
    for (let i = 0; i < 100; i++) p.seen(`t${i}`, 0);
    p.seen('late', 5000);
    expect(p.size).toBe(1);
  });
});

describe('decideExit', () => {
  it('an unsold item of the store alarms once per passage, naming GTIN, serial and item', () => {
    const d = deps();
    expect(decideExit(shirt(7), d, T0, 0)).toEqual({ alarm: true, gtin: SHIRT, serial: '7', name: 'T-shirt', epc: shirt(7) });
    expect(decideExit(shirt(7), d, T0, 300)).toMatchObject({ alarm: false, reason: 'samePassage' });
    expect(decideExit(shirt(8), d, T0, 300)).toMatchObject({ alarm: true, serial: '8' });
    expect(decideExit(shirt(7), d, T0, 10_300)).toMatchObject({ alarm: true, serial: '7' }); // back after the window
  });

  it('sold here, sold elsewhere, exempt: quiet; stolen and recalled alarm with their flag', () => {
    const book = new SerialBook();
    book.addSold([{ gtin: SHIRT, serial: '1', transactionId: 't1' }]);
    book.setFlags([
      { gtin: SHIRT, serial: '2', state: 'soldElsewhere' },
      { gtin: SHIRT, serial: '3', state: 'stolen' },
      { gtin: '0' + SHIRT.slice(1), serial: '9', state: 'recalled' }, // another GTIN: not this item
    ]);
    book.setExemption({ gtin: SHIRT, serial: '4', until: T0 + 60_000, by: 'ann', reason: 'demo' });
    const d = deps(book);
    expect([1, 2, 3, 4, 9].map((n) => decideExit(shirt(n), d, T0, 0))).toEqual([
      { alarm: false, reason: 'sold', gtin: SHIRT, serial: '1' },
      { alarm: false, reason: 'soldElsewhere', gtin: SHIRT, serial: '2' },
      { alarm: true, gtin: SHIRT, serial: '3', name: 'T-shirt', epc: shirt(3), flag: 'stolen' },
      { alarm: false, reason: 'exempt', gtin: SHIRT, serial: '4' },
      { alarm: true, gtin: SHIRT, serial: '9', name: 'T-shirt', epc: shirt(9) },
    ]);
  });

  it('an exemption ends at its time: the next passage alarms', () => {
    const book = new SerialBook();
    book.setExemption({ gtin: SHIRT, serial: '4', until: T0 + 60_000, by: 'ann', reason: 'demo' });
    const d = deps(book);
    expect(decideExit(shirt(4), d, T0 + 59_999, 0)).toMatchObject({ alarm: false, reason: 'exempt' });
    expect(decideExit(shirt(4), d, T0 + 60_000, 20_000)).toMatchObject({ alarm: true, serial: '4' });
  });

  it('a sale committed between two passages: the next passage is quiet', () => {
    const book = new SerialBook();
    const d = deps(book);
    expect(decideExit(shirt(5), d, T0, 0).alarm).toBe(true);
    book.addSold([{ gtin: SHIRT, serial: '5', transactionId: 't5' }]);
    expect(decideExit(shirt(5), d, T0, 20_000)).toMatchObject({ alarm: false, reason: 'sold' });
  });

  it('a GTIN the store does not sell, and an EPC that is not SGTIN-96, never alarm', () => {
    const d = deps();
    expect(decideExit(epc('812399', 1), d, T0, 0)).toMatchObject({ alarm: false, reason: 'foreign' });
    expect(decideExit('E28011606000020000000001', d, T0, 0)).toEqual({ alarm: false, reason: 'notSgtin' });
    expect(decideExit(undefined, d, T0, 0)).toEqual({ alarm: false, reason: 'notSgtin' });
  });

  it('any EPC (seeded) is decided without a throw, and only an SGTIN of the store can alarm', () => {
    fc.assert(
      fc.property(fc.oneof(fc.string(), fc.string({ unit: fc.constantFrom(...'0123456789ABCDEF'), minLength: 24, maxLength: 24 }), fc.constant(shirt(1))), (s) => {
        const r = decideExit(s, deps(), T0, 0);
        if (r.alarm) expect(r.gtin).toBe(SHIRT);
      }),
      { seed: 19, numRuns: 500 },
    );
  });
});
