/**
 * The printer's own status, pure (README.md §Status): the one-byte real-time replies to DLE EOT n
 * and the four-byte Automatic Status Back frames, decoded from the wire and mapped to what the
 * gateway's `printer` status says. The simulator answers with the encoders below.
 */
import type { DecodeError, DecodeResult } from '../decodeResult.js';

export type Paper = 'ok' | 'nearEnd' | 'out';

export interface PrinterState {
  online: boolean;
  paper: Paper;
  coverOpen: boolean;
  /** The error the printer reports (autocutter, unrecoverable, auto-recoverable), if any. */
  error?: string;
}

export type PrinterReply = { kind: 'realtime'; value: number } | { kind: 'asb'; bytes: [number, number, number, number] };

/** The four real-time bytes of one poll, by n (DLE EOT 1, 2, 3, 4). */
export interface RealtimeBytes {
  printer: number;
  offline: number;
  error: number;
  paper: number;
}

const XON = 0x11;
const XOFF = 0x13;
/**
 * XOFF bytes skipped inside one ASB frame: a printer pauses a frame once or twice; more is not a
 * frame, and waiting for its end would keep every following byte buffered (a first byte followed by
 * an endless run of XOFF would grow the buffer without bound).
 */
const MAX_XOFF_IN_ASB = 8;

/** A real-time reply is 0xx1xx10 (bits 1 and 4 set, 0 and 7 clear). */
export const isRealtime = (b: number): boolean => (b & 0x93) === 0x12;
/** An ASB first byte is 0xx1xx00; its three following bytes are 0xx0xxxx. */
const isAsbFirst = (b: number): boolean => (b & 0x93) === 0x10;
const isAsbRest = (b: number): boolean => (b & 0x90) === 0;

/** Printer → host bytes: real-time replies and ASB frames; anything else is skipped and counted. Never throws. */
export function decode(buf: Buffer): DecodeResult<PrinterReply> {
  const events: PrinterReply[] = [];
  const errors: DecodeError[] = [];
  let i = 0;
  while (i < buf.length) {
    const b = buf[i];
    if (b === XON || b === XOFF) {
      i++;
      continue;
    }
    if (isRealtime(b)) {
      events.push({ kind: 'realtime', value: b });
      i++;
      continue;
    }
    if (isAsbFirst(b)) {
      // The next three bytes that are not XOFF are the frame's data (Epson: Transmission Status Identification).
      const rest: number[] = [];
      let j = i + 1;
      let xoff = 0;
      while (j < buf.length && rest.length < 3 && xoff <= MAX_XOFF_IN_ASB) {
        if (buf[j] !== XOFF) rest.push(buf[j]);
        else xoff++;
        j++;
      }
      if (rest.length < 3 && xoff <= MAX_XOFF_IN_ASB) return { events, rest: buf.subarray(i), errors };
      if (rest.length === 3 && rest.every(isAsbRest)) {
        events.push({ kind: 'asb', bytes: [b, rest[0], rest[1], rest[2]] });
        i = j;
        continue;
      }
    }
    errors.push({ code: 'GARBAGE', bytes: 1 });
    i++;
  }
  return { events, rest: Buffer.alloc(0), errors };
}

function errorOf(causes: string[]): string | undefined {
  return causes.length > 0 ? causes.join(', ') : undefined;
}

/** One poll's four replies → the printer's state. */
export function stateFromRealtime(r: RealtimeBytes): PrinterState {
  const causes: string[] = [];
  if (r.error & 0x08) causes.push('autocutter error');
  if (r.error & 0x20) causes.push('unrecoverable error');
  if (r.error & 0x40) causes.push('auto-recoverable error');
  if (causes.length === 0 && r.offline & 0x40) causes.push('error');
  const paperOut = (r.paper & 0x60) !== 0 || (r.offline & 0x20) !== 0;
  const s: PrinterState = { online: (r.printer & 0x08) === 0, paper: paperOut ? 'out' : (r.paper & 0x0c) !== 0 ? 'nearEnd' : 'ok', coverOpen: (r.offline & 0x04) !== 0 };
  const error = errorOf(causes);
  return error ? { ...s, error } : s;
}

/** One ASB frame → the printer's state. */
export function stateFromAsb(b: readonly [number, number, number, number]): PrinterState {
  const causes: string[] = [];
  if (b[1] & 0x04) causes.push('recoverable error');
  if (b[1] & 0x08) causes.push('autocutter error');
  if (b[1] & 0x20) causes.push('unrecoverable error');
  if (b[1] & 0x40) causes.push('auto-recoverable error');
  const s: PrinterState = { online: (b[0] & 0x08) === 0, paper: (b[2] & 0x0c) !== 0 ? 'out' : (b[2] & 0x03) !== 0 ? 'nearEnd' : 'ok', coverOpen: (b[0] & 0x20) !== 0 };
  const error = errorOf(causes);
  return error ? { ...s, error } : s;
}

/** What a printer is physically in (the simulator's model). */
export interface PrinterModel {
  paper: Paper;
  coverOpen: boolean;
  cutterError: boolean;
}

/** The reply to DLE EOT n for a model: fixed bits 0x12 plus the status bits. */
export function encodeRealtime(n: number, m: PrinterModel): number {
  const offline = m.coverOpen || m.paper === 'out' || m.cutterError;
  switch (n) {
    case 1:
      return 0x12 | (offline ? 0x08 : 0);
    case 2:
      return 0x12 | (m.coverOpen ? 0x04 : 0) | (m.paper === 'out' ? 0x20 : 0) | (m.cutterError ? 0x40 : 0);
    case 3:
      return 0x12 | (m.cutterError ? 0x08 : 0);
    case 4:
      return 0x12 | (m.paper === 'out' ? 0x6c : m.paper === 'nearEnd' ? 0x0c : 0);
    default:
      return 0x12;
  }
}

/** The four ASB bytes for a model. */
export function encodeAsb(m: PrinterModel): Buffer {
  const offline = m.coverOpen || m.paper === 'out' || m.cutterError;
  return Buffer.from([0x10 | (offline ? 0x08 : 0) | (m.coverOpen ? 0x20 : 0), m.cutterError ? 0x08 : 0, m.paper === 'out' ? 0x0f : m.paper === 'nearEnd' ? 0x03 : 0, 0]);
}
