/**
 * The post-sale void, pure: refused unknown, twice and too late (each naming the field); the money
 * reversed only when the terminal can (its last payment, with a receipt number), else a refund
 * owed with the reason; the stock given back per line keyed by the transaction; the exact record,
 * what it counts for the KPIs and its couponReleased records; the reversal's command id and answer.
 */
import { describe, expect, it } from 'vitest';
import { checkVoid, refundOf, saleVoidedRecord, voidMovements, voidRecords, type VoidableSale } from '../../../../gateway/kiosk/saleVoid.js';
import { answerOf, reversalCmdId } from '../../../../gateway/kiosk/saleVoidReversal.js';
import { checkEvent } from '../../../../gateway/protocol/validate.js';

const T0 = Date.parse('2026-12-05T10:00:00.000Z');
const sale: VoidableSale = {
  transactionId: 't-1',
  kioskId: 'k1',
  ts: new Date(T0).toISOString(),
  total: 2649,
  currency: 'EUR',
  lines: [
    { gtin: '80614141123458', qty: 2, serials: ['7', '8'] },
    { gtin: '4011', qty: 1, grams: 640 },
  ],
  payment: { requestId: 'p-1', amount: 2649, receiptNo: '0042' },
};
const HOUR = 3600_000;

describe('checkVoid', () => {
  it('a sale in the window may be voided once', () => {
    expect(checkVoid(sale, false, T0 + HOUR, 24 * HOUR, 't-1')).toEqual({ ok: true });
  });
  it('refuses an unknown sale (404), a second void (409) and a sale older than the window (409), each naming the field', () => {
    expect(checkVoid(null, false, T0, HOUR, 't-9')).toMatchObject({ ok: false, status: 404, code: 'SGW_ERR_NOT_FOUND', message: expect.stringMatching(/^params\.transactionId: .*t-9/) });
    expect(checkVoid(sale, true, T0, HOUR, 't-1')).toMatchObject({ ok: false, status: 409, code: 'SGW_ERR_ALREADY_VOIDED' });
    expect(checkVoid(sale, false, T0 + HOUR + 1, HOUR, 't-1')).toMatchObject({ ok: false, status: 409, code: 'SGW_ERR_VOID_TOO_LATE', message: expect.stringContaining('60 min') });
    expect(checkVoid({ ...sale, ts: 'not a time' }, false, T0, HOUR, 't-1')).toMatchObject({ ok: false, code: 'SGW_ERR_VOID_TOO_LATE' });
  });
});

describe('refundOf', () => {
  it("reverses on the terminal only its last payment, by the terminal's receipt number", () => {
    expect(refundOf(sale, 'p-1')).toEqual({ kind: 'reversed', paymentRequestId: 'p-1', amount: 2649, receiptNo: '0042' });
  });
  it('otherwise a refund owed, saying why', () => {
    expect(refundOf(sale, 'p-2')).toMatchObject({ kind: 'owed', amount: 2649, why: expect.stringContaining('only its last one') });
    expect(refundOf(sale, null)).toMatchObject({ kind: 'owed', amount: 2649 });
    expect(refundOf({ ...sale, payment: { requestId: 'p-1', amount: 2649 } }, 'p-1')).toMatchObject({ kind: 'owed', why: expect.stringContaining('receipt number') });
    expect(refundOf({ ...sale, payment: { requestId: 'p-1', amount: 0 } }, 'p-1')).toMatchObject({ kind: 'owed', amount: 0 });
  });
});

