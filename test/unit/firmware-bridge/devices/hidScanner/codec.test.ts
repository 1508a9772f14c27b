import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import {
  decodeKeyboard,
  decodePos,
  encodeKeyboard,
  encodePos,
  initialKeyboardState,
  initialPosState,
  type KeyboardOptions,
  type KeyboardState,
  type PosState,
  type Scan,
} from '../../../../../firmware-bridge/devices/hidScanner/codec.js';

const hex = (s: string) => Buffer.from(s.replace(/\s+/g, ''), 'hex');
const ZERO = Buffer.alloc(8);

function typeReports(reports: Buffer[], options: KeyboardOptions = {}) {
  let state: KeyboardState = initialKeyboardState;
  const scans: Scan[] = [];
  const errors: string[] = [];
  for (const r of reports) {
    const out = decodeKeyboard(r, state, options);
    scans.push(...out.events);
    errors.push(...out.errors.map((e) => e.code));
    state = out.state;
  }
  return { scans, errors, state };
}

function posReports(reports: Buffer[]) {
  let state: PosState = initialPosState;
  const scans: Scan[] = [];
  const errors: string[] = [];
  for (const r of reports) {
    const out = decodePos(r, state);
    scans.push(...out.events);
    errors.push(...out.errors.map((e) => e.code));
    state = out.state;
  }
  return { scans, errors, state };
}

describe('HID boot keyboard: the README worked example', () => {
  it('"A1⏎": shift+0x04, 0x1E, Enter, each followed by a release report', () => {
    const reports = [hex('02 00 04 00 00 00 00 00'), ZERO, hex('00 00 1E 00 00 00 00 00'), ZERO, hex('00 00 28 00 00 00 00 00'), ZERO];
    expect(typeReports(reports)).toEqual({ scans: [{ code: 'A1' }], errors: [], state: initialKeyboardState });
    expect(encodeKeyboard('A1')).toEqual(reports);
  });
  it('EAN 5901234123457: keycodes 22 26 27 1E 1F 20 21 1E 1F 20 21 22 24 then 28', () => {
    const codes = [0x22, 0x26, 0x27, 0x1e, 0x1f, 0x20, 0x21, 0x1e, 0x1f, 0x20, 0x21, 0x22, 0x24, 0x28];
    const reports = codes.flatMap((k) => [Buffer.from([0, 0, k, 0, 0, 0, 0, 0]), ZERO]);
    expect(typeReports(reports).scans).toEqual([{ code: '5901234123457' }]);
  });
  it('right shift (0x20) also shifts; Keypad Enter (0x58) terminates; Ctrl+] types GS', () => {
    const r = typeReports([hex('20 00 05 00 00 00 00 00'), ZERO, hex('01 00 30 00 00 00 00 00'), ZERO, hex('00 00 27 00 00 00 00 00'), ZERO, hex('00 00 58 00 00 00 00 00')]);
    expect(r.scans).toEqual([{ code: 'B\x1d0' }]);
  });
  it('a key held across reports counts once; the same key after a release counts again', () => {
    const one = hex('00 00 1E 00 00 00 00 00');
    expect(typeReports([one, one, ZERO, one, ZERO, hex('00 00 28 00 00 00 00 00')]).scans).toEqual([{ code: '11' }]);
  });
  it('Tab terminates only when configured; the AIM prefix splits off when configured', () => {
    expect(typeReports(encodeKeyboard('12', 'tab')).scans).toEqual([]);
    expect(typeReports(encodeKeyboard('12', 'tab'), { terminators: ['tab'] }).scans).toEqual([{ code: '12' }]);
    expect(typeReports(encodeKeyboard(']E05901234123457'), { aimPrefix: true }).scans).toEqual([{ code: '5901234123457', symbology: ']E0' }]);
  });
  it('two codes in a row; a code split across calls keeps its state', () => {
    expect(typeReports([...encodeKeyboard('12'), ...encodeKeyboard('34')]).scans).toEqual([{ code: '12' }, { code: '34' }]);
    const first = typeReports(encodeKeyboard('98', 'none'));
    expect(first.state.chars).toBe('98');
    const rest = decodeKeyboard(hex('00 00 28 00 00 00 00 00'), first.state);
    expect(rest.events).toEqual([{ code: '98' }]);
  });
  it('counts a report of the wrong length, an unknown usage and a rollover error', () => {
    const r = typeReports([hex('00 00 1E'), hex('00 00 E8 00 00 00 00 00'), hex('00 00 01 01 01 01 01 01'), ...encodeKeyboard('7')]);
    expect(r.scans).toEqual([{ code: '7' }]);
    expect(r.errors).toEqual(['BAD_FRAME', 'GARBAGE', 'BAD_FRAME']);
  });
});

