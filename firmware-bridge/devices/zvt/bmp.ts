/**
 * ZVT data fields: BMPs (a 1-byte number, then a value whose length the number fixes, or an
 * LLVAR/LLLVAR prefix) and the TLV container of BMP 06 (BER tags and lengths). The table is the
 * spec's "Summary of utilised BMPs" (ZVT ECR interface, PA00P015 rev 13.08, §13). A walker that
 * meets a BMP it does not know has to stop: only TLV describes its own length.
 */
import { readVarLength, varLength } from './apdu.js';

type BmpFormat = number | 'LL' | 'LLL' | 'TLV';

export const BMP_FORMAT: ReadonlyMap<number, BmpFormat> = new Map<number, BmpFormat>([
  [0x01, 1], [0x02, 1], [0x03, 1], [0x04, 6], [0x05, 1], [0x06, 'TLV'], [0x0b, 3], [0x0c, 3],
  [0x0d, 2], [0x0e, 2], [0x17, 2], [0x19, 1], [0x22, 'LL'], [0x23, 'LL'], [0x24, 'LLL'], [0x27, 1],
  [0x29, 4], [0x2a, 15], [0x2d, 'LL'], [0x37, 3], [0x3a, 2], [0x3b, 8], [0x3c, 'LLL'], [0x3d, 3],
  [0x49, 2], [0x60, 'LLL'], [0x87, 2], [0x88, 3], [0x8a, 1], [0x8b, 'LL'], [0x8c, 1], [0x9a, 'LLL'],
  [0xa0, 1], [0xa7, 'LL'], [0xaa, 3], [0xaf, 'LLL'], [0xba, 5], [0xd0, 1], [0xd1, 'LL'], [0xd2, 1],
  [0xd3, 1], [0xe0, 1], [0xe9, 1], [0xea, 1], [0xeb, 8], [0xf0, 1], [0xf9, 1], [0xfa, 1], [0xfb, 1],
  [0xfc, 1], [0xfd, 1],
  ...[0xe1, 0xe2, 0xe3, 0xe4, 0xe5, 0xe6, 0xe7, 0xe8, 0xf1, 0xf2, 0xf3, 0xf4, 0xf5, 0xf6, 0xf7, 0xf8].map((b) => [b, 'LL'] as [number, BmpFormat]),
]);

export interface Bmp {
  id: number;
  value: Buffer;
}

export interface BmpWalk {
  bmps: Bmp[];
  /** Why the walk stopped early (unknown BMP, a value cut short); the BMPs before it are kept. */
  error?: string;
}

/** Walks the BMPs of `data` from `at`. */
export function walkBmps(data: Buffer, at = 0): BmpWalk {
  const bmps: Bmp[] = [];
  let i = at;
  while (i < data.length) {
    const id = data[i]!;
    const f = BMP_FORMAT.get(id);
    if (f === undefined) return { bmps, error: `unknown BMP ${id.toString(16).padStart(2, '0')} at ${i}` };
    let start = i + 1;
    let len: number | undefined;
    if (typeof f === 'number') len = f;
    else if (f === 'TLV') {
      const l = readBerLength(data, start);
      if (l) {
        len = l.length;
        start += l.size;
      }
    } else {
      const digits = f === 'LL' ? 2 : 3;
      len = readVarLength(data, start, digits);
      start += digits;
    }
    if (len === undefined || start + len > data.length) return { bmps, error: `BMP ${id.toString(16).padStart(2, '0')} at ${i}: value cut short` };
    bmps.push({ id, value: Buffer.from(data.subarray(start, start + len)) });
    i = start + len;
  }
  return { bmps };
}

/** One BMP on the wire: fixed values go as they are, LL/LLL values get their prefix, 06 its BER length. */
export function encodeBmp(id: number, value: Buffer): Buffer {
  const f = BMP_FORMAT.get(id);
  if (f === undefined) throw new RangeError(`zvt BMP ${id.toString(16)}: not in the table`);
  if (typeof f === 'number') {
    if (value.length !== f) throw new RangeError(`zvt BMP ${id.toString(16)}: needs ${f} bytes, got ${value.length}`);
    return Buffer.concat([Buffer.from([id]), value]);
  }
  const prefix = f === 'TLV' ? berLength(value.length) : varLength(value.length, f === 'LL' ? 2 : 3);
  return Buffer.concat([Buffer.from([id]), prefix, value]);
}

