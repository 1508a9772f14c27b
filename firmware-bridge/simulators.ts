/**
 * The serial hardware of a bridge config, simulated: for every serial device a socat pty pair
 * (the bridge opens `serial.path`, the simulator `serial.path + '.sim'`) with the device's simulator
 * on the far end, speaking the real bytes through its codec. For the demo and the tests; nothing
 * here runs unless `startSerialSimulators` is called. `unplug`/`replug` kill and restart one socat:
 * the pty vanishes like a pulled USB cable.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import type { BridgeConfig, BridgeDeviceConfig } from './config.js';
import { SerialTransport } from './transports/serial.js';
import { MtsicsSim, type MtsicsSimOptions } from './devices/mtsics/sim.js';
import { ToledoSim, type ToledoSimOptions } from './devices/toledoContinuous/sim.js';
import { ChafonSim, type ChafonSimOptions, type SimTag } from './devices/chafon/sim.js';
import type { ByteTransport } from './transports/transport.js';
import { ZvtSim, type ZvtSimOptions } from './devices/zvt/sim.js';

export interface Socat {
  proc: ChildProcess;
  stop(): Promise<void>;
}

/** Starts socat linking two ptys at the given paths; resolves once it is copying data. */
export async function startSocat(hostPath: string, simPath: string, socatBin = 'socat'): Promise<Socat> {
  mkdirSync(path.dirname(hostPath), { recursive: true });
  const proc = spawn(socatBin, ['-d', '-d', `pty,raw,echo=0,link=${hostPath}`, `pty,raw,echo=0,link=${simPath}`], { stdio: ['ignore', 'ignore', 'pipe'] });
  await new Promise<void>((resolve, reject) => {
    let err = '';
    const onData = (d: Buffer) => {
      err += d.toString();
      if (err.includes('starting data transfer loop')) {
        proc.stderr!.off('data', onData);
        proc.stderr!.resume();
        resolve();
      }
    };
    proc.stderr!.on('data', onData);
    proc.once('error', reject);
    proc.once('exit', (code) => reject(new Error(`socat exited (${code}): ${err}`)));
  });
  const exited = once(proc, 'exit');
  return {
    proc,
    async stop() {
      if (proc.exitCode === null && proc.signalCode === null) {
        proc.kill('SIGTERM');
        await exited;
      }
    },
  };
}

export type SerialSim = MtsicsSim | ToledoSim | ChafonSim;

export interface SimOptions {
  mtsics?: MtsicsSimOptions;
  toledoContinuous?: ToledoSimOptions;
  chafon?: ChafonSimOptions;
  /** Tags a Chafon reader sees when it starts (default: three SGTIN-96 tags on antenna 1). */
  tags?: SimTag[];
  /** Grams on a scale when it starts (default 0). */
  grams?: number;
  socatBin?: string;
  /** Wraps each simulator's transport (the bench times the bytes it writes). */
  wrapTransport?: (t: ByteTransport, deviceId: string) => ByteTransport;
}

export const DEMO_TAGS: readonly SimTag[] = Object.freeze([
  { epc: '3074257BF7194E4000001A85', rssi: 0x6b, antenna: 1 },
  { epc: '3074257BF7194E4000001A86', rssi: 0x5a, antenna: 1 },
  { epc: '3074257BF7194E4000001A87', rssi: 0x48, antenna: 1 },
]);

export interface SerialSimulators {
  /** The simulator of each serial device, by device id (replaced on replug). */
  sims: Map<string, SerialSim>;
  unplug(deviceId: string): Promise<void>;
  replug(deviceId: string): Promise<SerialSim>;
  stop(): Promise<void>;
}

interface Running {
  device: Readonly<BridgeDeviceConfig>;
  socat: Socat | null;
}