describe('HID POS report (page 0x8C vendor report)', () => {
  it('report id 0x02, length, AIM ]E0, data, last report', () => {
    const r = encodePos({ data: '5901234123457', aim: ']E0', vendorId: 'd' });
    expect(r.length).toBe(64);
    expect(r.subarray(0, 5)).toEqual(hex('02 0D 5D 45 30'));
    expect(r[61]).toBe(0x64);
    expect(r[63]).toBe(0);
    expect(posReports([r])).toEqual({ scans: [{ code: '5901234123457', symbology: ']E0' }], errors: [], state: initialPosState });
  });
  it('`5D 51 30` = ]Q0; more-follows bit concatenates the data of several reports', () => {
    const data = 'https://example.com/'.repeat(4); // 80 bytes: two reports
    const reports = [encodePos({ data: data.slice(0, 56), aim: ']Q0', more: true }), encodePos({ data: data.slice(56), aim: ']Q0' })];
    expect(reports[0].subarray(2, 5)).toEqual(hex('5D 51 30'));
    expect(posReports(reports).scans).toEqual([{ code: data, symbology: ']Q0' }]);
  });
  it('keeps GS (0x1D) inside GS1-128 data', () => {
    const data = '0199501234543218310300125039220299\x1d10ABC';
    expect(posReports([encodePos({ data, aim: ']C1' })]).scans).toEqual([{ code: data, symbology: ']C1' }]);
  });
  it('without AIM prefix there is no symbology; lengthIncludesAim and a stripped report id are options', () => {
    expect(posReports([encodePos({ data: '123' })]).scans).toEqual([{ code: '123' }]);
    const r = encodePos({ data: '123', aim: ']E0' });
    r[1] = 6;
    expect(decodePos(r, initialPosState, { lengthIncludesAim: true }).events).toEqual([{ code: '123', symbology: ']E0' }]);
    expect(decodePos(encodePos({ data: '42', aim: ']E4' }).subarray(1), initialPosState, { reportId: false }).events).toEqual([
      { code: '42', symbology: ']E4' },
    ]);
  });
  it('counts a wrong report id, a short report and a bad length', () => {
    const wrongId = encodePos({ data: '1' });
    wrongId[0] = 0x03;
    const badLen = encodePos({ data: '1' });
    badLen[1] = 60;
    const r = posReports([wrongId, Buffer.alloc(10, 2), badLen, encodePos({ data: '9' })]);
    expect(r.scans).toEqual([{ code: '9' }]);
    expect(r.errors).toEqual(['BAD_FRAME', 'BAD_FRAME', 'BAD_FRAME']);
  });
});

describe('HID scanner codecs: properties', () => {
  const code = fc.stringMatching(/^[0-9A-Za-z\-./]{1,40}$/);
  it('random reports never throw', () => {
    fc.assert(
      fc.property(fc.array(fc.uint8Array({ maxLength: 70 }), { maxLength: 30 }), (rs) => {
        typeReports(rs.map((r) => Buffer.from(r)));
        posReports(rs.map((r) => Buffer.from(r)));
      }),
    );
  });
  it('keyboard: after random 8-byte reports, a release and an Enter resync; the next code comes out whole', () => {
    fc.assert(
      fc.property(fc.array(fc.uint8Array({ minLength: 8, maxLength: 8 }), { maxLength: 20 }), code, (junk, c) => {
        const r = typeReports([...junk.map((b) => Buffer.from(b)), ZERO, hex('00 00 28 00 00 00 00 00'), ZERO, ...encodeKeyboard(c)]);
        expect(r.scans.at(-1)).toEqual({ code: c });
      }),
    );
  });
  it('keyboard: a code cut short (no terminator) is never emitted', () => {
    fc.assert(
      fc.property(code, fc.nat(), (c, cut) => {
        const reports = encodeKeyboard(c);
        expect(typeReports(reports.slice(0, cut % (reports.length - 1))).scans).toEqual([]);
      }),
    );
  });
  it('pos: after random reports, one last report resyncs; round-trips any code', () => {
    fc.assert(
      fc.property(fc.array(fc.uint8Array({ minLength: 64, maxLength: 64 }), { maxLength: 10 }), code, (junk, c) => {
        const r = posReports([...junk.map((b) => Buffer.from(b)), encodePos({ data: 'x' }), encodePos({ data: c, aim: ']E0' })]);
        expect(r.scans.at(-1)).toEqual({ code: c, symbology: ']E0' });
      }),
    );
  });
});
