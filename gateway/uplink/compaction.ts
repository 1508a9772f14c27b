/**
 * Compaction by event class (gateway/README.md §Event classes), the pure core of the compactor: raw
 * outbox records of one closed window in, wire records out. No clock, no I/O, never throws on bad
 * records: a record that does not have the shape its class needs is passed through untouched.
 *
 * Seq rule: a compact record's `seq` is the highest raw seq it covers and `seqFrom` the lowest, so
 * recompacting the same window after a crash gives the same seqs and HQ's `(storeId, seq)` dedupe
 * holds. Every raw seq ends up in exactly one compact record (`coverage`) or in `dropped` with the
 * rule that dropped it. Output is in seq order; exact records are untouched.
 *
 * - exact: untouched, in order.
 * - aggregate (footfall `count {in,out}` and `cross {direction}`): one record per (deviceId, minute)
 *   carrying both directions, `type: "count"`, `data {minute, in, out, reports}`. The minute comes
 *   from gateway time (`recvTs`), never from the device's `ts`, so a device clock cannot split or
 *   double a minute. One record per device-minute rather than per direction: a raw `count` carries
 *   both directions, and this way every raw seq is covered by exactly one record.
 * - presence (rfid `read`): one `type: "visit"` record per (reader deviceId, epc) visit. Reads are
 *   taken in seq order; a visit closes when the next read of the same tag at the same reader comes
 *   more than `presenceGapMs` later on the monotonic clock (`monoMs`), or from another boot. Using
 *   the monotonic clock, a wall-clock jump neither splits nor joins visits.
 * - latest (heartbeat, esl `status`): per (deviceId, type), the last value always, plus every raw
 *   record where a watched numeric field moved more than its deadband away from the last reported
 *   value (the window's first record is the reference). The last-value record covers every raw
 *   record of its group not kept on its own. ESL status is tracked per label: the last-value record
 *   merges the last known state of every label seen in the window.
 * - sampled (scale `weight`): only stable weights, and of those only the first of the window and
 *   every one more than `sampledDeadbandGrams` away from the last kept one; the rest are dropped.
 */
import { toBatchRecord, type BatchRecord, type EventClass, type OutboxRecord } from '../protocol/envelopes.js';
import { EVENT_CLASSES } from '../protocol/schemas/index.js';

export interface CompactionConfig {
  /** Length of a compaction window, a whole number of `aggregateBucketMs`. Default 5 min. */
  windowMs: number;
  /** Footfall bucket. Default 60 s (HQ gets sums per minute). */
  aggregateBucketMs: number;
  /** A tag unseen at a reader for longer than this (monotonic ms) starts a new visit. Default 30 s. */
  presenceGapMs: number;
  /** Watched numeric fields of latest-class data and how far they may move unreported. */
  latestDeadbands: Readonly<Record<string, number>>;
  /** A stable weight within this many grams of the last kept one is dropped. Default 5 g. */
  sampledDeadbandGrams: number;
}

export const DEFAULT_COMPACTION: Readonly<CompactionConfig> = Object.freeze({
  windowMs: 5 * 60_000,
  aggregateBucketMs: 60_000,
  presenceGapMs: 30_000,
  latestDeadbands: Object.freeze({ batteryPct: 5, batteryMv: 100, temperatureC: 2, rssi: 10 }),
  sampledDeadbandGrams: 5,
});

/** Defaults ← options, checked; throws naming the option (construction time, not wire input). */
export function resolveCompactionConfig(opts: Partial<CompactionConfig> = {}): Readonly<CompactionConfig> {
  const c: CompactionConfig = {
    ...DEFAULT_COMPACTION,
    ...opts,
    latestDeadbands: Object.freeze({ ...(opts.latestDeadbands ?? DEFAULT_COMPACTION.latestDeadbands) }),
  };
  const positive = (name: string, v: number): void => {
    if (!Number.isFinite(v) || v <= 0) throw new Error(`compaction.${name}: must be a positive number (got ${v})`);
  };
  const nonNegative = (name: string, v: number): void => {
    if (!Number.isFinite(v) || v < 0) throw new Error(`compaction.${name}: must be a number ≥ 0 (got ${v})`);
  };
  positive('aggregateBucketMs', c.aggregateBucketMs);
  positive('windowMs', c.windowMs);
  if (c.windowMs % c.aggregateBucketMs !== 0) {
    throw new Error(`compaction.windowMs: must be a multiple of aggregateBucketMs (${c.aggregateBucketMs}), else a bucket straddles two windows`);
  }
  nonNegative('presenceGapMs', c.presenceGapMs);
  nonNegative('sampledDeadbandGrams', c.sampledDeadbandGrams);
  for (const [field, v] of Object.entries(c.latestDeadbands)) nonNegative(`latestDeadbands.${field}`, v);
  return Object.freeze(c);
}

/** Start of the window a gateway time falls in (windows are aligned to the epoch). */
export function windowStartOf(recvTs: number, windowMs: number): number {
  return Math.floor(recvTs / windowMs) * windowMs;
}

export type DropRule = 'unstable' | 'deadband';
export interface DroppedRecord {
  seq: number;
  cls: EventClass;
  rule: DropRule;
}

