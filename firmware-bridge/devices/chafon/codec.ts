/**
 * Chafon CF-RU5102 / UHFReader18 / UHFReader288 frames (README.md here):
 *   command  Len Adr Cmd Data… CRC_LSB CRC_MSB
 *   response Len Adr reCmd Status Data… CRC_LSB CRC_MSB
 * `Len` counts the bytes after itself, CRC included; the CRC is CRC-16/MCRF4XX over Len…last data
 * byte, sent LSB first. There is no start byte: the parser resyncs by trying the next byte as `Len`
 * and only accepts a frame whose command code is known and whose CRC adds up.
 * Pure: no clock, no logger, never throws on wire input.
 */
import type { DecodeError, DecodeResult } from '../decodeResult.js';

/** CRC-16/MCRF4XX: reflected polynomial 0x8408, init 0xFFFF, no final XOR ("123456789" → 0x6F91). */
export function crc16(bytes: Uint8Array, from = 0, to = bytes.length): number {
  let crc = 0xffff;
  for (let i = from; i < to; i++) {
    crc ^= bytes[i];
    for (let b = 0; b < 8; b++) crc = crc & 1 ? (crc >>> 1) ^ 0x8408 : crc >>> 1;
  }
  return crc;
}

export const CMD = {
  inventory: 0x01,
  read: 0x02,
  write: 0x03,
  writeEpc: 0x04,
  readerInfo: 0x21,
  setFrequency: 0x22,
  setAddress: 0x24,
  inventoryTime: 0x25,
  baud: 0x28,
  rfPower: 0x2f,
  workMode18: 0x35,
  buzzer: 0x40,
  workMode288: 0x76,
} as const;

/** Command codes a frame may carry; anything else at offset 2 means `Len` was not a real length. */
function isKnownCmd(c: number): boolean {
  return (c >= 0x01 && c <= 0x0f) || (c >= 0x21 && c <= 0x2f) || c === 0x35 || c === 0x40 || c === 0x76;
}

/** chafon_rfid G2_TAG_INVENTORY_STATUS_MORE_FRAMES: more inventory frames follow this one. */
export const STATUS_MORE_FRAMES = 0x03;
/** Inventory statuses that carry tag data: 0x01 done, 0x02 scan-time overflow, 0x03 more, 0x04 buffer full [U]. */
const INVENTORY_DATA_STATUSES = new Set([0x01, 0x02, 0x03, 0x04]);

export type Variant = '18' | '288';

export interface TagRead {
  /** EPC as upper-case hex. */
  epc: string;
  /** The reader's raw RSSI byte (UHFReader288); `null` where the frame has none (UHFReader18). */
  rssi: number | null;
}

export type ChafonResponse =
  | {
      kind: 'inventory';
      adr: number;
      status: number;
      /** Status 0x03: this reply continues in the next frame. */
      more: boolean;
      /** The antenna bitmask (1, 2, 4, 8 → antenna 1..4), `null` where the frame has none. */
      antennaMask: number | null;
      antenna: number | null;
      tags: TagRead[];
    }
  | { kind: 'response'; adr: number; cmd: number; status: number; data: Buffer };

export interface RawFrame {
  adr: number;
  cmd: number;
  /** Everything between the command byte and the CRC (for responses: Status, then Data). */
  body: Buffer;
}

function isCompleteFrameAt(buf: Buffer, i: number, minLen: number): boolean {
  const len = buf[i];
  if (len < minLen || i + 1 + len > buf.length || !isKnownCmd(buf[i + 2])) return false;
  const end = i + 1 + len;
  return crc16(buf, i, end - 2) === (buf[end - 2] | (buf[end - 1] << 8));
}

function nextCompleteFrame(buf: Buffer, from: number, minLen: number): number {
  for (let j = from; j + minLen < buf.length; j++) if (isCompleteFrameAt(buf, j, minLen)) return j;
  return -1;
}

