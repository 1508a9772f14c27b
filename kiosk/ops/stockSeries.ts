/**
 * On hand over time from an item's last movements, pure (the Stock view's chart). Walks back from
 * on hand now: before a movement the level was the level after it minus its quantity. A count
 * sets on hand, so what came before it cannot be read back from it: the series starts there.
 * Movements come newest event first, as the API gives them.
 */
export interface LevelPoint {
  t: number;
  level: number;
}

export function onHandSeries(onHand: number, newestFirst: readonly { kind: string; qty: number; eventTime: string }[], now: number): LevelPoint[] {
  const points: LevelPoint[] = [{ t: now, level: onHand }];
  let level = onHand;
  for (const m of newestFirst) {
    const t = Date.parse(m.eventTime);
    if (!Number.isFinite(t)) continue;
    points.push({ t, level });
    if (m.kind === 'count') return points.reverse();
    level -= m.qty;
  }
  if (newestFirst.length > 0) points.push({ t: Date.parse(newestFirst[newestFirst.length - 1]!.eventTime) - 1, level });
  return points.reverse();
}
