import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import {
  SGTIN96_MAX_SERIAL,
  decodeSgtin96,
  encodeSgtin96,
  sgtinFieldsFromGtin,
  type Sgtin96,
  type SgtinResult,
} from '../../../../gateway/kiosk/sgtin.js';
import { isValidGtin } from '../../../../gateway/kiosk/barcodes.js';

const VECTOR = '3074257BF7194E4000001A85'; // the worked vector of gateway/kiosk/README.md

function ok(r: SgtinResult): Sgtin96 {
  if (!r.ok) throw new Error(`expected an SGTIN-96, got ${JSON.stringify(r)}`);
  return r;
}

/** Builds 96 bits from raw field values, bypassing the encoder's checks (for malformed tags). */
function rawHex(header: number, filter: number, partition: number, middle44: bigint, serial: bigint): string {
  const bits = (BigInt(header) << 88n) | (BigInt(filter) << 85n) | (BigInt(partition) << 82n) | (middle44 << 38n) | serial;
  return bits.toString(16).toUpperCase().padStart(24, '0');
}

describe('SGTIN-96 worked vector', () => {
  it(`decodes ${VECTOR} field for field`, () => {
    expect(decodeSgtin96(VECTOR)).toEqual({
      ok: true,
      hex: VECTOR,
      header: 0x30,
      filter: 3,
      partition: 5,
      companyPrefix: '0614141',
      itemReference: '812345',
      serial: 6789,
      gtin14: '80614141123458',
      pureIdentityUri: 'urn:epc:id:sgtin:0614141.812345.6789',
      tagUri: 'urn:epc:tag:sgtin-96:3.0614141.812345.6789',
    });
  });

  it('lower-case hex decodes the same, reported upper-case', () => {
    expect(ok(decodeSgtin96(VECTOR.toLowerCase())).hex).toBe(VECTOR);
  });

  it('re-encoding gives the same hex', () => {
    expect(ok(encodeSgtin96({ filter: 3, companyPrefix: '0614141', itemReference: '812345', serial: 6789 })).hex).toBe(VECTOR);
  });

  it('from GTIN-14 80614141123458 with a 7-digit company prefix', () => {
    const f = sgtinFieldsFromGtin('80614141123458', 7);
    expect(f).toEqual({ ok: true, companyPrefix: '0614141', itemReference: '812345' });
    if (!f.ok) return;
    expect(ok(encodeSgtin96({ filter: 3, ...f, serial: 6789n })).hex).toBe(VECTOR);
  });
});

