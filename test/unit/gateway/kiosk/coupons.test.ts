/**
 * Coupons, the pure parts: the signed `CP1:` code and its verification, GS1 AI 8110/8112 coupon
 * codes (worked examples and garbage that never throws), and the rules on a priced cart (amount
 * and percent off, minimum spend, stacking, member-only, the split over lines and VAT rates).
 */
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { createHqSigner } from '../../../sim/hqSigner.js';
import { issueCouponCode } from '../../../sim/couponIssuer.js';
import { couponCodeOf, typedCouponOf, MAX_COUPON_CODE_CHARS } from '../../../../gateway/kiosk/coupons/couponCode.js';
import { parseGs1Coupon } from '../../../../gateway/kiosk/coupons/gs1Coupon.js';
import { COUPON_REFUSALS, verifyCoupon, type CouponLookup, type CouponVerifyContext } from '../../../../gateway/kiosk/coupons/couponVerify.js';
import { allocate, applyCoupons, NOT_APPLIED_REASONS, type CartCoupon } from '../../../../gateway/kiosk/coupons/couponPricing.js';
import type { CouponDefT } from '../../../../gateway/protocol/schemas/feeds/coupons.js';
import { couponDefError } from '../../../../gateway/protocol/schemas/feeds/coupons.js';
import { memberKeyring } from '../../../../gateway/kiosk/memberVerify.js';
import { vatBreakdown } from '../../../../gateway/kiosk/vat.js';
import { STRINGS } from '../../../../kiosk/checkout/strings.js';

const NOW = Date.parse('2026-12-05T10:00:00.000Z');
const NOW_S = NOW / 1000;
const hq = createHqSigner({ kid: 'hq-2026' });
const other = createHqSigner({ kid: 'hq-other' });
const keys = memberKeyring([{ pem: hq.publicKeyPem }]);

const def = (over: Partial<CouponDefT> & { id: string }): CouponDefT => ({ label: { en: over.id }, target: { kind: 'basket' }, stacking: 'combinable', use: 'multi', amountOff: 100, ...over });
const DEFS: CouponDefT[] = [
  def({ id: 'TENOFF', use: 'single', percentOffBp: 1000, amountOff: undefined }),
  def({ id: 'SPRING', code: 'SPRING5', amountOff: 500 }),
  def({ id: 'XMAS', codePrefix: 'XMAS-', use: 'single' }),
  def({ id: 'GS1A', gs1: { companyPrefix: '0614141', offerCode: '123456' }, use: 'single', amountOff: 75 }),
];
function lookup(revoked: Record<string, string> = {}): CouponLookup {
  return {
    byId: (id) => DEFS.find((d) => d.id === id),
    byCode: (c) => DEFS.find((d) => d.code === c),
    byPrefix: (c) => DEFS.find((d) => d.codePrefix !== undefined && c.startsWith(d.codePrefix)),
    byGs1: (p, o) => DEFS.find((d) => d.gs1?.companyPrefix === p && d.gs1.offerCode === o),
    revoked: (id, serial) => revoked[`${id}/${serial}`],
  };
}
const ctx = (over: Partial<CouponVerifyContext> = {}): CouponVerifyContext => ({ keys, now: NOW, member: null, coupons: lookup(), ...over });
const verifyText = (text: string, c = ctx()) => {
  const code = typedCouponOf(text);
  if (!code.ok) return code;
  return verifyCoupon(code.code, c);
};

