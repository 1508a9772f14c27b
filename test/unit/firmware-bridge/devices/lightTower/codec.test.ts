import { describe, expect, it } from 'vitest';
import { flashPhase, lineStates, parseSet } from '../../../../../firmware-bridge/devices/lightTower/codec.js';

describe('light tower', () => {
  it('maps each colour to its one line; off lights nothing', () => {
    expect(lineStates('green', 'steady')).toEqual({ green: 1, amber: 0, red: 0 });
    expect(lineStates('amber', 'steady')).toEqual({ green: 0, amber: 1, red: 0 });
    expect(lineStates('red', 'steady')).toEqual({ green: 0, amber: 0, red: 1 });
    expect(lineStates('off', 'steady')).toEqual({ green: 0, amber: 0, red: 0 });
  });
  it('flash follows the phase; steady ignores it', () => {
    expect(lineStates('red', 'flash', false)).toEqual({ green: 0, amber: 0, red: 0 });
    expect(lineStates('red', 'flash', true)).toEqual({ green: 0, amber: 0, red: 1 });
    expect(lineStates('red', 'steady', false)).toEqual({ green: 0, amber: 0, red: 1 });
  });
  it('flash schedule: lit for onMs, dark until the period ends', () => {
    const f = { periodMs: 1000, onMs: 400 };
    expect(flashPhase(10_000, 10_000, f)).toEqual({ lit: true, nextChangeMs: 10_400 });
    expect(flashPhase(10_000, 10_399, f)).toEqual({ lit: true, nextChangeMs: 10_400 });
    expect(flashPhase(10_000, 10_400, f)).toEqual({ lit: false, nextChangeMs: 11_000 });
    expect(flashPhase(10_000, 12_100, f)).toEqual({ lit: true, nextChangeMs: 12_400 });
  });
  it('parses a set command or names the bad field', () => {
    expect(parseSet({ color: 'amber', mode: 'flash' })).toEqual({ ok: true, color: 'amber', mode: 'flash' });
    expect(parseSet({ color: 'blue', mode: 'flash' })).toEqual({ ok: false, reason: expect.stringMatching(/^color/) });
    expect(parseSet({ color: 'red', mode: 'blink' })).toEqual({ ok: false, reason: expect.stringMatching(/^mode/) });
  });
});
