/**
 * Ops bench: the gateway as its own process (dist/storegw.js: run `node build.mjs` first),
 * the ops page's side played by this process over HTTP and SSE, devices over MQTT.
 *
 * live feed     a device's connect (online) / its clean disconnect (offline) here → the SSE `device`
 *               frame saying so, read by an open `/api/events` stream: what an open ops page waits.
 *               Devices connect one at a time, with `devices` of them configured.
 * commands      an attendant POSTs `tare` commands for a scale that is offline (each is written to
 *               commands.db with FULL sync before the 202); then the scale connects: reconnect →
 *               every pending command received, and → every one acked in the store (the device
 *               acks each at once); the detail API is polled every 20 ms for "no pending".
 * login         the first POST /api/login of a person: scrypt N=2^15 on purpose (a verified secret is
 *               memoized by its SHA-256, so later logins are cheap; one sample, so it is noisy).
 * A bench measures, it does not assert.
 */
import path from 'node:path';
import mqtt from 'mqtt';
import { spawnGateway, writeConfigFile, TEST_PASSWORDS, TEST_SECRET, type TestDevice } from '../helpers/gatewayHarness.js';
import { tempDir } from '../helpers/tmp.js';
import { login } from '../sim/hqFeeds.js';
import { Samples } from './stats.js';

export interface OpsBenchRow {
  bench: string;
  system: 'storegw';
  metric: string;
  value: number | null;
  unit: string;
}

const round = (x: number, d = 2) => (Number.isFinite(x) ? Math.round(x * 10 ** d) / 10 ** d : null);

/** An open `/api/events` stream: resolves waiters on `device` frames matching a predicate. */
async function openFeed(url: string, cookie: string): Promise<{ until: (username: string, online: boolean) => Promise<number>; close: () => void }> {
  const ctl = new AbortController();
  const res = await fetch(`${url}/api/events`, { headers: { cookie }, signal: ctl.signal });
  if (res.status !== 200 || !res.body) throw new Error(`bench ops: /api/events HTTP ${res.status}`);
  const waiters: { username: string; online: boolean; resolve: (t: number) => void }[] = [];
  const decoder = new TextDecoder();
  let buf = '';
  void (async () => {
    try {
      for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
        const t = performance.now();
        buf += decoder.decode(chunk, { stream: true });
        let i: number;
        while ((i = buf.indexOf('\n\n')) >= 0) {
          const frame = buf.slice(0, i);
          buf = buf.slice(i + 2);
          if (!frame.startsWith('event: device\n')) continue;
          const v = JSON.parse(frame.slice(frame.indexOf('data: ') + 6)) as { username: string; online: boolean };
          for (let k = waiters.length - 1; k >= 0; k--) {
            if (waiters[k].username === v.username && waiters[k].online === v.online) waiters.splice(k, 1)[0].resolve(t);
          }
        }
      }
    } catch {
      // aborted at the end
    }
  })();
  return {
    until: (username, online) => new Promise((resolve) => waiters.push({ username, online, resolve })),
    close: () => ctl.abort(),
  };
}

