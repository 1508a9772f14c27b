/**
 * `make bench`: a QoS 1 load generator on loopback against storegw with
 * durable ingest, bare aedes 1.2.0 with no hooks, and Mosquitto with persistence on — one after
 * another in the same run (the machine has 2 cores: the server gets one, the load generator the
 * other). Prints a table and writes bench-results.json (its shape is in BENCHMARKS.md).
 *
 *   node dist/bench.js [--quick] [--only storegw,aedes] [--bench idle] [--no-modules] [--module prices,kiosk] [--out bench-results.json]
 *   (--bench runs only the named broker benches — throughput, fixed-rate, idle — e.g. the idle
 *   phase alone to measure memory without the load of the others)
 *   (--module runs only the named feature modules — uplink, bridge, prices, kiosk, ops, terminals, exitgate, stock, hq — and no broker bench)
 *
 * Benches, each for every system, each on a freshly started server:
 *   throughput      50 connections, QoS 1, a window of 100 publishes in flight per connection
 *   fixed-rate      5,000 events/s offered over 50 connections, paced
 *   one-in-flight   1 connection, the next publish after each PUBACK (the Nagle check)
 *   idle            a connect storm of 10,000 devices (2,000 with --quick), then RSS while idle
 */
import { existsSync, writeFileSync } from 'node:fs';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import os from 'node:os';
import { execFileSync } from 'node:child_process';
import { BackgroundCpuWindow, CpuWindow, SelfCpuWindow, memory } from './procStats.js';
import { closeClients, connectClients, connectStorm, disconnectAll, fixedRate, maxThroughput, oneInFlight, sleep, type LoadResult } from './loadgen.js';
import { benchBridge } from './bridge.js';
import { benchPrices } from './prices.js';
import { benchKiosk } from './kiosk.js';
import { benchOps } from './ops.js';
import { benchUplink } from './uplink.js';
import { benchTerminals } from './terminals.js';
import { benchExitGate } from './exitGate.js';
import { benchStock } from './stock.js';
import { benchHq } from './hq.js';
import { SYSTEMS, identities, scrape, startSystem, total, unitNodeFlags, type RunningSystem, type Scrape, type SystemName } from './systems.js';

// ---------------------------------------------------------------------------------------------
// Options

const argv = process.argv.slice(2);
const quick = argv.includes('--quick');
const arg = (name: string): string | undefined => {
  const i = argv.indexOf(name);
  return i >= 0 ? argv[i + 1] : undefined;
};
const only = (arg('--only')?.split(',') ?? SYSTEMS) as SystemName[];
const outFile = arg('--out') ?? 'bench-results.json';
const onlyModules = arg('--module')?.split(',');
const BROKER_BENCHES = ['throughput', 'fixed-rate', 'idle'];
const onlyBenches = arg('--bench')?.split(',');
for (const b of onlyBenches ?? []) {
  if (!BROKER_BENCHES.includes(b)) throw new Error(`--bench: ${b} is not one of ${BROKER_BENCHES.join(', ')}`);
}

const P = {
  connections: 50,
  window: 100,
  warmupS: quick ? 1 : 2,
  throughputS: quick ? 5 : 20,
  fixedRate: 5000,
  fixedS: quick ? 5 : 15,
  oneInFlightS: quick ? 2 : 5,
  oneInFlightMax: 20_000,
  idle: Number(arg('--idle') ?? (quick ? 2000 : 10_000)),
  idleSettleS: quick ? 2 : 5,
  stormConcurrency: 200,
  /** Client sockets with TCP_NODELAY (mqtt.js leaves it off; see BENCHMARKS.md). */
  clientNoDelay: !argv.includes('--client-nagle'),
};

// ---------------------------------------------------------------------------------------------
// Results

interface Row {
  bench: string;
  /** `postgresql`: the hq module's ceiling (PostgreSQL's own COPY rate). */
  system: SystemName | 'postgresql';
  metric: string;
  value: number | null;
  unit: string;
}
const rows: Row[] = [];
const notes: string[] = [];

