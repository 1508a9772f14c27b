import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { compact, compactionRatio, resolveCompactionConfig, windowStartOf, DEFAULT_COMPACTION } from '../../../../gateway/uplink/compaction.js';
import type { OutboxRecord, EventClass } from '../../../../gateway/protocol/envelopes.js';
import type { DeviceKind } from '../../../../gateway/protocol/topics.js';

const T0 = Date.parse('2026-11-25T09:00:00.000Z');

function rec(
  seq: number,
  cls: EventClass,
  kind: DeviceKind,
  deviceId: string,
  type: string,
  data: Record<string, unknown>,
  at: { recvTs?: number; monoMs?: number; bootId?: string; ts?: string } = {},
): OutboxRecord {
  const recvTs = at.recvTs ?? T0 + seq * 1000;
  return {
    seq,
    cls,
    kind,
    deviceId,
    type,
    ts: at.ts ?? new Date(recvTs).toISOString(),
    recvTs,
    bootId: at.bootId ?? 'boot-1',
    monoMs: at.monoMs ?? recvTs - T0 + 10_000,
    data,
  };
}

/** Every raw seq in exactly one compact record's covers (inside its [seqFrom, seq]) or dropped, never both. */
function checkCoverage(raw: OutboxRecord[], result: ReturnType<typeof compact>): void {
  const owner = new Map<number, string>();
  for (const r of result.records) {
    const covers = result.coverage.get(r.seq)!;
    expect(covers).toBeDefined();
    expect(Math.max(...covers)).toBe(r.seq);
    if (r.class !== 'exact') expect(Math.min(...covers)).toBe(r.seqFrom);
    for (const s of covers) {
      expect(owner.has(s)).toBe(false);
      owner.set(s, `record ${r.seq}`);
    }
  }
  for (const d of result.dropped) {
    expect(owner.has(d.seq)).toBe(false);
    owner.set(d.seq, `dropped ${d.rule}`);
  }
  expect([...owner.keys()].sort((a, b) => a - b)).toEqual([...new Set(raw.map((r) => r.seq))].sort((a, b) => a - b));
}

describe('compact: exact', () => {
  it('keeps every exact record untouched and in seq order, whatever the input order', () => {
    const raw = [
      rec(7, 'exact', 'payment', 'pay-1', 'result', { ts: 'x', requestId: 'r1', status: 'approved', amount: 1299 }),
      rec(3, 'exact', 'scanner', 'sc-1', 'scan', { ts: 'x', code: '4006381333931' }),
      rec(5, 'exact', 'esl', 'ap-1', 'alert', { ts: 'x', code: 'DOOR_AJAR', severity: 'warning', message: 'm' }),
    ];
    const res = compact(raw);
    expect(res.records.map((r) => r.seq)).toEqual([3, 5, 7]);
    expect(res.records[0]).toEqual({
      seq: 3, class: 'exact', kind: 'scanner', deviceId: 'sc-1', type: 'scan', ts: raw[1].ts,
      recvTs: raw[1].recvTs, bootId: 'boot-1', monoMs: raw[1].monoMs, data: raw[1].data,
    });
    expect(res.records.every((r) => r.seqFrom === undefined)).toBe(true);
    expect(res.stats.exact).toMatchObject({ rawRecords: 3, compactRecords: 3, dropped: 0 });
    checkCoverage(raw, res);
  });

  it('treats a record of an unknown class as exact rather than lose it', () => {
    const r = { ...rec(1, 'exact', 'kiosk', 'k1', 'odd', { a: 1 }), cls: 'bogus' as unknown as EventClass };
    const res = compact([r]);
    expect(res.records).toHaveLength(1);
    expect(res.records[0].class).toBe('exact');
  });
});

