/**
 * Hostile HTTP: arbitrary methods, URLs (path traversal under the page folders, percent-encoding,
 * malformed escapes, very long URLs), bodies, query strings, headers and garbage session cookies
 * against every route of gateway/http/routes/, through a real gateway process. Properties: never
 * a 5xx, never a crash; a 400 is JSON naming the field; an unauthenticated request changes
 * nothing (users, devices, alerts, the outbox are the same after thousands of them).
 */
import { readdirSync, readFileSync } from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawnGateway, TEST_PASSWORDS, writeConfigFile, type GatewayProcess } from '../helpers/gatewayHarness.js';
import { tempDir } from '../helpers/tmp.js';

const SEED = 1305;
const tmp = tempDir('sgw-hostile-http-');
let gw: GatewayProcess;
let base: string;
let admin: string;
const tried = { unauthenticated: 0, authenticated: 0, raw: 0 };

/** Every route of gateway/http/routes/ (and server.ts, sse.ts), with `:param`s to fill. */
const ROUTES: [string, string][] = [
  ['GET', '/healthz'],
  ['GET', '/metrics'],
  ['POST', '/api/login'],
  ['POST', '/api/logout'],
  ['GET', '/api/me'],
  ['GET', '/api/devices'],
  ['GET', '/api/devices/:kind/:id'],
  ['POST', '/api/devices/:kind/:id/commands'],
  ['GET', '/api/events'],
  ['GET', '/api/kpi'],
  ['GET', '/api/alerts'],
  ['POST', '/api/alerts/:id/ack'],
  ['POST', '/api/admin/devices'],
  ['POST', '/api/admin/devices/:kind/:id/rotate'],
  ['POST', '/api/admin/devices/:kind/:id/disable'],
  ['POST', '/api/admin/devices/:kind/:id/enable'],
  ['GET', '/api/admin/users'],
  ['POST', '/api/admin/users'],
  ['POST', '/api/admin/users/:username/role'],
  ['POST', '/api/admin/users/:username/reset'],
  ['POST', '/api/admin/users/:username/disable'],
  ['POST', '/api/admin/users/:username/enable'],
  ['POST', '/api/me/password'],
  ['GET', '/api/uplink'],
  ['GET', '/api/labels'],
  ['GET', '/api/labels/:id'],
  ['GET', '/api/prices/sync'],
  ['GET', '/api/prices/:gtin'],
  ['POST', '/api/labels/:id/flash'],
  ['POST', '/api/labels/:id/resend'],
  ['GET', '/api/kiosks'],
  ['GET', '/api/attendant/queue'],
  ['POST', '/api/attendant/:requestId/approve'],
  ['POST', '/api/attendant/:requestId/reject'],
  ['POST', '/api/attendant/kiosks/:kioskId/void'],
  ['GET', '/api/pickups'],
  ['POST', '/api/pickups/:orderId/handover'],
  ['GET', '/api/stock/shelf'],
  ['GET', '/api/stock/shelf/:gtin'],
  ['POST', '/api/stock/counts'],
  ['GET', '/api/stock/counts/:countId'],
  ['POST', '/api/stock/counts/:countId/close'],
  ['POST', '/api/stock/counts/:countId/apply'],
  ['GET', '/api/stock/find'],
  ['GET', '/api/stock/items/:gtin'],
  ['GET', '/api/stock/lists'],
  ['POST', '/api/stock/receive'],
  ['POST', '/api/stock/adjust'],
  ['POST', '/api/stock/return'],
  ['POST', '/api/stock/count'],
  ['GET', '/api/stock/deliveries'],
  ['POST', '/api/stock/deliveries/:deliveryId/confirm'],
  ['POST', '/api/stock/threshold'],
  ['GET', '/api/exit-gate/exemptions'],
  ['POST', '/api/exit-gate/exemptions'],
  ['GET', '/kiosk-images/:gtin'],
  ['GET', '/api/sales/by-receipt/:shortNo'],
  ['POST', '/api/sales/:transactionId/void'],
  ['GET', '/ops/*'],
  ['GET', '/kiosk/*'],
  ['GET', '/'],
];

interface Answer {
  status: number;
  body: string;
}

