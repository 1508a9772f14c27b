/**
 * On hand = the last count + the movements after it, by event time: worked cases (a late sale from
 * before a count, two counts arriving backwards, a tie), and seeded properties — any order of the
 * same movements, with any of them repeated, gives the same level.
 */
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { levelOf, levelsOf, stockState, type Movement } from '../../../../gateway/stock/onHand.js';
import { pickupMovements, saleMovements, reservedOf, stockMoveRecord } from '../../../../gateway/stock/movements.js';
import { changedLines } from '../../../../gateway/stock/stockReport.js';
import { confirmMovements, receivedPerLine } from '../../../../gateway/stock/deliveries.js';
import { CATALOGUE } from '../../../../gateway/protocol/schemas/index.js';
import { compile } from '../../../../gateway/protocol/validate.js';

const G = '04006381333931';
const m = (movementId: string, kind: Movement['kind'], qty: number, eventTime: number, gtin = G): Movement => ({ movementId, gtin, kind, qty, eventTime });

describe('levelOf', () => {
  it('without a count, on hand is the sum of every movement (and may go negative: shown, not clamped)', () => {
    expect(levelOf([m('r1', 'receipt', 10, 1), m('s1', 'sale', -3, 2), m('s2', 'sale', -9, 3)])).toEqual({ onHand: -2, countedAt: null, since: 3 });
  });

  it('a sale that happened before a count but arrived after it is inside the count, not subtracted again', () => {
    const before = [m('r1', 'receipt', 10, 100), m('c1', 'count', 7, 200), m('s2', 'sale', -1, 300)];
    const late = m('s1', 'sale', -2, 150); // rung up at 150 on an offline lane, synced after the count
    expect(levelOf(before).onHand).toBe(6);
    expect(levelOf([...before, late])).toEqual({ onHand: 6, countedAt: 200, since: 1 });
  });

  it('the later count by event time wins, whichever arrived last; a movement at the count instant is inside it', () => {
    const moves = [m('c2', 'count', 4, 500), m('c1', 'count', 9, 100), m('s1', 'sale', -1, 500), m('s2', 'sale', -1, 501)];
    expect(levelOf(moves)).toEqual({ onHand: 3, countedAt: 500, since: 1 });
  });

  it('two counts at the same instant: the larger movement id wins, so arrival order never matters', () => {
    expect(levelOf([m('cnt:b', 'count', 2, 10), m('cnt:a', 'count', 5, 10)]).onHand).toBe(2);
    expect(levelOf([m('cnt:a', 'count', 5, 10), m('cnt:b', 'count', 2, 10)]).onHand).toBe(2);
  });

  it('a movement id seen twice is one movement', () => {
    expect(levelOf([m('s1', 'sale', -1, 1), m('s1', 'sale', -1, 1), m('r1', 'receipt', 5, 0)]).onHand).toBe(4);
  });

  it('levelsOf keeps GTINs apart; stockState: out at 0 or below, low under the threshold', () => {
    const l = levelsOf([m('a', 'receipt', 3, 1, '1111111111116'), m('b', 'receipt', 8, 1)]);
    expect(l.get('1111111111116')!.onHand).toBe(3);
    expect(l.get(G)!.onHand).toBe(8);
    expect([stockState(-1, 5), stockState(0, 5), stockState(4, 5), stockState(5, 5)]).toEqual(['out', 'out', 'low', 'ok']);
  });
});

const movementArb = fc.record({
  movementId: fc.string({ minLength: 1, maxLength: 6 }),
  gtin: fc.constantFrom(G, '1111111111116'),
  kind: fc.constantFrom<Movement['kind']>('sale', 'receipt', 'adjustment', 'return', 'count'),
  qty: fc.integer({ min: -50, max: 50 }),
  eventTime: fc.integer({ min: 0, max: 20 }),
});
/** Unique ids (a replay repeats a movement exactly; two different movements never share an id). */
const setArb = fc.uniqueArray(movementArb, { selector: (x) => x.movementId, maxLength: 40 });

describe('properties (seeded)', () => {
  it('any permutation of the same movements gives the same on hand', () => {
    fc.assert(
      fc.property(setArb, fc.func(fc.integer()), (moves, key) => {
        const shuffled = [...moves].sort((a, b) => key(a.movementId) - key(b.movementId));
        expect(levelsOf(shuffled)).toEqual(levelsOf(moves));
      }),
      { seed: 1905, numRuns: 300 },
    );
  });

  it('replaying any movements again changes nothing (idempotent by movement id)', () => {
    fc.assert(
      fc.property(setArb, fc.array(fc.nat(), { maxLength: 20 }), (moves, picks) => {
        const replays = moves.length ? picks.map((i) => moves[i % moves.length]!) : [];
        expect(levelsOf([...moves, ...replays])).toEqual(levelsOf(moves));
      }),
      { seed: 1906, numRuns: 300 },
    );
  });

  it('on hand is the latest count plus what happened after it, computed the long way', () => {
    fc.assert(
      fc.property(setArb, (moves) => {
        for (const [gtin, level] of levelsOf(moves)) {
          const mine = moves.filter((x) => x.gtin === gtin);
          const counts = mine.filter((x) => x.kind === 'count').sort((a, b) => a.eventTime - b.eventTime || (a.movementId < b.movementId ? -1 : 1));
          const last = counts.at(-1);
          const expected = (last?.qty ?? 0) + mine.filter((x) => x.kind !== 'count' && (!last || x.eventTime > last.eventTime)).reduce((s, x) => s + x.qty, 0);
          expect(level.onHand).toBe(expected);
        }
      }),
      { seed: 1907, numRuns: 300 },
    );
  });
});