describe('signed coupon codes (CP1:)', () => {
  it('verify offline with HQ key, give the single-use key, and fit a small QR', () => {
    const text = issueCouponCode(hq, { couponId: 'TENOFF', serial: 'A0001', expires: NOW_S + 86_400 });
    expect(text.length).toBeLessThanOrEqual(MAX_COUPON_CODE_CHARS);
    expect(text.length).toBeLessThan(140);
    const r = verifyText(text);
    expect(r).toMatchObject({ ok: true, coupon: { couponId: 'TENOFF', serial: 'A0001', useKey: 'TENOFF/A0001', via: 'signed' } });
    // A scanner's QR symbology identifier in front changes nothing.
    expect(verifyText(`]Q1${text}`)).toMatchObject({ ok: true });
  });

  it('refuse by name: unknown key, bad signature, expired, unknown coupon, revoked serial, no serial on a single-use one', () => {
    expect(verifyText(issueCouponCode(other, { couponId: 'TENOFF', serial: 'A1', expires: NOW_S + 60 }))).toMatchObject({ ok: false, reason: 'unknownKey' });
    const forged = issueCouponCode(other, { couponId: 'TENOFF', serial: 'A1', expires: NOW_S + 60, kid: Object.keys(Object.fromEntries(keys))[0] });
    expect(verifyText(forged)).toMatchObject({ ok: false, reason: 'badSignature' });
    expect(verifyText(issueCouponCode(hq, { couponId: 'TENOFF', serial: 'A1', expires: NOW_S - 1 }))).toMatchObject({ ok: false, reason: 'expired' });
    expect(verifyText(issueCouponCode(hq, { couponId: 'NOPE', serial: 'A1', expires: NOW_S + 60 }))).toMatchObject({ ok: false, reason: 'unknown' });
    expect(verifyText(issueCouponCode(hq, { couponId: 'TENOFF', serial: 'A1', expires: NOW_S + 60 }), ctx({ coupons: lookup({ 'TENOFF/A1': 'reported stolen' }) }))).toMatchObject({ ok: false, reason: 'revoked', detail: 'revoked: reported stolen' });
    expect(verifyText(issueCouponCode(hq, { couponId: 'TENOFF', serial: 'A2', expires: NOW_S + 60 }), ctx({ coupons: lookup({ 'TENOFF/': 'campaign withdrawn' }) }))).toMatchObject({ ok: false, reason: 'revoked' });
    expect(verifyText(issueCouponCode(hq, { couponId: 'TENOFF', expires: NOW_S + 60 }))).toMatchObject({ ok: false, reason: 'malformed' });
  });

  it('a changed byte or any text never throws and is refused with a named reason', () => {
    const text = issueCouponCode(hq, { couponId: 'TENOFF', serial: 'A0001', expires: NOW_S + 86_400 });
    const raw = Buffer.from(text.slice(4), 'base64url');
    fc.assert(
      fc.property(fc.nat(raw.length - 1), fc.integer({ min: 1, max: 255 }), (i, x) => {
        const b = Buffer.from(raw);
        b[i] ^= x;
        const r = verifyText(`CP1:${b.toString('base64url')}`);
        expect(r.ok).toBe(false);
      }),
      { seed: 18_3, numRuns: 300 },
    );
    fc.assert(
      fc.property(fc.oneof(fc.string({ maxLength: 300 }), fc.string({ maxLength: 300 }).map((s) => `CP1:${s}`), fc.uint8Array({ maxLength: 200 }).map((u) => `CP1:${Buffer.from(u).toString('base64url')}`)), (s) => {
        const r = verifyText(s);
        if (!r.ok) expect(typeof r.reason).toBe('string');
      }),
      { seed: 18_4, numRuns: 500 },
    );
  });
});

describe('GS1 coupon codes (AI 8110, AI 8112)', () => {
  // GCP VLI 1 → 7 digits 0614141 | offer 123456 | save value VLI 3: 075 | requirement VLI 1: 1,
  // code 0, family 123 | field 3 expires 271231 | field 5 serial VLI 3 → 9 digits | field 9 misc.
  const C8110 = '8110' + '1' + '0614141' + '123456' + '3075' + '11' + '0' + '123' + '3271231' + '53123456789' + '90000';
  it('8110: company prefix, offer code, save value, purchase requirement, expiry and serial', () => {
    expect(parseGs1Coupon(C8110)).toEqual({
      ok: true,
      coupon: { ai: '8110', companyPrefix: '0614141', offerCode: '123456', saveValue: 75, saveValueCode: 0, purchase: { value: 1, code: 0, family: '123' }, expires: '2027-12-31', starts: null, serial: '123456789' },
    });
    // Printed form, the symbology identifier of GS1 DataBar, and a following AI after FNC1 (GS).
    expect(parseGs1Coupon(`(8110)${C8110.slice(4)}`)).toMatchObject({ ok: true, coupon: { serial: '123456789' } });
    expect(couponCodeOf(`]e0${C8110}\u001d21ABC`)).toMatchObject({ ok: true, code: { kind: 'gs1', gs1: { offerCode: '123456' } } });
  });

  it('8112: funder id, offer code, the mandatory serial', () => {
    expect(parseGs1Coupon('8112' + '0' + '1' + '0614141' + '123456' + '2' + '12345678')).toMatchObject({ ok: true, coupon: { ai: '8112', companyPrefix: '0614141', offerCode: '123456', serial: '12345678', saveValue: null } });
    expect(parseGs1Coupon('8112' + '2' + '1' + '0614141' + '123456' + '212345678')).toMatchObject({ ok: false, detail: 'AI 8112 format code: 2 is not 0 or 1' });
    expect(parseGs1Coupon('8112' + '0' + '1' + '0614141' + '123456' + '9123456789')).toMatchObject({ ok: false, detail: 'AI 8112 serial number: truncated' });
  });

  it('maps to the feed definition by prefix and offer, single use by its serial; an EAN-13 of GS1 Italy is no coupon', () => {
    expect(verifyText(C8110)).toMatchObject({ ok: true, coupon: { couponId: 'GS1A', useKey: 'GS1A/123456789', via: 'gs1' } });
    expect(verifyText(C8110.replace('3271231', '3251231'))).toMatchObject({ ok: false, reason: 'expired' });
    expect(couponCodeOf('8110123456789')).toBeNull();
    expect(parseGs1Coupon(C8110.replace('3271231', '3271331'))).toMatchObject({ ok: false, detail: 'AI 8110 expiration date: 271331 is not a date YYMMDD' });
    expect(parseGs1Coupon(C8110 + '1')).toMatchObject({ ok: false });
  });

  it('never throws on garbage after the AI (seeded)', () => {
    fc.assert(
      fc.property(fc.constantFrom('8110', '8112', '(8110)', '(8112)', ']e08110', ']C18112'), fc.oneof(fc.stringMatching(/^[0-9]{0,80}$/), fc.string({ maxLength: 90 })), (ai, rest) => {
        const r = couponCodeOf(ai + rest);
        if (r !== null && !r.ok) expect(r.detail).toMatch(/^AI 811[02]/);
      }),
      { seed: 18_5, numRuns: 2000 },
    );
  });
});

