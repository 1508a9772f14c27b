/**
 * Toledo "continuous output" (8213/8217/8530 style; also Mettler IND, KERN FTC, Cardinal 225), the
 * streaming frame of checkout scales (README.md here):
 *   STX SWA SWB SWC W5..W0 T5..T0 CR CHK     (18 bytes; the short variant omits the tare; CHK optional)
 * Pure: no clock, no logger, never throws on wire input.
 */
import type { DecodeError, DecodeResult } from '../decodeResult.js';

const STX = 0x02;
const CR = 0x0d;

export interface FrameFormat {
  /** The frame carries the 6 tare digits (default true). */
  tare: boolean;
  /** The frame ends with the checksum byte (default true). */
  checksum: boolean;
}
export const DEFAULT_FORMAT: FrameFormat = { tare: true, checksum: true };

export function frameLength(f: FrameFormat): number {
  return 1 + 3 + 6 + (f.tare ? 6 : 0) + 1 + (f.checksum ? 1 : 0);
}

export type ToledoUnit = 'kg' | 'lb' | 'g';

export interface ToledoReading {
  /** The displayed weight, signed, in `unit` (digits with the decimal point of SWA applied). */
  value: number;
  /** Integer grams (rounded when the unit is lb). */
  grams: number;
  tareValue: number | null;
  tareGrams: number | null;
  unit: ToledoUnit;
  /** Decimal places (SWA bits 0–2). */
  decimals: number;
  /** Display increment 1, 2 or 5 (SWA bits 3–4). */
  increment: 1 | 2 | 5;
  net: boolean;
  motion: boolean;
  overRange: boolean;
  /** Power-up, not yet zeroed (SWB b6). */
  notZeroed: boolean;
  printRequest: boolean;
}

// SWA b0 b1 b2 → display: 000 XXXX00, 100 XXXXX0, 010 XXXXXX, 110 XXXXX.X, 001 XXXX.XX, 101 XXX.XXX,
// 011 XX.XXXX, 111 X.XXXXX. Indexed by b0 + 2·b1 + 4·b2. Dummy zeros are part of the six digits sent.
const DECIMALS_BY_CODE = [0, 0, 0, 1, 2, 3, 4, 5];
const CODE_BY_DECIMALS = [2, 3, 4, 5, 6, 7];

/** The checksum byte: 2's complement of the sum of the low 7 bits of every preceding byte (low 7 bits). */
export function checksum(bytes: Buffer | number[]): number {
  let sum = 0;
  for (const b of bytes) sum += b & 0x7f;
  return -sum & 0x7f;
}

function parseDigits(buf: Buffer, from: number): number | null {
  let n = 0;
  for (let i = from; i < from + 6; i++) {
    const c = buf[i] & 0x7f;
    // Some indicators blank leading zeros with spaces.
    if (c === 0x20) n = n * 10;
    else if (c >= 0x30 && c <= 0x39) n = n * 10 + (c - 0x30);
    else return null;
  }
  return n;
}

function toGrams(value: number, unit: ToledoUnit): number {
  return Math.round(unit === 'kg' ? value * 1000 : unit === 'lb' ? value * 453.59237 : value);
}

function round(v: number, decimals: number): number {
  return Number(v.toFixed(decimals));
}

/** Interprets one complete frame at `buf[0]` (framing and checksum already checked). */
function interpret(frame: Buffer, f: FrameFormat): ToledoReading | null {
  const swa = frame[1] & 0x7f;
  const swb = frame[2] & 0x7f;
  const swc = frame[3] & 0x7f;
  const w = parseDigits(frame, 4);
  const t = f.tare ? parseDigits(frame, 10) : 0;
  if (w === null || t === null) return null;
  const decimals = DECIMALS_BY_CODE[swa & 0x07];
  const inc = (swa >> 3) & 0x03;
  const increment = inc === 2 ? 2 : inc === 3 ? 5 : 1;
  // SWC b0: grams; otherwise SWB b4 chooses kg (1) or lb (0). Bits 5–7 are ignored (Fairbanks differs).
  const unit: ToledoUnit = swc & 0x01 ? 'g' : swb & 0x10 ? 'kg' : 'lb';
  const negative = (swb & 0x02) !== 0;
  const scale = 10 ** decimals;
  const value = round(((negative ? -1 : 1) * w) / scale, decimals);
  const tareValue = f.tare ? round(t / scale, decimals) : null;
  return {
    value,
    grams: toGrams(value, unit) + 0, // + 0 turns -0 into 0
    tareValue,
    tareGrams: tareValue === null ? null : toGrams(tareValue, unit),
    unit,
    decimals,
    increment,
    net: (swb & 0x01) !== 0,
    motion: (swb & 0x08) !== 0,
    overRange: (swb & 0x04) !== 0,
    notZeroed: (swb & 0x40) !== 0,
    printRequest: (swc & 0x08) !== 0,
  };
}

/** Offset of the next STX after the first byte of `frame`, or its length. */
function nextStx(frame: Buffer): number {
  for (let j = 1; j < frame.length; j++) if ((frame[j] & 0x7f) === STX) return j;
  return frame.length;
}

