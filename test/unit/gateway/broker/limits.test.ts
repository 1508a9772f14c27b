import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { FrameGuard, TokenBucket } from '../../../../gateway/broker/limits.js';

/** Remaining Length varint [MQTT-2.2.3]. */
function varint(n: number): number[] {
  const out: number[] = [];
  do {
    let b = n % 128;
    n = Math.floor(n / 128);
    if (n > 0) b |= 0x80;
    out.push(b);
  } while (n > 0);
  return out;
}
/** A packet with a fixed header and `bodyLen` body bytes (the guard reads fixed headers only). */
function packet(typeByte: number, bodyLen: number): Buffer {
  return Buffer.concat([Buffer.from([typeByte, ...varint(bodyLen)]), Buffer.alloc(bodyLen, 0x61)]);
}
/** A real MQTT 3.1.1 CONNECT with username/password. */
function connect(clientId = 'c1', username = 'footfall/door-1', password = 'secret'): Buffer {
  const str = (s: string) => {
    const b = Buffer.from(s);
    return Buffer.concat([Buffer.from([b.length >> 8, b.length & 0xff]), b]);
  };
  const body = Buffer.concat([str('MQTT'), Buffer.from([4, 0xc2, 0, 60]), str(clientId), str(username), str(password)]);
  return Buffer.concat([Buffer.from([0x10, ...varint(body.length)]), body]);
}
const PINGREQ = Buffer.from([0xc0, 0x00]);
const DISCONNECT = Buffer.from([0xe0, 0x00]);

function feedAll(g: FrameGuard, chunks: Buffer[]) {
  for (const [i, c] of chunks.entries()) {
    const v = g.feed(c);
    if (v) return { at: i, v };
  }
  return null;
}
const bytes = (b: Buffer) => [...b].map((x) => Buffer.from([x]));

