/**
 * USB HID barcode scanners (README.md here): the boot keyboard report of keyboard-wedge mode and the
 * HID POS (usage page 0x8C) vendor report. HID input arrives as whole reports, not as a byte
 * stream, so instead of a byte `rest` each decoder takes and returns an explicit state (the
 * characters typed so far, the keys held down). Pure: no clock, no logger, never throws.
 */
import type { DecodeError } from '../decodeResult.js';

export interface Scan {
  code: string;
  /** AIM identifier (`]E0`) when the scanner sent one. */
  symbology?: string;
}

export interface HidDecodeResult<S> {
  events: Scan[];
  state: S;
  errors: DecodeError[];
}

/** Longest code we accumulate; the gateway's scan schema allows 512 characters. */
export const MAX_CODE = 512;
const AIM_RE = /^\][A-Za-z0-9][0-9A-Za-z]$/;

// ---------------------------------------------------------------------------------------------
// Boot keyboard: 8 bytes [modifier, reserved, key1..key6] (USB HID 1.11 App. B.1).

export interface KeyboardState {
  /** Characters of the code being typed. */
  chars: string;
  /** Usages held down in the previous report: a key counts when it appears, not while it is held. */
  held: number[];
}
export const initialKeyboardState: KeyboardState = { chars: '', held: [] };

export interface KeyboardOptions {
  /** Keys that end a code (default Enter and Keypad Enter; many scanners can send Tab instead). */
  terminators?: ('enter' | 'tab')[];
  /** The scanner is set to prefix the AIM identifier: split it off into `symbology`. */
  aimPrefix?: boolean;
}

const MOD_CTRL = 0x01 | 0x10;
const MOD_SHIFT = 0x02 | 0x20;
const ENTER = 0x28;
const TAB = 0x2b;
const KEYPAD_ENTER = 0x58;
const ROLLOVER = 0x01; // ErrorRollOver in every slot: too many keys down

// US layout by usage (HID Usage Tables, keyboard page 0x07): [unshifted, shifted].
const US_KEYS = new Map<number, [string, string]>();
for (let u = 0x04; u <= 0x1d; u++) {
  const c = String.fromCharCode(0x61 + u - 0x04);
  US_KEYS.set(u, [c, c.toUpperCase()]);
}
'1234567890'.split('').forEach((d, i) => US_KEYS.set(0x1e + i, [d, '!@#$%^&*()'[i]]));
const PUNCT: [number, string, string][] = [
  [0x2c, ' ', ' '], [0x2d, '-', '_'], [0x2e, '=', '+'], [0x2f, '[', '{'], [0x30, ']', '}'], [0x31, '\\', '|'],
  [0x33, ';', ':'], [0x34, "'", '"'], [0x35, '`', '~'], [0x36, ',', '<'], [0x37, '.', '>'],
  [0x38, '/', '?'], [0x54, '/', '/'], [0x55, '*', '*'], [0x56, '-', '-'], [0x57, '+', '+'], [0x63, '.', '.'],
];
for (const [u, a, b] of PUNCT) US_KEYS.set(u, [a, b]);
'1234567890'.split('').forEach((d, i) => US_KEYS.set(0x59 + i, [d, d])); // keypad 1..9, 0

/** Splits a leading AIM identifier off a code typed in keyboard mode. */
function splitAim(code: string): Scan {
  const aim = code.slice(0, 3);
  if (code.length > 3 && AIM_RE.test(aim)) return { code: code.slice(3), symbology: aim };
  return { code };
}

/** Decodes one boot keyboard report. */
export function decodeKeyboard(
  report: Buffer,
  state: KeyboardState = initialKeyboardState,
  options: KeyboardOptions = {},
): HidDecodeResult<KeyboardState> {
  const events: Scan[] = [];
  const errors: DecodeError[] = [];
  if (report.length !== 8) {
    errors.push({ code: 'BAD_FRAME', bytes: report.length, detail: 'a boot keyboard report has 8 bytes' });
    return { events, state, errors };
  }
  const mod = report[0];
  const keys = [...report.subarray(2, 8)].filter((k) => k !== 0);
  if (keys.length > 0 && keys.every((k) => k === ROLLOVER)) {
    errors.push({ code: 'BAD_FRAME', bytes: 8, detail: 'keyboard rollover error' });
    return { events, state: { ...state, held: [] }, errors };
  }
  const terminators = options.terminators ?? ['enter'];
  let chars = state.chars;
  for (const k of keys) {
    if (state.held.includes(k)) continue;
    const isTerm = ((k === ENTER || k === KEYPAD_ENTER) && terminators.includes('enter')) || (k === TAB && terminators.includes('tab'));
    if (isTerm) {
      if (chars.length > 0) events.push(options.aimPrefix ? splitAim(chars) : { code: chars });
      chars = '';
      continue;
    }
    if (mod & MOD_CTRL) {
      // The GS separator (0x1D) has no key: scanners send Ctrl+] (a vendor setting [U]; README.md §Keyboard wedge).
      if (k === 0x30) chars += '\x1d';
      else errors.push({ code: 'GARBAGE', bytes: 1, detail: `ctrl+usage 0x${k.toString(16)}` });
      continue;
    }
    const pair = US_KEYS.get(k);
    if (!pair) {
      errors.push({ code: 'GARBAGE', bytes: 1, detail: `usage 0x${k.toString(16)} is not a character` });
      continue;
    }
    chars += pair[mod & MOD_SHIFT ? 1 : 0];
    if (chars.length > MAX_CODE) {
      errors.push({ code: 'OVERLONG', bytes: chars.length, detail: `no terminator within ${MAX_CODE} characters` });
      chars = '';
    }
  }
  return { events, state: { chars, held: keys }, errors };
}

