/**
 * A terminal's events as the kiosk reads them: the result's references go into the machine's
 * action (and from there into the sale record and a reversal), a status becomes the page's prompt
 * only when it names a known prompt; and the prompt book shows a prompt for the open payment only.
 * Events reach this code after their schema check, but the readers must not throw on anything.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import pino from 'pino';
import { paymentInFlightOf, promptOf, resultAction, terminalRefsOf } from '../../../../gateway/kiosk/paymentEvents.js';
import { PaymentPrompts } from '../../../../gateway/kiosk/paymentPrompts.js';
import { newSession, step, type Ctx, type Session } from '../../../../gateway/kiosk/sessionMachine.js';
import type { KioskPaymentPrompt } from '../../../../gateway/protocol/schemas/kiosk.js';

const T0 = Date.parse('2026-03-02T10:00:00Z');
const REFS = { receiptNo: '0470', trace: '000123', terminalId: '52500038', cardType: 'girocard', maskedPan: '************4771' };

function ctx(): Ctx {
  let n = 0;
  return {
    now: T0,
    quote: (gtin) => (gtin === '4000000000017' ? ({ gtin, name: 'Milk', unit: 'each', currency: 'EUR', base: 129, price: 129, source: 'base', promo: null } as never) : null),
    rules: { removalNeedsAttendant: false, voidNeedsAttendant: false, bagToleranceG: 10, bagTolerancePct: 5, bagNoiseG: 5 },
    newId: () => `id-${++n}`,
  };
}

function paying(c: Ctx): Session {
  let s = newSession('k1', 'sess-1', 'EUR', T0, false);
  s = step(s, { type: 'addItem', gtin: '4000000000017' }, c).session;
  return step(s, { type: 'pay' }, c).session;
}

describe('terminal results', () => {
  it("an approval's references go into the sale record; its receipt lines stay with the payment", () => {
    const c = ctx();
    const s = paying(c);
    const a = resultAction('id-1', { ts: 'x', requestId: 'id-1', status: 'approved', amount: 129, currency: 'EUR', authCode: 'A7', resultCode: 0, ...REFS, receipt: ['KUNDENBELEG', 'Betrag EUR 1.29'], recovered: true });
    expect(a).toEqual({ type: 'paymentResult', requestId: 'id-1', status: 'approved', amount: 129, currency: 'EUR', authCode: 'A7', terminal: REFS, receipt: ['KUNDENBELEG', 'Betrag EUR 1.29'] });
    const r = step(s, a, c);
    expect(r.session.payment).toMatchObject({ status: 'approved', authCode: 'A7', terminal: REFS, receipt: ['KUNDENBELEG', 'Betrag EUR 1.29'] });
    expect(r.effects).toEqual([expect.objectContaining({ type: 'recordTransaction', data: expect.objectContaining({ payment: { requestId: 'id-1', authCode: 'A7', amount: 129, ...REFS } }) })]);
  });

  it('a result without references (an older terminal) adds none', () => {
    expect(resultAction('r', { status: 'declined', amount: 5 })).toEqual({ type: 'paymentResult', requestId: 'r', status: 'declined', amount: 5 });
    expect(terminalRefsOf({ receiptNo: 12, trace: null })).toEqual({});
  });

  it('a reversal names the receipt number of the approval it gives back (mismatch and no sale)', () => {
    const c = ctx();
    const mismatch = step(paying(c), resultAction('id-1', { status: 'approved', amount: 100, currency: 'EUR', ...REFS }), c);
    expect(mismatch.effects).toEqual([{ type: 'reverseCharge', requestId: 'id-1', amount: 100, currency: 'EUR', reason: 'mismatch', receiptNo: '0470' }]);
    const late = step(mismatch.session, resultAction('old', { status: 'approved', amount: 300, currency: 'EUR', receiptNo: '0009' }), c);
    expect(late.effects).toEqual([{ type: 'reverseCharge', requestId: 'old', amount: 300, currency: 'EUR', reason: 'noSale', receiptNo: '0009' }]);
    const without = step(paying(ctx()), resultAction('id-1', { status: 'approved', amount: 100, currency: 'EUR' }), ctx());
    expect(without.effects[0]).not.toHaveProperty('receiptNo');
  });

  it('property (seeded): the readers never throw on any object, and a prompt is only a known one', () => {
    fc.assert(
      fc.property(fc.dictionary(fc.constantFrom('requestId', 'prompt', 'code', 'text', 'status', 'amount', 'receipt', 'receiptNo', 'maskedPan', 'x'), fc.anything()), (d) => {
        const a = resultAction('r', d);
        expect(a.requestId).toBe('r');
        if (a.receipt) for (const l of a.receipt) expect(typeof l).toBe('string');
        const p = promptOf(d);
        if (p) expect(['insertCard', 'presentCard', 'enterPin', 'pinWrong', 'pleaseWait', 'removeCard', 'tryAgain', 'notAccepted', 'processing', 'other']).toContain(p.prompt);
        expect(p === null || p.requestId === d.requestId).toBe(true);
      }),
      { seed: 1616, numRuns: 500 },
    );
  });
});

describe('end of day and the kiosk', () => {
  it("a terminal is busy while its kiosk is paying, not before or after; another kiosk's payment does not count", () => {
    const c = ctx();
    const devices = { k1: { payment: 'pay-1' }, k2: { payment: 'pay-2' }, k3: {} };
    const sessions = new Map<string, Session>([['k2', paying(c)]]);
    const busy = () => paymentInFlightOf(devices, (id) => sessions.get(id), 'pay-1');
    expect(busy()).toBeNull();
    sessions.set('k1', newSession('k1', 's', 'EUR', T0, false));
    expect(busy()).toBeNull();
    const s = paying(ctx());
    sessions.set('k1', s);
    expect(busy()).toEqual({ kioskId: 'k1', requestId: 'id-1' });
    const approved = step(s, { type: 'paymentResult', requestId: 'id-1', status: 'approved', amount: 129, currency: 'EUR' }, ctx()).session;
    sessions.set('k1', approved);
    expect(busy()).toEqual({ kioskId: 'k1', requestId: 'id-1' }); // the sale is still being written
    sessions.set('k1', step(approved, { type: 'recorded', transactionId: 'sess-1' }, ctx()).session);
    expect(busy()).toBeNull(); // done: the payment is settled
  });
});

describe('prompt book', () => {
  const log = pino({ level: 'silent' });

  it("shows a prompt for the kiosk's open payment only, keeps the latest, and forgets it with the payment", () => {
    const c = ctx();
    let s = paying(c);
    const sent: KioskPaymentPrompt[] = [];
    let ignored = 0;
    const book = new PaymentPrompts({ session: () => s, emit: (_id, m) => sent.push(m), log, onIgnored: () => ignored++ });
    book.onStatus('k1', { requestId: 'other', prompt: 'insertCard' });
    book.onStatus('k1', { requestId: 'id-1', prompt: 'noSuchPrompt' });
    book.onStatus('k1', { requestId: 'id-1', prompt: 'insertCard', code: 10 });
    book.onStatus('k1', { requestId: 'id-1', prompt: 'enterPin', code: 1, text: 'PIN eingeben' });
    expect(ignored).toBe(2);
    expect(sent.map((m) => m.prompt)).toEqual(['insertCard', 'enterPin']);
    expect(book.current('k1')).toEqual({ type: 'paymentPrompt', requestId: 'id-1', prompt: 'enterPin', code: 1, text: 'PIN eingeben' });
    s = step(s, { type: 'paymentResult', requestId: 'id-1', status: 'approved', amount: 129, currency: 'EUR' }, c).session;
    book.sessionChanged(s);
    expect(book.current('k1')).toBeNull();
    // After the approval a late status is not shown either.
    book.onStatus('k1', { requestId: 'id-1', prompt: 'removeCard' });
    expect(sent).toHaveLength(2);
    expect(ignored).toBe(3);
  });
});
