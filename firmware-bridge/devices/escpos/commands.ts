/**
 * ESC/POS command bytes, pure (README.md §Commands has the table and its sources). Each builder
 * returns the exact bytes of one command; codec.ts strings them into a receipt job.
 */
import iconv from 'iconv-lite';

const ESC = 0x1b;
const GS = 0x1d;
const FS = 0x1c;
const DLE = 0x10;
const EOT = 0x04;

/** Single-byte code pages with €, and their ESC t number on Epson TM-T88IV/V (escpos-printer-db). */
export const CODE_PAGES = { cp858: 19, wpc1252: 16 } as const;
export type CodePage = keyof typeof CODE_PAGES;
const ICONV_NAME: Record<CodePage, string> = { cp858: 'cp858', wpc1252: 'windows1252' };

export type Align = 'left' | 'center' | 'right';
const ALIGN: Record<Align, number> = { left: 0, center: 1, right: 2 };

/** ESC @: clears the buffer and resets every mode (and the code page, to 0). */
export const init = (): Buffer => Buffer.from([ESC, 0x40]);
/** ESC t n: select the character code table. */
export const codePage = (cp: CodePage): Buffer => Buffer.from([ESC, 0x74, CODE_PAGES[cp]]);
/** ESC a n: alignment; takes effect at the start of a line only. */
export const align = (a: Align): Buffer => Buffer.from([ESC, 0x61, ALIGN[a]]);
/** ESC E n: emphasised (bold) on/off. */
export const bold = (on: boolean): Buffer => Buffer.from([ESC, 0x45, on ? 1 : 0]);
/** GS ! n: character size, bits 4–7 width−1, bits 0–3 height−1 (1..8 each). */
export function size(width: number, height: number): Buffer {
  const w = Math.min(8, Math.max(1, Math.trunc(width)));
  const h = Math.min(8, Math.max(1, Math.trunc(height)));
  return Buffer.from([GS, 0x21, ((w - 1) << 4) | (h - 1)]);
}
/** LF: print the buffer and feed one line. */
export const lf = (): Buffer => Buffer.from([0x0a]);
/** ESC d n: print and feed n lines. */
export const feed = (n: number): Buffer => Buffer.from([ESC, 0x64, n & 0xff]);
/** FS &: Chinese (two-byte GB) character mode on. */
export const cjkOn = (): Buffer => Buffer.from([FS, 0x26]);
/** FS .: back to single-byte characters (many Chinese printers start in Chinese mode). */
export const cjkOff = (): Buffer => Buffer.from([FS, 0x2e]);
/** GS V 41 n (function B): feed to the cut position plus n units, then a full cut. */
export const cut = (n = 3): Buffer => Buffer.from([GS, 0x56, 0x41, n & 0xff]);
/** DLE EOT n: real-time status request (n 1 printer, 2 offline cause, 3 error cause, 4 roll paper). */
export const statusRequest = (n: 1 | 2 | 3 | 4): Buffer => Buffer.from([DLE, EOT, n]);
/** GS a n: Automatic Status Back; 0 turns it off. */
export const asb = (n: number): Buffer => Buffer.from([GS, 0x61, n & 0xff]);

/** Text in a single-byte code page; a character the page lacks becomes "?". No control bytes pass. */
export function text(s: string, cp: CodePage): Buffer {
  return iconv.encode(printable(s), ICONV_NAME[cp]);
}

/** Text in GB18030, for the Chinese mode of a CJK printer (ASCII stays one byte). */
export function textGb(s: string): Buffer {
  return iconv.encode(printable(s), 'gb18030');
}

/** Decodes single-byte text of a code page (the simulator reads what the codec wrote). */
export function decodeText(b: Buffer, cp: CodePage | 'cp437'): string {
  return iconv.decode(b, cp === 'cp437' ? 'cp437' : ICONV_NAME[cp]);
}

export function decodeGb(b: Buffer): string {
  return iconv.decode(b, 'gb18030');
}

/** Receipt text never carries control bytes: one could start a command (a stray ESC, GS or DLE). */
function printable(s: string): string {
  // Intl's money formats use no-break and narrow no-break spaces; a printer wants a plain space.
  return s.replace(/[\u00a0\u202f]/g, ' ').replace(/[\u0000-\u001f\u007f]/g, ' ');
}

export type QrErrorLevel = 'L' | 'M' | 'Q' | 'H';
const QR_EC: Record<QrErrorLevel, number> = { L: 0x30, M: 0x31, Q: 0x32, H: 0x33 };

/** GS ( k with cn 0x31: pL pH count the bytes after pH. */
function qrFn(fn: number, params: Buffer): Buffer {
  const n = params.length + 2;
  return Buffer.concat([Buffer.from([GS, 0x28, 0x6b, n & 0xff, n >> 8, 0x31, fn]), params]);
}

/**
 * A QR code: model 2 (fn 165), module size in dots (fn 167), error level (fn 169), store the
 * data (fn 180), print it (fn 181). The data is stored as its UTF-8 bytes (a URL is ASCII).
 */
export function qr(data: string, o: { moduleSize?: number; level?: QrErrorLevel } = {}): Buffer {
  const bytes = Buffer.from(data, 'utf8');
  if (bytes.length < 1 || bytes.length > 7089) throw new RangeError('qr: data must be 1..7089 bytes');
  const moduleSize = Math.min(16, Math.max(1, Math.trunc(o.moduleSize ?? 3)));
  return Buffer.concat([
    qrFn(0x41, Buffer.from([0x32, 0x00])),
    qrFn(0x43, Buffer.from([moduleSize])),
    qrFn(0x45, Buffer.from([QR_EC[o.level ?? 'L']])),
    qrFn(0x50, Buffer.concat([Buffer.from([0x30]), bytes])),
    qrFn(0x51, Buffer.from([0x30])),
  ]);
}

/** GS k 43 n (function B): EAN-13 from 12 or 13 digits (the printer adds the check digit to 12). */
export function ean13(digits: string): Buffer {
  if (!/^[0-9]{12,13}$/.test(digits)) throw new RangeError('ean13: needs 12 or 13 digits');
  return Buffer.concat([Buffer.from([GS, 0x6b, 0x43, digits.length]), Buffer.from(digits, 'latin1')]);
}