// ---------------------------------------------------------------------------------------------
// HID POS vendor report (Honeywell, Access-IS; README.md §HID point of sale), with the report id byte:
//   0 report id 0x02 | 1 length | 2–4 AIM `]` code modifier | 5–60 data | 61 vendor id | 62 – | 63 bit0 more

export const POS_REPORT_ID = 0x02;
const POS_DATA_AT = 5;
const POS_DATA_MAX = 56;

export interface PosState {
  /** Data of the reports so far when the scanner said "more follow". */
  pending: Buffer;
  symbology?: string;
}
export const initialPosState: PosState = { pending: Buffer.alloc(0) };

export interface PosOptions {
  /** The report starts with the report id byte (node-hid: yes; WebHID strips it). Default true. */
  reportId?: boolean;
  /** Whether `length` counts the 3 AIM bytes too (vendors differ [U]). Default false. */
  lengthIncludesAim?: boolean;
}

export function decodePos(report: Buffer, state: PosState = initialPosState, options: PosOptions = {}): HidDecodeResult<PosState> {
  const events: Scan[] = [];
  const errors: DecodeError[] = [];
  const r = options.reportId === false ? Buffer.concat([Buffer.from([POS_REPORT_ID]), report]) : report;
  if (r.length < 64 || r[0] !== POS_REPORT_ID) {
    errors.push({ code: 'BAD_FRAME', bytes: report.length, detail: `not a 64-byte report 0x${POS_REPORT_ID.toString(16)}` });
    return { events, state, errors };
  }
  const len = options.lengthIncludesAim ? r[1] - 3 : r[1];
  if (len < 0 || len > POS_DATA_MAX) {
    errors.push({ code: 'BAD_FRAME', bytes: 64, detail: `data length ${r[1]} out of range` });
    return { events, state: initialPosState, errors };
  }
  const aim = r.subarray(2, 5).toString('latin1');
  const symbology = state.pending.length > 0 ? state.symbology : AIM_RE.test(aim) ? aim : undefined;
  const pending = Buffer.concat([state.pending, r.subarray(POS_DATA_AT, POS_DATA_AT + len)]);
  if (r[63] & 0x01) {
    if (pending.length > MAX_CODE) {
      errors.push({ code: 'OVERLONG', bytes: pending.length, detail: `more than ${MAX_CODE} bytes` });
      return { events, state: initialPosState, errors };
    }
    return { events, state: { pending, symbology }, errors };
  }
  if (pending.length > 0 && pending.length <= MAX_CODE) {
    events.push(symbology ? { code: pending.toString('latin1'), symbology } : { code: pending.toString('latin1') });
  } else if (pending.length > MAX_CODE) {
    errors.push({ code: 'OVERLONG', bytes: pending.length, detail: `more than ${MAX_CODE} bytes` });
  }
  return { events, state: initialPosState, errors };
}

/** One HID POS report (the test and simulator side): `more` sets bit 0 of byte 63. */
export function encodePos(x: { data: Buffer | string; aim?: string; more?: boolean; vendorId?: string }): Buffer {
  const data = Buffer.isBuffer(x.data) ? x.data : Buffer.from(x.data, 'latin1');
  if (data.length > POS_DATA_MAX) throw new RangeError(`hidScanner.encodePos: at most ${POS_DATA_MAX} data bytes`);
  const r = Buffer.alloc(64);
  r[0] = POS_REPORT_ID;
  r[1] = data.length;
  if (x.aim) r.write(x.aim.slice(0, 3), 2, 'latin1');
  data.copy(r, POS_DATA_AT);
  if (x.vendorId) r.write(x.vendorId.slice(0, 1), 61, 'latin1');
  r[63] = x.more ? 1 : 0;
  return r;
}

/** Press and release reports that type `text` then Enter on a US layout (the test and simulator side). */
export function encodeKeyboard(text: string, terminator: 'enter' | 'tab' | 'none' = 'enter'): Buffer[] {
  const reverse = new Map<string, [number, boolean]>();
  for (const [u, [a, b]] of US_KEYS) {
    if (u >= 0x54) continue; // prefer the main block over the keypad
    if (!reverse.has(a)) reverse.set(a, [u, false]);
    if (!reverse.has(b)) reverse.set(b, [u, true]);
  }
  const out: Buffer[] = [];
  const release = Buffer.alloc(8);
  for (const ch of text) {
    const hit = ch === '\x1d' ? ([0x30, false] as [number, boolean]) : reverse.get(ch);
    if (!hit) throw new RangeError(`hidScanner.encodeKeyboard: no key for ${JSON.stringify(ch)}`);
    const mod = ch === '\x1d' ? 0x01 : hit[1] ? 0x02 : 0x00;
    out.push(Buffer.from([mod, 0, hit[0], 0, 0, 0, 0, 0]), release);
  }
  if (terminator !== 'none') out.push(Buffer.from([0, 0, terminator === 'enter' ? ENTER : TAB, 0, 0, 0, 0, 0]), release);
  return out;
}
