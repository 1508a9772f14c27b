/**
 * The per-class rules of compaction (compaction.ts runs them over one window): footfall sums per
 * device-minute, RFID visits, latest values with deadbands, stable scale weights. Pure, like
 * compaction.ts; a record without the shape its rule needs is kept as it is (`keep`).
 */
import { toBatchRecord, type BatchRecord, type EventClass, type OutboxRecord } from '../protocol/envelopes.js';
import type { CompactionConfig, DroppedRecord } from './compaction.js';

export interface Emitted {
  record: BatchRecord;
  covers: number[];
}
/** Emits one raw record on its own; `malformed` counts it as passed through for lack of shape. */
export type Keep = (r: OutboxRecord, cls: EventClass, malformed: boolean) => void;

/** Start of the window a gateway time falls in (windows are aligned to the epoch). */
export function windowStartOf(recvTs: number, windowMs: number): number {
  return Math.floor(recvTs / windowMs) * windowMs;
}

/** The time fields of the record a compact record takes its seq from (its last covered raw). */
function timeOf(last: OutboxRecord): Pick<BatchRecord, 'recvTs' | 'bootId' | 'monoMs'> {
  return { recvTs: last.recvTs, bootId: last.bootId, monoMs: last.monoMs };
}

export function compactAggregate(rs: OutboxRecord[], c: Readonly<CompactionConfig>, out: Emitted[], keep: Keep): void {
  interface Bucket { first: OutboxRecord; last: OutboxRecord; minute: number; in: number; out: number; covers: number[] }
  const buckets = new Map<string, Bucket>();
  for (const r of rs) {
    const delta = footfallDelta(r);
    if (!delta || !isFiniteNumber(r.recvTs)) {
      keep(r, 'aggregate', true);
      continue;
    }
    const minute = windowStartOf(r.recvTs, c.aggregateBucketMs);
    const key = `${r.deviceId}\u0000${minute}`;
    let b = buckets.get(key);
    if (!b) {
      b = { first: r, last: r, minute, in: 0, out: 0, covers: [] };
      buckets.set(key, b);
    }
    b.in += delta.in;
    b.out += delta.out;
    b.last = r;
    b.covers.push(r.seq);
  }
  for (const b of buckets.values()) {
    const minuteIso = new Date(b.minute).toISOString();
    out.push({
      record: {
        seq: b.last.seq,
        seqFrom: b.first.seq,
        class: 'aggregate',
        kind: b.last.kind,
        deviceId: b.last.deviceId,
        type: 'count',
        ts: minuteIso,
        ...timeOf(b.last),
        data: { minute: minuteIso, bucketMs: c.aggregateBucketMs, in: b.in, out: b.out, reports: b.covers.length },
      },
      covers: b.covers,
    });
  }
}

function footfallDelta(r: OutboxRecord): { in: number; out: number } | null {
  const d = r.data;
  if (r.type === 'count') {
    return isCount(d.in) && isCount(d.out) ? { in: d.in, out: d.out } : null;
  }
  if (r.type === 'cross') {
    if (d.direction === 'in') return { in: 1, out: 0 };
    if (d.direction === 'out') return { in: 0, out: 1 };
  }
  return null;
}

export function compactPresence(rs: OutboxRecord[], c: Readonly<CompactionConfig>, out: Emitted[], keep: Keep): void {
  interface Visit {
    epc: string;
    first: OutboxRecord;
    last: OutboxRecord;
    reads: number;
    bestRssi: number;
    bestAntenna: number;
    antennas: Set<number>;
    covers: number[];
  }
  const open = new Map<string, Visit>();
  const close = (v: Visit): void => {
    out.push({
      record: {
        seq: v.last.seq,
        seqFrom: v.first.seq,
        class: 'presence',
        kind: v.last.kind,
        deviceId: v.last.deviceId,
        type: 'visit',
        ts: v.first.ts,
        ...timeOf(v.last),
        data: {
          epc: v.epc,
          firstSeen: new Date(v.first.recvTs).toISOString(),
          lastSeen: new Date(v.last.recvTs).toISOString(),
          durationMs: v.last.monoMs - v.first.monoMs,
          reads: v.reads,
          bestRssi: v.bestRssi,
          bestAntenna: v.bestAntenna,
          antennas: [...v.antennas].sort((a, b) => a - b),
        },
      },
      covers: v.covers,
    });
  };
  for (const r of rs) {
    const d = r.data;
    if (r.type !== 'read' || typeof d.epc !== 'string' || d.epc === '' || !isFiniteNumber(d.rssi) || !isFiniteNumber(d.antenna) || !isFiniteNumber(r.monoMs) || !isFiniteNumber(r.recvTs)) {
      keep(r, 'presence', true);
      continue;
    }
    // EPCs are hex; case is not identity.
    const epc = d.epc.toUpperCase();
    const key = `${r.deviceId}\u0000${epc}`;
    let v = open.get(key);
    if (v && (v.last.bootId !== r.bootId || r.monoMs - v.last.monoMs > c.presenceGapMs || r.monoMs < v.last.monoMs)) {
      close(v);
      v = undefined;
    }
    if (!v) {
      v = { epc, first: r, last: r, reads: 0, bestRssi: d.rssi, bestAntenna: d.antenna, antennas: new Set(), covers: [] };
      open.set(key, v);
    }
    v.reads++;
    v.last = r;
    v.antennas.add(d.antenna);
    if (d.rssi > v.bestRssi) {
      v.bestRssi = d.rssi;
      v.bestAntenna = d.antenna;
    }
    v.covers.push(r.seq);
  }
  for (const v of open.values()) close(v);
}

