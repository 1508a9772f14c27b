/**
 * The other doors of the broker: MQTT over WebSocket on the HTTP port (same trust as TCP), and the
 * per-address connect rate limit.
 */
import net from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectDevice, metric, startGateway, ts, TEST_SECRET, type RunningGateway } from '../../helpers/gatewayHarness.js';

describe('MQTT over WebSocket on the HTTP port', () => {
  let g: RunningGateway;
  beforeAll(async () => {
    // /mqtt is off unless the config turns it on.
    g = await startGateway({ extra: { mqtt: { host: '127.0.0.1', port: 0, maxPacketBytes: 65536, connectRate: { perSecond: 1000, burst: 5000 }, websocket: { enabled: true } } } });
  });
  afterAll(async () => g.stop());

  it('authenticates, applies the ACL and commits events like TCP', async () => {
    const wsUrl = `ws://127.0.0.1:${g.gw.httpPort}/mqtt`;
    const c = await connectDevice(wsUrl, 'footfall/door-1', TEST_SECRET);
    await c.publishAsync('store/v1/dev/footfall/door-1/evt/count', JSON.stringify({ ts: ts(), in: 2, out: 1 }), { qos: 1 });
    expect(g.gw.registry.get('footfall', 'door-1')!.events).toBe(1);
    const gone = new Promise<void>((r) => c.once('close', () => r()));
    c.publish('store/v1/dev/footfall/door-2/evt/count', JSON.stringify({ ts: ts(), in: 1, out: 0 }), { qos: 1 });
    await gone;
    c.end(true);
    await expect(connectDevice(wsUrl, 'footfall/door-1', 'wrong')).rejects.toMatchObject({ code: 4 });
  });
});

describe('connect rate limit per address', () => {
  let g: RunningGateway;
  beforeAll(async () => {
    g = await startGateway({ connectRate: { perSecond: 0.1, burst: 3 } });
  });
  afterAll(async () => g.stop());

  it('lets the burst in, then drops connections from that address and counts them', async () => {
    for (let i = 0; i < 3; i++) {
      const c = await connectDevice(g.mqttUrl, 'footfall/door-1', TEST_SECRET);
      await c.endAsync();
    }
    // The 4th TCP connection is closed before any MQTT byte is read.
    const closedWithoutConnack = await new Promise<boolean>((resolve) => {
      const s = net.connect({ port: g.gw.mqttPort, host: '127.0.0.1' });
      let data = false;
      s.on('data', () => (data = true));
      s.on('close', () => resolve(!data));
      s.on('error', () => undefined);
    });
    expect(closedWithoutConnack).toBe(true);
    expect(await metric(g.httpUrl, 'storegw_mqtt_connects_total{result="rate_limited"}')).toBe(1);
    expect(g.logs.some((l) => l.msg === 'connection refused: too many connects from this address')).toBe(true);
  });
});
