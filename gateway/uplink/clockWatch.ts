/**
 * Wall-clock jump detection (issue 4 §6). Pure: the clocks are injected, no timer here. A box
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