describe('what the void gives back', () => {
  it('stock: a return movement per line, keyed by the transaction, weighed lines in grams', () => {
    const m = voidMovements(sale, 'anna', T0 + HOUR);
    expect(m.map((x) => [x.movementId, x.gtin, x.kind, x.qty, x.uom, x.sourceRef, x.actor])).toEqual([
      ['void:t-1:0', '80614141123458', 'return', 2, 'unit', 't-1', 'anna'],
      ['void:t-1:1', '4011', 'return', 640, 'g', 't-1', 'anna'],
    ]);
    expect(voidMovements(sale, 'anna', T0 + 2 * HOUR).map((x) => x.movementId)).toEqual(m.map((x) => x.movementId)); // the same ids however often
  });
  it('the exact saleVoided record: schema-valid, naming the movements and the serials released', () => {
    const rec = saleVoidedRecord(sale, { by: 'anna', role: 'attendant', reason: 'charged twice', refund: refundOf(sale, 'p-1'), now: T0 + HOUR });
    expect(checkEvent('kiosk', 'saleVoided', JSON.stringify(rec))).toMatchObject({ ok: true, cls: 'exact' });
    expect(rec).toMatchObject({ transactionId: 't-1', saleTs: sale.ts, total: 2649, movements: ['void:t-1:0', 'void:t-1:1'], serials: [{ gtin: '80614141123458', serial: '7' }, { gtin: '80614141123458', serial: '8' }] });
  });
});

describe('what the void records and how it reads the terminal', () => {
  it('counts what the sale added to the day (a member, never which), and one couponReleased per coupon after the saleVoided', () => {
    const member = { ...sale, memberCode: 'M-1', points: { earned: 26, spent: 100 }, coupons: [{ couponId: 'C', serial: 'S1', single: true, via: 'signed', amount: 200 }] } as VoidableSale;
    const rec = saleVoidedRecord(member, { by: 'anna', role: 'attendant', reason: 'charged twice', refund: refundOf(member, 'p-1'), now: T0 + HOUR });
    expect(rec.counts).toEqual({ member: true, pointsEarned: 26, pointsSpent: 100, coupons: 1 });
    expect(JSON.stringify(rec)).not.toContain('M-1');
    expect(checkEvent('kiosk', 'saleVoided', JSON.stringify(rec))).toMatchObject({ ok: true });
    const recs = voidRecords(member, rec);
    expect(recs.map((r) => r.type)).toEqual(['saleVoided', 'couponReleased']);
    expect(recs[1]!.data).toEqual({ ts: rec.ts, transactionId: 't-1', kioskId: 'k1', couponId: 'C', serial: 'S1', single: true, via: 'signed', amount: 200, currency: 'EUR' });
    expect(checkEvent('kiosk', 'couponReleased', JSON.stringify(recs[1]!.data))).toMatchObject({ ok: true });
    expect(saleVoidedRecord(sale, { by: 'anna', role: 'attendant', reason: 'x'.repeat(3), refund: refundOf(sale, 'p-1'), now: T0 }).counts).toEqual({ member: false, pointsEarned: 0, pointsSpent: 0, coupons: 0 });
  });

  it('the reversal: one command id per transaction (within 64 characters); the answer read from the command', () => {
    expect(reversalCmdId('t-1')).toBe(reversalCmdId('t-1'));
    expect(reversalCmdId('t-1')).not.toBe(reversalCmdId('t-2'));
    expect(reversalCmdId('x'.repeat(64))).toMatch(/^[A-Za-z0-9._:-]{1,64}$/);
    const c = (state: string, error: string | null = null) => ({ state, error }) as unknown as Parameters<typeof answerOf>[0];
    expect(answerOf(c('acked'), 60_000)).toEqual({ ok: true });
    expect(answerOf(c('failed', 'the terminal refused the reversal (result code 0x64)'), 60_000)).toEqual({ ok: false, why: 'the reversal failed: the terminal refused the reversal (result code 0x64)' });
    expect(answerOf(c('pending'), 60_000)).toMatchObject({ ok: false, why: expect.stringContaining('did not answer the reversal within 60 s') });
    expect(answerOf(c('expired', 'ttl'), 60_000)).toMatchObject({ ok: false, why: expect.stringContaining("check the terminal's journal") });
    expect(answerOf(undefined, 60_000).ok).toBe(false);
    expect(answerOf(c('failed', 'y'.repeat(500)), 60_000)).toMatchObject({ ok: false, why: expect.any(String) });
    expect((answerOf(c('failed', 'y'.repeat(500)), 60_000) as { why: string }).why.length).toBeLessThanOrEqual(200);
  });
});
