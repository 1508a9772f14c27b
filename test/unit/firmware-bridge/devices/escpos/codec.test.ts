import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import * as c from '../../../../../firmware-bridge/devices/escpos/commands.js';
import { decode, renderReceipt, stateFromAsb, stateFromRealtime } from '../../../../../firmware-bridge/devices/escpos/codec.js';
import { decodeHost } from '../../../../../firmware-bridge/devices/escpos/hostDecode.js';
import { encodeAsb, encodeRealtime } from '../../../../../firmware-bridge/devices/escpos/status.js';
import { columns, twoColumns, wrap } from '../../../../../firmware-bridge/devices/escpos/layout.js';
import { SAMPLE_RECEIPT } from './receiptFixture.js';

const hex = (s: string) => Buffer.from(s.replace(/[^0-9a-fA-F]/g, ''), 'hex');
const SEED = 1612;

/** README.md §Worked receipt: one job, every element a fixture of the public libraries. */
const WORKED_RECEIPT = hex(`
  1B 40  1B 74 13  1B 61 01
  1D 21 11 53 48 4F 50 0A  1D 21 00
  1B 45 01 54 4F 54 41 4C 1B 45 00 0A
  1B 61 00  53 75 6D 6D 65 20 31 32 2C 33 34 20 D5 0A
  1B 61 01
  1D 28 6B 04 00 31 41 32 00
  1D 28 6B 03 00 31 43 06
  1D 28 6B 03 00 31 45 31
  1D 28 6B 18 00 31 50 30 68 74 74 70 73 3A 2F 2F 72 2E 65 78 61 6D 70 6C 65 2F 61 62 63
  1D 28 6B 03 00 31 51 30 0A
  1D 6B 43 0C 34 30 30 36 33 38 31 33 33 33 39 33
  1B 64 03  1D 56 41 03`);

describe('ESC/POS commands', () => {
  it('builds the worked receipt byte for byte', () => {
    const job = Buffer.concat([
      c.init(),
      c.codePage('cp858'),
      c.align('center'),
      c.size(2, 2),
      c.text('SHOP', 'cp858'),
      c.lf(),
      c.size(1, 1),
      c.bold(true),
      c.text('TOTAL', 'cp858'),
      c.bold(false),
      c.lf(),
      c.align('left'),
      c.text('Summe 12,34 €', 'cp858'),
      c.lf(),
      c.align('center'),
      c.qr('https://r.example/abc', { moduleSize: 6, level: 'M' }),
      c.lf(),
      c.ean13('400638133393'),
      c.feed(3),
      c.cut(3),
    ]);
    expect(job.toString('hex')).toBe(WORKED_RECEIPT.toString('hex'));
  });

  it('matches the QR fixture of escpos-php and python-escpos ("1234", model 2, size 3, level L)', () => {
    expect(c.qr('1234')).toEqual(hex('1D 28 6B 04 00 31 41 32 00 1D 28 6B 03 00 31 43 03 1D 28 6B 03 00 31 45 30 1D 28 6B 07 00 31 50 30 31 32 33 34 1D 28 6B 03 00 31 51 30'));
  });

  it('counts a long QR payload in pL and pH', () => {
    const data = 'x'.repeat(300);
    const store = c.qr(data).subarray(9 + 8 + 8);
    expect([...store.subarray(0, 7)]).toEqual([0x1d, 0x28, 0x6b, (303 & 0xff), 303 >> 8, 0x31, 0x50]);
  });

  it('writes € in CP858 (D5) and WPC1252 (80), the page numbers 19 and 16, and Chinese as GB', () => {
    expect(c.text('12,34 €', 'cp858')).toEqual(hex('31 32 2C 33 34 20 D5'));
    expect(c.text('€ äöüß', 'wpc1252')).toEqual(hex('80 20 E4 F6 FC DF'));
    expect(c.codePage('wpc1252')).toEqual(hex('1B 74 10'));
    // escpos-php testTextChinese (without its ESC @): FS & GB bytes LF FS .
    expect(Buffer.concat([c.cjkOn(), c.textGb('示例文本打印机!'), c.lf(), c.cjkOff()])).toEqual(hex('1C 26 CA BE C0 FD CE C4 B1 BE B4 F2 D3 A1 BB FA 21 0A 1C 2E'));
  });

  it('keeps control bytes out of text (a stray ESC would start a command)', () => {
    expect(c.text('a\x1b@b\x10\x04\x01', 'cp858')).toEqual(Buffer.from('a @b   '));
  });

  it('cuts, feeds and asks for status with the documented bytes', () => {
    expect(c.cut(3)).toEqual(hex('1D 56 41 03'));
    expect(c.statusRequest(4)).toEqual(hex('10 04 04'));
    expect(c.asb(0x0f)).toEqual(hex('1D 61 0F'));
    expect(c.size(4, 1)).toEqual(hex('1D 21 30'));
    expect(c.size(1, 4)).toEqual(hex('1D 21 03'));
  });
});

