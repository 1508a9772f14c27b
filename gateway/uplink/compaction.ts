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
import { compactAggregate, compactLatest, compactPresence, compactSampled, isObject, type Emitted, type Keep } from './compactionRules.js';

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

export { windowStartOf } from './compactionRules.js';

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

function isUsable(r: OutboxRecord): boolean {
  return isObject(r) && Number.isSafeInteger(r.seq) && r.seq >= 0 && isObject(r.data);
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
