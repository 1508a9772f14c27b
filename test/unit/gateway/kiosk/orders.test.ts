import { describe, expect, it } from 'vitest';
import { decidePickup, pickupCodeOf, pickupRecord, type OnlineOrderT, type OrderRow } from '../../../../gateway/kiosk/orders.js';
import { CATALOGUE } from '../../../../gateway/protocol/schemas/index.js';
import { compile } from '../../../../gateway/protocol/validate.js';

const order: OnlineOrderT = { orderId: 'WEB-1', pickupCode: 'ABC123', customer: 'A', lines: [{ name: 'Milk', qty: 2 }], total: 258, currency: 'EUR', paidAt: '2026-11-24T18:00:00.000Z' };
const row = (status: OrderRow['status'], extra: Partial<OrderRow> = {}): OrderRow => ({ order, status, kioskId: null, collectedAt: null, ...extra });

describe('pickupCodeOf', () => {
  it('reads PICKUP:<code>, case-insensitive; other scans are not pickup codes', () => {
    expect(pickupCodeOf('PICKUP:abc123')).toBe('ABC123');
    expect(pickupCodeOf('PICKUP: XYZ9999 ')).toBe('XYZ9999');
    expect(pickupCodeOf('4006381333931')).toBeNull();
    expect(pickupCodeOf('pickup:ABC123')).toBeNull();
  });
  it('a malformed code after the prefix is a pickup scan that cannot match ("")', () => {
    expect(pickupCodeOf('PICKUP:')).toBe('');
    expect(pickupCodeOf('PICKUP:ab')).toBe('');
    expect(pickupCodeOf('PICKUP:ABC-123')).toBe('');
  });
});

describe('decidePickup', () => {
  it('a ready order is shown', () => {
    expect(decidePickup(row('ready'))).toEqual({ ok: true, view: { orderId: 'WEB-1', customer: 'A', lines: [{ name: 'Milk', qty: 2 }], total: 258, currency: 'EUR', status: 'ready' } });
  });
  it('unknown, withdrawn, used twice and in progress elsewhere are refused with a reason', () => {
    expect(decidePickup(null)).toEqual({ ok: false, notice: { code: 'pickupUnknown' } });
    expect(decidePickup(row('removed'))).toEqual({ ok: false, notice: { code: 'pickupUnknown' } });
    expect(decidePickup(row('collected', { kioskId: 'k1', collectedAt: Date.parse('2026-11-25T10:00:00Z') }))).toEqual({ ok: false, notice: { code: 'pickupUsed', detail: 'WEB-1 @ k1 2026-11-25T10:00:00.000Z' } });
    expect(decidePickup(row('collecting', { kioskId: 'k2' }))).toEqual({ ok: false, notice: { code: 'pickupBusy', detail: 'WEB-1 @ k2' } });
  });
});

describe('pickupRecord', () => {
  it('is a valid kiosk/pickup exact record, stamped with the injected time', () => {
    const rec = pickupRecord(order, 'k1', Date.parse('2026-11-25T10:00:00Z'));
    expect(rec).toMatchObject({ ts: '2026-11-25T10:00:00.000Z', kioskId: 'k1', orderId: 'WEB-1', pickupCode: 'ABC123', total: 258, collectedAt: '2026-11-25T10:00:00.000Z' });
    const check = compile(CATALOGUE.kiosk.events.pickup.schema);
    expect(check(rec)).toBe(true);
  });
});
