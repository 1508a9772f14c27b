/**
 * MQTT over WebSocket (`/mqtt` on the HTTP port) gets the doors of the TCP listener: the frame guard
 * sees every WebSocket message before aedes does, the first packet must be CONNECT, connects are
 * rate-limited per address and count against the connection cap, a browser page from another
 * origin is refused at the upgrade, and the door is shut unless the config opens it.
 */
import net from 'node:net';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { connectDevice, metric, spawnGateway, startGateway, ts, writeConfigFile, TEST_SECRET, type GatewayProcess, type RunningGateway } from '../../helpers/gatewayHarness.js';
import { tempDir } from '../../helpers/tmp.js';

const ORIGIN = 'http://ops.store.test';

/** The harness's mqtt section plus `more` (extra replaces the whole section). */
function mqttWith(more: Record<string, unknown>, connectRate = { perSecond: 1000, burst: 5000 }): Record<string, unknown> {
  return { mqtt: { host: '127.0.0.1', port: 0, maxPacketBytes: 65536, connectRate, ...more } };
}

/** The status of the upgrade: 101 when the WebSocket opened, else the HTTP status of the refusal. */
function upgrade(url: string, headers: Record<string, string> = {}): Promise<{ status: number; ws: WebSocket | null }> {
  return new Promise((resolve) => {
    const ws = new WebSocket(url, 'mqtt', { headers });
    ws.once('open', () => resolve({ status: 101, ws }));
    ws.once('unexpected-response', (_req, res) => {
      resolve({ status: res.statusCode ?? 0, ws: null });
      res.resume();
      ws.terminate();
    });
    ws.once('error', () => resolve({ status: 0, ws: null }));
  });
}

/** Resolves when the WebSocket is closed. */
function closed(ws: WebSocket): Promise<void> {
  return new Promise((resolve) => (ws.readyState === WebSocket.CLOSED ? resolve() : ws.once('close', () => resolve())));
}

describe('/mqtt is off unless the config turns it on', () => {
  let g: RunningGateway;
  beforeAll(async () => {
    g = await startGateway();
  });
  afterAll(async () => g.stop());

  it('refuses the upgrade by default', async () => {
    const r = await upgrade(`ws://127.0.0.1:${g.gw.httpPort}/mqtt`);
    expect(r.status).toBe(404);
  });
});

describe('a WebSocket upgrade to a path without a WebSocket route', () => {
  let g: RunningGateway;
  beforeAll(async () => {
    g = await startGateway();
  });
  afterAll(async () => g.stop());

  it('is refused with 404 before the upgrade, and writes no log line per attempt', async () => {
    for (let i = 0; i < 30; i++) expect((await upgrade(`ws://127.0.0.1:${g.gw.httpPort}/healthz?${i}`)).status).toBe(404);
    expect(g.logs.filter((l) => String(l.msg).includes('websocket')).length).toBe(0);
  });
});

describe('/mqtt when turned on', () => {
  let g: RunningGateway;
  let url: string;
  beforeAll(async () => {
    g = await startGateway({ extra: mqttWith({ websocket: { enabled: true, allowedOrigins: [ORIGIN] }, maxConnections: 3 }) });
    url = `ws://127.0.0.1:${g.gw.httpPort}/mqtt`;
  });
  afterAll(async () => g.stop());

  it('lets a listed origin and a client without Origin in; refuses a page from another origin with 403, counted', async () => {
    const listed = await connectDevice(url, 'footfall/door-1', TEST_SECRET, { wsOptions: { headers: { origin: ORIGIN } } });
    await listed.publishAsync('store/v1/dev/footfall/door-1/evt/count', JSON.stringify({ ts: ts(), in: 1, out: 0 }), { qos: 1 });
    await listed.endAsync();
    const bare = await connectDevice(url, 'footfall/door-1', TEST_SECRET);
    await bare.endAsync();
    expect((await upgrade(url, { origin: 'http://evil.example' })).status).toBe(403);
    expect((await upgrade(url, { origin: 'null' })).status).toBe(403);
    expect(await metric(g.httpUrl, 'storegw_mqtt_connects_total{result="origin_refused"}')).toBe(2);
    expect(g.gw.registry.get('footfall', 'door-1')!.events).toBe(1);
  });

  it('closes a WebSocket whose first packet is not CONNECT, counted', async () => {
    const before = await metric(g.httpUrl, 'storegw_protocol_errors_total{reason="not_connect"}');
    const { ws } = await upgrade(url);
    // A PUBLISH (0x30) before any CONNECT [MQTT-3.1.0-1].
    ws!.send(Buffer.from([0x30, 0x05, 0x00, 0x01, 0x61, 0x68, 0x69]));
    await closed(ws!);
    expect(await metric(g.httpUrl, 'storegw_protocol_errors_total{reason="not_connect"}')).toBe(before + 1);
  });

  it('closes a WebSocket message larger than mqtt.maxPacketBytes (the ws maxPayload), counted', async () => {
    const before = await metric(g.httpUrl, 'storegw_protocol_errors_total{reason="websocket"}');
    const { ws } = await upgrade(url);
    ws!.on('error', () => undefined);
    ws!.send(Buffer.alloc(70_000, 0x10));
    await closed(ws!);
    expect(await metric(g.httpUrl, 'storegw_protocol_errors_total{reason="websocket"}')).toBe(before + 1);
  });

  it('counts WebSocket connections against mqtt.maxConnections together with TCP', async () => {
    const a = await connectDevice(url, 'footfall/door-1', TEST_SECRET);
    const b = await connectDevice(g.mqttUrl, 'footfall/door-2', TEST_SECRET);
    const c = await connectDevice(url, 'scale/scale-1', TEST_SECRET);
    const refusedWs = await upgrade(url);
    expect(refusedWs.status).toBe(503);
    // The TCP door is full too: closed before any MQTT byte is read.
    const tcpClosedWithoutData = await new Promise<boolean>((resolve) => {
      const s = net.connect({ port: g.gw.mqttPort, host: '127.0.0.1' });
      let data = false;
      s.on('data', () => (data = true));
      s.on('close', () => resolve(!data));
      s.on('error', () => undefined);
    });
    expect(tcpClosedWithoutData).toBe(true);
    expect(await metric(g.httpUrl, 'storegw_mqtt_connects_total{result="too_many_connections"}')).toBe(2);
    await Promise.all([a.endAsync(), b.endAsync(), c.endAsync()]);
  });
});