function row(bench: string, system: SystemName, metric: string, value: number | null, unit: string): void {
  const v = value === null || !Number.isFinite(value) ? null : Math.round(value * 1000) / 1000;
  rows.push({ bench, system, metric, value: v, unit });
}
function get(bench: string, system: SystemName, metric: string): number | null {
  return rows.find((r) => r.bench === bench && r.system === system && r.metric === metric)?.value ?? null;
}

const t0 = Date.now();
function progress(s: string): void {
  process.stdout.write(`[bench ${((Date.now() - t0) / 1000).toFixed(0).padStart(3)}s] ${s}\n`);
}

// ---------------------------------------------------------------------------------------------
// Cleanup: every system started is stopped at the end, on an error and on SIGINT/SIGTERM.

const running = new Set<RunningSystem>();
async function stopAll(): Promise<void> {
  await Promise.all([...running].map((s) => s.stop().catch(() => undefined)));
  running.clear();
}
let interrupted = false;
for (const sig of ['SIGINT', 'SIGTERM'] as const) {
  process.once(sig, () => {
    interrupted = true;
    progress(`${sig}: stopping everything the bench started`);
    void stopAll().finally(() => process.exit(130));
  });
}

let currentBench = '';
async function withSystem(name: SystemName, fn: (s: RunningSystem) => Promise<void>): Promise<void> {
  if (interrupted) return;
  const devices = Math.max(P.idle, P.connections);
  const s = await startSystem(name, devices);
  running.add(s);
  if (name === 'storegw') row(currentBench, name, 'server_start', s.startMs / 1000, 's');
  try {
    await fn(s);
  } finally {
    running.delete(s);
    const w = s.warnings?.();
    if (w && w.count > 0) notes.push(`${name} logged ${w.count} warning/error line(s) in this bench: ${w.samples.join('; ')}`);
    await s.stop();
  }
}

/** Peak RSS of the server while a load runs (sampled every 250 ms). */
function rssSampler(pid: number): { stop: () => number } {
  let peak = 0;
  const take = (): void => {
    try {
      peak = Math.max(peak, memory(pid).rss);
    } catch {
      // the process is gone
    }
  };
  take();
  const t = setInterval(take, 250);
  return {
    stop: () => {
      clearInterval(t);
      take();
      return peak;
    },
  };
}

const MB = 1024 * 1024;

/** CPU other programs used during a window; above 20% of a core the numbers are disturbed. */
function backgroundRow(bench: string, system: SystemName, pct: number): void {
  row(bench, system, 'background_cpu', pct, '% of a core');
  if (pct > 20) {
    const msg = `${bench}/${system}: other programs used ${fmt(pct)}% of a core during the measurement (the box has 2): its numbers are disturbed`;
    notes.push(msg);
    progress(`  WARNING: ${msg}`);
  }
}

/** The load generator's own event-loop delay: if it stalls, latencies above include its stall. */
const selfLoop = monitorEventLoopDelay({ resolution: 2 });
selfLoop.enable();
/**
 * What the throughput and fixed-rate benches measure around their window: server, load generator
 * and background CPU, the load generator's loop delay and storegw's /metrics before and after.
 * `onWindow` is the load generator's hook; `rows()` writes the shared rows once it is over.
 */
