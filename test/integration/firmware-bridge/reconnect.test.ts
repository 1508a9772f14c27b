/**
 * The gateway is not there when the bridge starts: the drivers run anyway, events queue up to
 * `maxQueued` (the rest are dropped and counted), and once the gateway listens the bridge connects
 * by itself, says birth and state, and the queued events are committed in order.
 */
import { EventEmitter } from 'node:events';
import { afterAll, describe, expect, it } from 'vitest';
import { pino } from 'pino';
import { startGateway, TEST_SECRET, type RunningGateway } from '../../helpers/gatewayHarness.js';
import { freePort } from '../../helpers/ports.js';
import type { OutboxRecord } from '../../../gateway/outbox/store.js';
import { Bridge } from '../../../firmware-bridge/bridge.js';
import { newStats, type DeviceDriver, type DriverEvents } from '../../../firmware-bridge/devices/deviceDriver.js';

class CountingScale extends EventEmitter<DriverEvents> implements DeviceDriver {
  readonly kind = 'scale' as const;
  readonly stats = newStats();
  online = false;
  starts = 0;
  /** start() fails this many times first (a GPIO line not exported yet). */
  constructor(
    readonly id: string,
    private failStarts = 0,
  ) {
    super();
  }
  birth() {
    return { model: 'counting scale', firmware: '1', capabilities: ['weight'] };
  }
  async start() {
    this.starts++;
    if (this.failStarts-- > 0) throw new Error('gpio 5: GPIO is not accessible on this machine');
    this.online = true;
    this.emit('online');
  }
  async stop() {
    this.online = false;
  }
  async command() {
    return { ok: true };
  }
  weigh(grams: number): void {
    this.stats.events++;
    this.emit('event', { type: 'weight', data: { ts: new Date().toISOString(), grams, stable: true } });
  }
}

let gw: RunningGateway | null = null;
let bridge: Bridge | null = null;
afterAll(async () => {
  await bridge?.stop();
  await gw?.stop();
});

describe('bridge before the gateway', () => {
  it('queues up to maxQueued, drops and counts the rest, connects when the gateway comes; a driver that fails to start is retried', async () => {
    const port = await freePort();
    const scale = new CountingScale('late-1');
    const flaky = new CountingScale('flaky-1', 2);
    bridge = new Bridge({
      url: `mqtt://127.0.0.1:${port}`,
      username: 'bridge/kb',
      password: TEST_SECRET,
      drivers: [scale, flaky],
      startBackoff: { initialMs: 10, maxMs: 50, factor: 2 },
      logger: pino({ level: process.env.BRIDGE_TEST_LOG ?? 'silent' }),
      reconnect: { initialMs: 20, maxMs: 100, factor: 2 },
      maxQueued: 10,
      mqttOptions: { connectTimeout: 1000 },
    });
    await bridge.start();
    expect(bridge.connected).toBe(false);
    for (let g = 1; g <= 15; g++) scale.weigh(g);
    expect(bridge.stats()[0]).toMatchObject({ events: 15, dropped: 5, acked: 0, online: true });

    gw = await startGateway({
      mqttPort: port,
      devices: [
        { kind: 'scale', id: 'late-1', bridge: 'kb' },
        { kind: 'scale', id: 'flaky-1', bridge: 'kb' },
      ],
      bridges: ['kb'],
    });
    // The bridge may connect while the gateway is still starting, before an observer can be added:
    // the outbox is read again on every commit until the ten queued events are in it.
    const g = gw;
    const rows = await new Promise<OutboxRecord[]>((resolve) => {
      const check = async () => {
        const r = await g.gw.outbox.read(0, 100);
        if (r.length >= 10) resolve(r);
      };
      g.gw.onEvent(() => void check());
      void check();
    });
    expect(rows.map((e) => e.data.grams)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
    const entry = gw.gw.registry.get('scale', 'late-1')!;
    expect(entry.online).toBe(true);
    expect(entry.via).toBe('bridge');
    expect(bridge.connected).toBe(true);

    // The driver whose start failed twice was started again by itself and is online.
    const g2 = gw;
    await new Promise<void>((resolve) => {
      if (g2.gw.registry.get('scale', 'flaky-1')!.online) return resolve();
      const off = g2.gw.registry.onChange((d) => {
        if (d.id === 'flaky-1' && d.online) {
          off();
          resolve();
        }
      });
    });
    expect(flaky.starts).toBe(3);
  });
});