describe('/mqtt connect rate limit per address', () => {
  let g: RunningGateway;
  beforeAll(async () => {
    g = await startGateway({ extra: mqttWith({ websocket: { enabled: true } }, { perSecond: 0.1, burst: 2 }) });
  });
  afterAll(async () => g.stop());

  it('shares the per-address bucket with TCP and refuses the upgrade with 429', async () => {
    const c = await connectDevice(g.mqttUrl, 'footfall/door-1', TEST_SECRET);
    await c.endAsync();
    const d = await connectDevice(`ws://127.0.0.1:${g.gw.httpPort}/mqtt`, 'footfall/door-1', TEST_SECRET);
    await d.endAsync();
    expect((await upgrade(`ws://127.0.0.1:${g.gw.httpPort}/mqtt`)).status).toBe(429);
    expect(await metric(g.httpUrl, 'storegw_mqtt_connects_total{result="rate_limited"}')).toBe(1);
  });
});

describe('a packet header claiming 200 MB over /mqtt (child process)', () => {
  const tmp = tempDir('sgw-ws200-');
  let gw: GatewayProcess;
  beforeAll(async () => {
    const file = await writeConfigFile(tmp.dir, { dataDir: path.join(tmp.dir, 'data'), extra: mqttWith({ websocket: { enabled: true } }) });
    gw = await spawnGateway(file);
  });
  afterAll(async () => {
    await gw.kill();
    tmp.remove();
  });

  it('is closed at the header: bytes accepted before the close stay bounded, memory does not grow', async () => {
    const httpUrl = `http://127.0.0.1:${gw.httpPort}`;
    const rssBefore = await metric(httpUrl, 'storegw_process_resident_memory_bytes');
    const { ws } = await upgrade(`ws://127.0.0.1:${gw.httpPort}/mqtt`);
    const done = closed(ws!);
    let isClosed = false;
    void done.then(() => (isClosed = true));
    // CONNECT whose Remaining Length says 200 MB (varint 0x80 0x84 0xAF 0x5F), then body bytes in
    // messages each under the WebSocket maxPayload, as fast as the socket takes them.
    const header = Buffer.from([0x10, 0x80, 0x84, 0xaf, 0x5f]);
    let sent = 0;
    const chunk = Buffer.alloc(60_000, 0x41);
    const CAP = 64 * 1024 * 1024;
    await new Promise<void>((resolve) => ws!.send(header, () => resolve()));
    while (!isClosed && sent < CAP) {
      const ok = await new Promise<boolean>((resolve) => ws!.send(chunk, (err) => resolve(!err)));
      if (!ok) break; // the socket is gone: this chunk was not taken
      sent += chunk.length;
    }
    await Promise.race([done, new Promise((r) => setTimeout(r, 10_000))]);
    expect(isClosed).toBe(true);
    // Whatever the kernel buffers took on loopback, far below the 64 MiB the old gateway swallowed.
    expect(sent).toBeLessThan(16 * 1024 * 1024);
    expect(await metric(httpUrl, 'storegw_protocol_errors_total{reason="oversized"}')).toBe(1);
    const rssAfter = await metric(httpUrl, 'storegw_process_resident_memory_bytes');
    expect(rssAfter - rssBefore).toBeLessThan(20 * 1024 * 1024);
    expect(gw.proc.exitCode).toBeNull();
  }, 60_000);
});
