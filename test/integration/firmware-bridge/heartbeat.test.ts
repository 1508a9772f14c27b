/**
 * Check-ins of bridged devices: a device with nothing to say (a light tower, an idle
 * scanner) stayed "stale" on the ops page, because nothing the bridge sent for it refreshed its
 * last-seen time. The bridge sends a heartbeat for every device it holds open, none for one whose
 * port is gone. Real gateway (aedes, ACL, ingest, registry); the drivers are hand-driven fakes.
 */
import { EventEmitter } from 'node:events';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pino } from 'pino';
import { startGateway, TEST_SECRET, type RunningGateway } from '../../helpers/gatewayHarness.js';
import type { NewEvent } from '../../../gateway/outbox/store.js';
import { Bridge } from '../../../firmware-bridge/bridge.js';
import { newStats, type DeviceDriver, type DriverEvents } from '../../../firmware-bridge/devices/deviceDriver.js';
import type { DeviceKind } from '../../../gateway/protocol/topics.js';

/** A driver that says nothing by itself; `online` is set by the test. */
class QuietDriver extends EventEmitter<DriverEvents> implements DeviceDriver {
  readonly stats = newStats();
  online = false;
  constructor(
    readonly kind: DeviceKind,
    readonly id: string,
    private readonly startsOnline: boolean,
  ) {
    super();
  }
  birth() {
    return { model: 'quiet', firmware: '0', capabilities: [] };
  }
  async start() {
    if (!this.startsOnline) return;
    this.online = true;
    this.emit('online');
  }
  async stop() {
    this.online = false;
  }
  async command() {
    return { ok: true };
  }
}

const HEARTBEAT_MS = 300;
let gw: RunningGateway;
let bridge: Bridge;
const light = new QuietDriver('light', 'k1-light', true);
const scanner = new QuietDriver('scanner', 'k1-scanner', true);
const unplugged = new QuietDriver('scale', 'k1-bagging', false);
const heartbeats: NewEvent[] = [];
const waiters = new Set<() => void>();

function heartbeatsOf(id: string, n: number): Promise<NewEvent[]> {
  return new Promise((resolve) => {
    const check = () => {
      const mine = heartbeats.filter((e) => e.deviceId === id);
      if (mine.length < n) return false;
      waiters.delete(check);
      resolve(mine);
      return true;
    };
    if (!check()) waiters.add(check);
  });
}

beforeAll(async () => {
  gw = await startGateway({
    devices: [
      { kind: 'light', id: 'k1-light', bridge: 'kb' },
      { kind: 'scanner', id: 'k1-scanner', bridge: 'kb' },
      { kind: 'scale', id: 'k1-bagging', bridge: 'kb' },
    ],
    bridges: ['kb'],
    // A second without a check-in is stale here: the heartbeats must keep both devices fresh.
    extra: { health: { staleAfterS: { light: 1, scanner: 1, scale: 1 } } },
  });
  gw.gw.onEvent((e) => {
    if (e.type !== 'heartbeat') return;
    heartbeats.push(e);
    for (const w of [...waiters]) w();
  });
  bridge = new Bridge({ url: gw.mqttUrl, username: 'bridge/kb', password: TEST_SECRET, drivers: [light, scanner, unplugged], logger: pino({ level: 'silent' }), heartbeatMs: HEARTBEAT_MS });
  await bridge.start();
}, 30_000);

afterAll(async () => {
  await bridge?.stop();
  await gw?.stop();
});

describe('bridge heartbeats', () => {
  it('keep a device that sends nothing online past its staleness limit; a device whose port is gone gets none', async () => {
    // Five heartbeats each: over a second (the staleness limit) of silence from the devices themselves.
    const [lightBeats, scannerBeats] = await Promise.all([heartbeatsOf('k1-light', 5), heartbeatsOf('k1-scanner', 5)]);
    const first = JSON.parse(lightBeats[0].data) as { uptimeS: number; ts: string };
    expect(first.uptimeS).toBeGreaterThanOrEqual(0);
    expect(Number.isNaN(Date.parse(first.ts))).toBe(false);
    expect(scannerBeats[3].kind).toBe('scanner');
    expect(lightBeats.at(-1)!.recvTs - lightBeats[0].recvTs).toBeGreaterThan(1000);

    const health = (kind: DeviceKind, id: string) => gw.gw.registry.view(gw.gw.registry.get(kind, id)!).health;
    expect(health('light', 'k1-light')).toBe('online');
    expect(health('scanner', 'k1-scanner')).toBe('online');
    expect(heartbeats.filter((e) => e.deviceId === 'k1-bagging')).toEqual([]);
    expect(health('scale', 'k1-bagging')).toBe('offline');
  });
});
