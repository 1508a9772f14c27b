import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { RecentCommands, ackData, parseCommand } from '../../../firmware-bridge/commandLog.js';
import { checkEvent } from '../../../gateway/protocol/validate.js';

describe('commands off cmd/{type}', () => {
  it('parses a command with its cmdId, and names what is wrong otherwise', () => {
    expect(parseCommand(Buffer.from('{"cmdId":"c-1","color":"red","mode":"steady"}'))).toEqual({ ok: true, cmdId: 'c-1', body: { cmdId: 'c-1', color: 'red', mode: 'steady' } });
    expect(parseCommand('{')).toEqual({ ok: false, reason: 'cmd: is not valid JSON' });
    expect(parseCommand('[1]')).toEqual({ ok: false, reason: 'cmd: must be a JSON object' });
    expect(parseCommand('null')).toEqual({ ok: false, reason: 'cmd: must be a JSON object' });
    expect(parseCommand('{"cmdId":7}').ok).toBe(false);
    expect(parseCommand('{"cmdId":"a/b"}').ok).toBe(false);
    expect(parseCommand(`{"cmdId":"${'x'.repeat(65)}"}`).ok).toBe(false);
  });

  it('never throws on any payload', () => {
    fc.assert(fc.property(fc.uint8Array({ maxLength: 200 }), (b) => void parseCommand(Buffer.from(b))), { numRuns: 500 });
    fc.assert(fc.property(fc.json(), (j) => void parseCommand(j)), { numRuns: 500 });
  });

  it('builds acks the gateway accepts, the error cut to 512 characters', () => {
    const ts = '2026-11-25T09:00:00.000Z';
    expect(ackData('c-1', { ok: true }, ts)).toEqual({ ts, cmdId: 'c-1', ok: true });
    const long = ackData('c-2', { ok: false, error: 'e'.repeat(600) }, ts);
    expect((long.error as string).length).toBe(512);
    expect(ackData('c-3', { ok: false }, ts)).toEqual({ ts, cmdId: 'c-3', ok: false, error: 'failed' });
    for (const a of [ackData('c-1', { ok: true }, ts), long]) expect(checkEvent('light', 'ack', JSON.stringify(a)).ok).toBe(true);
  });

  it('runs each cmdId once, answers a re-sent one with the same result, and forgets the oldest', async () => {
    const recent = new RecentCommands(2);
    let runs = 0;
    const fn = async () => ({ ok: true, n: ++runs }) as { ok: boolean };
    const a = recent.run('a', fn);
    expect(a.fresh).toBe(true);
    const again = recent.run('a', fn);
    expect(again.fresh).toBe(false);
    expect(await again.result).toBe(await a.result);
    const b = recent.run('b', fn);
    const c = recent.run('c', fn);
    const a2 = recent.run('a', fn);
    expect(a2.fresh).toBe(true);
    await Promise.all([b.result, c.result, a2.result]);
    expect(runs).toBe(4);
    expect(() => new RecentCommands(0)).toThrow('RecentCommands.size: must be a positive integer');
  });

  it('a driver that throws, even synchronously, still gets an answer', async () => {
    const recent = new RecentCommands();
    const sync = recent.run('s', () => {
      throw new Error('boom');
    });
    expect(await sync.result).toEqual({ ok: false, error: 'boom' });
    expect(await recent.run('r', () => Promise.reject(new Error('late boom'))).result).toEqual({ ok: false, error: 'late boom' });
  });
});
