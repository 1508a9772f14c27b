import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import {
  VARIABLE_MEASURE_REGIONS,
  createBarcodeParser,
  gtinCheckDigit,
  isValidGtin,
  parseBarcode,
  priceCheckDigit,
  type Gs1Scan,
  type GtinScan,
  type ScanResult,
  type VariableMeasureScan,
} from '../../../../gateway/kiosk/barcodes.js';

const GS = '\u001d';

function gtin(r: ScanResult): GtinScan {
  if (!r.ok || r.kind !== 'gtin') throw new Error(`expected a GTIN, got ${JSON.stringify(r)}`);
  return r;
}
function vm(r: ScanResult): VariableMeasureScan {
  if (!r.ok || r.kind !== 'variableMeasure') throw new Error(`expected a variable-measure code, got ${JSON.stringify(r)}`);
  return r;
}
function gs1(r: ScanResult): Gs1Scan {
  if (!r.ok || r.kind !== 'gs1') throw new Error(`expected a GS1 element string, got ${JSON.stringify(r)}`);
  return r;
}
/** Completes 12 data digits (or any length) with their GTIN check digit. */
const withCheck = (digits: string): string => digits + String(gtinCheckDigit(digits));

describe('GTIN check digit', () => {
  it.each([
    ['590123412345', 7],
    ['400638133393', 1],
    ['03600029145', 2],
    ['950110153100', 0],
    ['9950123454321', 8],
  ])('%s → %i', (digits, check) => {
    expect(gtinCheckDigit(digits)).toBe(check);
    expect(isValidGtin(digits + String(check))).toBe(true);
  });

  it('UPC-A 036000291452 is valid as 12 digits and as GTIN-13/14 with leading zeros', () => {
    expect(isValidGtin('036000291452')).toBe(true);
    expect(isValidGtin('0036000291452')).toBe(true);
    expect(isValidGtin('00036000291452')).toBe(true);
  });

  it('returns −1 for input that is not digits, and isValidGtin refuses other lengths', () => {
    expect(gtinCheckDigit('')).toBe(-1);
    expect(gtinCheckDigit('12a4')).toBe(-1);
    expect(isValidGtin('5901234123457 ')).toBe(false);
    expect(isValidGtin('59012341234')).toBe(false); // 11 digits
    expect(isValidGtin('5901234123458')).toBe(false); // wrong check
  });

  it('property: a valid GTIN of every length is accepted, and any single-digit change is caught', () => {
    fc.assert(
      fc.property(
        fc.constantFrom(7, 11, 12, 13).chain((n) => fc.string({ unit: fc.constantFrom(...'0123456789'), minLength: n, maxLength: n })),
        fc.nat(),
        fc.integer({ min: 1, max: 9 }),
        (data, at, delta) => {
          const code = withCheck(data);
          expect(isValidGtin(code)).toBe(true);
          const parsed = parseBarcode(code);
          expect(parsed.ok).toBe(true);
          if (parsed.ok && parsed.kind === 'gtin') expect(parsed.gtin14).toBe((code.length === 12 ? '0' + code : code).padStart(14, '0'));
          const i = at % code.length;
          const changed = code.slice(0, i) + String((Number(code[i]) + delta) % 10) + code.slice(i + 1);
          expect(isValidGtin(changed)).toBe(false);
          const bad = parseBarcode(changed, { region: 'GB' });
          expect(bad).toMatchObject({ ok: false, code: 'SGW_ERR_BAD_CHECK_DIGIT' });
        },
      ),
      { numRuns: 500 },
    );
  });
});

