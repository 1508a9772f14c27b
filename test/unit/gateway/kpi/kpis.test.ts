/** The KPI core, pure: what each event adds, local days and hours (DST too), derived figures, a group's increments. */
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { addCounts, addDelta, dayView, emptyCounts, eventTime, figures, groupDelta, kpiDelta, localDayHour, memberHash, type HourCounts } from '../../../../gateway/kpi/kpis.js';

/** A store's member hash key (any 32 bytes). */
const K = Buffer.alloc(32, 7);
const recv = Date.parse('2026-11-25T10:00:00.000Z');
const ev = (kind: string, type: string, data: Record<string, unknown>, ts = '2026-11-25T09:30:00.000Z') => ({ kind, type, ts, recvTs: recv, data: JSON.stringify({ ts, ...data }) });

describe('kpiDelta', () => {
  it('counts footfall "in" from counts and crossings, never "out"', () => {
    expect(kpiDelta(ev('footfall', 'count', { in: 7, out: 3 }), 'UTC', K)).toEqual({ day: '2026-11-25', hour: 9, visitors: 7, transaction: null });
    expect(kpiDelta(ev('footfall', 'cross', { direction: 'in' }), 'UTC', K)?.visitors).toBe(1);
    expect(kpiDelta(ev('footfall', 'cross', { direction: 'out' }), 'UTC', K)).toBeNull();
    expect(kpiDelta(ev('footfall', 'count', { in: 0, out: 5 }), 'UTC', K)).toBeNull();
  });

  it('reads a kiosk transaction: total, currency, and the member only as a hash', () => {
    const d = kpiDelta(ev('kiosk', 'transaction', { total: 1299, currency: 'EUR', memberCode: 'M-42' }), 'UTC', K);
    expect(d?.transaction).toEqual({ total: 1299, currency: 'EUR', memberHash: memberHash('M-42', K), memberTier: '', pointsEarned: 0, pointsSpent: 0, coupons: 0 });
    expect(d?.transaction?.memberHash).not.toContain('M-42');
    expect(kpiDelta(ev('kiosk', 'transaction', { total: 500, currency: 'EUR' }), 'UTC', K)?.transaction?.memberHash).toBeNull();
  });

  it('ignores other events and unreadable data', () => {
    expect(kpiDelta(ev('kiosk', 'heartbeat', { uptimeS: 1 }), 'UTC', K)).toBeNull();
    expect(kpiDelta(ev('scale', 'weight', { grams: 5 }), 'UTC', K)).toBeNull();
    expect(kpiDelta({ kind: 'footfall', type: 'count', ts: 'x', recvTs: recv, data: 'not json' }, 'UTC', K)).toBeNull();
    expect(kpiDelta(ev('kiosk', 'transaction', { total: 12.5 }), 'UTC', K)).toBeNull();
  });
});

describe('a voided sale', () => {
  it('leaves the hour it was made in: one transaction and its total fewer, and its member sale, points and coupons', () => {
    const sale = ev('kiosk', 'transaction', { total: 1234, currency: 'EUR', memberCode: 'M1', points: { earned: 12, spent: 300 }, coupons: [{ couponId: 'C1' }, { couponId: 'C2' }] }, '2026-11-25T08:10:00.000Z');
    // Voided at 09:30, in another hour: the sale's hour (08) loses it.
    const counts = { member: true, pointsEarned: 12, pointsSpent: 300, coupons: 2 };
    const voided = ev('kiosk', 'saleVoided', { total: 1234, currency: 'EUR', saleTs: '2026-11-25T08:10:00.000Z', counts });
    expect(kpiDelta(voided, 'UTC', K)).toMatchObject({ day: '2026-11-25', hour: 8, visitors: 0, transaction: { total: 1234, sign: -1, memberHash: null, member: true, pointsEarned: 12, pointsSpent: 300, coupons: 2 } });
    const g = groupDelta([{ ...sale, seq: 1 }, { ...voided, seq: 2 }], 'UTC', () => false, K)!;
    // Everything the sale added is gone but the member's first visit: the record names no member.
    expect(g.hours).toEqual([{ day: '2026-11-25', hour: 8, visitors: 0, transactions: 0, sales: 0, memberTransactions: 0, repeatTransactions: 0, memberSales: 0, pointsIssued: 0, pointsSpent: 0, couponRedemptions: 0 }]);
    // A void record without `counts` (written before they existed) leaves the member numbers as they were.
    const old = groupDelta([{ ...sale, seq: 1 }, { ...ev('kiosk', 'saleVoided', { total: 1234, currency: 'EUR', saleTs: '2026-11-25T08:10:00.000Z' }), seq: 2 }], 'UTC', () => false, K)!;
    expect(old.hours[0]).toMatchObject({ transactions: 0, sales: 0, memberTransactions: 1, memberSales: 1234, pointsIssued: 12, pointsSpent: 300, couponRedemptions: 2 });
    // A sale without a member: its void takes no member sale out.
    const plain = groupDelta([{ ...ev('kiosk', 'transaction', { total: 500, currency: 'EUR' }, '2026-11-25T08:20:00.000Z'), seq: 3 }, { ...ev('kiosk', 'saleVoided', { total: 500, saleTs: '2026-11-25T08:20:00.000Z', counts: { member: false, pointsEarned: 0, pointsSpent: 0, coupons: 0 } }), seq: 4 }], 'UTC', () => false, K)!;
    expect(plain.hours[0]).toMatchObject({ transactions: 0, sales: 0, memberTransactions: 0, memberSales: 0 });
    expect(kpiDelta(ev('kiosk', 'saleVoided', { total: 5 }), 'UTC', K)).toBeNull(); // no saleTs: nothing to take out of
  });
});