describe('compact: aggregate (footfall)', () => {
  it('sums count and cross per device and gateway minute, both directions in one record', () => {
    const raw = [
      rec(1, 'aggregate', 'footfall', 'door-1', 'count', { ts: 'x', in: 3, out: 1 }, { recvTs: T0 + 1_000 }),
      rec(2, 'aggregate', 'footfall', 'door-1', 'cross', { ts: 'x', direction: 'in' }, { recvTs: T0 + 2_000 }),
      rec(3, 'aggregate', 'footfall', 'door-2', 'cross', { ts: 'x', direction: 'out' }, { recvTs: T0 + 3_000 }),
      rec(4, 'aggregate', 'footfall', 'door-1', 'count', { ts: 'x', in: 0, out: 2 }, { recvTs: T0 + 59_999 }),
      rec(5, 'aggregate', 'footfall', 'door-1', 'count', { ts: 'x', in: 4, out: 0 }, { recvTs: T0 + 60_000 }),
    ];
    const res = compact(raw);
    const agg = res.records.filter((r) => r.class === 'aggregate');
    expect(agg).toHaveLength(3);
    const d1m0 = agg.find((r) => r.deviceId === 'door-1' && r.data.minute === '2026-11-25T09:00:00.000Z')!;
    expect(d1m0).toMatchObject({ seq: 4, seqFrom: 1, type: 'count', kind: 'footfall', ts: '2026-11-25T09:00:00.000Z' });
    expect(d1m0.data).toMatchObject({ in: 4, out: 3, reports: 3 });
    const d1m1 = agg.find((r) => r.deviceId === 'door-1' && r.data.minute === '2026-11-25T09:01:00.000Z')!;
    expect(d1m1).toMatchObject({ seq: 5, seqFrom: 5 });
    expect(d1m1.data).toMatchObject({ in: 4, out: 0 });
    expect(agg.find((r) => r.deviceId === 'door-2')!.data).toMatchObject({ in: 0, out: 1 });
    expect(res.coverage.get(4)).toEqual([1, 2, 4]);
    checkCoverage(raw, res);
  });

  it('buckets by gateway time: a device clock an hour off changes nothing', () => {
    const good = [
      rec(1, 'aggregate', 'footfall', 'door-1', 'count', { ts: '2026-11-25T09:00:10.000Z', in: 1, out: 0 }, { recvTs: T0 + 10_000 }),
      rec(2, 'aggregate', 'footfall', 'door-1', 'count', { ts: '2026-11-25T09:00:20.000Z', in: 2, out: 0 }, { recvTs: T0 + 20_000 }),
    ];
    const skewed = good.map((r) => ({ ...r, ts: new Date(Date.parse(r.ts) - 3_600_000 + 59_000).toISOString(), data: { ...r.data, ts: 'skewed' } }));
    const a = compact(good).records;
    const b = compact(skewed).records;
    expect(a).toHaveLength(1);
    expect(b).toHaveLength(1);
    expect(b[0].data).toMatchObject({ minute: a[0].data.minute, in: 3, out: 0 });
  });

  it('passes a malformed footfall record through untouched instead of summing it', () => {
    const raw = [
      rec(1, 'aggregate', 'footfall', 'door-1', 'count', { ts: 'x', in: -2, out: 1 }),
      rec(2, 'aggregate', 'footfall', 'door-1', 'cross', { ts: 'x', direction: 'sideways' }),
      rec(3, 'aggregate', 'footfall', 'door-1', 'count', { ts: 'x', in: 1.5, out: 0 }),
    ];
    const res = compact(raw);
    expect(res.records.map((r) => [r.seq, r.type, r.data])).toEqual(raw.map((r) => [r.seq, r.type, r.data]));
    expect(res.stats.aggregate.passedThrough).toBe(3);
    checkCoverage(raw, res);
  });

  it('property: footfall sums survive compaction exactly, for any input', () => {
    const event = fc.record({
      device: fc.constantFrom('door-1', 'door-2', 'door-3'),
      cross: fc.boolean(),
      dir: fc.constantFrom('in', 'out'),
      in: fc.integer({ min: 0, max: 100_000 }),
      out: fc.integer({ min: 0, max: 100_000 }),
      dt: fc.integer({ min: 0, max: 200_000 }),
      deviceSkewMs: fc.integer({ min: -7_200_000, max: 7_200_000 }),
    });
    fc.assert(
      fc.property(fc.array(event, { maxLength: 200 }), fc.integer({ min: 0, max: 1_000_000 }), (evs, t) => {
        const raw: OutboxRecord[] = evs.map((e, i) => {
          t += e.dt;
          const ts = new Date(t + T0 + e.deviceSkewMs).toISOString();
          return e.cross
            ? rec(i + 1, 'aggregate', 'footfall', e.device, 'cross', { ts, direction: e.dir }, { recvTs: T0 + t })
            : rec(i + 1, 'aggregate', 'footfall', e.device, 'count', { ts, in: e.in, out: e.out }, { recvTs: T0 + t });
        });
        const want = new Map<string, { in: number; out: number }>();
        for (const r of raw) {
          const w = want.get(r.deviceId) ?? { in: 0, out: 0 };
          if (r.type === 'cross') w[r.data.direction as 'in' | 'out'] += 1;
          else {
            w.in += r.data.in as number;
            w.out += r.data.out as number;
          }
          want.set(r.deviceId, w);
        }
        const res = compact(raw);
        const got = new Map<string, { in: number; out: number }>();
        const minutes = new Set<string>();
        for (const r of res.records) {
          expect(r.class).toBe('aggregate');
          const key = `${r.deviceId}|${r.data.minute}`;
          expect(minutes.has(key)).toBe(false); // one record per device-minute, never doubled
          minutes.add(key);
          const g = got.get(r.deviceId) ?? { in: 0, out: 0 };
          g.in += r.data.in as number;
          g.out += r.data.out as number;
          got.set(r.deviceId, g);
        }
        expect(got).toEqual(want);
        checkCoverage(raw, res);
      }),
      { numRuns: 200 },
    );
  });
});

