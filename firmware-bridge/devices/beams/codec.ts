/**
 * Two-beam footfall logic (README.md here) as a pure state machine over timed edges: beam A outside,
 * beam B inside; A then B = in, B then A = out. Each beam is debounced (a break shorter than
 * `minBreakMs` is noise), a sequence that never reaches the second beam times out, and a beam
 * broken for `blockedMs` raises the blocked alarm. The count is emitted when the second beam's
 * break is confirmed; after a count (or a timeout) both beams must clear before the next sequence.
 * Time comes in with the input (`atMs`); `nextDeadline()` tells the driver when to `tick`.
 */
import type { DecodeError } from '../decodeResult.js';

export type Beam = 'A' | 'B';
export type Direction = 'in' | 'out';

export interface BeamsConfig {
  /** A break shorter than this is noise [U: tune per site; public counters use 25 ms]. */
  minBreakMs: number;
  /** A clear shorter than this is a flicker inside one break. */
  minClearMs: number;
  /** The second beam must break within this time after the first [U: 0.5–1 s]. */
  sequenceTimeoutMs: number;
  /** A beam broken this long raises the blocked alarm. */
  blockedMs: number;
  /** Breaks closer together than this cannot tell direction (0 = off) [U: typical 75 ms]. */
  minGapMs: number;
  /** The line level that means "beam broken" (receivers differ). */
  brokenLevel: 0 | 1;
}

export const DEFAULT_BEAMS_CONFIG: Readonly<BeamsConfig> = Object.freeze({
  minBreakMs: 25,
  minClearMs: 25,
  sequenceTimeoutMs: 1000,
  blockedMs: 2500,
  minGapMs: 0,
  brokenLevel: 1,
});

export function assertBeamsConfig(c: BeamsConfig): void {
  for (const k of ['minBreakMs', 'minClearMs', 'sequenceTimeoutMs', 'blockedMs', 'minGapMs'] as const) {
    if (!Number.isFinite(c[k]) || c[k] < 0) throw new RangeError(`beams.${k}: must be a number ≥ 0`);
  }
  if (c.brokenLevel !== 0 && c.brokenLevel !== 1) throw new RangeError('beams.brokenLevel: must be 0 or 1');
}

interface BeamState {
  /** The latest raw level, as "broken". */
  raw: boolean;
  rawSince: number;
  /** The debounced level. */
  broken: boolean;
  /** When the debounced level began (the raw edge time). */
  since: number;
  blocked: boolean;
}

type Phase = { kind: 'idle' } | { kind: 'armed'; first: Beam; atMs: number } | { kind: 'done' };

export interface BeamsState {
  A: BeamState;
  B: BeamState;
  phase: Phase;
  lastMs: number;
}

export type BeamsInput = { kind: 'edge'; beam: Beam; value: 0 | 1; atMs: number } | { kind: 'tick'; atMs: number };

export type BeamsEvent =
  | { type: 'cross'; direction: Direction; atMs: number }
  | { type: 'blocked'; beam: Beam; sinceMs: number; atMs: number }
  | { type: 'unblocked'; beam: Beam; atMs: number }
  /** A break shorter than `minBreakMs`. */
  | { type: 'noise'; beam: Beam; atMs: number }
  /** The first beam broke but the second did not within `sequenceTimeoutMs`. */
  | { type: 'timeout'; first: Beam; atMs: number }
  /** Both beams broke within `minGapMs`: no direction. */
  | { type: 'ambiguous'; atMs: number };

export interface BeamsStep {
  state: BeamsState;
  events: BeamsEvent[];
  errors: DecodeError[];
}

export function initialBeamsState(atMs: number, levels: { A: boolean; B: boolean } = { A: false, B: false }): BeamsState {
  const beam = (broken: boolean): BeamState => ({ raw: broken, rawSince: atMs, broken, since: atMs, blocked: false });
  // Starting with a beam already broken: wait for both to clear before counting.
  const phase: Phase = levels.A || levels.B ? { kind: 'done' } : { kind: 'idle' };
  return { A: beam(levels.A), B: beam(levels.B), phase, lastMs: atMs };
}

function clone(s: BeamsState): BeamsState {
  return { A: { ...s.A }, B: { ...s.B }, phase: { ...s.phase }, lastMs: s.lastMs };
}

const other = (b: Beam): Beam => (b === 'A' ? 'B' : 'A');