describe('fixed GTINs and AIM ids', () => {
  it('EAN-13 without an AIM id', () => {
    expect(gtin(parseBarcode('5901234123457'))).toEqual({
      ok: true, kind: 'gtin', data: '5901234123457', symbology: null, format: 'GTIN-13',
      gtin: '5901234123457', gtin14: '05901234123457', restrictedCirculation: false,
    });
  });

  it('UPC-A as 12 digits becomes GTIN-13 with a leading 0, the same as ]E0 sending 13 digits', () => {
    const twelve = gtin(parseBarcode('036000291452'));
    expect(twelve.format).toBe('GTIN-12');
    expect(twelve.gtin).toBe('0036000291452');
    const e0 = gtin(parseBarcode(']E00036000291452'));
    expect(e0.symbology).toBe(']E0');
    expect(e0.gtin).toBe('0036000291452');
    expect(e0.gtin14).toBe(twelve.gtin14);
  });

  it(']E4 EAN-8 keeps 8 digits; its catalog key is padded to 14', () => {
    const r = gtin(parseBarcode(']E496385074'));
    expect(r).toMatchObject({ format: 'GTIN-8', gtin: '96385074', gtin14: '00000096385074', symbology: ']E4' });
  });

  it(']E4 with 13 digits is refused with the symbology named', () => {
    expect(parseBarcode(']E45901234123457')).toMatchObject({ ok: false, code: 'SGW_ERR_UNKNOWN_FORMAT', reason: expect.stringContaining(']E4') });
  });

  it(']E0 with 8 digits is UPC-E, expanded to UPC-A (04252614 → 042100005264)', () => {
    expect(gtin(parseBarcode(']E004252614'))).toMatchObject({ format: 'UPC-E', gtin: '0042100005264', gtin14: '00042100005264' });
    expect(parseBarcode(']E004252615')).toMatchObject({ ok: false, code: 'SGW_ERR_BAD_CHECK_DIGIT' });
    expect(parseBarcode(']E024252614')).toMatchObject({ ok: false, code: 'SGW_ERR_UNKNOWN_FORMAT' });
  });

  it(']I1 ITF-14 and a bare 14-digit GTIN', () => {
    expect(gtin(parseBarcode(']I199501234543218'))).toMatchObject({ format: 'GTIN-14', gtin: '99501234543218', gtin14: '99501234543218' });
    expect(gtin(parseBarcode('99501234543218')).format).toBe('GTIN-14');
  });

  it(']E3 keeps the add-on apart from the item', () => {
    expect(gtin(parseBarcode(']E3590123412345712'))).toMatchObject({ gtin: '5901234123457', addOn: '12' });
    expect(gtin(parseBarcode(']E3590123412345751234'))).toMatchObject({ gtin: '5901234123457', addOn: '51234' });
    expect(parseBarcode(']E35901234123457')).toMatchObject({ ok: false, code: 'SGW_ERR_UNKNOWN_FORMAT' });
  });

  it('an AIM id may also come beside the code (the scan event field)', () => {
    expect(createBarcodeParser()('96385074', ']E4')).toMatchObject({ ok: true, symbology: ']E4', format: 'GTIN-8' });
    expect(createBarcodeParser()('96385074', 'E4')).toMatchObject({ ok: false, code: 'SGW_ERR_UNKNOWN_FORMAT', reason: expect.stringContaining('symbology') });
  });

  it('a trailing CR/LF from a keyboard-wedge scanner is ignored', () => {
    expect(gtin(parseBarcode('5901234123457\r\n')).gtin).toBe('5901234123457');
  });

  it.each([
    ['', 'code'],
    ['hello', 'code'],
    [']C0ABC123', 'symbology'],
    [']E112', 'symbology'],
    [']X', 'symbology'],
    [']E0', 'code'],
    ['59012341234', 'code'], // 11 digits
    ['5'.repeat(600), 'code'],
  ])('unknown format %j names %s', (input, field) => {
    const r = parseBarcode(input);
    expect(r).toMatchObject({ ok: false, code: 'SGW_ERR_UNKNOWN_FORMAT' });
    if (!r.ok) expect(r.reason.startsWith(field)).toBe(true);
  });

  it('a bad GTIN check digit names the expected digit', () => {
    expect(parseBarcode('5901234123458')).toEqual({ ok: false, code: 'SGW_ERR_BAD_CHECK_DIGIT', reason: 'code: GTIN check digit 8 is wrong, expected 7' });
  });
});

