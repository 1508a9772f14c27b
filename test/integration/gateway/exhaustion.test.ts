/**
 * Exhaustion: a gateway with few file descriptors (`ulimit -n 192`) flooded with connections on
 * both ports lives through `accept EMFILE`, counts what it refused, and a device connects once the
 * flood is over. Log lines an unauthenticated peer can trigger stay bounded however it varies its
 * client ids, user names and source addresses. Who reads /metrics is configurable.
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { readdirSync } from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectDevice, metric, spawnGateway, startGateway, ts, writeConfigFile, TEST_PASSWORDS, TEST_SECRET, type GatewayProcess, type RunningGateway } from '../../helpers/gatewayHarness.js';
import { tempDir } from '../../helpers/tmp.js';

/** Opens `n` raw TCP connections (bounded time each); resolves with the sockets still open. */
async function flood(port: number, n: number, localAddress?: string): Promise<net.Socket[]> {
  const open: net.Socket[] = [];
  await Promise.all(
    Array.from({ length: n }, () =>
      new Promise<void>((resolve) => {
        const s = net.connect({ port, host: '127.0.0.1', localAddress });
        s.setTimeout(5000, () => s.destroy());
        s.once('connect', () => {
          open.push(s);
          resolve();
        });
        s.once('error', () => resolve());
        s.once('close', () => resolve());
      }),
    ),
  );
  return open;
}

