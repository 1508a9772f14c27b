/**
 * HQ's expected deliveries through a real gateway (in this process, HQ a real Mosquitto): the
 * signed `deliveries` feed is listed for ops; "confirm at the back door" takes in part of a line,
 * then the rest, as receipt movements with exact stockMove records naming who; the same
 * confirmation sent twice is one receipt; a line the delivery does not have is refused, naming the
 * field; a forged feed (wrong key) is refused and lists nothing.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startMosquitto, type Mosquitto } from '../../helpers/mosquitto.js';
import { startGateway, type RunningGateway } from '../../helpers/gatewayHarness.js';
import { createHqSigner } from '../../sim/hqSigner.js';
import { connectHqFeeds, until, type HqFeeds } from '../../sim/hqFeeds.js';
import { api, login } from './opsClient.js';

const signer = createHqSigner({ kid: 'hq-deliveries' });
const MILK = '4006381333931';
const BREAD = '5901234123457';
let hq: Mosquitto;
let g: RunningGateway;
let feeds: HqFeeds;

beforeAll(async () => {
  hq = await startMosquitto({ persistence: false });
  g = await startGateway({ extra: { hq: { url: hq.url, publicKeys: [{ kid: signer.kid, pem: signer.publicKeyPem }] } } });
  feeds = await connectHqFeeds(hq.url, 'test-store', signer);
}, 20_000);

afterAll(async () => {
  await feeds?.close();
  await g?.stop();
  await hq?.stop();
});

describe('expected deliveries', () => {
  it('listed for ops, confirmed in part and then whole; each confirmation exact records, idempotent per press', async () => {
    const stock = g.gw.stock!;
    await feeds.publish('deliveries', 'store', 1, { mode: 'snapshot', deliveries: [{ deliveryId: 'ASN-100', supplier: 'Dairy Co', lines: [{ gtin: MILK, qty: 10 }, { gtin: BREAD, qty: 5 }] }] });
    await until(stock.changes, 'deliveries', () => (stock.deliveryFeed?.applied ?? 0) >= 1, 10_000, 'deliveries applied', () => stock.deliveryFeed?.rejected);
    const attendant = await login(g.httpUrl, 'attendant');
    const viewer = await login(g.httpUrl, 'viewer');
    const listed = await api(g.httpUrl, viewer, 'GET', '/api/stock/deliveries');
    expect(listed.json.deliveries).toEqual([{ deliveryId: 'ASN-100', supplier: 'Dairy Co', lines: [{ gtin: MILK, qty: 10 }, { gtin: BREAD, qty: 5 }], received: [0, 0] }]);

    expect((await api(g.httpUrl, viewer, 'POST', '/api/stock/deliveries/ASN-100/confirm', { requestId: 'door-0001', lines: [{ line: 0, qty: 4 }] })).status).toBe(403);
    const part = await api(g.httpUrl, attendant, 'POST', '/api/stock/deliveries/ASN-100/confirm', { requestId: 'door-0001', lines: [{ line: 0, qty: 4 }] });
    expect(part.status).toBe(200);
    expect(part.json.movements).toEqual([expect.objectContaining({ movementId: 'dlv:ASN-100:0:door-0001', kind: 'receipt', qty: 4, actor: 'attendant', sourceRef: 'ASN-100' })]);
    const seq = part.json.movements[0].seq as number;
    expect(await g.gw.outbox.recordKey('stockMove', 'dlv:ASN-100:0:door-0001')).toBe(seq);
    // The same press again: the same movement, nothing more received.
    const again = await api(g.httpUrl, attendant, 'POST', '/api/stock/deliveries/ASN-100/confirm', { requestId: 'door-0001', lines: [{ line: 0, qty: 4 }] });
    expect(again.json.movements[0].seq).toBe(seq);
    expect((await api(g.httpUrl, viewer, 'GET', '/api/stock/deliveries')).json.deliveries[0].received).toEqual([4, 0]);

    const bad = await api(g.httpUrl, attendant, 'POST', '/api/stock/deliveries/ASN-100/confirm', { requestId: 'door-0002', lines: [{ line: 2, qty: 1 }] });
    expect(bad.status).toBe(400);
    expect(bad.json.message).toContain('body.lines[0].line');
    expect((await api(g.httpUrl, attendant, 'POST', '/api/stock/deliveries/ASN-999/confirm', { requestId: 'door-0003', lines: [{ line: 0, qty: 1 }] })).status).toBe(404);

    const rest = await api(g.httpUrl, attendant, 'POST', '/api/stock/deliveries/ASN-100/confirm', { requestId: 'door-0004', lines: [{ line: 0, qty: 6 }, { line: 1, qty: 5 }] });
    expect(rest.json.items.map((i: { gtin: string; onHand: number }) => [i.gtin, i.onHand])).toEqual([[MILK, 10], [BREAD, 5]]);
    expect((await api(g.httpUrl, viewer, 'GET', '/api/stock/deliveries')).json.deliveries[0].received).toEqual([10, 5]);
    const rows = await stock.store.movementsOf('ASN-100');
    expect(rows.map((m) => [m.gtin, m.qty, m.actor, m.seq !== null])).toEqual([
      [MILK, 4, 'attendant', true],
      [MILK, 6, 'attendant', true],
      [BREAD, 5, 'attendant', true],
    ]);
  }, 20_000);

  it('a deliveries feed signed with another key is refused: nothing new is listed', async () => {
    const stock = g.gw.stock!;
    const forger = createHqSigner({ kid: signer.kid });
    const bad = await connectHqFeeds(hq.url, 'test-store', forger);
    const before = stock.deliveryFeed!.rejected.length;
    await bad.publish('deliveries', 'store', 2, { mode: 'snapshot', deliveries: [{ deliveryId: 'ASN-666', lines: [{ gtin: MILK, qty: 1000 }] }] });
    await until(stock.changes, 'deliveries', () => stock.deliveryFeed!.rejected.length > before, 10_000, 'the forged feed refused');
    await bad.close();
    const viewer = await login(g.httpUrl, 'viewer');
    expect((await api(g.httpUrl, viewer, 'GET', '/api/stock/deliveries')).json.deliveries.map((d: { deliveryId: string }) => d.deliveryId)).toEqual(['ASN-100']);
  }, 15_000);
});
