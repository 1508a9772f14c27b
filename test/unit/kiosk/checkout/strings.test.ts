/**
 * every notice the gateway can send a kiosk page has a text in each language. The codes
 * are read from the gateway's kiosk sources (`code: 'x'` in a notice, also in a conditional), so
 * a code added there without its two lines here fails this test.
 */
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { noticeText, STRINGS } from '../../../../kiosk/checkout/strings.js';
import { loadChoice, saveChoice, shownLang } from '../../../../kiosk/checkout/language.js';
import { PAYMENT_PROMPTS } from '../../../../gateway/protocol/schemas/payment.js';

const DIR = path.resolve('gateway/kiosk');

/** Notice codes in the gateway's kiosk sources: string literals after `code:` up to the end of that expression. */
function gatewayNoticeCodes(): { codes: Set<string>; dynamic: string[] } {
  const codes = new Set<string>();
  const dynamic: string[] = [];
  for (const f of readdirSync(DIR).filter((n) => n.endsWith('.ts'))) {
    const src = readFileSync(path.join(DIR, f), 'utf8');
    for (const m of src.matchAll(/\bcode: ([^,;}\n]+(?:\?[^;}\n]*)?)/g)) {
      const expr = m[1];
      if (/^`/.test(expr.trim())) dynamic.push(`${f}: ${expr.trim()}`);
      // Lower-camel literals are notice codes; SGW_ERR_* are wire error codes, not shown as notices.
      // A literal right at the start or as a branch of a conditional (`a ? 'x' : 'y'`), not one inside a test (`=== 'age'`).
      for (const lit of expr.matchAll(/(?:^|[?:])\s*'([a-z][A-Za-z0-9_]*)'/g)) codes.add(lit[1]);
    }
  }
  return { codes, dynamic };
}

describe('kiosk notices in English and Chinese', () => {
  const { codes, dynamic } = gatewayNoticeCodes();

  it('finds the codes the gateway sends (sanity: known ones are among them)', () => {
    for (const c of ['unknownItem', 'badCode', 'wrongCurrency', 'payment_declined', 'payment_timeout', 'payment_cancelled', 'ageCheck', 'needsAttendant', 'pickupUsed', 'pickupFinishCart']) expect(codes).toContain(c);
  });

  it('no notice code is built at run time (it could not be enumerated)', () => {
    expect(dynamic).toEqual([]);
  });

  it.each(['en', 'zh'] as const)('%s has a text for every code', (lang) => {
    const missing = [...codes].filter((c) => !Object.hasOwn(STRINGS[lang].notices, c)).sort();
    expect(missing).toEqual([]);
  });

  it('both languages have the same codes, and Chinese texts are Chinese', () => {
    expect(Object.keys(STRINGS.zh.notices).sort()).toEqual(Object.keys(STRINGS.en.notices).sort());
    for (const [code, text] of Object.entries(STRINGS.zh.notices)) expect(text, code).toMatch(/[\u4e00-\u9fff]/);
  });

  it('a detail fills {detail}; an unknown code asks for an attendant instead of showing the code', () => {
    expect(noticeText(STRINGS.zh, { code: 'wrongCurrency', detail: 'USD' })).toContain('USD');
    expect(noticeText(STRINGS.en, { code: 'noSuchCode' })).toBe(STRINGS.en.noticeOther);
    expect(noticeText(STRINGS.zh, { code: 'toString' })).toBe(STRINGS.zh.noticeOther);
  });
});

describe('card terminal prompts in English and Chinese', () => {
  it.each(['en', 'zh'] as const)('%s has a text for every prompt of the payment contract, and no other', (lang) => {
    expect(Object.keys(STRINGS[lang].prompts).sort()).toEqual([...PAYMENT_PROMPTS].sort());
    for (const p of PAYMENT_PROMPTS) expect(STRINGS[lang].prompts[p], p).toMatch(lang === 'zh' ? /[\u4e00-\u9fff]/ : /^[A-Z]/);
  });
});

describe('the kiosk language lasts one session', () => {
  it('a pick applies to its session only; any other session shows the store default', () => {
    expect(shownLang({ lang: 'zh', sessionId: 's1' }, 's1', 'en')).toBe('zh');
    expect(shownLang({ lang: 'zh', sessionId: 's1' }, 's2', 'en')).toBe('en');
    expect(shownLang({ lang: 'en', sessionId: 's1' }, 's2', 'zh')).toBe('zh');
    expect(shownLang(null, 's1', 'zh')).toBe('zh');
    expect(shownLang({ lang: 'zh', sessionId: 's1' }, null, 'en')).toBe('en');
  });

  it('the stored pick keeps its session; a bare "zh" from an older page is forgotten', () => {
    const m = new Map<string, string>();
    const storage = { getItem: (k: string) => m.get(k) ?? null, setItem: (k: string, v: string) => void m.set(k, v), removeItem: (k: string) => void m.delete(k) } as Storage;
    saveChoice(storage, { lang: 'zh', sessionId: 's9' });
    expect(loadChoice(storage)).toEqual({ lang: 'zh', sessionId: 's9' });
    m.set('kiosk.lang', 'zh');
    expect(loadChoice(storage)).toBeNull();
    saveChoice(storage, null);
    expect(loadChoice(storage)).toBeNull();
  });
});
