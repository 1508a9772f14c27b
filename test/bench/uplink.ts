/**
 * Uplink bench, rows for bench-results.json:
 * 1. `uplink-store-day`: a simulated day of the demo store (storeDay.ts) published over real MQTT
 *    into an in-process Gateway on an injected wall/monotonic clock, HQ a real Mosquitto behind a
 *    WAN gate that stays cut all day (so the outbox holds the day's backlog), then opened: device
 *    payload bytes in vs compressed bytes HQ received, overall and per class; every exact record
 *    checked at HQ (a miss is a failure row, never hidden); batch compression (JSON lines vs bytes
 *    sent, HqSim's totals); outbox bytes after the day's compaction, ×7 as an extrapolated week.
 * 2. `uplink-drain`: the gateway as a child process (dist/storegw.js), a backlog of exact records
 *    built while the WAN is cut, then the gate opens and records/s at HQ are measured until the
 *    backlog is there while a load generator (4 mqtt.js clients, QoS 1) publishes 10,000 events/s
 *    of new exact records (scanner scans); then how fast HQ catches up with the arrivals.
 * In (1) the gateway runs in this process (the injected clock), sharing its core with the device
 * publishers and the HQ simulator; in (2) the load generator and HQ's counter share this process.
 */
import os from 'node:os';
import { generateKeyPairSync } from 'node:crypto';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { Writable } from 'node:stream';
import { parse, stringify } from 'yaml';
import mqtt, { type MqttClient } from 'mqtt';
import { buildConfig, connectDevice, GATEWAY_BIN, spawnGateway, TEST_SECRET, type GatewayProcess } from '../helpers/gatewayHarness.js';
import { startMosquitto, type Mosquitto } from '../helpers/mosquitto.js';
import { tempDir } from '../helpers/tmp.js';
import { HqSim } from '../sim/hqSim.js';
import { wanGate, type WanGate } from '../integration/gateway/uplinkWan.js';
import { parseConfig } from '../../gateway/config.js';
import { createLogger } from '../../gateway/log.js';
import { Gateway } from '../../gateway/gateway.js';
import { decodeBatch } from '../../gateway/protocol/envelopes.js';
import { StoreDay, STEP_MS, type Pub, type StoreDevice } from './storeDay.js';

export interface BenchRow {
  bench: string;
  system: 'storegw';
  metric: string;
  value: number | null;
  unit: string;
}

export interface BenchUplinkOptions {
  quick?: boolean;
  progress?: (s: string) => void;
}

const CLASSES = ['exact', 'aggregate', 'presence', 'latest', 'sampled'] as const;
/** Store-time steps (5 s each) published per round trip. */
const GROUP = 3;
const T0 = Date.parse('2026-11-23T00:00:00.000Z');
const round = (v: number, d = 3): number | null => (Number.isFinite(v) ? Math.round(v * 10 ** d) / 10 ** d : null);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const load = (): string => os.loadavg().map((l) => l.toFixed(2)).join(' ');

interface Env {
  gw: Gateway;
  url: string;
  stop(): Promise<void>;
}

async function startGw(o: { dir: string; storeId: string; hqUrl: string; devices: StoreDevice[]; now?: () => number; mono?: () => number; quotaBytes: number }): Promise<Env> {
  const raw = await buildConfig({
    dataDir: o.dir,
    devices: o.devices.map((d) => ({ kind: d.kind as never, id: d.id })),
    extra: {
      // A store always has HQ's feed key; the bench signs no feed, any Ed25519 key will do.
      hq: { url: o.hqUrl, publicKeys: [{ kid: 'bench', pem: generateKeyPairSync('ed25519').publicKey.export({ type: 'spki', format: 'pem' }).toString() }] },
      prices: { enabled: false },
      uplink: { backoffInitialMs: 50, backoffMaxMs: 300, checkIntervalMs: 600_000, minFreeDiskBytes: 0 },
      // The demo store's compaction is the default; only the timer is taken away (the bench runs passes on its clock).
      compaction: { intervalMs: 3600_000 },
    },
  });
  const res = parseConfig(stringify({ ...raw, storeId: o.storeId, data: { dir: o.dir, quotaBytes: o.quotaBytes } }), {});
  if (!res.ok) throw new Error(res.errors.join('; '));
  const sink = new Writable({ write: (_c, _e, cb) => cb() });
  const gw = new Gateway({ config: res.config, log: createLogger({ level: 'error', stream: sink }), now: o.now, mono: o.mono });
  await gw.start();
  return { gw, url: `mqtt://127.0.0.1:${gw.mqttPort}`, stop: () => gw.stop() };
}

