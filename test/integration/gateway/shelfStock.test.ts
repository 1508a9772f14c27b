/**
 * Shelf readers and RFID cycle counts through the real gateway process (dist/storegw.js): an
 * MQTT-native RFID reader as the shelf reader of zone "tees" publishes reads the way the rfid sim
 * does (SGTIN-96 EPCs of the catalog's T-shirt, each tag many times).
 * - units on the shelf are distinct serials within the presence window; when they stop being read
 *   the item, still on hand, is on the refill list and one SHELF_EMPTY alert names item and zone;
 *   read again, the episode closes; a SIGKILL during an episode raises no second alert;
 * - a cycle count: closed before it can be applied, its differences against on hand shown, then
 *   exact `count` movements (reason rfid) at the count's event time: on hand = counted + the
 *   movements after it (a receipt before the close is inside the count, an adjustment after is not);
 * - garbage EPCs at the shelf reader (seeded): counted, nothing on the shelf, the gateway answers.
 */
import fc from 'fast-check';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_DEVICES, metric, spawnGateway, writeConfigFile, type ConfigOptions, type GatewayProcess } from '../../helpers/gatewayHarness.js';
import { startMosquitto, type Mosquitto } from '../../helpers/mosquitto.js';
import { tempDir } from '../../helpers/tmp.js';
import { createHqSigner } from '../../sim/hqSigner.js';
import { HqSim } from '../../sim/hqSim.js';
import { decodeSgtin96, encodeSgtin96 } from '../../../gateway/kiosk/sgtin.js';
import { G, KIOSK_DEVICES, kioskExtra, Peripherals, recordsEverywhere, seedCatalog } from '../../e2e/kioskFixture.js';
import { api, login } from './opsClient.js';

const shirt = (serial: number): string => {
  const r = encodeSgtin96({ filter: 1, companyPrefix: '0614141', itemReference: '812345', serial });
  if (!r.ok) throw new Error(r.reason);
  return r.hex;
};
const PRESENCE_MS = 1000;
const signer = createHqSigner({ kid: 'hq-shelf' });
const tmp = tempDir('sgw-shelf-');
const dataDir = path.join(tmp.dir, 'data');
let hq: Mosquitto;
let hqSim: HqSim;
let configFile: string;
let gw: GatewayProcess;
let base = '';
let dev: Peripherals;
let attendant = '';

async function life(): Promise<void> {
  gw = await spawnGateway(configFile);
  base = `http://127.0.0.1:${gw.httpPort}`;
  dev = await Peripherals.connect(`mqtt://127.0.0.1:${gw.mqttPort}`, [{ kind: 'rfid', id: 'shelf-1' }]);
  attendant = await login(base, 'attendant');
}

