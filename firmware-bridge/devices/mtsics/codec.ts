/**
 * Mettler Toledo MT-SICS, the ASCII line protocol of lab and retail balances (README.md here).
 * Pure: bytes in, responses out; no clock, no logger, never throws on wire input.
 */
import type { DecodeError, DecodeResult } from '../decodeResult.js';

// MT-SICS §2: every command and every response ends with CR LF.
const CR = 0x0d;
const LF = 0x0a;
/** Longest line we wait for; inquiry replies (I2, I4) are well below this. */
export const MAX_LINE = 256;

export type MtsicsErrorCode = 'ES' | 'ET' | 'EL';

export type MtsicsResponse =
  /** `S S <w> <u>`, `S D …` (SI/SIR), `T S <tare> <u>`, `TA A …`: status S stable, D dynamic, A answered. */
  | { kind: 'weight'; id: string; status: 'S' | 'D' | 'A'; value: string; unit: string; grams: number | null }
  /** `Z A`, `ZI S`, `ZI D`, `TAC A`: the command was executed. */
  | { kind: 'done'; id: string; status: 'S' | 'D' | 'A' }
  /** `<id> I` not executable (busy, stability timeout); `<id> +` overload / range exceeded; `<id> -` underload. */
  | { kind: 'failed'; id: string; reason: 'not-executable' | 'over' | 'under' }
  /** `ES` syntax, `ET` transmission, `EL` logical error (MT-SICS general errors). */
  | { kind: 'error'; code: MtsicsErrorCode }
  /** `I4 A "B123456789"` (the reply to `@` and to the inquiry commands). */
  | { kind: 'info'; id: string; status: string; text: string };

/** Grams per unit; `null` from `toGrams` for a unit we do not convert (carats, pennyweight …). */
const GRAMS_PER_UNIT: Record<string, number> = { g: 1, kg: 1000, mg: 0.001, lb: 453.59237, oz: 28.349523125 };

export function toGrams(value: number, unit: string): number | null {
  const f = GRAMS_PER_UNIT[unit];
  if (f === undefined || !Number.isFinite(value)) return null;
  return Math.round(value * f);
}

const ID_RE = /^(?:@|[A-Z][A-Z0-9]{0,5})$/;
const NUMBER_RE = /^[+-]?(?:\d+\.?\d*|\.\d+)$/;
const UNIT_RE = /^[A-Za-z%][A-Za-z0-9%/]{0,7}$/;

/** Parses one line (without CR LF); `null` when it is not an MT-SICS response. */
export function parseLine(line: string): MtsicsResponse | null {
  if (line === 'ES' || line === 'ET' || line === 'EL') return { kind: 'error', code: line };
  const quote = line.indexOf('"');
  if (quote >= 0) {
    const head = line.slice(0, quote).trim().split(/ +/);
    const end = line.lastIndexOf('"');
    if (head.length !== 2 || end <= quote || !ID_RE.test(head[0])) return null;
    return { kind: 'info', id: head[0], status: head[1], text: line.slice(quote + 1, end) };
  }
  // Parse by splitting on whitespace, not by fixed columns (the value is right-aligned in a field).
  const t = line.trim().split(/ +/);
  if (t.length < 2 || !ID_RE.test(t[0])) return null;
  const [id, status] = t;
  if (t.length === 2) {
    if (status === 'I') return { kind: 'failed', id, reason: 'not-executable' };
    if (status === '+') return { kind: 'failed', id, reason: 'over' };
    if (status === '-') return { kind: 'failed', id, reason: 'under' };
    if (status === 'S' || status === 'D' || status === 'A') return { kind: 'done', id, status };
    return null;
  }
  if (t.length === 4 && (status === 'S' || status === 'D' || status === 'A')) {
    const [, , value, unit] = t;
    if (!NUMBER_RE.test(value) || !UNIT_RE.test(unit)) return null;
    return { kind: 'weight', id, status, value, unit, grams: toGrams(Number(value), unit) };
  }
  return null;
}

function isPrintable(buf: Buffer, from: number, to: number): boolean {
  for (let i = from; i < to; i++) if (buf[i] < 0x20 || buf[i] > 0x7e) return false;
  return true;
}