/** The demo store's devices (kind, id) from config/demo.yaml; every one gets a device secret here. */
function demoDevices(): StoreDevice[] {
  const y = parse(readFileSync(path.resolve('config/demo.yaml'), 'utf8')) as { devices: StoreDevice[] };
  return y.devices.map((d) => ({ kind: d.kind, id: d.id }));
}

/** Bytes HQ received per class (a batch is one class) and its JSON-lines bytes. */
async function classBytes(url: string): Promise<{ bytes: Record<string, number>; raw: Record<string, number>; stop(): Promise<void> }> {
  const bytes: Record<string, number> = {};
  const raw: Record<string, number> = {};
  const c = await mqtt.connectAsync(url, { protocolVersion: 5, clean: true, reconnectPeriod: 200 });
  c.on('message', (_t, payload) => {
    const d = decodeBatch(payload);
    if (!d.ok || d.records.length === 0) return;
    const cls = d.records[0].class;
    bytes[cls] = (bytes[cls] ?? 0) + payload.length;
    raw[cls] = (raw[cls] ?? 0) + d.rawBytes;
  });
  await c.subscribeAsync('hq/v1/store/+/batch', { qos: 1 });
  return { bytes, raw, stop: () => c.endAsync(true) };
}

async function storeDayBench(quick: boolean, progress: (s: string) => void): Promise<BenchRow[]> {
  const bench = 'uplink-store-day';
  const STORE = 'demo-store';
  const steps = quick ? (6 * 3600_000) / STEP_MS : (24 * 3600_000) / STEP_MS;
  const startStep = quick ? (10 * 3600_000) / STEP_MS : 0; // quick: 10:00–16:00 of the day
  const span = quick ? '6 h (10:00-16:00) of the demo store day' : 'the demo store day (24 h)';
  const tmp = tempDir('sgw-bench-uplink-');
  const devices = demoDevices();
  let hqBroker: Mosquitto | null = null;
  let hq: HqSim | null = null;
  let wan: WanGate | null = null;
  let env: Env | null = null;
  let cb: Awaited<ReturnType<typeof classBytes>> | null = null;
  const clients = new Map<string, MqttClient>();
  const rows: BenchRow[] = [];
  const row = (metric: string, value: number | null, unit: string): void => void rows.push({ bench, system: 'storegw', metric, value: value === null ? null : round(value), unit });
  try {
    hqBroker = await startMosquitto();
    hq = new HqSim({ url: hqBroker.url });
    await hq.start();
    cb = await classBytes(hqBroker.url);
    wan = await wanGate(hqBroker.port, false);
    let mono = startStep * STEP_MS;
    env = await startGw({ dir: tmp.dir, storeId: STORE, hqUrl: wan.url, devices, now: () => T0 + mono, mono: () => mono, quotaBytes: 1024 ** 3 });
    const gw = env.gw;
    for (const d of devices) clients.set(`${d.kind}/${d.id}`, await connectDevice(env.url, `${d.kind}/${d.id}`, TEST_SECRET));
    await gw.uplink.checkNow();
    const usedBefore = gw.uplink.quota.status.usedBytes;
    let committed = 0;
    gw.onEvent((e) => void (e.deviceId !== 'storegw' && committed++));
    const day = new StoreDay(devices, T0);
    const inBytes: Record<string, number> = {};
    let events = 0;
    const tDay = performance.now();
    // One round trip per 15 s of store time: the devices' 5 s reports of those 15 s arrive as one burst
    // stamped with the burst's gateway time (a footfall minute, a 30 s RFID visit gap and a 5 min
    // window are whole multiples of it), and every publish is PUBACKed before the clock moves on.
    for (let s = startStep; s < startStep + steps; s += GROUP) {
      mono = s * STEP_MS;
      const pubs: Pub[] = [];
      for (let k = 0; k < GROUP; k++) pubs.push(...day.step(s + k));
      const acks: Promise<unknown>[] = [];
      for (const p of pubs) {
        inBytes[p.cls] = (inBytes[p.cls] ?? 0) + Buffer.byteLength(p.payload);
        acks.push(clients.get(p.dev)!.publishAsync(p.topic, p.payload, { qos: 1 }));
      }
      events += pubs.length;
      await Promise.all(acks);
      if ((s + GROUP) % 720 === 0) {
        mono = (s + GROUP) * STEP_MS;
        await gw.uplink.checkNow(); // the hourly pass: compaction and quota on the bench's clock
        if ((s + GROUP) % 4320 === 0) progress(`uplink store day: ${new Date(T0 + mono).toISOString().slice(11, 16)} simulated, ${events} events, ${((performance.now() - tDay) / 1000).toFixed(1)} s`);
      }
    }
    // Close the last window, compact it: the outbox now holds the day's backlog.
    mono = (startStep + steps) * STEP_MS + 3600_000;
    await gw.uplink.checkNow();
    const daySec = (performance.now() - tDay) / 1000;
    const usedAfter = gw.uplink.quota.status.usedBytes;
    const backlog = await gw.uplink.store.summary();
    progress(`uplink store day: ${events} events in ${daySec.toFixed(1)} s (${Math.round(events / daySec)}/s); backlog ${backlog.total} rows ${JSON.stringify(backlog.rows)}, outbox ${usedAfter} B (before ${usedBefore} B); load ${load()}`);

    // The WAN returns: drain to zero.
    const d0 = performance.now();
    wan.open();
    const deadline = Date.now() + 60_000;
    while ((await gw.uplink.store.summary()).total > 0 && Date.now() < deadline) await sleep(50);
    const left = (await gw.uplink.store.summary()).total;
    const drainSec = (performance.now() - d0) / 1000;
    await sleep(300); // the last PUBLISH reaches the sims
    const t = hq.totals(STORE);

    // Exact records: every one sent, at HQ once, in order.
    const atHq = hq.records(STORE, 'exact').filter((r) => r.deviceId !== 'storegw');
    const have = new Map<string, number>();
    for (const r of atHq) {
      const k = `${r.kind}/${r.deviceId}/${r.type}|${JSON.stringify(r.data)}`;
      have.set(k, (have.get(k) ?? 0) + 1);
    }
    let delivered = 0;
    for (const e of day.exactSent) {
      const k = `${e.key}|${JSON.stringify(JSON.parse(e.payload))}`;
      const n = have.get(k) ?? 0;
      if (n > 0) {
        delivered++;
        have.set(k, n - 1);
      }
    }
    const exactSent = day.exactSent.length;
    const ff = hq.footfall(STORE);
    const totalIn = Object.values(inBytes).reduce((a, b) => a + b, 0);
    progress(
      `uplink store day: drained in ${drainSec.toFixed(1)} s (${left} rows left); HQ ${t.records} records, ${t.batches} batches, ${t.bytes} B sent, ${t.rawBytes} B JSON lines, ${t.duplicates} duplicates; ` +
        `exact ${delivered}/${exactSent} delivered, out of order ${hq.exactOutOfOrder(STORE)}; footfall sent ${JSON.stringify(day.footfall)} HQ ${JSON.stringify(ff)}`,
    );

    row(`compaction ratio (device payload bytes in / bytes sent to HQ), ${span}`, t.bytes > 0 ? totalIn / t.bytes : NaN, 'x');
    for (const c of CLASSES) {
      const sent = cb.bytes[c] ?? 0;
      row(`compaction ratio ${c} (payload bytes in / bytes sent)`, sent > 0 ? (inBytes[c] ?? 0) / sent : NaN, 'x');
      row(`payload bytes in ${c}`, inBytes[c] ?? 0, 'B');
      row(`bytes sent ${c}`, sent, 'B');
    }
    const noEsl = totalIn - (inBytes.latest ?? 0);
    const sentNoLatest = t.bytes - (cb.bytes.latest ?? 0);
    row('compaction ratio without the latest class (ESL status, heartbeats)', sentNoLatest > 0 ? noEsl / sentNoLatest : NaN, 'x');
    row('device events in', events, 'events');
    row('records at HQ', t.records, 'records');
    row('exact records sent by devices', exactSent, 'records');
    row('exact records delivered', exactSent > 0 ? (100 * delivered) / exactSent : NaN, '%');
    if (delivered !== exactSent) row('FAILURE exact records missing at HQ', exactSent - delivered, 'records');
    if (hq.exactOutOfOrder(STORE) > 0) row('FAILURE exact records out of order at HQ', hq.exactOutOfOrder(STORE), 'records');
    if (ff.in !== day.footfall.in || ff.out !== day.footfall.out) row('FAILURE footfall sum differs at HQ (in)', ff.in - day.footfall.in, 'visitors');
    if (left > 0) row('FAILURE outbox rows left after the drain', left, 'rows');
    // A rejected event would count as bytes in but never reach the outbox: the ratio would flatter.
    if (committed !== events) row('FAILURE device events not committed by the gateway (rejected?)', events - committed, 'events');
    row('HQ duplicates (after dedupe)', t.duplicates, 'records');
    // The gateway's own figure (GET /api/uplink): its numerator counts only compacted classes' payloads.
    const own = (await gw.uplink.status()).compactionRatio;
    row("gateway's own compactionRatio (non-exact payload bytes in / all bytes sent)", own ?? NaN, 'x');
    row('batch compression (JSON lines / bytes sent)', t.bytes > 0 ? t.rawBytes / t.bytes : NaN, 'x');
    const usedDay = (usedAfter - usedBefore) * (quick ? 4 : 1);
    row(`outbox bytes per day after compaction${quick ? ' (6 h measured ×4)' : ''}`, usedDay / 1048576, 'MiB');
    row('week backlog (extrapolated: outbox bytes per day ×7)', (usedDay * 7) / 1024 ** 3, 'GiB (extrapolated)');
    row('day backlog drain time', drainSec, 's');
    row('simulated day run time', daySec, 's');
    row('load average (1 min) at end', os.loadavg()[0], 'load');
    return rows;
  } finally {
    for (const c of clients.values()) await c.endAsync(true).catch(() => undefined);
    await env?.stop().catch(() => undefined);
    await wan?.close().catch(() => undefined);
    await cb?.stop().catch(() => undefined);
    await hq?.stop().catch(() => undefined);
    await hqBroker?.stop().catch(() => undefined);
    tmp.remove();
  }
}

