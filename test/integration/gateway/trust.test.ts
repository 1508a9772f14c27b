/**
 * Device trust with real mqtt.js clients against the real broker: credentials at CONNACK, the ACL
 * on publish and subscribe, bridges and service users, each refusal counted in /metrics.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { MqttClient } from 'mqtt';
import { connectDevice, metric, startGateway, suback, ts, TEST_SECRET, type RunningGateway } from '../../helpers/gatewayHarness.js';

let g: RunningGateway;
beforeAll(async () => {
  g = await startGateway({
    devices: [
      { kind: 'footfall', id: 'door-1' },
      { kind: 'footfall', id: 'door-2' },
      { kind: 'scale', id: 'bag-1', bridge: 'kb' },
      { kind: 'scale', id: 'bag-2' },
    ],
    bridges: ['kb'],
    serviceUsers: [{ username: 'analytics', read: ['store/v1/dev/+/+/evt/#'] }],
  });
});
afterAll(async () => g.stop());

function closed(c: MqttClient): Promise<void> {
  return new Promise((resolve) => c.once('close', () => resolve()));
}

describe('authentication at CONNACK', () => {
  it('lets a device in with its own secret', async () => {
    const c = await connectDevice(g.mqttUrl, 'footfall/door-1', TEST_SECRET);
    expect(c.connected).toBe(true);
    await c.endAsync();
    expect(await metric(g.httpUrl, 'storegw_mqtt_connects_total{result="ok"}')).toBeGreaterThanOrEqual(1);
  });

  it('refuses a wrong password with code 4, an unknown user with 5, no credential with 4', async () => {
    await expect(connectDevice(g.mqttUrl, 'footfall/door-1', 'wrong')).rejects.toMatchObject({ code: 4 });
    await expect(connectDevice(g.mqttUrl, 'footfall/door-99', TEST_SECRET)).rejects.toMatchObject({ code: 5 });
    await expect(connectDevice(g.mqttUrl, undefined, undefined)).rejects.toMatchObject({ code: 4 });
    expect(await metric(g.httpUrl, 'storegw_mqtt_connects_total{result="bad_credentials"}')).toBeGreaterThanOrEqual(1);
    expect(await metric(g.httpUrl, 'storegw_mqtt_connects_total{result="unknown_user"}')).toBeGreaterThanOrEqual(1);
    expect(await metric(g.httpUrl, 'storegw_mqtt_connects_total{result="no_credentials"}')).toBeGreaterThanOrEqual(1);
  });

  it('lists an unprovisioned device that tried for ops instead of adopting it', async () => {
    const refused = g.gw.registry.refusedDevices().find((r) => r.username === 'footfall/door-99');
    expect(refused?.attempts).toBeGreaterThanOrEqual(1);
    expect(g.gw.registry.get('footfall', 'door-99')).toBeUndefined();
  });

  it('refuses a bridged device connecting on its own (only the bridge speaks for it)', async () => {
    await expect(connectDevice(g.mqttUrl, 'scale/bag-1', TEST_SECRET)).rejects.toMatchObject({ code: 4 });
  });
});

describe('ACL', () => {
  it("closes the connection of a device that publishes under another device's topic, and counts it", async () => {
    const before = await metric(g.httpUrl, 'storegw_acl_denied_total{action="publish"}');
    const a = await connectDevice(g.mqttUrl, 'footfall/door-1', TEST_SECRET);
    const gone = closed(a);
    a.publish('store/v1/dev/footfall/door-2/evt/count', JSON.stringify({ ts: ts(), in: 1, out: 0 }), { qos: 1 });
    await gone;
    expect(await metric(g.httpUrl, 'storegw_acl_denied_total{action="publish"}')).toBe(before + 1);
    expect(g.gw.registry.get('footfall', 'door-2')!.events).toBe(0);
    a.end(true);
  });

  it("refuses a subscription to another device's cmd/# (SUBACK 0x80) and counts it", async () => {
    const before = await metric(g.httpUrl, 'storegw_acl_denied_total{action="subscribe"}');
    const a = await connectDevice(g.mqttUrl, 'footfall/door-1', TEST_SECRET);
    expect(await suback(a, 'store/v1/dev/footfall/door-2/cmd/#')).toBe(128);
    expect(await suback(a, 'store/v1/dev/footfall/door-1/cmd/#')).toBe(1);
    expect(await suback(a, 'store/v1/dev/+/+/cmd/#')).toBe(128);
    expect(await metric(g.httpUrl, 'storegw_acl_denied_total{action="subscribe"}')).toBe(before + 2);
    await a.endAsync();
  });

  it('does not let a device write its own cmd topic', async () => {
    const a = await connectDevice(g.mqttUrl, 'footfall/door-1', TEST_SECRET);
    const gone = closed(a);
    a.publish('store/v1/dev/footfall/door-1/cmd/set', '{}', { qos: 1 });
    await gone;
    a.end(true);
  });

  it('lets a bridge act for its own devices only', async () => {
    const b = await connectDevice(g.mqttUrl, 'bridge/kb', TEST_SECRET);
    await b.publishAsync('store/v1/dev/scale/bag-1/evt/weight', JSON.stringify({ ts: ts(), grams: 120, stable: true }), { qos: 1 });
    expect(g.gw.registry.get('scale', 'bag-1')!.events).toBe(1);
    expect(await suback(b, 'store/v1/dev/scale/bag-1/cmd/#')).toBe(1);
    expect(await suback(b, 'store/v1/dev/scale/bag-2/cmd/#')).toBe(128);
    const gone = closed(b);
    b.publish('store/v1/dev/scale/bag-2/evt/weight', JSON.stringify({ ts: ts(), grams: 1, stable: true }), { qos: 1 });
    await gone;
    expect(g.gw.registry.get('scale', 'bag-2')!.events).toBe(0);
    b.end(true);
  });

  it('gives a service user exactly its topic patterns', async () => {
    const s = await connectDevice(g.mqttUrl, 'analytics', TEST_SECRET);
    expect(await suback(s, 'store/v1/dev/footfall/+/evt/count', 0)).toBe(0);
    expect(await suback(s, 'store/v1/dev/+/+/cmd/#')).toBe(128);
    expect(await suback(s, '#')).toBe(128);
    const got = new Promise<string>((resolve) => s.once('message', (topic) => resolve(topic)));
    const d = await connectDevice(g.mqttUrl, 'footfall/door-2', TEST_SECRET);
    await d.publishAsync('store/v1/dev/footfall/door-2/evt/count', JSON.stringify({ ts: ts(), in: 2, out: 0 }), { qos: 1 });
    expect(await got).toBe('store/v1/dev/footfall/door-2/evt/count');
    await d.endAsync();
    await s.endAsync();
  });
});
