/**
 * The demo's LAN hardware, simulated at the byte and API level: a ZVT card terminal (kiosk 1 pays
 * by card through it), an ESC/POS receipt printer (kiosk 1's receipts) and an OpenEPaperLink access
 * point (ap-1's shelf labels). Each listens on a free local port, found when it starts; the bridge
 * config's `zvt`, `escpos` and `oepl` entries are rewritten to point at them, so the bridge's real
 * drivers and transports (TCP, HTTP, WebSocket) carry every byte.
 */
import { scaledMs } from './demoTimeScale.js';
import path from 'node:path';
import type { BridgeDeviceConfig } from '../../firmware-bridge/config.js';
import { ZvtSim } from '../../firmware-bridge/devices/zvt/sim.js';
import { PrinterSim } from '../../firmware-bridge/devices/escpos/sim.js';
import { OeplApSim } from '../../firmware-bridge/devices/oepl/sim.js';
import { simMac } from '../../firmware-bridge/devices/oepl/simDb.js';

/** The terminal's pause between the steps of a payment: long enough to read its prompts on the page. */
const ZVT_THINK_MS = 800;
/**
 * How often the AP's tags check in. A label is acked only once its tag took the content, at its
 * next check-in; the demo gateway declares a label command lost after 15 s (esl.ackTimeoutMs).
 */
const TAG_CHECK_IN_MS = 5000;

export interface LanDevices {
  /** The bridge's device entries, with the simulators' ports (and the AP's label → MAC table) filled in. */
  devices: BridgeDeviceConfig[];
  zvt: Map<string, ZvtSim>;
  printers: Map<string, PrinterSim>;
  aps: Map<string, OeplApSim>;
  stop(): Promise<void>;
}

/**
 * Starts a simulator for every `zvt`, `escpos` and `oepl` entry of `devices`. `stateDir` is where
 * the ZVT payment journals go (the demo's data folder); `labelsByAp` names the labels HQ binds to
 * each access point: the AP simulator gets one tag per label, the driver the label → MAC table.
 */
export async function startLanDevices(devices: readonly Readonly<BridgeDeviceConfig>[], stateDir: string, labelsByAp: ReadonlyMap<string, readonly string[]>, timeScale = 1): Promise<LanDevices> {
  const zvt = new Map<string, ZvtSim>();
  const printers = new Map<string, PrinterSim>();
  const aps = new Map<string, OeplApSim>();
  const stop = async () => {
    for (const s of aps.values()) await s.stop().catch(() => undefined);
    for (const s of printers.values()) await s.stop().catch(() => undefined);
    for (const s of zvt.values()) await s.stop().catch(() => undefined);
  };
  const out: BridgeDeviceConfig[] = [];
  try {
    for (const d of devices) {
      if (d.protocol === 'zvt' && d.tcp) {
        const sim = new ZvtSim({ host: '127.0.0.1', port: 0, thinkMs: ZVT_THINK_MS });
        await sim.start();
        zvt.set(d.id, sim);
        out.push({ ...d, tcp: { ...d.tcp, host: '127.0.0.1', port: sim.port }, options: { ...d.options, stateDir: path.join(stateDir, 'zvt') } });
      } else if (d.protocol === 'escpos' && d.tcp) {
        const sim = new PrinterSim();
        const port = await sim.listen(0, '127.0.0.1');
        printers.set(d.id, sim);
        out.push({ ...d, tcp: { ...d.tcp, host: '127.0.0.1', port } });
      } else if (d.protocol === 'oepl') {
        const labels = labelsByAp.get(d.id) ?? [];
        const macs = labels.map((_, i) => simMac(i));
        const sim = new OeplApSim({ tags: macs, checkInMs: scaledMs(TAG_CHECK_IN_MS, timeScale) });
        await sim.start();
        aps.set(d.id, sim);
        const tags = Object.fromEntries(labels.map((l, i) => [l, macs[i]!]));
        out.push({ ...d, http: { url: sim.url }, options: { ...d.options, tags } });
      } else {
        out.push(d);
      }
    }
  } catch (err) {
    await stop();
    throw err;
  }
  return { devices: out, zvt, printers, aps, stop };
}