function measureWindow(s: RunningSystem, extra: { start?: () => void } = {}) {
  const cpu = new CpuWindow(s.pid);
  const self = new SelfCpuWindow();
  const bg = new BackgroundCpuWindow(s.pid);
  const gw: GwWindow = {};
  const m = { cpuPct: 0, selfPct: 0, bgPct: 0, loadgenLoop: 0 };
  return {
    gw,
    m,
    onWindow: async (phase: 'start' | 'end') => {
      if (phase === 'start') {
        if (s.httpUrl) gw.before = await scrape(s.httpUrl);
        extra.start?.();
        cpu.start();
        self.start();
        bg.start();
        selfLoop.reset();
      } else {
        m.cpuPct = cpu.stop();
        m.selfPct = self.stop();
        m.bgPct = bg.stop();
        m.loadgenLoop = selfLoop.percentile(99);
        if (s.httpUrl) gw.after = await scrape(s.httpUrl);
      }
    },
    /** Server CPU, load generator CPU and loop delay, background CPU, storegw's commit rows. */
    rows(bench: string, acked: number): void {
      row(bench, s.name, 'server_cpu', m.cpuPct, '% of a core');
      row(bench, s.name, 'loadgen_cpu', m.selfPct, '% of a core');
      row(bench, s.name, 'loadgen_loop_delay_p99', Math.max(0, m.loadgenLoop / 1e6 - 2), 'ms');
      backgroundRow(bench, s.name, m.bgPct);
      gwRows(bench, gw, acked);
    },
  };
}

/** Server CPU time per acknowledged event: % of a core over the window ÷ events/s, in µs. */
function cpuPerEventRow(bench: string, system: SystemName, cpuPct: number, rate: number): void {
  if (rate > 0) row(bench, system, 'server_cpu_per_event', (cpuPct / 100) * (1e6 / rate), 'µs');
}

function selfLoopRow(bench: string, system: SystemName): number {
  const p99 = Math.max(0, selfLoop.percentile(99) / 1e6 - 2);
  row(bench, system, 'loadgen_loop_delay_p99', p99, 'ms');
  return p99;
}

/** storegw's own view of a load window, from two /metrics scrapes. */
interface GwWindow {
  before?: Scrape;
  after?: Scrape;
}
function gwRows(bench: string, w: GwWindow, acked: number): void {
  if (!w.before || !w.after) return;
  const d = (name: string): number => total(w.after!, name) - total(w.before!, name);
  const commits = d('storegw_events_per_commit_count');
  row(bench, 'storegw', 'events_per_commit', commits > 0 ? d('storegw_events_per_commit_sum') / commits : null, 'events/fsync');
  const commitCount = d('storegw_commit_seconds_count');
  row(bench, 'storegw', 'commit_mean', commitCount > 0 ? (d('storegw_commit_seconds_sum') / commitCount) * 1000 : null, 'ms');
  // prom-client's monitorEventLoopDelay (storegw samples at 1 ms, gateway/metrics.ts) is reset at
  // every scrape, so the second scrape covers exactly the window; its samples include the 1 ms
  // timer period itself, which is subtracted.
  const p99 = w.after.get('storegw_process_nodejs_eventloop_lag_p99_seconds');
  const max = w.after.get('storegw_process_nodejs_eventloop_lag_max_seconds');
  row(bench, 'storegw', 'event_loop_delay_p99', p99 === undefined ? null : Math.max(0, p99 * 1000 - 1), 'ms');
  row(bench, 'storegw', 'event_loop_delay_max', max === undefined ? null : Math.max(0, max * 1000 - 1), 'ms');
  const committed = d('storegw_events_total');
  row(bench, 'storegw', 'events_committed_in_window', committed, 'events');
  row(bench, 'storegw', 'rejects_in_window', d('storegw_rejects_total'), 'events');
  void acked;
}

function latencyRows(bench: string, system: SystemName, r: LoadResult): void {
  row(bench, system, 'puback_p50', r.latency.percentile(50), 'ms');
  row(bench, system, 'puback_p95', r.latency.percentile(95), 'ms');
  row(bench, system, 'puback_p99', r.latency.percentile(99), 'ms');
  row(bench, system, 'puback_max', r.latency.max(), 'ms');
  row(bench, system, 'errors', r.errors + r.lost, 'count');
}

// ---------------------------------------------------------------------------------------------
// Benches