describe('variable-measure codes', () => {
  it.each([
    ['2875', 9],
    ['14685', 6],
    ['0299', 6], // GB £2.99 / US $2.99 worked examples
    ['01250', 7], // DE 1.250 kg worked example
  ])('price/weight check digit %s → %i', (value, check) => {
    expect(priceCheckDigit(value)).toBe(check);
  });

  it('price check digit refuses other lengths', () => {
    expect(priceCheckDigit('123')).toBe(-1);
    expect(priceCheckDigit('123456')).toBe(-1);
    expect(priceCheckDigit('12a4')).toBe(-1);
  });

  it('GB £2.99: 2012345602991', () => {
    expect(vm(parseBarcode('2012345602991', { region: 'GB' }))).toEqual({
      ok: true, kind: 'variableMeasure', data: '2012345602991', symbology: null,
      gtin: '2012345602991', gtin14: '02012345602991',
      lookupGtin: '2012345000001', lookupGtin14: '02012345000001',
      region: 'GB', prefix: '20', measure: 'price', priceMinor: 299, currency: 'GBP',
    });
  });

  it('DE 1.250 kg: 2812347012503', () => {
    expect(vm(parseBarcode(']E02812347012503', { region: 'DE' }))).toMatchObject({
      symbology: ']E0', measure: 'weight', grams: 1250, lookupGtin: '2812340000002', prefix: '28',
    });
  });

  it('SE 1.250 kg: 2312345612502 (no value check digit)', () => {
    expect(vm(parseBarcode('2312345612502', { region: 'SE' }))).toMatchObject({ measure: 'weight', grams: 1250, lookupGtin: '2312345600004' });
  });

  it('US UPC-A $2.99: 212345602997', () => {
    expect(vm(parseBarcode('212345602997', { region: 'US' }))).toMatchObject({
      gtin: '0212345602997', measure: 'price', priceMinor: 299, currency: 'USD', lookupGtin: '0212345000007', prefix: '02',
    });
  });

  it('US-5: five price digits and no price check digit', () => {
    // 2 12345 00299 → $2.99
    expect(vm(parseBarcode(withCheck('21234500299'), { region: 'US-5' }))).toMatchObject({ priceMinor: 299, lookupGtin: withCheck('021234500000') });
  });

  it('SE prices with 1 and 0 decimals, DE count, DE price', () => {
    expect(vm(parseBarcode(withCheck('211234560299'), { region: 'SE' })).priceMinor).toBe(2990); // 29.9 kr
    expect(vm(parseBarcode(withCheck('221234560299'), { region: 'SE' })).priceMinor).toBe(29900); // 299 kr
    expect(vm(parseBarcode(withCheck('241234560125'), { region: 'SE' })).grams).toBe(1250); // 1.25 kg
    const count = '251234' + String(priceCheckDigit('00006')) + '00006';
    expect(vm(parseBarcode(withCheck(count), { region: 'DE' }))).toMatchObject({ measure: 'count', count: 6 });
    const price = '221234' + String(priceCheckDigit('01999')) + '01999';
    expect(vm(parseBarcode(withCheck(price), { region: 'DE' }))).toMatchObject({ measure: 'price', priceMinor: 1999, currency: 'EUR' });
  });

  it('a wrong price check digit is caught even when the GTIN check is right', () => {
    const r = parseBarcode(withCheck('201234550299'), { region: 'GB' });
    expect(r).toMatchObject({ ok: false, code: 'SGW_ERR_BAD_CHECK_DIGIT' });
    if (!r.ok) expect(r.reason).toBe('code: price check digit 5 (position 8) is wrong for 0299, expected 6');
  });

  it('a 2x code with no rule in the region (or no region) is a plain GTIN flagged restrictedCirculation', () => {
    expect(gtin(parseBarcode('2012345602991'))).toMatchObject({ restrictedCirculation: true, gtin: '2012345602991' });
    expect(gtin(parseBarcode(withCheck('211234560299'), { region: 'GB' })).restrictedCirculation).toBe(true);
    expect(gtin(parseBarcode('5901234123457', { region: 'GB' })).restrictedCirculation).toBe(false);
  });

  it('a custom region record is accepted; bad options throw at construction, naming the option', () => {
    const parse = createBarcodeParser({ region: { name: 'XX', currency: 'EUR', prefixes: { '27': { pattern: 'PPPPPPPPVVVV', measure: 'weight', decimals: 3 } } } });
    expect(vm(parse(withCheck('271234560500')))).toMatchObject({ region: 'XX', grams: 500 });
    expect(() => createBarcodeParser({ region: 'ZZ' })).toThrow(/^region: must be one of/);
    expect(() => createBarcodeParser({ region: { name: 'X', currency: 'EUR', prefixes: { '20': { pattern: 'PPPPPPPCVVV', measure: 'price', decimals: 2 } } } })).toThrow(/region\.prefixes\.20\.pattern/);
    expect(() => createBarcodeParser({ region: { name: 'X', currency: 'EUR', prefixes: { '20': { pattern: 'PPPPPPCVVVVVV'.slice(1), measure: 'price', decimals: 2 } } } })).toThrow(/needs 4 or 5 value digits/);
    expect(() => createBarcodeParser({ region: { name: 'X', currency: 'EUR', prefixes: { '19': { pattern: 'PPPPPPPPVVVV', measure: 'price', decimals: 2 } } } })).toThrow(/prefix must be/);
    expect(() => createBarcodeParser({ region: { name: 'X', currency: 'EUR', prefixes: { '23': { pattern: 'PPPPPPPPVVVV', measure: 'weight', decimals: 4 } } } })).toThrow(/decimals/);
    expect(() => createBarcodeParser({ currency: 'XYZ' })).toThrow(/^currency:/);
  });

  it('every built-in region passes its own checks', () => {
    for (const name of Object.keys(VARIABLE_MEASURE_REGIONS)) expect(() => createBarcodeParser({ region: name })).not.toThrow();
  });

  it('property (GB): any item and price round-trip, and the lookup key is the same for every price', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 99999 }), fc.integer({ min: 0, max: 9999 }), (item, pence) => {
        const value = String(pence).padStart(4, '0');
        const code = withCheck('20' + String(item).padStart(5, '0') + String(priceCheckDigit(value)) + value);
        const r = vm(parseBarcode(code, { region: 'GB' }));
        expect(r.priceMinor).toBe(pence);
        expect(isValidGtin(r.lookupGtin)).toBe(true);
        expect(r.lookupGtin.slice(0, 7)).toBe(code.slice(0, 7));
        expect(r.lookupGtin.slice(7, 12)).toBe('00000');
      }),
      { numRuns: 300 },
    );
  });
});