describe('local time', () => {
  it('puts an instant in the store’s local day and hour', () => {
    const t = Date.parse('2026-11-25T23:30:00.000Z');
    expect(localDayHour(t, 'UTC')).toEqual({ day: '2026-11-25', hour: 23 });
    expect(localDayHour(t, 'Europe/Berlin')).toEqual({ day: '2026-11-26', hour: 0 });
    expect(localDayHour(t, 'America/New_York')).toEqual({ day: '2026-11-25', hour: 18 });
    expect(localDayHour(t, 'Asia/Kolkata')).toEqual({ day: '2026-11-26', hour: 5 });
  });

  it('answers each zone and each minute on its own (the last minute is remembered per zone)', () => {
    const t = Date.parse('2026-11-25T22:59:59.999Z');
    expect(localDayHour(t, 'UTC')).toEqual({ day: '2026-11-25', hour: 22 });
    expect(localDayHour(t, 'Europe/Berlin')).toEqual({ day: '2026-11-25', hour: 23 });
    expect(localDayHour(t + 1, 'Europe/Berlin')).toEqual({ day: '2026-11-26', hour: 0 });
    expect(localDayHour(t + 1, 'UTC')).toEqual({ day: '2026-11-25', hour: 23 });
    expect(localDayHour(t - 30_000, 'UTC')).toEqual({ day: '2026-11-25', hour: 22 });
  });

  it('follows daylight saving: the same UTC hour is a different local hour in summer', () => {
    expect(localDayHour(Date.parse('2026-07-01T08:00:00Z'), 'Europe/Berlin').hour).toBe(10);
    expect(localDayHour(Date.parse('2026-12-01T08:00:00Z'), 'Europe/Berlin').hour).toBe(9);
    // The night the clocks go back (2026-10-25), 00:30Z and 01:30Z are both local 02:xx.
    expect(localDayHour(Date.parse('2026-10-25T00:30:00Z'), 'Europe/Berlin')).toEqual({ day: '2026-10-25', hour: 2 });
    expect(localDayHour(Date.parse('2026-10-25T01:30:00Z'), 'Europe/Berlin')).toEqual({ day: '2026-10-25', hour: 2 });
  });

  it('trusts the device time unless it is more than 36 h off the receive time', () => {
    expect(eventTime({ ts: '2026-11-25T09:30:00.000Z', recvTs: recv })).toBe(Date.parse('2026-11-25T09:30:00.000Z'));
    expect(eventTime({ ts: '2019-01-01T00:00:00.000Z', recvTs: recv })).toBe(recv);
    expect(eventTime({ ts: 'garbage', recvTs: recv })).toBe(recv);
  });
});