async function benchThroughput(s: RunningSystem): Promise<void> {
  const bench = 'throughput';
  const clients = await connectClients(s.url, identities(P.connections, `tp-${s.name}`), P.clientNoDelay);
  let rss = { stop: () => 0 };
  const w = measureWindow(s, { start: () => (rss = rssSampler(s.pid)) });
  const r = await maxThroughput(clients, { window: P.window, warmupS: P.warmupS, seconds: P.throughputS, onWindow: w.onWindow });
  const peak = rss.stop();
  const rssEnd = memory(s.pid).rss;
  await closeClients(clients);
  row(bench, s.name, 'events_per_s', r.rate, 'events/s');
  latencyRows(bench, s.name, r);
  row(bench, s.name, 'server_rss', rssEnd / MB, 'MB');
  row(bench, s.name, 'server_rss_peak', peak / MB, 'MB');
  w.rows(bench, r.acked);
  cpuPerEventRow(bench, s.name, w.m.cpuPct, r.rate);
  if (r.firstError) notes.push(`${bench}/${s.name}: first publish error: ${r.firstError}`);
  progress(
    `  ${s.name}: ${fmt(r.rate)} events/s, PUBACK p50 ${fmt(r.latency.percentile(50))} / p99 ${fmt(r.latency.percentile(99))} ms, ` +
      `server CPU ${fmt(w.m.cpuPct)}%, RSS ${fmt(rssEnd / MB)} MB, load generator CPU ${fmt(w.m.selfPct)}%, errors ${r.errors + r.lost}` +
      (s.name === 'storegw' ? `, events/commit ${fmt(get(bench, 'storegw', 'events_per_commit'))}, loop delay p99 ${fmt(get(bench, 'storegw', 'event_loop_delay_p99'))} ms` : ''),
  );
}

async function benchFixedRate(s: RunningSystem): Promise<void> {
  const bench = 'fixed-rate';
  const clients = await connectClients(s.url, identities(P.connections, `fr-${s.name}`), P.clientNoDelay);
  const w = measureWindow(s);
  const r = await fixedRate(clients, { rate: P.fixedRate, warmupS: P.warmupS, seconds: P.fixedS, onWindow: w.onWindow });
  await closeClients(clients);
  row(bench, s.name, 'offered', r.offered, 'events/s');
  row(bench, s.name, 'events_per_s', r.rate, 'events/s');
  latencyRows(bench, s.name, r);
  row(bench, s.name, 'server_rss', memory(s.pid).rss / MB, 'MB');
  w.rows(bench, r.acked);
  cpuPerEventRow(bench, s.name, w.m.cpuPct, r.rate);
  progress(
    `  ${s.name}: offered ${fmt(r.offered)}/s, acked ${fmt(r.rate)}/s, PUBACK p50 ${fmt(r.latency.percentile(50))} / p95 ${fmt(r.latency.percentile(95))} / p99 ${fmt(r.latency.percentile(99))} ms, server CPU ${fmt(w.m.cpuPct)}%` +
      (s.name === 'storegw' ? `, events/commit ${fmt(get(bench, 'storegw', 'events_per_commit'))}, loop delay p99 ${fmt(get(bench, 'storegw', 'event_loop_delay_p99'))} ms` : ''),
  );

  // One message in flight, on the same server: is there a 40 ms (delayed-ACK × Nagle) plateau?
  const b2 = 'one-in-flight';
  const [one] = await connectClients(s.url, identities(1, `one-${s.name}`), P.clientNoDelay);
  selfLoop.reset();
  const o = await oneInFlight(one, { seconds: P.oneInFlightS, maxMessages: P.oneInFlightMax });
  selfLoopRow(b2, s.name);
  await closeClients([one]);
  row(b2, s.name, 'round_trips_per_s', o.rate, 'msgs/s');
  latencyRows(b2, s.name, o);
  row(b2, s.name, 'samples_ge_35ms', o.latency.atLeast(35), 'count');
  row(b2, s.name, 'samples', o.latency.count, 'count');
  progress(`  ${s.name} one in flight: ${o.latency.count} round trips, p50 ${fmt(o.latency.percentile(50))} / p99 ${fmt(o.latency.percentile(99))} / max ${fmt(o.latency.max())} ms, ≥35 ms: ${o.latency.atLeast(35)}`);
}

