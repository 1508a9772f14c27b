/**
 * Ops actions and reports on a small store: `report/prices` reaches HQ (a real
 * Mosquitto) with version and label totals; `GET /api/labels?state=…` for a viewer; LED flash and
 * resend for an attendant; a label moved to another AP is commanded through the AP that heard it.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import mqtt, { type MqttClient } from 'mqtt';
import { startMosquitto, type Mosquitto } from '../../helpers/mosquitto.js';
import { startGateway, TEST_PASSWORDS, TEST_SECRET, type RunningGateway } from '../../helpers/gatewayHarness.js';
import { createHqSigner } from '../../sim/hqSigner.js';
import { connectHqFeeds, login, storeFeeds, until, type HqFeeds } from '../../sim/hqFeeds.js';
import { EslApSim } from '../../sim/eslSim.js';
import type { PriceService } from '../../../gateway/prices/prices.js';
import { tempDir } from '../../helpers/tmp.js';

const signer = createHqSigner({ kid: 'hq-test' });
const store = storeFeeds(40, 2);
let hq: Mosquitto;
let gw: RunningGateway;
let feeds: HqFeeds;
let prices: PriceService;
let hqWatch: MqttClient;
const reports: { labels: { total: number; acked: number; stale: number }; versions: Record<string, number> }[] = [];
const sims: EslApSim[] = [];
const tmp = tempDir('sgw-plabels-');
const gwOptions = () => ({
  dataDir: tmp.dir,
  devices: [{ kind: 'esl' as const, id: 'ap-1' }, { kind: 'esl' as const, id: 'ap-2' }],
  extra: { hq: { url: hq.url, publicKeys: [{ kid: signer.kid, pem: signer.publicKeyPem }] }, esl: { tickMs: 50, ackTimeoutMs: 1000 } },
});

beforeAll(async () => {
  hq = await startMosquitto();
  hqWatch = await mqtt.connectAsync(hq.url, { reconnectPeriod: 0 });
  hqWatch.on('message', (_t, p) => reports.push(JSON.parse(p.toString('utf8'))));
  await hqWatch.subscribeAsync('hq/v1/store/test-store/report/prices', { qos: 1 });
  gw = await startGateway(gwOptions());
  prices = gw.gw.prices!;
  for (const ap of ['ap-1', 'ap-2']) {
    const s = new EslApSim({ url: gw.mqttUrl, apId: ap, password: TEST_SECRET, labels: store.labelsByAp.get(ap)!, radioRate: 1000, ackDelayMs: 5 });
    await s.connect();
    sims.push(s);
  }
  feeds = await connectHqFeeds(hq.url, 'test-store', signer);
  await feeds.publish('catalog', 'store', 1, store.catalog);
  await feeds.publish('prices', 'store', 1, store.prices);
  await feeds.publish('labels', 'store', 1, store.labels);
  await until(prices.changes, 'change', () => prices.sync().labels.total === 40 && prices.sync().labels.stale === 0, 10_000, 'labels current', () => prices.sync().labels);
});

afterAll(async () => {
  for (const s of sims) await s.disconnect();
  await feeds?.close();
  await hqWatch?.endAsync();
  await gw?.stop();
  await hq?.stop();
  tmp.remove();
});

describe('reports and ops actions', () => {
  it('reports price sync progress to HQ on report/prices', async () => {
    const got = new Promise<void>((resolve) => {
      const check = () => {
        if (reports.some((r) => r.labels.total === 40 && r.labels.acked === 40 && r.labels.stale === 0)) resolve();
        else hqWatch.once('message', check);
      };
      check();
    });
    await got;
    expect(reports.at(-1)!.versions).toMatchObject({ 'prices/store': 1, 'catalog/store': 1, 'labels/store': 1 });
  });

  it('lists labels by state for a viewer', async () => {
    const cookie = await login(gw.httpUrl, 'viewer', TEST_PASSWORDS.viewer);
    const get = async (state: string) => (await (await fetch(`${gw.httpUrl}/api/labels?state=${state}`, { headers: { cookie } })).json()) as { total: number; labels: { labelId: string; ap: string; stale: boolean }[] };
    expect((await get('current')).total).toBe(40);
    expect((await get('stale')).total).toBe(0);
    expect((await get('pending')).total).toBe(0);
    expect((await get('failed')).total).toBe(0);
    expect((await fetch(`${gw.httpUrl}/api/labels?state=bogus`, { headers: { cookie } })).status).toBe(400);
    const one = (await (await fetch(`${gw.httpUrl}/api/labels/L000001`, { headers: { cookie } })).json()) as { label: { ap: string; stale: boolean } };
    expect(one.label).toMatchObject({ ap: 'ap-1', stale: false });
  });

  it('an attendant flashes a label: its AP gets one command with flash, the label is not re-sent otherwise', async () => {
    const cookie = await login(gw.httpUrl, 'attendant', TEST_PASSWORDS.attendant);
    const before = sims[0].commands.length;
    const res = await fetch(`${gw.httpUrl}/api/labels/L000001/flash`, { method: 'POST', headers: { cookie, 'content-type': 'application/json' }, body: JSON.stringify({ color: 'red', seconds: 5 }) });
    expect(res.status).toBe(200);
    const body = (await res.json()) as { cmdId: string; ap: string };
    expect(body.ap).toBe('ap-1');
    await until(sims[0], 'command', () => sims[0].commands.length > before, 5000, 'flash command');
    const cmd = sims[0].commands.at(-1)!;
    expect(cmd.cmdId).toBe(body.cmdId);
    expect(cmd.labels).toHaveLength(1);
    expect(cmd.labels[0]).toMatchObject({ labelId: 'L000001', flash: { color: 'red', seconds: 5 } });
    expect(prices.sync().labels.stale).toBe(0);
  });

  it('resend makes a label stale until its AP acks it again', async () => {
    const cookie = await login(gw.httpUrl, 'attendant', TEST_PASSWORDS.attendant);
    const before = sims[1].commands.length;
    const res = await fetch(`${gw.httpUrl}/api/labels/L000002/resend`, { method: 'POST', headers: { cookie } });
    expect(res.status).toBe(200);
    await until(sims[1], 'command', () => sims[1].commands.length > before, 5000, 'resend command');
    expect(sims[1].commands.at(-1)!.labels.map((l) => l.labelId)).toEqual(['L000002']);
    await until(prices.changes, 'change', () => prices.sync().labels.stale === 0, 5000, 'resent label acked');
    expect((await fetch(`${gw.httpUrl}/api/labels/NOPE/resend`, { method: 'POST', headers: { cookie } })).status).toBe(404);
  });

  it('a label heard by another AP is commanded through that AP from then on', async () => {
    // L000001 is bound to ap-1; ap-2 now hears it (the shelf was moved).
    const moved = new EslApSim({ url: gw.mqttUrl, apId: 'ap-2', password: TEST_SECRET, labels: [...store.labelsByAp.get('ap-2')!, 'L000001'], radioRate: 1000, ackDelayMs: 5 });
    await sims[1].disconnect();
    sims[1] = moved;
    await moved.connect();
    moved.shown.set('L000001', sims[0].shown.get('L000001'));
    await moved.sendStatus();
    await until(prices.changes, 'change', () => prices.label('L000001')?.ap === 'ap-2', 5000, 'label heard by ap-2');
    const before = moved.commands.length;
    await feeds.publish('prices', 'store', 2, { ...store.prices, mode: 'delta', prices: [{ gtin: store.labels.bindings[0].gtin, price: 5 }], promotions: [] });
    await until(moved, 'command', () => moved.commands.length > before, 5000, 'command via ap-2');
    expect(moved.commands.at(-1)!.labels.map((l) => [l.labelId, l.price])).toEqual([['L000001', 5]]);
    await until(prices.changes, 'change', () => prices.sync().labels.stale === 0, 5000, 'moved label acked');
  });

  it('after a restart on the same data folder, labels that show their content are not re-sent', async () => {
    for (const sim of sims) await sim.disconnect();
    await gw.stop();
    gw = await startGateway(gwOptions());
    prices = gw.gw.prices!;
    expect(prices.sync().labels).toMatchObject({ total: 40, stale: 0 });
    // The same APs (same labels) on the restarted gateway's port.
    for (let i = 0; i < sims.length; i++) {
      const old = sims[i];
      sims[i] = new EslApSim({ url: gw.mqttUrl, apId: old.apId, password: TEST_SECRET, labels: [...old.shown.keys()], radioRate: 1000, ackDelayMs: 5 });
      await sims[i].connect();
    }
    const since = sims.map(() => 0);
    // One real change after the restart; the APs must get that label and nothing else.
    const b = store.labels.bindings[3];
    await until(prices.changes, 'change', () => prices.sync().hqConnected, 10_000, 'HQ connected again');
    await feeds.publish('prices', 'store', 3, { ...store.prices, mode: 'delta', prices: [{ gtin: b.gtin, price: 7 }], promotions: [] });
    await until(prices.changes, 'change', () => prices.sync().versions['prices/store'] === 3 && prices.sync().labels.stale === 0, 10_000, 'changed label acked', () => prices.sync().labels);
    const commanded = sims.flatMap((sim, i) => sim.commands.slice(since[i]).flatMap((c) => c.labels.map((l) => l.labelId)));
    expect(commanded).toEqual([b.labelId]);
  });
});
