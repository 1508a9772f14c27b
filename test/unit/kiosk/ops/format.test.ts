/** the ops page's numbers, money and times through Intl, in English and Chinese. */
import { describe, expect, it } from 'vitest';
import { makeFormat } from '../../../../kiosk/ops/format.js';
import { en } from '../../../../kiosk/ops/strings.js';
import { zh } from '../../../../kiosk/ops/stringsZh.js';

const enF = makeFormat('en-GB', en);
const zhF = makeFormat('zh-CN', zh);

describe('ops formatting', () => {
  it('money is minor units with the currency exponent (no /100)', () => {
    expect(enF.money(2417, 'EUR')).toBe('€24.17');
    expect(enF.money(1500, 'JPY')).toMatch(/^(JP)?¥1,500$/);
    expect(enF.money(12500, 'KWD').replace(/\s/g, ' ')).toBe('KWD 12.500');
    expect(zhF.money(12500, 'KWD')).toContain('12.500');
    expect(enF.money(null, 'EUR')).toBe('–');
  });

  it('percents, counts and relative times in the locale', () => {
    expect(enF.percent(0.12)).toBe('12.0%');
    expect(enF.num(12345)).toBe('12,345');
    const now = Date.parse('2026-03-02T10:00:00Z');
    expect(enF.ago(now - 5_000, now)).toBe('5 s ago');
    expect(zhF.ago(now - 5_000, now)).toBe('5 秒前');
    expect(zhF.ago(now - 3 * 3600_000, now)).toBe('3 小时前');
    expect(zhF.ago(null, now)).toBe('从未');
    expect(zhF.ageS(7300)).toBe('2.0 小时');
  });
});

describe('ops strings', () => {
  const shape = (o: Record<string, unknown>): string[] => Object.entries(o).flatMap(([k, v]) => (v && typeof v === 'object' ? shape(v as Record<string, unknown>).map((x) => `${k}.${x}`) : [k]));

  it('Chinese has every English key, nested tables included', () => {
    expect(shape(zh as unknown as Record<string, unknown>).sort()).toEqual(shape(en as unknown as Record<string, unknown>).sort());
  });

  it('Chinese texts are Chinese (names and codes excepted)', () => {
    const notChinese = Object.entries(zh).filter(([k, v]) => typeof v === 'string' && !/[\u4e00-\u9fff]/.test(v) && !['langSwitch'].includes(k));
    expect(notChinese).toEqual([]);
  });
});
