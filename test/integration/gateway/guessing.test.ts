/**
 * Password guessing against a real gateway: attempts are counted before any scrypt runs, only a
 * few people's hashes run at once (the rest are answered 429 with Retry-After), and an event
 * commit during a guessing storm is not held up behind 32 MiB hashes in the libuv pool. Guessing
 * from many addresses (through a trusted proxy) cannot lock an admin out at a known-good address;
 * X-Forwarded-For is believed only from `http.trustProxy`; state-changing requests from another
 * origin are refused; kiosk hellos and member codes are counted before any hash or lookup.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
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
    let firstChecked!: () => void;
    const hashing = new Promise<void>((r) => (firstChecked = r));
    const storm = Promise.all(
      Array.from({ length: 40 }, (_, i) =>
        login('admin', `wrong-guess-${i}`).then((a) => {
          if (a.status === 401) firstChecked();
          return a;
        }),
      ),
    );
    // Commit while the guesses are being hashed: after the first answer that ran a hash.
    await Promise.race([hashing, storm]);
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
    // A guesser's warnings are bounded too: five per address in 10 s.
    expect(g.logs.filter((l) => l.msg === 'login failed').length).toBeLessThanOrEqual(5);
    // Before: 40 hashes of 32 MiB queued in the 4-thread libuv pool ahead of the commit.
    expect(commitMs).toBeLessThan(1500);
  }, 60_000);
});

describe('through a trusted proxy, guessing from many addresses', () => {
  let p: RunningGateway;
  const KIOSK_TOKEN = 'kiosk-token-for-guessing-1';
  beforeAll(async () => {
    p = await startGateway({
      extra: {
        http: { host: '127.0.0.1', port: 0, trustProxy: ['127.0.0.1'], allowedOrigins: ['https://ops.store.example'] },
        kiosks: [{ id: 'k1', tokenHash: await hashSecret(KIOSK_TOKEN, 4) }],
      },
    });
  });
  afterAll(async () => {
    await p?.stop();
  });

  const post = async (url: string, body: unknown, headers: Record<string, string> = {}) => {
    const res = await fetch(`${p.httpUrl}${url}`, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify(body) });
    return { status: res.status, retryAfter: res.headers.get('retry-after'), body: (await res.json()) as { code?: string; message?: string } };
  };
  const loginFrom = (address: string, username: string, password: string) => post('/api/login', { username, password }, { 'x-forwarded-for': address });

  it('slows one address down, refuses the name from new addresses, but lets the admin in at a known-good desk', async () => {
    // The admin's desk becomes known-good by a successful login.
    expect((await loginFrom('10.0.0.5', 'admin', TEST_PASSWORDS.admin)).status).toBe(200);
    // One address: five failures, then it must wait (no hash ran for the sixth).
    const one: number[] = [];
    for (let i = 0; i < 6; i++) one.push((await loginFrom('10.9.0.1', 'admin', `guess-${i}`)).status);
    expect(one).toEqual([401, 401, 401, 401, 401, 429]);
    // Many addresses: past 20 failures of the name, new addresses are refused before any hash.
    const before = await metric(p.httpUrl, 'storegw_password_verifications_total');
    const spread: number[] = [];
    for (let i = 0; i < 20; i++) spread.push((await loginFrom(`10.9.1.${i}`, 'admin', `guess-${i}`)).status);
    expect(spread.filter((s) => s === 401).length).toBe(15); // 5 + 15 = 20 failures
    expect(spread.slice(15).every((s) => s === 429)).toBe(true);
    expect(await metric(p.httpUrl, 'storegw_password_verifications_total')).toBe(before + 15);
    // Even the right password is refused from an unknown address, so no guess is confirmed there…
    const stranger = await loginFrom('10.9.2.1', 'admin', TEST_PASSWORDS.admin);
    expect(stranger.status).toBe(429);
    expect(Number(stranger.retryAfter)).toBeGreaterThan(0);
    // …and the admin at their own desk still gets in.
    expect((await loginFrom('10.0.0.5', 'admin', TEST_PASSWORDS.admin)).status).toBe(200);
    // Another person is not affected by the guessing against admin.
    expect((await loginFrom('10.9.2.1', 'viewer', TEST_PASSWORDS.viewer)).status).toBe(200);
  });

  it('refuses a state-changing request from another origin, counted; allows its own and configured origins', async () => {
    const before = await metric(p.httpUrl, 'storegw_http_refused_total{kind="origin"}');
    const own = new URL(p.httpUrl);
    const otherPort = `http://127.0.0.1:${Number(own.port) + 1}`;
    const refused = await post('/api/logout', {}, { origin: otherPort });
    expect(refused.status).toBe(403);
    expect(refused.body.code).toBe('SGW_ERR_ORIGIN');
    expect(refused.body.message).toContain('header.origin');
    expect((await post('/api/logout', {}, { origin: 'null' })).status).toBe(403);
    // A browser's fetch metadata without Origin says where it came from.
    expect((await post('/api/logout', {}, { 'sec-fetch-site': 'same-site' })).status).toBe(403);
    expect(await metric(p.httpUrl, 'storegw_http_refused_total{kind="origin"}')).toBe(before + 3);
    expect((await post('/api/logout', {}, { origin: p.httpUrl })).status).toBe(200);
    expect((await post('/api/logout', {}, { origin: 'https://ops.store.example' })).status).toBe(200);
    // Behind the trusted proxy the page's origin is the proxy's: X-Forwarded-Proto/Host say it.
    expect((await post('/api/logout', {}, { origin: 'https://gw.store.example', 'x-forwarded-proto': 'https', 'x-forwarded-host': 'gw.store.example' })).status).toBe(200);
    // curl and scripts send no Origin.
    expect((await post('/api/logout', {})).status).toBe(200);
    // GET changes nothing and is not checked.
    expect((await fetch(`${p.httpUrl}/api/me`, { headers: { origin: otherPort } })).status).toBe(401);
  });

  it('refuses the kiosk WebSocket from another origin', async () => {
    const url = `${p.httpUrl.replace('http', 'ws')}/ws/kiosk`;
    const status = await new Promise<number>((resolve) => {
      const ws = new WebSocket(url, { origin: 'http://evil.example' });
      ws.on('unexpected-response', (req, res) => {
        resolve(res.statusCode ?? 0);
        req.destroy(); // with this listener, ending the refused request is ours to do
      });
      ws.on('open', () => resolve(101));
      ws.on('error', () => undefined);
    });
    expect(status).toBe(403);
  });

  async function hello(token: string, address = '10.8.0.1'): Promise<{ ws: WebSocket; msgs: any[]; closed: Promise<{ code: number; reason: string }>; welcomed: Promise<void> }> {
    // The hello's address comes from the trusted proxy's X-Forwarded-For.
    const ws = new WebSocket(`${p.httpUrl.replace('http', 'ws')}/ws/kiosk`, { origin: p.httpUrl, headers: { 'x-forwarded-for': address } });
    const msgs: any[] = [];
    const closed = new Promise<{ code: number; reason: string }>((r) => ws.on('close', (code, reason) => r({ code, reason: reason.toString() })));
    let welcome!: () => void;
    const welcomed = new Promise<void>((r) => (welcome = r));
    ws.on('message', (d) => {
      const m = JSON.parse(String(d));
      msgs.push(m);
      if (m.type === 'welcome') welcome();
    });
    await new Promise((r) => ws.once('open', r));
    ws.send(JSON.stringify({ type: 'hello', kioskId: 'k1', token }));
    return { ws, msgs, closed, welcomed };
  }

  it('counts kiosk hellos per address before the hash: the eleventh wrong one is closed 4429', async () => {
    const codes: number[] = [];
    for (let i = 0; i < 11; i++) codes.push((await (await hello(`wrong-${i}`)).closed).code);
    expect(codes.slice(0, 10)).toEqual(Array(10).fill(4401));
    expect(codes[10]).toBe(4429);
    expect(await metric(p.httpUrl, 'storegw_http_refused_total{kind="kiosk_hello_rate"}')).toBe(1);
  });

  it('limits member codes per kiosk, with an error naming the field', async () => {
    // Another address (a new bucket): the right token is welcomed.
    const s = await hello(KIOSK_TOKEN, '10.8.0.2');
    await s.welcomed;
    for (let i = 0; i < 6; i++) s.ws.send(JSON.stringify({ type: 'member', code: `M-${9000 + i}` }));
    s.ws.send(JSON.stringify({ type: 'setQty', lineId: 'x', qty: -1 }));
    await new Promise<void>((resolve) => {
      const check = () => (s.msgs.some((m) => m.type === 'error' && m.message.startsWith('qty')) ? resolve() : s.ws.once('message', check));
      check();
    });
    const errors = s.msgs.filter((m) => m.type === 'error');
    expect(errors[0]).toMatchObject({ code: 'SGW_ERR_RATE_LIMITED' });
    expect(errors[0].message).toMatch(/^code: too many member codes/);
    expect(errors[1].message).toBe('qty: must be >= 0');
    expect(await metric(p.httpUrl, 'storegw_http_refused_total{kind="member_rate"}')).toBe(1);
    expect(await metric(p.httpUrl, 'storegw_kiosk_intents_refused_total{code="badMessage"}')).toBe(1);
    s.ws.close();
  });
});

describe('without trustProxy', () => {
  it('ignores X-Forwarded-For: a guesser cannot pick the address the limits count', async () => {
    const before = await metric(g.httpUrl, 'storegw_http_refused_total{kind="login_rate"}');
    // Fifteen names, fifteen made-up addresses: all count against 127.0.0.1 (ten a minute at most).
    const answers = await Promise.all(
      Array.from({ length: 15 }, (_, i) =>
        fetch(`${g.httpUrl}/api/login`, { method: 'POST', headers: { 'content-type': 'application/json', 'x-forwarded-for': `10.7.0.${i}` }, body: JSON.stringify({ username: `nobody${i}`, password: 'x' }) }),
      ),
    );
    expect(answers.filter((a) => a.status === 429).length).toBeGreaterThanOrEqual(5);
    expect(await metric(g.httpUrl, 'storegw_http_refused_total{kind="login_rate"}')).toBeGreaterThanOrEqual(before + 5);
  });
});
