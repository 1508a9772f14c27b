/**
 * Prices bench: a real HQ Mosquitto publishes signed feeds, the real gateway
 * runs as its own process (dist/storegw.js: run `node build.mjs` first), and `APS` simulated ESL
 * access points (test/sim/eslSim.ts) answer from this process. Progress is read from
 * `GET /api/prices/sync`, polled every 20 ms (a bench measures; it does not assert).
 *
 * Phase A — the gateway alone (the sims' radio is unlimited, no loss):
 *   dispatch     a full reprice of all labels: HQ publish → feed applied → every label's cmd/show
 *                received by its AP (the time the gateway needs to put the change on the AP topics)
 *   acks         label acks correlated per second (first ack → 0 stale), gateway-bound
 *   tracking     SQLite bytes per outstanding label (label_track b-tree, dbstat) and V8 heap per label
 *   ingest       PUBACK latency of a device publishing QoS 1 every 10 ms during the fan-out
 * Phase B — a fixed radio rate and command loss (what a store sees):
 *   last-ack     HQ publish → 0 stale, beside the radio's floor (labels per AP / rate), so the
 *                gateway's share is visible
 */
import mqtt from 'mqtt';
import { startMosquitto } from '../helpers/mosquitto.js';
import path from 'node:path';
import { spawnGateway, writeConfigFile, TEST_PASSWORDS, TEST_SECRET } from '../helpers/gatewayHarness.js';
import { tempDir } from '../helpers/tmp.js';
import { PriceStore } from '../../gateway/prices/store.js';
import type { SyncReport } from '../../gateway/prices/prices.js';
import { createHqSigner } from '../sim/hqSigner.js';
import { connectHqFeeds, login, storeFeeds } from '../sim/hqFeeds.js';
import { EslApSim } from '../sim/eslSim.js';
import { Samples } from './stats.js';
import { LabelTracker } from '../../gateway/prices/labels.js';
import { createHash } from 'node:crypto';
import v8 from 'node:v8';
import vm from 'node:vm';

export interface BenchPricesOptions {
  labels?: number;
  aps?: number;
  /** Phase B radio rate, labels per second per AP (fixed). Default 200. */
  radioRate?: number;
  /** Phase B command loss. Default 0.02. */
  loss?: number;
  quick?: boolean;
  progress?: (s: string) => void;
}

export interface PricesBenchRow {
  bench: string;
  system: 'storegw';
  metric: string;
  value: number | null;
  unit: string;
}

/**
 * Heap bytes per outstanding label of the tracker alone: `labels` labels with a target, sent in
 * commands of 500, measured between two full GCs (gc exposed at run time through V8 flags).
 */
function trackerHeapPerLabel(labels: number): number | null {
  v8.setFlagsFromString('--expose-gc');
  const gc = vm.runInNewContext('gc') as (() => void) | undefined;
  if (typeof gc !== 'function') return null;
  gc();
  const h0 = process.memoryUsage().heapUsed;
  const t = new LabelTracker({ ackTimeoutMs: 60_000, maxAttempts: 5 });
  const ids = Array.from({ length: labels }, (_, i) => `L${String(i + 1).padStart(6, '0')}`);
  for (const id of ids) t.setTarget(id, createHash('sha256').update(id).digest('hex').slice(0, 16), `ap-${(Number(id.slice(1)) % 20) + 1}`, 0);
  let n = 0;
  for (const [ap, list] of t.due(0, () => true)) for (let i = 0; i < list.length; i += 500) t.markSent(`c${n++}`, ap, list.slice(i, i + 500).map((l) => ({ labelId: l.labelId, hash: l.target! })), 0);
  t.takeDirty();
  gc();
  const h1 = process.memoryUsage().heapUsed;
  const per = Math.round((h1 - h0) / labels);
  void t.counts();
  return per;
}

const round = (x: number, d = 2) => Math.round(x * 10 ** d) / 10 ** d;

