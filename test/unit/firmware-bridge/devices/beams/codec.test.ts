import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import {
  DEFAULT_BEAMS_CONFIG,
  initialBeamsState,
  nextDeadline,
  step,
  type Beam,
  type BeamsEvent,
  type BeamsState,
} from '../../../../../firmware-bridge/devices/beams/codec.js';

type Edge = [beam: Beam, value: 0 | 1, atMs: number];

/** Runs timed edges (level 1 = broken), then a tick at `endMs`. */
function run(edges: Edge[], endMs: number, config = DEFAULT_BEAMS_CONFIG) {
  let state: BeamsState = initialBeamsState(0);
  const events: BeamsEvent[] = [];
  let errors = 0;
  for (const [beam, value, atMs] of edges) {
    const r = step(state, { kind: 'edge', beam, value, atMs }, config);
    state = r.state;
    events.push(...r.events);
    errors += r.errors.length;
  }
  const r = step(state, { kind: 'tick', atMs: endMs }, config);
  events.push(...r.events);
  return { events, state: r.state, errors };
}

const crosses = (ev: BeamsEvent[]) => ev.filter((e) => e.type === 'cross').map((e) => (e as { direction: string }).direction);

describe('two-beam footfall machine (beams/README.md)', () => {
  it('A then B = in, counted when the second break is confirmed (25 ms)', () => {
    const r = run([['A', 1, 1000], ['B', 1, 1100], ['A', 0, 1300], ['B', 0, 1400]], 5000);
    expect(r.events.filter((e) => e.type === 'cross')).toEqual([{ type: 'cross', direction: 'in', atMs: 1125 }]);
  });
  it('B then A = out', () => {
    expect(crosses(run([['B', 1, 1000], ['A', 1, 1080], ['B', 0, 1200], ['A', 0, 1260]], 5000).events)).toEqual(['out']);
  });
  it('rejects a break shorter than 25 ms as noise', () => {
    const r = run([['A', 1, 1000], ['A', 0, 1010], ['B', 1, 1050], ['B', 0, 1200]], 5000);
    expect(crosses(r.events)).toEqual([]);
    expect(r.events).toContainEqual({ type: 'noise', beam: 'A', atMs: 1010 });
  });
  it('a clear flicker inside one break does not end it', () => {
    const r = run([['A', 1, 1000], ['A', 0, 1050], ['A', 1, 1055], ['B', 1, 1100], ['A', 0, 1200], ['B', 0, 1300]], 5000);
    expect(crosses(r.events)).toEqual(['in']);
  });
  it('times out when the second beam does not break in time, and does not count it later', () => {
    const r = run([['A', 1, 1000], ['A', 0, 1100], ['B', 1, 2500], ['B', 0, 2600]], 5000);
    expect(r.events).toContainEqual({ type: 'timeout', first: 'A', atMs: 2000 });
    expect(crosses(r.events)).toEqual([]);
  });
  it('raises the blocked alarm at 2.5 s and clears it', () => {
    const r = run([['B', 1, 1000], ['B', 0, 6000]], 7000);
    expect(r.events).toContainEqual({ type: 'blocked', beam: 'B', sinceMs: 1000, atMs: 3500 });
    expect(r.events).toContainEqual({ type: 'unblocked', beam: 'B', atMs: 6025 });
  });
  it('one count per passage: both beams must clear before the next sequence', () => {
    const r = run(
      [['A', 1, 1000], ['B', 1, 1100], ['A', 0, 1200], ['A', 1, 1300], ['A', 0, 1400], ['B', 0, 1500], ['B', 1, 2000], ['A', 1, 2100], ['B', 0, 2200], ['A', 0, 2300]],
      5000,
    );
    expect(crosses(r.events)).toEqual(['in', 'out']);
  });
  it('constants are configurable: with minGapMs both beams together are ambiguous', () => {
    const cfg = { ...DEFAULT_BEAMS_CONFIG, minGapMs: 75, sequenceTimeoutMs: 500 };
    const r = run([['A', 1, 1000], ['B', 1, 1030], ['A', 0, 1200], ['B', 0, 1200]], 5000, cfg);
    expect(crosses(r.events)).toEqual([]);
    expect(r.events.map((e) => e.type)).toContain('ambiguous');
  });
  it('counts an edge that goes back in time and keeps going', () => {
    const r = run([['A', 1, 1000], ['B', 1, 900], ['A', 0, 1200], ['B', 0, 1300]], 5000);
    expect(r.errors).toBe(1);
  });
  it('nextDeadline says when to tick', () => {
    const s = step(initialBeamsState(0), { kind: 'edge', beam: 'A', value: 1, atMs: 100 }).state;
    expect(nextDeadline(s)).toBe(125);
    expect(nextDeadline(initialBeamsState(0))).toBeNull();
  });
  it('property: random edges never throw, and every passage A→B (then clear) counts in', () => {
    fc.assert(
      fc.property(
        fc.array(fc.record({ beam: fc.constantFrom<Beam>('A', 'B'), value: fc.constantFrom<0 | 1>(0, 1), dt: fc.integer({ min: 0, max: 400 }) }), { maxLength: 60 }),
        (xs) => {
          let t = 0;
          const edges: Edge[] = xs.map((x) => [x.beam, x.value, (t += x.dt)]);
          // Clear both, wait for everything to settle, then one clean passage in.
          edges.push(['A', 0, t + 1], ['B', 0, t + 1]);
          t += 5000;
          edges.push(['A', 1, t], ['B', 1, t + 100], ['A', 0, t + 200], ['B', 0, t + 300]);
          const r = run(edges, t + 5000);
          expect(r.events.filter((e) => e.type === 'cross').at(-1)).toEqual({ type: 'cross', direction: 'in', atMs: t + 125 });
        },
      ),
    );
  });
});
