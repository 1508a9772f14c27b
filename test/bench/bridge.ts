/**
 * Bridge benches: the bridge as its own process (`dist/storegw-bridge.js`), a simulator
 * on the far end of a socat pty, the real gateway in this process.
 *
 *   scale-10hz   an MT-SICS balance streaming (SIR) one weight every 100 ms
 *   rfid-500     a Chafon UHFReader288 answering each inventory with 10 tags, one round per 20 ms
 *                (the simulator answers on a 20 ms grid, as a reader with a fixed scan time would)
 *
 * Each bench runs twice:
 *  - the bridge as its own process: its CPU (% of one core, from /proc), RSS, events/s, and
 *    `latency`: from the moment the simulator's write of the last byte of a frame returned (the
 *    bytes are in the pty) to the gateway's commit of the event from that frame. aedes writes the
 *    PUBACK in the callback that follows the commit (`authorizePublish`, gateway/README.md §Data flow step 3);
 *  - the bridge in this process: `puback latency`, from the same moment to the bridge's mqtt.js
 *    reporting the PUBACK of that event (the exact definition; no CPU row, the process is shared).
 * Each event is matched to its frame by order and checked by content (unique grams; the EPC order
 * of each reply); `unmatched events` counts any that do not agree.
 */
import { existsSync, writeFileSync } from 'node:fs';
import { spawn, type ChildProcess } from 'node:child_process';
import { once, EventEmitter } from 'node:events';
import path from 'node:path';
import { stringify } from 'yaml';
import { startGateway, TEST_SECRET, type RunningGateway } from '../helpers/gatewayHarness.js';
import { tempDir } from '../helpers/tmp.js';
import { CpuWindow, memory } from './procStats.js';
import { Samples } from './stats.js';
import { startSerialSimulators, type SerialSimulators } from '../../firmware-bridge/simulators.js';
import type { ByteTransport, ByteTransportEvents } from '../../firmware-bridge/transports/transport.js';
import type { MtsicsSim } from '../../firmware-bridge/devices/mtsics/sim.js';
import { decode as decodeMtsics } from '../../firmware-bridge/devices/mtsics/codec.js';
import { decode as decodeChafon } from '../../firmware-bridge/devices/chafon/codec.js';
import type { DeviceKind } from '../../gateway/protocol/topics.js';
import { parseBridgeConfig } from '../../firmware-bridge/config.js';
import { createDrivers, hardwareTransports } from '../../firmware-bridge/driverFactory.js';
import { Bridge } from '../../firmware-bridge/bridge.js';
import { pino } from 'pino';

export interface BenchBridgeOptions {
  /** Measured seconds per bench (default 10; quick 4), after a warm-up of 2 s. */
  durationS?: number;
  quick?: boolean;
  /** The bridge bundle (default dist/storegw-bridge.js: run `node build.mjs` first). */
  bridgeBin?: string;
  progress?: (s: string) => void;
}

export interface BenchRow {
  bench: string;
  system: 'storegw';
  metric: string;
  value: number | null;
  unit: string;
}

/** One frame's worth of expected events: what they carry and when the last byte went out. */
interface Expected {
  key: string;
  atMs: number;
}

/**
 * A simulator's transport that timestamps each write once it returned, decodes what it wrote into
 * the events the bridge should make, and optionally holds each write for the next slot of a grid.
 */
class TimedTransport extends EventEmitter<ByteTransportEvents> implements ByteTransport {
  readonly expected: Expected[] = [];
  private nextSlot = 0;
  constructor(
    private readonly inner: ByteTransport,
    private readonly keys: (frame: Buffer) => string[],
    private readonly gridMs: number,
    private readonly afterWrite?: () => void,
  ) {
    super();
    inner.on('data', (c) => this.emit('data', c));
    inner.on('close', (e) => this.emit('close', e));
    inner.on('error', (e) => this.emit('error', e));
  }
  get isOpen(): boolean {
    return this.inner.isOpen;
  }
  get name(): string {
    return this.inner.name;
  }
  open(): Promise<void> {
    return this.inner.open();
  }
  close(): Promise<void> {
    return this.inner.close();
  }
  async write(data: Buffer): Promise<void> {
    if (this.gridMs > 0) {
      const now = performance.now();
      if (this.nextSlot < now) this.nextSlot = now;
      const wait = this.nextSlot - now;
      this.nextSlot += this.gridMs;
      if (wait >= 1) await new Promise((r) => setTimeout(r, wait));
    }
    await this.inner.write(data);
    const t = performance.now();
    for (const key of this.keys(data)) this.expected.push({ key, atMs: t });
    this.afterWrite?.();
  }
}

interface Scenario {
  bench: string;
  kind: DeviceKind;
  id: string;
  device: Record<string, unknown>;
  gridMs: number;
  keys: (frame: Buffer) => string[];
  keyOf: (data: Record<string, unknown>) => string;
  setup: (sims: SerialSimulators) => void;
  afterWrite?: (sims: SerialSimulators) => void;
}

