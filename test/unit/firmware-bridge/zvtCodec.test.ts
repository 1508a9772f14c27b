import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { decodeApdus, encodeApdu, toBcd, fromBcd, varLength, readVarLength } from '../../../firmware-bridge/devices/zvt/apdu.js';
import { parseTlv, encodeTlv, walkBmps } from '../../../firmware-bridge/devices/zvt/bmp.js';
import {
  ABORT, ACK, authorization, decodeMessage, endOfDay, registration, repeatReceipt, reversal, statusEnquiry, SELF_CHECKOUT_CONFIG,
} from '../../../firmware-bridge/devices/zvt/codec.js';
import {
  abortMessage, completion, decodeCommand, intermediate, printLine, statusCompletion, statusInformation, textBlock,
} from '../../../firmware-bridge/devices/zvt/ptMessages.js';

const h = (s: string) => Buffer.from(s.replace(/\s+/g, ''), 'hex');
const a = (s: string) => Buffer.from(s, 'latin1').toString('hex');
const one = (bytes: Buffer) => {
  const r = decodeApdus(bytes);
  expect(r.rest.length).toBe(0);
  expect(r.events).toHaveLength(1);
  return decodeMessage(r.events[0]!);
};

// Positive Status-Information of a real payment (Portalum.Zvt StatusInformationParserTest, PaymentGood1).
const GOOD = h(
  '04 0F 77 27 00 04 000000002040 0B 000470 0C 223953 0D 1006 0E 2512 17 0001 19 70 22 F0F8 EEEEEEEEEEEE4771 29 28004869' +
    `2A ${a('100461763      ')} 3B ${a('611804')}0000 3C F0F1F4 ${a('GEN.NR.:611804')} 49 0978 87 0470 88 000470 8A 2E 8B F1F7 ${a('Debit Mastercard')}00`,
);

describe('zvt APDU framing', () => {
  it('reads the short and the extended length (little-endian)', () => {
    expect(decodeApdus(h('04 0F FF 01 00 6C')).events[0]!.data).toEqual(h('6C'));
    const big = decodeApdus(Buffer.concat([h('04 0F FF 00 01'), Buffer.alloc(256, 1)]));
    expect(big.events[0]!.data.length).toBe(256);
    const max = decodeApdus(Buffer.concat([h('04 0F FF FF FF'), Buffer.alloc(65535, 2)]));
    expect(max.events[0]!.data.length).toBe(65535);
    expect(encodeApdu(0x06, 0xd3, Buffer.alloc(255)).subarray(0, 5)).toEqual(h('06 D3 FF FF 00'));
    expect(encodeApdu(0x06, 0xd3, Buffer.alloc(254)).subarray(0, 3)).toEqual(h('06 D3 FE'));
  });
  it('splits 80 00 00 joined with the next APDU, and keeps a partial tail', () => {
    const r = decodeApdus(h('80 00 00 04 FF 01 0A 06 0F'));
    expect(r.events.map((e) => [e.cls, e.ins, e.data.toString('hex')])).toEqual([[0x80, 0, ''], [4, 0xff, '0a']]);
    expect(r.rest).toEqual(h('06 0F'));
  });
  it('BCD, LLVAR and LLLVAR', () => {
    expect(toBcd(1234, 6)).toEqual(h('000000001234'));
    expect(toBcd(123456789000, 6)).toEqual(h('123456789000'));
    expect(toBcd('978', 2)).toEqual(h('0978'));
    expect(toBcd('123456', 3)).toEqual(h('123456'));
    expect(fromBcd(h('000000002040'))).toBe(2040);
    expect(fromBcd(h('0A'))).toBeUndefined();
    expect(varLength(12, 2)).toEqual(h('F1 F2'));
    expect(varLength(14, 3)).toEqual(h('F0 F1 F4'));
    expect(readVarLength(h('F0F1F4'), 0, 3)).toBe(14);
    expect(readVarLength(h('F0A1'), 0, 2)).toBeUndefined();
  });
});