describe('compact: presence (rfid)', () => {
  const read = (seq: number, reader: string, epc: string, antenna: number, rssi: number, monoMs: number, bootId = 'boot-1') =>
    rec(seq, 'presence', 'rfid', reader, 'read', { ts: 'x', epc, antenna, rssi }, { monoMs, recvTs: T0 + monoMs, bootId });

  it('folds the reads of one tag at one reader into a visit with first/last seen, reads, best RSSI, antennas', () => {
    const raw = [
      read(1, 'gate-1', '3034257bf7194e4000000001', 1, -61, 0),
      read(2, 'gate-1', '3034257bf7194e4000000001', 2, -48.5, 400),
      read(3, 'gate-1', '3034257BF7194E4000000001', 1, -55, 900),
      read(4, 'shelf-1', '3034257bf7194e4000000001', 3, -70, 950),
    ];
    const res = compact(raw);
    expect(res.records).toHaveLength(2);
    const v = res.records.find((r) => r.deviceId === 'gate-1')!;
    expect(v).toMatchObject({ seq: 3, seqFrom: 1, class: 'presence', type: 'visit', kind: 'rfid' });
    expect(v.data).toEqual({
      epc: '3034257BF7194E4000000001',
      firstSeen: new Date(T0).toISOString(),
      lastSeen: new Date(T0 + 900).toISOString(),
      durationMs: 900,
      reads: 3,
      bestRssi: -48.5,
      bestAntenna: 2,
      antennas: [1, 2],
    });
    expect(res.records.find((r) => r.deviceId === 'shelf-1')!.data).toMatchObject({ reads: 1, antennas: [3] });
    checkCoverage(raw, res);
  });

  it('closes a visit after the gap (monotonic time) and on a new boot, not on a wall-clock jump', () => {
    const cfg = resolveCompactionConfig({ presenceGapMs: 1000 });
    const epc = 'E2000017221101441890ABCD';
    const raw = [
      read(1, 'gate-1', epc, 1, -60, 0),
      read(2, 'gate-1', epc, 1, -60, 1000), // exactly the gap: same visit
      read(3, 'gate-1', epc, 1, -60, 2001), // over the gap: new visit
      { ...read(4, 'gate-1', epc, 1, -60, 2500), recvTs: T0 + 3_600_000 }, // wall clock jumped forward an hour
      { ...read(5, 'gate-1', epc, 1, -60, 3000), recvTs: T0 - 3_600_000 }, // … and back two
      read(6, 'gate-1', epc, 1, -60, 10, 'boot-2'), // gateway rebooted
    ];
    const res = compact(raw, cfg);
    expect(res.records.map((r) => [r.seqFrom, r.seq, r.data.reads])).toEqual([
      [1, 2, 2],
      [3, 5, 3],
      [6, 6, 1],
    ]);
    checkCoverage(raw, res);
  });
});

