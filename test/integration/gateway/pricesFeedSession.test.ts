/**
 * An upgraded gateway meets the session an older one left at HQ: Mosquitto still holds the
 * wildcard filters `hq/v1/store/{id}/+` and `hq/v1/all/+` for the feed connection's client id,
 * which match the gateway's own `batch` and `status`. The gateway must drop them at start (even
 * with the session present), so its own uploads stop coming back over the WAN.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import mqtt, { type MqttClient, type IPublishPacket, type Packet } from 'mqtt';
import { startMosquitto, type Mosquitto } from '../../helpers/mosquitto.js';
import { startGateway, type RunningGateway } from '../../helpers/gatewayHarness.js';
import { createHqSigner } from '../../sim/hqSigner.js';
import { connectHqFeeds, gtinOf, until, type HqFeeds } from '../../sim/hqFeeds.js';

const signer = createHqSigner({ kid: 'hq-2026' });
let hq: Mosquitto;
let gw: RunningGateway;
let feeds: HqFeeds;
const received: IPublishPacket[] = [];

beforeAll(async () => {
  hq = await startMosquitto();
  // The session an older gateway left: same client id, wildcard filters, not clean.
  const old = await mqtt.connectAsync(hq.url, { clientId: 'storegw-test-store-prices', clean: false, protocolVersion: 4, reconnectPeriod: 0 });
  await old.subscribeAsync(['hq/v1/store/test-store/+', 'hq/v1/all/+'], { qos: 1 });
  await old.endAsync();
  gw = await startGateway({ extra: { hq: { url: hq.url, publicKeys: [{ kid: signer.kid, pem: signer.publicKeyPem }] } } });
  const prices = gw.gw.prices!;
  const client = (prices.feeds as unknown as { sub: { client: MqttClient } }).sub.client;
  client.on('packetreceive', (p: Packet) => {
    if (p.cmd === 'publish') received.push(p);
  });
  await until(prices.changes, 'change', () => prices.sync().hqConnected, 20_000, 'HQ feed connection');
  feeds = await connectHqFeeds(hq.url, 'test-store', signer);
}, 60_000);
afterAll(async () => {
  await feeds?.close();
  await gw?.stop();
  await hq?.stop();
});

describe('a feed session left by an older gateway', () => {
  it('loses its wildcard filters: a batch on the store topic does not reach the feed connection', async () => {
    const prices = gw.gw.prices!;
    // Let the start-up UNSUBSCRIBE/SUBSCRIBE land before anything is published: a feed applied
    // after them proves the broker has the new filters.
    await feeds.publish('catalog', 'store', 1, { mode: 'snapshot', items: [{ gtin: gtinOf(1), name: 'Milk', unit: 'each' }] });
    await until(prices.changes, 'change', () => prices.sync().feeds.applied === 1, 20_000, 'catalog applied');
    // What the broker queued for the old session while nobody was connected (the gateway's own
    // retained status may land there before the new filters replace the old) is not the point:
    // only what is published after the new filters are in place counts.
    const from = received.length;
    await feeds.client.publishAsync('hq/v1/store/test-store/batch', Buffer.from('not for the feed connection'), { qos: 1 });
    await feeds.publish('prices', 'store', 1, { mode: 'snapshot', currency: 'EUR', prices: [{ gtin: gtinOf(1), price: 100 }], promotions: [] });
    await until(prices.changes, 'change', () => prices.sync().feeds.applied === 2, 20_000, 'prices applied');
    expect(received.slice(from).filter((p) => /\/(batch|status)$/.test(p.topic)).map((p) => p.topic)).toEqual([]);
  }, 60_000);
});