describe('zvt ECR commands, byte for byte', () => {
  it('Registration (capture of a Feig terminal session; self-checkout form; with printer width)', () => {
    expect(registration({ password: '123456', config: 0xde, currency: '978' })).toEqual(h('06 00 06 12 34 56 DE 09 78'));
    expect(registration({ password: '000000', config: SELF_CHECKOUT_CONFIG, currency: '978', serviceByte: 1, permitTextBlock: true })).toEqual(
      h('06 00 10 00 00 00 BE 09 78 03 01 06 06 26 04 0A 02 06 D3'),
    );
    expect(registration({ password: '000000', config: 0xbe, currency: '978', serviceByte: 1, permitTextBlock: true, printerWidth: 42 })).toEqual(
      h('06 00 13 00 00 00 BE 09 78 03 01 06 09 26 04 0A 02 06 D3 12 01 42'),
    );
  });
  it('Authorization, Reversal, Abort, End-of-Day, Status Enquiry, Repeat Receipt', () => {
    expect(authorization({ amount: 1000 })).toEqual(h('06 01 07 04 00 00 00 00 10 00'));
    expect(authorization({ amount: 1234 })).toEqual(h('06 01 07 04 00 00 00 00 12 34'));
    expect(authorization({ amount: 1234, currency: '978', paymentType: 0x40 })).toEqual(h('06 01 0C 04 00 00 00 00 12 34 49 09 78 19 40'));
    expect(reversal({ password: '000000', receiptNo: '0470' })).toEqual(h('06 30 06 00 00 00 87 04 70'));
    expect(reversal({ password: '000000', receiptNo: '42' })).toEqual(h('06 30 06 00 00 00 87 00 42'));
    expect(ABORT).toEqual(h('06 B0 00'));
    expect(endOfDay('123456')).toEqual(h('06 50 03 12 34 56'));
    expect(endOfDay('000000')).toEqual(h('06 50 03 00 00 00'));
    expect(statusEnquiry('123456', 7)).toEqual(h('05 01 05 12 34 56 03 07'));
    expect(statusEnquiry()).toEqual(h('05 01 00'));
    expect(repeatReceipt('000000', 3)).toEqual(h('06 20 05 00 00 00 03 03'));
    expect(repeatReceipt('000000')).toEqual(h('06 20 03 00 00 00'));
    expect(ACK).toEqual(h('80 00 00'));
  });
  it('the simulator reads the commands back', () => {
    expect(decodeCommand(decodeApdus(h('06 00 10 00 00 00 BE 09 78 03 01 06 06 26 04 0A 02 06 D3')).events[0]!)).toMatchObject({
      type: 'registration', password: '000000', config: 0xbe, currency: '978', serviceByte: 1,
      tlv: [{ tag: 0x26, children: [{ tag: 0x0a, value: h('06 D3') }] }],
    });
    expect(decodeCommand(decodeApdus(h('06 01 0C 04 00 00 00 00 12 34 49 09 78 19 40')).events[0]!)).toEqual({ type: 'authorization', amount: 1234, currency: '978', paymentType: 0x40 });
    expect(decodeCommand(decodeApdus(h('06 30 06 00 00 00 87 04 70')).events[0]!)).toMatchObject({ type: 'reversal', receiptNo: '0470' });
    expect(decodeCommand(decodeApdus(h('06 20 05 00 00 00 03 01')).events[0]!)).toMatchObject({ type: 'repeatReceipt', serviceByte: 1 });
    expect(decodeCommand(decodeApdus(h('06 50 03 12 34 56')).events[0]!)).toEqual({ type: 'endOfDay', password: '123456' });
  });
  it('the spec example with a message sequence TLV (1F 73) parses, 2-byte tag included', () => {
    const reg = decodeCommand(decodeApdus(h('06 00 14 00 00 00 9E 09 78 06 0C 26 04 0A 02 06 D3 1F 73 03 00 00 00')).events[0]!);
    expect(reg).toMatchObject({ type: 'registration', config: 0x9e, tlv: [{ tag: 0x26 }, { tag: 0x1f73, value: h('000000') }] });
  });
});

