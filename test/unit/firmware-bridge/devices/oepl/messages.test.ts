/**
 * The AP's WebSocket frames and `/get_db` pages, with the message shapes the AP firmware sends
 * (README.md of the driver): tag reports, the `sys` heartbeat, the transfer log lines, REBOOTING,
 * upload progress, unknown keys; and garbage, which must never throw.
 */
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { NEVER, normalizeMac, parseDbPage, parseFrame } from '../../../../../firmware-bridge/devices/oepl/messages.js';
import { labelStatus } from '../../../../../firmware-bridge/devices/oepl/status.js';

const TAG = {
  mac: '0000021EF2F2341B', hash: '9ac3a1f1b4c2d0e10000000000000000', lastseen: 1764950000, nextupdate: NEVER, nextcheckin: 1764950040,
  pending: 0, alias: '', contentMode: 19, LQI: 120, RSSI: -64, temperature: 21, batteryMv: 2900, hwType: 1, wakeupReason: 0,
  capabilities: 0, modecfgjson: '', isexternal: false, apip: '0.0.0.0', rotate: 0, lut: 0, invert: 0, updatecount: 7, updatelast: 1764949990, ch: 11, ver: 0,
};

describe('OEPL WebSocket frames', () => {
  it('reads a tag report with the fields the driver uses', () => {
    const r = parseFrame(JSON.stringify({ tags: [TAG] }));
    expect(r.errors).toEqual([]);
    expect(r.messages).toEqual([
      {
        type: 'tags',
        tags: [{ mac: '0000021EF2F2341B', hash: '9ac3a1f1b4c2d0e10000000000000000', lastseen: 1764950000, nextcheckin: 1764950040, pending: 0, updatecount: 7, batteryMv: 2900, rssi: -64, lqi: 120, temperature: 21, hwType: 1, contentMode: 19 }],
      },
    ]);
  });

  it('reads the sys heartbeat, the transfer lines, REBOOTING and upload progress', () => {
    expect(parseFrame('{"sys":{"currtime":1764950000,"heap":120000,"recordcount":12,"dbsize":1440,"apstate":1,"uptime":3605}}').messages).toEqual([
      { type: 'sys', sys: { uptime: 3605, recordcount: 12, currtime: 1764950000, apstate: 1 } },
    ]);
    expect(parseFrame('{"logMsg":"0000021EF2F2341B reports xfer complete"}').messages).toEqual([{ type: 'xferComplete', mac: '0000021EF2F2341B' }]);
    expect(parseFrame('{"errMsg":"< 0000021ef2f2341b xfer timeout"}').messages).toEqual([{ type: 'xferTimeout', mac: '0000021EF2F2341B' }]);
    expect(parseFrame('{"errMsg":"REBOOTING"}').messages).toEqual([{ type: 'rebooting' }]);
    expect(parseFrame('{"upload":{"src":"0000021EF2F2341B","current":3,"total":9}}').messages).toEqual([{ type: 'upload', mac: '0000021EF2F2341B', current: 3, total: 9 }]);
    expect(parseFrame('{"logMsg":"new image is the same as current image. not updating tag."}').messages[0]).toMatchObject({ type: 'log' });
  });

  it('takes unknown message types, a prefix before the JSON and the old boolean pending in its stride', () => {
    expect(parseFrame('{"apitem":{"ip":"10.0.0.2","alias":"ap2","count":4,"channel":25,"version":"2.x"}}').messages).toEqual([{ type: 'other', key: 'apitem' }]);
    expect(parseFrame('xx{"errMsg":"REBOOTING"}').messages).toEqual([{ type: 'rebooting' }]);
    expect(parseFrame(JSON.stringify({ tags: [{ ...TAG, pending: true }] })).messages[0]).toMatchObject({ tags: [{ pending: 1 }] });
  });

  it('counts what it cannot use', () => {
    expect(parseFrame('not json').errors[0]!.code).toBe('NOT_JSON');
    expect(parseFrame('[1,2]').errors[0]!.code).toBe('NOT_JSON');
    const r = parseFrame(JSON.stringify({ tags: [{ mac: 'zz' }, TAG] }));
    expect(r.messages[0]).toMatchObject({ type: 'tags', tags: [{ mac: TAG.mac }] });
    expect(r.errors[0]!.code).toBe('BAD_TAG');
  });

  it('never throws on garbage frames (seeded)', () => {
    const tagish = fc.record({ mac: fc.oneof(fc.string(), fc.string({ unit: fc.constantFrom(...'0123456789abcdefABCDEF'), minLength: 16, maxLength: 16 }), fc.integer()), pending: fc.anything(), hash: fc.anything(), RSSI: fc.anything(), updatecount: fc.anything() }, { requiredKeys: [] });
    const frame = fc.oneof(
      fc.string({ maxLength: 300 }),
      fc.json(),
      fc.record({ tags: fc.oneof(fc.array(tagish), fc.anything()) }).map((o) => JSON.stringify(o)),
      fc.record({ sys: fc.anything(), logMsg: fc.anything(), errMsg: fc.anything(), upload: fc.anything() }, { requiredKeys: [] }).map((o) => JSON.stringify(o)),
      fc.uint8Array({ maxLength: 200 }).map((b) => Buffer.from(b).toString('utf8')),
    );
    fc.assert(
      fc.property(frame, (text) => {
        const r = parseFrame(text);
        expect(Array.isArray(r.messages)).toBe(true);
        for (const m of r.messages) if (m.type === 'tags') for (const t of m.tags) {
          expect(t.mac).toMatch(/^[0-9A-F]{16}$/);
          // Whatever the numbers, the status built from them fits the gateway's ranges or leaves them out.
          const s = labelStatus(t.mac, t, undefined);
          if (s.rssi !== undefined) expect(s.rssi).toBeLessThanOrEqual(20);
          if (s.batteryMv !== undefined) expect(s.batteryMv).toBeLessThanOrEqual(10_000);
        }
        expect(() => parseDbPage(text)).not.toThrow();
      }),
      { seed: 1616, numRuns: 1000 },
    );
  });
});

describe('OEPL get_db pages and MACs', () => {
  it('reads a page and its continu index', () => {
    const p = parseDbPage(JSON.stringify({ tags: [TAG], continu: 17 }));
    expect(p.tags.map((t) => t.mac)).toEqual([TAG.mac]);
    expect(p.next).toBe(17);
    expect(parseDbPage('{"tags":[]}').next).toBeNull();
    expect(parseDbPage('{"error":"malformatted parameter"}').error).toBe('get_db: malformatted parameter');
  });

  it('writes MACs as 16 upper-case hex, a 12-character one with two zero bytes in front', () => {
    expect(normalizeMac('0000021ef2f2341b')).toBe('0000021EF2F2341B');
    expect(normalizeMac('021EF2F2341B')).toBe('0000021EF2F2341B');
    expect(normalizeMac('021EF2F2341')).toBeNull();
    expect(normalizeMac(42)).toBeNull();
  });

  it('turns a tag report into a label status, deep sleep as a null next check-in', () => {
    const t = parseFrame(JSON.stringify({ tags: [{ ...TAG, nextcheckin: NEVER }] })).messages[0]!;
    if (t.type !== 'tags') throw new Error('expected tags');
    expect(labelStatus('L1', t.tags[0]!, 'h1')).toEqual({
      labelId: 'L1', mac: TAG.mac, pending: 0, batteryMv: 2900, rssi: -64, temperatureC: 21, lqi: 120, hwType: 1, shownHash: 'h1',
      lastSeen: new Date(1764950000 * 1000).toISOString(), nextCheckIn: null,
    });
  });
});