export interface ClassStats {
  rawRecords: number;
  /** Bytes of the device payloads (`data` as JSON). */
  rawPayloadBytes: number;
  /** Bytes of the raw records as batch lines (what would be sent uncompacted). */
  rawBytes: number;
  compactRecords: number;
  /** Bytes of the compact records as batch lines. */
  compactBytes: number;
  dropped: number;
  /** Records that lacked the shape their class needs and went out untouched. */
  passedThrough: number;
}

export interface CompactionResult {
  /** Compact records, in seq order. */
  records: BatchRecord[];
  /** Compact seq → the raw seqs it covers (ascending). */
  coverage: Map<number, number[]>;
  dropped: DroppedRecord[];
  /** Inputs without a usable seq or data object, or repeating a seq already seen: not in the output. */
  ignored: number;
  stats: Record<EventClass, ClassStats>;
}

/** Compacts the raw records of one closed window. Deterministic: same input, same output. */
export function compact(raw: readonly OutboxRecord[], config: Readonly<CompactionConfig> = DEFAULT_COMPACTION): CompactionResult {
  const stats = emptyStats();
  const out: Emitted[] = [];
  const dropped: DroppedRecord[] = [];
  const byClass: Record<EventClass, OutboxRecord[]> = { exact: [], aggregate: [], presence: [], latest: [], sampled: [] };
  const seen = new Set<number>();

  let ignored = 0;
  const sorted = raw.filter((r) => isUsable(r) || (ignored++, false)).sort((a, b) => a.seq - b.seq);
  for (const r of sorted) {
    if (seen.has(r.seq)) {
      ignored++; // the same outbox row twice: keep the first, like HQ does
      continue;
    }
    seen.add(r.seq);
    const cls: EventClass = (EVENT_CLASSES as readonly string[]).includes(r.cls) ? r.cls : 'exact';
    const s = stats[cls];
    s.rawRecords++;
    s.rawPayloadBytes += jsonBytes(r.data);
    s.rawBytes += jsonBytes(toBatchRecord(r));
    byClass[cls].push(r);
  }

  const keep: Keep = (r, cls, malformed) => {
    if (malformed) stats[cls].passedThrough++;
    const record: BatchRecord = cls === 'exact' ? { ...toBatchRecord(r), class: cls } : { ...toBatchRecord(r), class: cls, seqFrom: r.seq };
    out.push({ record, covers: [r.seq] });
  };

  for (const r of byClass.exact) keep(r, 'exact', false);
  compactAggregate(byClass.aggregate, config, out, keep);
  compactPresence(byClass.presence, config, out, keep);
  compactLatest(byClass.latest, config, out, keep);
  compactSampled(byClass.sampled, config, out, dropped, keep);

  out.sort((a, b) => a.record.seq - b.record.seq);
  const coverage = new Map<number, number[]>();
  for (const e of out) {
    coverage.set(e.record.seq, e.covers);
    const s = stats[e.record.class];
    s.compactRecords++;
    s.compactBytes += jsonBytes(e.record);
  }
  for (const d of dropped) stats[d.cls].dropped++;
  return { records: out.map((e) => e.record), coverage, dropped, ignored, stats };
}

/** Per-class compaction ratio (raw payload bytes / compact bytes); 0 when nothing was sent. */
export function compactionRatio(s: ClassStats): number {
  return s.compactBytes === 0 ? 0 : s.rawPayloadBytes / s.compactBytes;
}

// ---------------------------------------------------------------------------------------------

interface Emitted {
  record: BatchRecord;
  covers: number[];
}
/** Emits one raw record on its own; `malformed` counts it as passed through for lack of shape. */
type Keep = (r: OutboxRecord, cls: EventClass, malformed: boolean) => void;

/** The time fields of the record a compact record takes its seq from (its last covered raw). */
function timeOf(last: OutboxRecord): Pick<BatchRecord, 'recvTs' | 'bootId' | 'monoMs'> {
  return { recvTs: last.recvTs, bootId: last.bootId, monoMs: last.monoMs };
}

function compactAggregate(rs: OutboxRecord[], c: Readonly<CompactionConfig>, out: Emitted[], keep: Keep): void {
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

function compactPresence(rs: OutboxRecord[], c: Readonly<CompactionConfig>, out: Emitted[], keep: Keep): void {
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

function compactLatest(rs: OutboxRecord[], c: Readonly<CompactionConfig>, out: Emitted[], keep: Keep): void {
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

function compactSampled(rs: OutboxRecord[], c: Readonly<CompactionConfig>, out: Emitted[], dropped: DroppedRecord[], keep: Keep): void {
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

// ---------------------------------------------------------------------------------------------

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

function isUsable(r: OutboxRecord): boolean {
  return isObject(r) && Number.isSafeInteger(r.seq) && r.seq >= 0 && isObject(r.data);
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}
function isFiniteNumber(v: unknown): v is number {
  return typeof v === 'number' && Number.isFinite(v);
}
function isCount(v: unknown): v is number {
  return Number.isSafeInteger(v) && (v as number) >= 0;
}
function jsonBytes(v: unknown): number {
  return Buffer.byteLength(JSON.stringify(v), 'utf8');
}

function emptyStats(): Record<EventClass, ClassStats> {
  const s = {} as Record<EventClass, ClassStats>;
  for (const cls of EVENT_CLASSES) {
    s[cls] = { rawRecords: 0, rawPayloadBytes: 0, rawBytes: 0, compactRecords: 0, compactBytes: 0, dropped: 0, passedThrough: 0 };
  }
  return s;
}
