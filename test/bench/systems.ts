/**
 * The three systems under test, each a separate process on a loopback port so that the load
 * generator (this process) and the server never share an event loop:
 * - storegw: `node dist/storegw.js run` with durable ingest, a fresh temp data folder each start;
 * - aedes: bare aedes 1.2.0, no hooks, TCP with noDelay (`node --input-type=module -e …`);
 * - mosquitto: Mosquitto 2 with persistence on (test/helpers/mosquitto.ts).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { stringify } from 'yaml';
import { buildConfig, spawnGateway, TEST_SECRET, type TestDevice } from '../helpers/gatewayHarness.js';
import { startMosquitto } from '../helpers/mosquitto.js';
import { tempDir } from '../helpers/tmp.js';
import { hashSecret, DEVICE_SECRET_COST } from '../../gateway/scryptHash.js';
import type { Identity } from './loadgen.js';

export type SystemName = 'storegw' | 'aedes' | 'mosquitto';
export const SYSTEMS: SystemName[] = ['storegw', 'aedes', 'mosquitto'];

export interface RunningSystem {
  name: SystemName;
  port: number;
  url: string;
  pid: number;
  /** storegw only: its HTTP base URL (/metrics). */
  httpUrl?: string;
  /** From spawn to ready (accepting connections), ms. */
  startMs: number;
  /** storegw only: its data folder (stock.db, outbox.db …). */
  dataDir?: string;
  /** storegw only: log lines at level warn or above seen so far. */
  warnings?: () => { count: number; samples: string[] };
  stop(): Promise<void>;
}

/** Device identities shared by all systems (the same usernames, topics and payloads everywhere). */
export function identities(n: number, prefix: string): Identity[] {
  return Array.from({ length: n }, (_, i) => ({
    clientId: `${prefix}-${i}`,
    username: `rfid/bench-${i}`,
    password: TEST_SECRET,
    topic: `store/v1/dev/rfid/bench-${i}/evt/read`,
  }));
}

let deviceHash: string | null = null;

/**
 * The node flags the systemd unit runs the gateway with (between the node binary and the bundle on
 * its ExecStart line), so the bench measures the gateway as a store box runs it.
 * `STOREGW_BENCH_NODE_FLAGS` replaces them (an A/B of the flags; empty for none).
 */
export function unitNodeFlags(): string[] {
  const env = process.env.STOREGW_BENCH_NODE_FLAGS;
  if (env !== undefined) return env.split(' ').filter(Boolean);
  const unit = readFileSync('systemd/storegw.service', 'utf8');
  const exec = /^ExecStart=(.*)$/m.exec(unit)?.[1].split(' ') ?? [];
  const bundle = exec.findIndex((a) => a.endsWith('/storegw.js'));
  return bundle > 1 ? exec.slice(1, bundle) : [];
}

async function startStoregw(devices: number): Promise<RunningSystem> {
  const tmp = tempDir('sgw-bench-');
  try {
    // Provisioned like real devices: scrypt N=2^10 (DEVICE_SECRET_COST), one hash shared by all.
    deviceHash ??= await hashSecret(TEST_SECRET, DEVICE_SECRET_COST);
    const devs: TestDevice[] = Array.from({ length: devices }, (_, i) => ({ kind: 'rfid', id: `bench-${i}` }));
    const cfg = await buildConfig({
      dataDir: path.join(tmp.dir, 'data'),
      devices: devs,
      connectRate: { perSecond: 100_000, burst: 100_000 },
      // demo: true only skips the start-up check for published demo secrets, which runs one
      // scrypt per device per demo secret, one after another (~2.5 s per 100 devices here).
      extra: { demo: true },
    });
    for (const d of cfg.devices as { secretHash?: string }[]) d.secretHash = deviceHash;
    const file = path.join(tmp.dir, 'storegw.yaml');
    writeFileSync(file, stringify(cfg), { mode: 0o600 });
    const t0 = performance.now();
    // The idle bench holds more devices than the default cap (mqtt.maxConnections, 5000). Through
    // the environment, so an older build under STOREGW_GATEWAY_BIN (which ignores it) still starts.
    const gw = await spawnGateway(file, { STOREGW_MQTT_MAX_CONNECTIONS: String(devices + 1000) }, { nodeArgs: unitNodeFlags() });
    const startMs = performance.now() - t0;
    const warnings = (): { count: number; samples: string[] } => {
      let count = 0;
      const seen = new Map<string, number>();
      for (const line of gw.output) {
        if (!line.startsWith('{')) {
          if (line.trim()) {
            count++;
            seen.set(line.trim().slice(0, 200), 1);
          }
          continue;
        }
        try {
          const j = JSON.parse(line) as { level?: number; msg?: string; err?: { message?: string } };
          if ((j.level ?? 0) >= 40) {
            count++;
            const key = `${j.level! >= 50 ? 'error' : 'warn'}: ${j.msg ?? ''}${j.err?.message ? ` (${j.err.message})` : ''}`;
            seen.set(key, (seen.get(key) ?? 0) + 1);
          }
        } catch {
          // a partial line; ignore
        }
      }
      return { count, samples: [...seen.entries()].slice(0, 8).map(([k, n]) => `${k} ×${n}`) };
    };
    return {
      name: 'storegw',
      port: gw.mqttPort,
      url: `mqtt://127.0.0.1:${gw.mqttPort}`,
      pid: gw.proc.pid!,
      httpUrl: `http://127.0.0.1:${gw.httpPort}`,
      dataDir: path.join(tmp.dir, 'data'),
      startMs,
      warnings,
      async stop() {
        await Promise.race([gw.kill('SIGTERM'), new Promise((r) => setTimeout(r, 10_000))]);
        await gw.kill('SIGKILL');
        tmp.remove();
      },
    };
  } catch (err) {
    tmp.remove();
    throw err;
  }
}