async function benchIdle(s: RunningSystem): Promise<void> {
  const bench = 'idle';
  await sleep(500);
  const base = memory(s.pid).rss;
  const cpu = new CpuWindow(s.pid);
  const bg = new BackgroundCpuWindow(s.pid);
  cpu.start();
  bg.start();
  const storm = await connectStorm(s.port, identities(P.idle, `idle-${s.name}`), { concurrency: P.stormConcurrency, timeoutMs: 15_000 });
  const cpuPct = cpu.stop();
  backgroundRow(bench, s.name, bg.stop());
  const errors = Object.values(storm.errors).reduce((a, b) => a + b, 0);
  await sleep(P.idleSettleS * 1000);
  const idleMem = memory(s.pid);
  let connected: number | null = null;
  if (s.httpUrl) connected = total(await scrape(s.httpUrl), 'storegw_mqtt_connections');
  const stillOpen = storm.sockets.filter((x) => !x.destroyed).length;
  row(bench, s.name, 'clients_offered', P.idle, 'clients');
  row(bench, s.name, 'connected', storm.ok, 'clients');
  row(bench, s.name, 'connect_errors', errors, 'count');
  row(bench, s.name, 'connect_rate', storm.ratePerS, 'connects/s');
  row(bench, s.name, 'connack_p50', storm.latency.percentile(50), 'ms');
  row(bench, s.name, 'connack_p99', storm.latency.percentile(99), 'ms');
  row(bench, s.name, 'storm_server_cpu', cpuPct, '% of a core');
  row(bench, s.name, 'still_open_after_idle', stillOpen, 'clients');
  row(bench, s.name, 'server_rss_before', base / MB, 'MB');
  row(bench, s.name, 'server_rss_idle', idleMem.rss / MB, 'MB');
  row(bench, s.name, 'server_rss_peak', idleMem.peak / MB, 'MB');
  row(bench, s.name, 'server_rss_anon', idleMem.anon / MB, 'MB');
  row(bench, s.name, 'server_rss_file', idleMem.file / MB, 'MB');
  row(bench, s.name, 'server_threads', idleMem.threads, 'threads');
  row(bench, s.name, 'rss_per_connection', storm.ok > 0 ? (idleMem.rss - base) / 1024 / storm.ok : null, 'KB');
  if (connected !== null) row(bench, s.name, 'server_reported_connections', connected, 'clients');
  if (errors) notes.push(`idle/${s.name}: connect errors ${JSON.stringify(storm.errors)}`);
  progress(
    `  ${s.name}: ${storm.ok}/${P.idle} connected in ${fmt(storm.elapsedMs / 1000)} s = ${fmt(storm.ratePerS)}/s, errors ${errors}` +
      `${errors ? ` ${JSON.stringify(storm.errors)}` : ''}, RSS ${fmt(base / MB)} → ${fmt(idleMem.rss / MB)} MB idle (anon ${fmt(idleMem.anon / MB)}, file ${fmt(idleMem.file / MB)}, ${idleMem.threads} threads), still open ${stillOpen}` +
      (connected !== null ? `, server says ${connected} connected` : ''),
  );
  await disconnectAll(storm.sockets);
}

// ---------------------------------------------------------------------------------------------
// Output

function fmt(v: number | null | undefined): string {
  if (v === null || v === undefined || !Number.isFinite(v)) return 'n/a';
  const a = Math.abs(v);
  if (Number.isInteger(v)) return v.toLocaleString('en-US');
  if (a >= 1000) return Math.round(v).toLocaleString('en-US');
  if (a >= 100) return v.toFixed(0);
  if (a >= 10) return v.toFixed(1);
  return v.toFixed(2);
}

