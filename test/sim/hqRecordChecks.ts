/**
 * The checks tests ask of the records HQ holds for one store, as pure functions over the deduped
 * records (first copy per seq) the HQ simulator (hqSim.ts) keeps: footfall sums, holes between
 * exact records, exact records that arrived late.
 */
import type { BatchRecord } from '../../gateway/protocol/envelopes.js';

/** Footfall in/out sums over deduped records: compacted `count {in,out}` and any raw `cross`. */
export function footfallOf(records: Iterable<BatchRecord>, deviceId?: string): { in: number; out: number } {
  const sum = { in: 0, out: 0 };
  for (const r of records) {
    if (r.kind !== 'footfall' || r.class !== 'aggregate' || (deviceId !== undefined && r.deviceId !== deviceId)) continue;
    if (r.type === 'count') {
      sum.in += typeof r.data.in === 'number' ? r.data.in : 0;
      sum.out += typeof r.data.out === 'number' ? r.data.out : 0;
    } else if (r.type === 'cross' && (r.data.direction === 'in' || r.data.direction === 'out')) {
      sum[r.data.direction] += 1;
    }
  }
  return sum;
}

/**
 * Holes between consecutive exact records that no received record covers (by its
 * [seqFrom, seq] range), given the store's records in seq order.
 */
export function exactGapsOf(recs: readonly BatchRecord[]): Array<{ from: number; to: number }> {
  const exact = recs.filter((r) => r.class === 'exact').map((r) => r.seq);
  const ranges = recs.map((r) => [r.seqFrom ?? r.seq, r.seq] as const);
  const covered = (s: number) => ranges.some(([a, b]) => a <= s && s <= b);
  const gaps: Array<{ from: number; to: number }> = [];
  for (let i = 1; i < exact.length; i++) {
    let start = -1;
    for (let s = exact[i - 1] + 1; s < exact[i]; s++) {
      if (!covered(s)) {
        if (start < 0) start = s;
      } else if (start >= 0) {
        gaps.push({ from: start, to: s - 1 });
        start = -1;
      }
    }
    if (start >= 0) gaps.push({ from: start, to: exact[i] - 1 });
  }
  return gaps;
}

/** Exact seqs, in the order HQ first saw them, that came after a higher one (0 when in order). */
export function exactOutOfOrderOf(exactArrival: readonly number[]): number {
  let max = -1;
  let late = 0;
  for (const s of exactArrival) {
    if (s < max) late++;
    max = Math.max(max, s);
  }
  return late;
}
