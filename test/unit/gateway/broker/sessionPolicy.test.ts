import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { checkConnectFlags, ClientIdBook, reservedOwner } from '../../../../gateway/broker/sessionPolicy.js';
import { GATEWAY_RECORD_TYPES, isGatewayRecord } from '../../../../gateway/protocol/gatewayRecords.js';
import { CATALOGUE } from '../../../../gateway/protocol/schemas/index.js';
import { DEVICE_KINDS } from '../../../../gateway/protocol/topics.js';

describe('checkConnectFlags', () => {
  it('refuses a zero-length id with clean session 0 [MQTT-3.1.3-8] and keep-alive 0 or above the maximum, with CONNACK 2', () => {
    expect(checkConnectFlags({ emptyClientId: true, askedClean: false, keepalive: 60 }, 300)).toMatchObject({ code: 2, result: 'client_id_rejected' });
    expect(checkConnectFlags({ emptyClientId: true, askedClean: true, keepalive: 60 }, 300)).toBeNull();
    expect(checkConnectFlags({ emptyClientId: false, askedClean: true, keepalive: 0 }, 300)).toMatchObject({ code: 2, result: 'keepalive', reason: 'keepalive: must be 1..300 s (got 0)' });
    expect(checkConnectFlags({ emptyClientId: false, askedClean: false, keepalive: 301 }, 300)).toMatchObject({ code: 2, result: 'keepalive' });
    expect(checkConnectFlags({ emptyClientId: false, askedClean: false, keepalive: 300 }, 300)).toBeNull();
  });
});

describe('ClientIdBook', () => {
  function book(holdMs = 1000, maxPerCredential = 2) {
    let t = 0;
    const b = new ClientIdBook({ holdMs, maxPerCredential, now: () => t, maxRemembered: 100 });
    return { b, tick: (ms: number) => (t += ms) };
  }

  it('binds first come; another credential gets 5 while held and during the hold, then may take it', () => {
    const { b, tick } = book();
    expect(b.bind('X', 'footfall/door-1', false)).toBeNull();
    expect(b.bind('X', 'footfall/door-2', false)).toMatchObject({ code: 5, result: 'client_id_taken' });
    b.release('X');
    tick(999);
    expect(b.bind('X', 'footfall/door-2', false)).toMatchObject({ code: 5 });
    tick(1);
    expect(b.bind('X', 'footfall/door-2', false)).toBeNull();
    expect(b.holder('X')).toEqual({ username: 'footfall/door-2', live: true });
  });

  it('reserves storegw-{kind}-{id} and storegw-bridge-{id} for their credential from boot', () => {
    expect(reservedOwner('storegw-bridge-kb')).toBe('bridge/kb');
    expect(reservedOwner('storegw-footfall-door-1')).toBe('footfall/door-1');
    expect(reservedOwner('storegw')).toBeNull();
    expect(reservedOwner('DVES_0A1B2C')).toBeNull();
    const { b } = book();
    expect(b.bind('storegw-bridge-kb', 'scanner/sc-1', false)).toMatchObject({ code: 5, reason: 'clientId: "storegw-bridge-kb" is reserved for bridge/kb' });
    expect(b.bind('storegw-bridge-kb', 'bridge/kb', false)).toBeNull();
  });

  it('lets the same credential take over its own id without counting it twice', () => {
    const { b } = book(1000, 1);
    expect(b.bind('X', 'u', false)).toBeNull();
    expect(b.bind('X', 'u', false)).toBeNull(); // takeover: two holders for a moment
    b.release('X'); // the old connection closes
    expect(b.holder('X')).toEqual({ username: 'u', live: true });
    expect(b.bind('Y', 'u', false)).toMatchObject({ code: 3, result: 'credential_cap' });
    b.release('X');
    expect(b.bind('Y', 'u', false)).toBeNull();
  });

  it('forgets server-assigned ids at disconnect and keeps at most maxRemembered released ones', () => {
    const { b } = book(60_000, 1000);
    expect(b.bind('aedes_1', 'u', true)).toBeNull();
    b.release('aedes_1');
    expect(b.holder('aedes_1')).toBeNull();
    for (let i = 0; i < 300; i++) {
      b.bind(`id-${i}`, 'u', false);
      b.release(`id-${i}`);
    }
    expect(b.size).toBeLessThanOrEqual(100);
    expect(b.holder('id-299')).toEqual({ username: 'u', live: false });
  });

  it('property: a live id is never granted to another credential, and live counts never exceed the cap', () => {
    const op = fc.record({ bind: fc.boolean(), id: fc.constantFrom('A', 'B', 'C', 'D'), user: fc.constantFrom('u1', 'u2', 'u3'), ms: fc.nat(500) });
    fc.assert(
      fc.property(fc.array(op, { maxLength: 60 }), (ops) => {
        const { b, tick } = book(300, 2);
        const live = new Map<string, { user: string; n: number }>();
        for (const o of ops) {
          tick(o.ms);
          if (o.bind) {
            const before = live.get(o.id);
            const r = b.bind(o.id, o.user, false);
            if (before && before.user !== o.user) expect(r).not.toBeNull();
            if (r === null) live.set(o.id, { user: o.user, n: (before?.user === o.user ? before.n : 0) + 1 });
          } else {
            const l = live.get(o.id);
            if (!l) continue;
            b.release(o.id);
            if (--l.n === 0) live.delete(o.id);
          }
          const perUser = new Map<string, number>();
          for (const l of live.values()) perUser.set(l.user, (perUser.get(l.user) ?? 0) + 1);
          for (const n of perUser.values()) expect(n).toBeLessThanOrEqual(2);
        }
      }),
      { seed: 1305, numRuns: 500 },
    );
  });
});

describe('gateway record types', () => {
  it('are kiosk transaction, attendant, pickup, handover, priceMismatch, pointsChange, couponRedeemed, couponReleased and saleVoided, and the gateway\'s own light/storegw alerts', () => {
    expect([...GATEWAY_RECORD_TYPES.kiosk].sort()).toEqual(['attendant', 'couponRedeemed', 'couponReleased', 'handover', 'pickup', 'pointsChange', 'priceMismatch', 'saleVoided', 'transaction']);
    expect(isGatewayRecord('kiosk', 'k1', 'saleVoided')).toBe(true); // a device cannot forge a void
    expect(isGatewayRecord('kiosk', 'k1', 'couponRedeemed')).toBe(true); // a device cannot forge a redemption
    expect(isGatewayRecord('kiosk', 'k1', 'transaction')).toBe(true);
    expect(isGatewayRecord('kiosk', 'k1', 'priceMismatch')).toBe(true); // a device cannot forge one
    expect(isGatewayRecord('kiosk', 'k1', 'alert')).toBe(false);
    expect(isGatewayRecord('light', 'storegw', 'alert')).toBe(true);
    expect(isGatewayRecord('light', 'l1', 'alert')).toBe(false);
    // A stock movement is the gateway's own record: no light (or any device) may write one.
    expect([...GATEWAY_RECORD_TYPES.light]).toEqual(['stockMove']);
    expect(isGatewayRecord('light', 'l1', 'stockMove')).toBe(true);
  });

  it('every listed type is in the catalogue (a record type the gateway writes must validate)', () => {
    for (const k of DEVICE_KINDS) for (const t of GATEWAY_RECORD_TYPES[k]) expect(CATALOGUE[k].events[t], `${k} ${t}`).toBeDefined();
  });
});
