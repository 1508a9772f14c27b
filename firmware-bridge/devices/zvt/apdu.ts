/**
 * ZVT APDU framing and the number formats inside it (README.md §APDU). Pure; nothing here throws
 * on wire input. On TCP the APDU goes bare (no start byte, no checksum), so the only framing is the
 * length field: `CLASS INSTR LEN DATA`, or `CLASS INSTR FF lo hi DATA` for 255 bytes and more
 * (little-endian, ZVT transport protocol §5.2.4).
 */
import type { DecodeResult } from '../decodeResult.js';

export interface Apdu {
  /** CLASS (commands) or CCRC (answers: 80 positive, 84 negative). */
  cls: number;
  /** INSTR (commands) or APRC (answers: the error id of an 84). */
  ins: number;
  data: Buffer;
}

export const MAX_DATA = 0xffff;

/** One APDU on the wire; data longer than 65535 bytes cannot be framed and throws (a bug of ours). */
export function encodeApdu(cls: number, ins: number, data: Buffer = Buffer.alloc(0)): Buffer {
  if (data.length > MAX_DATA) throw new RangeError(`zvt APDU data: ${data.length} bytes > 65535`);
  const head = data.length < 0xff ? Buffer.from([cls, ins, data.length]) : Buffer.from([cls, ins, 0xff, data.length & 0xff, data.length >> 8]);
  return Buffer.concat([head, data]);
}

/**
 * Splits a byte stream into APDUs. A TCP read may hold an APDU and the start of the next (the
 * terminal's `80 00 00` is often joined to its first message), or a piece of a long receipt: the
 * tail that is not a whole APDU comes back as `rest`. There is no garbage to skip on TCP: every
 * byte belongs to some APDU.
 */
export function decodeApdus(buf: Buffer): DecodeResult<Apdu> {
  const events: Apdu[] = [];
  let i = 0;
  for (;;) {
    if (buf.length - i < 3) break;
    let len = buf[i + 2]!;
    let head = 3;
    if (len === 0xff) {
      if (buf.length - i < 5) break;
      len = buf[i + 3]! | (buf[i + 4]! << 8);
      head = 5;
    }
    if (buf.length - i < head + len) break;
    events.push({ cls: buf[i]!, ins: buf[i + 1]!, data: Buffer.from(buf.subarray(i + head, i + head + len)) });
    i += head + len;
  }
  return { events, rest: Buffer.from(buf.subarray(i)), errors: [] };
}

/** `n` as `bytes` bytes of packed BCD, right-aligned (`1234`, 6 → `00 00 00 00 12 34`). */
export function toBcd(n: number | string, bytes: number): Buffer {
  const digits = typeof n === 'number' ? Math.trunc(n).toString() : n;
  if (!/^[0-9]*$/.test(digits) || digits.length > bytes * 2) throw new RangeError(`zvt BCD: "${digits}" does not fit ${bytes} bytes`);
  return Buffer.from(digits.padStart(bytes * 2, '0'), 'hex');
}

/** Packed BCD as a digit string; undefined when a nibble is not a digit. */
export function bcdDigits(b: Buffer): string | undefined {
  const hex = b.toString('hex');
  return /^[0-9]*$/.test(hex) ? hex : undefined;
}

/** Packed BCD as a number (safe up to 15 digits); undefined when a nibble is not a digit. */
export function fromBcd(b: Buffer): number | undefined {
  const d = bcdDigits(b);
  return d === undefined || d.length > 15 ? undefined : d === '' ? 0 : Number.parseInt(d, 10);
}

/** The `Fx Fy` (LLVAR) or `Fx Fy Fz` (LLLVAR) length prefix: only the low nibbles count. */
export function varLength(n: number, digits: 2 | 3): Buffer {
  if (!Number.isInteger(n) || n < 0 || n >= 10 ** digits) throw new RangeError(`zvt ${digits === 2 ? 'LL' : 'LLL'}VAR: length ${n}`);
  const s = n.toString().padStart(digits, '0');
  return Buffer.from([...s].map((c) => 0xf0 | Number(c)));
}

/** Reads an LLVAR/LLLVAR length at `at`; undefined when the bytes are not `Fx` with a decimal digit. */
export function readVarLength(buf: Buffer, at: number, digits: 2 | 3): number | undefined {
  if (buf.length < at + digits) return undefined;
  let n = 0;
  for (let k = 0; k < digits; k++) {
    const b = buf[at + k]!;
    if ((b & 0xf0) !== 0xf0 || (b & 0x0f) > 9) return undefined;
    n = n * 10 + (b & 0x0f);
  }
  return n;
}

export function hex(b: Buffer): string {
  return b.toString('hex').toUpperCase().replace(/(..)(?=.)/g, '$1 ');
}
