import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { decode, decodeCommands, encode, encodeResponse, formatValue, type MtsicsResponse } from '../../../../../firmware-bridge/devices/mtsics/codec.js';

const hex = (s: string) => Buffer.from(s.replace(/\s+/g, ''), 'hex');

/** Feeds chunks as a driver does: the rest of one decode is prepended to the next chunk. */
function feed(chunks: Buffer[]) {
  let rest: Buffer = Buffer.alloc(0);
  const events: MtsicsResponse[] = [];
  const errors: string[] = [];
  for (const c of chunks) {
    const r = decode(Buffer.concat([rest, c]));
    events.push(...r.events);
    errors.push(...r.errors.map((e) => e.code));
    rest = r.rest;
  }
  return { events, errors, rest };
}

const S_0256 = hex('53 20 53 20 20 20 20 20 20 30 2E 32 35 36 20 6B 67 0D 0A');
const D_0254 = hex('53 20 44 20 20 20 20 20 20 30 2E 32 35 34 20 6B 67 0D 0A');
const stable256: MtsicsResponse = { kind: 'weight', id: 'S', status: 'S', value: '0.256', unit: 'kg', grams: 256 };

describe('MT-SICS codec: the README worked bytes', () => {
  it('encodes host commands byte for byte', () => {
    expect(encode('S')).toEqual(hex('53 0D 0A'));
    expect(encode('SI')).toEqual(hex('53 49 0D 0A'));
    expect(encode('Z')).toEqual(hex('5A 0D 0A'));
    expect(() => encode('s i')).toThrow(/not an MT-SICS command/);
  });
  it('decodes "S S      0.256 kg" (stable) and "S D      0.254 kg" (dynamic)', () => {
    expect(decode(S_0256)).toEqual({ events: [stable256], rest: Buffer.alloc(0), errors: [] });
    expect(decode(D_0254).events).toEqual([{ kind: 'weight', id: 'S', status: 'D', value: '0.254', unit: 'kg', grams: 254 }]);
  });
  it('decodes Z A, T S, ES, S +, S -, S I', () => {
    expect(decode(hex('5A 20 41 0D 0A')).events).toEqual([{ kind: 'done', id: 'Z', status: 'A' }]);
    expect(decode(Buffer.from('T S      0.120 kg\r\n')).events).toEqual([
      { kind: 'weight', id: 'T', status: 'S', value: '0.120', unit: 'kg', grams: 120 },
    ]);
    expect(decode(hex('45 53 0D 0A')).events).toEqual([{ kind: 'error', code: 'ES' }]);
    expect(decode(Buffer.from('S +\r\nS -\r\nS I\r\n')).events).toEqual([
      { kind: 'failed', id: 'S', reason: 'over' },
      { kind: 'failed', id: 'S', reason: 'under' },
      { kind: 'failed', id: 'S', reason: 'not-executable' },
    ]);
    expect(decode(Buffer.from('I4 A "B123456789"\r\n')).events).toEqual([{ kind: 'info', id: 'I4', status: 'A', text: 'B123456789' }]);
  });
  it('encodes the responses byte for byte (the simulator side)', () => {
    expect(encodeResponse({ ...stable256, value: formatValue(256, 'kg', 3) })).toEqual(S_0256);
    expect(encodeResponse({ kind: 'weight', id: 'S', status: 'D', value: '0.254', unit: 'kg', grams: 254 })).toEqual(D_0254);
    expect(encodeResponse({ kind: 'done', id: 'Z', status: 'A' })).toEqual(hex('5A 20 41 0D 0A'));
    expect(encodeResponse({ kind: 'error', code: 'ES' })).toEqual(hex('45 53 0D 0A'));
    expect(encodeResponse({ kind: 'failed', id: 'S', reason: 'over' })).toEqual(Buffer.from('S +\r\n'));
  });
  it('parses a negative weight with the sign before the first digit, and other units', () => {
    expect(decode(Buffer.from('S S     -0.256 kg\r\nS S     100.00 g\r\nS S      1.000 lb\r\n')).events.map((e) => e.kind === 'weight' && e.grams)).toEqual([
      -256, 100, 454,
    ]);
  });
});