/** Polls the API until `pred` holds (the gateway's own state is the event waited on); fails with the last answer. */
async function until<T>(get: () => Promise<T>, pred: (v: T) => boolean, what: string, ms = 10_000): Promise<T> {
  const end = Date.now() + ms;
  let last: T = await get();
  while (!pred(last)) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}: ${JSON.stringify(last)}`);
    await new Promise((r) => setImmediate(r));
    last = await get();
  }
  return last;
}

/** Each serial read `times` times, as a reader reports a tag on every cycle. */
async function readShelf(serials: number[], times = 3): Promise<void> {
  for (let i = 0; i < times; i++) for (const s of serials) await dev.rfid('shelf-1', shirt(s));
}

const shelf = async () => (await api(base, attendant, 'GET', '/api/stock/shelf')).json as { zones: string[]; refill: { gtin: string; zone: string; onShelf: number; onHand: number; state: string }[]; out: { gtin: string }[]; checkedAt: string | null };
const onShelf = async () => ((await api(base, attendant, 'GET', `/api/stock/shelf/${G.shirt}`)).json.zones as { zone: string; onShelf: number }[]).find((z) => z.zone === 'tees')?.onShelf ?? -1;
const shelfAlerts = async () => ((await api(base, attendant, 'GET', '/api/alerts?limit=200')).json.alerts as { code: string; message: string }[]).filter((a) => a.code === 'SHELF_EMPTY');
const onHand = async () => (await api(base, attendant, 'GET', `/api/stock/items/${G.shirt}`)).json.item.onHand as number;

beforeAll(async () => {
  hq = await startMosquitto();
  hqSim = new HqSim({ url: hq.url });
  await hqSim.start();
  const opts: ConfigOptions = {
    dataDir,
    devices: [...DEFAULT_DEVICES, ...KIOSK_DEVICES, { kind: 'rfid', id: 'shelf-1' }],
    extra: { ...(await kioskExtra(hq.url, signer.publicKeyPem, signer.kid)), shelves: [{ reader: 'shelf-1', zone: 'tees', gtins: [G.shirt], minFacings: 2, presenceMs: PRESENCE_MS }] },
  };
  await seedCatalog(opts, hq.url, signer);
  configFile = await writeConfigFile(tmp.dir, opts);
  await life();
}, 30_000);

afterAll(async () => {
  await dev?.close().catch(() => undefined);
  await gw?.kill('SIGKILL');
  await hqSim?.stop();
  await hq?.stop();
  tmp.remove();
});

describe('shelf readers through the real gateway', () => {
  it('out of stock before any receipt; units on the shelf by distinct serial; read no more: refill, one SHELF_EMPTY naming item and zone; read again: closed', async () => {
    const first = await until(shelf, (s) => s.checkedAt !== null, 'the first judged check');
    expect(first.zones).toEqual(['tees']);
    expect(first.out.map((r) => r.gtin)).toEqual([G.shirt]); // planned for the zone, nothing on hand
    const out = await until(shelfAlerts, (a) => a.length === 1, 'the out-of-stock alert');
    // The name comes from the catalog; in the first seconds after a start it may not be loaded yet, and the GTIN stands in.
    expect(out[0].message).toMatch(new RegExp(`^(T-shirt|${G.shirt}) \\(GTIN ${G.shirt}\\) in tees: out of stock \\(on hand 0\\)$`));
    const rcv = await api(base, attendant, 'POST', '/api/stock/receive', { requestId: 'shelf-rcv-1', lines: [{ gtin: G.shirt, qty: 5 }] });
    expect(rcv.status).toBe(200);

    await readShelf([1, 2, 3], 4); // 12 reads, 3 units
    await until(onShelf, (n) => n === 3, '3 shirts on the shelf');
    const s = await until(shelf, (v) => v.refill.length === 1 && v.refill[0].onShelf === 0, 'the shirt on the refill list once its tags are no longer read');
    expect(s.refill[0]).toMatchObject({ zone: 'tees', gtin: G.shirt, onShelf: 0, onHand: 5, state: 'refill' });
    const alerts = await until(shelfAlerts, (a) => a.length === 2, 'the SHELF_EMPTY alert of the new episode');
    expect(alerts.map((a) => a.message)).toContain(`T-shirt (GTIN ${G.shirt}) in tees: 0 on the shelf, 5 on hand: refill from the back room`);

    await readShelf([4]); // one unit: below its two facings, still the same episode
    await readShelf([4, 5]);
    await until(shelf, (v) => v.refill.length === 0, 'refilled: two facings on the shelf');
    expect(await shelfAlerts()).toHaveLength(2);
  });

  it('killed during an episode: after the restart and a judged check, no second alert for the same empty shelf', async () => {
    const before = (await shelfAlerts()).length;
    await until(shelf, (v) => v.refill.length === 1, 'the shelf empty again');
    await until(shelfAlerts, (a) => a.length === before + 1, 'the second episode alert');
    await dev.close();
    await gw.kill('SIGKILL');
    await life();
    const restartedAt = Date.now();
    const s = await until(shelf, (v) => v.checkedAt !== null && Date.parse(v.checkedAt) > restartedAt, 'a judged check after the restart');
    expect(s.refill.map((r) => r.gtin)).toEqual([G.shirt]);
    expect(await shelfAlerts()).toHaveLength(before + 1);
  });

  it('a cycle count: applied only once closed; its differences first; on hand = counted + movements after its event time', async () => {
    const started = await api(base, attendant, 'POST', '/api/stock/counts', { requestId: 'count-press-1', zone: 'tees' });
    expect(started.status).toBe(200);
    const id = started.json.countId as string;
    expect((await api(base, attendant, 'POST', '/api/stock/counts', { requestId: 'count-press-1', zone: 'tees' })).json.countId).toBe(id); // the same press
    expect((await api(base, attendant, 'POST', '/api/stock/counts', { requestId: 'count-press-2', zone: 'cellar' })).json.message).toMatch(/^body\.zone: no shelf zone "cellar"/);
    await readShelf([7, 8, 9], 3);
    await dev.rfid('shelf-1', 'E2801160600002054CC2096F'); // not SGTIN-96: not counted
    await until(async () => (await api(base, attendant, 'GET', `/api/stock/counts/${id}`)).json, (c) => c.lines[0]?.counted === 3, '3 shirts counted');
    expect((await api(base, attendant, 'POST', `/api/stock/counts/${id}/apply`, { requestId: 'apply-press-1' })).status).toBe(409);

    // A receipt before the close is inside what was counted.
    expect((await api(base, attendant, 'POST', '/api/stock/receive', { requestId: 'shelf-rcv-2', lines: [{ gtin: G.shirt, qty: 1 }] })).status).toBe(200);
    const closed = await api(base, attendant, 'POST', `/api/stock/counts/${id}/close`);
    expect(closed.json.lines).toEqual([{ gtin: G.shirt, name: 'T-shirt', counted: 3, onHand: 6, difference: -3 }]);
    await readShelf([10]); // after the close: too late
    await until(async () => Date.now(), (t) => t > Date.parse(closed.json.closedAt), 'a clock tick past the close');
    // An adjustment after the close (before the manager applies) is a movement after the count.
    expect((await api(base, attendant, 'POST', '/api/stock/adjust', { requestId: 'shelf-adj-1', gtin: G.shirt, qty: -1, reason: 'damaged' })).status).toBe(200);

    const applied = await api(base, attendant, 'POST', `/api/stock/counts/${id}/apply`, { requestId: 'apply-press-1' });
    expect(applied.status).toBe(200);
    expect(applied.json.movements).toEqual([expect.objectContaining({ movementId: `cnt:${id}:${G.shirt}`, kind: 'count', qty: 3, reason: 'rfid', eventTime: closed.json.closedAt, actor: 'attendant', sourceRef: id })]);
    expect(applied.json.items[0].onHand).toBe(2); // 3 counted − 1 damaged after the count
    expect((await api(base, attendant, 'POST', `/api/stock/counts/${id}/apply`, { requestId: 'apply-press-2' })).json.movements[0].seq).toBe(applied.json.movements[0].seq); // once
    await api(base, attendant, 'POST', '/api/stock/receive', { requestId: 'shelf-rcv-3', lines: [{ gtin: G.shirt, qty: 4 }] });
    expect(await onHand()).toBe(6);
    const rec = await until(async () => (await recordsEverywhere(dataDir, hqSim)).filter((r) => r.type === 'stockMove' && r.data.movementId === `cnt:${id}:${G.shirt}`), (r) => r.length === 1, 'the exact count record');
    expect(rec[0].data).toMatchObject({ kind: 'count', qty: 3, reason: 'rfid', eventTime: closed.json.closedAt, actor: 'attendant' });
  });

  it('property (seeded): garbage and foreign EPCs at a shelf reader are counted, put nothing on the shelf, and the gateway keeps answering', async () => {
    const before = (await metric(base, 'storegw_shelf_reads_total{outcome="notSgtin"}')) + (await metric(base, 'storegw_shelf_reads_total{outcome="foreign"}'));
    const foreign = encodeSgtin96({ filter: 1, companyPrefix: '0999999', itemReference: '000001', serial: 1 });
    const epcs = fc.sample(fc.oneof(fc.string({ unit: fc.constantFrom(...'0123456789abcdefABCDEF'), minLength: 4, maxLength: 124 }), fc.constant(foreign.ok ? foreign.hex : ''), fc.constant('not hex')), { seed: 1919, numRuns: 40 });
    const valid = epcs.filter((e) => /^[0-9A-Fa-f]{4,124}$/.test(e)); // the rest fail the read's schema at ingest
    for (const e of epcs) await dev.rfid('shelf-1', e);
    await until(async () => (await metric(base, 'storegw_shelf_reads_total{outcome="notSgtin"}')) + (await metric(base, 'storegw_shelf_reads_total{outcome="foreign"}')), (n) => n === before + valid.length, `${valid.length} garbage reads counted`);
    expect((await fetch(`${base}/healthz`)).status).toBe(200);
    const foreignGtin = decodeSgtin96(foreign.ok ? foreign.hex : '');
    expect(foreignGtin.ok && (await api(base, attendant, 'GET', `/api/stock/shelf/${foreignGtin.gtin14}`)).json.zones).toEqual([]); // never watched
  });
});