describe('zvt PT messages, byte for byte', () => {
  it('the positive Status-Information, every field', () => {
    expect(GOOD.length).toBe(3 + 0x77);
    const m = one(GOOD);
    expect(m).toEqual({
      type: 'statusInfo', error: undefined,
      info: {
        resultCode: 0, amount: 2040, trace: '000470', time: '223953', date: '1006', expiry: '2512', cardSeqNo: '0001', paymentType: 0x70,
        maskedPan: '************4771', terminalId: '28004869', vuNumber: '100461763', authCode: '611804', additionalText: 'GEN.NR.:611804',
        currency: '978', receiptNo: '0470', turnoverNo: '000470', cardTypeId: 0x2e, cardName: 'Debit Mastercard',
      },
    });
    // And the simulator's encoder gives back the same bytes.
    if (m.type !== 'statusInfo') throw new Error('not status info');
    expect(statusInformation({ ...m.info, vuNumber: '100461763      ' })).toEqual(GOOD);
  });
  it('declined and aborted Status-Information (captures of real terminals)', () => {
    const declined = h(`04 0F 31 27 05 29 29 00 10 06 3C F0 F1 F5 ${a('Karte abgelehnt')} 8A 0D 06 13 24 11 07 0F ${a('Karte abgelehnt')}`);
    expect(one(declined)).toMatchObject({ type: 'statusInfo', info: { resultCode: 5, terminalId: '29001006', additionalText: 'Karte abgelehnt', cardTypeId: 0x0d } });
    expect(one(h('04 0F 07 27 6C 29 29 00 10 06'))).toMatchObject({ type: 'statusInfo', info: { resultCode: 0x6c, terminalId: '29001006' } });
    expect(one(h(`04 0F 1E 27 6C 29 28 00 48 69 3C F0 F1 F9 ${a('Abbruch durch Kunde')}`))).toMatchObject({ info: { resultCode: 0x6c, additionalText: 'Abbruch durch Kunde' } });
    const rejected = h(`04 0F 25 27 05 29 29 00 02 74 3C F0 F0 F9 ${a('Abgelehnt')} 8A 06 06 0D 24 0B 07 09 ${a('Abgelehnt')}`);
    expect(one(rejected)).toMatchObject({ info: { resultCode: 5, cardTypeId: 6, tlv: [{ tag: 0x24, children: [{ tag: 7 }] }] } });
  });
  it('Abort 06 1E, Intermediate Status 04 FF (with and without timeout and texts)', () => {
    expect(one(h('06 1E 01 05'))).toEqual({ type: 'abort', resultCode: 5, currency: undefined });
    expect(one(h('06 1E 01 6C'))).toMatchObject({ type: 'abort', resultCode: 0x6c });
    expect(abortMessage(0x6c)).toEqual(h('06 1E 01 6C'));
    expect(one(h('04 FF 01 17'))).toEqual({ type: 'intermediate', status: 0x17, timeoutMin: undefined, texts: [] });
    expect(intermediate(0x0a)).toEqual(h('04 FF 01 0A'));
    const karte = h(`04 FF 2E 0A 01 06 2A 24 28 07 26 ${a('Karte vorhalten\neinstecken/durchziehen')}`);
    expect(one(karte)).toEqual({ type: 'intermediate', status: 0x0a, timeoutMin: 1, texts: ['Karte vorhalten\neinstecken/durchziehen'] });
    expect(intermediate(0x0a, ['Karte vorhalten\neinstecken/durchziehen'], 1)).toEqual(karte);
    const two = Buffer.concat([h('04 FF 1E'), h(`FF 10 06 1A 24 18 07 08 ${a('EUR 1.23')} 07 0C ${a('Bitte warten')}`)]);
    expect(one(two)).toEqual({ type: 'intermediate', status: 0xff, timeoutMin: 10, texts: ['EUR 1.23', 'Bitte warten'] });
  });
  it('Completion: registration, status enquiry (with and without SW version), spec example with TLV', () => {
    expect(one(h('06 0F 0A 19 10 29 52 52 35 35 49 09 78'))).toMatchObject({ type: 'completion', statusByte: 0x10, terminalId: '52523535', currency: '978' });
    expect(one(h('06 0F 0A 19 00 29 29 00 10 06 49 09 78'))).toMatchObject({ statusByte: 0, terminalId: '29001006' });
    expect(completion({ statusByte: 0, terminalId: '29001006', currency: '978' })).toEqual(h('06 0F 0A 19 00 29 29 00 10 06 49 09 78'));
    expect(one(h('06 0F 01 DC'))).toEqual({ type: 'completion', terminalStatus: 0xdc });
    const ecrterm = h(`06 0F 0B F0 F0 F7 ${a('2.14.15')} 00`);
    expect(one(ecrterm)).toEqual({ type: 'completion', swVersion: '2.14.15', terminalStatus: 0 });
    expect(statusCompletion(0, '2.14.15')).toEqual(ecrterm);
    expect(one(h('06 0F 12 19 00 29 65 00 00 28 49 09 78 06 06 26 04 0A 02 06 D3'))).toMatchObject({
      terminalId: '65000028', tlv: [{ tag: 0x26, children: [{ tag: 0x0a, value: h('06 D3') }] }],
    });
    expect(one(h('06 0F 00'))).toMatchObject({ type: 'completion' });
  });
  it('Print Line (attributes) and Print Text-Block (both TLV length forms, CP437)', () => {
    expect(one(h(`06 D1 14 40 ${a('** KASSENSCHNITT **')}`))).toEqual({ type: 'printLine', attr: 0x40, text: '** KASSENSCHNITT **' });
    expect(one(h('06 D1 02 00 20'))).toEqual({ type: 'printLine', attr: 0, text: ' ' });
    expect(one(h('06 D1 01 81'))).toEqual({ type: 'printLine', attr: 0x81, text: '' });
    expect(printLine(0x40, '** KASSENSCHNITT **')).toEqual(h(`06 D1 14 40 ${a('** KASSENSCHNITT **')}`));
    const block = textBlock(2, ['Kartenzahlung', 'für HÄNDLER'], true);
    expect(block.includes(h('66 81 72'))).toBe(true); // ü in CP437
    expect(block.includes(h('48 8E 4E 44 4C 45 52'))).toBe(true); // HÄNDLER
    expect(one(block)).toEqual({ type: 'textBlock', receiptType: 2, lines: ['Kartenzahlung', 'für HÄNDLER'], last: true, error: undefined });
    // A long block: extended APDU length (little-endian) around a TLV with 82 hi lo (big-endian).
    const lines = Array.from({ length: 30 }, (_, i) => `line ${i} ${'x'.repeat(14)}`);
    const long = textBlock(2, lines, false);
    expect(long.subarray(0, 2)).toEqual(h('06 D3'));
    expect(long[2]).toBe(0xff);
    expect(long[5]).toBe(0x06);
    expect(long[6]).toBe(0x82);
    expect(long.readUInt16LE(3)).toBe(long.length - 5);
    expect(long.readUInt16BE(7)).toBe(long.length - 9);
    expect(one(long)).toMatchObject({ lines, last: false, receiptType: 2 });
  });
  it('masks a PAN even when the terminal sends it clear', () => {
    const m = one(h('04 0F 0B 22 F0 F8 54 13 33 00 89 02 07 71'));
    expect(m).toMatchObject({ info: { maskedPan: '************0771' } });
  });
});