export function compactLatest(rs: OutboxRecord[], c: Readonly<CompactionConfig>, out: Emitted[], keep: Keep): void {
  const groups = new Map<string, OutboxRecord[]>();
  for (const r of rs) {
    const key = `${r.kind}\u0000${r.deviceId}\u0000${r.type}`;
    const g = groups.get(key);
    if (g) g.push(r);
    else groups.set(key, [r]);
  }
  const watched = Object.entries(c.latestDeadbands);
  for (const g of groups.values()) {
    // Reference values per entity (a label of an ESL status, or the whole payload) and field.
    const ref = new Map<string, Map<string, number>>();
    const merged = new Map<string, Record<string, unknown>>();
    const rest: number[] = [];
    const last = g[g.length - 1];
    for (const r of g) {
      const entities = entitiesOf(r.data);
      let moved = false;
      for (const [id, value] of entities) {
        merged.set(id, value);
        let fields = ref.get(id);
        if (!fields) ref.set(id, (fields = new Map()));
        for (const [field, band] of watched) {
          const v = value[field];
          if (!isFiniteNumber(v)) continue;
          const before = fields.get(field);
          if (before === undefined) fields.set(field, v);
          else if (Math.abs(v - before) > band) moved = true;
        }
      }
      if (moved && r !== last) {
        // Kept on its own, and it becomes the reference for what follows.
        for (const [id, value] of entities) {
          const fields = ref.get(id)!;
          for (const [field] of watched) if (isFiniteNumber(value[field])) fields.set(field, value[field] as number);
        }
        keep(r, 'latest', false);
        continue;
      }
      rest.push(r.seq);
    }
    const lastData = hasLabels(last.data) ? mergedStatus(last.data, merged) : last.data;
    out.push({
      record: { ...toBatchRecord(last), class: 'latest', seqFrom: rest[0], data: lastData },
      covers: rest,
    });
  }
}

export function compactSampled(rs: OutboxRecord[], c: Readonly<CompactionConfig>, out: Emitted[], dropped: DroppedRecord[], keep: Keep): void {
  const lastKept = new Map<string, number>();
  for (const r of rs) {
    const d = r.data;
    if (r.type !== 'weight' || typeof d.stable !== 'boolean' || !isFiniteNumber(d.grams)) {
      keep(r, 'sampled', true);
      continue;
    }
    if (!d.stable) {
      dropped.push({ seq: r.seq, cls: 'sampled', rule: 'unstable' });
      continue;
    }
    const key = `${r.kind}\u0000${r.deviceId}`;
    const before = lastKept.get(key);
    if (before !== undefined && Math.abs(d.grams - before) <= c.sampledDeadbandGrams) {
      dropped.push({ seq: r.seq, cls: 'sampled', rule: 'deadband' });
      continue;
    }
    lastKept.set(key, d.grams);
    keep(r, 'sampled', false);
  }
}


function hasLabels(d: Record<string, unknown>): d is Record<string, unknown> & { labels: unknown[] } {
  return Array.isArray(d.labels);
}

/** The entities a latest-class payload reports on: each ESL label by id, else the payload itself. */
function entitiesOf(d: Record<string, unknown>): Array<[string, Record<string, unknown>]> {
  if (!hasLabels(d)) return [['', d]];
  const out: Array<[string, Record<string, unknown>]> = [];
  for (const l of d.labels) {
    if (isObject(l) && typeof l.labelId === 'string') out.push([`label:${l.labelId}`, l]);
  }
  return out;
}

function mergedStatus(last: Record<string, unknown>, merged: Map<string, Record<string, unknown>>): Record<string, unknown> {
  const labels = [...merged.entries()]
    .filter(([id]) => id.startsWith('label:'))
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([, v]) => v);
  return { ...last, labels };
}
export function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}
function isFiniteNumber(v: unknown): v is number {
  return typeof v === 'number' && Number.isFinite(v);
}
function isCount(v: unknown): v is number {
  return Number.isSafeInteger(v) && (v as number) >= 0;
}