describe('movements and records', () => {
  it('a sale becomes one movement per line, keyed by transaction and line; a weighed line moves grams', () => {
    const moves = saleMovements({ transactionId: 'T-1', kioskId: 'k1', ts: '2026-12-05T10:00:00.000Z', lines: [{ gtin: G, qty: 2 }, { gtin: '2000000000008', qty: 1, grams: 350 }] }, Date.parse('2026-12-05T10:00:01.000Z'));
    expect(moves.map((x) => [x.movementId, x.qty, x.uom, x.actor, x.eventTime])).toEqual([
      ['sale:T-1:0', -2, 'unit', 'kiosk:k1', Date.parse('2026-12-05T10:00:00.000Z')],
      ['sale:T-1:1', -350, 'g', 'kiosk:k1', Date.parse('2026-12-05T10:00:00.000Z')],
    ]);
    const rec = stockMoveRecord(moves[0]!);
    expect(rec).toEqual({ ts: '2026-12-05T10:00:01.000Z', movementId: 'sale:T-1:0', gtin: G, kind: 'sale', qty: -2, uom: 'unit', eventTime: '2026-12-05T10:00:00.000Z', recordTime: '2026-12-05T10:00:01.000Z', actor: 'kiosk:k1', sourceRef: 'T-1' });
    const check = compile(CATALOGUE.light.events.stockMove!.schema);
    expect(check(rec)).toBe(true);
    expect(check({ ...rec, kind: 'gift' })).toBe(false);
    expect(check({ ...rec, extra: 1 })).toBe(false);
  });

  it('reservations add up per GTIN over open orders; lines without a GTIN reserve nothing', () => {
    expect([...reservedOf([{ lines: [{ gtin: G, qty: 2 }, { qty: 9 }] }, { lines: [{ gtin: G, qty: 1 }] }])]).toEqual([[G, 3]]);
  });

  it('the report names what changed since the one before, a GTIN gone included', () => {
    const prev = new Map([[G, { gtin: G, onHand: 5, reserved: 0, available: 5 }], ['1111111111116', { gtin: '1111111111116', onHand: 1, reserved: 0, available: 1 }]]);
    expect(changedLines(prev, [{ gtin: G, onHand: 5, reserved: 1, available: 4 }])).toEqual([G, '1111111111116']);
    expect(changedLines(prev, [...prev.values()])).toEqual([]);
  });
});

describe('collected orders', () => {
  it('a collected order moves its GTIN lines out, keyed by order and line; a line without a GTIN moves nothing', () => {
    const moves = pickupMovements('WEB-1', 'k2', [{ gtin: G, qty: 2 }, { qty: 1 }, { gtin: '1111111111116', qty: 1 }], 5, 6);
    expect(moves.map((x) => [x.movementId, x.gtin, x.qty, x.kind, x.actor, x.sourceRef])).toEqual([
      ['pick:WEB-1:0', G, -2, 'pickup', 'kiosk:k2', 'WEB-1'],
      ['pick:WEB-1:2', '1111111111116', -1, 'pickup', 'kiosk:k2', 'WEB-1'],
    ]);
  });
});

describe('deliveries', () => {
  const d = { deliveryId: 'ASN-1', lines: [{ gtin: G, qty: 10 }, { gtin: '1111111111116', qty: 2 }] };
  it('a confirmation is receipts keyed by delivery, line and press; what was taken in adds up per line', () => {
    const r = confirmMovements(d, 'p1', [{ line: 1, qty: 2 }, { line: 0, qty: 3 }], 'anna', 7);
    if (!r.ok) throw new Error(r.message);
    expect(r.moves.map((x) => [x.movementId, x.gtin, x.qty, x.kind, x.actor, x.sourceRef])).toEqual([
      ['dlv:ASN-1:1:p1', '1111111111116', 2, 'receipt', 'anna', 'ASN-1'],
      ['dlv:ASN-1:0:p1', G, 3, 'receipt', 'anna', 'ASN-1'],
    ]);
    expect(receivedPerLine(d, [...r.moves, { movementId: 'dlv:ASN-1:0:p2', qty: 7 }, { movementId: 'rcv:x:0', qty: 99 }, { movementId: 'dlv:ASN-10:0:p1', qty: 5 }])).toEqual([10, 2]);
  });
  it('a line the delivery does not have, or one named twice, is refused naming the field', () => {
    expect(confirmMovements(d, 'p1', [{ line: 2, qty: 1 }], 'anna', 7)).toEqual({ ok: false, field: 'body.lines[0].line', message: 'delivery ASN-1 has lines 0..1' });
    expect(confirmMovements(d, 'p1', [{ line: 0, qty: 1 }, { line: 0, qty: 1 }], 'anna', 7)).toMatchObject({ ok: false, field: 'body.lines[1].line' });
  });
});
