/**
 * OpenEPaperLink end to end, real parts only: a real HQ Mosquitto publishes signed price feeds, the
 * real gateway fans out `cmd/show`, an in-process Bridge runs the oepl driver, and the driver
 * talks HTTP and WebSocket to the AP simulator (its tags check in every 150 ms). A price reaches
 * a tag and the label is acked only after that tag's check-in took it; tag reports arrive as
 * status; an AP that reboots and forgets its database gets its labels again; an AP that goes
 * away leaves its labels stale (never acked) until it is back and the tags take them. Tags answer
 * in the order they check in, not the order they were sent: the AP says so in its birth
 * (`acksOutOfOrder`), and the gateway takes a later label's ack as no sign of an earlier one's loss.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pino } from 'pino';
import { startMosquitto, type Mosquitto } from '../../helpers/mosquitto.js';
import { startGateway, TEST_SECRET, type RunningGateway } from '../../helpers/gatewayHarness.js';
import { createHqSigner } from '../../sim/hqSigner.js';
import { connectHqFeeds, storeFeeds, until, type HqFeeds } from '../../sim/hqFeeds.js';
import type { PriceService } from '../../../gateway/prices/prices.js';
import { Bridge } from '../../../firmware-bridge/bridge.js';
import { OeplDriver } from '../../../firmware-bridge/devices/oepl/driver.js';
import { OeplApSim } from '../../../firmware-bridge/devices/oepl/sim.js';
import { dataVerOf, simMac } from '../../../firmware-bridge/devices/oepl/simDb.js';

const N = 3;
const signer = createHqSigner({ kid: 'hq-test' });
const store = storeFeeds(N, 1);
const labelIds = store.labelsByAp.get('ap-1')!;
const macOf = (labelId: string) => simMac(labelIds.indexOf(labelId));
let hq: Mosquitto;
let gw: RunningGateway;
let feeds: HqFeeds;
let prices: PriceService;
let sim: OeplApSim;
let driver: OeplDriver;
let bridge: Bridge;
/** Transfers and acks in the order they happened. */
const order: string[] = [];
const statuses: Record<string, unknown>[] = [];
const waiters = new Set<() => void>();
const poke = () => {
  for (const w of [...waiters]) w();
};

/** Resolves when `pred` holds, checked on every gateway event, AP event and device change. */
function when(pred: () => boolean, what: string, timeoutMs = 10_000): Promise<void> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      waiters.delete(check);
      reject(new Error(`timed out waiting for ${what}`));
    }, timeoutMs);
    const check = () => {
      if (!pred()) return;
      clearTimeout(timer);
      waiters.delete(check);
      resolve();
    };
    waiters.add(check);
    check();
  });
}

const label = (id: string) => prices.fanout.tracker.labels.get(id)!;
const current = (id: string) => label(id).target !== null && label(id).acked === label(id).target;
const shows = (id: string, text: string) => sim.db.devices.get(macOf(id))!.shown?.includes(text) ?? false;
const allCurrent = () => labelIds.every(current);

async function publishPrices(version: number, change: Record<number, number>): Promise<void> {
  const body = { ...store.prices, prices: store.prices.prices.map((p, i) => (i in change ? { ...p, price: change[i]! } : p)) };
  await feeds.publish('prices', 'store', version, body);
}