describe('compact: latest', () => {
  const hb = (seq: number, dev: string, batteryPct?: number) =>
    rec(seq, 'latest', 'kiosk', dev, 'heartbeat', { ts: 'x', uptimeS: seq * 30, ...(batteryPct === undefined ? {} : { batteryPct }) });

  it('keeps the last value per device and type, covering the rest', () => {
    const raw = [hb(1, 'k1'), hb(2, 'k2'), hb(3, 'k1'), hb(4, 'k1')];
    const res = compact(raw);
    expect(res.records.map((r) => [r.deviceId, r.seqFrom, r.seq, r.data.uptimeS])).toEqual([
      ['k2', 2, 2, 60],
      ['k1', 1, 4, 120],
    ]);
    expect(res.coverage.get(4)).toEqual([1, 3, 4]);
    checkCoverage(raw, res);
  });

  it('also keeps each value that moved beyond the deadband from the last reported one', () => {
    const cfg = resolveCompactionConfig({ latestDeadbands: { batteryPct: 5 } });
    // 90 is the reference; 87, 86 within 5; 84 is 6 away (kept, new reference); 80 within; 70 last.
    const raw = [hb(1, 'k1', 90), hb(2, 'k1', 87), hb(3, 'k1', 86), hb(4, 'k1', 84), hb(5, 'k1', 80), hb(6, 'k1', 79), hb(7, 'k1', 70)];
    const res = compact(raw, cfg);
    expect(res.records.map((r) => [r.seqFrom, r.seq, r.data.batteryPct])).toEqual([
      [4, 4, 84],
      [1, 7, 70],
    ]);
    expect(res.coverage.get(7)).toEqual([1, 2, 3, 5, 6, 7]);
    checkCoverage(raw, res);
  });

  it('tracks ESL status per label and merges the last state of every label into the last record', () => {
    const st = (seq: number, labels: Array<Record<string, unknown>>) => rec(seq, 'latest', 'esl', 'ap-1', 'status', { ts: 'x', labels });
    const raw = [
      st(1, [{ labelId: 'L2', batteryMv: 3000 }, { labelId: 'L1', batteryMv: 2990 }]),
      st(2, [{ labelId: 'L3', batteryMv: 2950 }]),
      st(3, [{ labelId: 'L1', batteryMv: 2700 }]), // 290 mV drop: beyond the 100 mV band, kept
      st(4, [{ labelId: 'L2', batteryMv: 2995 }]),
    ];
    const res = compact(raw);
    expect(res.records.map((r) => r.seq)).toEqual([3, 4]);
    expect(res.records[1].data.labels).toEqual([
      { labelId: 'L1', batteryMv: 2700 },
      { labelId: 'L2', batteryMv: 2995 },
      { labelId: 'L3', batteryMv: 2950 },
    ]);
    checkCoverage(raw, res);
  });
});

describe('compact: sampled (scale)', () => {
  const w = (seq: number, grams: unknown, stable: unknown, dev = 'sc-1') => rec(seq, 'sampled', 'scale', dev, 'weight', { ts: 'x', grams, stable });

  it('keeps stable weights that moved beyond the deadband; drops unstable and near-equal ones', () => {
    const raw = [w(1, 120, false), w(2, 498, true), w(3, 500, true), w(4, 503, true), w(5, 504, true), w(6, 0, true), w(7, 3, true), w(8, 250, true, 'sc-2')];
    const res = compact(raw);
    expect(res.records.map((r) => [r.seq, r.deviceId, r.data.grams])).toEqual([
      [2, 'sc-1', 498],
      [5, 'sc-1', 504],
      [6, 'sc-1', 0],
      [8, 'sc-2', 250],
    ]);
    expect(res.records.every((r) => r.seqFrom === r.seq)).toBe(true);
    expect(res.dropped).toEqual([
      { seq: 1, cls: 'sampled', rule: 'unstable' },
      { seq: 3, cls: 'sampled', rule: 'deadband' },
      { seq: 4, cls: 'sampled', rule: 'deadband' },
      { seq: 7, cls: 'sampled', rule: 'deadband' },
    ]);
    expect(res.stats.sampled).toMatchObject({ rawRecords: 8, compactRecords: 4, dropped: 4 });
    checkCoverage(raw, res);
  });

  it('never throws on garbage: records without the shape pass through, unusable ones are counted', () => {
    const garbage = [w(1, 'heavy', true), w(2, 10, 'yes'), { seq: 'x' } as unknown as OutboxRecord, null as unknown as OutboxRecord, w(1, 5, true)];
    const res = compact(garbage);
    expect(res.records.map((r) => r.seq)).toEqual([1, 2]);
    expect(res.stats.sampled.passedThrough).toBe(2);
    expect(res.ignored).toBe(3);
  });
});

