/**
 * Bounded broker state: sessions end with their connection (the command store, not the broker,
 * keeps what a device must get), QoS 2 refused, subscriptions granted at most QoS 1, keep-alive 0
 * or above `mqtt.maxKeepaliveS` refused, connections capped per credential, inbound publishes in
 * flight capped per client. Each refusal counted.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectDevice, metric, startGateway, suback, ts, TEST_SECRET, type RunningGateway } from '../../helpers/gatewayHarness.js';
import { rawConnect, type RawClient } from '../../helpers/rawMqtt.js';

let g: RunningGateway;
let port: number;
const open: RawClient[] = [];
beforeAll(async () => {
  g = await startGateway({
    devices: [
      { kind: 'footfall', id: 'door-1' },
      { kind: 'footfall', id: 'door-2' },
      { kind: 'footfall', id: 'door-3' },
      { kind: 'rfid', id: 'gate-1' },
    ],
    serviceUsers: [{ username: 'analytics', read: ['store/v1/dev/+/+/evt/#'] }],
    extra: {
      mqtt: {
        host: '127.0.0.1',
        port: 0,
        maxPacketBytes: 65536,
        connectRate: { perSecond: 1000, burst: 5000 },
        maxKeepaliveS: 120,
        maxConnectionsPerCredential: 2,
        maxInflightPerClient: 8,
      },
    },
  });
  port = g.gw.mqttPort;
});
afterAll(async () => {
  for (const c of open) c.end();
  await g.stop();
});

async function conn(clientId: string, username: string, extra: { clean?: boolean; keepalive?: number } = {}): Promise<RawClient> {
  const c = await rawConnect(port, { clientId, username, password: TEST_SECRET, ...extra });
  open.push(c);
  return c;
}

async function alive(c: RawClient): Promise<boolean> {
  const pong = c.next('pingresp');
  c.send({ cmd: 'pingreq' });
  return (await pong) !== null;
}

describe('sessions end with the connection', () => {
  it('a device asking for a persistent session never finds one: sessionPresent stays 0, nothing queued for it', async () => {
    const a = await conn('door-1-persist', 'footfall/door-1', { clean: false });
    expect(a.returnCode).toBe(0);
    const granted = a.next('suback');
    a.send({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic: 'store/v1/dev/footfall/door-1/cmd/#', qos: 1 }] });
    expect(await granted).not.toBeNull();
    a.end();
    await a.closed;
    const b = await conn('door-1-persist', 'footfall/door-1', { clean: false });
    expect(b.returnCode).toBe(0);
    expect(b.sessionPresent).toBe(false);
    b.end();
  });

  it('a service user asking for a persistent session gets none either', async () => {
    const a = await conn('analytics-persist', 'analytics', { clean: false });
    const granted = a.next('suback');
    a.send({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic: 'store/v1/dev/+/+/evt/#', qos: 1 }] });
    expect(await granted).not.toBeNull();
    a.end();
    await a.closed;
    const b = await conn('analytics-persist', 'analytics', { clean: false });
    expect(b.sessionPresent).toBe(false);
    b.end();
  });
});

describe('QoS 2', () => {
  it('a QoS 2 PUBLISH closes the connection, counted; nothing stored', async () => {
    const before = await metric(g.httpUrl, 'storegw_mqtt_refused_total{reason="qos2"}');
    const seq = g.gw.ingest.lastSeq;
    const a = await conn('door-2-q2', 'footfall/door-2');
    a.send({ cmd: 'publish', topic: 'store/v1/dev/footfall/door-2/evt/count', qos: 2, messageId: 7, payload: JSON.stringify({ ts: ts(), in: 1, out: 0 }) });
    const pubrec = await a.next('pubrec');
    expect(pubrec).toBeNull();
    expect(g.gw.ingest.lastSeq).toBe(seq);
    expect(await metric(g.httpUrl, 'storegw_mqtt_refused_total{reason="qos2"}')).toBe(before + 1);
  });

  it('a subscription asking QoS 2 is granted QoS 1', async () => {
    const c = await connectDevice(g.mqttUrl, 'footfall/door-2', TEST_SECRET);
    expect(await suback(c, 'store/v1/dev/footfall/door-2/cmd/#', 2 as 1)).toBe(1);
    await c.endAsync();
  });
});

describe('keep-alive', () => {
  it('refuses keep-alive 0 and keep-alive above mqtt.maxKeepaliveS with CONNACK 2, counted', async () => {
    const before = await metric(g.httpUrl, 'storegw_mqtt_connects_total{result="keepalive"}');
    const zero = await conn('door-3-ka0', 'footfall/door-3', { keepalive: 0 });
    expect(zero.returnCode).toBe(2);
    const long = await conn('door-3-ka', 'footfall/door-3', { keepalive: 121 });
    expect(long.returnCode).toBe(2);
    const ok = await conn('door-3-ka', 'footfall/door-3', { keepalive: 120 });
    expect(ok.returnCode).toBe(0);
    ok.end();
    expect(await metric(g.httpUrl, 'storegw_mqtt_connects_total{result="keepalive"}')).toBe(before + 2);
  });
});

describe('connections per credential', () => {
  it('refuses a third connection of one credential under a new client id (CONNACK 3); the first two stay', async () => {
    const before = await metric(g.httpUrl, 'storegw_mqtt_connects_total{result="credential_cap"}');
    const a = await conn('gate-1-a', 'rfid/gate-1');
    const b = await conn('gate-1-b', 'rfid/gate-1');
    expect([a.returnCode, b.returnCode]).toEqual([0, 0]);
    const c = await conn('gate-1-c', 'rfid/gate-1');
    expect(c.returnCode).toBe(3);
    expect(await alive(a)).toBe(true);
    expect(await alive(b)).toBe(true);
    // Reconnecting under an id it holds is a takeover, not one more connection.
    const a2 = await conn('gate-1-a', 'rfid/gate-1');
    expect(a2.returnCode).toBe(0);
    await a.closed;
    expect(await metric(g.httpUrl, 'storegw_mqtt_connects_total{result="credential_cap"}')).toBe(before + 1);
    a2.end();
    b.end();
    await Promise.all([a2.closed, b.closed]);
  });
});

describe('publishes in flight per client', () => {
  it('a client pipelining more unacknowledged QoS 1 events than mqtt.maxInflightPerClient is closed, counted', async () => {
    const before = await metric(g.httpUrl, 'storegw_mqtt_refused_total{reason="inflight"}');
    const a = await conn('door-3-flood', 'footfall/door-3');
    expect(a.returnCode).toBe(0);
    const burst: Buffer[] = [];
    const mqttPacket = (await import('mqtt-packet')).default;
    for (let i = 1; i <= 200; i++) {
      burst.push(mqttPacket.generate({ cmd: 'publish', topic: 'store/v1/dev/footfall/door-3/evt/count', qos: 1, messageId: i, payload: JSON.stringify({ ts: ts(), in: 1, out: 0 }), dup: false, retain: false }));
    }
    a.socket.write(Buffer.concat(burst));
    await a.closed;
    expect(await metric(g.httpUrl, 'storegw_mqtt_refused_total{reason="inflight"}')).toBe(before + 1);
    // A device that waits for its PUBACKs is fine.
    const c = await connectDevice(g.mqttUrl, 'footfall/door-3', TEST_SECRET);
    for (let i = 0; i < 20; i++) await c.publishAsync('store/v1/dev/footfall/door-3/evt/count', JSON.stringify({ ts: ts(), in: 1, out: 0 }), { qos: 1 });
    await c.endAsync();
  });
});