export async function benchOps(opts: { quick?: boolean; progress?: (s: string) => void } = {}): Promise<OpsBenchRow[]> {
  const say = opts.progress ?? (() => {});
  const devices = opts.quick ? 200 : 1000;
  const liveRounds = opts.quick ? 100 : 300;
  const commands = opts.quick ? 100 : 500;
  const bench = `ops-${devices}`;
  const rows: OpsBenchRow[] = [];
  const row = (metric: string, value: number | null, unit: string) => rows.push({ bench, system: 'storegw', metric, value, unit });

  const tmp = tempDir('sgw-bench-ops-');
  const list: TestDevice[] = [...Array.from({ length: devices }, (_, i) => ({ kind: 'footfall' as const, id: `door-${i + 1}` })), { kind: 'scale', id: 'sc-1' }];
  const file = await writeConfigFile(tmp.dir, { dataDir: path.join(tmp.dir, 'data'), devices: list, extra: { prices: { enabled: false } } });
  say(`ops: starting the gateway with ${devices + 1} devices`);
  const gw = await spawnGateway(file);
  const url = `http://127.0.0.1:${gw.httpPort}`;
  const mqttUrl = `mqtt://127.0.0.1:${gw.mqttPort}`;
  try {
    const tLogin = performance.now();
    const cookie = await login(url, 'attendant', TEST_PASSWORDS.attendant);
    row('first login of a person (scrypt N=2^15 verify)', round(performance.now() - tLogin), 'ms');

    // ---- live feed -------------------------------------------------------------------------------
    say(`ops: live feed, ${liveRounds} devices online then offline, one at a time`);
    const feed = await openFeed(url, cookie);
    const up = new Samples();
    const down = new Samples();
    for (let i = 1; i <= liveRounds; i++) {
      const username = `footfall/door-${i}`;
      const online = feed.until(username, true);
      const t0 = performance.now();
      const c = await mqtt.connectAsync(mqttUrl, { username, password: TEST_SECRET, reconnectPeriod: 0 });
      up.add((await online) - t0);
      const offline = feed.until(username, false);
      const t1 = performance.now();
      await c.endAsync();
      down.add((await offline) - t1);
    }
    feed.close();
    row('live feed: connect → SSE online p50', round(up.percentile(50)), 'ms');
    row('live feed: connect → SSE online p99', round(up.percentile(99)), 'ms');
    row('live feed: disconnect → SSE offline p50', round(down.percentile(50)), 'ms');
    row('live feed: disconnect → SSE offline p99', round(down.percentile(99)), 'ms');

    // ---- commands --------------------------------------------------------------------------------
    say(`ops: ${commands} tare commands to an offline scale, then it reconnects`);
    const post = new Samples();
    for (let i = 0; i < commands; i++) {
      const t0 = performance.now();
      const r = await fetch(`${url}/api/devices/scale/sc-1/commands`, { method: 'POST', headers: { cookie, 'content-type': 'application/json' }, body: JSON.stringify({ type: 'tare', data: {} }) });
      if (r.status !== 202) throw new Error(`bench ops: command POST HTTP ${r.status}: ${await r.text()}`);
      await r.arrayBuffer();
      post.add(performance.now() - t0);
    }
    row('command POST (recorded with FULL sync) p50', round(post.percentile(50)), 'ms');
    row('command POST (recorded with FULL sync) p99', round(post.percentile(99)), 'ms');

    let received = 0;
    let tAll = 0;
    const t0 = performance.now();
    const scale = await mqtt.connectAsync(mqttUrl, { username: 'scale/sc-1', password: TEST_SECRET, reconnectPeriod: 0 });
    scale.on('message', (_t, p) => {
      const cmd = JSON.parse(p.toString('utf8')) as { cmdId: string };
      if (++received === commands) tAll = performance.now();
      void scale.publishAsync('store/v1/dev/scale/sc-1/evt/ack', JSON.stringify({ ts: new Date().toISOString(), cmdId: cmd.cmdId, ok: true }), { qos: 1 });
    });
    await scale.subscribeAsync('store/v1/dev/scale/sc-1/cmd/#', { qos: 1 });
    // A direct device is re-sent once it shows it listens: its SUBSCRIBE above (a birth too, as devices do).
    await scale.publishAsync('store/v1/dev/scale/sc-1/birth', JSON.stringify({ model: 'bench', firmware: '1', capabilities: ['tare'] }), { qos: 1, retain: true });
    const deadline = performance.now() + 60_000;
    let tAcked = 0;
    while (performance.now() < deadline) {
      const d = (await (await fetch(`${url}/api/devices/scale/sc-1`, { headers: { cookie } })).json()) as { commands?: { pending: unknown[] } };
      if (received === commands && d.commands?.pending.length === 0) {
        tAcked = performance.now();
        break;
      }
      await new Promise((r) => setTimeout(r, 20));
    }
    await scale.endAsync();
    row('reconnect → all pending commands received', tAll ? round(tAll - t0) : null, 'ms');
    row('reconnect → all acked in the store (20 ms polling)', tAcked ? round(tAcked - t0) : null, 'ms');
    row('pending commands delivered per second on reconnect', tAll ? Math.round(commands / ((tAll - t0) / 1000)) : null, 'cmds/s');

  } finally {
    await gw.kill('SIGTERM');
    tmp.remove();
  }
  return rows;
}