function table(rs: Row[]): string {
  const head = ['bench', 'system', 'metric', 'value', 'unit'];
  const cells = rs.map((r) => [r.bench, r.system, r.metric, r.value === null ? 'not measured' : fmt(r.value), r.unit]);
  const w = head.map((h, i) => Math.max(h.length, ...cells.map((c) => c[i].length)));
  const line = (c: string[]): string => c.map((x, i) => (i === 3 ? x.padStart(w[i]) : x.padEnd(w[i]))).join('  ').trimEnd();
  return [line(head), line(w.map((n) => '-'.repeat(n))), ...cells.map(line)].join('\n') + '\n';
}

interface Target {
  what: string;
  measured: string;
  met: boolean | null;
}
function targets(): Target[] {
  const tp = (s: SystemName): number | null => get('throughput', s, 'events_per_s');
  const g = tp('storegw');
  const a = tp('aedes');
  const m = tp('mosquitto');
  const ratio = (x: number | null, y: number | null): number | null => (x !== null && y !== null && y > 0 ? x / y : null);
  const ra = ratio(g, a);
  const rm = ratio(g, m);
  const check = (v: number | null, ok: (v: number) => boolean): boolean | null => (v === null ? null : ok(v));
  const p50 = get('fixed-rate', 'storegw', 'puback_p50');
  const p99 = get('fixed-rate', 'storegw', 'puback_p99');
  const plateau = get('one-in-flight', 'storegw', 'samples_ge_35ms');
  const epcT = get('throughput', 'storegw', 'events_per_commit');
  const rss = get('idle', 'storegw', 'server_rss_idle');
  const rate = get('idle', 'storegw', 'connect_rate');
  const errs = get('idle', 'storegw', 'connect_errors');
  const conn = get('idle', 'storegw', 'connected');
  const eldT = get('throughput', 'storegw', 'event_loop_delay_p99');
  const eldF = get('fixed-rate', 'storegw', 'event_loop_delay_p99');
  const cpuG = get('throughput', 'storegw', 'server_cpu_per_event');
  const cpuA = get('throughput', 'aedes', 'server_cpu_per_event');
  const cpuRatio = ratio(cpuG, cpuA);
  return [
    { what: 'server CPU per acknowledged event ≤ 1.25 × bare aedes (throughput)', measured: `${fmt(cpuRatio)} × (${fmt(cpuG)} vs ${fmt(cpuA)} µs)`, met: check(cpuRatio, (v) => v <= 1.25) },
    { what: 'durable QoS 1 throughput ≥ 0.6 × bare aedes', measured: `${fmt(ra)} × (${fmt(g)} vs ${fmt(a)} events/s)`, met: check(ra, (v) => v >= 0.6) },
    { what: 'durable QoS 1 throughput ≥ 0.8 × Mosquitto', measured: `${fmt(rm)} × (${fmt(g)} vs ${fmt(m)} events/s)`, met: check(rm, (v) => v >= 0.8) },
    { what: 'durable QoS 1 throughput ≥ 30,000 events/s', measured: `${fmt(g)} events/s`, met: check(g, (v) => v >= 30_000) },
    { what: 'PUBACK p50 ≤ 1 ms at 5,000 events/s over 50 connections', measured: `${fmt(p50)} ms`, met: check(p50, (v) => v <= 1) },
    { what: 'PUBACK p99 ≤ 5 ms at 5,000 events/s over 50 connections', measured: `${fmt(p99)} ms`, met: check(p99, (v) => v <= 5) },
    {
      what: 'no 40 ms plateau with one message in flight',
      measured: `p50 ${fmt(get('one-in-flight', 'storegw', 'puback_p50'))} ms, p99 ${fmt(get('one-in-flight', 'storegw', 'puback_p99'))} ms, ${fmt(plateau)} samples ≥ 35 ms`,
      met: check(plateau, (v) => v === 0),
    },
    { what: '≤ 1 fsync per 10 acknowledged events under load', measured: `${fmt(epcT)} events per commit (throughput), ${fmt(get('fixed-rate', 'storegw', 'events_per_commit'))} (fixed rate)`, met: check(epcT, (v) => v >= 10) },
    { what: `${P.idle.toLocaleString('en-US')} idle devices: server RSS ≤ 250 MB`, measured: `${fmt(rss)} MB with ${fmt(conn)} connected`, met: rss === null || conn !== P.idle ? (rss === null ? null : false) : rss <= 250 },
    {
      what: `connect storm of ${P.idle.toLocaleString('en-US')} at ≥ 1,000/s with no error`,
      measured: `${fmt(rate)}/s, ${fmt(errs)} errors`,
      met: rate === null || errs === null ? null : rate >= 1000 && errs === 0 && conn === P.idle,
    },
    { what: 'event-loop delay p99 < 5 ms during the load', measured: `${fmt(eldT)} ms (throughput), ${fmt(eldF)} ms (fixed rate)`, met: eldT === null || eldF === null ? null : eldT < 5 && eldF < 5 },
  ];
}