// --- TLV (BMP 06; ZVT spec §9: BER-TLV) ---

export interface Tlv {
  /** The tag with all its bytes as one number (`0x1f07`, `0x26`). */
  tag: number;
  value: Buffer;
  /** Parsed children of a constructed tag (bit 0x20 of the first tag byte). */
  children?: Tlv[];
}

export function berLength(n: number): Buffer {
  if (n < 0x80) return Buffer.from([n]);
  if (n < 0x100) return Buffer.from([0x81, n]);
  if (n < 0x10000) return Buffer.from([0x82, n >> 8, n & 0xff]);
  throw new RangeError(`zvt TLV length ${n}`);
}

/** `00–7F` is the length; `81 xx` and `82 hi lo` (big-endian) carry it in the next bytes. */
export function readBerLength(buf: Buffer, at: number): { length: number; size: number } | undefined {
  if (at >= buf.length) return undefined;
  const b = buf[at]!;
  if (b < 0x80) return { length: b, size: 1 };
  if (b === 0x81 && at + 1 < buf.length) return { length: buf[at + 1]!, size: 2 };
  if (b === 0x82 && at + 2 < buf.length) return { length: (buf[at + 1]! << 8) | buf[at + 2]!, size: 3 };
  return undefined;
}

export interface TlvParse {
  items: Tlv[];
  error?: string;
}

const MAX_DEPTH = 8;

/** Parses TLV objects; nested containers are parsed into `children` (up to 8 levels). */
export function parseTlv(buf: Buffer, depth = 0): TlvParse {
  const items: Tlv[] = [];
  let i = 0;
  while (i < buf.length) {
    const first = buf[i]!;
    let tag = first;
    let j = i + 1;
    // Low 5 bits all set: more tag bytes follow, each with bit 8 set except the last.
    if ((first & 0x1f) === 0x1f) {
      for (;;) {
        if (j >= buf.length || j - i > 3) return { items, error: `TLV tag at ${i}: cut short` };
        const b = buf[j++]!;
        tag = tag * 256 + b;
        if ((b & 0x80) === 0) break;
      }
    }
    const l = readBerLength(buf, j);
    if (!l || j + l.size + l.length > buf.length) return { items, error: `TLV ${tag.toString(16)} at ${i}: length cut short` };
    const value = Buffer.from(buf.subarray(j + l.size, j + l.size + l.length));
    const item: Tlv = { tag, value };
    if ((first & 0x20) !== 0 && depth < MAX_DEPTH) {
      const inner = parseTlv(value, depth + 1);
      item.children = inner.items;
      if (inner.error) return { items: [...items, item], error: inner.error };
    }
    items.push(item);
    i = j + l.size + l.length;
  }
  return { items };
}

function tagBytes(tag: number): Buffer {
  const out: number[] = [];
  for (let t = tag; t > 0; t = Math.floor(t / 256)) out.unshift(t & 0xff);
  return Buffer.from(out.length ? out : [0]);
}

/** Encodes TLV objects; an item with `children` is encoded from them. */
export function encodeTlv(items: Tlv[]): Buffer {
  return Buffer.concat(
    items.map((t) => {
      const value = t.children ? encodeTlv(t.children) : t.value;
      return Buffer.concat([tagBytes(t.tag), berLength(value.length), value]);
    }),
  );
}

/** Depth-first: every item with this tag. */
export function findTlv(items: Tlv[] | undefined, tag: number): Tlv[] {
  const out: Tlv[] = [];
  for (const t of items ?? []) {
    if (t.tag === tag) out.push(t);
    if (t.children) out.push(...findTlv(t.children, tag));
  }
  return out;
}