describe('ESC/POS status', () => {
  it('decodes the documented real-time replies', () => {
    const ok = { printer: 0x12, offline: 0x12, error: 0x12, paper: 0x12 };
    expect(stateFromRealtime(ok)).toEqual({ online: true, paper: 'ok', coverOpen: false });
    expect(stateFromRealtime({ ...ok, paper: 0x1e })).toEqual({ online: true, paper: 'nearEnd', coverOpen: false });
    expect(stateFromRealtime({ ...ok, printer: 0x1a, offline: 0x32, paper: 0x72 })).toEqual({ online: false, paper: 'out', coverOpen: false });
    expect(stateFromRealtime({ ...ok, printer: 0x1a, offline: 0x16 })).toEqual({ online: false, paper: 'ok', coverOpen: true });
    expect(stateFromRealtime({ ...ok, printer: 0x1a, error: 0x1a })).toEqual({ online: false, paper: 'ok', coverOpen: false, error: 'autocutter error' });
    expect(stateFromRealtime({ ...ok, error: 0x32 }).error).toBe('unrecoverable error');
  });

  it('decodes ASB frames (all OK, cover open, paper end)', () => {
    expect(stateFromAsb([0x10, 0, 0, 0])).toEqual({ online: true, paper: 'ok', coverOpen: false });
    expect(stateFromAsb([0x38, 0, 0, 0])).toEqual({ online: false, paper: 'ok', coverOpen: true });
    expect(stateFromAsb([0x18, 0, 0x0c, 0])).toEqual({ online: false, paper: 'out', coverOpen: false });
  });

  it('tells real-time replies, ASB frames, XON/XOFF and garbage apart on one stream', () => {
    const r = decode(hex('12 11 1E 10 00 13 0C 00 81 72 38 00'));
    expect(r.events).toEqual([
      { kind: 'realtime', value: 0x12 },
      { kind: 'realtime', value: 0x1e },
      { kind: 'asb', bytes: [0x10, 0, 0x0c, 0] },
      { kind: 'realtime', value: 0x72 },
    ]);
    expect(r.errors).toEqual([{ code: 'GARBAGE', bytes: 1 }]);
    // An ASB frame cut short waits for the rest.
    expect(r.rest).toEqual(hex('38 00'));
    expect(decode(Buffer.concat([r.rest, hex('00 00')])).events).toEqual([{ kind: 'asb', bytes: [0x38, 0, 0, 0] }]);
  });

  it('rejects what python-escpos rejects as a status byte', () => {
    for (const b of [0x81, 0x01, 0x80, 0x02]) expect(decode(Buffer.from([b])).events).toEqual([]);
    for (const b of [0x12, 0x7e]) expect(decode(Buffer.from([b])).events).toEqual([{ kind: 'realtime', value: b }]);
  });

  it('encodes what it decodes (the simulator answers with these)', () => {
    for (const paper of ['ok', 'nearEnd', 'out'] as const) {
      for (const coverOpen of [false, true]) {
        for (const cutterError of [false, true]) {
          const m = { paper, coverOpen, cutterError };
          const rt = stateFromRealtime({ printer: encodeRealtime(1, m), offline: encodeRealtime(2, m), error: encodeRealtime(3, m), paper: encodeRealtime(4, m) });
          const asb = stateFromAsb([...encodeAsb(m)] as [number, number, number, number]);
          for (const s of [rt, asb]) {
            expect(s.paper).toBe(paper);
            expect(s.coverOpen).toBe(coverOpen);
            expect(s.online).toBe(!(coverOpen || paper === 'out' || cutterError));
            expect(s.error !== undefined).toBe(cutterError);
          }
        }
      }
    }
  });

  it('never throws on random printer bytes, and keeps at most an ASB frame', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 400 }), fc.nat(), (bytes, cut) => {
        const b = Buffer.from(bytes);
        const at = b.length === 0 ? 0 : cut % b.length;
        const one = decode(b);
        const first = decode(b.subarray(0, at));
        const second = decode(Buffer.concat([first.rest, b.subarray(at)]));
        expect(one.rest.length).toBeLessThanOrEqual(4 + bytes.filter((x) => x === 0x13).length);
        // Split anywhere, the same replies come out.
        expect([...first.events, ...second.events]).toEqual(one.events);
      }),
      { seed: SEED, numRuns: 300 },
    );
  });

  it('never throws on random host bytes; split anywhere, the same commands come out', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 400 }), fc.nat(), (bytes, cut) => {
        const b = Buffer.from(bytes);
        const at = b.length === 0 ? 0 : cut % b.length;
        const one = decodeHost(b);
        const first = decodeHost(b.subarray(0, at));
        const second = decodeHost(Buffer.concat([first.rest, b.subarray(at)]));
        const norm = (xs: ReturnType<typeof decodeHost>['events']) => xs.map((x) => (x.t === 'text' ? { t: 'text' } : JSON.parse(JSON.stringify(x))));
        const text = (xs: ReturnType<typeof decodeHost>['events']) => Buffer.concat(xs.flatMap((x) => (x.t === 'text' ? [x.bytes] : []))).toString('hex');
        expect(text([...first.events, ...second.events])).toBe(text(one.events));
        expect(norm([...first.events, ...second.events]).filter((x) => x.t !== 'text')).toEqual(norm(one.events).filter((x) => x.t !== 'text'));
      }),
      { seed: SEED, numRuns: 300 },
    );
  });
});