function machine(): string {
  const cpus = os.cpus();
  return `${cpus[0]?.model ?? 'unknown CPU'}, ${cpus.length} cores, ${(os.totalmem() / 1024 ** 3).toFixed(1)} GiB RAM, Linux ${os.release()}, Node ${process.version}`;
}

// ---------------------------------------------------------------------------------------------

async function main(): Promise<number> {
  if (!existsSync('dist/storegw.js')) {
    process.stderr.write('bench: run from the repository root after `node build.mjs` (dist/storegw.js is missing)\n');
    return 2;
  }
  let nofile = 'unknown';
  try {
    nofile = execFileSync('sh', ['-c', 'ulimit -n'], { encoding: 'utf8' }).trim();
  } catch {
    // no shell
  }
  const need = P.idle + 200;
  progress(`machine: ${machine()}; load average now ${os.loadavg().map((x) => x.toFixed(2)).join(' ')}`);
  progress(`storegw runs as its systemd unit does: node ${unitNodeFlags().join(' ') || '(no flags)'} dist/storegw.js`);
  progress(`mode: ${quick ? 'quick' : 'full'}; systems: ${only.join(', ')}; open-file limit (ulimit -n) ${nofile}, this bench needs ~${need} in the load generator and in the server`);
  if (nofile !== 'unlimited' && Number(nofile) < need) {
    notes.push(`ulimit -n is ${nofile}: fewer than ${need}; the idle bench will hit EMFILE — raise it (ulimit -n ${need * 2}) or pass --idle N`);
    progress(`WARNING: ${notes[notes.length - 1]}`);
  }

  const benches: [string, (s: RunningSystem) => Promise<void>][] = [
    [`throughput: ${P.connections} connections, QoS 1, ${P.window} in flight each, ${P.throughputS} s after ${P.warmupS} s warm-up`, benchThroughput],
    [`fixed rate: ${P.fixedRate.toLocaleString('en-US')} events/s over ${P.connections} connections for ${P.fixedS} s, then one message in flight for ${P.oneInFlightS} s`, benchFixedRate],
    [`idle: connect storm of ${P.idle.toLocaleString('en-US')} devices (${P.stormConcurrency} handshakes at a time), then ${P.idleSettleS} s idle`, benchIdle],
  ];
  for (const [i, [title, fn]] of benches.entries()) {
    if (onlyModules) break;
    currentBench = BROKER_BENCHES[i];
    if (onlyBenches && !onlyBenches.includes(currentBench)) continue;
    progress(`${i + 1}/${benches.length} ${title}`);
    for (const name of only) {
      if (interrupted) break;
      progress(`  ${name}: starting`);
      try {
        await withSystem(name, fn);
      } catch (err) {
        const lines = (err as Error).message.split('\n').filter((l) => l.trim());
        const msg = lines.length > 1 ? `${lines[0]} … ${lines[lines.length - 1].slice(0, 300)}` : (lines[0] ?? String(err));
        notes.push(`${currentBench}/${name}: failed: ${msg}`);
        progress(`  ${name}: FAILED: ${msg}`);
      }
    }
  }

  // Feature benches (storegw only): each module measures its own issue's targets.
  const allModules: [string, () => Promise<{ bench: string; system: 'storegw' | 'postgresql'; metric: string; value: number | null; unit: string }[]>][] = [
    ['uplink (issue 4): a simulated demo-store day (compaction, compression, week backlog), backlog drain under load', () => benchUplink({ quick, progress })],
    ['bridge (issue 5): scale at 10 Hz and RFID at 500 reads/s through socat ptys', () => benchBridge({ quick, progress })],
    ['prices (issue 6): 60,000-label change over 20 APs', () => benchPrices({ quick, progress })],
    ['kiosk (issue 7): scan-to-screen with 4 kiosks in Chromium, the gateway hop', () => benchKiosk({ quick, progress })],
    ['ops (issue 8): live feed latency, command store on reconnect, login', () => benchOps({ quick, progress })],
    ['terminals (issue 16): ZVT pay → sale recorded, 2,000 labels on one OEPL AP, ESC/POS receipt bytes and print time', () => benchTerminals({ quick, progress })],
    ['exitgate (issue 19): exit gate read → alarm p50/p99, one alarm per passage', () => benchExitGate({ quick, progress })],
    ['stock (issue 19): 50,000 GTINs, 1,000 movements/s through the ops API beside the device ingest load', () => benchStock({ quick, progress })],
    ['hq (issue 20): 1,000 light stores + 3 gateways → Mosquitto → ingest (4 and 1 workers) → PostgreSQL, with COPY as the ceiling', () => benchHq({ quick, progress })],
  ];
  const modules = allModules.filter(([title]) => !onlyModules || onlyModules.includes(title.split(' ')[0]));
  if (only.includes('storegw') && !argv.includes('--no-modules')) {
    for (const [i, [title, fn]] of modules.entries()) {
      if (interrupted) break;
      progress(`module ${i + 1}/${modules.length} ${title}`);
      try {
        for (const r of await fn()) rows.push(r);
      } catch (err) {
        notes.push(`module ${title}: failed: ${(err as Error).message.split('\n')[0]}`);
        progress(`  FAILED: ${(err as Error).message.split('\n')[0]}`);
      }
    }
  }

  for (const sys of only) {
    const g = get('throughput', sys, 'events_per_s');
    if (sys === 'storegw' || g === null) continue;
    const sg = get('throughput', 'storegw', 'events_per_s');
    if (sg !== null && g > 0) row('throughput', 'storegw', `ratio_vs_${sys}`, sg / g, '×');
  }

  process.stdout.write('\n' + table(rows));
  if (!onlyModules) {
    process.stdout.write('\nTargets (issue 3):\n');
    for (const t of targets()) process.stdout.write(`  [${t.met === null ? 'n/a ' : t.met ? 'met ' : 'MISS'}] ${t.what}: ${t.measured}\n`);
  }
  if (notes.length) process.stdout.write('\nNotes:\n' + notes.map((n) => `  - ${n}\n`).join(''));

  const result = { machine: machine(), date: new Date().toISOString(), mode: quick ? 'quick' : 'full', loadAverageAtEnd: os.loadavg(), params: P, gatewayNodeFlags: unitNodeFlags(), rows, targets: targets(), notes };
  writeFileSync(outFile, JSON.stringify(result, null, 2) + '\n');
  progress(`wrote ${outFile}; done in ${((Date.now() - t0) / 1000).toFixed(0)} s`);
  return 0;
}

main().then(
  async (code) => {
    await stopAll();
    process.exit(code);
  },
  async (err: Error) => {
    process.stderr.write(`bench failed: ${err.stack ?? err.message}\n`);
    await stopAll();
    process.exit(1);
  },
);