describe('what members make visible', () => {
  it('reads the tier, points and coupons of a member sale; a sale without a member names no tier', () => {
    const d = kpiDelta(ev('kiosk', 'transaction', { total: 900, currency: 'EUR', memberCode: 'M-7', memberTier: 'gold', points: { earned: 9, spent: 600 }, coupons: [{}, {}] }), 'UTC', K);
    expect(d?.transaction).toMatchObject({ memberTier: 'gold', pointsEarned: 9, pointsSpent: 600, coupons: 2 });
    expect(kpiDelta(ev('kiosk', 'transaction', { total: 900, currency: 'EUR', memberTier: 'gold', points: { earned: -3, spent: 'x' } }), 'UTC', K)?.transaction).toMatchObject({ memberTier: '', pointsEarned: 0, pointsSpent: 0 });
  });

  it('sums member sales, points and coupons per hour and gives the repeat rate by tier of a day', () => {
    const at = (seq: number, data: Record<string, unknown>, ts = '2026-11-25T09:30:00.000Z') => ({ seq, ...ev('kiosk', 'transaction', { currency: 'EUR', ...data }, ts) });
    const d = groupDelta(
      [
        at(1, { total: 1000, memberCode: 'A', memberTier: 'gold', points: { earned: 10, spent: 0 }, coupons: [{}] }),
        at(2, { total: 400, memberCode: 'A', memberTier: 'gold', points: { earned: 4, spent: 100 } }, '2026-11-25T11:00:00.000Z'),
        at(3, { total: 300, memberCode: 'B', memberTier: 'gold' }),
        at(4, { total: 200, memberCode: 'C', memberTier: 'silver', coupons: [{}, {}] }),
        at(5, { total: 100 }),
      ],
      'UTC',
      () => false,
      K,
    )!;
    const day = dayView('2026-11-25', 'UTC', 'EUR', new Map(d.hours.map((h) => [h.hour, h])), d.visits);
    expect(day.totals).toMatchObject({ sales: 2000, memberSales: 1900, memberShare: 0.95, pointsIssued: 14, pointsSpent: 100, couponRedemptions: 3 });
    expect(day.hours[9]).toMatchObject({ couponRedemptions: 3, pointsIssued: 10 });
    expect(day.hours[11]).toMatchObject({ couponRedemptions: 0, pointsSpent: 100 });
    expect(day.tiers).toEqual([
      { tier: 'gold', members: 2, repeatMembers: 1, repeatRate: 0.5 },
      { tier: 'silver', members: 1, repeatMembers: 0, repeatRate: 0 },
    ]);
  });
});

describe('figures', () => {
  it('derives conversion, average basket and repeat rate, null where undefined', () => {
    expect(figures(emptyCounts())).toMatchObject({ conversion: null, averageBasket: null, repeatRate: null });
    let c = emptyCounts();
    const tx = (total: number, member: string | null, seen: boolean) => (c = addDelta(c, { day: 'd', hour: 1, visitors: 0, transaction: { total, currency: 'EUR', memberHash: member, memberTier: '', pointsEarned: 0, pointsSpent: 0, coupons: 0 } }, seen));
    c = addDelta(c, { day: 'd', hour: 1, visitors: 40, transaction: null }, false);
    tx(1000, 'a', false);
    tx(2001, 'a', true);
    tx(500, null, false);
    expect(figures(c)).toEqual({
      ...{ visitors: 40, transactions: 3, sales: 3501, memberTransactions: 2, repeatTransactions: 1, conversion: 3 / 40, averageBasket: 1167, repeatRate: 0.5 },
      ...{ memberSales: 3001, memberShare: 3001 / 3501, pointsIssued: 0, pointsSpent: 0, couponRedemptions: 0 },
    });
  });

  it('builds a day of 24 hours whose totals are the sums', () => {
    const hours = new Map([
      [9, { ...emptyCounts(), visitors: 10, transactions: 2, sales: 300 }],
      [17, { ...emptyCounts(), visitors: 30, transactions: 4, sales: 900 }],
    ]);
    const d = dayView('2026-11-25', 'UTC', 'EUR', hours);
    expect(d.hours).toHaveLength(24);
    expect(d.hours[9]).toMatchObject({ hour: 9, visitors: 10, conversion: 0.2, averageBasket: 150 });
    expect(d.totals).toMatchObject({ visitors: 40, transactions: 6, sales: 1200, conversion: 0.15, averageBasket: 200 });
  });
});

