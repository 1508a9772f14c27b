/**
 * A hostile OpenEPaperLink AP over real HTTP and a real WebSocket: `/get_db` answers that are
 * huge, never end or trickle past the timeout, JSON nested thousands deep, tag reports for MACs
 * no label is mapped to, oversized frames and a flood of reports. Whatever comes, the client
 * stays bounded (body cap, whole-exchange timeout, frame cap), unknown tags are counted and never
 * published, statuses reach the gateway at most once per `statusEveryMs`, and the driver keeps
 * following the AP.
 */
import http from 'node:http';
import fc from 'fast-check';
import { WebSocketServer, type WebSocket } from 'ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MAX_BODY_BYTES, OeplApi } from '../../../firmware-bridge/devices/oepl/api.js';
import { OeplDriver } from '../../../firmware-bridge/devices/oepl/driver.js';
import { MAX_FRAME } from '../../../firmware-bridge/devices/oepl/messages.js';
import type { DeviceEvent } from '../../../firmware-bridge/devices/deviceDriver.js';

const SEED = 1617;
const MAC1 = '0000021EF2F2341B';
type Body = { kind: 'huge'; bytes: number } | { kind: 'endless' } | { kind: 'slow' } | { kind: 'deep'; depth: number } | { kind: 'bytes'; b: Uint8Array };

let body: Body = { kind: 'bytes', b: new Uint8Array() };
let server: http.Server;
let wss: WebSocketServer;
let url = '';
const sockets = new Set<WebSocket>();
const timers = new Set<NodeJS.Timeout>();

function answer(res: http.ServerResponse): void {
  res.on('error', () => undefined);
  const b = body;
  if (b.kind === 'huge') return void res.end(`{"tags":[],"pad":"${'x'.repeat(b.bytes)}"}`);
  if (b.kind === 'deep') return void res.end('{"tags":' + '['.repeat(b.depth) + ']'.repeat(b.depth) + '}');
  if (b.kind === 'bytes') return void res.end(Buffer.from(b.b));
  res.writeHead(200, { 'content-type': 'application/json' });
  res.write('{"tags":[');
  if (b.kind === 'endless') {
    const chunk = Buffer.alloc(64 * 1024, 0x20);
    const more = () => {
      while (!res.destroyed && res.write(chunk));
    };
    res.on('drain', more);
    return more();
  }
  // slow: one byte every 20 ms, forever (until the client gives up)
  const t = setInterval(() => (res.destroyed ? (clearInterval(t), timers.delete(t)) : res.write(' ')), 20);
  timers.add(t);
}

beforeAll(async () => {
  server = http.createServer((req, res) => {
    if (req.url?.startsWith('/get_db')) return answer(res);
    res.writeHead(404).end();
  });
  wss = new WebSocketServer({ server, path: '/ws' });
  wss.on('connection', (ws) => {
    sockets.add(ws);
    ws.on('close', () => sockets.delete(ws));
    ws.on('error', () => undefined);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  url = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
});
afterAll(async () => {
  for (const t of timers) clearInterval(t);
  for (const ws of sockets) ws.terminate();
  wss.close();
  server.closeAllConnections();
  await new Promise<void>((resolve) => server.close(() => resolve()));
});

function broadcast(frame: string): void {
  for (const ws of sockets) ws.send(frame);
}

function waitFor(driver: OeplDriver, pred: (e: DeviceEvent) => boolean, what: string, timeoutMs = 5000): Promise<DeviceEvent> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      driver.off('event', f);
      reject(new Error(`timed out waiting for ${what}`));
    }, timeoutMs);
    const f = (e: DeviceEvent) => {
      if (!pred(e)) return;
      clearTimeout(timer);
      driver.off('event', f);
      resolve(e);
    };
    driver.on('event', f);
  });
}

function waitOnline(driver: OeplDriver): Promise<void> {
  if (driver.online) return Promise.resolve();
  return new Promise((resolve) => driver.once('online', () => resolve()));
}

const tagFrame = (tags: { mac: string; batteryMv?: number }[]) => JSON.stringify({ tags: tags.map((t) => ({ mac: t.mac, hash: '', lastseen: 1, nextcheckin: 2, pending: 0, updatecount: 0, batteryMv: t.batteryMv ?? 2900 })) });