describe('compact: the whole mix', () => {
  const arbRecord = fc.oneof(
    fc.record({ cls: fc.constant('exact' as const), kind: fc.constant('payment' as const), type: fc.constant('result'), data: fc.record({ amount: fc.nat(10_000) }) }),
    fc.record({ cls: fc.constant('aggregate' as const), kind: fc.constant('footfall' as const), type: fc.constant('count'), data: fc.record({ in: fc.nat(9), out: fc.nat(9) }) }),
    fc.record({ cls: fc.constant('aggregate' as const), kind: fc.constant('footfall' as const), type: fc.constant('cross'), data: fc.record({ direction: fc.constantFrom('in', 'out') }) }),
    fc.record({
      cls: fc.constant('presence' as const),
      kind: fc.constant('rfid' as const),
      type: fc.constant('read'),
      data: fc.record({ epc: fc.constantFrom('AAAA', 'BBBB', 'CCCC'), antenna: fc.integer({ min: 1, max: 4 }), rssi: fc.integer({ min: -90, max: -30 }) }),
    }),
    fc.record({ cls: fc.constant('latest' as const), kind: fc.constant('kiosk' as const), type: fc.constant('heartbeat'), data: fc.record({ uptimeS: fc.nat(), batteryPct: fc.integer({ min: 0, max: 100 }) }) }),
    fc.record({ cls: fc.constant('sampled' as const), kind: fc.constant('scale' as const), type: fc.constant('weight'), data: fc.record({ grams: fc.integer({ min: 0, max: 2000 }), stable: fc.boolean() }) }),
  );
  const arbRaw = fc
    .array(fc.record({ r: arbRecord, dev: fc.constantFrom('d1', 'd2'), dt: fc.integer({ min: 0, max: 40_000 }), seqGap: fc.integer({ min: 1, max: 3 }) }), { maxLength: 150 })
    .map((xs) => {
      let t = 0;
      let seq = 100;
      return xs.map(({ r, dev, dt, seqGap }) => {
        t += dt;
        seq += seqGap;
        return rec(seq, r.cls, r.kind, dev, r.type, { ts: 'x', ...r.data }, { recvTs: T0 + t, monoMs: t });
      });
    });

  it('property: every raw seq is covered by exactly one compact record or dropped by a rule; seqs unique; deterministic', () => {
    fc.assert(
      fc.property(arbRaw, fc.boolean(), (raw, shuffle) => {
        const res = compact(raw);
        checkCoverage(raw, res);
        const seqs = res.records.map((r) => r.seq);
        expect(new Set(seqs).size).toBe(seqs.length);
        expect(seqs).toEqual([...seqs].sort((a, b) => a - b));
        const again = compact(shuffle ? [...raw].reverse() : raw.map((r) => structuredClone(r)));
        expect(again.records).toEqual(res.records);
        expect(again.dropped).toEqual(res.dropped);
        expect(res.records.filter((r) => r.class === 'exact')).toEqual(
          raw.filter((r) => r.cls === 'exact').map((r) => ({ seq: r.seq, class: 'exact', kind: r.kind, deviceId: r.deviceId, type: r.type, ts: r.ts, recvTs: r.recvTs, bootId: r.bootId, monoMs: r.monoMs, data: r.data })),
        );
      }),
      { numRuns: 300 },
    );
  });

  it('reports raw vs compact bytes per class, and the ratio', () => {
    const raw: OutboxRecord[] = [];
    for (let i = 1; i <= 600; i++) {
      raw.push(rec(i, 'presence', 'rfid', 'shelf-1', 'read', { ts: 'x', epc: '3034257BF7194E4000000001', antenna: 1 + (i % 4), rssi: -60 }, { recvTs: T0 + i * 100, monoMs: i * 100 }));
    }
    const res = compact(raw);
    const s = res.stats.presence;
    expect(s.rawRecords).toBe(600);
    expect(s.compactRecords).toBe(1);
    expect(s.rawBytes).toBeGreaterThan(s.rawPayloadBytes);
    expect(s.compactBytes).toBe(Buffer.byteLength(JSON.stringify(res.records[0])));
    expect(compactionRatio(s)).toBeGreaterThan(100);
    expect(res.stats.exact).toMatchObject({ rawRecords: 0, compactBytes: 0 });
    expect(compactionRatio(res.stats.exact)).toBe(0);
  });
});

describe('compaction config', () => {
  it('has sane defaults and checks options by name', () => {
    expect(resolveCompactionConfig()).toEqual(DEFAULT_COMPACTION);
    expect(() => resolveCompactionConfig({ windowMs: 90_000 })).toThrow(/compaction\.windowMs/);
    expect(() => resolveCompactionConfig({ presenceGapMs: -1 })).toThrow(/compaction\.presenceGapMs/);
    expect(() => resolveCompactionConfig({ latestDeadbands: { batteryPct: Number.NaN } })).toThrow(/compaction\.latestDeadbands\.batteryPct/);
    expect(Object.isFrozen(resolveCompactionConfig())).toBe(true);
  });

  it('aligns windows to the epoch', () => {
    expect(windowStartOf(T0 + 299_999, 300_000)).toBe(T0);
    expect(windowStartOf(T0 + 300_000, 300_000)).toBe(T0 + 300_000);
  });
});
