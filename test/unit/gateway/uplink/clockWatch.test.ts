import { describe, expect, it } from 'vitest';
import { behindAtBoot, ClockWatch } from '../../../../gateway/uplink/clockWatch.js';

describe('ClockWatch', () => {
  it('sees a jump of the wall clock against the monotonic one, back and forward, once each', () => {
    let wall = 1_000_000;
    let mono = 0;
    const w = new ClockWatch(() => wall, () => mono, 5000);
    wall += 10_000;
    mono += 10_000;
    expect(w.check()).toBeNull(); // both ran
    wall -= 3_600_000;
    expect(w.check()).toMatchObject({ jumpMs: -3_600_000, direction: 'back' });
    expect(w.check()).toBeNull(); // the new offset is the baseline
    wall += 4000; // under the threshold
    expect(w.check()).toBeNull();
    wall += 3_600_000;
    expect(w.check()).toMatchObject({ direction: 'forward' });
  });
});

describe('behindAtBoot', () => {
  it('flags a start earlier than the last time seen by more than the threshold, nothing else', () => {
    expect(behindAtBoot(1000, null, 60_000)).toBeNull(); // a first start: no evidence
    expect(behindAtBoot(1_000_000, 1_000_000 + 60_000, 60_000)).toBeNull(); // within the threshold
    expect(behindAtBoot(1_000_000, 1_000_000 + 60_001, 60_000)).toEqual({ behindMs: 60_001 });
    expect(behindAtBoot(5_000_000, 1_000_000, 60_000)).toBeNull(); // later than before: normal
  });
});