describe('groupDelta', () => {
  const at = (seq: number, kind: string, type: string, data: Record<string, unknown>, ts = '2026-11-25T09:30:00.000Z') => ({ seq, ...ev(kind, type, data, ts) });

  it('sums a group per local hour; a member new to the store repeats only on a later transaction', () => {
    const d = groupDelta(
      [
        at(1, 'footfall', 'count', { in: 4, out: 1 }),
        at(2, 'scale', 'weight', { grams: 5 }),
        at(3, 'kiosk', 'transaction', { total: 1000, currency: 'EUR', memberCode: 'M-1' }),
        at(4, 'kiosk', 'transaction', { total: 500, currency: 'EUR', memberCode: 'M-1' }, '2026-11-25T10:15:00.000Z'),
        at(5, 'kiosk', 'transaction', { total: 200, currency: 'EUR', memberCode: 'M-2' }),
        at(6, 'footfall', 'cross', { direction: 'in' }, '2026-11-25T10:59:59.999Z'),
      ],
      'UTC',
      (h) => h === memberHash('M-2', K),
      K,
    );
    expect(d).toEqual({
      hours: [
        { ...emptyCounts(), day: '2026-11-25', hour: 9, visitors: 4, transactions: 2, sales: 1200, memberTransactions: 2, repeatTransactions: 1, memberSales: 1200 },
        { ...emptyCounts(), day: '2026-11-25', hour: 10, visitors: 1, transactions: 1, sales: 500, memberTransactions: 1, repeatTransactions: 1, memberSales: 500 },
      ],
      members: [{ hash: memberHash('M-1', K), firstSeq: 3 }],
      visits: [
        { day: '2026-11-25', hash: memberHash('M-1', K), tier: '', visits: 2 },
        { day: '2026-11-25', hash: memberHash('M-2', K), tier: '', visits: 1 },
      ],
      currency: 'EUR',
      lastSeq: 6,
    });
  });

  it('is null for a group that counts nothing (the outbox then keeps its one-statement append)', () => {
    expect(groupDelta([at(1, 'scale', 'weight', { grams: 5 }), at(2, 'footfall', 'count', { in: 0, out: 3 })], 'UTC', () => false, K)).toBeNull();
    expect(groupDelta([], 'UTC', () => false, K)).toBeNull();
  });

  it('any split of a day into groups adds up to the event-by-event count', () => {
    const event = fc.oneof(
      fc.record({ k: fc.constant('in' as const), n: fc.integer({ min: 0, max: 9 }), h: fc.integer({ min: 0, max: 23 }) }),
      fc.record({ k: fc.constant('cross' as const), dir: fc.constantFrom('in', 'out'), h: fc.integer({ min: 0, max: 23 }) }),
      fc.record({ k: fc.constant('sale' as const), total: fc.integer({ min: 1, max: 99_999 }), member: fc.option(fc.constantFrom('A', 'B', 'C')), h: fc.integer({ min: 0, max: 23 }) }),
    );
    fc.assert(
      fc.property(fc.array(event, { maxLength: 60 }), fc.array(fc.integer({ min: 1, max: 7 }), { minLength: 1, maxLength: 10 }), (script, cuts) => {
        const ts = (h: number) => `2026-11-25T${String(h).padStart(2, '0')}:20:00.000Z`;
        const events = script.map((e, i) =>
          e.k === 'in' ? at(i + 1, 'footfall', 'count', { in: e.n, out: 0 }, ts(e.h)) : e.k === 'cross' ? at(i + 1, 'footfall', 'cross', { direction: e.dir }, ts(e.h)) : at(i + 1, 'kiosk', 'transaction', { total: e.total, currency: 'EUR', ...(e.member ? { memberCode: e.member } : {}) }, ts(e.h)),
        );
        // Event by event, the way the counters were kept before.
        const one = new Map<number, HourCounts>();
        const seen1 = new Set<string>();
        for (const e of events) {
          const d = kpiDelta(e, 'Europe/Berlin', K);
          if (!d) continue;
          const h = d.transaction?.memberHash ?? null;
          one.set(d.hour + (d.day === '2026-11-26' ? 24 : 0), addDelta(one.get(d.hour + (d.day === '2026-11-26' ? 24 : 0)) ?? emptyCounts(), d, h !== null && seen1.has(h)));
          if (h) seen1.add(h);
        }
        // Group by group, the members of earlier groups known.
        const many = new Map<number, HourCounts>();
        const seen = new Set<string>();
        for (let i = 0, c = 0; i < events.length; i += cuts[c++ % cuts.length]) {
          const d = groupDelta(events.slice(i, i + cuts[c % cuts.length]), 'Europe/Berlin', (h) => seen.has(h), K);
          if (!d) continue;
          for (const cell of d.hours) {
            const k = cell.hour + (cell.day === '2026-11-26' ? 24 : 0);
            many.set(k, addCounts(many.get(k) ?? emptyCounts(), cell));
          }
          for (const m of d.members) seen.add(m.hash);
        }
        expect(many).toEqual(one);
      }),
      { seed: 14, numRuns: 200 },
    );
  });
});