/** Splits complete lines (LF-terminated, a CR before it is dropped) and hands each to `onLine`. */
function splitLines(buf: Buffer, errors: DecodeError[], onLine: (line: Buffer, bytes: number) => void): Buffer {
  let start = 0;
  for (;;) {
    const lf = buf.indexOf(LF, start);
    if (lf < 0) break;
    const end = lf > start && buf[lf - 1] === CR ? lf - 1 : lf;
    onLine(buf.subarray(start, end), lf + 1 - start);
    start = lf + 1;
  }
  let rest = buf.subarray(start);
  if (rest.length > MAX_LINE) {
    errors.push({ code: 'OVERLONG', bytes: rest.length, detail: `no line end within ${MAX_LINE} bytes` });
    rest = Buffer.alloc(0);
  }
  return Buffer.from(rest);
}

/** Decodes balance → host bytes into responses. Prepend `rest` to the next chunk. */
export function decode(buf: Buffer): DecodeResult<MtsicsResponse> {
  const events: MtsicsResponse[] = [];
  const errors: DecodeError[] = [];
  const rest = splitLines(buf, errors, (raw, bytes) => {
    if (raw.length === 0) return; // a stray CR LF: nothing to report
    // Resync: noise before the first character a response can start with is dropped and counted.
    let i = 0;
    while (i < raw.length && !((raw[i] >= 0x41 && raw[i] <= 0x5a) || raw[i] === 0x40)) i++;
    if (i > 0) errors.push({ code: 'GARBAGE', bytes: i, detail: 'noise before a response' });
    const body = raw.subarray(i);
    const parsed = body.length > 0 && isPrintable(body, 0, body.length) ? parseLine(body.toString('latin1')) : null;
    if (parsed) events.push(parsed);
    else if (body.length > 0) errors.push({ code: 'GARBAGE', bytes: bytes - i, detail: 'not an MT-SICS response' });
  });
  return { events, rest, errors };
}

/** Decodes host → balance bytes into command lines (`"SI"`, `"T"`, `"@"`); the simulator's side. */
export function decodeCommands(buf: Buffer): DecodeResult<string> {
  const events: string[] = [];
  const errors: DecodeError[] = [];
  const rest = splitLines(buf, errors, (raw, bytes) => {
    if (raw.length === 0) return;
    if (isPrintable(raw, 0, raw.length)) events.push(raw.toString('latin1').trim());
    else errors.push({ code: 'GARBAGE', bytes, detail: 'not a command line' });
  });
  return { events, rest, errors };
}

const COMMAND_RE = /^(?:@|[A-Z][A-Z0-9]{0,5})(?: [\x20-\x7e]*)?$/;

/** A host command: `encode('SI')` → `53 49 0D 0A`. Throws on a malformed command (a programming error). */
export function encode(command: string): Buffer {
  if (!COMMAND_RE.test(command)) throw new TypeError(`mtsics.encode: not an MT-SICS command: ${JSON.stringify(command)}`);
  return Buffer.from(`${command}\r\n`, 'latin1');
}

/** Formats grams as an MT-SICS value in `unit` with `decimals` places (`256, 'kg', 3` → `"0.256"`). */
export function formatValue(grams: number, unit: string, decimals: number): string {
  const f = GRAMS_PER_UNIT[unit] ?? 1;
  return (grams / f).toFixed(decimals);
}

/** A balance response as bytes (the simulator's side). Weight values are right-aligned in 10 characters. */
export function encodeResponse(r: MtsicsResponse): Buffer {
  let line: string;
  switch (r.kind) {
    case 'weight':
      // MT-SICS: `S S      0.256 kg` — ID, status, the value right-aligned in a 10-character field, unit.
      line = `${r.id} ${r.status} ${r.value.padStart(10, ' ')} ${r.unit}`;
      break;
    case 'done':
      line = `${r.id} ${r.status}`;
      break;
    case 'failed':
      line = `${r.id} ${r.reason === 'not-executable' ? 'I' : r.reason === 'over' ? '+' : '-'}`;
      break;
    case 'error':
      line = r.code;
      break;
    case 'info':
      line = `${r.id} ${r.status} "${r.text}"`;
      break;
  }
  return Buffer.from(`${line}\r\n`, 'latin1');
}