describe('GS1 element strings', () => {
  const EXAMPLE = ']C1' + '0199501234543218' + '3103001250' + '39220299';

  it('the README example: (01) + (3103) + (3922) without separators', () => {
    expect(gs1(parseBarcode(EXAMPLE))).toEqual({
      ok: true, kind: 'gs1', data: '0199501234543218310300125039220299', symbology: ']C1',
      elements: [
        { ai: '01', value: '99501234543218' },
        { ai: '3103', value: '001250' },
        { ai: '3922', value: '0299' },
      ],
      gtin14: '99501234543218', grams: 1250, priceMinor: 299,
    });
  });

  it('392n takes the configured currency', () => {
    expect(gs1(parseBarcode(EXAMPLE, { region: 'DE' }))).toMatchObject({ priceMinor: 299, currency: 'EUR' });
    // ¥2.99 is no whole number of yen: refused rather than rounded.
    expect(parseBarcode(EXAMPLE, { currency: 'JPY' })).toMatchObject({ ok: false, code: 'SGW_ERR_BAD_VALUE' });
    expect(gs1(parseBarcode(']C1' + '3920' + '1500', { currency: 'JPY' }))).toMatchObject({ priceMinor: 1500, currency: 'JPY' });
  });

  it('the human-readable form with parentheses gives the same elements', () => {
    const a = gs1(parseBarcode(EXAMPLE));
    const b = gs1(parseBarcode('(01)99501234543218(3103)001250(3922)0299'));
    expect(b.elements).toEqual(a.elements);
    expect(b).toMatchObject({ gtin14: a.gtin14, grams: 1250, priceMinor: 299, symbology: null });
  });

  it('GS separates a variable-length AI; leading and trailing GS are tolerated', () => {
    const r = gs1(parseBarcode(']C1' + GS + '0199501234543218' + '39329780299' + GS + '3012' + GS + '10LOT-7/A' + GS));
    expect(r).toMatchObject({ priceMinor: 299, currency: 'EUR', count: 12 });
    expect(r.elements.map((e) => e.ai)).toEqual(['01', '3932', '30', '10']);
    expect(r.elements[3].value).toBe('LOT-7/A');
  });

  it('a bare digit string with AIs (no AIM id) is read as GS1', () => {
    expect(gs1(parseBarcode('0199501234543218310300125039220299')).grams).toBe(1250);
  });

  it(']e0 DataBar and ]d2 GS1 DataMatrix carry element strings too', () => {
    expect(gs1(parseBarcode(']e00199501234543218')).gtin14).toBe('99501234543218');
    expect(gs1(parseBarcode(']d20199501234543218' + '17261231' + '21SER1')).elements).toHaveLength(3);
  });

  it('weights: kg with 0–5 decimals and lb convert to whole grams, half up', () => {
    expect(gs1(parseBarcode(']C1' + '3100000002')).grams).toBe(2000);
    expect(gs1(parseBarcode(']C1' + '3105001255')).grams).toBe(13); // 12.55 g
    expect(gs1(parseBarcode(']C1' + '3105001254')).grams).toBe(13); // 12.54 g
    expect(gs1(parseBarcode(']C1' + '3105001244')).grams).toBe(12);
    expect(gs1(parseBarcode(']C1' + '3203001500')).grams).toBe(680); // 1.500 lb = 680.389 g
    expect(gs1(parseBarcode(']C1' + '3202001500')).grams).toBe(6804); // 15.00 lb = 6803.89 g
    expect(gs1(parseBarcode(']C1' + '3200000001')).grams).toBe(454); // 453.59 g
  });

  it('393n currencies with 0 and 3 minor digits', () => {
    expect(gs1(parseBarcode(']C1' + '39303921500'))).toMatchObject({ priceMinor: 1500, currency: 'JPY' });
    expect(gs1(parseBarcode(']C1' + '39324141250'))).toMatchObject({ priceMinor: 12500, currency: 'KWD' });
  });

  it.each([
    [']C1' + '0199501234543219', 'SGW_ERR_BAD_CHECK_DIGIT', 'ai(01)'],
    [']C1' + '99123', 'SGW_ERR_BAD_AI', 'code[0]'],
    [']C1' + '0199501234543218' + '310300125', 'SGW_ERR_BAD_AI', 'ai(3103)'],
    [']C1' + '3106001250', 'SGW_ERR_BAD_AI', 'code[0]'], // 310n allows n = 0–5
    [']C1' + '10' + 'A'.repeat(21), 'SGW_ERR_BAD_AI', 'ai(10)'],
    [']C1' + '10' + GS, 'SGW_ERR_BAD_AI', 'ai(10)'],
    [']C1' + '10AB~C', 'SGW_ERR_BAD_AI', 'ai(10)'],
    [']C1' + '17261332', 'SGW_ERR_BAD_AI', 'ai(17)'],
    [']C1' + '392' + '302995', 'SGW_ERR_BAD_VALUE', 'ai(3923)'], // 2.995 is not whole cents
    [']C1' + '3932' + '999' + '0299', 'SGW_ERR_BAD_VALUE', 'ai(3932).currency'],
    [']C1' + '0199501234543218' + '0195012345678903', 'SGW_ERR_BAD_AI', 'ai(01)'], // twice, different
    ['(01)99501234543218(99)12', 'SGW_ERR_BAD_AI', 'ai(99)'],
    ['(01)99501234543218junk', 'SGW_ERR_BAD_AI', 'ai(01)'],
    ['(0199501234543218', 'SGW_ERR_BAD_AI', 'code[0]'],
    [']C1', 'SGW_ERR_UNKNOWN_FORMAT', 'code'],
    [']C1' + GS, 'SGW_ERR_BAD_AI', 'code'],
  ])('%j → %s naming %s', (input, code, field) => {
    const r = parseBarcode(input);
    expect(r).toMatchObject({ ok: false, code });
    if (!r.ok) expect(r.reason.startsWith(field)).toBe(true);
  });

  it('the same AI twice with the same value is kept once', () => {
    expect(gs1(parseBarcode(']C1' + '3012' + GS + '3012')).elements).toEqual([{ ai: '30', value: '12' }]);
  });
});

