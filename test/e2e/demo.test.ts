/**
 * `make demo` as a newcomer would run it, headless for about half a minute (issue 9): every device
 * kind online, the HQ price feed reaches every label, a purchase completes at
 * a kiosk, HQ receives batches, and Ctrl-C (SIGINT) leaves no process behind. Ports are ephemeral
 * through the STOREGW_* overrides; the serial ptys live under /tmp/storegw-demo (one demo at a time).
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import net from 'node:net';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import mqtt from 'mqtt';
import WebSocket from 'ws';
import { freePort } from '../helpers/ports.js';
import { tempDir } from '../helpers/tmp.js';
import { gtinOf } from '../sim/hqFeeds.js';
import type { CartView } from '../../gateway/protocol/schemas/kiosk.js';

const tmp = tempDir('sgw-demo-');
let demo: ChildProcess | null = null;
afterAll(() => {
  // The demo runs in its own process group: a failed run takes the gateway, Mosquitto, the bridge
  // and the socat pairs down with it instead of leaving them on the fixed pty paths.
  if (demo?.pid && demo.exitCode === null && demo.signalCode === null) {
    try {
      process.kill(-demo.pid, 'SIGKILL');
    } catch {
      // already gone
    }
  }
  tmp.remove();
});

let lastSeen: unknown = null;
async function until<T>(what: string, timeoutMs: number, probe: () => Promise<T | null>): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await probe().catch(() => null);
    if (v !== null) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}; last: ${JSON.stringify(lastSeen)}`);
    await new Promise((r) => setTimeout(r, 250)); // a poll of a running store: there is no event to await
  }
}

function listening(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.connect({ port, host: '127.0.0.1' }, () => {
      s.destroy();
      resolve(true);
    });
    s.on('error', () => resolve(false));
  });
}

function processesOf(marker: string): string[] {
  try {
    return execFileSync('pgrep', ['-af', marker], { encoding: 'utf8' })
      .split('\n')
      .filter((l) => l && !l.includes('pgrep'));
  } catch {
    return []; // pgrep exits 1 when nothing matches
  }
}

describe('make demo, headless', () => {
  it('runs a living store and stops cleanly on Ctrl-C', async () => {
    const [mqttPort, httpPort, hqPort] = [await freePort(), await freePort(), await freePort()];
    const dataDir = path.join(tmp.dir, 'data');
    const env = {
      ...process.env,
      STOREGW_MQTT_PORT: String(mqttPort),
      STOREGW_HTTP_PORT: String(httpPort),
      STOREGW_HQ_URL: `mqtt://127.0.0.1:${hqPort}`,
      STOREGW_DATA_DIR: dataDir,
      STOREGW_BRIDGE_MQTT_URL: `mqtt://127.0.0.1:${mqttPort}`,
    };
    demo = spawn(process.execPath, ['dist/demo.js', '--config', 'config/demo.yaml'], { env, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
    let out = '';
    demo.stdout!.on('data', (d: Buffer) => (out += d.toString()));
    demo.stderr!.on('data', (d: Buffer) => (out += d.toString()));
    const exited = new Promise<number | null>((r) => demo!.once('exit', (code) => r(code)));
    await until('the demo to say it runs', 60_000, async () => (out.includes('storegw demo store is running') ? true : null));

    // HQ side: batches arrive.
    const hq = await mqtt.connectAsync(`mqtt://127.0.0.1:${hqPort}`, { reconnectPeriod: 0 });
    let batches = 0;
    hq.on('message', () => batches++);
    await hq.subscribeAsync('hq/v1/store/demo-store/batch', { qos: 1 });

    const http = `http://127.0.0.1:${httpPort}`;
    const login = await fetch(`${http}/api/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ username: 'admin', password: 'demo-admin' }) });
    expect(login.status).toBe(200);
    const cookie = (login.headers.get('set-cookie') ?? '').split(';')[0];

    // Every device kind online: MQTT-native sims, and the bridge's serial (socat), HID and GPIO devices.
    const kindsOnline = await until('every device kind online', 45_000, async () => {
      const r = (await (await fetch(`${http}/api/devices`, { headers: { cookie } })).json()) as { devices: { kind: string; health: string; username: string }[] };
      const online = new Set(r.devices.filter((d) => d.health === 'online').map((d) => d.kind));
      lastSeen = r.devices.map((d) => `${d.username}:${d.health}`);
      const want = ['esl', 'scale', 'scanner', 'rfid', 'footfall', 'light', 'payment', 'kiosk'];
      return want.every((k) => online.has(k)) ? [...online].sort() : null;
    });
    expect(kindsOnline).toEqual(['esl', 'footfall', 'kiosk', 'light', 'payment', 'rfid', 'scale', 'scanner']);

    // The signed HQ feeds reached every label (2,000 over two APs at a fixed radio rate).
    const sync = await until('all labels current', 90_000, async () => {
      const s = (await (await fetch(`${http}/api/prices/sync`, { headers: { cookie } })).json()) as { labels: { total: number; stale: number; acked: number } };
      lastSeen = s.labels;
      return s.labels.total === 2000 && s.labels.stale === 0 ? s.labels : null;
    });
    expect(sync.acked).toBe(2000);

    // A purchase at kiosk 2 (payment terminal only): scan eggs, pay, receipt.
    const ws = new WebSocket(`ws://127.0.0.1:${httpPort}/ws/kiosk`);
    const carts: CartView[] = [];
    ws.on('message', (m) => {
      const msg = JSON.parse(m.toString()) as { type: string };
      if (msg.type === 'cart') carts.push(msg as CartView);
    });
    await new Promise<void>((r) => ws.once('open', () => r()));
    ws.send(JSON.stringify({ type: 'hello', kioskId: 'k2', token: 'demo-kiosk-token' }));
    await until('the first cart', 10_000, async () => (carts.length > 0 ? true : null));
    ws.send(JSON.stringify({ type: 'scan', code: gtinOf(5) }));
    await until('a line in the cart', 10_000, async () => (carts.at(-1)!.lines.length === 1 ? true : null));
    ws.send(JSON.stringify({ type: 'pay' }));
    const receipt = await until('the receipt', 20_000, async () => carts.at(-1)?.receipt ?? null);
    expect(receipt.total).toBe(carts.at(-1)!.total);
    expect(receipt.total).toBeGreaterThan(0);
    ws.close();

    await until('a batch at HQ', 30_000, async () => (batches > 0 ? true : null));
    expect(batches).toBeGreaterThan(0);
    await hq.endAsync();

    // Ctrl-C: everything stops within 5 s and nothing is left behind.
    const t0 = Date.now();
    demo.kill('SIGINT');
    expect(await exited).toBe(0);
    expect(Date.now() - t0).toBeLessThan(5000);
    expect(processesOf('bridge-demo.yaml')).toEqual([]); // the bridge
    expect(processesOf('/tmp/storegw-demo/pty')).toEqual([]); // socat pairs
    for (const port of [mqttPort, httpPort, hqPort]) expect(await listening(port), `port ${port}`).toBe(false); // gateway, HQ Mosquitto
  }, 180_000);
});
