import { describe, expect, it } from 'vitest';
import { healthOf } from '../../../../gateway/devices/health.js';

const STALE = 60_000;
const NOW = 1_000_000;

describe('healthOf', () => {
  it('disabled wins over everything', () => {
    expect(healthOf({ disabled: true, online: true, lastSeen: NOW }, STALE, NOW)).toBe('disabled');
    expect(healthOf({ disabled: true, online: false, lastSeen: null }, STALE, NOW)).toBe('disabled');
  });

  it('not connected is offline, however recently it spoke', () => {
    expect(healthOf({ disabled: false, online: false, lastSeen: NOW }, STALE, NOW)).toBe('offline');
    expect(healthOf({ disabled: false, online: false, lastSeen: null }, STALE, NOW)).toBe('offline');
  });

  it('connected and heard within the interval is online; exactly at the interval still online', () => {
    expect(healthOf({ disabled: false, online: true, lastSeen: NOW - 10 }, STALE, NOW)).toBe('online');
    expect(healthOf({ disabled: false, online: true, lastSeen: NOW - STALE }, STALE, NOW)).toBe('online');
  });

  it('connected but silent past the interval is stale', () => {
    expect(healthOf({ disabled: false, online: true, lastSeen: NOW - STALE - 1 }, STALE, NOW)).toBe('stale');
    expect(healthOf({ disabled: false, online: true, lastSeen: null }, STALE, NOW)).toBe('stale');
  });
});