describe('zvt TLV and BMP walk', () => {
  it('BER lengths 81 and 82; 2-byte tags; nested containers', () => {
    const v = Buffer.alloc(200, 0x41);
    const enc = encodeTlv([{ tag: 0x1f07, value: h('01') }, { tag: 0x25, value: Buffer.alloc(0), children: [{ tag: 0x07, value: v }] }]);
    expect(enc.subarray(0, 4)).toEqual(h('1F 07 01 01'));
    expect(enc.subarray(4, 8)).toEqual(h('25 81 CB 07'));
    expect(parseTlv(enc).items[1]!.children![0]!.value).toEqual(v);
    expect(parseTlv(h('25 05 07 09 41')).error).toMatch(/cut short/);
  });
  it('an unknown BMP stops the walk with the fields before it kept', () => {
    const w = walkBmps(h('27 00 04 00 00 00 00 10 00 77 01'));
    expect(w.bmps.map((b) => b.id)).toEqual([0x27, 0x04]);
    expect(w.error).toMatch(/unknown BMP 77/);
  });
});

describe('zvt codec under arbitrary input', () => {
  it('never throws on random bytes in any split', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 400 }), fc.nat(), (bytes, cut) => {
        const b = Buffer.from(bytes);
        const at = b.length ? cut % b.length : 0;
        const first = decodeApdus(b.subarray(0, at));
        const r = decodeApdus(Buffer.concat([first.rest, b.subarray(at)]));
        for (const e of [...first.events, ...r.events]) {
          decodeMessage(e);
          decodeCommand(e);
        }
        expect(r.rest.length).toBeLessThanOrEqual(b.length);
      }),
      { seed: 16 },
    );
  });
  it('valid APDUs split at any point decode the same', () => {
    const apdu = fc.oneof(
      fc.constant(GOOD),
      fc.constant(h('80 00 00')),
      fc.integer({ min: 0, max: 255 }).map((s) => intermediate(s)),
      fc.array(fc.string({ maxLength: 30 }), { maxLength: 40 }).map((l) => textBlock(2, l, true)),
      fc.uint8Array({ maxLength: 600 }).map((d) => encodeApdu(0x06, 0xd1, Buffer.from(d))),
    );
    fc.assert(
      fc.property(fc.array(apdu, { minLength: 1, maxLength: 4 }), fc.array(fc.nat(), { maxLength: 5 }), (xs, cuts) => {
        const stream = Buffer.concat(xs);
        const points = [...new Set(cuts.map((c) => c % (stream.length + 1)))].sort((p, q) => p - q);
        let rest: Buffer = Buffer.alloc(0);
        const got: string[] = [];
        let from = 0;
        for (const p of [...points, stream.length]) {
          const r = decodeApdus(Buffer.concat([rest, stream.subarray(from, p)]));
          rest = r.rest;
          from = p;
          got.push(...r.events.map((e) => JSON.stringify(decodeMessage(e))));
        }
        const whole = decodeApdus(stream).events.map((e) => JSON.stringify(decodeMessage(e)));
        expect(got).toEqual(whole);
        expect(whole).toHaveLength(xs.length);
        expect(rest.length).toBe(0);
      }),
      { seed: 16 },
    );
  });
});
