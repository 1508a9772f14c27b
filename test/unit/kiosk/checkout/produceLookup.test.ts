/**
 * The kiosk page's pure parts of the produce lookup and the sound cues: what a typed query or a
 * letter leaves in the list, and which cue a new cart view calls for.
 */
import { describe, expect, it } from 'vitest';
import { matchProduce, produceName } from '../../../../kiosk/checkout/screens/ProduceLookup.js';
import { cueFor } from '../../../../kiosk/checkout/sounds.js';
import type { CartView } from '../../../../gateway/protocol/schemas/kiosk.js';

const LIST: CartView['produce'] = [
  { gtin: '2000000000015', name: 'Bananas', nameZh: '香蕉', plu: '4011', price: 199 },
  { gtin: '2000000000053', name: 'Broccoli', nameZh: '西兰花', plu: '3082', price: 259 },
  { gtin: '2000000000022', name: 'Carrots', nameZh: '胡萝卜', plu: '4562', price: 129 },
  { gtin: '2000000000008', name: 'Gouda', price: 1490 },
];
const names = (l: typeof LIST) => l.map((p) => p.name);

describe('produce lookup filter', () => {
  it('digits match a PLU from its start; letters a name anywhere, EN or ZH; the strip a first letter', () => {
    expect(names(matchProduce(LIST, '4', null))).toEqual(['Bananas', 'Carrots']);
    expect(names(matchProduce(LIST, '4011', null))).toEqual(['Bananas']);
    expect(names(matchProduce(LIST, '011', null))).toEqual([]);
    expect(names(matchProduce(LIST, 'ROT', null))).toEqual(['Carrots']);
    expect(names(matchProduce(LIST, '萝卜', null))).toEqual(['Carrots']);
    expect(names(matchProduce(LIST, '', 'B'))).toEqual(['Bananas', 'Broccoli']);
    expect(names(matchProduce(LIST, '', null))).toEqual(names(LIST));
    expect(produceName(LIST[0]!, 'zh')).toBe('香蕉');
    expect(produceName(LIST[3]!, 'zh')).toBe('Gouda');
  });
});

describe('sound cues', () => {
  const v = (o: Partial<Parameters<typeof cueFor>[1]> = {}) => ({ sessionId: 's1', lines: [] as { qty: number }[], notice: null, requests: [] as unknown[], helpCalled: false, ...o });
  it('accept on a new piece, error on a new notice or request, help when help is called; nothing on a new session', () => {
    let seen = cueFor(null, v()).seen;
    const step = (o: Partial<Parameters<typeof cueFor>[1]>) => {
      const r = cueFor(seen, v(o));
      seen = r.seen;
      return r.cue;
    };
    expect(step({ lines: [{ qty: 1 }] })).toBe('accept');
    expect(step({ lines: [{ qty: 2 }] })).toBe('accept');
    expect(step({ lines: [{ qty: 1 }] })).toBe(null);
    expect(step({ lines: [{ qty: 1 }], notice: { code: 'unknownItem' }, helpCalled: true })).toBe('error');
    expect(step({ lines: [{ qty: 1 }], notice: { code: 'unknownItem' }, helpCalled: true })).toBe(null);
    expect(step({ lines: [{ qty: 1 }], helpCalled: false })).toBe(null);
    expect(step({ lines: [{ qty: 1 }], helpCalled: true })).toBe('help');
    expect(step({ lines: [{ qty: 1 }], notice: { code: 'memberOk' } })).toBe(null);
    expect(step({ lines: [{ qty: 1 }], requests: [{}] })).toBe('error');
    expect(step({ sessionId: 's2', lines: [{ qty: 5 }] })).toBe(null);
  });
});
