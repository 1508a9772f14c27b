/** The KPI core, pure: what each event adds, local days and hours (DST too), derived figures. */
import { describe, expect, it } from 'vitest';
import { addDelta, dayView, emptyCounts, eventTime, figures, kpiDelta, localDayHour, memberHash } from '../../../../gateway/kpi/kpis.js';

const recv = Date.parse('2026-11-25T10:00:00.000Z');
const ev = (kind: string, type: string, data: Record<string, unknown>, ts = '2026-11-25T09:30:00.000Z') => ({ kind, type, ts, recvTs: recv, data: JSON.stringify({ ts, ...data }) });

describe('kpiDelta', () => {
  it('counts footfall "in" from counts and crossings, never "out"', () => {
    expect(kpiDelta(ev('footfall', 'count', { in: 7, out: 3 }), 'UTC')).toEqual({ day: '2026-11-25', hour: 9, visitors: 7, transaction: null });
    expect(kpiDelta(ev('footfall', 'cross', { direction: 'in' }), 'UTC')?.visitors).toBe(1);
    expect(kpiDelta(ev('footfall', 'cross', { direction: 'out' }), 'UTC')).toBeNull();
    expect(kpiDelta(ev('footfall', 'count', { in: 0, out: 5 }), 'UTC')).toBeNull();
  });

  it('reads a kiosk transaction: total, currency, and the member only as a hash', () => {
    const d = kpiDelta(ev('kiosk', 'transaction', { total: 1299, currency: 'EUR', memberCode: 'M-42' }), 'UTC');
    expect(d?.transaction).toEqual({ total: 1299, currency: 'EUR', memberHash: memberHash('M-42') });
    expect(d?.transaction?.memberHash).not.toContain('M-42');
    expect(kpiDelta(ev('kiosk', 'transaction', { total: 500, currency: 'EUR' }), 'UTC')?.transaction?.memberHash).toBeNull();
  });

  it('ignores other events and unreadable data', () => {
    expect(kpiDelta(ev('kiosk', 'heartbeat', { uptimeS: 1 }), 'UTC')).toBeNull();
    expect(kpiDelta(ev('scale', 'weight', { grams: 5 }), 'UTC')).toBeNull();
    expect(kpiDelta({ kind: 'footfall', type: 'count', ts: 'x', recvTs: recv, data: 'not json' }, 'UTC')).toBeNull();
    expect(kpiDelta(ev('kiosk', 'transaction', { total: 12.5 }), 'UTC')).toBeNull();
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

describe('figures', () => {
  it('derives conversion, average basket and repeat rate, null where undefined', () => {
    expect(figures(emptyCounts())).toMatchObject({ conversion: null, averageBasket: null, repeatRate: null });
    let c = emptyCounts();
    const tx = (total: number, member: string | null, seen: boolean) => (c = addDelta(c, { day: 'd', hour: 1, visitors: 0, transaction: { total, currency: 'EUR', memberHash: member } }, seen));
    c = addDelta(c, { day: 'd', hour: 1, visitors: 40, transaction: null }, false);
    tx(1000, 'a', false);
    tx(2001, 'a', true);
    tx(500, null, false);
    expect(figures(c)).toEqual({ visitors: 40, transactions: 3, sales: 3501, memberTransactions: 2, repeatTransactions: 1, conversion: 3 / 40, averageBasket: 1167, repeatRate: 0.5 });
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
