/**
 * On hand per GTIN, pure: the last count plus every movement after it, by event time (when it
 * happened in the store), never by arrival order. A sale rung up before a count but synced after
 * it is already in what the counter saw, so adding it again would subtract it twice: movements at
 * or before the count's event time are inside the count. Without a count the baseline is 0 and
 * every movement counts (OSPOS keeps on hand as SUM(trans_inventory), opensourcepos.org).
 * Negative on hand means a missing receipt or a wrong count; it is shown, never clamped to 0.
 */

/** Why stock moved. `count` sets on hand; every other kind adds `qty` (signed). */
export const MOVE_KINDS = ['sale', 'return', 'receipt', 'adjustment', 'pickup', 'count'] as const;
export type MoveKind = (typeof MOVE_KINDS)[number];

/** Reason codes of an adjustment (a count or a receipt needs none). */
export const ADJUST_REASONS = ['damaged', 'theft', 'found', 'expired', 'recalled', 'correction', 'other'] as const;
export type AdjustReason = (typeof ADJUST_REASONS)[number];

export interface Movement {
  /** Idempotency key: the same movement applied twice is one movement (`sale:<txn>:<line>`, `rcv:…`, `cnt:…`). */
  movementId: string;
  gtin: string;
  kind: MoveKind;
  /** Signed change in base units; for `count`, the quantity counted. */
  qty: number;
  /** When it happened (ms since epoch). */
  eventTime: number;
}

/**
 * Which of two counts is the later one: by event time, ties by movement id, so the answer is
 * the same whatever order they arrived in.
 */
export function laterCount(a: Movement, b: Movement): Movement {
  if (a.eventTime !== b.eventTime) return a.eventTime > b.eventTime ? a : b;
  return a.movementId > b.movementId ? a : b;
}

export interface Level {
  onHand: number;
  /** Event time of the count on hand is based on, or null when never counted. */
  countedAt: number | null;
  /** Movements after that count (or all, without one). */
  since: number;
}

/** On hand of one GTIN from its movements (any order, duplicates by id counted once). */
export function levelOf(moves: readonly Movement[]): Level {
  const unique = new Map<string, Movement>();
  for (const m of moves) if (!unique.has(m.movementId)) unique.set(m.movementId, m);
  let count: Movement | null = null;
  for (const m of unique.values()) if (m.kind === 'count') count = count ? laterCount(count, m) : m;
  let onHand = count?.qty ?? 0;
  let since = 0;
  for (const m of unique.values()) {
    if (m.kind === 'count') continue;
    if (count && m.eventTime <= count.eventTime) continue;
    onHand += m.qty;
    since++;
  }
  return { onHand, countedAt: count?.eventTime ?? null, since };
}

/** On hand per GTIN over movements of many GTINs. */
export function levelsOf(moves: readonly Movement[]): Map<string, Level> {
  const by = new Map<string, Movement[]>();
  for (const m of moves) {
    const list = by.get(m.gtin);
    if (list) list.push(m);
    else by.set(m.gtin, [m]);
  }
  return new Map([...by].map(([g, list]) => [g, levelOf(list)]));
}

/** Below `lowBelow` but above 0 is low; 0 or less is out. */
export function stockState(onHand: number, lowBelow: number): 'out' | 'low' | 'ok' {
  if (onHand <= 0) return 'out';
  return onHand < lowBelow ? 'low' : 'ok';
}
