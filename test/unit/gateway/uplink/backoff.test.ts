import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { Backoff, backoffCeiling, backoffDelay, DEFAULT_BACKOFF, resolveBackoffConfig } from '../../../../gateway/uplink/backoff.js';

describe('backoff', () => {
  const noJitter = resolveBackoffConfig({ initialMs: 100, maxMs: 1_000, factor: 2, jitter: 0 });

  it('grows exponentially up to the cap', () => {
    expect([0, 1, 2, 3, 4, 5, 50, 5000].map((n) => backoffDelay(n, () => 0.7, noJitter))).toEqual([100, 200, 400, 800, 1000, 1000, 1000, 1000]);
  });

  it('full jitter spans [0, ceiling]; the default keeps at least half the ceiling', () => {
    const full = resolveBackoffConfig({ initialMs: 100, maxMs: 1_000, jitter: 1 });
    expect(backoffDelay(3, () => 0, full)).toBe(0);
    expect(backoffDelay(3, () => 0.999999, full)).toBe(800);
    expect(backoffDelay(3, () => 0, DEFAULT_BACKOFF)).toBe(2_000);
    expect(backoffDelay(3, () => 0.5, DEFAULT_BACKOFF)).toBe(3_000);
  });

  it('property: the delay stays within [ceiling·(1−jitter), ceiling] for any attempt and random value', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: -5, max: 10_000 }),
        fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true }),
        fc.double({ min: 0, max: 1, noNaN: true }),
        (attempt, u, jitter) => {
          const c = resolveBackoffConfig({ jitter });
          const d = backoffDelay(attempt, () => u, c);
          const ceiling = backoffCeiling(attempt, c);
          expect(Number.isInteger(d)).toBe(true);
          expect(d).toBeGreaterThanOrEqual(Math.floor(ceiling * (1 - jitter)));
          expect(d).toBeLessThanOrEqual(ceiling);
          expect(ceiling).toBeLessThanOrEqual(c.maxMs);
        },
      ),
    );
  });

  it('never throws on a broken random source or attempt', () => {
    for (const bad of [Number.NaN, -1, 7, Number.POSITIVE_INFINITY]) {
      const d = backoffDelay(Number.NaN, () => bad, DEFAULT_BACKOFF);
      expect(d).toBeGreaterThanOrEqual(250);
      expect(d).toBeLessThanOrEqual(500);
    }
  });

  it('Backoff counts attempts and resets after a connect', () => {
    const values = [0, 0, 0, 0];
    const b = new Backoff(() => values.shift() ?? 0, noJitter);
    expect([b.next(), b.next(), b.next()]).toEqual([100, 200, 400]);
    expect(b.attempts).toBe(3);
    b.reset();
    expect(b.next()).toBe(100);
  });

  it('checks options by name', () => {
    expect(() => resolveBackoffConfig({ initialMs: 0 })).toThrow(/backoff\.initialMs/);
    expect(() => resolveBackoffConfig({ maxMs: 10 })).toThrow(/backoff\.maxMs/);
    expect(() => resolveBackoffConfig({ factor: 0.5 })).toThrow(/backoff\.factor/);
    expect(() => resolveBackoffConfig({ jitter: 2 })).toThrow(/backoff\.jitter/);
  });
});
