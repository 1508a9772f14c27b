import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { checksum, decode, encode, encodeFrame, type FrameInput, type ToledoReading } from '../../../../../firmware-bridge/devices/toledoContinuous/codec.js';

const hex = (s: string) => Buffer.from(s.replace(/\s+/g, ''), 'hex');
// The worked frames of firmware-bridge/devices/toledoContinuous/README.md: 1.234 kg gross, stable, tare 0; and the same in motion.
const STABLE = hex('02 2D 30 20 30 30 31 32 33 34 30 30 30 30 30 30 0D 2A');
const MOTION = hex('02 2D 38 20 30 30 31 32 33 34 30 30 30 30 30 30 0D 22');

const reading1234: ToledoReading = {
  value: 1.234,
  grams: 1234,
  tareValue: 0,
  tareGrams: 0,
  unit: 'kg',
  decimals: 3,
  increment: 1,
  net: false,
  motion: false,
  overRange: false,
  notZeroed: false,
  printRequest: false,
};

function feed(chunks: Buffer[]) {
  let rest: Buffer = Buffer.alloc(0);
  const events: ToledoReading[] = [];
  const errors: string[] = [];
  for (const c of chunks) {
    const r = decode(Buffer.concat([rest, c]));
    events.push(...r.events);
    errors.push(...r.errors.map((e) => e.code));
    rest = r.rest;
  }
  return { events, errors, rest };
}

describe('Toledo continuous codec: the README worked frames', () => {
  it('checksum: sum of low 7 bits 0x2D6 → 0x2A, and all 18 bytes add up to 0 mod 128', () => {
    expect(checksum(STABLE.subarray(0, 17))).toBe(0x2a);
    expect(checksum(STABLE)).toBe(0);
    expect(checksum(MOTION.subarray(0, 17))).toBe(0x22);
  });
  it('decodes 1.234 kg gross stable tare 0, and the motion frame', () => {
    expect(decode(STABLE)).toEqual({ events: [reading1234], rest: Buffer.alloc(0), errors: [] });
    expect(decode(MOTION).events).toEqual([{ ...reading1234, motion: true }]);
  });
  it('encodes both frames byte for byte', () => {
    const x: FrameInput = { weightCount: 1234, tareCount: 0, decimals: 3, unit: 'kg' };
    expect(encodeFrame(x)).toEqual(STABLE);
    expect(encodeFrame({ ...x, motion: true })).toEqual(MOTION);
  });
  it('reads sign, net, lb, grams, decimals, increment and over-range from the status words', () => {
    const [neg] = decode(encodeFrame({ weightCount: 500, tareCount: 120, decimals: 3, unit: 'kg', negative: true, net: true })).events;
    expect(neg).toMatchObject({ value: -0.5, grams: -500, tareGrams: 120, net: true });
    const [lb] = decode(encodeFrame({ weightCount: 100, decimals: 2, unit: 'lb', increment: 5 })).events;
    expect(lb).toMatchObject({ value: 1, grams: 454, unit: 'lb', increment: 5 });
    const [g] = decode(encodeFrame({ weightCount: 750, decimals: 0, unit: 'g', overRange: true, increment: 2 })).events;
    expect(g).toMatchObject({ grams: 750, unit: 'g', overRange: true, increment: 2 });
  });
  it('decimal point table: b0 b1 b2 = 110 → XXXXX.X, 111 → X.XXXXX, 000 → XXXX00', () => {
    const frame = (swa: number) => {
      const b = Buffer.from(STABLE);
      b[1] = swa;
      b[17] = checksum(b.subarray(0, 17));
      return decode(b).events[0];
    };
    expect(frame(0x20 | 0x08 | 0x03)).toMatchObject({ decimals: 1, value: 123.4 });
    expect(frame(0x20 | 0x08 | 0x07)).toMatchObject({ decimals: 5, value: 0.01234 });
    expect(frame(0x20 | 0x08 | 0x00)).toMatchObject({ decimals: 0, value: 1234 });
  });
  it('ignores the parity bit 7 of status words', () => {
    const b = Buffer.from(STABLE);
    b[1] |= 0x80;
    expect(decode(b).events).toEqual([reading1234]);
  });
  it('encodes host commands T, Z', () => {
    expect(encode('T')).toEqual(hex('54 0D 0A'));
    expect(encode('Z')).toEqual(hex('5A 0D 0A'));
  });
});