/** A raw request (node:http sends the path exactly as given; fetch would normalize it). */
function request(method: string, path: string, headers: Record<string, string>, body?: Buffer | string): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = http.request(`${base}${path.startsWith('/') ? '' : '/'}`, { method, path, headers, agent: false, timeout: 20_000 }, (res) => {
      const chunks: Buffer[] = [];
      // SSE streams do not end: the first chunk is enough.
      if (String(res.headers['content-type'] ?? '').startsWith('text/event-stream')) {
        res.once('data', () => {
          req.destroy();
          resolve({ status: res.statusCode ?? 0, body: '' });
        });
        return;
      }
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }));
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new Error(`timeout ${method} ${path.slice(0, 100)}`)));
    req.on('error', reject);
    if (body !== undefined) req.end(body);
    else req.end();
  });
}

const segment = fc.oneof(
  fc.constantFrom('..', '.', '%2e%2e', '%252e%252e', '..%2f..%2f..%2fetc%2fpasswd', '%00', '%E0%A4%A', '%', '%zz', '%25', '%C0%AE%C0%AE', 'index.html', 'main.js', 'door-1', 'footfall', 'admin', 'viewer', '1', '-1', '0x10', '1e309', 'NaN', '__proto__', 'constructor'),
  fc.string({ maxLength: 40 }).map(encodeURIComponent),
  fc.string({ unit: 'binary', maxLength: 20 }).map(encodeURIComponent),
  fc.integer({ min: 0, max: 5000 }).map((n) => 'a'.repeat(n)),
);

function fillPath(template: string, segs: string[]): string {
  let i = 0;
  return template.replace(/:[a-zA-Z]+|\*/g, () => (template.endsWith('*') ? segs.join('/') : segs[i++ % segs.length]));
}

const query = fc.oneof(
  fc.constant(''),
  fc.dictionary(fc.constantFrom('kind', 'health', 'day', 'open', 'limit', 'state', 'at', 'member', 'x', '__proto__'), fc.oneof(fc.string({ maxLength: 30 }), fc.constantFrom('true', '-1', '1e400', '2026-13-45', 'fiscal', ''))).map((d) => '?' + new URLSearchParams(d).toString()),
  fc.string({ maxLength: 60 }).map((s) => '?' + encodeURIComponent(s)),
);

const jsonBody = fc.oneof(
  fc.jsonValue({ maxDepth: 3 }),
  fc.record({ username: fc.oneof(fc.string(), fc.integer(), fc.constant(null)), password: fc.oneof(fc.string({ maxLength: 300 }), fc.integer()) }, { requiredKeys: [] }),
  fc.record({ kind: fc.constantFrom('footfall', 'scale', 'bogus', ''), id: fc.string(), location: fc.string({ maxLength: 200 }) }, { requiredKeys: [] }),
  fc.record({ role: fc.constantFrom('admin', 'root', 1), type: fc.constantFrom('set', 'tare', 'charge', 'show', ''), data: fc.jsonValue({ maxDepth: 2 }), color: fc.string(), seconds: fc.oneof(fc.integer(), fc.double()), current: fc.string(), next: fc.string({ maxLength: 300 }) }, { requiredKeys: [] }),
);

const body = fc.oneof(
  jsonBody.map((v) => ({ type: 'application/json', data: JSON.stringify(v) as string | undefined })),
  fc.string({ maxLength: 200 }).map((s) => ({ type: 'application/json', data: s as string | undefined })),
  fc.string({ maxLength: 200 }).map((s) => ({ type: 'text/plain', data: s as string | undefined })),
  fc.constant({ type: 'application/json', data: undefined as string | undefined }),
  fc.constant({ type: 'application/json', data: '{"a":' + '['.repeat(5000) }),
  fc.constant({ type: 'application/x-www-form-urlencoded', data: 'username=admin&password=x' as string | undefined }),
);

const cookie = fc.oneof(
  fc.constant(undefined),
  fc.string({ maxLength: 80 }).map((s) => `sgw_session=${encodeURIComponent(s)}`),
  fc.constantFrom('sgw_session=', 'sgw_session=%', 'sgw_session="', 'sgw_session=a; sgw_session=b', '=;=;', 'sgw_session=' + 'A'.repeat(43)),
);

