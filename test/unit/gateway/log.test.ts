import { describe, expect, it } from 'vitest';
import { Writable } from 'node:stream';
import { createLogger, LogLimiter } from '../../../gateway/log.js';

describe('LogLimiter (injected clock)', () => {
  it('lets `burst` lines through per window, drops the rest, then reports how many were suppressed', () => {
    let t = 0;
    const l = new LogLimiter(() => t, 3, 10_000);
    expect([l.take('k'), l.take('k'), l.take('k')]).toEqual([0, 0, 0]);
    expect([l.take('k'), l.take('k')]).toEqual([-1, -1]);
    t = 9_999;
    expect(l.take('k')).toBe(-1);
    t = 10_000; // window rolls over: the first line says 3 were dropped
    expect(l.take('k')).toBe(3);
    expect(l.take('k')).toBe(0);
    expect(l.take('k')).toBe(0);
    expect(l.take('k')).toBe(-1);
  });

  it('keys are independent', () => {
    const l = new LogLimiter(() => 0, 1, 1000);
    expect(l.take('a')).toBe(0);
    expect(l.take('a')).toBe(-1);
    expect(l.take('b')).toBe(0);
  });

  it('a quiet window reports zero suppressed', () => {
    let t = 0;
    const l = new LogLimiter(() => t, 2, 1000);
    l.take('a');
    t = 5000;
    expect(l.take('a')).toBe(0);
  });

  it('defaults: 5 lines per 10 s', () => {
    let t = 0;
    const l = new LogLimiter(() => t);
    expect(Array.from({ length: 6 }, () => l.take('k'))).toEqual([0, 0, 0, 0, 0, -1]);
    t = 10_000;
    expect(l.take('k')).toBe(1);
  });

  it('stays bounded with many keys (a device flood of distinct ids) and keeps working', () => {
    const l = new LogLimiter(() => 0, 1, 1000);
    for (let i = 0; i < 20_000; i++) expect(l.take(`dev-${i}`)).toBe(0);
    expect((l as unknown as { windows: Map<string, unknown> }).windows.size).toBeLessThanOrEqual(10_001);
    expect(l.take('dev-19999')).toBe(-1);
  });
});

describe('LogLimiter kind cap (keys a peer chooses)', () => {
  it('caps a kind over all its keys per window, then reports what it suppressed once', () => {
    let t = 0;
    const summaries: [string, number][] = [];
    const l = new LogLimiter(() => t, 5, 10_000, { lines: 3, windowMs: 60_000, onSuppressed: (k, n) => summaries.push([k, n]) });
    const taken = Array.from({ length: 100 }, (_, i) => l.take(`clientError/id-${i}`)).filter((r) => r >= 0).length;
    expect(taken).toBe(3);
    expect(l.take('auth/someone')).toBe(0); // another kind has its own budget
    expect(summaries).toEqual([]);
    t = 60_000;
    expect(l.take('clientError/id-x')).toBe(0);
    expect(summaries).toEqual([['clientError', 97]]);
  });
});

describe('createLogger', () => {
  it('writes JSON lines with a string level, the name and child fields to the given stream', async () => {
    const lines: Record<string, unknown>[] = [];
    const stream = new Writable({
      write(chunk: Buffer, _enc, cb) {
        for (const s of chunk.toString('utf8').split('\n')) if (s) lines.push(JSON.parse(s) as Record<string, unknown>);
        cb();
      },
    });
    const log = createLogger({ stream, level: 'info' });
    log.child({ module: 'ingest' }).warn({ deviceId: 'door-1', seq: 7 }, 'event rejected');
    log.debug('not at info');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatchObject({ level: 'warn', name: 'storegw', module: 'ingest', deviceId: 'door-1', seq: 7, msg: 'event rejected' });
    expect(typeof lines[0].time).toBe('string');
  });
});
