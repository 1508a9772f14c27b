/**
 * Wall-clock jump detection. Pure: the clocks are injected, no timer here. A box
 * without a battery clock may boot with a wrong time and be corrected later (NTP, an operator):
 * the wall clock then jumps while the monotonic clock does not. The offset wall − mono is constant
 * while both run; a change beyond `thresholdMs` is a jump, back or forward.
 */
export interface ClockJump {
  /** Signed: negative when the wall clock went back. */
  jumpMs: number;
  direction: 'back' | 'forward';
  /** Wall time just before and after, as the gateway saw it. */
  wallBefore: number;
  wallAfter: number;
  monoMs: number;
}

export class ClockWatch {
  private offset: number;
  constructor(
    private readonly now: () => number,
    private readonly mono: () => number,
    private readonly thresholdMs: number,
  ) {
    this.offset = now() - mono();
  }

  /** Compares the clocks once; returns the jump (and takes the new offset as the baseline) or null. */
  check(): ClockJump | null {
    const wall = this.now();
    const mono = this.mono();
    const offset = wall - mono;
    const d = offset - this.offset;
    if (Math.abs(d) <= this.thresholdMs) return null;
    this.offset = offset;
    return { jumpMs: d, direction: d < 0 ? 'back' : 'forward', wallBefore: wall - d, wallAfter: wall, monoMs: Math.round(mono) };
  }
}

/**
 * Across a restart the monotonic clock starts over, so `ClockWatch` cannot see a box that boots
 * with its wall clock behind (no battery clock, no NTP yet). What the gateway wrote down before
 * (`lastWall`: the newest device last-seen time in state.db) is the evidence: a start earlier than
 * that by more than `thresholdMs` means the clock is behind now, or was ahead before. Either way
 * KPIs, promotion times and record timestamps are wrong until it is fixed. Pure.
 */
export function behindAtBoot(now: number, lastWall: number | null, thresholdMs: number): { behindMs: number } | null {
  if (lastWall === null || lastWall - now <= thresholdMs) return null;
  return { behindMs: lastWall - now };
}