describe('plain typed codes', () => {
  it('a public code is multi-use; a prefixed one is single-use by what follows the prefix', () => {
    expect(verifyText(' spring5 ')).toMatchObject({ ok: true, coupon: { couponId: 'SPRING', useKey: null, via: 'plain' } });
    expect(verifyText('XMAS-00042')).toMatchObject({ ok: true, coupon: { couponId: 'XMAS', serial: '00042', useKey: 'XMAS/00042' } });
    expect(verifyText('NOSUCH')).toMatchObject({ ok: false, reason: 'unknown' });
    expect(verifyText('a')).toMatchObject({ ok: false, reason: 'malformed' });
  });
});

const cc = (d: CouponDefT, serial = ''): CartCoupon => ({ couponId: d.id, serial, useKey: d.use === 'single' ? `${d.id}/${serial}` : null, def: d, via: 'plain' });
const L = (lineId: string, gtin: string, price: number, vatRateBp?: number) => ({ lineId, gtin, price, ...(vatRateBp !== undefined ? { vatRateBp } : {}) });

describe('coupon rules on a priced cart', () => {
  const cart = [L('L1', '4006381333931', 1000, 1900), L('L2', '4006381333948', 500, 700), L('L3', '4006381333955', 250, 700)];

  it('amount and percent off, after promotions (lines come priced), in order; never below zero', () => {
    const r = applyCoupons(cart, [cc(def({ id: 'A', amountOff: 300 })), cc(def({ id: 'P', percentOffBp: 1000, amountOff: undefined }))], NOW, null);
    expect(r.outcomes.map((o) => [o.couponId, o.amount])).toEqual([['A', 300], ['P', 145]]);
    expect(r.lines.reduce((a, l) => a + l.price, 0)).toBe(1750 - 445);
    const big = applyCoupons(cart, [cc(def({ id: 'BIG', amountOff: 99_999 }))], NOW, null);
    expect(big.outcomes[0].amount).toBe(1750);
    expect(big.lines.every((l) => l.price === 0)).toBe(true);
  });

  it('an item coupon takes only from its lines; none of them in the cart: not applied (noItems)', () => {
    const r = applyCoupons(cart, [cc(def({ id: 'I', target: { kind: 'items', gtins: ['04006381333948'] }, amountOff: 600 }))], NOW, null);
    expect(r.outcomes[0]).toMatchObject({ applied: true, amount: 500 });
    expect(r.lines.map((l) => l.price)).toEqual([1000, 0, 250]);
    expect(applyCoupons(cart, [cc(def({ id: 'I', target: { kind: 'items', gtins: ['12345670'] } }))], NOW, null).outcomes[0]).toMatchObject({ applied: false, reason: 'noItems' });
  });

  it('minimum spend on the basket before coupons, re-checked on each pricing; what is missing is said', () => {
    const d = def({ id: 'MIN', minSpend: 2000, amountOff: 200 });
    expect(applyCoupons(cart, [cc(d)], NOW, null).outcomes[0]).toMatchObject({ applied: false, reason: 'minSpend', missing: 250 });
    const more = [...cart, L('L4', '4006381333962', 250)];
    const r = applyCoupons(more, [cc(d)], NOW, null);
    expect(r.outcomes[0]).toMatchObject({ applied: true, amount: 200 });
    // Pricing again what came out (coupon parts on the lines) gives the same result: no double discount.
    expect(applyCoupons(r.lines, [cc(d)], NOW, null)).toEqual(r);
  });

  it('stacking: an exclusive coupon stands alone, whichever comes first; combinable ones add up', () => {
    const ex = cc(def({ id: 'EX', stacking: 'exclusive', amountOff: 100 }));
    const c1 = cc(def({ id: 'C1', amountOff: 100 }));
    const c2 = cc(def({ id: 'C2', amountOff: 100 }));
    expect(applyCoupons(cart, [ex, c1], NOW, null).outcomes.map((o) => o.reason ?? 'ok')).toEqual(['ok', 'notCombinable']);
    expect(applyCoupons(cart, [c1, ex, c2], NOW, null).outcomes.map((o) => o.reason ?? 'ok')).toEqual(['ok', 'notCombinable', 'ok']);
  });

  it('member only (and tier), validity window', () => {
    const m = cc(def({ id: 'M', memberOnly: true, tiers: ['gold'] }));
    expect(applyCoupons(cart, [m], NOW, null).outcomes[0].reason).toBe('memberOnly');
    expect(applyCoupons(cart, [m], NOW, { id: 'M-1', tier: 'silver' }).outcomes[0].reason).toBe('memberOnly');
    expect(applyCoupons(cart, [m], NOW, { id: 'M-1', tier: 'gold' }).outcomes[0].applied).toBe(true);
    expect(applyCoupons(cart, [cc(def({ id: 'V', validTo: '2026-12-01T00:00:00Z' }))], NOW, null).outcomes[0].reason).toBe('expired');
    expect(applyCoupons(cart, [cc(def({ id: 'V', validFrom: '2026-12-06T00:00:00Z' }))], NOW, null).outcomes[0].reason).toBe('notYetValid');
  });

  it('VAT: the discount is split over the lines by price (largest remainder), and each rate is taxed on what is left', () => {
    // 300 off a 1750 basket: 19 % lines 1000 → 171.43 → 171, 7 % lines 500 → 85.71 → 86 (largest remainder), 250 → 42.86 → 43.
    const r = applyCoupons(cart, [cc(def({ id: 'A', amountOff: 300 }))], NOW, null);
    expect(r.lines.map((l) => (l as { couponOff?: number }).couponOff)).toEqual([171, 86, 43]);
    expect(vatBreakdown(r.lines)).toEqual([
      { rateBp: 1900, gross: 829, net: 697, vat: 132 },
      { rateBp: 700, gross: 621, net: 580, vat: 41 },
    ]);
  });

  it('the split always adds up to the discount and never takes a line below zero (seeded)', () => {
    fc.assert(
      fc.property(fc.array(fc.nat(100_000), { minLength: 1, maxLength: 30 }), fc.nat(5_000_000), (ws, amt) => {
        const sum = ws.reduce((a, b) => a + b, 0);
        const amount = Math.min(amt, sum);
        const parts = allocate(amount, ws);
        expect(parts.reduce((a, b) => a + b, 0)).toBe(sum === 0 ? 0 : amount);
        parts.forEach((p, i) => expect(p).toBeLessThanOrEqual(ws[i]));
      }),
      { seed: 18_6, numRuns: 1000 },
    );
  });

  it('a definition with both or neither discount, or tiers without memberOnly, is refused by name', () => {
    expect(couponDefError(def({ id: 'X', amountOff: 1, percentOffBp: 1 }))).toMatch(/exactly one/);
    expect(couponDefError(def({ id: 'X', tiers: ['gold'] }))).toMatch(/tiers/);
    expect(couponDefError(def({ id: 'X' }))).toBeNull();
  });
});

describe('coupon notices on the kiosk page', () => {
  it.each(['en', 'zh'] as const)('%s has a text for every refusal and every reason a coupon does not apply', (lang) => {
    const t = STRINGS[lang];
    const codes = ['couponApplied', ...COUPON_REFUSALS.map((r) => `coupon_${r}`), ...NOT_APPLIED_REASONS.map((r) => `couponNotApplied_${r}`)];
    expect(codes.filter((c) => !Object.hasOwn(t.notices, c))).toEqual([]);
    expect(NOT_APPLIED_REASONS.filter((r) => !Object.hasOwn(t.couponReasons, r))).toEqual([]);
  });
});