function scenarios(dir: string): Scenario[] {
  let grams = 1000;
  return [
    {
      bench: 'bridge-scale-10hz',
      kind: 'scale',
      id: 'bench-scale',
      device: { kind: 'scale', id: 'bench-scale', protocol: 'mtsics', serial: { path: path.join(dir, 'pty', 'bench-scale') }, options: { mode: 'stream' } },
      gridMs: 0,
      keys: (frame) => decodeMtsics(frame).events.flatMap((r) => (r.kind === 'weight' && r.id === 'S' ? [String(r.grams)] : [])),
      keyOf: (d) => String(d.grams),
      setup: (sims) => (sims.sims.get('bench-scale') as MtsicsSim).setWeight(grams),
      // Every frame carries a new weight, so an event is matched to its frame by content.
      afterWrite: (sims) => (sims.sims.get('bench-scale') as MtsicsSim | undefined)?.setWeight(++grams > 20_000 ? (grams = 1000) : grams),
    },
    {
      bench: 'bridge-rfid-500',
      kind: 'rfid',
      id: 'bench-rfid',
      device: {
        kind: 'rfid',
        id: 'bench-rfid',
        protocol: 'chafon',
        serial: { path: path.join(dir, 'pty', 'bench-rfid'), baudRate: 57600 },
        options: { autoStart: true, roundIntervalMs: 1, antennas: [1] },
      },
      gridMs: 20,
      keys: (frame) => decodeChafon(frame, '288').events.flatMap((r) => (r.kind === 'inventory' ? r.tags.map((t) => t.epc) : [])),
      keyOf: (d) => String(d.epc),
      setup: () => undefined,
    },
  ];
}

const TAGS = Array.from({ length: 10 }, (_, i) => ({ epc: `3074257BF7194E40000${(0x1a80 + i).toString(16).toUpperCase().padStart(5, '0')}`, rssi: 0x40 + i, antenna: 1 }));

async function waitLine(proc: ChildProcess, text: string, timeoutMs: number): Promise<void> {
  await new Promise<void>((resolve, reject) => {
    let buf = '';
    const timer = setTimeout(() => reject(new Error(`bridge: no "${text}" within ${timeoutMs} ms:\n${buf}`)), timeoutMs);
    const onData = (d: Buffer) => {
      buf += d.toString('utf8');
      if (buf.includes(text)) {
        clearTimeout(timer);
        proc.stdout!.off('data', onData);
        proc.stdout!.resume();
        resolve();
      }
    };
    proc.stdout!.on('data', onData);
    proc.once('exit', (code) => reject(new Error(`bridge exited (${code}):\n${buf}`)));
  });
}

type Mode = 'process' | 'inProcess';