describe('ESC/POS host decoding', () => {
  it('reads the worked receipt back into its commands', () => {
    const r = decodeHost(WORKED_RECEIPT);
    expect(r.errors).toEqual([]);
    expect(r.rest.length).toBe(0);
    const kinds = r.events.map((e) => e.t);
    expect(kinds.slice(0, 4)).toEqual(['init', 'codePage', 'align', 'size']);
    expect(r.events.filter((e) => e.t === 'qr').map((e) => e.t === 'qr' && e.fn)).toEqual([0x41, 0x43, 0x45, 0x50, 0x51]);
    expect(r.events.find((e) => e.t === 'barcode')).toEqual({ t: 'barcode', m: 0x43, data: Buffer.from('400638133393') });
    expect(r.events.at(-1)).toEqual({ t: 'cut', m: 0x41, n: 3 });
  });

  it('waits for a command split across reads (DLE EOT, GS ( k)', () => {
    const first = decodeHost(hex('41 10 04'));
    expect(first.events).toEqual([{ t: 'text', bytes: Buffer.from('A') }]);
    expect(first.rest).toEqual(hex('10 04'));
    expect(decodeHost(Buffer.concat([first.rest, hex('02')])).events).toEqual([{ t: 'status', n: 2 }]);
    const q = c.qr('https://r.example/abc');
    expect(decodeHost(q.subarray(0, 30)).rest.length).toBeGreaterThan(0);
  });

  it('skips a GS ( length no printer takes, and a DLE that starts nothing', () => {
    const r = decodeHost(hex('1D 28 6B FF FF 10 41 0A'));
    expect(r.errors.map((e) => e.code)).toEqual(['BAD_FRAME', 'BAD_FRAME']);
    expect(r.events).toEqual([{ t: 'text', bytes: Buffer.from('A') }, { t: 'lf' }]);
  });
});

describe('receipt layout', () => {
  it('counts a Chinese character as two columns and wraps at spaces', () => {
    expect(columns('牛奶 1L')).toBe(7);
    expect(wrap('the quick brown fox', 10)).toEqual(['the quick', 'brown fox']);
    expect(twoColumns('Milk', '€1.29', 12)).toEqual(['Milk   €1.29']);
    expect(twoColumns('Organic whole milk', '€1.29', 16)).toEqual(['Organic', 'whole milk €1.29']);
    expect(twoColumns('Organic', '€1.29', 12)).toEqual(['Organi', 'c      €1.29']);
  });
});

describe('renderReceipt', () => {
  it('starts clean, selects CP858, centres the QR and ends with a cut', () => {
    const job = renderReceipt(SAMPLE_RECEIPT, { width: 32 });
    expect(job.subarray(0, 5)).toEqual(hex('1B 40 1B 74 13'));
    expect(job.subarray(-7)).toEqual(hex('1B 64 03 1D 56 41 03'));
    const qrAt = job.indexOf(hex('1D 28 6B 04 00 31 41 32 00'));
    // The alignment in force where the QR starts is centre.
    const lastAlign = job.subarray(0, qrAt).lastIndexOf(hex('1B 61'));
    expect(job[lastAlign + 2]).toBe(1);
    expect(job.includes(Buffer.from('https://r.example/t-1'))).toBe(true);
  });

  it('on a CJK printer leaves Chinese mode first and prints Chinese text as GB18030 inside FS & … FS .', () => {
    const job = renderReceipt({ ...SAMPLE_RECEIPT, language: 'zh', lines: [{ text: '牛奶', amount: 129 }] }, { cjk: true, width: 32 });
    expect(job.subarray(0, 4)).toEqual(hex('1B 40 1C 2E'));
    expect(job.includes(Buffer.concat([c.cjkOn(), c.textGb('牛奶')]))).toBe(true);
  });
});