async function deviceConnectsAndPublishes(mqttPort: number): Promise<boolean> {
  // The flood's sockets close asynchronously on the gateway's side; retry the device's connect
  // (bounded), as a real device's reconnect loop would.
  for (let i = 0; i < 50; i++) {
    const c = await connectDevice(`mqtt://127.0.0.1:${mqttPort}`, 'footfall/door-1', TEST_SECRET).catch(() => null);
    if (c) {
      await c.publishAsync('store/v1/dev/footfall/door-1/evt/count', JSON.stringify({ ts: ts(), in: 1, out: 0 }), { qos: 1 });
      await c.endAsync();
      return true;
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  return false;
}

describe('a flood of connections under ulimit -n 192 (child process)', () => {
  const tmp = tempDir('sgw-emfile-');
  afterAll(() => tmp.remove());

  it('caps below the descriptor limit: refusals counted, /metrics answers during the flood, a device connects after it', async () => {
    const file = await writeConfigFile(path.join(tmp.dir), {
      dataDir: path.join(tmp.dir, 'data-capped'),
      extra: { mqtt: { host: '127.0.0.1', port: 0, maxConnections: 100, connectRate: { perSecond: 1000, burst: 5000 } }, http: { host: '127.0.0.1', port: 0, maxConnections: 20 } },
    });
    const gw = await spawnGateway(file, {}, { nofile: 192 });
    let exit: string | null = null;
    gw.proc.once('exit', (code, sig) => (exit = `exited ${code ?? sig}`));
    try {
      const httpUrl = `http://127.0.0.1:${gw.httpPort}`;
      const httpSockets = await flood(gw.httpPort, 60);
      // Held until the gateway has seen them all (20 open, the rest dropped at accept).
      for (let i = 0; i < 50 && readdirSync(`/proc/${gw.proc.pid}/fd`).length < 60; i++) await new Promise((r) => setTimeout(r, 100));
      await new Promise((r) => setTimeout(r, 300));
      for (const s of httpSockets) s.destroy();
      const mqttSockets = await flood(gw.mqttPort, 300);
      // Every flood connection is accepted or refused before the scrape below is (one accept queue).
      let text = '';
      for (let i = 0; i < 50 && !/too_many_connections"} 200\b/.test(text); i++) {
        text = await fetch(`${httpUrl}/metrics`).then((r) => r.text(), () => '');
        if (!text) await new Promise((r) => setTimeout(r, 100));
      }
      expect(text).toMatch(/storegw_mqtt_connects_total\{result="too_many_connections"\} 200\b/);
      // Client sockets closing while the gateway accepts can free a slot: about 40 dropped.
      expect(Number(/storegw_http_connections_dropped_total (\d+)/.exec(text)?.[1])).toBeGreaterThanOrEqual(30);
      expect(exit).toBeNull();
      for (const s of mqttSockets) s.destroy();
      expect(await deviceConnectsAndPublishes(gw.mqttPort)).toBe(true);
      expect(exit).toBeNull();
    } finally {
      await gw.kill();
    }
  }, 90_000);

  it('lives through accept EMFILE with caps above the limit, and a device connects after the flood', async () => {
    const file = await writeConfigFile(tmp.dir, { dataDir: path.join(tmp.dir, 'data-emfile') });
    const gw = await spawnGateway(file, {}, { nofile: 192 });
    let exit: string | null = null;
    gw.proc.once('exit', (code, sig) => (exit = `exited ${code ?? sig}`));
    try {
      const sockets = [...(await flood(gw.mqttPort, 300)), ...(await flood(gw.httpPort, 100))];
      // Descriptors are exhausted now (libuv drops what it cannot accept); wait until the gateway
      // has caught up with its accept queue: its descriptor table stays full.
      const fds = (): number => readdirSync(`/proc/${gw.proc.pid}/fd`).length;
      for (let i = 0; i < 50 && fds() < 180; i++) await new Promise((r) => setTimeout(r, 100));
      expect(fds()).toBeGreaterThanOrEqual(180);
      expect(exit).toBeNull();
      for (const s of sockets) s.destroy();
      expect(await deviceConnectsAndPublishes(gw.mqttPort)).toBe(true);
      expect(exit).toBeNull();
    } finally {
      await gw.kill();
    }
  }, 90_000);
});

describe('log lines a peer can trigger are bounded (child process)', () => {
  const tmp = tempDir('sgw-logflood-');
  let gw: GatewayProcess;
  beforeAll(async () => {
    const file = await writeConfigFile(tmp.dir, { dataDir: path.join(tmp.dir, 'data') });
    gw = await spawnGateway(file);
  }, 30_000);
  afterAll(async () => {
    await gw.kill();
    tmp.remove();
  });

  it('writes a bounded number of lines for garbage CONNECTs from varying ids, users and addresses', async () => {
    const linesBefore = gw.output.length;
    const N = 600;
    for (let batch = 0; batch < N / 50; batch++) {
      await Promise.all(
        Array.from({ length: 50 }, (_, j) => {
          const i = batch * 50 + j;
          return new Promise<void>((resolve) => {
            const s = net.connect({ port: gw.mqttPort, host: '127.0.0.1', localAddress: `127.0.0.${2 + (i % 200)}` });
            const done = (): void => {
              s.destroy();
              resolve();
            };
            s.setTimeout(5000, done);
            s.on('error', done);
            s.on('close', done);
            s.on('data', done); // the CONNACK refusing it
            s.on('connect', () => s.write(i % 2 === 0 ? badPasswordConnect(`id-${i}`, `user-${i}`) : badProtocolConnect(`id-${i}`)));
          });
        }),
      );
    }
    // The gateway still serves, and its answer comes after every line above was written.
    const c = await connectDevice(`mqtt://127.0.0.1:${gw.mqttPort}`, 'footfall/door-1', TEST_SECRET);
    await c.endAsync();
    await new Promise((r) => setTimeout(r, 300));
    const lines = gw.output.slice(linesBefore).filter((l) => l.startsWith('{'));
    expect(gw.proc.exitCode).toBeNull();
    // 600 refusals of two kinds: a few dozen lines at most, plus the summaries.
    expect(lines.length).toBeLessThan(80);
    expect(await metric(`http://127.0.0.1:${gw.httpPort}`, 'storegw_mqtt_connects_total{result="unknown_user"}')).toBe(N / 2);
  }, 90_000);
});

/** An MQTT 3.1.1 CONNECT with a user name and password (both unknown). */
function badPasswordConnect(clientId: string, username: string): Buffer {
  const str = (s: string) => {
    const b = Buffer.from(s);
    return Buffer.concat([Buffer.from([b.length >> 8, b.length & 0xff]), b]);
  };
  const body = Buffer.concat([str('MQTT'), Buffer.from([4, 0xc2, 0, 30]), str(clientId), str(username), str('nope')]);
  return Buffer.concat([Buffer.from([0x10, body.length]), body]);
}

/** A CONNECT naming protocol level 9 (unsupported, [MQTT-3.1.2-2]). */
function badProtocolConnect(clientId: string): Buffer {
  const id = Buffer.from(clientId);
  const body = Buffer.concat([Buffer.from([0, 4]), Buffer.from('MQTT'), Buffer.from([9, 0x02, 0, 30, id.length >> 8, id.length & 0xff]), id]);
  return Buffer.concat([Buffer.from([0x10, body.length]), body]);
}

/** GET /metrics from a chosen local address, with an optional cookie. */
function getMetrics(port: number, localAddress: string, cookie?: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = http.get({ host: '127.0.0.1', port, path: '/metrics', localAddress, headers: cookie ? { cookie } : {} }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode ?? 0));
    });
    req.on('error', reject);
  });
}

