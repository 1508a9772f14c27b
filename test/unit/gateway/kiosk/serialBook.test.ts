/** The book of serialised items: GTIN forms are one item, a block outranks a sale, exemptions expire. */
import { describe, expect, it } from 'vitest';
import { SerialBook } from '../../../../gateway/kiosk/serialBook.js';
import { serialsOfSale, soldSerialSteps } from '../../../../gateway/kiosk/serialStore.js';

describe('SerialBook', () => {
  it('keys an item by GTIN-14 and serial: 13- and 14-digit forms are one item, another GTIN with the same serial is another', () => {
    const b = new SerialBook();
    b.addSold([{ gtin: '4006381333931', serial: '5', transactionId: 't1' }]);
    expect(b.stateOf('04006381333931', '5')).toBe('soldHere');
    expect(b.soldIn('04006381333931', '5')).toBe('t1');
    expect(b.stateOf('4006381333948', '5')).toBeNull();
    expect(b.stateOf('4006381333931', '6')).toBeNull();
  });

  it('stolen or recalled outranks a sale here; soldElsewhere does not', () => {
    const b = new SerialBook();
    b.addSold([{ gtin: '4006381333931', serial: '1', transactionId: 't1' }, { gtin: '4006381333931', serial: '2', transactionId: 't1' }]);
    b.setFlags([{ gtin: '4006381333931', serial: '1', state: 'stolen' }, { gtin: '4006381333931', serial: '2', state: 'soldElsewhere' }, { gtin: '4006381333931', serial: '3', state: 'recalled' }]);
    expect(['1', '2', '3', '4'].map((s) => b.stateOf('4006381333931', s))).toEqual(['stolen', 'soldHere', 'recalled', null]);
  });

  it('an exemption holds until its time, then is forgotten', () => {
    const b = new SerialBook();
    b.setExemption({ gtin: '4006381333931', serial: '1', until: 1000, by: 'ann', reason: 'demo' });
    expect(b.exemption('04006381333931', '1', 999)).toMatchObject({ by: 'ann' });
    expect(b.exemption('4006381333931', '1', 1000)).toBeNull();
    expect(b.exemption('4006381333931', '1', 0)).toBeNull();
  });
});

describe('a voided sale', () => {
  it('releases its serials, but not one another sale sold since', () => {
    const b = new SerialBook();
    b.addSold([{ gtin: '80614141123458', serial: '1', transactionId: 't1' }, { gtin: '80614141123458', serial: '2', transactionId: 't1' }]);
    b.addSold([{ gtin: '80614141123458', serial: '2', transactionId: 't2' }]); // sold again (an attendant let it)
    b.release([{ gtin: '80614141123458', serial: '1', transactionId: 't1' }, { gtin: '80614141123458', serial: '2', transactionId: 't1' }]);
    expect(b.soldIn('80614141123458', '1')).toBeUndefined();
    expect(b.soldIn('80614141123458', '2')).toBe('t2');
  });
});

describe('a sale record’s serials', () => {
  it('are the serials of its lines, GTINs as GTIN-14; a sale without serials writes nothing more', () => {
    const rec = { transactionId: 'tx1', kioskId: 'k1', lines: [{ gtin: '4006381333931', serials: ['1', '2'] }, { gtin: '4000000000017' }] };
    expect(serialsOfSale(rec)).toEqual([
      { gtin: '04006381333931', serial: '1', transactionId: 'tx1' },
      { gtin: '04006381333931', serial: '2', transactionId: 'tx1' },
    ]);
    expect(soldSerialSteps(rec, 5)[0].rows).toEqual([
      ['04006381333931', '1', 'tx1', 'k1', 5],
      ['04006381333931', '2', 'tx1', 'k1', 5],
    ]);
    expect(soldSerialSteps({ ...rec, lines: [{ gtin: '4000000000017' }] }, 5)).toEqual([]);
  });
});