async function drainBench(quick: boolean, progress: (s: string) => void): Promise<BenchRow[]> {
  const bench = 'uplink-drain';
  const STORE = 'drain-store';
  const BACKLOG = quick ? 40_000 : 150_000;
  const RATE = 10_000;
  if (!existsSync(GATEWAY_BIN)) throw new Error(`${GATEWAY_BIN} is missing: run \`node build.mjs\` first`);
  const tmp = tempDir('sgw-bench-drain-');
  const fillers = Array.from({ length: 4 }, (_, i) => ({ kind: 'payment', id: `fill-${i}` }));
  const loaders = Array.from({ length: 4 }, (_, i) => ({ kind: 'scanner', id: `load-${i}` }));
  let hqBroker: Mosquitto | null = null;
  let wan: WanGate | null = null;
  let child: GatewayProcess | null = null;
  let hqClient: MqttClient | null = null;
  const clients: MqttClient[] = [];
  const rows: BenchRow[] = [];
  const row = (metric: string, value: number | null, unit: string): void => void rows.push({ bench, system: 'storegw', metric, value: value === null ? null : round(value), unit });
  let stopLoad = false;
  try {
    hqBroker = await startMosquitto();
    // HQ: counts the records of each kind it receives (first copy per seq), and when.
    const hqSeqs = new Set<number>();
    const atHq = { fill: 0, load: 0, other: 0, duplicates: 0, first: 0, outOfOrder: 0, maxSeq: 0 };
    hqClient = await mqtt.connectAsync(hqBroker.url, { protocolVersion: 5, clean: true, reconnectPeriod: 200 });
    hqClient.on('message', (_t, payload) => {
      const d = decodeBatch(payload);
      if (!d.ok) return;
      atHq.first ||= performance.now();
      for (const r of d.records) {
        if (hqSeqs.has(r.seq)) {
          atHq.duplicates++;
          continue;
        }
        hqSeqs.add(r.seq);
        if (r.class === 'exact' && r.seq < atHq.maxSeq) atHq.outOfOrder++;
        atHq.maxSeq = Math.max(atHq.maxSeq, r.seq);
        if (r.deviceId.startsWith('fill-')) atHq.fill++;
        else if (r.deviceId.startsWith('load-')) atHq.load++;
        else atHq.other++;
      }
    });
    await hqClient.subscribeAsync('hq/v1/store/+/batch', { qos: 1 });
    wan = await wanGate(hqBroker.port, false);

    // The gateway as its own process (the load generator and HQ stay in this one).
    const raw = await buildConfig({
      dataDir: tmp.dir,
      devices: [...fillers, ...loaders].map((d) => ({ kind: d.kind as never, id: d.id })),
      extra: {
        hq: { url: wan.url, publicKeys: [{ kid: 'bench', pem: generateKeyPairSync('ed25519').publicKey.export({ type: 'spki', format: 'pem' }).toString() }] },
        prices: { enabled: false },
        uplink: { backoffInitialMs: 50, backoffMaxMs: 300, minFreeDiskBytes: 0 },
      },
    });
    const file = path.join(tmp.dir, 'storegw.yaml');
    writeFileSync(file, stringify({ ...raw, log: { level: 'info' }, storeId: STORE, data: { dir: tmp.dir, quotaBytes: 4 * 1024 ** 3 } }), { mode: 0o600 });
    child = await spawnGateway(file);
    const url = `mqtt://127.0.0.1:${child.mqttPort}`;
    const fill = await Promise.all(fillers.map((d) => connectDevice(url, `${d.kind}/${d.id}`, TEST_SECRET)));
    const loadClients = await Promise.all(loaders.map((d) => connectDevice(url, `${d.kind}/${d.id}`, TEST_SECRET)));
    clients.push(...fill, ...loadClients);

    // Fill the backlog while the WAN is cut: 4 publishers, 200 in flight each, every one PUBACKed (committed).
    const tf = performance.now();
    let n = 0;
    await Promise.all(
      fill.map(async (c, ci) => {
        const inflight = new Set<Promise<unknown>>();
        for (let i = ci; i < BACKLOG; i += fill.length) {
          const p = c.publishAsync(`store/v1/dev/payment/fill-${ci}/evt/result`, `{"ts":"${new Date().toISOString()}","requestId":"r-${ci}-${i}","status":"approved","amount":${100 + (i % 9000)},"currency":"EUR","authCode":"${(i * 7919) % 1000000}"}`, { qos: 1 });
          inflight.add(p);
          void p.finally(() => inflight.delete(p));
          n++;
          if (inflight.size >= 200) await Promise.race(inflight);
        }
        await Promise.all(inflight);
      }),
    );
    const fillSec = (performance.now() - tf) / 1000;
    progress(`uplink drain: backlog of ${n} exact records published in ${fillSec.toFixed(1)} s (${Math.round(n / fillSec)}/s) into the gateway process; load ${load()}`);

    // The load generator: 10,000 scans/s over 4 clients, paced every 10 ms.
    let published = 0;
    let loadAcked = 0;
    let loadErrors = 0;
    const tl = performance.now();
    const loadDone = (async () => {
      let scan = 0;
      while (!stopLoad) {
        const due = Math.floor(((performance.now() - tl) / 1000) * RATE);
        while (published < due) {
          const k = published % loadClients.length;
          loadClients[k].publish(`store/v1/dev/scanner/load-${k}/evt/scan`, `{"ts":"${new Date().toISOString()}","code":"4006381333931","symbology":"]E0","n":${++scan}}`, { qos: 1 }, (err) => void (err ? loadErrors++ : loadAcked++));
          published++;
        }
        await sleep(10);
      }
    })();
    await sleep(1000); // the load is running before the WAN returns
    const pub0 = published;
    const t0 = performance.now();
    wan.open();
    // Exact records leave in seq order: the backlog is gone when HQ holds every fill record.
    const deadline = Date.now() + (quick ? 60_000 : 120_000);
    const timeline: number[] = [];
    let nextMark = t0 + 500;
    while (atHq.fill < BACKLOG && Date.now() < deadline) {
      if (performance.now() >= nextMark) {
        timeline.push(atHq.fill + atHq.load);
        nextMark += 500;
      }
      await sleep(5);
    }
    const tEnd = performance.now();
    const sec = (tEnd - t0) / 1000;
    const upSec = atHq.first ? (tEnd - atHq.first) / 1000 : NaN;
    const firstSec = atHq.first ? (atHq.first - t0) / 1000 : NaN;
    const arrived = published - pub0;
    const ackedDuring = loadAcked;
    const loadAtBacklog = atHq.load;
    progress(`uplink drain: first batch at HQ ${firstSec.toFixed(2)} s after the WAN opened; records at HQ every 0.5 s: ${timeline.join(' ')}`);
    progress(`uplink drain: backlog ${atHq.fill}/${BACKLOG} at HQ in ${sec.toFixed(2)} s (${Math.round(atHq.fill / upSec)}/s from the first batch); ${arrived} new events published meanwhile (${Math.round(arrived / sec)}/s, ${loadErrors} errors; ${ackedDuring} of the ${published} published since the load started PUBACKed by the gateway); load ${load()}`);

    // Catching up: the load keeps going until HQ is less than 0.2 s of arrivals behind (10 s at most).
    const tc = performance.now();
    const catchDeadline = Date.now() + 10_000;
    while (published - atHq.load >= RATE * 0.2 && Date.now() < catchDeadline) await sleep(10);
    const catchSec = (performance.now() - tc) / 1000;
    const behind = published - atHq.load;
    const sentCatch = atHq.load - loadAtBacklog;
    stopLoad = true;
    await loadDone;
    progress(`uplink drain: after the backlog, ${sentCatch} records in ${catchSec.toFixed(2)} s (${Math.round(sentCatch / catchSec)}/s); HQ ${behind} records behind the load generator; ${atHq.duplicates} duplicates, ${atHq.outOfOrder} out of order`);

    if (atHq.fill < BACKLOG) row('FAILURE backlog not at HQ within the deadline', BACKLOG - atHq.fill, 'records');
    if (atHq.outOfOrder > 0) row('FAILURE exact records out of order at HQ', atHq.outOfOrder, 'records');
    row(`backlog drain to loopback Mosquitto while ${RATE}/s arrive, from the first batch (backlog ${BACKLOG} exact records${quick ? ', quick' : ''})`, atHq.fill / upSec, 'records/s');
    row('backlog drain, from WAN open (reconnect included)', atHq.fill / sec, 'records/s');
    row('first batch at HQ after the WAN opened (reconnect backoff ≤ 300 ms)', firstSec, 's');
    row('new events published during the drain', arrived / sec, 'events/s');
    row('records at HQ after the backlog, arrivals continuing', sentCatch / catchSec, 'records/s');
    if (behind >= RATE * 0.2) row('records HQ is behind the arrivals 10 s after the backlog (not caught up)', behind, 'records');
    else row('catch-up with the arrivals after the backlog (HQ < 0.2 s of arrivals behind)', catchSec, 's');
    row('HQ duplicates', atHq.duplicates, 'records');
    row('load generator publish errors', loadErrors, 'events');
    row('backlog fill rate (QoS 1 publishes, WAN cut)', n / fillSec, 'events/s');
    row('load average (1 min) at end', os.loadavg()[0], 'load');
    return rows;
  } finally {
    stopLoad = true;
    for (const c of clients) await c.endAsync(true).catch(() => undefined);
    await child?.kill('SIGTERM').catch(() => undefined);
    await wan?.close().catch(() => undefined);
    await hqClient?.endAsync(true).catch(() => undefined);
    await hqBroker?.stop().catch(() => undefined);
    tmp.remove();
  }
}

/** Both uplink benches; rows in the shape of bench-results.json. */
export async function benchUplink(opts: BenchUplinkOptions = {}): Promise<BenchRow[]> {
  const progress = opts.progress ?? (() => undefined);
  const quick = opts.quick ?? false;
  const t0 = performance.now();
  progress(`uplink: load average ${load()} at start`);
  const rows = [...(await storeDayBench(quick, progress)), ...(await drainBench(quick, progress))];
  progress(`uplink: done in ${((performance.now() - t0) / 1000).toFixed(1)} s; load average ${load()}`);
  return rows;
}
