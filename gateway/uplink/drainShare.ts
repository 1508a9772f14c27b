/**
 * How the uplink drains a backlog so that exact records go first and no class starves, pure.
 *
 * The send order is by class (exact, aggregate, presence, latest, sampled: batcher.ts). Strictly
 * by class, a store where exact records keep arriving faster than one per batch round trip (a
 * busy Saturday after a WAN outage) would never send another class, and the quota would at last
 * evict those rows unsent. So after `PRIORITY_BATCHES_PER_SHARE` batches by class order, one
 * batch goes to the class holding the oldest waiting record, from its oldest record on. The
 * globally oldest record leaves in every such share, and records arriving later are younger, so
 * every record is sent within a bounded number of batches; exact still gets at least four of
 * every five batches while it has records waiting.
 */
import type { EventClass } from '../protocol/envelopes.js';

export const PRIORITY_BATCHES_PER_SHARE = 4;

/** The oldest waiting record of one class: its lowest raw seq (a compact record's seqFrom). */
export interface ClassHead {
  cls: EventClass;
  oldestSeq: number;
}

/** Whether the next batch is a share for the oldest records, after `sinceShare` batches by class order. */
export function shareDue(sinceShare: number): boolean {
  return sinceShare >= PRIORITY_BATCHES_PER_SHARE;
}

/** The class whose oldest waiting record is the oldest of all; null when nothing waits. */
export function oldestClass(heads: readonly ClassHead[]): EventClass | null {
  let best: ClassHead | null = null;
  for (const h of heads) if (!best || h.oldestSeq < best.oldestSeq) best = h;
  return best?.cls ?? null;
}
