/**
 * Guessing over MQTT: a service user (or bridge) whose secret was hashed at the people's cost
 * (`storegw hash`, 2^15, 32 MiB a check) is checked through the same small gate as people's
 * passwords. 40 parallel wrong CONNECTs run at most the gate's hashes; the rest get CONNACK 3
 * (server unavailable: a client retries later) without a hash, and a device's event commit during
 * the storm is not queued behind 32 MiB hashes in the libuv pool that SQLite needs.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import mqtt from 'mqtt';
import { connectDevice, metric, startGateway, ts, TEST_SECRET, type RunningGateway } from '../../helpers/gatewayHarness.js';
import { hashSecret, PASSWORD_COST } from '../../../gateway/scryptHash.js';

let g: RunningGateway;

beforeAll(async () => {
  const costly = await hashSecret('the-integration-secret-0123', PASSWORD_COST);
  g = await startGateway({
    extra: {
      serviceUsers: [{ username: 'svc-erp', secretHash: costly, read: ['store/v1/dev/+/+/state'], write: [] }],
      http: { host: '127.0.0.1', port: 0, passwordChecks: { concurrent: 2, queued: 4 } },
    },
  });
});
afterAll(async () => {
  await g?.stop();
});

/** One CONNECT with a wrong secret; resolves with the CONNACK return code. */
function wrongConnect(i: number): Promise<number> {
  return new Promise((resolve, reject) => {
    const c = mqtt.connect(g.mqttUrl, { username: 'svc-erp', password: `wrong-guess-${i}`, clientId: `guess-${i}`, reconnectPeriod: 0, connectTimeout: 30_000, protocolVersion: 4 });
    c.once('connect', () => {
      c.end(true);
      reject(new Error('a wrong secret was accepted'));
    });
    c.once('error', (err: Error & { code?: number }) => {
      c.end(true);
      if (typeof err.code === 'number') resolve(err.code);
      else reject(err);
    });
  });
}

describe('40 parallel wrong MQTT secrets for a costly hash', () => {
  it('runs at most the gate of hashes, answers the rest CONNACK 3, and an event commit is not delayed', async () => {
    const dev = await connectDevice(g.mqttUrl, 'footfall/door-1', TEST_SECRET);
    const storm = Promise.all(Array.from({ length: 40 }, (_, i) => wrongConnect(i)));
    // Give the storm its first turn (the CONNECTs are written and the hashes queued), then commit.
    await new Promise((r) => setImmediate(r));
    const t0 = performance.now();
    await dev.publishAsync('store/v1/dev/footfall/door-1/evt/count', JSON.stringify({ ts: ts(), in: 1, out: 0 }), { qos: 1 });
    const commitMs = performance.now() - t0;
    const codes = await storm;
    await dev.endAsync();

    const hashed = codes.filter((c) => c === 4).length;
    const busy = codes.filter((c) => c === 3).length;
    // 2 running + 4 waiting: a 4 means a hash ran and said no; a 3 means none ran.
    expect(hashed).toBeGreaterThanOrEqual(1);
    expect(hashed).toBeLessThanOrEqual(6);
    expect(busy).toBe(40 - hashed);
    expect(await metric(g.httpUrl, 'storegw_mqtt_connects_total{result="busy"}')).toBe(busy);
    expect(await metric(g.httpUrl, 'storegw_mqtt_connects_total{result="bad_credentials"}')).toBe(hashed);
    // Before: 40 hashes of 32 MiB queued in the 4-thread libuv pool ahead of the commit.
    expect(commitMs).toBeLessThan(1500);
  }, 90_000);

  it('still lets the right secret in once the storm is over', async () => {
    const c = await connectDevice(g.mqttUrl, 'svc-erp', 'the-integration-secret-0123', { clientId: 'svc-erp-1' });
    expect(c.connected).toBe(true);
    await c.endAsync();
  }, 60_000);
});