const request$ = fc.record({
  route: fc.constantFrom(...ROUTES),
  method: fc.oneof(fc.constant('route'), fc.constantFrom('GET', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS', 'HEAD')),
  segs: fc.array(segment, { minLength: 1, maxLength: 4 }),
  query,
  body,
  cookie,
});

async function snapshot(): Promise<string> {
  const get = async (url: string) => (await request('GET', url, { cookie: admin })).body;
  const devices = JSON.parse(await get('/api/devices')) as { devices?: { kind: string; id: string; disabled?: boolean; health?: string }[] };
  return JSON.stringify({
    users: JSON.parse(await get('/api/admin/users')),
    // Health changes with time; who exists and whether disabled is data.
    devices: (devices.devices ?? []).map((d) => [d.kind, d.id, d.disabled]),
    alerts: JSON.parse(await get('/api/alerts')),
    lastSeq: JSON.parse(await get('/healthz')).checks?.lastSeq ?? null,
  });
}

function check(a: Answer, what: string): void {
  if (a.status >= 500) throw new Error(`${a.status} for ${what}: ${a.body.slice(0, 300)}`);
  if (a.status === 400 && a.body !== '') {
    const j = JSON.parse(a.body) as { code: string; message: string };
    expect(typeof j.code, `${what} → ${a.body.slice(0, 300)}`).toBe('string');
    expect(j.message.length, what).toBeGreaterThan(0);
    if (j.code === 'SGW_ERR_SCHEMA') expect(j.message, what).toMatch(/(body|params|querystring|headers)[.:\[ (]|body\.|: /);
  }
}

beforeAll(async () => {
  const file = await writeConfigFile(tmp.dir, { dataDir: tmp.dir, extra: { shelves: [{ reader: 'gate-1', zone: 'aisle 1' }] } }); // a shelf zone: the cycle-count routes do real work
  gw = await spawnGateway(file);
  base = `http://127.0.0.1:${gw.httpPort}`;
  const res = await fetch(`${base}/api/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ username: 'admin', password: TEST_PASSWORDS.admin }) });
  admin = res.headers.getSetCookie().find((c) => c.startsWith('sgw_session='))!.split(';')[0];
});
afterAll(async () => {
  await gw?.kill();
  tmp.remove();
  // For the BENCHMARKS reliability table.
  console.info(`hostile http: cases tried ${JSON.stringify(tried)}`);
});

function alive(): void {
  expect(gw.proc.exitCode).toBeNull();
  expect(gw.proc.signalCode).toBeNull();
}

/** The routes the sources register with a literal path (`app.get('/api/…'`), WebSocket upgrades aside. */
function registeredRoutes(): string[] {
  const dir = new URL('../../gateway/http/', import.meta.url);
  const files = readdirSync(dir, { recursive: true, encoding: 'utf8' }).filter((f) => f.endsWith('.ts'));
  const found = new Set<string>();
  for (const f of files) {
    const text = readFileSync(new URL(f, dir), 'utf8');
    for (const m of text.matchAll(/app\.(get|post|put|delete|patch)(?:<[^>]*>)?\(\s*'([^']+)'([^\n]*)/g)) {
      if (/websocket:\s*true/.test(m[3]) || m[2] === '/mqtt') continue;
      found.add(`${m[1].toUpperCase()} ${m[2]}`);
    }
  }
  return [...found].sort();
}

describe('hostile HTTP requests', () => {
  it('the route list above is every route the gateway registers (a new route is attacked too)', () => {
    const listed = new Set(ROUTES.map(([m, p]) => `${m} ${p}`));
    expect(registeredRoutes().filter((r) => !listed.has(r))).toEqual([]);
  });

  it('unauthenticated: never a 5xx, 400s name the field, nothing changes', async () => {
    const before = await snapshot();
    await fc.assert(
      fc.asyncProperty(request$, async (r) => {
        tried.unauthenticated++;
        const method = r.method === 'route' ? r.route[0] : r.method;
        const path = fillPath(r.route[1], r.segs) + r.query;
        const headers: Record<string, string> = r.body.data !== undefined ? { 'content-type': r.body.type } : {};
        if (r.cookie) headers.cookie = r.cookie;
        const a = await request(method, path, headers, method === 'GET' || method === 'HEAD' ? undefined : r.body.data);
        check(a, `${method} ${path.slice(0, 200)}`);
        // No session: nothing but login/logout/the public pages may answer 2xx to a state change.
        if (method !== 'GET' && method !== 'HEAD' && method !== 'OPTIONS' && a.status < 300) expect(['/api/logout', '/api/login'].some((p) => path.startsWith(p)), `${method} ${path}`).toBe(true);
      }),
      { seed: SEED, numRuns: 1000, interruptAfterTimeLimit: 25_000 },
    );
    alive();
    expect(await snapshot()).toBe(before);
  }, 60_000);

  it('authenticated admin: bad bodies and params get 4xx naming the field, never a 5xx', async () => {
    const writes = ROUTES.filter(([m, p]) => m === 'POST' && p !== '/api/logout');
    await fc.assert(
      fc.asyncProperty(fc.constantFrom(...writes), fc.array(segment, { minLength: 1, maxLength: 3 }), jsonBody, async (route, segs, b) => {
        tried.authenticated++;
        const path = fillPath(route[1], segs);
        const a = await request('POST', path, { cookie: admin, 'content-type': 'application/json', origin: base }, JSON.stringify(b));
        check(a, `POST ${path.slice(0, 200)} ${JSON.stringify(b).slice(0, 200)}`);
      }),
      { seed: SEED, numRuns: 300, interruptAfterTimeLimit: 15_000 },
    );
    alive();
  }, 60_000);

  it('raw request lines: very long URLs, bad escapes, traversal, header floods → 4xx, the process lives', async () => {
    const raw = async (head: string) => {
      tried.raw++;
      return new Promise<string>((resolve) => {
        const s = net.connect(gw.httpPort, '127.0.0.1', () => s.end(head));
        let out = '';
        s.on('data', (d) => (out += d.toString('latin1')));
        s.on('close', () => resolve(out.split('\r\n')[0]));
        s.on('error', () => resolve(out.split('\r\n')[0]));
      });
    };
    const lines = [
      `GET /ops/${'a/'.repeat(40_000)} HTTP/1.1\r\nHost: x\r\n\r\n`,
      'GET /ops/../../../../etc/passwd HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n',
      'GET /kiosk/%2e%2e/%2e%2e/%2e%2e/etc/passwd HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n',
      'GET /kiosk/%252e%252e%252f%252e%252e%252fpackage.json HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n',
      'GET /ops/%25E0%25A4%25A HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n',
      'GET /ops/%E0%A4%A HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n',
      'GET /ops/\u00ff\u0000 HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n',
      `GET /api/me HTTP/1.1\r\nHost: x\r\nCookie: ${'sgw_session=x; '.repeat(2000)}\r\nConnection: close\r\n\r\n`,
      'POST /api/login HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 999999999\r\nConnection: close\r\n\r\n{}',
      'POST /api/login HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nContent-Type: application/json\r\nConnection: close\r\n\r\nzz\r\n',
      'GET / HTTP/9.9\r\n\r\n',
      'BREW /coffee HTTP/1.1\r\nHost: x\r\n\r\n',
    ];
    for (const l of lines) {
      const status = await raw(l);
      const code = Number(status.split(' ')[1] ?? 0);
      expect(code < 500 || status === '', `${JSON.stringify(l.slice(0, 60))} → ${status}`).toBe(true);
      expect(status.includes('root:') || status.includes('"name"')).toBe(false);
    }
    // Traversal never serves a file outside the page folders.
    for (const p of ['/ops/..%2f..%2fpackage.json', '/kiosk/%2e%2e%2f%2e%2e%2fpackage.json', '/ops/%252e%252e%252f%252e%252e%252fpackage.json']) {
      tried.raw++;
      const a = await request('GET', p, {});
      expect(a.status, p).toBe(404);
      expect(a.body).not.toContain('"devDependencies"');
    }
    alive();
    expect((await request('GET', '/healthz', {})).status).toBe(200);
  }, 60_000);
});