async function login(httpUrl: string, user: keyof typeof TEST_PASSWORDS): Promise<string> {
  const res = await fetch(`${httpUrl}/api/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ username: user, password: TEST_PASSWORDS[user] }) });
  return res.headers.getSetCookie().find((c) => c.startsWith('sgw_session='))!.split(';')[0];
}

describe('who may read /metrics', () => {
  let g: RunningGateway;
  beforeAll(async () => {
    g = await startGateway({ extra: { http: { host: '127.0.0.1', port: 0, metrics: { allow: ['127.0.0.7', '10.1.2.0/24'] } } } });
  });
  afterAll(async () => g.stop());

  it('serves a listed address and logged-in admins; refuses others', async () => {
    expect(await getMetrics(g.gw.httpPort, '127.0.0.7')).toBe(200);
    expect(await getMetrics(g.gw.httpPort, '127.0.0.1')).toBe(403);
    const admin = await login(g.httpUrl, 'admin');
    const viewer = await login(g.httpUrl, 'viewer');
    expect(await getMetrics(g.gw.httpPort, '127.0.0.1', admin)).toBe(200);
    expect(await getMetrics(g.gw.httpPort, '127.0.0.1', viewer)).toBe(403);
  });
});

describe('/metrics by default', () => {
  let g: RunningGateway;
  beforeAll(async () => {
    g = await startGateway();
  });
  afterAll(async () => g.stop());

  it('serves loopback', async () => {
    expect(await getMetrics(g.gw.httpPort, '127.0.0.1')).toBe(200);
  });
});

describe("a listening server's error (in process)", () => {
  let g: RunningGateway;
  beforeAll(async () => {
    g = await startGateway();
  });
  afterAll(async () => g.stop());

  // libuv absorbs most accept EMFILEs itself (it closes the connection with a spare descriptor);
  // when its spare is gone, Node emits the error on the server. This emits what Node would: an
  // 'error' with no listener is thrown (the process dies), one with a listener is counted.
  it('is counted and logged; MQTT, HTTP and WebSocket servers keep serving', async () => {
    const emfile = (): NodeJS.ErrnoException => Object.assign(new Error('accept EMFILE'), { code: 'EMFILE', errno: -24, syscall: 'accept' });
    const mqttServer = (g.gw.broker as unknown as { server: net.Server }).server;
    expect(() => mqttServer.emit('error', emfile())).not.toThrow();
    expect(() => g.gw.http.server.emit('error', emfile())).not.toThrow();
    expect(() => g.gw.http.websocketServer.emit('error', emfile())).not.toThrow();
    expect(await metric(g.httpUrl, 'storegw_listener_errors_total{listener="mqtt",code="EMFILE"}')).toBe(1);
    expect(await metric(g.httpUrl, 'storegw_listener_errors_total{listener="http",code="EMFILE"}')).toBe(1);
    expect(await metric(g.httpUrl, 'storegw_listener_errors_total{listener="websocket",code="EMFILE"}')).toBe(1);
    expect(g.logs.filter((l) => l.msg === 'listener error; still listening').length).toBe(3);
    const c = await connectDevice(g.mqttUrl, 'footfall/door-1', TEST_SECRET);
    await c.publishAsync('store/v1/dev/footfall/door-1/evt/count', JSON.stringify({ ts: ts(), in: 1, out: 0 }), { qos: 1 });
    await c.endAsync();
  });
});

describe('TCP keepalive on device sockets', () => {
  let g: RunningGateway;
  beforeAll(async () => {
    g = await startGateway({ extra: { mqtt: { host: '127.0.0.1', port: 0, connectRate: { perSecond: 1000, burst: 5000 }, websocket: { enabled: true } } } });
  });
  afterAll(async () => g.stop());

  it('the kernel probes an accepted MQTT socket after 60 s idle (ss shows the keepalive timer)', async () => {
    const c = await connectDevice(g.mqttUrl, 'footfall/door-1', TEST_SECRET);
    const local = (c.stream as net.Socket).localPort;
    const { stdout } = await promisify(execFile)('ss', ['-tnoH', 'state', 'established', `( sport = :${g.gw.mqttPort} and dport = :${local} )`]);
    await c.endAsync();
    expect(stdout).toMatch(/timer:\(keepalive,(59|60)sec/);
  });

  it('and on a /mqtt WebSocket', async () => {
    const c = await connectDevice(`ws://127.0.0.1:${g.gw.httpPort}/mqtt`, 'footfall/door-1', TEST_SECRET);
    // The only connection on the HTTP port now.
    const { stdout } = await promisify(execFile)('ss', ['-tnoH', 'state', 'established', `( sport = :${g.gw.httpPort} )`]);
    expect(stdout.trim().split('\n')).toHaveLength(1);
    await c.endAsync();
    expect(stdout).toMatch(/timer:\(keepalive,(59|60)sec/);
  });
});