/** Decodes scale → host bytes. A frame is taken only when its CR is in place and its checksum adds up. */
export function decode(buf: Buffer, format: FrameFormat = DEFAULT_FORMAT): DecodeResult<ToledoReading> {
  const len = frameLength(format);
  const events: ToledoReading[] = [];
  const errors: DecodeError[] = [];
  let i = 0;
  for (;;) {
    let stx = i;
    while (stx < buf.length && (buf[stx] & 0x7f) !== STX) stx++;
    if (stx > i) errors.push({ code: 'GARBAGE', bytes: stx - i, detail: 'bytes before STX' });
    i = stx;
    if (buf.length - i < len) break;
    const frame = buf.subarray(i, i + len);
    const crAt = 4 + 6 + (format.tare ? 6 : 0);
    if ((frame[crAt] & 0x7f) !== CR) {
      // Not a frame after all (an STX inside noise): skip this byte and look for the next STX.
      errors.push({ code: 'GARBAGE', bytes: 1, detail: 'STX without a CR where the frame ends' });
      i += 1;
      continue;
    }
    if (format.checksum && checksum(frame) !== 0) {
      // Drop the frame up to the next STX inside it (a frame cut short may hide the next one's start).
      const skip = nextStx(frame);
      errors.push({ code: 'BAD_CHECKSUM', bytes: skip, detail: `checksum 0x${frame[len - 1].toString(16)} does not add up` });
      i += skip;
      continue;
    }
    const reading = interpret(frame, format);
    if (reading) {
      events.push(reading);
      i += len;
    } else {
      const skip = nextStx(frame);
      errors.push({ code: 'BAD_FRAME', bytes: skip, detail: 'weight or tare is not 6 ASCII digits' });
      i += skip;
    }
  }
  return { events, rest: Buffer.from(buf.subarray(i)), errors };
}

export interface FrameInput {
  /** Weight digits as an integer display count (1234 with 3 decimals = 1.234). Sign via `negative`. */
  weightCount: number;
  tareCount?: number;
  decimals: number;
  increment?: 1 | 2 | 5;
  unit: ToledoUnit;
  negative?: boolean;
  net?: boolean;
  motion?: boolean;
  overRange?: boolean;
  notZeroed?: boolean;
  printRequest?: boolean;
}

function digits(n: number): string {
  const s = String(Math.min(Math.max(Math.trunc(n), 0), 999_999));
  return s.padStart(6, '0');
}

/** One frame as the scale sends it (the simulator's side). */
export function encodeFrame(x: FrameInput, format: FrameFormat = DEFAULT_FORMAT): Buffer {
  const code = CODE_BY_DECIMALS[x.decimals];
  if (code === undefined) throw new RangeError('toledoContinuous.encodeFrame: decimals must be 0..5');
  const inc = x.increment === 2 ? 2 : x.increment === 5 ? 3 : 1;
  const swa = 0x20 | (inc << 3) | code;
  const swb =
    0x20 |
    (x.net ? 0x01 : 0) |
    (x.negative ? 0x02 : 0) |
    (x.overRange ? 0x04 : 0) |
    (x.motion ? 0x08 : 0) |
    (x.unit === 'kg' ? 0x10 : 0) |
    (x.notZeroed ? 0x40 : 0);
  const swc = 0x20 | (x.unit === 'g' ? 0x01 : 0) | (x.printRequest ? 0x08 : 0);
  const body = Buffer.from(
    [STX, swa, swb, swc, ...Buffer.from(digits(x.weightCount) + (format.tare ? digits(x.tareCount ?? 0) : ''), 'latin1'), CR],
  );
  return format.checksum ? Buffer.concat([body, Buffer.from([checksum(body)])]) : body;
}

export type ToledoCommand = 'P' | 'T' | 'Z' | 'C';

/** Host commands in continuous mode (IND445/KERN): P print, T tare, Z zero, C clear tare, each + CR LF. */
export function encode(cmd: ToledoCommand): Buffer {
  return Buffer.from(`${cmd}\r\n`, 'latin1');
}

/** The simulator's side: host command letters, one per line. */
export function decodeCommands(buf: Buffer): DecodeResult<ToledoCommand> {
  const events: ToledoCommand[] = [];
  const errors: DecodeError[] = [];
  let start = 0;
  for (;;) {
    const lf = buf.indexOf(0x0a, start);
    if (lf < 0) break;
    const line = buf.subarray(start, lf).toString('latin1').replace(/\r$/, '').trim();
    if (line === 'P' || line === 'T' || line === 'Z' || line === 'C') events.push(line);
    else if (line.length > 0) errors.push({ code: 'GARBAGE', bytes: lf + 1 - start });
    start = lf + 1;
  }
  let rest = Buffer.from(buf.subarray(start));
  if (rest.length > 64) {
    errors.push({ code: 'OVERLONG', bytes: rest.length });
    rest = Buffer.alloc(0);
  }
  return { events, rest, errors };
}
