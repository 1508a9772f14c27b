import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import {
  crc16,
  decode,
  decodeCommands,
  encode,
  encodeInventory,
  encodeInventoryResponse,
  type ChafonResponse,
} from '../../../../../firmware-bridge/devices/chafon/codec.js';

const hex = (s: string) => Buffer.from(s.replace(/[\s|]+/g, ''), 'hex');
// The worked frames of firmware-bridge/devices/chafon/README.md.
const INV_288 = hex('15 00 01 03 | 01 01 | 0C E2 00 00 17 22 0A 02 34 20 50 6B 1A 6B | B1 A5');
const NO_TAGS = hex('07 00 01 01 01 00 1E 4B');
const INV_18 = hex('13 00 01 03 | 01 | 0C 000000000000000000000313 | 3F 39');
const INFO = hex('11 00 21 00 | 00 16 0C 03 4E 00 1E 0A 01 00 00 00 | E6 51');

function feed(chunks: Buffer[]) {
  let rest: Buffer = Buffer.alloc(0);
  const events: ChafonResponse[] = [];
  const errors: string[] = [];
  for (const c of chunks) {
    const r = decode(Buffer.concat([rest, c]));
    events.push(...r.events);
    errors.push(...r.errors.map((e) => e.code));
    rest = r.rest;
  }
  return { events, errors, rest };
}

describe('Chafon codec: the README worked frames', () => {
  it('CRC-16/MCRF4XX check value: "123456789" → 0x6F91', () => {
    expect(crc16(Buffer.from('123456789'))).toBe(0x6f91);
  });
  it('encodes get reader info and the inventory commands byte for byte', () => {
    expect(encode({ adr: 0xff, cmd: 0x21 })).toEqual(hex('04 FF 21 19 95'));
    expect(encodeInventory('18', { adr: 0x00 })).toEqual(hex('04 00 01 DB 4B'));
    expect(encodeInventory('18', { adr: 0xff })).toEqual(hex('04 FF 01 1B B4'));
    expect(encodeInventory('288', { adr: 0xff, q: 15, session: 0, antenna: 1, scanTime: 0x14 })).toEqual(
      hex('0D FF 01 0F 00 01 00 00 00 00 80 14 C0 3A'),
    );
  });
  it('decodes the reader info response', () => {
    expect(decode(INFO).events).toEqual([{ kind: 'response', adr: 0, cmd: 0x21, status: 0, data: hex('00 16 0C 03 4E 00 1E 0A 01 00 00 00') }]);
  });
  it('decodes a UHFReader288 inventory response: antenna bitmask, EPC, RSSI, status 0x03 = more', () => {
    // The README frame shows EPC[12] without the bytes; this EPC is ours, and the CRC below is recomputed.
    const frame = encodeInventoryResponse('288', { adr: 0, status: 0x03, antenna: 1, tags: [{ epc: 'E20000172 20A02342050 6B1A'.replace(/ /g, ''), rssi: 0x6b }] });
    expect(frame.subarray(0, 6)).toEqual(hex('15 00 01 03 01 01'));
    expect(frame[6]).toBe(0x0c);
    expect(frame[19]).toBe(0x6b);
    expect(decode(frame).events).toEqual([
      { kind: 'inventory', adr: 0, status: 3, more: true, antennaMask: 1, antenna: 1, tags: [{ epc: 'E20000172 20A02342050 6B1A'.replace(/ /g, ''), rssi: 0x6b }] },
    ]);
  });
  it('decodes the "no tags" vector 07 00 01 01 01 00 1E 4B (ant 1, 0 tags, done)', () => {
    expect(decode(NO_TAGS)).toEqual({
      events: [{ kind: 'inventory', adr: 0, status: 1, more: false, antennaMask: 1, antenna: 1, tags: [] }],
      rest: Buffer.alloc(0),
      errors: [],
    });
    expect(encodeInventoryResponse('288', { adr: 0, status: 1, antenna: 1, tags: [] })).toEqual(NO_TAGS);
  });
  it('decodes the UHFReader18 inventory response byte for byte (1 tag, no RSSI)', () => {
    expect(decode(INV_18, '18').events).toEqual([
      { kind: 'inventory', adr: 0, status: 3, more: true, antennaMask: null, antenna: null, tags: [{ epc: '000000000000000000000313', rssi: null }] },
    ]);
    expect(encodeInventoryResponse('18', { adr: 0, status: 3, tags: [{ epc: '000000000000000000000313' }] })).toEqual(INV_18);
  });
  it('antenna bitmask 1,2,4,8 → antenna 1..4; several tags in one frame', () => {
    const tags = [
      { epc: '3074257BF7194E4000001A85', rssi: 0x50 },
      { epc: 'E2801160600002084F6E1234', rssi: 0x42 },
    ];
    const r = decode(encodeInventoryResponse('288', { adr: 0, status: 1, antenna: 4, tags }));
    expect(r.events).toEqual([{ kind: 'inventory', adr: 0, status: 1, more: false, antennaMask: 8, antenna: 4, tags }]);
  });
  it('the simulator side decodes command frames', () => {
    expect(decodeCommands(hex('04 00 01 DB 4B 04 FF 21 19 95')).events).toEqual([
      { adr: 0, cmd: 1, body: Buffer.alloc(0) },
      { adr: 0xff, cmd: 0x21, body: Buffer.alloc(0) },
    ]);
  });
  it('the worked 288 frame of the README has the stated layout (Len 0x15 = 21 bytes after Len)', () => {
    expect(INV_288[0]).toBe(INV_288.length - 1);
  });
});