beforeAll(async () => {
  hq = await startMosquitto();
  gw = await startGateway({
    devices: [{ kind: 'esl', id: 'ap-1', bridge: 'b1' }],
    bridges: ['b1'],
    extra: { hq: { url: hq.url, publicKeys: [{ kid: signer.kid, pem: signer.publicKeyPem }] }, esl: { tickMs: 50, ackTimeoutMs: 5000, retryInitialMs: 200, retryMaxMs: 1000 } },
  });
  prices = gw.gw.prices!;
  gw.gw.onEvent((e) => {
    if (e.kind === 'esl' && e.type === 'ack') {
      const d = JSON.parse(e.data) as { acks?: { labelId: string; ok: boolean }[] };
      for (const a of d.acks ?? []) if (a.ok) order.push(`ack:${a.labelId}`);
    }
    if (e.kind === 'esl' && e.type === 'status') statuses.push(...(JSON.parse(e.data) as { labels: Record<string, unknown>[] }).labels);
    poke();
  });
  gw.gw.registry.onChange(poke);
  prices.changes.on('change', poke);
  sim = new OeplApSim({ tags: N, checkInMs: 150, sysEveryMs: 200, rebootMs: 100 });
  sim.on('xfer', (mac) => {
    order.push(`xfer:${mac}`);
    poke();
  });
  sim.on('upload', poke);
  await sim.start();
  driver = new OeplDriver({
    id: 'ap-1',
    url: sim.url,
    tags: Object.fromEntries(labelIds.map((l) => [l, macOf(l)])),
    livenessMs: 1000,
    reconnect: { initialMs: 50, maxMs: 200, factor: 2 },
    requestTimeoutMs: 2000,
    deliveryTimeoutMs: 10_000,
    ackFlushMs: 20,
    statusEveryMs: 100,
  });
  bridge = new Bridge({ url: gw.mqttUrl, username: 'bridge/b1', password: TEST_SECRET, drivers: [driver], logger: pino({ level: 'silent' }), heartbeatMs: 0 });
  await bridge.start();
  feeds = await connectHqFeeds(hq.url, 'test-store', signer);
  await feeds.publish('catalog', 'store', 1, store.catalog);
  await publishPrices(1, {});
  await feeds.publish('labels', 'store', 1, store.labels);
  await until(prices.changes, 'change', () => prices.sync().labels.total === N, 10_000, 'labels bound');
}, 30_000);

afterAll(async () => {
  await bridge?.stop();
  await sim?.stop();
  await feeds?.close();
  await gw?.stop();
  await hq?.stop();
});

