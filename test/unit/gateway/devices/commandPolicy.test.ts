import { describe, expect, it } from 'vitest';
import { commandTtlMs, decide, DEFAULT_TTL_MS, opsRefusal, opsRoleFor, supersedes, type PendingCommand } from '../../../../gateway/devices/commandPolicy.js';

const T0 = 1_000_000;
const rules = { ackTimeoutMs: 15_000, maxAttempts: 5 };
function cmd(over: Partial<PendingCommand> = {}): PendingCommand {
  return { cmdId: 'c1', kind: 'light', deviceId: 'lt-1', type: 'set', data: { color: 'green', mode: 'steady' }, createdAt: T0, expiresAt: T0 + 600_000, attempts: 0, lastSentAt: null, ...over };
}

describe('command policy', () => {
  it('gives a charge a short life, a tare shorter, unknown types the default', () => {
    expect(commandTtlMs('payment', 'charge')).toBe(120_000);
    expect(commandTtlMs('scale', 'tare')).toBe(60_000);
    expect(commandTtlMs('scanner', 'beep')).toBe(30_000);
    expect(commandTtlMs('footfall', 'anything')).toBe(DEFAULT_TTL_MS);
  });

  it("a terminal's end of day is an admin's, lives five minutes, and is not refused as such from the page", () => {
    expect(opsRoleFor('payment', 'endOfDay')).toBe('admin');
    expect(opsRoleFor('payment', 'cancel')).toBe('attendant');
    expect(opsRoleFor('scale', 'tare')).toBe('attendant');
    expect(commandTtlMs('payment', 'endOfDay')).toBe(5 * 60_000);
    expect(opsRefusal('payment', 'endOfDay')).toBeNull();
  });

  it('lets the last light, enable and inventory win; a cancel voids the undelivered charge of its request only', () => {
    expect(supersedes({ kind: 'light', type: 'set', data: {} }, cmd())).toBe(true);
    expect(supersedes({ kind: 'scale', type: 'tare', data: {} }, cmd({ kind: 'scale', type: 'tare' }))).toBe(false); // each tare counts
    expect(supersedes({ kind: 'rfid', type: 'inventory', data: {} }, cmd({ kind: 'rfid', type: 'inventory' }))).toBe(true);
    const charge = cmd({ kind: 'payment', type: 'charge', data: { requestId: 'r1', amount: 100 } });
    expect(supersedes({ kind: 'payment', type: 'cancel', data: { requestId: 'r1' } }, charge)).toBe(true);
    expect(supersedes({ kind: 'payment', type: 'cancel', data: { requestId: 'r2' } }, charge)).toBe(false);
    expect(supersedes({ kind: 'payment', type: 'charge', data: { requestId: 'r1' } }, charge)).toBe(false);
    expect(supersedes({ kind: 'scanner', type: 'enable', data: {} }, cmd())).toBe(false); // another kind
  });

  it('refuses a charge and ESL contents from the ops page, with a reason', () => {
    expect(opsRefusal('payment', 'charge')).toMatch(/kiosk session/);
    expect(opsRefusal('esl', 'show')).toMatch(/price fan-out/);
    expect(opsRefusal('payment', 'cancel')).toBeNull();
    expect(opsRefusal('payment', 'reverse')).toMatch(/kiosk session/); // a reversal belongs to the sale it undoes
    expect(opsRefusal('scale', 'tare')).toBeNull();
  });

  it('decides: expire past the TTL (online or not), wait offline, send first, wait for the ack, retry, fail after the last attempt', () => {
    expect(decide(cmd(), T0 + 600_000, true, rules)).toEqual({ do: 'expire', reason: 'not acked within its 600 s time to live' });
    expect(decide(cmd(), T0 + 600_000, false, rules).do).toBe('expire');
    expect(decide(cmd(), T0, false, rules)).toEqual({ do: 'wait' });
    expect(decide(cmd(), T0, true, rules)).toEqual({ do: 'send' });
    const sent = cmd({ attempts: 1, lastSentAt: T0 });
    expect(decide(sent, T0 + 14_999, true, rules)).toEqual({ do: 'wait' });
    expect(decide(sent, T0 + 15_000, true, rules)).toEqual({ do: 'send' });
    expect(decide(cmd({ attempts: 5, lastSentAt: T0 }), T0 + 15_000, true, rules)).toEqual({ do: 'fail', reason: 'no ack after 5 attempts' });
  });
});
