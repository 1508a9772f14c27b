/**
 * Bad input never loses anything and never stops the gateway: each kind of garbage is rejected
 * with a reason that names the field, counted, logged, and another client keeps being served.
 */
import net from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { MqttClient } from 'mqtt';
import { connectDevice, metric, startGateway, ts, TEST_SECRET, type RunningGateway } from '../../helpers/gatewayHarness.js';

let g: RunningGateway;
let bystander: MqttClient;

beforeAll(async () => {
  g = await startGateway({ maxPacketBytes: 8192, serviceUsers: [{ username: 'analytics', read: ['store/v1/dev/+/+/evt/#'] }] });
  bystander = await connectDevice(g.mqttUrl, 'footfall/door-2', TEST_SECRET);
});
afterAll(async () => {
  await bystander.endAsync();
  await g.stop();
});

/** The bystander still gets its events acknowledged (durably) after each bad input. */
async function bystanderStillServed(): Promise<void> {
  const before = g.gw.registry.get('footfall', 'door-2')!.events;
  await bystander.publishAsync('store/v1/dev/footfall/door-2/evt/count', JSON.stringify({ ts: ts(), in: 1, out: 0 }), { qos: 1 });
  expect(g.gw.registry.get('footfall', 'door-2')!.events).toBe(before + 1);
}

function logged(pred: (l: Record<string, unknown>) => boolean): boolean {
  return g.logs.some(pred);
}

/** Publishes one bad event and returns the `rej` notice the gateway sends back to the device. */
async function publishRejected(topic: string, payload: string): Promise<{ topic: string; reason: string; code: string }> {
  const c = await connectDevice(g.mqttUrl, 'footfall/door-1', TEST_SECRET);
  await c.subscribeAsync('store/v1/dev/footfall/door-1/rej', { qos: 1 });
  const rej = new Promise<{ topic: string; reason: string; code: string }>((resolve) => c.once('message', (_t, p) => resolve(JSON.parse(p.toString()))));
  await c.publishAsync(topic, payload, { qos: 1 });
  const notice = await rej;
  expect(c.connected).toBe(true); // the connection stays up
  await c.endAsync();
  return notice;
}

describe('bad device payloads: rejected with a named reason, dead-lettered, counted, logged', () => {
  it('malformed JSON', async () => {
    const before = await metric(g.httpUrl, 'storegw_rejects_total{code="SGW_ERR_BAD_JSON"}');
    const n = await publishRejected('store/v1/dev/footfall/door-1/evt/count', '{"ts": "2026-11-25T09:00:00Z", in: 3');
    expect(n.reason).toMatch(/^data: is not valid JSON/);
    expect(n.code).toBe('SGW_ERR_BAD_JSON');
    expect(await metric(g.httpUrl, 'storegw_rejects_total{code="SGW_ERR_BAD_JSON"}')).toBe(before + 1);
    const dead = await g.gw.outbox.recentDeadLetters('door-1');
    expect(dead[0].code).toBe('SGW_ERR_BAD_JSON');
    expect(dead[0].payload).toContain('in: 3');
    expect(logged((l) => l.msg === 'event rejected' && l.code === 'SGW_ERR_BAD_JSON' && l.deviceId === 'door-1')).toBe(true);
    await bystanderStillServed();
  });

  it('a payload that breaks its schema names the field', async () => {
    const n = await publishRejected('store/v1/dev/footfall/door-1/evt/count', JSON.stringify({ ts: ts(), in: 1.5 }));
    expect(n.reason).toContain('data.in: must be integer');
    expect(n.reason).toContain('data.out: is required');
    expect(g.gw.registry.get('footfall', 'door-1')!.rejects.SGW_ERR_SCHEMA).toBeGreaterThanOrEqual(1);
    await bystanderStillServed();
  });

  it('an unknown event type of a known kind', async () => {
    const n = await publishRejected('store/v1/dev/footfall/door-1/evt/explode', JSON.stringify({ ts: ts() }));
    expect(n.reason).toMatch(/^topic\.type: footfall has no event "explode"/);
    expect(await metric(g.httpUrl, 'storegw_rejects_total{code="SGW_ERR_UNKNOWN_TYPE"}')).toBeGreaterThanOrEqual(1);
    await bystanderStillServed();
  });

  it('a rejected event is acknowledged but never forwarded to subscribers nor stored as an event', async () => {
    const reader = await connectDevice(g.mqttUrl, 'analytics', TEST_SECRET);
    await reader.subscribeAsync('store/v1/dev/+/+/evt/#', { qos: 1 });
    const seen: string[] = [];
    reader.on('message', (_t, p) => seen.push(p.toString()));
    const dev = await connectDevice(g.mqttUrl, 'footfall/door-1', TEST_SECRET);
    const depthBefore = await g.gw.outbox.depth();
    await dev.publishAsync('store/v1/dev/footfall/door-1/evt/count', 'not json', { qos: 1 });
    const good = JSON.stringify({ ts: ts(), in: 4, out: 0 });
    const goodArrived = new Promise<void>((r) => reader.on('message', (_t, p) => p.toString() === good && r()));
    await dev.publishAsync('store/v1/dev/footfall/door-1/evt/count', good, { qos: 1 });
    await goodArrived; // delivered in order after the bad one, so the bad one had its chance
    expect(seen).toEqual([good]);
    expect(await g.gw.outbox.depth()).toBe(depthBefore + 1);
    await dev.endAsync();
    await reader.endAsync();
  });
});