describe('OpenEPaperLink AP through the bridge', () => {
  it('draws the gateway’s prices on the tags and acks each label only after its tag took it', async () => {
    await when(allCurrent, 'every label acked');
    for (const [i, id] of labelIds.entries()) {
      expect(shows(id, `${(100 + i) / 100}`.replace('.', ','))).toBe(true);
      expect(order.indexOf(`xfer:${macOf(id)}`)).toBeGreaterThanOrEqual(0);
      expect(order.indexOf(`xfer:${macOf(id)}`)).toBeLessThan(order.indexOf(`ack:${id}`));
    }
    // The driver asked the AP to let tags sleep although a WebSocket client is connected.
    expect(sim.apConfig.stopsleep).toBe(0);

    // A price change: one upload, and the ack again follows the check-in.
    const from = order.length;
    const id = labelIds[0]!;
    await publishPrices(2, { 0: 555 });
    await when(() => label(id).target !== null && !current(id), 'the label to become stale');
    await when(() => current(id), 'the changed label acked');
    expect(shows(id, '5,55')).toBe(true);
    const after = order.slice(from);
    expect(after.indexOf(`xfer:${macOf(id)}`)).toBeGreaterThanOrEqual(0);
    expect(after.indexOf(`xfer:${macOf(id)}`)).toBeLessThan(after.indexOf(`ack:${id}`));
    // Labels whose content did not change were not sent again.
    expect(after.filter((e) => e.startsWith('xfer:'))).toEqual([`xfer:${macOf(id)}`]);
  });

  it('reports battery, RSSI, temperature and check-ins per label as status', async () => {
    await when(() => labelIds.every((id) => statuses.some((s) => s.labelId === id && s.shownHash !== undefined)), 'a status with the shown content for every label');
    const s = statuses.filter((x) => x.labelId === labelIds[1]).at(-1)!;
    const d = sim.db.devices.get(macOf(labelIds[1]!))!;
    expect(s).toMatchObject({ mac: macOf(labelIds[1]!), batteryMv: d.batteryMv, rssi: d.rssi, temperatureC: d.temperature, shownHash: label(labelIds[1]!).target, pending: 0 });
    expect(Date.parse(s.lastSeen as string)).toBeGreaterThan(Date.now() - 60_000);
    expect(Date.parse(s.nextCheckIn as string)).toBeGreaterThanOrEqual(Date.parse(s.lastSeen as string));
  });

  it('re-sends the labels of an AP that rebooted and forgot its database', async () => {
    const before = new Map(labelIds.map((id) => [macOf(id), sim.uploads.get(macOf(id)) ?? 0]));
    const reboots = driver.reboots;
    await sim.reboot(true);
    expect(sim.db.records.size).toBeLessThan(N + 1);
    await when(
      () => labelIds.every((id) => {
        const r = sim.db.records.get(macOf(id));
        return r !== undefined && r.content !== null && r.hash.startsWith(dataVerOf(r.content)) && (sim.uploads.get(macOf(id)) ?? 0) > before.get(macOf(id))!;
      }),
      'every tag to hold its content again',
    );
    expect(driver.reboots).toBeGreaterThan(reboots);
    expect(labelIds.every(current)).toBe(true);
  });

  it('leaves labels stale while the AP is away, and acks them once it is back and the tag took them', async () => {
    const id = labelIds[1]!;
    const mac = macOf(id);
    const device = gw.gw.registry.get('esl', 'ap-1')!;
    sim.pauseCheckIns(true);
    const uploads = sim.uploads.get(mac) ?? 0;
    await publishPrices(3, { 1: 777 });
    await when(() => (sim.uploads.get(mac) ?? 0) > uploads, 'the upload to the AP');
    await sim.stop();
    await when(() => !device.online, 'the AP offline at the gateway');
    expect(current(id)).toBe(false);
    expect(shows(id, '7,77')).toBe(false);
    await sim.start();
    sim.pauseCheckIns(false);
    await when(() => current(id), 'the label acked after the AP came back');
    expect(shows(id, '7,77')).toBe(true);
    expect(device.online).toBe(true);
  });

  it('two labels whose tags check in in reverse order: the later ack loses nothing, neither label is sent twice', async () => {
    expect(gw.gw.registry.get('esl', 'ap-1')!.birth?.capabilities).toContain('acksOutOfOrder');
    const [first, , second] = [labelIds[0]!, labelIds[1]!, labelIds[2]!];
    await when(allCurrent, 'every label acked');
    // Every state the first label passes through, seen on each change of the price service.
    const trail: string[] = [];
    const note = () => trail.push(`${label(first).state}:${label(first).err ?? ''}`);
    prices.changes.on('change', note);
    try {
      sim.pauseCheckIns(true);
      const uploads = { first: sim.uploads.get(macOf(first)) ?? 0, second: sim.uploads.get(macOf(second)) ?? 0 };
      await publishPrices(4, { 0: 611 });
      await when(() => (sim.uploads.get(macOf(first)) ?? 0) > uploads.first, 'the first label uploaded');
      const firstCmd = label(first).cmdId;
      await publishPrices(5, { 0: 611, 2: 622 });
      await when(() => (sim.uploads.get(macOf(second)) ?? 0) > uploads.second, 'the second label uploaded');
      expect(label(second).cmdId).not.toBe(firstCmd);
      // The second label's tag wakes first.
      sim.checkInNow(macOf(second));
      await when(() => current(second), 'the second label acked');
      expect(label(first)).toMatchObject({ state: 'sent', err: null, cmdId: firstCmd });
      sim.checkInNow(macOf(first));
      await when(() => current(first), 'the first label acked');
      expect(shows(first, '6,11')).toBe(true);
      expect(shows(second, '6,22')).toBe(true);
      expect(trail.filter((t) => !t.startsWith('sent:') && !t.startsWith('acked:') && !t.startsWith('pending:'))).toEqual([]);
      // Never taken for lost: no retry, no second upload.
      expect(trail.some((t) => t.includes('later command') || t.includes('no ack'))).toBe(false);
      expect(sim.uploads.get(macOf(first))).toBe(uploads.first + 1);
      expect(sim.uploads.get(macOf(second))).toBe(uploads.second + 1);
    } finally {
      prices.changes.off('change', note);
      sim.pauseCheckIns(false);
    }
  });
});
