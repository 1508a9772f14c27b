/**
 * What the terminals benches share: an in-process Bridge built the way the bridge program builds
 * it (its YAML config parsed, drivers made by the factory, real TcpTransport), and a wait on the
 * gateway's committed events that never polls.
 */
import { pino } from 'pino';
import { stringify } from 'yaml';
import { TEST_SECRET, type RunningGateway } from '../helpers/gatewayHarness.js';
import type { NewEvent } from '../../gateway/outbox/store.js';
import { parseBridgeConfig } from '../../firmware-bridge/config.js';
import { createDrivers, type Transports } from '../../firmware-bridge/driverFactory.js';
import { Bridge } from '../../firmware-bridge/bridge.js';
import { TcpTransport } from '../../firmware-bridge/transports/tcp.js';
import type { DeviceDriver } from '../../firmware-bridge/devices/deviceDriver.js';

export interface TerminalBenchRow {
  bench: string;
  system: 'storegw';
  metric: string;
  value: number | null;
  unit: string;
}

export const round = (x: number, d = 2): number | null => (Number.isFinite(x) ? Math.round(x * 10 ** d) / 10 ** d : null);

/** A bridge `bridgeId` for `devices` (bridge config device entries), started and connected. */
export async function startBridge(gw: RunningGateway, bridgeId: string, devices: Record<string, unknown>[]): Promise<{ bridge: Bridge; drivers: DeviceDriver[] }> {
  const parsed = parseBridgeConfig(
    stringify({
      log: { level: 'silent' },
      mqtt: { url: gw.mqttUrl, username: `bridge/${bridgeId}`, password: TEST_SECRET, reconnect: { initialMs: 50, maxMs: 500 } },
      portBackoff: { initialMs: 20, maxMs: 200 },
      devices,
    }),
  );
  if (!parsed.ok) throw new Error(`bench bridge config: ${parsed.errors.join('; ')}`);
  // Only network devices here: a serial, HID or GPIO port asked for is a mistake in the bench.
  const none = (): never => {
    throw new Error('bench: only TCP/HTTP devices are used');
  };
  const transports: Transports = { serial: none, hid: none, gpioIn: none, gpioOut: none, tcp: (o) => new TcpTransport(o) };
  const logger = pino({ level: 'silent' });
  const drivers = createDrivers(parsed.config, { transports, logger });
  const bridge = new Bridge({ url: gw.mqttUrl, username: `bridge/${bridgeId}`, password: TEST_SECRET, drivers, logger, reconnect: parsed.config.mqtt.reconnect });
  await bridge.start();
  return { bridge, drivers };
}

/**
 * The gateway's committed events (after the outbox commit: `onEvent` fires from ingest's commit
 * observer), with a wait for the first one that matches from now on.
 */
export class CommittedEvents {
  private readonly waiters = new Set<(e: NewEvent, at: number) => void>();

  constructor(gw: RunningGateway) {
    gw.gw.onEvent((e) => {
      const at = performance.now();
      for (const w of [...this.waiters]) w(e, at);
    });
  }

  /** Resolves with the time (performance.now()) the first matching event was committed. */
  next(match: (e: NewEvent, data: Record<string, unknown>) => boolean, what: string, timeoutMs = 15_000): Promise<{ at: number; data: Record<string, unknown> }> {
    return new Promise((resolve, reject) => {
      const t = setTimeout(() => {
        this.waiters.delete(w);
        reject(new Error(`bench: timed out waiting for ${what}`));
      }, timeoutMs);
      const w = (e: NewEvent, at: number) => {
        const data = JSON.parse(e.data) as Record<string, unknown>;
        if (!match(e, data)) return;
        clearTimeout(t);
        this.waiters.delete(w);
        resolve({ at, data });
      };
      this.waiters.add(w);
    });
  }
}