/** Splits frames by `Len`; `minLen` is 4 for commands, 5 for responses (they add a status byte). */
function splitFrames(buf: Buffer, minLen: number): { frames: RawFrame[]; rest: Buffer; errors: DecodeError[] } {
  const frames: RawFrame[] = [];
  const errors: DecodeError[] = [];
  let garbage = 0;
  const flushGarbage = () => {
    if (garbage > 0) errors.push({ code: 'GARBAGE', bytes: garbage, detail: 'bytes that start no frame' });
    garbage = 0;
  };
  let i = 0;
  while (i < buf.length) {
    const len = buf[i];
    if (len < minLen || (i + 2 < buf.length && !isKnownCmd(buf[i + 2]))) {
      garbage++;
      i++;
      continue;
    }
    if (buf.length - i < len + 1) {
      // Incomplete. A noise byte can look like a long length and would stall a real frame behind it:
      // if a complete frame with a good CRC starts later in the buffer, this candidate was noise.
      const j = nextCompleteFrame(buf, i + 1, minLen);
      if (j < 0) break; // wait for more bytes
      garbage += j - i;
      i = j;
      continue;
    }
    const end = i + 1 + len; // one past the CRC
    const want = crc16(buf, i, end - 2);
    const got = buf[end - 2] | (buf[end - 1] << 8);
    if (want !== got) {
      flushGarbage();
      // No start byte to look for: try the very next byte as a length.
      errors.push({
        code: 'BAD_CHECKSUM',
        bytes: 1,
        detail: `crc 0x${got.toString(16).padStart(4, '0')}, expected 0x${want.toString(16).padStart(4, '0')}`,
      });
      i++;
      continue;
    }
    flushGarbage();
    frames.push({ adr: buf[i + 1], cmd: buf[i + 2], body: Buffer.from(buf.subarray(i + 3, end - 2)) });
    i = end;
  }
  flushGarbage();
  return { frames, rest: Buffer.from(buf.subarray(i)), errors };
}

function antennaFromMask(mask: number): number | null {
  for (let b = 0; b < 8; b++) if (mask & (1 << b)) return b + 1;
  return null;
}

/** Parses the inventory data; `null` when the lengths do not add up. */
function parseInventory(adr: number, status: number, data: Buffer, variant: Variant): ChafonResponse | null {
  const base = { kind: 'inventory' as const, adr, status, more: status === STATUS_MORE_FRAMES };
  if (!INVENTORY_DATA_STATUSES.has(status) || data.length === 0) {
    // An error status (e.g. 0xFB no tag operable, 0xF8 antenna) ends the round with no data.
    return data.length === 0 ? { ...base, antennaMask: null, antenna: null, tags: [] } : null;
  }
  let p = 0;
  let antennaMask: number | null = null;
  // UHFReader288: Ant(bitmask) Num then (EPCLen EPC RSSI)×Num. UHFReader18: Num then (EPCLen EPC)×Num.
  if (variant === '288') antennaMask = data[p++];
  if (p >= data.length) return null;
  const num = data[p++];
  const tags: TagRead[] = [];
  for (let n = 0; n < num; n++) {
    if (p >= data.length) return null;
    const epcLen = data[p++];
    const need = epcLen + (variant === '288' ? 1 : 0);
    if (epcLen === 0 || p + need > data.length) return null;
    const epc = data.subarray(p, p + epcLen).toString('hex').toUpperCase();
    p += epcLen;
    const rssi = variant === '288' ? data[p++] : null;
    tags.push({ epc, rssi });
  }
  if (p !== data.length) return null;
  return { ...base, antennaMask, antenna: antennaMask === null ? null : antennaFromMask(antennaMask), tags };
}

