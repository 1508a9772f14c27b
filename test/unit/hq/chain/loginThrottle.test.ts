/**
 * The chain page's login limits: per address, per user name over all addresses (with the
 * known-good address exception), a cap on concurrent hash checks; through the page too (429 with
 * Retry-After, the right password refused while limited, a success from a known address allowed).
 */
import { describe, expect, it } from 'vitest';
import { LoginThrottle } from '../../../../hq/chain/loginThrottle.js';
import { buildChainServer } from '../../../../hq/chain/chainServer.js';
import { hashPassword } from '../../../../hq/chain/passwordHash.js';

const limits = { addressFailures: 3, userFailures: 5, windowMs: 60_000, concurrentHashes: 2, knownGoodMs: 3_600_000, maxKeys: 100 };

function fail(t: LoginThrottle, user: string, addr: string, now: number) {
  const a = t.admit(user, addr, now);
  if (a.ok) t.checked();
  return a;
}

describe('chain page login throttle', () => {
  it('refuses an address after its failures, until the oldest leaves the window', () => {
    const t = new LoginThrottle(limits);
    for (let i = 0; i < 3; i++) expect(fail(t, `u${i}`, '10.0.0.9', 1_000 + i).ok).toBe(true);
    expect(t.admit('u9', '10.0.0.9', 2_000)).toEqual({ ok: false, why: 'address', retryAfterS: 59 });
    expect(t.admit('u9', '10.0.0.8', 2_000).ok).toBe(true); // another address is not affected
    expect(t.admit('u9', '10.0.0.9', 61_001).ok).toBe(true); // the first failure left the window
  });

  it('refuses a user name guessed from many addresses, but not at an address that logged in before', () => {
    const t = new LoginThrottle(limits);
    const good = t.admit('alice', '10.1.1.1', 0);
    expect(good.ok).toBe(true);
    t.checked();
    if (good.ok) t.succeeded(good.ticket, 0);
    for (let i = 0; i < 5; i++) expect(fail(t, 'alice', `10.2.0.${i}`, 10 + i).ok).toBe(true);
    expect(t.admit('alice', '10.2.0.99', 20)).toMatchObject({ ok: false, why: 'user' });
    expect(t.admit('alice', '10.1.1.1', 20).ok).toBe(true);
  });

  it('a success gives its charge back; at most two checks run at once', () => {
    const t = new LoginThrottle(limits);
    const a = t.admit('bob', '10.3.0.1', 0);
    const b = t.admit('bob', '10.3.0.1', 0);
    expect(t.admit('bob', '10.3.0.1', 0)).toEqual({ ok: false, why: 'busy', retryAfterS: 1 });
    t.checked();
    t.checked();
    if (a.ok) t.succeeded(a.ticket, 1);
    if (b.ok) t.succeeded(b.ticket, 1);
    for (let i = 0; i < 3; i++) expect(fail(t, 'bob', '10.3.0.1', 2 + i).ok).toBe(true);
    expect(t.admit('bob', '10.3.0.1', 10)).toMatchObject({ ok: false, why: 'address' });
  });

  it('keeps its maps bounded however many addresses guess', () => {
    const t = new LoginThrottle({ ...limits, maxKeys: 50 });
    for (let i = 0; i < 1_000; i++) fail(t, `user${i}`, `addr${i}`, i);
    const sizes = t as unknown as { byAddress: Map<string, unknown>; byUser: Map<string, unknown> };
    expect(sizes.byAddress.size).toBeLessThanOrEqual(50);
    expect(sizes.byUser.size).toBeLessThanOrEqual(50);
  });

  it('the page answers 429 with Retry-After once an address guessed too often, even for the right password', async () => {
    const app = buildChainServer({ users: [{ username: 'hq-ops', passwordHash: await hashPassword('right-pass', 4) }], sessionHours: 1, view: async () => [], loginLimits: limits });
    const post = (password: string) => app.inject({ method: 'POST', url: '/login', headers: { 'content-type': 'application/x-www-form-urlencoded' }, payload: `username=hq-ops&password=${password}` });
    for (let i = 0; i < 3; i++) expect((await post('wrong')).statusCode).toBe(401);
    const limited = await post('right-pass');
    expect(limited.statusCode).toBe(429);
    expect(Number(limited.headers['retry-after'])).toBeGreaterThan(0);
    expect(limited.body).toContain('Too many failed sign-ins');
    expect(limited.headers['set-cookie']).toBeUndefined();
    await app.close();
  });
});

describe('chain page behind a trusted proxy', () => {
  it('counts the client X-Forwarded-For names when the proxy is trusted, the proxy otherwise', async () => {
    const users = [{ username: 'hq-ops', passwordHash: await hashPassword('right-pass', 4) }];
    const post = (app: ReturnType<typeof buildChainServer>, client: string) =>
      app.inject({ method: 'POST', url: '/login', remoteAddress: '10.0.0.5', headers: { 'content-type': 'application/x-www-form-urlencoded', 'x-forwarded-for': client }, payload: 'username=hq-ops&password=wrong' });
    const trusted = buildChainServer({ users, sessionHours: 1, view: async () => [], loginLimits: limits, trustedProxies: ['10.0.0.5'] });
    for (let i = 0; i < 3; i++) expect((await post(trusted, '192.0.2.1')).statusCode).toBe(401);
    expect((await post(trusted, '192.0.2.1')).statusCode).toBe(429);
    expect((await post(trusted, '192.0.2.2')).statusCode).toBe(401); // another person behind the same proxy
    const untrusted = buildChainServer({ users, sessionHours: 1, view: async () => [], loginLimits: limits });
    for (let i = 0; i < 3; i++) expect((await post(untrusted, `192.0.2.${i}`)).statusCode).toBe(401);
    expect((await post(untrusted, '192.0.2.9')).statusCode).toBe(429); // the header is not believed
    await trusted.close();
    await untrusted.close();
  });
});