describe('FrameGuard', () => {
  it('passes one CONNECT', () => {
    expect(new FrameGuard(65536).feed(connect())).toBeNull();
  });

  it('passes several packets in one chunk, zero-length ones included', () => {
    const stream = Buffer.concat([connect(), packet(0x32, 300), PINGREQ, packet(0x82, 20), packet(0x30, 0), DISCONNECT]);
    expect(new FrameGuard(65536).feed(stream)).toBeNull();
  });

  it('passes the same packets split byte by byte', () => {
    const stream = Buffer.concat([connect(), packet(0x32, 300), PINGREQ, packet(0x32, 20000), DISCONNECT]);
    expect(feedAll(new FrameGuard(65536), bytes(stream))).toBeNull();
  });

  it('a packet exactly at the limit passes, one byte over is refused', () => {
    // 1 type byte + 2 length bytes + 1021 body = 1024
    expect(packet(0x32, 1021).length).toBe(1024);
    expect(new FrameGuard(1024).feed(Buffer.concat([connect(), packet(0x32, 1021)]))).toBeNull();
    expect(new FrameGuard(1024).feed(Buffer.concat([connect(), packet(0x32, 1022)]))).toEqual({
      code: 'oversized',
      reason: 'packet of 1025 bytes exceeds maxPacketBytes 1024',
    });
  });

  it('refuses an oversized packet from its header alone, before any body byte arrives', () => {
    const g = new FrameGuard(65536);
    expect(g.feed(connect())).toBeNull();
    expect(g.feed(Buffer.from([0x30]))).toBeNull();
    expect(g.feed(Buffer.from([0xff, 0xff]))).toBeNull(); // length not complete yet
    // 127 + 127·128 + 3·16384 = 65535 body bytes announced: 65539 in all
    expect(g.feed(Buffer.from([0x03]))).toEqual({ code: 'oversized', reason: 'packet of 65539 bytes exceeds maxPacketBytes 65536' });
  });

  it('refuses an oversized CONNECT as the first packet', () => {
    expect(new FrameGuard(1024).feed(Buffer.from([0x10, ...varint(5000)]))).toMatchObject({ code: 'oversized' });
  });

  it('accepts the largest 4-byte Remaining Length and refuses a 5-byte one', () => {
    expect(new FrameGuard(Number.MAX_SAFE_INTEGER).feed(Buffer.from([0x10, 0xff, 0xff, 0xff, 0x7f]))).toBeNull();
    const g = new FrameGuard(Number.MAX_SAFE_INTEGER);
    expect(feedAll(g, bytes(Buffer.from([0x10, 0xff, 0xff, 0xff, 0xff, 0x01])))).toEqual({
      at: 4, // the 4th length byte still says "more follows": refused there, the 5th is never needed
      v: { code: 'bad_length', reason: 'malformed Remaining Length (more than 4 bytes)' },
    });
  });

  it('refuses a stream whose first packet is not CONNECT [MQTT-3.1.0-1]', () => {
    expect(new FrameGuard(65536).feed(packet(0x30, 10))).toEqual({ code: 'not_connect', reason: 'first packet is not CONNECT (type byte 0x30)' });
    expect(new FrameGuard(65536).feed(Buffer.from('GET / HTTP/1.1\r\n'))).toEqual({ code: 'not_connect', reason: 'first packet is not CONNECT (type byte 0x47)' });
    expect(new FrameGuard(65536).feed(Buffer.from([0x00]))).toMatchObject({ code: 'not_connect' });
    // only the first packet must be CONNECT
    expect(new FrameGuard(65536).feed(Buffer.concat([connect(), packet(0x30, 10)]))).toBeNull();
  });

  it('refuses the reserved types 0 and 15 [MQTT-2.2.1] and a second CONNECT [MQTT-3.1.0-2] at their first byte', () => {
    const after = (b: number[]) => {
      const g = new FrameGuard(65536);
      expect(g.feed(connect())).toBeNull();
      return g.feed(Buffer.from(b));
    };
    expect(after([0x00])).toEqual({ code: 'bad_type', reason: 'reserved packet type 0 (type byte 0x00)' });
    expect(after([0xf0])).toEqual({ code: 'bad_type', reason: 'reserved packet type 15 (type byte 0xf0)' });
    expect(after([0x10])).toEqual({ code: 'bad_type', reason: 'a second CONNECT on one connection' });
    expect(after([0xc0, 0x00])).toBeNull(); // PINGREQ
  });

  it('an empty chunk changes nothing', () => {
    const g = new FrameGuard(65536);
    expect(g.feed(Buffer.alloc(0))).toBeNull();
    expect(g.feed(Buffer.from([0x30]))).toEqual({ code: 'not_connect', reason: 'first packet is not CONNECT (type byte 0x30)' });
  });

  // A sequence: CONNECT, then packets of random type and size, every one within the limit.
  const MAX = 4096;
  const typeByte = fc.constantFrom(0x30, 0x32, 0x34, 0x3b, 0x40, 0x50, 0x62, 0x70, 0x82, 0x90, 0xa2, 0xb0, 0xc0, 0xd0, 0xe0);
  const bodyWithin = fc.oneof(fc.integer({ min: 0, max: 200 }), fc.integer({ min: 0, max: MAX - 3 }), fc.constantFrom(0, 125, 126, 127, 128, MAX - 3));
  /** Split a buffer at random cut points. */
  const chunked = (buf: Buffer, cuts: number[]) => {
    const at = [...new Set(cuts.map((c) => c % (buf.length + 1)))].sort((a, b) => a - b);
    const out: Buffer[] = [];
    let prev = 0;
    for (const c of [...at, buf.length]) {
      out.push(buf.subarray(prev, c));
      prev = c;
    }
    return out;
  };

  it('property: packet sequences within the limit never trip it, whatever the chunking', () => {
    fc.assert(
      fc.property(fc.array(fc.tuple(typeByte, bodyWithin), { maxLength: 12 }), fc.array(fc.nat(), { maxLength: 40 }), (pkts, cuts) => {
        const stream = Buffer.concat([connect(), ...pkts.map(([t, n]) => packet(t, n))]);
        for (const p of pkts) expect(packet(p[0], p[1]).length).toBeLessThanOrEqual(MAX);
        expect(feedAll(new FrameGuard(MAX), chunked(stream, cuts))).toBeNull();
      }),
      { numRuns: 300 },
    );
  });

  it('property: one oversized packet is refused at the chunk that completes its length, never earlier', () => {
    fc.assert(
      fc.property(
        fc.array(fc.tuple(typeByte, bodyWithin), { maxLength: 6 }),
        fc.integer({ min: MAX - 2, max: 10 * MAX }),
        fc.array(fc.nat(), { maxLength: 40 }),
        (before, bigBody, cuts) => {
          const head = Buffer.concat([connect(), ...before.map(([t, n]) => packet(t, n))]);
          const big = packet(0x30, bigBody);
          const stream = Buffer.concat([head, big]);
          const lengthEnd = head.length + 1 + varint(bigBody).length; // offset just after the last length byte
          const chunks = chunked(stream, cuts);
          const hit = feedAll(new FrameGuard(MAX), chunks);
          expect(hit?.v).toEqual({ code: 'oversized', reason: `packet of ${big.length} bytes exceeds maxPacketBytes ${MAX}` });
          const endOfHitChunk = chunks.slice(0, hit!.at + 1).reduce((s, c) => s + c.length, 0);
          const startOfHitChunk = endOfHitChunk - chunks[hit!.at].length;
          expect(startOfHitChunk).toBeLessThan(lengthEnd);
          expect(endOfHitChunk).toBeGreaterThanOrEqual(lengthEnd);
        },
      ),
      { numRuns: 300 },
    );
  });
});

describe('TokenBucket (injected clock)', () => {
  it('allows a burst, then refills at the rate', () => {
    let t = 0;
    const b = new TokenBucket(1, 3, () => t);
    expect([b.take('a'), b.take('a'), b.take('a'), b.take('a')]).toEqual([true, true, true, false]);
    t = 500;
    expect(b.take('a')).toBe(false);
    t = 1000;
    expect(b.take('a')).toBe(true);
    expect(b.take('a')).toBe(false);
  });

  it('keeps one bucket per key', () => {
    const t = 0;
    const b = new TokenBucket(1, 1, () => t);
    expect(b.take('10.0.0.1')).toBe(true);
    expect(b.take('10.0.0.1')).toBe(false);
    expect(b.take('10.0.0.2')).toBe(true);
  });

  it('never saves up more than the burst, however long it was idle', () => {
    let t = 0;
    const b = new TokenBucket(10, 2, () => t);
    t = 3_600_000;
    expect([b.take('a'), b.take('a'), b.take('a')]).toEqual([true, true, false]);
  });

  it('a fractional rate refills slowly', () => {
    let t = 0;
    const b = new TokenBucket(0.5, 1, () => t);
    expect(b.take('a')).toBe(true);
    t = 1000;
    expect(b.take('a')).toBe(false);
    t = 2000;
    expect(b.take('a')).toBe(true);
  });
});