describe('log lines of bad HTTP requests (in process)', () => {
  let g: RunningGateway;
  beforeAll(async () => {
    g = await startGateway();
  });
  afterAll(async () => g.stop());

  it('stay bounded whatever the URL, and every bad request is still answered 400 and counted', async () => {
    const N = 200;
    for (let i = 0; i < N; i++) {
      const r = await fetch(`${g.httpUrl}/api/login?try=${i}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"username": ' });
      expect(r.status).toBe(400);
    }
    expect(await metric(g.httpUrl, 'storegw_http_bad_requests_total')).toBe(N);
    expect(g.logs.filter((l) => l.msg === 'bad request').length).toBeLessThanOrEqual(20);
  });
});

describe('a request body dribbled byte by byte', () => {
  let g: RunningGateway;
  beforeAll(async () => {
    g = await startGateway({ extra: { http: { host: '127.0.0.1', port: 0, requestTimeoutMs: 1000 } } });
  });
  afterAll(async () => g.stop());

  it('gets 408 and its connection closed after http.requestTimeoutMs, so it cannot hold a connection slot', async () => {
    const t0 = Date.now();
    const answer = await new Promise<string>((resolve) => {
      const s = net.connect({ port: g.gw.httpPort, host: '127.0.0.1' });
      let got = '';
      s.setTimeout(10_000, () => s.destroy());
      s.on('data', (d) => (got += d.toString('latin1')));
      s.on('close', () => resolve(got));
      s.on('error', () => undefined);
      s.write('POST /api/login HTTP/1.1\r\nHost: gw\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n{');
      const drip = setInterval(() => (s.destroyed ? clearInterval(drip) : s.write(' ')), 200);
    });
    expect(answer).toMatch(/^HTTP\/1\.1 408/);
    expect(Date.now() - t0).toBeLessThan(5000);
  });
});
