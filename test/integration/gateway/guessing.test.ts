/**
 * Password guessing against a real gateway: attempts are counted before any scrypt runs, only a
 * few people's hashes run at once (the rest are answered 429 with Retry-After), and an event
 * commit during a guessing storm is not held up behind 32 MiB hashes in the libuv pool.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectDevice, metric, startGateway, ts, TEST_PASSWORDS, TEST_SECRET, type RunningGateway } from '../../helpers/gatewayHarness.js';
import { hashSecret, PASSWORD_COST } from '../../../gateway/scryptHash.js';

let g: RunningGateway;

beforeAll(async () => {
  // The admin's password at the real cost (2^15, 32 MiB): the one a guesser makes the gateway pay for.
  const adminHash = await hashSecret(TEST_PASSWORDS.admin, PASSWORD_COST);
  g = await startGateway({ extra: { opsUsers: [{ username: 'admin', role: 'admin', passwordHash: adminHash }] } });
});
afterAll(async () => {
  await g?.stop();
});

async function login(username: string, password: string): Promise<{ status: number; retryAfter: string | null; body: any }> {
  const res = await fetch(`${g.httpUrl}/api/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ username, password }) });
  return { status: res.status, retryAfter: res.headers.get('retry-after'), body: await res.json() };
}

describe('40 parallel wrong passwords', () => {
  it('runs only a few hashes, answers the rest 429 with Retry-After, and an event commit is not delayed', async () => {
    const dev = await connectDevice(g.mqttUrl, 'footfall/door-1', TEST_SECRET);
    const storm = Promise.all(Array.from({ length: 40 }, (_, i) => login('admin', `wrong-guess-${i}`)));
    const t0 = performance.now();
    await dev.publishAsync('store/v1/dev/footfall/door-1/evt/count', JSON.stringify({ ts: ts(), in: 1, out: 0 }), { qos: 1 });
    const commitMs = performance.now() - t0;
    const answers = await storm;
    await dev.endAsync();

    const checked = answers.filter((a) => a.status === 401).length;
    const refused = answers.filter((a) => a.status === 429);
    // A 401 means a hash ran; every other guess was refused before any hash.
    expect(checked).toBeGreaterThanOrEqual(1);
    expect(checked).toBeLessThanOrEqual(6);
    expect(refused.length).toBe(40 - checked);
    for (const r of refused) {
      expect(Number(r.retryAfter)).toBeGreaterThanOrEqual(1);
      expect(r.body.code).toBe('SGW_ERR_RATE_LIMITED');
    }
    expect(await metric(g.httpUrl, 'storegw_password_verifications_total')).toBe(checked);
    const refusedCounted = (await metric(g.httpUrl, 'storegw_http_refused_total{kind="login_rate"}')) + (await metric(g.httpUrl, 'storegw_http_refused_total{kind="hash_busy"}'));
    expect(refusedCounted).toBe(refused.length);
    // Before: 40 hashes of 32 MiB queued in the 4-thread libuv pool ahead of the commit.
    expect(commitMs).toBeLessThan(1500);
  }, 60_000);
});
