/**
 * Which screen a cart view gets (attract, scanning, waiting for help, paying), why an attendant
 * is coming, and the terminal picture for a prompt: the kiosk page's pure choice of screen.
 */
import { describe, expect, it } from 'vitest';
import { cardPictureFor, helpKey, helpReasons, screenFor } from '../../../../kiosk/checkout/screens/phaseScreen.js';
import { PHASE_STRINGS } from '../../../../kiosk/checkout/screens/phaseStrings.js';
import type { CartView } from '../../../../gateway/protocol/schemas/kiosk.js';

const LINE: CartView['lines'][number] = { lineId: 'l1', gtin: '4006381333931', name: 'Milk 1 L', unit: 'each', qty: 1, unitPrice: 129, basePrice: 129, price: 129, saving: 0, ageRestricted: false, source: 'base' };

function cart(over: Partial<CartView> = {}): CartView {
  return {
    type: 'cart', kioskId: 'k1', sessionId: 's1', version: 1, phase: 'idle', lines: [], subtotal: 0, discounts: 0, total: 0, currency: 'EUR', memberCode: null,
    requests: [], helpCalled: false, bagging: { state: 'ok', deltaG: 0 }, payment: null, receipt: null, notice: null, produceWeight: null, produce: [], demo: false,
    ...over,
  };
}
const age = { requestId: 'r-age', kind: 'age' as const, item: 'Red wine', createdAt: '2026-01-01T00:00:00Z' };
const security = { requestId: 'r-sec', kind: 'security' as const, createdAt: '2026-01-01T00:00:00Z' };
const none = { started: false, dismissedHelp: null };

describe('screen per phase', () => {
  it('attract only while idle with an empty cart, nobody touched Start and nothing to help with', () => {
    expect(screenFor(cart(), none)).toBe('attract');
    expect(screenFor(cart(), { started: true, dismissedHelp: null })).toBe('scanning');
    expect(screenFor(cart({ phase: 'shopping', lines: [LINE] }), none)).toBe('scanning');
    expect(screenFor(cart({ helpCalled: true }), none)).toBe('help');
  });

  it('paying wins over help (an override request during payment is a banner on the paying screen)', () => {
    const v = cart({ phase: 'paying', lines: [LINE], requests: [{ ...age, requestId: 'o', kind: 'override' }], payment: { requestId: 'p', amount: 129, status: 'sent' } });
    expect(screenFor(v, none)).toBe('paying');
  });

  it('help for requests, bagging problems and the shopper\'s call; "Keep scanning" dismisses this wait only', () => {
    const v = cart({ phase: 'shopping', lines: [LINE], requests: [age] });
    expect(helpReasons(v)).toEqual(['age']);
    expect(screenFor(v, none)).toBe('help');
    expect(screenFor(v, { started: true, dismissedHelp: helpKey(v) })).toBe('scanning');
    const more = cart({ ...v, requests: [age, security], phase: 'needsAttendant', bagging: { state: 'unexpected', deltaG: 700 } });
    expect(helpReasons(more)).toEqual(['age', 'security']); // the request already says what the scale saw
    expect(screenFor(more, { started: true, dismissedHelp: helpKey(v) })).toBe('help');
    expect(helpReasons(cart({ phase: 'needsAttendant', lines: [LINE], bagging: { state: 'removed', deltaG: -500 } }))).toEqual(['bagRemoved']);
    const called = cart({ ...v, helpCalled: true });
    expect(helpReasons(called)).toEqual(['age']);
    expect(helpKey(called)).not.toBe(helpKey(v));
  });

  it('every reason and picture has words in both languages', () => {
    for (const lang of ['en', 'zh'] as const) {
      for (const r of ['age', 'security', 'removal', 'override', 'void', 'bagUnexpected', 'bagRemoved', 'called'] as const) {
        expect(PHASE_STRINGS[lang].reasons[r].why.length, `${lang} ${r}`).toBeGreaterThan(0);
        expect(PHASE_STRINGS[lang].reasons[r].meanwhile.length, `${lang} ${r}`).toBeGreaterThan(0);
      }
      for (const k of ['insert', 'tap', 'pin', 'any'] as const) expect(PHASE_STRINGS[lang].cardWhere[k].length).toBeGreaterThan(0);
    }
    expect([cardPictureFor('insertCard'), cardPictureFor('presentCard'), cardPictureFor('enterPin'), cardPictureFor('processing'), cardPictureFor(null)]).toEqual(['insert', 'tap', 'pin', 'any', 'any']);
  });
});