export async function benchPrices(opts: BenchPricesOptions = {}): Promise<PricesBenchRow[]> {
  const labels = opts.labels ?? (opts.quick ? 12_000 : 60_000);
  const aps = opts.aps ?? 20;
  const radioRate = opts.radioRate ?? 200;
  const loss = opts.loss ?? 0.02;
  const say = opts.progress ?? (() => undefined);
  const bench = `prices-${labels}`;
  const rows: PricesBenchRow[] = [];
  const row = (metric: string, value: number | null, unit: string) => rows.push({ bench, system: 'storegw', metric, value, unit });

  const tmp = tempDir('sgw-bench-prices-');
  const hq = await startMosquitto();
  const signer = createHqSigner({ kid: 'hq-bench' });
  const store = storeFeeds(labels, aps);
  const dataDir = path.join(tmp.dir, 'data');
  const file = await writeConfigFile(tmp.dir, {
    dataDir,
    devices: [...Array.from({ length: aps }, (_, i) => ({ kind: 'esl' as const, id: `ap-${i + 1}` })), { kind: 'footfall' as const, id: 'door-1' }],
    maxPacketBytes: 256 * 1024,
    extra: {
      hq: { url: hq.url, publicKeys: [{ kid: signer.kid, pem: signer.publicKeyPem }] },
      esl: { ackTimeoutMs: 3000, retryInitialMs: 200, retryMaxMs: 2000, maxAttempts: 20, tickMs: 100 },
      // info: spawnGateway waits for the "storegw ready" line.
      log: { level: 'info' },
    },
  });
  say('prices: starting the gateway');
  const gw = await spawnGateway(file);
  const mqttUrl = `mqtt://127.0.0.1:${gw.mqttPort}`;
  const httpUrl = `http://127.0.0.1:${gw.httpPort}`;
  const sims: EslApSim[] = [];
  const feeds = await connectHqFeeds(hq.url, 'test-store', signer);
  try {
    const cookie = await login(httpUrl, 'viewer', TEST_PASSWORDS.viewer);
    const sync = async () => (await (await fetch(`${httpUrl}/api/prices/sync`, { headers: { cookie } })).json()) as SyncReport;
    /** Polls the sync report every 20 ms until `pred`; resolves with the time it first held. */
    const poll = async (pred: (s: SyncReport) => boolean, timeoutMs: number, what: string): Promise<number> => {
      const deadline = performance.now() + timeoutMs;
      for (;;) {
        const s = await sync();
        if (pred(s)) return performance.now();
        if (performance.now() > deadline) throw new Error(`bench: timed out waiting for ${what}: ${JSON.stringify(s.labels)}`);
        await new Promise((r) => setTimeout(r, 20));
      }
    };
    for (let i = 0; i < aps; i++) {
      const ap = `ap-${i + 1}`;
      const s = new EslApSim({ url: mqttUrl, apId: ap, password: TEST_SECRET, labels: store.labelsByAp.get(ap)!, radioRate: 1e9, ackDelayMs: 0, seed: i + 1 });
      await s.connect();
      sims.push(s);
    }
    const allCurrent = (s: SyncReport) => s.labels.stale === 0 && s.labels.total === labels;

    say(`prices: first push of ${labels} labels over ${aps} APs`);
    await feeds.publish('catalog', 'store', 1, store.catalog);
    await feeds.publish('prices', 'store', 1, store.prices);
    await feeds.publish('labels', 'store', 1, store.labels);
    await poll(allCurrent, 120_000, 'first push');

    // ---- Phase A: gateway-bound ------------------------------------------------------------
    let commanded = 0;
    let lastCommandAt = 0;
    let firstCommandAt = 0;
    const onCmd = (c: { labels: unknown[] }) => {
      if (firstCommandAt === 0) firstCommandAt = performance.now();
      commanded += c.labels.length;
      if (commanded >= labels && lastCommandAt === 0) lastCommandAt = performance.now();
    };
    for (const s of sims) s.on('command', onCmd);

    // A device publishing QoS 1 every 10 ms during the fan-out: its PUBACK latency.
    const dev = await mqtt.connectAsync(mqttUrl, { username: 'footfall/door-1', password: TEST_SECRET, reconnectPeriod: 0 });
    const lat = new Samples();
    let devRunning = true;
    const devLoop = (async () => {
      while (devRunning) {
        const t = performance.now();
        await dev.publishAsync('store/v1/dev/footfall/door-1/evt/count', JSON.stringify({ ts: new Date().toISOString(), in: 1, out: 0 }), { qos: 1 });
        lat.add(performance.now() - t);
        await new Promise((r) => setTimeout(r, 10));
      }
    })();

    say('prices: phase A, full reprice with an unlimited radio');
    const repriced = { ...store.prices, prices: store.prices.prices.map((p) => ({ ...p, price: p.price + 10 })) };
    const t0 = performance.now();
    await feeds.publish('prices', 'store', 2, repriced);
    const tApplied = await poll((s) => s.versions['prices/store'] === 2, 60_000, 'v2 applied');
    const tDone = await poll(allCurrent, 120_000, 'phase A converged');
    for (const s of sims) s.off('command', onCmd);
    devRunning = false;
    await devLoop;
    await dev.endAsync();

    row('feed apply (HQ publish → version visible, 60k prices)', round((tApplied - t0) / 1000, 3), 's');
    row('dispatch (HQ publish → all cmd/show at the APs)', lastCommandAt ? round((lastCommandAt - t0) / 1000, 3) : null, 's');
    row('dispatch (first → last cmd/show at the APs)', lastCommandAt ? round((lastCommandAt - firstCommandAt) / 1000, 3) : null, 's');
    row('acks correlated (first cmd/show → 0 stale, radio unlimited)', Math.round(labels / ((tDone - firstCommandAt) / 1000)), 'acks/s');
    row('HQ publish → 0 stale, unlimited radio', round((tDone - t0) / 1000, 3), 's');
    row('device PUBACK p50 during fan-out', round(lat.percentile(50), 2), 'ms');
    row('device PUBACK p99 during fan-out', round(lat.percentile(99), 2), 'ms');
    row('device PUBACK max during fan-out', round(lat.percentile(100), 2), 'ms');
    row('tracking state in memory per outstanding label', trackerHeapPerLabel(labels), 'B');

    // ---- Phase B: fixed radio rate, command loss ---------------------------------------------
    say(`prices: phase B, radio ${radioRate} labels/s per AP, ${loss * 100}% command loss`);
    for (const s of sims) s.setRadio({ radioRate, commandLossRate: loss });
    const sent0 = (await sync()).commands.labelsSent;
    const v3 = { ...store.prices, prices: store.prices.prices.map((p) => ({ ...p, price: p.price + 20 })) };
    const t1 = performance.now();
    await feeds.publish('prices', 'store', 3, v3);
    const tB = await poll((s) => s.versions['prices/store'] === 3 && allCurrent(s), 600_000, 'phase B converged');
    const floor = Math.max(...[...store.labelsByAp.values()].map((l) => l.length)) / radioRate;
    row(`HQ publish → last ack, radio ${radioRate}/s per AP, ${loss * 100}% loss`, round((tB - t1) / 1000, 2), 's');
    row('radio floor (labels per AP / radio rate)', round(floor, 2), 's');
    row('gateway + loss share (last ack − radio floor)', round((tB - t1) / 1000 - floor, 2), 's');
    row('label transfers per changed label (phase B, incl. retries)', round(((await sync()).commands.labelsSent - sent0) / labels, 3), 'transfers');
  } finally {
    for (const s of sims) await s.disconnect();
    await feeds.close();
    await gw.kill('SIGTERM');
  }
  // The tracking table as the gateway left it (read after it stopped; WAL checkpointed on close).
  const ps = new PriceStore(path.join(dataDir, 'prices.db'));
  await ps.start();
  const fp = await ps.trackingFootprint();
  await ps.stop();
  row('tracking state in SQLite per label', Math.round(fp.bytes / Math.max(fp.rows, 1)), 'B');
  await hq.stop();
  tmp.remove();
  return rows;
}
