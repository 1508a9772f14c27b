/** The mark of the terminal's last transaction: "newer" counts forward on wrapping counters, and proves nothing when unknown. */
import { describe, expect, it } from 'vitest';
import { isNewer, markOf } from '../../../firmware-bridge/devices/zvt/lastTransaction.js';

describe('isNewer', () => {
  it('the trace decides, forward only, across the wrap at 999999', () => {
    expect(isNewer({ trace: '000472' }, { trace: '000471' })).toBe(true);
    expect(isNewer({ trace: '000471' }, { trace: '000471' })).toBe(false);
    expect(isNewer({ trace: '000470' }, { trace: '000471' })).toBe(false);
    expect(isNewer({ trace: '000002' }, { trace: '999998' })).toBe(true);
    expect(isNewer({ trace: '999998' }, { trace: '000002' })).toBe(false);
  });
  it('falls back to the receipt number (wrapping at 9999) only when a trace is missing', () => {
    expect(isNewer({ receiptNo: '0001' }, { receiptNo: '9999' })).toBe(true);
    expect(isNewer({ trace: '000500', receiptNo: '0001' }, { receiptNo: '0002' })).toBe(false);
    expect(isNewer({ trace: '000400', receiptNo: '0009' }, { trace: '000500', receiptNo: '0002' })).toBe(false);
  });
  it('an unknown or unreadable mark proves nothing', () => {
    expect(isNewer({ trace: '000472' }, undefined)).toBe(false);
    expect(isNewer({ trace: '000472' }, {})).toBe(false);
    expect(isNewer({ trace: '00x472' }, { trace: '000471' })).toBe(false);
  });
  it('markOf keeps only the numbers a Status-Information carries', () => {
    expect(markOf({ resultCode: 0, amount: 5 })).toBeUndefined();
    expect(markOf({ resultCode: 0, trace: '000471', receiptNo: '0471' })).toEqual({ trace: '000471', receiptNo: '0471' });
  });
});