/** Decodes reader → host bytes. Prepend `rest` to the next chunk. */
export function decode(buf: Buffer, variant: Variant = '288'): DecodeResult<ChafonResponse> {
  const { frames, rest, errors } = splitFrames(buf, 5);
  const events: ChafonResponse[] = [];
  for (const f of frames) {
    const status = f.body[0];
    const data = f.body.subarray(1);
    if (f.cmd === CMD.inventory) {
      const inv = parseInventory(f.adr, status, data, variant);
      if (inv) events.push(inv);
      else errors.push({ code: 'BAD_FRAME', bytes: f.body.length + 5, detail: 'inventory data lengths do not add up' });
    } else {
      events.push({ kind: 'response', adr: f.adr, cmd: f.cmd, status, data: Buffer.from(data) });
    }
  }
  return { events, rest, errors };
}

/** Decodes host → reader bytes into command frames (the simulator's side). */
export function decodeCommands(buf: Buffer): DecodeResult<RawFrame> {
  const { frames, rest, errors } = splitFrames(buf, 4);
  return { events: frames, rest, errors };
}

function frame(head: number[], data: Uint8Array | number[]): Buffer {
  const len = head.length + data.length + 2; // bytes after Len, CRC included
  if (len > 0xff) throw new RangeError('chafon: frame longer than 255 bytes');
  const out = Buffer.alloc(len + 1);
  out[0] = len;
  out.set(head, 1);
  out.set(data, 1 + head.length);
  const crc = crc16(out, 0, len - 1);
  out[len - 1] = crc & 0xff;
  out[len] = crc >> 8;
  return out;
}

/** A host command frame: `encode({adr: 0xff, cmd: 0x21})` → `04 FF 21 19 95`. */
export function encode(cmd: { adr: number; cmd: number; data?: Uint8Array | number[] }): Buffer {
  return frame([cmd.adr & 0xff, cmd.cmd & 0xff], cmd.data ?? []);
}

export interface Inventory288Options {
  adr: number;
  /** Q value (default 15). */
  q?: number;
  /** Session S0..S3 (default 0). */
  session?: number;
  /** Antenna 1..4 (default 1). */
  antenna?: number;
  /** Scan time in units of 100 ms (default 0x14). */
  scanTime?: number;
}

/**
 * The inventory command. UHFReader18: no parameters (`04 00 01 DB 4B`). UHFReader288M: Q, session,
 * five mask/target bytes, antenna (0x80 + index) and scan time, laid out as the README.md vector
 * `0D FF 01 0F 00 01 00 00 00 00 80 14 C0 3A`; the names of the middle bytes are not verified [U].
 */
export function encodeInventory(variant: Variant, o: Inventory288Options): Buffer {
  if (variant === '18') return encode({ adr: o.adr, cmd: CMD.inventory });
  const ant = (o.antenna ?? 1) - 1;
  const data = [o.q ?? 0x0f, o.session ?? 0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x80 | (ant & 0x03), o.scanTime ?? 0x14];
  return encode({ adr: o.adr, cmd: CMD.inventory, data });
}

/** A reader response frame (the simulator's side). */
export function encodeResponse(r: { adr: number; cmd: number; status: number; data?: Uint8Array | number[] }): Buffer {
  return frame([r.adr & 0xff, r.cmd & 0xff, r.status & 0xff], r.data ?? []);
}

/** An inventory response frame with its tags (the simulator's side). */
export function encodeInventoryResponse(
  variant: Variant,
  r: { adr: number; status: number; antenna?: number; tags: { epc: string; rssi?: number }[] },
): Buffer {
  const data: number[] = [];
  if (variant === '288') data.push(1 << ((r.antenna ?? 1) - 1));
  data.push(r.tags.length);
  for (const t of r.tags) {
    const epc = Buffer.from(t.epc, 'hex');
    data.push(epc.length, ...epc);
    if (variant === '288') data.push(t.rssi ?? 0);
  }
  return encodeResponse({ adr: r.adr, cmd: CMD.inventory, status: r.status, data });
}