function makeSim(d: Readonly<BridgeDeviceConfig>, o: SimOptions): SerialSim {
  const s = d.serial!;
  let transport: ByteTransport = new SerialTransport({
    path: `${s.path}.sim`,
    baudRate: s.baudRate,
    dataBits: s.dataBits as 5 | 6 | 7 | 8,
    parity: s.parity as 'none',
    stopBits: s.stopBits as 1,
    presenceCheckMs: 0,
  });
  // A write into a pty whose far end is gone fails with EIO: the simulators catch the write, but
  // serialport also emits it as 'error', which must not become an uncaught exception.
  transport.on('error', () => undefined);
  if (o.wrapTransport) transport = o.wrapTransport(transport, d.id);
  switch (d.protocol) {
    case 'mtsics': {
      const sim = new MtsicsSim(transport, o.mtsics);
      sim.setWeight(o.grams ?? 0);
      return sim;
    }
    case 'toledoContinuous': {
      const sim = new ToledoSim(transport, o.toledoContinuous);
      sim.setWeight(o.grams ?? 0);
      return sim;
    }
    case 'chafon': {
      const variant = (d.options as { variant?: '18' | '288' }).variant;
      const sim = new ChafonSim(transport, { variant, adr: (d.options as { adr?: number }).adr, ...o.chafon });
      sim.tags = [...(o.tags ?? DEMO_TAGS)];
      return sim;
    }
    default:
      throw new TypeError(`${d.protocol} is not a serial protocol`);
  }
}

/** Starts a socat pty pair and a simulator for every serial device of the config. */
export async function startSerialSimulators(config: Pick<Readonly<BridgeConfig>, 'devices'>, o: SimOptions = {}): Promise<SerialSimulators> {
  const sims = new Map<string, SerialSim>();
  const running = new Map<string, Running>();

  async function plug(r: Running): Promise<SerialSim> {
    const p = r.device.serial!.path;
    r.socat = await startSocat(p, `${p}.sim`, o.socatBin);
    const sim = makeSim(r.device, o);
    await sim.start();
    sims.set(r.device.id, sim);
    return sim;
  }

  async function unplug(deviceId: string): Promise<void> {
    const r = running.get(deviceId);
    if (!r) throw new Error(`no simulated serial device ${deviceId}`);
    const sim = sims.get(deviceId);
    sims.delete(deviceId);
    const s = r.socat;
    r.socat = null;
    // The simulator stops first so it never writes into a vanished pty; then the pty pair goes.
    await sim?.stop().catch(() => undefined);
    await s?.stop();
  }

  const handle: SerialSimulators = {
    sims,
    unplug,
    async replug(deviceId) {
      const r = running.get(deviceId);
      if (!r) throw new Error(`no simulated serial device ${deviceId}`);
      if (r.socat) throw new Error(`${deviceId} is plugged in`);
      return plug(r);
    },
    async stop() {
      for (const id of [...running.keys()].reverse()) await unplug(id).catch(() => undefined);
    },
  };
  try {
    for (const d of config.devices) {
      if (!d.serial) continue;
      const r: Running = { device: d, socat: null };
      running.set(d.id, r);
      await plug(r);
    }
  } catch (err) {
    await handle.stop();
    throw err;
  }
  return handle;
}

/**
 * A simulated card terminal for every `zvt` device of the config reached over TCP, listening on its
 * `tcp.host:tcp.port` (the demo starts these beside the serial simulators). Stop them with `stop()`.
 */
export async function startZvtSimulators(
  config: Pick<Readonly<BridgeConfig>, 'devices'>,
  o: Omit<ZvtSimOptions, 'host' | 'port'> = {},
): Promise<{ sims: Map<string, ZvtSim>; stop(): Promise<void> }> {
  const sims = new Map<string, ZvtSim>();
  const stop = async () => {
    for (const s of [...sims.values()].reverse()) await s.stop().catch(() => undefined);
  };
  try {
    for (const d of config.devices) {
      if (d.protocol !== 'zvt' || !d.tcp) continue;
      const sim = new ZvtSim({ ...o, host: d.tcp.host, port: d.tcp.port });
      await sim.start();
      sims.set(d.id, sim);
    }
  } catch (err) {
    await stop();
    throw err;
  }
  return { sims, stop };
}