describe('wire safety', () => {
  const parsers = [createBarcodeParser(), createBarcodeParser({ region: 'DE' }), createBarcodeParser({ region: 'US' })];
  const shaped = fc
    .tuple(
      fc.constantFrom('', ']E0', ']E3', ']E4', ']C1', ']e0', ']I1', ']Q3', ']', '(', '(01)'),
      fc.array(fc.constantFrom(...'0123456789', '0', '2', GS, '(', ')', 'A', '\r', '\n', ']'), { maxLength: 60 }),
    )
    .map(([p, cs]) => p + cs.join(''));

  it('property: random strings never throw and always give ok or a known error code', () => {
    const codes = new Set(['SGW_ERR_BAD_CHECK_DIGIT', 'SGW_ERR_UNKNOWN_FORMAT', 'SGW_ERR_BAD_AI', 'SGW_ERR_BAD_VALUE']);
    fc.assert(
      fc.property(fc.oneof(fc.string({ maxLength: 80 }), fc.string({ unit: 'binary', maxLength: 80 }), shaped), fc.option(fc.string({ maxLength: 4 })), (s, sym) => {
        for (const parse of parsers) {
          const r = parse(s, sym ?? undefined);
          if (r.ok) expect(['gtin', 'variableMeasure', 'gs1']).toContain(r.kind);
          else {
            expect(codes.has(r.code)).toBe(true);
            expect(r.reason.length).toBeGreaterThan(0);
          }
        }
      }),
      { numRuns: 1000 },
    );
  });

  it('non-string input from an untyped caller is an error, not a throw', () => {
    expect(createBarcodeParser()(undefined as unknown as string)).toMatchObject({ ok: false, code: 'SGW_ERR_UNKNOWN_FORMAT' });
    expect(createBarcodeParser()(42 as unknown as string)).toMatchObject({ ok: false, code: 'SGW_ERR_UNKNOWN_FORMAT' });
  });
});