async function runScenario(s: Scenario, o: Required<Pick<BenchBridgeOptions, 'durationS' | 'bridgeBin'>> & BenchBridgeOptions, mode: Mode): Promise<BenchRow[]> {
  const tmp = tempDir('sgw-bench-bridge-');
  let gw: RunningGateway | null = null;
  let sims: SerialSimulators | null = null;
  let proc: ChildProcess | null = null;
  let bridge: Bridge | null = null;
  const timed: TimedTransport[] = [];
  try {
    gw = await startGateway({ devices: [{ kind: s.kind, id: s.id, bridge: 'bench' }], bridges: ['bench'] });
    const config = {
      log: { level: 'info' },
      mqtt: { url: gw.mqttUrl, username: 'bridge/bench', password: TEST_SECRET },
      devices: [s.device],
    };
    const file = path.join(tmp.dir, 'bridge.yaml');
    writeFileSync(file, stringify(config), { mode: 0o600 }); // the bridge refuses an inline password others can read
    let simsRef: SerialSimulators | null = null;
    sims = await startSerialSimulators(config as never, {
      mtsics: { streamIntervalMs: 100 },
      chafon: { tagsPerFrame: 4 },
      tags: TAGS,
      wrapTransport: (t) => {
        const w = new TimedTransport(t, s.keys, s.gridMs, s.afterWrite ? () => simsRef && s.afterWrite!(simsRef) : undefined);
        timed.push(w);
        return w;
      },
    });
    simsRef = sims;
    s.setup(sims);

    const samples = new Samples();
    let measuring = false;
    let next = 0;
    let matched = 0;
    let mismatched = 0;
    let events = 0;
    /** One event arrived (committed, or PUBACKed to the bridge): match it to its frame. */
    const arrived = (key: string | null): void => {
      const now = performance.now();
      const exp = timed[0]?.expected[next++];
      if (!exp) return;
      if (key !== null && key !== exp.key) mismatched++;
      else matched++;
      if (measuring) {
        events++;
        samples.add(now - exp.atMs);
      }
    };

    if (mode === 'process') {
      gw.gw.onEvent((e) => {
        if (e.deviceId === s.id) arrived(s.keyOf(JSON.parse(e.data) as Record<string, unknown>));
      });
      proc = spawn(process.execPath, [o.bridgeBin, '--config', file], { stdio: ['ignore', 'pipe', 'inherit'] });
      await waitLine(proc, '"storegw-bridge ready"', 10_000);
    } else {
      // The PUBACK callback does not say which event it acks, but QoS 1 PUBACKs of one connection
      // come in publish order [MQTT-4.6.0-2], so order matching holds; the commit order is checked.
      const parsed = parseBridgeConfig(stringify(config));
      if (!parsed.ok) throw new Error(parsed.errors.join('; '));
      const logger = pino({ level: 'warn' });
      bridge = new Bridge({
        url: gw.mqttUrl,
        username: 'bridge/bench',
        password: TEST_SECRET,
        drivers: createDrivers(parsed.config, { transports: await hardwareTransports(Date.now), logger }),
        logger,
        onPublished: (id, type, err) => {
          if (id === s.id && type !== 'ack' && !err) arrived(null);
        },
      });
      let committedNext = 0;
      gw.gw.onEvent((e) => {
        if (e.deviceId !== s.id) return;
        const exp = timed[0]?.expected[committedNext++];
        if (exp && s.keyOf(JSON.parse(e.data) as Record<string, unknown>) !== exp.key) mismatched++;
      });
      await bridge.start();
    }
    // Warm-up: the connection is up, the JIT has seen the path.
    await new Promise((r) => setTimeout(r, 2000));
    if (mode === 'inProcess') {
      measuring = true;
      await new Promise((r) => setTimeout(r, o.durationS * 1000));
      measuring = false;
      o.progress?.(`${s.bench} (bridge in-process): ${events} PUBACKs, p50 ${samples.percentile(50).toFixed(2)} ms`);
      const row = (metric: string, value: number, unit: string): BenchRow => ({
        bench: s.bench,
        system: 'storegw',
        metric,
        value: Number.isFinite(value) ? Math.round(value * 1000) / 1000 : null,
        unit,
      });
      return [
        row('puback latency p50', samples.percentile(50), 'ms'),
        row('puback latency p99', samples.percentile(99), 'ms'),
        row('puback latency max', samples.max(), 'ms'),
        row('puback unmatched events', mismatched, 'events'),
      ];
    }
    const cpu = new CpuWindow(proc!.pid!);
    measuring = true;
    cpu.start();
    const t0 = performance.now();
    await new Promise((r) => setTimeout(r, o.durationS * 1000));
    const cpuPct = cpu.stop();
    const seconds = (performance.now() - t0) / 1000;
    measuring = false;
    const rss = memory(proc!.pid!).rss;
    o.progress?.(`${s.bench}: ${events} events in ${seconds.toFixed(1)} s, p50 ${samples.percentile(50).toFixed(2)} ms, cpu ${cpuPct.toFixed(1)} %`);
    if (mismatched > 0) o.progress?.(`${s.bench}: ${mismatched} of ${matched + mismatched} events did not match their frame`);
    const row = (metric: string, value: number, unit: string): BenchRow => ({
      bench: s.bench,
      system: 'storegw',
      metric,
      value: Number.isFinite(value) ? Math.round(value * 1000) / 1000 : null,
      unit,
    });
    return [
      row('bridge cpu', cpuPct, '%'),
      row('bridge rss', rss / 1048576, 'MiB'),
      row('events', events / seconds, '/s'),
      row('latency p50', samples.percentile(50), 'ms'),
      row('latency p95', samples.percentile(95), 'ms'),
      row('latency p99', samples.percentile(99), 'ms'),
      row('latency max', samples.max(), 'ms'),
      row('unmatched events', mismatched, 'events'),
    ];
  } finally {
    await bridge?.stop().catch(() => undefined);
    if (proc && proc.exitCode === null && proc.signalCode === null) {
      const exited = once(proc, 'exit');
      proc.kill('SIGTERM');
      await exited;
    }
    await sims?.stop().catch(() => undefined);
    await gw?.stop().catch(() => undefined);
    tmp.remove();
  }
}

/** Runs both bridge benches one after the other; rows in the shape of bench-results.json. */
export async function benchBridge(opts: BenchBridgeOptions = {}): Promise<BenchRow[]> {
  const bridgeBin = path.resolve(opts.bridgeBin ?? 'dist/storegw-bridge.js');
  if (!existsSync(bridgeBin)) throw new Error(`${bridgeBin} is missing: run \`node build.mjs\` first`);
  const durationS = opts.durationS ?? (opts.quick ? 4 : 10);
  const rows: BenchRow[] = [];
  const dir = tempDir('sgw-bench-pty-');
  try {
    for (const s of scenarios(dir.dir)) {
      rows.push(...(await runScenario(s, { ...opts, durationS, bridgeBin }, 'process')));
      rows.push(...(await runScenario(s, { ...opts, durationS: Math.max(2, Math.round(durationS / 2)), bridgeBin }, 'inProcess')));
    }
  } finally {
    dir.remove();
  }
  return rows;
}