describe('Toledo continuous codec: framing', () => {
  it('one frame, two frames in one chunk, a frame split across chunks', () => {
    expect(feed([STABLE]).events).toHaveLength(1);
    expect(feed([Buffer.concat([STABLE, MOTION])]).events.map((e) => e.motion)).toEqual([false, true]);
    const r = feed([STABLE.subarray(0, 5), STABLE.subarray(5, 17), STABLE.subarray(17)]);
    expect(r.events).toEqual([reading1234]);
    expect(r.rest.length).toBe(0);
  });
  it('skips leading garbage to the next STX and counts it', () => {
    const r = decode(Buffer.concat([hex('FF 00 31 0D'), STABLE]));
    expect(r.events).toEqual([reading1234]);
    expect(r.errors).toEqual([expect.objectContaining({ code: 'GARBAGE', bytes: 4 })]);
  });
  it('counts a bad checksum, drops that frame and keeps the next', () => {
    const bad = Buffer.from(STABLE);
    bad[17] = 0x2b;
    const r = decode(Buffer.concat([bad, MOTION]));
    expect(r.events.map((e) => e.motion)).toEqual([true]);
    expect(r.errors.map((e) => e.code)).toEqual(['BAD_CHECKSUM']);
  });
  it('a short frame (no tare, no checksum) decodes with that format', () => {
    const fmt = { tare: false, checksum: false };
    const f = encodeFrame({ weightCount: 1234, decimals: 3, unit: 'kg' }, fmt);
    expect(f).toEqual(hex('02 2D 30 20 30 30 31 32 33 34 0D'));
    expect(decode(f, fmt).events[0]).toMatchObject({ grams: 1234, tareGrams: null });
  });
});

describe('Toledo continuous codec: properties', () => {
  const input = fc.record({
    weightCount: fc.integer({ min: 0, max: 999_999 }),
    tareCount: fc.integer({ min: 0, max: 999_999 }),
    decimals: fc.integer({ min: 0, max: 5 }),
    unit: fc.constantFrom('kg' as const, 'lb' as const, 'g' as const),
    motion: fc.boolean(),
    negative: fc.boolean(),
    net: fc.boolean(),
  });
  it('never throws on random bytes; rest is shorter than a frame', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 400 }), (bytes) => {
        expect(decode(Buffer.from(bytes)).rest.length).toBeLessThan(18);
      }),
    );
  });
  it('round-trips any frame, in any split', () => {
    fc.assert(
      fc.property(fc.array(input, { minLength: 1, maxLength: 5 }), fc.nat(), (xs, cut) => {
        const stream = Buffer.concat(xs.map((x) => encodeFrame(x)));
        const at = cut % stream.length;
        const r = feed([stream.subarray(0, at), stream.subarray(at)]);
        expect(r.events.map((e) => [e.motion, e.net, e.unit, e.decimals])).toEqual(xs.map((x) => [x.motion, x.net, x.unit, x.decimals]));
        expect(r.errors).toEqual([]);
      }),
    );
  });
  it('resyncs after garbage without STX; random garbage never hides more than the frames it overlaps', () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 1, maxLength: 100 }), input, (junk, x) => {
        const clean = Buffer.from(junk).filter((b) => (b & 0x7f) !== 0x02);
        const r = decode(Buffer.concat([clean, encodeFrame(x)]));
        expect(r.events).toHaveLength(1);
        expect(r.errors.reduce((n, e) => n + e.bytes, 0)).toBe(clean.length);
      }),
    );
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 1, maxLength: 100 }), input, (junk, x) => {
        // Arbitrary garbage followed by two frames: at least the last one survives.
        const f = encodeFrame(x);
        const r = decode(Buffer.concat([Buffer.from(junk), f, f]));
        expect(r.events.length).toBeGreaterThanOrEqual(1);
      }),
    );
  });
  it('a frame with one corrupted byte is counted, never decoded as a wrong weight', () => {
    fc.assert(
      fc.property(input, fc.integer({ min: 1, max: 17 }), fc.integer({ min: 1, max: 127 }), (x, pos, flip) => {
        const f = Buffer.from(encodeFrame(x));
        f[pos] = (f[pos] ^ flip) & 0x7f;
        const r = decode(Buffer.concat([f, Buffer.alloc(18, 0x30)]));
        expect(r.events).toEqual([]);
        expect(r.errors.length).toBeGreaterThanOrEqual(1);
      }),
    );
  });
});
