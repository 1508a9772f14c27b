/**
 * A client id belongs to its credential: another credential presenting an id that is held (or was
 * bound recently) by a different credential gets CONNACK 5 and the holder stays connected; the
 * same credential reconnecting takes over its own session [MQTT-3.1.4-2]. A zero-length client id
 * gets a server-assigned id with clean session 1 [MQTT-3.1.3-6] and CONNACK 2 with clean session
 * 0 [MQTT-3.1.3-8].
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { metric, startGateway, TEST_SECRET, type RunningGateway } from '../../helpers/gatewayHarness.js';
import { rawConnect, type RawClient } from '../../helpers/rawMqtt.js';

let g: RunningGateway;
let port: number;
const open: RawClient[] = [];
beforeAll(async () => {
  g = await startGateway({
    devices: [
      { kind: 'footfall', id: 'door-1' },
      { kind: 'footfall', id: 'door-2' },
      { kind: 'scanner', id: 'sc-1' },
      { kind: 'scale', id: 'bag-1', bridge: 'kb' },
    ],
    bridges: ['kb', 'kb2'],
    serviceUsers: [{ username: 'analytics', read: ['store/v1/dev/+/+/evt/#'] }],
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

/** Proves a connection is still served: a PINGREQ gets its PINGRESP. */
async function alive(c: RawClient): Promise<boolean> {
  const pong = c.next('pingresp');
  c.send({ cmd: 'pingreq' });
  return (await pong) !== null;
}

describe('client id bound to its credential', () => {
  it("refuses another device credential presenting a connected device's client id (CONNACK 5), counted; the holder stays", async () => {
    const before = await metric(g.httpUrl, 'storegw_mqtt_connects_total{result="client_id_taken"}');
    const a = await conn('DVES_0A1B2C', 'footfall/door-1');
    expect(a.returnCode).toBe(0);
    const b = await conn('DVES_0A1B2C', 'footfall/door-2');
    expect(b.returnCode).toBe(5);
    await b.closed;
    expect(await alive(a)).toBe(true);
    expect(await metric(g.httpUrl, 'storegw_mqtt_connects_total{result="client_id_taken"}')).toBe(before + 1);
    a.end();
  });

  it("the bridge's predictable id cannot be taken by a device, nor a device's by the bridge", async () => {
    const bridge = await conn('storegw-bridge-kb', 'bridge/kb');
    expect(bridge.returnCode).toBe(0);
    const thief = await conn('storegw-bridge-kb', 'scanner/sc-1');
    expect(thief.returnCode).toBe(5);
    expect(await alive(bridge)).toBe(true);
    const scanner = await conn('scanner-sc-1', 'scanner/sc-1');
    expect(scanner.returnCode).toBe(0);
    const back = await conn('scanner-sc-1', 'bridge/kb');
    expect(back.returnCode).toBe(5);
    expect(await alive(scanner)).toBe(true);
    expect(await alive(bridge)).toBe(true);
    bridge.end();
    scanner.end();
  });

  it("the bridge's id is reserved from boot: taken by nobody else even before the bridge first connects", async () => {
    const early = await conn('storegw-bridge-kb2', 'scanner/sc-1');
    expect(early.returnCode).toBe(5);
    const bridge = await conn('storegw-bridge-kb2', 'bridge/kb2');
    expect(bridge.returnCode).toBe(0);
    bridge.end();
  });

  it('service users are bound the same way', async () => {
    const s = await conn('analytics-1', 'analytics');
    expect(s.returnCode).toBe(0);
    const d = await conn('analytics-1', 'footfall/door-2');
    expect(d.returnCode).toBe(5);
    expect(await alive(s)).toBe(true);
    s.end();
  });

  it('the same credential reconnecting takes over its own session [MQTT-3.1.4-2]', async () => {
    const first = await conn('door-1-main', 'footfall/door-1');
    expect(first.returnCode).toBe(0);
    const second = await conn('door-1-main', 'footfall/door-1');
    expect(second.returnCode).toBe(0);
    await first.closed;
    expect(await alive(second)).toBe(true);
    second.end();
  });

  it('keeps the binding after the holder disconnects: a squatter cannot take a rebooting device\'s id', async () => {
    const a = await conn('door-1-reboot', 'footfall/door-1');
    expect(a.returnCode).toBe(0);
    a.end();
    await a.closed;
    const squatter = await conn('door-1-reboot', 'footfall/door-2');
    expect(squatter.returnCode).toBe(5);
    const back = await conn('door-1-reboot', 'footfall/door-1');
    expect(back.returnCode).toBe(0);
    back.end();
  });
});

describe('zero-length client id', () => {
  it('clean session 1: accepted with a server-assigned id [MQTT-3.1.3-6]; two such clients do not collide', async () => {
    const a = await conn('', 'footfall/door-1');
    const b = await conn('', 'footfall/door-1');
    expect(a.returnCode).toBe(0);
    expect(b.returnCode).toBe(0);
    expect(await alive(a)).toBe(true);
    expect(await alive(b)).toBe(true);
    a.end();
    b.end();
  });

  it('clean session 0: CONNACK 2, identifier rejected [MQTT-3.1.3-8], counted', async () => {
    const before = await metric(g.httpUrl, 'storegw_mqtt_connects_total{result="client_id_rejected"}');
    const c = await conn('', 'footfall/door-1', { clean: false });
    expect(c.returnCode).toBe(2);
    await c.closed;
    expect(await metric(g.httpUrl, 'storegw_mqtt_connects_total{result="client_id_rejected"}')).toBe(before + 1);
  });
});
