import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { crc16Kermit, decodeFrames, encodeFrame } from '../../../firmware-bridge/devices/zvt/serialFrame.js';
import { ZvtSerialTransport } from '../../../firmware-bridge/devices/zvt/serialTransport.js';
import { MemoryByteTransport } from '../../../firmware-bridge/transports/memory.js';

const h = (s: string) => Buffer.from(s.replace(/\s+/g, ''), 'hex');
const a = (s: string) => Buffer.from(s, 'latin1').toString('hex');

// Frames captured by ecrterm (tests/parsing.py) and frames computed with the same CRC rule.
const COMPLETION = h(`10 02 06 0F 0B F0 F0 F7 ${a('2.14.15')} 00 10 03 B1 11`);
const FRAMES: [string, Buffer][] = [
  ['80 00 00', h('10 02 80 00 00 10 03 F5 1F')],
  ['06 0F 00', h('10 02 06 0F 00 10 03 C6 33')],
  ['06 01 07 04 00 00 00 00 12 34', h('10 02 06 01 07 04 00 00 00 00 12 34 10 03 18 F5')],
  ['06 01 07 04 00 00 00 00 10 00', h('10 02 06 01 07 04 00 00 00 00 10 10 00 10 03 62 91')],
  [`06 0F 0B F0 F0 F7 ${a('2.14.15')} 00`, COMPLETION],
];

describe('zvt RS-232 frames', () => {
  it('CRC-16/KERMIT over APDU + ETX', () => {
    expect(crc16Kermit(h('06 01 07 04 00 00 00 00 10 00 03'))).toBe(0x9162);
    expect(crc16Kermit(Buffer.from('123456789'))).toBe(0x2189); // the catalogue check value of CRC-16/KERMIT
  });
  it('encodes and decodes every worked frame, DLE stuffing included', () => {
    for (const [apdu, frame] of FRAMES) {
      expect(encodeFrame(h(apdu))).toEqual(frame);
      const r = decodeFrames(frame);
      expect(r).toEqual({ events: [{ type: 'frame', apdu: h(apdu) }], rest: Buffer.alloc(0), errors: [] });
    }
  });
  it('two frames and ACK/NAK bytes in one chunk; a frame split across chunks', () => {
    const r = decodeFrames(Buffer.concat([h('06'), FRAMES[0]![1], h('15'), FRAMES[3]![1]]));
    expect(r.events.map((e) => e.type)).toEqual(['ack', 'frame', 'nak', 'frame']);
    const first = decodeFrames(FRAMES[3]![1].subarray(0, 11));
    expect(first.events).toEqual([]);
    const second = decodeFrames(Buffer.concat([first.rest, FRAMES[3]![1].subarray(11)]));
    expect(second.events).toEqual([{ type: 'frame', apdu: h('06 01 07 04 00 00 00 00 10 00') }]);
  });
  it('skips leading garbage and counts it; a bad CRC is reported for a NAK', () => {
    const r = decodeFrames(Buffer.concat([h('41 42 43'), FRAMES[1]![1]]));
    expect(r.events).toEqual([{ type: 'frame', apdu: h('06 0F 00') }]);
    expect(r.errors).toEqual([{ code: 'GARBAGE', bytes: 3 }]);
    const bad = Buffer.from(COMPLETION);
    bad[bad.length - 1] ^= 0xff;
    const b = decodeFrames(bad);
    expect(b.events).toEqual([]);
    expect(b.errors[0]).toMatchObject({ code: 'BAD_CHECKSUM' });
  });
  it('never throws; any frame survives any split and garbage before it', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }), fc.uint8Array({ minLength: 3, maxLength: 300 }), fc.nat(), (junk, apdu, cut) => {
        decodeFrames(Buffer.from(junk));
        const frame = encodeFrame(Buffer.from(apdu));
        const stream = Buffer.concat([frame, frame]);
        const at = cut % stream.length;
        const one = decodeFrames(stream.subarray(0, at));
        const two = decodeFrames(Buffer.concat([one.rest, stream.subarray(at)]));
        const frames = [...one.events, ...two.events].filter((e) => e.type === 'frame');
        expect(frames).toEqual([{ type: 'frame', apdu: Buffer.from(apdu) }, { type: 'frame', apdu: Buffer.from(apdu) }]);
      }),
      { seed: 16 },
    );
  });
});

describe('zvt RS-232 link layer (ACK/NAK, repeats, T1)', () => {
  async function link(o = {}) {
    const port = new MemoryByteTransport('pt');
    const t = new ZvtSerialTransport(port, { ackTimeoutMs: 30, byteGapMs: 20, ...o });
    await t.open();
    const got: Buffer[] = [];
    t.on('data', (apdu) => got.push(apdu));
    return { port, t, got };
  }
  const nextWrite = (port: MemoryByteTransport, n: number) =>
    new Promise<void>((resolve) => {
      const check = () => (port.written.length >= n ? resolve() : setImmediate(check));
      check();
    });

  it('sends a frame, repeats it after a NAK, resolves on the ACK', async () => {
    const { port, t } = await link();
    const done = t.write(h('06 0F 00'));
    await nextWrite(port, 1);
    port.inject(h('15'));
    await nextWrite(port, 2);
    port.inject(h('06'));
    await done;
    expect(port.written).toEqual([FRAMES[1]![1], FRAMES[1]![1]]);
  });
  it('gives up after three unanswered tries (T2)', async () => {
    const { port, t } = await link();
    await expect(t.write(h('80 00 00'))).rejects.toThrow(/no ACK after 3 tries/);
    expect(port.written).toHaveLength(3);
  });
  it('ACKs a good frame and passes its APDU on; NAKs a bad CRC and a frame that stalls (T1)', async () => {
    const { port, t, got } = await link();
    port.inject(COMPLETION);
    expect(got).toEqual([h(`06 0F 0B F0 F0 F7 ${a('2.14.15')} 00`)]);
    expect(port.written).toEqual([h('06')]);
    const bad = Buffer.from(COMPLETION);
    bad[4] ^= 1;
    port.inject(bad);
    expect(port.written.at(-1)).toEqual(h('15'));
    port.inject(COMPLETION.subarray(0, 6));
    await nextWrite(port, 3);
    expect(port.written.at(-1)).toEqual(h('15'));
    expect(t.badFrames).toBe(2);
    port.inject(COMPLETION);
    expect(got).toHaveLength(2);
  });
});
