/**
 * ZVT over RS-232 (ZVT transport protocol PA00P016 §3): each APDU goes in a frame
 * `DLE STX <APDU, every 10 doubled> DLE ETX crc-lo crc-hi`, and the receiver answers every frame
 * with one byte, ACK 06 or NAK 15. The CRC is CRC-16/KERMIT (reflected polynomial 0x8408, init 0,
 * no final xor) over the unstuffed APDU and the ETX byte, low byte first; the frames captured by
 * ecrterm (github.com/mathiasfrey/ecrterm, tests/parsing.py) check out with exactly this rule.
 * Pure: decode never throws, skips garbage to the next DLE STX, and reports a bad CRC so the
 * link can NAK it.
 */
import type { DecodeError, DecodeResult } from '../decodeResult.js';

const DLE = 0x10;
const STX = 0x02;
const ETX = 0x03;
export const ACK_BYTE = 0x06;
export const NAK_BYTE = 0x15;
/** A sender repeats an unanswered or NAKed frame at most twice (TP §3.5). */
export const MAX_TRIES = 3;
const MAX_FRAME = 0xffff + 5;

export function crc16Kermit(data: Uint8Array, crc = 0): number {
  for (const byte of data) {
    crc ^= byte;
    for (let k = 0; k < 8; k++) crc = crc & 1 ? (crc >>> 1) ^ 0x8408 : crc >>> 1;
  }
  return crc & 0xffff;
}

export function encodeFrame(apdu: Buffer): Buffer {
  const out: number[] = [DLE, STX];
  for (const b of apdu) {
    out.push(b);
    if (b === DLE) out.push(DLE);
  }
  out.push(DLE, ETX);
  const crc = crc16Kermit(Buffer.concat([apdu, Buffer.from([ETX])]));
  out.push(crc & 0xff, crc >> 8);
  return Buffer.from(out);
}

export type SerialEvent = { type: 'frame'; apdu: Buffer } | { type: 'ack' } | { type: 'nak' };

export function decodeFrames(buf: Buffer): DecodeResult<SerialEvent> {
  const events: SerialEvent[] = [];
  const errors: DecodeError[] = [];
  let i = 0;
  let garbage = 0;
  const flushGarbage = () => {
    if (garbage) errors.push({ code: 'GARBAGE', bytes: garbage });
    garbage = 0;
  };
  outer: while (i < buf.length) {
    const b = buf[i]!;
    if (b === ACK_BYTE || b === NAK_BYTE) {
      flushGarbage();
      events.push({ type: b === ACK_BYTE ? 'ack' : 'nak' });
      i++;
      continue;
    }
    if (b !== DLE) {
      garbage++;
      i++;
      continue;
    }
    if (i + 1 >= buf.length) break;
    if (buf[i + 1] !== STX) {
      garbage++;
      i++;
      continue;
    }
    flushGarbage();
    const apdu: number[] = [];
    let j = i + 2;
    for (;;) {
      if (j - i > MAX_FRAME) {
        errors.push({ code: 'OVERLONG', bytes: j - i });
        i = j;
        continue outer;
      }
      if (j >= buf.length) break outer;
      const c = buf[j]!;
      if (c !== DLE) {
        apdu.push(c);
        j++;
        continue;
      }
      if (j + 1 >= buf.length) break outer;
      const n = buf[j + 1]!;
      if (n === DLE) {
        apdu.push(DLE);
        j += 2;
        continue;
      }
      if (n === ETX) break;
      // A lone DLE inside a frame: the frame is broken; look for the next start from here.
      errors.push({ code: 'BAD_FRAME', bytes: j - i, detail: `DLE ${n.toString(16)} inside a frame` });
      i = j;
      continue outer;
    }
    if (j + 3 >= buf.length) break;
    const body = Buffer.from(apdu);
    const want = crc16Kermit(Buffer.concat([body, Buffer.from([ETX])]));
    const got = buf[j + 2]! | (buf[j + 3]! << 8);
    if (want !== got) errors.push({ code: 'BAD_CHECKSUM', bytes: j + 4 - i, detail: `crc ${got.toString(16)} != ${want.toString(16)}` });
    else events.push({ type: 'frame', apdu: body });
    i = j + 4;
  }
  flushGarbage();
  return { events, rest: Buffer.from(buf.subarray(i)), errors };
}