type Deadline = { at: number; order: number; run: (s: BeamsState, out: BeamsEvent[], c: BeamsConfig) => void };

function deadlines(s: BeamsState, c: BeamsConfig): Deadline[] {
  const list: Deadline[] = [];
  for (const b of ['A', 'B'] as const) {
    const st = s[b];
    if (st.raw !== st.broken) {
      const at = st.rawSince + (st.raw ? c.minBreakMs : c.minClearMs);
      // Same confirm time: the earlier raw edge goes first.
      list.push({ at, order: st.rawSince * 2 + (b === 'A' ? 0 : 1) - 1e15, run: (x, out, cc) => confirm(x, b, out, cc) });
    }
    if (st.broken && !st.blocked) {
      list.push({
        at: st.since + c.blockedMs,
        order: 2,
        run: (x, out) => {
          x[b].blocked = true;
          out.push({ type: 'blocked', beam: b, sinceMs: x[b].since, atMs: x[b].since + c.blockedMs });
        },
      });
    }
  }
  if (s.phase.kind === 'armed') {
    const { first, atMs } = s.phase;
    list.push({
      at: atMs + c.sequenceTimeoutMs,
      order: 1,
      run: (x, out) => {
        out.push({ type: 'timeout', first, atMs: atMs + c.sequenceTimeoutMs });
        x.phase = x.A.broken || x.B.broken ? { kind: 'done' } : { kind: 'idle' };
      },
    });
  }
  return list;
}

/** The debounced level of beam `b` changes (its raw level held long enough). */
function confirm(s: BeamsState, b: Beam, out: BeamsEvent[], c: BeamsConfig): void {
  const st = s[b];
  st.broken = st.raw;
  st.since = st.rawSince;
  const at = st.rawSince + (st.raw ? c.minBreakMs : c.minClearMs);
  if (!st.broken) {
    if (st.blocked) out.push({ type: 'unblocked', beam: b, atMs: at });
    st.blocked = false;
    if (s.phase.kind === 'done' && !s[other(b)].broken) s.phase = { kind: 'idle' };
    return;
  }
  const p = s.phase;
  if (p.kind === 'idle' || (p.kind === 'armed' && p.first === b)) {
    s.phase = { kind: 'armed', first: b, atMs: st.since };
  } else if (p.kind === 'armed') {
    if (st.since - p.atMs < c.minGapMs) out.push({ type: 'ambiguous', atMs: at });
    else out.push({ type: 'cross', direction: p.first === 'A' ? 'in' : 'out', atMs: at });
    s.phase = { kind: 'done' };
  }
}

/** Runs every deadline up to and including `toMs`, in time order. */
function advance(s: BeamsState, toMs: number, out: BeamsEvent[], c: BeamsConfig): void {
  for (let guard = 0; guard < 16; guard++) {
    const due = deadlines(s, c)
      .filter((d) => d.at <= toMs)
      .sort((x, y) => x.at - y.at || x.order - y.order)[0];
    if (!due) break;
    due.run(s, out, c);
  }
  s.lastMs = Math.max(s.lastMs, toMs);
}

/** One step: an edge of beam A or B, or a tick that lets time pass. */
export function step(state: BeamsState, input: BeamsInput, config: BeamsConfig = DEFAULT_BEAMS_CONFIG): BeamsStep {
  const s = clone(state);
  const events: BeamsEvent[] = [];
  const errors: DecodeError[] = [];
  let at = input.atMs;
  if (!Number.isFinite(at) || at < s.lastMs) {
    errors.push({ code: 'BAD_FRAME', bytes: 0, detail: `edge at ${at} is before ${s.lastMs}` });
    at = s.lastMs;
  }
  advance(s, at, events, config);
  if (input.kind === 'edge') {
    const st = s[input.beam];
    const broken = input.value === config.brokenLevel;
    if (broken !== st.raw) {
      if (st.raw !== st.broken && st.raw) events.push({ type: 'noise', beam: input.beam, atMs: at });
      st.raw = broken;
      st.rawSince = at;
      // Zero thresholds confirm at once.
      advance(s, at, events, config);
    }
  }
  return { state: s, events, errors };
}

/** When the machine next needs a `tick` (or `null` if nothing is pending). */
export function nextDeadline(state: BeamsState, config: BeamsConfig = DEFAULT_BEAMS_CONFIG): number | null {
  const ds = deadlines(state, config);
  return ds.length === 0 ? null : Math.min(...ds.map((d) => d.at));
}