describe('MT-SICS codec: framing', () => {
  it('one frame, two frames in one chunk, a frame split across chunks', () => {
    expect(feed([S_0256]).events).toEqual([stable256]);
    expect(feed([Buffer.concat([S_0256, D_0254])]).events.map((e) => e.kind === 'weight' && e.status)).toEqual(['S', 'D']);
    const split = feed([S_0256.subarray(0, 7), S_0256.subarray(7, 18), S_0256.subarray(18)]);
    expect(split.events).toEqual([stable256]);
    expect(split.rest.length).toBe(0);
  });
  it('skips leading garbage and counts it', () => {
    const r = decode(Buffer.concat([hex('00 FF 13 88'), S_0256]));
    expect(r.events).toEqual([stable256]);
    expect(r.errors).toEqual([expect.objectContaining({ code: 'GARBAGE', bytes: 4 })]);
    const line = decode(Buffer.concat([Buffer.from('xx$$ junk\r\n'), S_0256]));
    expect(line.events).toEqual([stable256]);
    expect(line.errors.map((e) => e.code)).toContain('GARBAGE');
  });
  it('counts a corrupted line (the protocol has no checksum) and keeps the next', () => {
    const bad = Buffer.from(S_0256);
    bad[10] = 0x7f; // DEL inside the value
    const r = decode(Buffer.concat([bad, D_0254]));
    expect(r.events).toHaveLength(1);
    expect(r.errors).toHaveLength(1);
  });
  it('drops a line that never ends', () => {
    const r = decode(Buffer.alloc(300, 0x41));
    expect(r.rest.length).toBe(0);
    expect(r.errors[0].code).toBe('OVERLONG');
  });
  it('the simulator side splits command lines', () => {
    expect(decodeCommands(Buffer.from('SI\r\nSIR\r\n@\r\nT')).events).toEqual(['SI', 'SIR', '@']);
  });
});

describe('MT-SICS codec: properties', () => {
  const grams = fc.integer({ min: -99_999, max: 999_999 });
  const response = fc.record({ g: grams, stable: fc.boolean() }).map(({ g, stable }) => ({
    kind: 'weight' as const,
    id: 'S',
    status: stable ? ('S' as const) : ('D' as const),
    value: formatValue(g, 'kg', 3),
    unit: 'kg',
    grams: g,
  }));

  it('never throws on random bytes and never grows rest past the line limit', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 600 }), (bytes) => {
        const r = decode(Buffer.from(bytes));
        expect(r.rest.length).toBeLessThanOrEqual(256);
      }),
    );
  });
  it('any split of a stream decodes to the same responses', () => {
    fc.assert(
      fc.property(fc.array(response, { minLength: 1, maxLength: 6 }), fc.array(fc.nat(), { maxLength: 8 }), (rs, cuts) => {
        const stream = Buffer.concat(rs.map(encodeResponse));
        const points = [...new Set(cuts.map((c) => c % stream.length))].sort((a, b) => a - b);
        const chunks: Buffer[] = [];
        let prev = 0;
        for (const p of points) {
          chunks.push(stream.subarray(prev, p));
          prev = p;
        }
        chunks.push(stream.subarray(prev));
        expect(feed(chunks).events).toEqual(rs);
      }),
    );
  });
  it('resyncs after garbage: the response after a line end is decoded, the garbage counted', () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 1, maxLength: 200 }), response, (junk, r) => {
        const junkLine = Buffer.concat([Buffer.from(junk).filter((b) => b !== 0x0a && b !== 0x0d), Buffer.from([0x30, 0x0d, 0x0a])]);
        const out = decode(Buffer.concat([junkLine, encodeResponse(r)]));
        expect(out.events.at(-1)).toEqual(r);
        expect(out.errors.length + out.events.length).toBeGreaterThanOrEqual(2);
      }),
    );
  });
  it('truncated responses wait in rest and complete with the next chunk', () => {
    fc.assert(
      fc.property(response, fc.nat(), (r, cut) => {
        const bytes = encodeResponse(r);
        const at = cut % bytes.length;
        const first = decode(bytes.subarray(0, at));
        expect(first.events).toEqual([]);
        expect(decode(Buffer.concat([first.rest, bytes.subarray(at)])).events).toEqual([r]);
      }),
    );
  });
});
