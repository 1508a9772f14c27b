/**
 * `make demo` as a newcomer would run it, headless, watched for over three minutes of the store's
 * time (the store looked fine in its first seconds, then its ESL access points fell off at their
 * first status round, the payment terminals, the light and the scanner went stale, kiosk 1 called
 * for help the whole time, and Ctrl-C ended in a stack trace). The demo runs on a clock TIME_SCALE
 * times faster (`--time-scale`: every check-in, status round and price change, and the gateway's
 * staleness limits alike), so 24 s of watching at 10x spans every device's staleness limit and
 * several price changes. `make demo-soak` (DEMO_SOAK=1) watches the real-time demo for the full
 * three minutes, which also covers the timers the scale leaves alone (MQTT keep-alive).
 * Checked: every device stays online at every look, labels current,
 * a purchase at a kiosk, batches at HQ, no help call nobody made, no session rewritten by repeated
 * reads, memory, the log files the demo names; then SIGINT to the process group (what a terminal's
 * Ctrl-C does) exits 0 without a stack trace and leaves nothing behind. Ports are ephemeral through
 * the STOREGW_* overrides and the serial ptys are in a folder of the run's own, so this test and a
 * developer's `make demo` can run at the same time.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import mqtt from 'mqtt';
import WebSocket from 'ws';
import { freePort } from '../helpers/ports.js';
import { tempDir } from '../helpers/tmp.js';
import { gtinOf } from '../sim/hqFeeds.js';
import type { CartView } from '../../gateway/protocol/schemas/kiosk.js';

const SOAK = process.env.DEMO_SOAK === '1';
/** How much faster the demo's clock runs than the wall clock. */
const TIME_SCALE = SOAK ? 1 : 10;
/**
 * How long the running store is watched, from the moment every device is first online: 240 s of
 * the store's time, past the longest staleness limit (ESL access points, 180 s).
 */
const WATCH_MS = SOAK ? 185_000 : 240_000 / TIME_SCALE;
/** A look at the device list every 20 s of the store's time while watching (health is computed when asked). */
const LOOK_EVERY_MS = SOAK ? 10_000 : 20_000 / TIME_SCALE;
const KINDS = ['esl', 'footfall', 'kiosk', 'light', 'payment', 'printer', 'rfid', 'scale', 'scanner'];