describe('bad topics close the connection (MQTT 3.1.1 has no negative PUBACK), counted and logged', () => {
  async function closedFor(topic: string): Promise<void> {
    const c = await connectDevice(g.mqttUrl, 'footfall/door-1', TEST_SECRET);
    const gone = new Promise<void>((r) => c.once('close', () => r()));
    c.publish(topic, JSON.stringify({ ts: ts(), in: 1, out: 0 }), { qos: 1 });
    await gone;
    c.end(true);
  }

  it('a wrong topic shape names the level', async () => {
    const before = await metric(g.httpUrl, 'storegw_acl_denied_total{action="publish"}');
    await closedFor('store/v1/dev/footfall/door-1/evt');
    await closedFor('shop/footfall/door-1');
    expect(await metric(g.httpUrl, 'storegw_acl_denied_total{action="publish"}')).toBe(before + 2);
    expect(logged((l) => l.msg === 'publish refused by ACL' && String(l.reason).startsWith('topic.type:'))).toBe(true);
    await bystanderStillServed();
  });

  it('an unknown kind', async () => {
    await closedFor('store/v1/dev/toaster/door-1/evt/count');
    expect(logged((l) => l.msg === 'publish refused by ACL' && String(l.reason).startsWith('topic.kind: must be one of'))).toBe(true);
    await bystanderStillServed();
  });
});

describe('transport-level garbage', () => {
  it('an oversized packet is refused before it is buffered whole', async () => {
    const before = await metric(g.httpUrl, 'storegw_protocol_errors_total{reason="oversized"}');
    const c = await connectDevice(g.mqttUrl, 'footfall/door-1', TEST_SECRET);
    const gone = new Promise<void>((r) => c.once('close', () => r()));
    c.publish('store/v1/dev/footfall/door-1/evt/count', 'x'.repeat(20_000), { qos: 1 });
    await gone;
    c.end(true);
    expect(await metric(g.httpUrl, 'storegw_protocol_errors_total{reason="oversized"}')).toBe(before + 1);
    expect(logged((l) => l.msg === 'connection dropped' && /exceeds maxPacketBytes 8192/.test(String(l.reason)))).toBe(true);
    await bystanderStillServed();
  });

  it('garbage bytes instead of a CONNECT', async () => {
    const before = await metric(g.httpUrl, 'storegw_protocol_errors_total{reason="not_connect"}');
    const port = g.gw.mqttPort;
    await new Promise<void>((resolve) => {
      const s = net.connect({ port, host: '127.0.0.1' }, () => s.write('GET / HTTP/1.1\r\nHost: x\r\n\r\n'));
      s.on('close', () => resolve());
      s.on('error', () => undefined);
    });
    expect(await metric(g.httpUrl, 'storegw_protocol_errors_total{reason="not_connect"}')).toBe(before + 1);
    expect(logged((l) => l.msg === 'connection dropped' && /first packet is not CONNECT \(type byte 0x47\)/.test(String(l.reason)))).toBe(true);
    await bystanderStillServed();
  });
});

describe('bad HTTP bodies', () => {
  it('names the fields, is counted, and the server keeps answering', async () => {
    const before = await metric(g.httpUrl, 'storegw_http_bad_requests_total');
    const r = await fetch(`${g.httpUrl}/api/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ user: 'admin', password: { a: 1 } }) });
    expect(r.status).toBe(400);
    const body = (await r.json()) as { code: string; message: string };
    expect(body.code).toBe('SGW_ERR_SCHEMA');
    expect(body.message).toContain('body.username: is required');
    expect(body.message).toContain('body.password: must be string');
    const r2 = await fetch(`${g.httpUrl}/api/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"username": "admin", ' });
    expect(r2.status).toBe(400);
    expect(await metric(g.httpUrl, 'storegw_http_bad_requests_total')).toBe(before + 2);
    expect((await fetch(`${g.httpUrl}/healthz`)).status).toBe(200);
  });
});
