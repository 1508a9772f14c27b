/**
 * Host → printer bytes, decoded the way a printer parses them (README.md §Simulator): a state
 * machine that knows each command's parameter length, so text is never taken for a command nor a
 * command's parameter for text. Pure and never throws; the simulator turns the items into printed
 * lines, QR payloads and cuts.
 */
import type { DecodeError, DecodeResult } from '../decodeResult.js';

export type HostItem =
  | { t: 'text'; bytes: Buffer }
  | { t: 'lf' }
  | { t: 'init' }
  | { t: 'codePage'; n: number }
  | { t: 'align'; n: number }
  | { t: 'bold'; on: boolean }
  | { t: 'mode'; n: number }
  | { t: 'size'; n: number }
  | { t: 'feed'; n: number }
  | { t: 'cjk'; on: boolean }
  | { t: 'cut'; m: number; n?: number }
  | { t: 'qr'; fn: number; data: Buffer }
  | { t: 'barcode'; m: number; data: Buffer }
  | { t: 'asb'; n: number }
  | { t: 'status'; n: number }
  | { t: 'other'; bytes: Buffer };

const ESC = 0x1b;
const GS = 0x1d;
const FS = 0x1c;
const DLE = 0x10;
/** GS ( k and GS k data longer than this is not a command a printer takes (fn 180 maximum). */
const MAX_PARAM = 7092;

/** ESC commands with one parameter byte (ESC a, E, t, d, !, -, M, =, J, G, SP, 3, R, V, {, U). */
const ESC_ONE = new Set([0x61, 0x45, 0x74, 0x64, 0x21, 0x2d, 0x4d, 0x3d, 0x4a, 0x47, 0x20, 0x33, 0x52, 0x56, 0x7b, 0x55]);
/** GS commands with one parameter byte (GS !, a, h, w, H, B, f, L is two). */
const GS_ONE = new Set([0x21, 0x61, 0x68, 0x77, 0x48, 0x42, 0x66, 0x62]);

type Step = { item: HostItem | null; len: number } | 'incomplete' | { bad: number; detail: string };

function step(b: Buffer, i: number): Step {
  const x = b[i];
  if (x === 0x0a) return { item: { t: 'lf' }, len: 1 };
  if (x === ESC || x === GS || x === FS || x === DLE) {
    if (i + 1 >= b.length) return 'incomplete';
    const y = b[i + 1];
    if (x === ESC) {
      if (y === 0x40) return { item: { t: 'init' }, len: 2 };
      if (y === 0x70) return i + 4 < b.length ? { item: { t: 'other', bytes: b.subarray(i, i + 5) }, len: 5 } : 'incomplete';
      if (y === 0x32) return { item: null, len: 2 };
      // ESC c 3/4/5 n: paper sensors and panel buttons, two parameter bytes.
      if (y === 0x63) return i + 3 < b.length ? { item: { t: 'other', bytes: b.subarray(i, i + 4) }, len: 4 } : 'incomplete';
      if (!ESC_ONE.has(y)) return { item: { t: 'other', bytes: b.subarray(i, i + 2) }, len: 2 };
      if (i + 2 >= b.length) return 'incomplete';
      const n = b[i + 2];
      const item: HostItem =
        y === 0x74 ? { t: 'codePage', n } : y === 0x61 ? { t: 'align', n: n & 0x0f } : y === 0x45 ? { t: 'bold', on: (n & 1) === 1 } : y === 0x21 ? { t: 'mode', n } : y === 0x64 ? { t: 'feed', n } : { t: 'other', bytes: b.subarray(i, i + 3) };
      return { item, len: 3 };
    }
    if (x === FS) {
      if (y === 0x26) return { item: { t: 'cjk', on: true }, len: 2 };
      if (y === 0x2e) return { item: { t: 'cjk', on: false }, len: 2 };
      return { item: { t: 'other', bytes: b.subarray(i, i + 2) }, len: 2 };
    }
    if (x === DLE) {
      if (y === 0x04 || y === 0x05 || y === 0x14) {
        if (i + 2 >= b.length) return 'incomplete';
        return { item: y === 0x04 ? { t: 'status', n: b[i + 2] } : { t: 'other', bytes: b.subarray(i, i + 3) }, len: 3 };
      }
      return { bad: 1, detail: 'DLE without a real-time command' };
    }
    // GS
    if (y === 0x56) {
      if (i + 2 >= b.length) return 'incomplete';
      const m = b[i + 2];
      if ([0x41, 0x42, 0x61, 0x62, 0x67, 0x68].includes(m)) return i + 3 < b.length ? { item: { t: 'cut', m, n: b[i + 3] }, len: 4 } : 'incomplete';
      return { item: { t: 'cut', m }, len: 3 };
    }
    if (y === 0x28) {
      if (i + 4 >= b.length) return 'incomplete';
      const n = b[i + 3] + b[i + 4] * 256;
      if (n > MAX_PARAM) return { bad: 5, detail: `GS ( parameter length ${n}` };
      if (i + 5 + n > b.length) return 'incomplete';
      const fnBytes = b.subarray(i + 5, i + 5 + n);
      if (b[i + 2] === 0x6b && n >= 2 && fnBytes[0] === 0x31) return { item: { t: 'qr', fn: fnBytes[1], data: fnBytes.subarray(2) }, len: 5 + n };
      return { item: { t: 'other', bytes: b.subarray(i, i + 5 + n) }, len: 5 + n };
    }
    if (y === 0x6b) {
      if (i + 2 >= b.length) return 'incomplete';
      const m = b[i + 2];
      if (m >= 0x41) {
        if (i + 3 >= b.length) return 'incomplete';
        const n = b[i + 3];
        return i + 4 + n <= b.length ? { item: { t: 'barcode', m, data: b.subarray(i + 4, i + 4 + n) }, len: 4 + n } : 'incomplete';
      }
      const end = b.indexOf(0, i + 3);
      if (end < 0) return b.length - i > 260 ? { bad: 3, detail: 'GS k data without NUL' } : 'incomplete';
      return { item: { t: 'barcode', m, data: b.subarray(i + 3, end) }, len: end + 1 - i };
    }
    if (GS_ONE.has(y)) {
      if (i + 2 >= b.length) return 'incomplete';
      const n = b[i + 2];
      return { item: y === 0x21 ? { t: 'size', n } : y === 0x61 ? { t: 'asb', n } : { t: 'other', bytes: b.subarray(i, i + 3) }, len: 3 };
    }
    return { item: { t: 'other', bytes: b.subarray(i, i + 2) }, len: 2 };
  }
  if (x < 0x20 || x === 0x7f) return { item: null, len: 1 }; // CR, HT and other controls: nothing printed
  let j = i;
  while (j < b.length && b[j] >= 0x20 && b[j] !== 0x7f) j++;
  return { item: { t: 'text', bytes: b.subarray(i, j) }, len: j - i };
}

/** Decodes as much as is complete; an unfinished command is left in `rest`. */
export function decodeHost(buf: Buffer): DecodeResult<HostItem> {
  const events: HostItem[] = [];
  const errors: DecodeError[] = [];
  let i = 0;
  while (i < buf.length) {
    const s = step(buf, i);
    if (s === 'incomplete') return { events, rest: buf.subarray(i), errors };
    if ('bad' in s) {
      errors.push({ code: 'BAD_FRAME', bytes: s.bad, detail: s.detail });
      i += s.bad;
      continue;
    }
    if (s.item) events.push(s.item);
    i += s.len;
  }
  return { events, rest: Buffer.alloc(0), errors };
}