const BARE_AEDES = `
import { Aedes } from 'aedes';
import net from 'node:net';
const broker = await Aedes.createBroker();
const server = net.createServer({ noDelay: true }, (socket) => { socket.setNoDelay(true); broker.handle(socket); });
server.listen(0, '127.0.0.1', () => process.stdout.write(JSON.stringify({ port: server.address().port }) + '\\n'));
const stop = () => { server.close(); broker.close(() => process.exit(0)); setTimeout(() => process.exit(0), 3000).unref(); };
process.once('SIGTERM', stop);
process.once('SIGINT', stop);
`;

async function startBareAedes(): Promise<RunningSystem> {
  const t0 = performance.now();
  const proc: ChildProcess = spawn(process.execPath, ['--input-type=module', '-e', BARE_AEDES], { cwd: process.cwd(), stdio: ['ignore', 'pipe', 'pipe'] });
  const exited = new Promise<void>((r) => proc.once('exit', () => r()));
  let stderr = '';
  proc.stderr!.on('data', (d: Buffer) => (stderr += d.toString('utf8')));
  const port = await new Promise<number>((resolve, reject) => {
    let buf = '';
    proc.stdout!.on('data', (d: Buffer) => {
      buf += d.toString('utf8');
      const nl = buf.indexOf('\n');
      if (nl >= 0) resolve((JSON.parse(buf.slice(0, nl)) as { port: number }).port);
    });
    proc.once('exit', (code) => reject(new Error(`bare aedes exited with ${code}: ${stderr}`)));
  });
  return {
    name: 'aedes',
    port,
    url: `mqtt://127.0.0.1:${port}`,
    pid: proc.pid!,
    startMs: performance.now() - t0,
    async stop() {
      if (proc.exitCode === null && proc.signalCode === null) {
        proc.kill('SIGTERM');
        await Promise.race([exited, new Promise((r) => setTimeout(r, 5000))]);
        if (proc.exitCode === null && proc.signalCode === null) proc.kill('SIGKILL');
      }
      await exited;
    },
  };
}

async function startMosq(): Promise<RunningSystem> {
  const t0 = performance.now();
  // Mosquitto leaves Nagle on by default; the gateway and bare aedes set noDelay, so must it.
  const m = await startMosquitto({ persistence: true, extraConfig: 'set_tcp_nodelay true' });
  return { name: 'mosquitto', port: m.port, url: m.url, pid: m.pid, startMs: performance.now() - t0, stop: () => m.stop() };
}

/** `devices`: how many devices storegw must have provisioned (the others accept anyone). */
export function startSystem(name: SystemName, devices: number): Promise<RunningSystem> {
  switch (name) {
    case 'storegw':
      return startStoregw(devices);
    case 'aedes':
      return startBareAedes();
    case 'mosquitto':
      return startMosq();
  }
}

// ---------------------------------------------------------------------------------------------
// storegw's /metrics (Prometheus text)

export type Scrape = Map<string, number>;

/** All samples of the text format, keyed by `name{labels}` as written. */
export async function scrape(httpUrl: string): Promise<Scrape> {
  const text = await (await fetch(`${httpUrl}/metrics`)).text();
  const out: Scrape = new Map();
  for (const line of text.split('\n')) {
    if (!line || line.startsWith('#')) continue;
    const sp = line.lastIndexOf(' ');
    out.set(line.slice(0, sp), Number(line.slice(sp + 1)));
  }
  return out;
}

/** The sum over all label sets of one metric name (e.g. every `storegw_events_total{…}`). */
export function total(s: Scrape, name: string): number {
  let sum = 0;
  for (const [k, v] of s) if (k === name || k.startsWith(name + '{')) sum += v;
  return sum;
}
