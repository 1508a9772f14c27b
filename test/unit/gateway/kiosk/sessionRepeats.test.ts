/**
 * Devices that repeat themselves: a basket reader reads the same tags many times a second
 * and a streaming produce scale repeats its weight ~10 times a second. A repeat that changes nothing
 * must not make a new session version (each version is a saved session and a view to the page).
 */
import { describe, expect, it } from 'vitest';
import { newSession, step, type Action, type Ctx, type Session } from '../../../../gateway/kiosk/sessionMachine.js';
import type { PriceQuote } from '../../../../gateway/prices/catalog.js';

const T0 = Date.parse('2026-03-02T10:00:00Z');
const KNOWN = '4000000000017';
const UNKNOWN = '4000000009999';
const OTHER_UNKNOWN = '4000000009982';

const ctx: Ctx = {
  now: T0,
  quote: (gtin) => (gtin === KNOWN ? ({ gtin, name: 'Milk', unit: 'each', currency: 'EUR', base: 129, price: 129, source: 'base', promo: null } as PriceQuote) : null),
  rules: { removalNeedsAttendant: false, voidNeedsAttendant: false, bagToleranceG: 10, bagTolerancePct: 5, bagNoiseG: 5 },
  newId: () => 'id',
};

/** Runs the actions and returns the final session and how many distinct versions they made. */
function run(s: Session, actions: Action[]): { s: Session; versions: number } {
  const v0 = s.version;
  for (const a of actions) s = step(s, a, ctx).session;
  return { s, versions: s.version - v0 };
}

const fresh = () => newSession('k1', 'sess-1', 'EUR', T0, false);
const reads = (gtin: string, serial: string, n: number): Action[] => Array.from({ length: n }, () => ({ type: 'addItem', gtin, serial }));

describe('repeated device reads', () => {
  it('an unknown RFID tag read 15 times calls for help once and makes one version', () => {
    const { s, versions } = run(fresh(), reads(UNKNOWN, '7', 15));
    expect(s.helpCalled).toBe(true);
    expect(s.notice).toEqual({ code: 'unknownItem', detail: UNKNOWN });
    expect(versions).toBe(1);
  });

  it('a second, different unknown tag is still told', () => {
    const { s, versions } = run(fresh(), [...reads(UNKNOWN, '7', 3), ...reads(OTHER_UNKNOWN, '8', 3)]);
    expect(s.notice).toEqual({ code: 'unknownItem', detail: OTHER_UNKNOWN });
    expect(versions).toBe(2);
  });

  it('once the attendant turned the help call off, the unknown tag raises it again', () => {
    let { s } = run(fresh(), reads(UNKNOWN, '7', 2));
    ({ s } = run(s, [{ type: 'help' }]));
    expect(s.helpCalled).toBe(false);
    const again = run(s, reads(UNKNOWN, '7', 5));
    expect(again.s.helpCalled).toBe(true);
    expect(again.versions).toBe(1);
  });

  it('an unknown code scanned twice is still told twice (a shopper pressing again sees the answer)', () => {
    const { versions } = run(fresh(), [{ type: 'addItem', gtin: UNKNOWN }, { type: 'addItem', gtin: UNKNOWN }]);
    expect(versions).toBe(2);
  });

  it('a known tag read again and again is counted once and makes one version', () => {
    const { s, versions } = run(fresh(), reads(KNOWN, '42', 15));
    expect(s.lines).toHaveLength(1);
    expect(s.lines[0].qty).toBe(1);
    expect(versions).toBe(1);
  });

  it('a bagging scale repeating a stable weight makes no new version', () => {
    const bag = (grams: number): Action => ({ type: 'bagWeight', grams, stable: true });
    let s = newSession('k1', 'sess-1', 'EUR', T0, true);
    ({ s } = run(s, [bag(0), { type: 'addItem', gtin: KNOWN, serial: '42' }, bag(1030)]));
    expect(s.bag.state).toBe('ok');
    expect(s.phase).toBe('shopping');
    expect(run(s, [bag(1030), bag(1030), bag(1030)]).versions).toBe(0);
  });

  it('a produce scale repeating its weight makes a version only when the weight changes', () => {
    const w = (grams: number, stable: boolean): Action => ({ type: 'produceWeight', grams, stable });
    const { s, versions } = run(fresh(), [w(0, true), w(0, true), w(0, true), w(512, false), w(512, true), w(512, true), w(512, true)]);
    expect(s.produceWeight).toEqual({ grams: 512, stable: true });
    expect(versions).toBe(3);
  });
});