describe('oepl driver under a hostile AP', () => {
  it('bounds /get_db answers: too big, never ending, trickling or deeply nested (seeded)', async () => {
    const api = new OeplApi({ url, timeoutMs: 800 });
    // Warm fetch up first: its first use in a process loads undici, which may take the whole timeout.
    body = { kind: 'bytes', b: Buffer.from('{"tags":[]}') };
    expect((await api.readDb()).complete).toBe(true);
    const kinds: fc.Arbitrary<Body> = fc.oneof(
      fc.integer({ min: MAX_BODY_BYTES, max: 4 * MAX_BODY_BYTES }).map((bytes) => ({ kind: 'huge' as const, bytes })),
      fc.constant({ kind: 'endless' as const }),
      fc.constant({ kind: 'slow' as const }),
      fc.integer({ min: 17, max: 100_000 }).map((depth) => ({ kind: 'deep' as const, depth })),
      fc.uint8Array({ maxLength: 2000 }).map((b) => ({ kind: 'bytes' as const, b })),
    );
    await fc.assert(
      fc.asyncProperty(kinds, async (b) => {
        body = b;
        const before = api.oversized;
        const t0 = performance.now();
        const db = await api.readDb([MAC1]);
        // Never past the timeout by much (the timeout covers the body, not just the headers).
        expect(performance.now() - t0).toBeLessThan(3000);
        expect(db.tags.size).toBe(0);
        if (b.kind === 'huge' || b.kind === 'endless') expect(api.oversized).toBe(before + 1);
        if (b.kind !== 'bytes') expect(db.complete).toBe(false);
      }),
      { seed: SEED, numRuns: 25 },
    );
  });

  it('ignores and counts tag reports for MACs no label is mapped to; publishes only mapped labels (seeded)', async () => {
    body = { kind: 'bytes', b: Buffer.from('{"tags":[]}') };
    const driver = new OeplDriver({ id: 'ap-hostile', url, tagSleep: 'leave', statusEveryMs: 20, livenessMs: 10_000, tags: { L1: MAC1 } });
    const labels = new Set<string>();
    driver.on('event', (e) => {
      if (e.type === 'status') for (const l of e.data.labels as { labelId: string }[]) labels.add(l.labelId);
    });
    await driver.start();
    try {
      await waitOnline(driver);
      const mac = fc.stringMatching(/^[0-9A-F]{16}$/).filter((m) => m !== MAC1);
      const garbage = fc.oneof(
        fc.string({ maxLength: 200 }).filter((s) => !s.includes('{')),
        fc.integer({ min: 17, max: 20_000 }).map((d) => '['.repeat(d) + ']'.repeat(d)),
        fc.integer({ min: 17, max: 5_000 }).map((d) => '{"tags":' + '['.repeat(d)),
        fc.json().filter((j) => !j.includes('"tags"')),
      );
      const frame = fc.oneof(
        fc.array(mac, { minLength: 1, maxLength: 5 }).map((macs) => ({ text: tagFrame(macs.map((m) => ({ mac: m }))), unknown: macs.length })),
        garbage.map((text) => ({ text, unknown: 0 })),
      );
      let run = 0;
      await fc.assert(
        fc.asyncProperty(fc.array(frame, { maxLength: 30 }), async (frames) => {
          const marker = 1000 + (run++ % 9000);
          const before = driver.unknownTags;
          for (const f of frames) broadcast(f.text);
          // The mapped tag's report after the rest: once its status is out, every frame before it was read.
          broadcast(tagFrame([{ mac: MAC1, batteryMv: marker }]));
          await waitFor(driver, (e) => e.type === 'status' && (e.data.labels as { batteryMv?: number }[]).some((l) => l.batteryMv === marker), `status ${marker}`);
          expect(driver.unknownTags - before).toBe(frames.reduce((n, f) => n + f.unknown, 0));
          expect([...labels]).toEqual(['L1']);
          expect(driver.online).toBe(true);
        }),
        { seed: SEED, numRuns: 40 },
      );
    } finally {
      await driver.stop();
    }
  });

  it('coalesces a flood of tag reports into at most one status per statusEveryMs', async () => {
    const driver = new OeplDriver({ id: 'ap-flood', url, tagSleep: 'leave', statusEveryMs: 100, livenessMs: 10_000, tags: { L1: MAC1 } });
    const statusAt: number[] = [];
    driver.on('event', (e) => {
      if (e.type === 'status') statusAt.push(performance.now());
    });
    await driver.start();
    try {
      await waitOnline(driver);
      const t0 = performance.now();
      for (let i = 0; i < 5000; i++) broadcast(tagFrame([{ mac: MAC1, batteryMv: 2000 + (i % 1000) }]));
      broadcast(tagFrame([{ mac: MAC1, batteryMv: 3999 }]));
      await waitFor(driver, (e) => e.type === 'status' && (e.data.labels as { batteryMv?: number }[]).some((l) => l.batteryMv === 3999), 'the last report');
      const elapsed = performance.now() - t0;
      const events = statusAt.filter((t) => t >= t0).length;
      expect(events).toBeLessThanOrEqual(Math.ceil(elapsed / 100) + 1);
      expect(events).toBeLessThan(100);
    } finally {
      await driver.stop();
    }
  });

  it('refuses a frame over the cap before buffering it, and follows the AP again', async () => {
    const driver = new OeplDriver({ id: 'ap-big-frame', url, tagSleep: 'leave', statusEveryMs: 20, livenessMs: 10_000, tags: { L1: MAC1 }, reconnect: { initialMs: 20, maxMs: 50, factor: 2 } });
    await driver.start();
    try {
      await waitOnline(driver);
      const down = new Promise<void>((resolve) => driver.once('offline', () => resolve()));
      broadcast(`{"logMsg":"${'x'.repeat(MAX_FRAME)}"}`);
      await down;
      await waitOnline(driver);
      broadcast(tagFrame([{ mac: MAC1, batteryMv: 2345 }]));
      await waitFor(driver, (e) => e.type === 'status' && (e.data.labels as { batteryMv?: number }[]).some((l) => l.batteryMv === 2345), 'a status after reconnecting');
      expect(driver.stats.reconnects).toBeGreaterThanOrEqual(1);
    } finally {
      await driver.stop();
    }
  });
});