describe('SGTIN-96 partitions and limits', () => {
  it('partition 0 (12-digit company, 1-digit item) and 6 (6-digit company, 7-digit item)', () => {
    const p0 = ok(encodeSgtin96({ filter: 1, companyPrefix: '061414112345', itemReference: '8', serial: 0 }));
    expect(p0.partition).toBe(0);
    expect(ok(decodeSgtin96(p0.hex))).toMatchObject({ companyPrefix: '061414112345', itemReference: '8', gtin14: '80614141123458' });
    const p6 = ok(encodeSgtin96({ filter: 1, companyPrefix: '061414', itemReference: '8112345', serial: 1 }));
    expect(p6.partition).toBe(6);
    expect(ok(decodeSgtin96(p6.hex)).gtin14).toBe('80614141123458');
  });

  it('the largest serial round-trips exactly', () => {
    const r = ok(encodeSgtin96({ filter: 0, companyPrefix: '0614141', itemReference: '812345', serial: SGTIN96_MAX_SERIAL }));
    expect(BigInt('0x' + r.hex) & ((1n << 38n) - 1n)).toBe((1n << 38n) - 1n); // the low 38 bits all set
    expect(ok(decodeSgtin96(r.hex)).serial).toBe(274_877_906_943);
  });

  it.each([
    ['', 'SGW_ERR_BAD_EPC', 'epc'],
    [VECTOR.slice(0, 23), 'SGW_ERR_BAD_EPC', 'epc'],
    [VECTOR + '00', 'SGW_ERR_BAD_EPC', 'epc'],
    ['3074257BF7194E4000001A8G', 'SGW_ERR_BAD_EPC', 'epc'],
    ['3574257BF7194E4000001A85', 'SGW_ERR_NOT_SGTIN96', 'epc.header'], // header 0x35 (GID-96)
    ['E28011606000020000000000', 'SGW_ERR_NOT_SGTIN96', 'epc.header'],
    [rawHex(0x30, 3, 7, 0n, 1n), 'SGW_ERR_BAD_PARTITION', 'epc.partition'],
    [rawHex(0x30, 3, 5, (9_999_999n + 1n) << 20n, 1n), 'SGW_ERR_BAD_EPC', 'epc.companyPrefix'],
    [rawHex(0x30, 3, 0, 15n, 1n), 'SGW_ERR_BAD_EPC', 'epc.itemReference'], // 4 bits hold 15, one digit holds 9
  ])('decode %j → %s naming %s', (hex, code, field) => {
    const r = decodeSgtin96(hex);
    expect(r).toMatchObject({ ok: false, code });
    if (!r.ok) expect(r.reason.startsWith(field)).toBe(true);
  });

  it('non-string input is an error, not a throw', () => {
    expect(decodeSgtin96(undefined)).toMatchObject({ ok: false, code: 'SGW_ERR_BAD_EPC' });
    expect(decodeSgtin96(0x30)).toMatchObject({ ok: false, code: 'SGW_ERR_BAD_EPC' });
  });

  it.each([
    [{ filter: 8, companyPrefix: '0614141', itemReference: '812345', serial: 1 }, 'filter'],
    [{ filter: 3, companyPrefix: '06141', itemReference: '8123456', serial: 1 }, 'companyPrefix'],
    [{ filter: 3, companyPrefix: '0614141', itemReference: '81234', serial: 1 }, 'itemReference'],
    [{ filter: 3, companyPrefix: '0614141', itemReference: '81234X', serial: 1 }, 'itemReference'],
    [{ filter: 3, companyPrefix: '0614141', itemReference: '812345', serial: SGTIN96_MAX_SERIAL + 1 }, 'serial'],
    [{ filter: 3, companyPrefix: '0614141', itemReference: '812345', serial: -1 }, 'serial'],
    [{ filter: 3, companyPrefix: '0614141', itemReference: '812345', serial: 1.5 }, 'serial'],
  ])('encode refuses %j, naming %s', (fields, field) => {
    const r = encodeSgtin96(fields);
    expect(r).toMatchObject({ ok: false, code: 'SGW_ERR_BAD_EPC' });
    if (!r.ok) expect(r.reason.startsWith(field)).toBe(true);
  });

  it('sgtinFieldsFromGtin refuses a bad GTIN or prefix length', () => {
    expect(sgtinFieldsFromGtin('80614141123459', 7)).toMatchObject({ ok: false, reason: expect.stringContaining('gtin14') });
    expect(sgtinFieldsFromGtin('80614141123458', 5)).toMatchObject({ ok: false, reason: expect.stringContaining('companyPrefixLength') });
  });
});

describe('SGTIN-96 properties', () => {
  const fields = fc.integer({ min: 6, max: 12 }).chain((cpLen) =>
    fc.record({
      filter: fc.integer({ min: 0, max: 7 }),
      companyPrefix: fc.string({ unit: fc.constantFrom(...'0123456789'), minLength: cpLen, maxLength: cpLen }),
      itemReference: fc.string({ unit: fc.constantFrom(...'0123456789'), minLength: 13 - cpLen, maxLength: 13 - cpLen }),
      serial: fc.integer({ min: 0, max: SGTIN96_MAX_SERIAL }),
    }),
  );

  it('encode → decode gives the fields back, a valid GTIN-14 and the same hex', () => {
    fc.assert(
      fc.property(fields, (f) => {
        const enc = ok(encodeSgtin96(f));
        expect(enc.hex).toMatch(/^30[0-9A-F]{22}$/);
        const dec = ok(decodeSgtin96(enc.hex));
        expect(dec).toEqual(enc);
        expect(dec).toMatchObject(f);
        expect(isValidGtin(dec.gtin14)).toBe(true);
        const back = sgtinFieldsFromGtin(dec.gtin14, f.companyPrefix.length);
        expect(back).toEqual({ ok: true, companyPrefix: f.companyPrefix, itemReference: f.itemReference });
      }),
      { numRuns: 500 },
    );
  });

  it('any 24 hex digits decode without throwing, and what decodes re-encodes to the same hex', () => {
    fc.assert(
      fc.property(fc.string({ unit: fc.constantFrom(...'0123456789ABCDEF'), minLength: 22, maxLength: 22 }), (tail) => {
        const hex = '30' + tail;
        const r = decodeSgtin96(hex);
        if (!r.ok) {
          expect(['SGW_ERR_BAD_EPC', 'SGW_ERR_BAD_PARTITION']).toContain(r.code);
          return;
        }
        expect(ok(encodeSgtin96(r)).hex).toBe(hex);
      }),
      { numRuns: 1000 },
    );
  });

  it('random strings never throw', () => {
    fc.assert(
      fc.property(fc.oneof(fc.string({ maxLength: 40 }), fc.string({ unit: 'binary', maxLength: 30 })), (s) => {
        const r = decodeSgtin96(s);
        expect(typeof r.ok).toBe('boolean');
      }),
      { numRuns: 500 },
    );
  });
});