const tmp = tempDir('sgw-demo-');
let demo: ChildProcess | null = null;
afterAll(async () => {
  // The demo runs in its own process group. A run that failed half-way is stopped as Ctrl-C would
  // (so it removes its temp folders), and killed with the gateway, Mosquitto and socat if it hangs.
  const pid = demo?.pid;
  if (pid && demo!.exitCode === null && demo!.signalCode === null) {
    const gone = new Promise((r) => demo!.once('exit', r));
    const signal = (sig: NodeJS.Signals) => {
      try {
        process.kill(-pid, sig);
      } catch {
        // already gone
      }
    };
    signal('SIGINT');
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([gone, new Promise((r) => (timer = setTimeout(r, 10_000)))]);
    clearTimeout(timer);
    signal('SIGKILL');
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

function pgrep(args: string[]): string[] {
  try {
    return execFileSync('pgrep', args, { encoding: 'utf8' })
      .split('\n')
      .filter((l) => l && !l.includes('pgrep'));
  } catch {
    return []; // pgrep exits 1 when nothing matches
  }
}

/** A kiosk page's view of one kiosk: every cart version it is sent. */
function watchKiosk(httpPort: number, kioskId: string): { carts: CartView[]; ws: WebSocket; opened: Promise<void> } {
  const ws = new WebSocket(`ws://127.0.0.1:${httpPort}/ws/kiosk`);
  const carts: CartView[] = [];
  ws.on('message', (m) => {
    const msg = JSON.parse(m.toString()) as { type: string };
    if (msg.type === 'cart') carts.push(msg as CartView);
  });
  const opened = new Promise<void>((r) => ws.once('open', () => r())).then(() => ws.send(JSON.stringify({ type: 'hello', kioskId, token: 'demo-kiosk-token' })));
  return { carts, ws, opened };
}

/** A help call, an attendant request or a blocked cart that no shopper and no test caused. */
const phantom = (c: CartView) => c.helpCalled || c.requests.length > 0 || c.phase === 'needsAttendant';

describe('make demo, headless', () => {
  it('keeps a living store for four minutes of store time (a 10x clock; three real minutes with DEMO_SOAK=1) and stops cleanly on Ctrl-C', async () => {
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
    // detached: its own process group, as a shell gives a job; Ctrl-C goes to the whole group.
    demo = spawn(process.execPath, ['dist/demo.js', '--config', 'config/demo.yaml', '--time-scale', String(TIME_SCALE)], { env, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
    const pgid = demo.pid!;
    let out = '';
    demo.stdout!.on('data', (d: Buffer) => (out += d.toString()));
    demo.stderr!.on('data', (d: Buffer) => (out += d.toString()));
    const exited = new Promise<number | null>((r) => demo!.once('exit', (code) => r(code)));
    await until('the demo to say it runs', 90_000, async () => (out.includes('storegw demo store is running') ? true : null));

    // The logs go to the files the demo named at the start.
    const logDir = path.join(dataDir, 'logs');
    const [gatewayLog, bridgeLog] = [path.join(logDir, 'gateway.log'), path.join(logDir, 'bridge.log')];
    expect(out).toContain(`gateway ${gatewayLog}`);
    expect(out).toContain(`bridge  ${bridgeLog}`);
    expect(out.indexOf(gatewayLog)).toBeLessThan(out.indexOf('[1/5]'));
    const ptyDir = /ptys are in (\S+) /.exec(out)?.[1] ?? '';
    expect(ptyDir.startsWith(path.join(tmpdir(), 'storegw-demo-pty-'))).toBe(true);
    expect(readdirSync(ptyDir).sort()).toEqual(['k1-bagging', 'k1-bagging.sim', 'k1-basket', 'k1-basket.sim', 'k1-produce', 'k1-produce.sim']);
    // On the faster clock the gateway runs on a scaled copy of the config, in a folder of its own.
    const scaledConfig = /time scale \S+: .*\(config (\S+)\)/.exec(out)?.[1] ?? null;
    if (TIME_SCALE !== 1) expect(scaledConfig !== null && existsSync(scaledConfig)).toBe(true);

    // HQ side: batches arrive.
    const hq = await mqtt.connectAsync(`mqtt://127.0.0.1:${hqPort}`, { reconnectPeriod: 0 });
    let batches = 0;
    hq.on('message', () => batches++);
    await hq.subscribeAsync('hq/v1/store/demo-store/batch', { qos: 1 });

    const http = `http://127.0.0.1:${httpPort}`;
    const login = await fetch(`${http}/api/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ username: 'admin', password: 'demo-admin' }) });
    expect(login.status).toBe(200);
    const cookie = (login.headers.get('set-cookie') ?? '').split(';')[0];
    const devices = async () => ((await (await fetch(`${http}/api/devices`, { headers: { cookie } })).json()) as { devices: { kind: string; health: string; username: string }[] }).devices;
    const syncReport = async () => (await (await fetch(`${http}/api/prices/sync`, { headers: { cookie } })).json()) as { versions: Record<string, number>; labels: { total: number; stale: number; acked: number } };

    // Both kiosks as their pages see them, from the start: kiosk 1 has the RFID basket reader.
    const k1 = watchKiosk(httpPort, 'k1');
    const k2 = watchKiosk(httpPort, 'k2');
    await Promise.all([k1.opened, k2.opened]);

    // Every device online: MQTT-native sims, and the bridge's serial (socat), HID and GPIO devices.
    const all = await until('every device online', 60_000, async () => {
      const list = await devices();
      lastSeen = list.map((d) => `${d.username}:${d.health}`);
      return list.every((d) => d.health === 'online') ? list : null;
    });
    expect([...new Set(all.map((d) => d.kind))].sort()).toEqual(KINDS);
    const watchStart = Date.now();

    // The signed HQ feeds reached every label (2,000 over two APs at a fixed radio rate).
    const first = await until('all labels current', 120_000, async () => {
      const s = await syncReport();
      lastSeen = s.labels;
      return s.labels.total === 2000 && s.labels.stale === 0 ? s : null;
    });
    expect(first.labels.acked).toBe(2000);

    // A purchase at kiosk 2 (payment terminal only): scan eggs, pay, receipt.
    await until('the first k2 cart', 10_000, async () => (k2.carts.length > 0 ? true : null));
    k2.ws.send(JSON.stringify({ type: 'scan', code: gtinOf(5) }));
    await until('a line in the cart', 10_000, async () => (k2.carts.at(-1)!.lines.length === 1 ? true : null));
    k2.ws.send(JSON.stringify({ type: 'pay' }));
    const receipt = await until('the receipt', 30_000, async () => k2.carts.at(-1)?.receipt ?? null);
    expect(receipt.total).toBe(k2.carts.at(-1)!.total);
    expect(receipt.total).toBeGreaterThan(0);
    // The eggs came with the opening stock (24) and the bakery's delivery (12): one sold leaves 35,
    // and no catalog item is out of stock (none below zero from a sale without stock).
    const stockOf = async (gtin: string) => ((await (await fetch(`${http}/api/stock/items/${gtin}`, { headers: { cookie } })).json()) as { item: { onHand: number } }).item.onHand;
    await until('the sale in stock', 10_000, async () => ((await stockOf(gtinOf(5))) === 35 ? true : null));
    expect(((await (await fetch(`${http}/api/stock/lists`, { headers: { cookie } })).json()) as { out: unknown[] }).out).toEqual([]);
    await until('a batch at HQ', 60_000, async () => (batches > 0 ? true : null));

    // Kiosk 1's basket holds catalog items: a cart, priced, nobody called.
    const k1Cart = await until('kiosk 1 cart from its basket reader', 30_000, async () => (k1.carts.at(-1)?.lines.length ? k1.carts.at(-1)! : null));
    expect(k1Cart.lines.map((l) => l.qty).reduce((a, b) => a + b, 0)).toBe(3);
    const k1VersionsBefore = k1.carts.length;

    // Watch: every device stays online at every look, until three minutes of store time have passed.
    const notOnline: string[] = [];
    while (Date.now() - watchStart < WATCH_MS) {
      await new Promise((r) => setTimeout(r, Math.min(LOOK_EVERY_MS, WATCH_MS - (Date.now() - watchStart))));
      for (const d of await devices()) if (d.health !== 'online') notOnline.push(`${Math.round((Date.now() - watchStart) / 1000)} s ${d.username}: ${d.health}`);
    }
    expect(notOnline).toEqual([]);

    // Labels current after three minutes of HQ price changes (one a minute of store time).
    const later = await until('all labels current after the price changes', 60_000, async () => {
      const s = await syncReport();
      lastSeen = s.labels;
      return s.labels.stale === 0 && s.labels.acked === 2000 ? s : null;
    });
    expect(later.versions['prices/store']).toBeGreaterThan(first.versions['prices/store']);

    // No help call nobody made, at any version either kiosk was sent; kiosk 1's basket reader (15
    // reads a second) and its scales (10 weights a second each) did not rewrite its session.
    expect(k1.carts.filter(phantom).map((c) => c.version)).toEqual([]);
    expect(k2.carts.filter(phantom).map((c) => c.version)).toEqual([]);
    expect(k1.carts.length - k1VersionsBefore).toBeLessThan(20);
    k1.ws.close();
    k2.ws.close();

    // More batches came while watching; the gateway's memory stays that of a store box.
    const batchesAtEnd = batches;
    expect(batchesAtEnd).toBeGreaterThan(1);
    await hq.endAsync();
    const metrics = await (await fetch(`${http}/metrics`)).text();
    const rss = Number(/^storegw_process_process_resident_memory_bytes (\d+)/m.exec(metrics)?.[1]);
    expect(rss).toBeGreaterThan(0);
    expect(rss).toBeLessThan(400 * 1024 * 1024);
    expect(metrics).not.toMatch(/^storegw_protocol_errors_total\{reason="oversized"\}/m); // the ESL status rounds fit

    // The log files hold the gateway's and the bridge's pino lines.
    expect(readFileSync(gatewayLog, 'utf8')).toMatch(/"name":"storegw".*"msg":"MQTT listening"/);
    expect(readFileSync(bridgeLog, 'utf8')).toMatch(/"msg":"connected to the gateway"/);

    // Ctrl-C: SIGINT to the whole process group, as a terminal sends it.
    const mosquittoDirs = () => readdirSync(tmpdir()).filter((d) => d.startsWith('mosq-') && readFileSafe(path.join(tmpdir(), d, 'mosquitto.conf')).includes(`listener ${hqPort} `));
    expect(mosquittoDirs()).toHaveLength(1);
    const t0 = Date.now();
    process.kill(-pgid, 'SIGINT');
    expect(await exited, out.slice(-3000)).toBe(0);
    expect(Date.now() - t0).toBeLessThan(8000);
    expect(out).toContain('demo: stopped');
    expect(out).not.toMatch(/^\s+at /m); // no stack trace
    expect(out, out.slice(-3000)).not.toMatch(/Error|Unhandled|exited unexpectedly|stopping .*: (failed|not done)/); // every part stopped cleanly and in time
    expect(pgrep(['-g', String(pgid)])).toEqual([]); // nothing of the group left: gateway, Mosquitto, socat
    expect(pgrep(['-af', 'bridge-demo.yaml'])).toEqual([]);
    expect(pgrep(['-af', ptyDir])).toEqual([]); // socat pairs
    for (const port of [mqttPort, httpPort, hqPort]) expect(await listening(port), `port ${port}`).toBe(false);
    expect(mosquittoDirs()).toEqual([]); // HQ's temp folder
    expect(existsSync(ptyDir)).toBe(false);
    if (scaledConfig) expect(existsSync(path.dirname(scaledConfig))).toBe(false);
  }, SOAK ? 420_000 : 240_000);
});

function readFileSafe(file: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch {
    return '';
  }
}