describe('Chafon codec: framing', () => {
  it('one frame, two frames in one chunk, a frame split across chunks', () => {
    expect(feed([NO_TAGS]).events).toHaveLength(1);
    expect(feed([Buffer.concat([INFO, NO_TAGS])]).events.map((e) => e.kind)).toEqual(['response', 'inventory']);
    const r = feed([INFO.subarray(0, 1), INFO.subarray(1, 9), INFO.subarray(9)]);
    expect(r.events).toHaveLength(1);
    expect(r.rest.length).toBe(0);
  });
  it('skips leading garbage byte by byte and counts it', () => {
    const r = decode(Buffer.concat([hex('00 01 02 03 FE 7E 33'), NO_TAGS]));
    expect(r.events).toHaveLength(1);
    expect(r.errors.reduce((n, e) => n + e.bytes, 0)).toBe(7);
  });
  it('counts a bad CRC and keeps the next frame', () => {
    const bad = Buffer.from(NO_TAGS);
    bad[7] ^= 0x01;
    const r = decode(Buffer.concat([bad, INFO]));
    expect(r.events.map((e) => e.kind)).toEqual(['response']);
    expect(r.errors.map((e) => e.code)).toContain('BAD_CHECKSUM');
  });
  it('counts an inventory whose lengths do not add up (CRC fine) as a bad frame', () => {
    const r = decode(encode({ adr: 0, cmd: 0x01, data: [0x01, 0x01, 0x01, 0x0c, 0xaa] }));
    expect(r.events).toEqual([]);
    expect(r.errors.map((e) => e.code)).toEqual(['BAD_FRAME']);
  });
});

describe('Chafon codec: properties', () => {
  const tag = fc.record({
    epc: fc.uint8Array({ minLength: 2, maxLength: 16 }).map((b) => Buffer.from(b).toString('hex').toUpperCase()),
    rssi: fc.integer({ min: 0, max: 255 }),
  });
  const inv = fc.record({
    status: fc.constantFrom(1, 2, 3, 4),
    antenna: fc.integer({ min: 1, max: 4 }),
    tags: fc.array(tag, { maxLength: 5 }),
  });
  const flush = Buffer.alloc(260); // zeros are never a length: they push any false start out

  it('never throws on random bytes', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 600 }), (bytes) => {
        const r = decode(Buffer.from(bytes));
        expect(r.rest.length).toBeLessThanOrEqual(256);
      }),
    );
  });
  it('round-trips inventory frames in any split', () => {
    fc.assert(
      fc.property(fc.array(inv, { minLength: 1, maxLength: 4 }), fc.nat(), (xs, cut) => {
        const stream = Buffer.concat(xs.map((x) => encodeInventoryResponse('288', { adr: 0, ...x })));
        const at = cut % stream.length;
        const r = feed([stream.subarray(0, at), stream.subarray(at)]);
        expect(r.events.map((e) => e.kind === 'inventory' && [e.status, e.antenna, e.tags])).toEqual(xs.map((x) => [x.status, x.antenna, x.tags]));
        expect(r.errors).toEqual([]);
      }),
    );
  });
  it('resyncs after arbitrary garbage once enough bytes follow, and counts it', () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 1, maxLength: 300 }), inv, (junk, x) => {
        const frame = encodeInventoryResponse('288', { adr: 0, ...x });
        const r = feed([Buffer.from(junk), frame, flush]);
        expect(r.events.at(-1)).toMatchObject({ kind: 'inventory', tags: x.tags });
        expect(r.errors.length).toBeGreaterThanOrEqual(1);
      }),
    );
  });
  it('a corrupted frame is counted and never yields a tag', () => {
    fc.assert(
      fc.property(inv, fc.nat(), fc.integer({ min: 1, max: 255 }), (x, p, flip) => {
        const f = encodeInventoryResponse('288', { adr: 0, ...x, tags: x.tags.length ? x.tags : [{ epc: 'AABB', rssi: 1 }] });
        const pos = 1 + (p % (f.length - 1));
        f[pos] ^= flip;
        const r = feed([f, flush]);
        expect(r.events.filter((e) => e.kind === 'inventory' && e.tags.length > 0)).toEqual([]);
        expect(r.errors.length).toBeGreaterThanOrEqual(1);
      }),
    );
  });
});
