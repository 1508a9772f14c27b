/**
 * Promotions follow the gateway's clock, not HQ: the gateway runs on an
 * injected clock set just before 09:00:00, HQ (a real Mosquitto) sends a promotion for 09:00:00 –
 * 09:00:01.5 and is then killed (WAN down). At 09:00:00 on the gateway's clock the price switches
 * and the labels are commanded with the promo; at 09:00:01.5 they are commanded back.
 */
import { Writable } from 'node:stream';
import { stringify } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startMosquitto, type Mosquitto } from '../../helpers/mosquitto.js';
import { buildConfig, TEST_SECRET } from '../../helpers/gatewayHarness.js';
import { tempDir } from '../../helpers/tmp.js';
import { createHqSigner } from '../../sim/hqSigner.js';
import { connectHqFeeds, gtinOf, until, type HqFeeds } from '../../sim/hqFeeds.js';
import { EslApSim } from '../../sim/eslSim.js';
import { parseConfig } from '../../../gateway/config.js';
import { createLogger } from '../../../gateway/log.js';
import { Gateway } from '../../../gateway/gateway.js';
import type { PriceService } from '../../../gateway/prices/prices.js';

const signer = createHqSigner({ kid: 'hq-test' });
const tmp = tempDir('sgw-promo-');
const LABELS = 10;
const START = Date.parse('2026-11-25T09:00:00.000Z');
const END = START + 1500;
// The gateway's clock stands at 08:59:58 until the setup is done, however long a loaded box takes
// over it, then runs with real time: the promotion starts 2 s after the setup, not after a fixed
// 5 s of which the setup took a part.
const SET_UP_AT = START - 2000;
let frozen: number | null = SET_UP_AT;
let offset = 0;
const clock = () => frozen ?? Date.now() + offset;

let hq: Mosquitto;
let gw: Gateway;
let feeds: HqFeeds;
let prices: PriceService;
let sim: EslApSim;

beforeAll(async () => {
  hq = await startMosquitto();
  const raw = await buildConfig({
    dataDir: tmp.dir,
    devices: [{ kind: 'esl', id: 'ap-1' }],
    extra: { hq: { url: hq.url, publicKeys: [{ kid: signer.kid, pem: signer.publicKeyPem }] }, esl: { tickMs: 50, ackTimeoutMs: 1000 } },
  });
  const res = parseConfig(stringify(raw), {});
  if (!res.ok) throw new Error(res.errors.join('; '));
  gw = new Gateway({ config: res.config, log: createLogger({ level: 'warn', stream: new Writable({ write: (_c, _e, cb) => cb() }) }), now: clock });
  await gw.start();
  prices = gw.prices!;
  await until(prices.changes, 'change', () => prices.sync().hqConnected, 10_000, 'HQ connected');
  const labelIds = Array.from({ length: LABELS }, (_, i) => `P${i + 1}`);
  sim = new EslApSim({ url: `mqtt://127.0.0.1:${gw.mqttPort}`, apId: 'ap-1', password: TEST_SECRET, labels: labelIds, radioRate: 500, ackDelayMs: 5 });
  await sim.connect();
  feeds = await connectHqFeeds(hq.url, 'test-store', signer);
  await feeds.publish('catalog', 'store', 1, { mode: 'snapshot', items: labelIds.map((_, i) => ({ gtin: gtinOf(i + 1), name: `Coffee ${i + 1}`, unit: 'each' })) });
  await feeds.publish('prices', 'store', 1, {
    mode: 'snapshot',
    currency: 'EUR',
    prices: labelIds.map((_, i) => ({ gtin: gtinOf(i + 1), price: 499 })),
    promotions: labelIds.map((_, i) => ({ id: `promo-${i + 1}`, gtin: gtinOf(i + 1), price: 399, start: new Date(START).toISOString(), end: new Date(END).toISOString(), text: 'Happy hour' })),
  });
  await feeds.publish('labels', 'store', 1, { mode: 'snapshot', bindings: labelIds.map((labelId, i) => ({ labelId, gtin: gtinOf(i + 1), ap: 'ap-1' })) });
  await until(prices.changes, 'change', () => prices.sync().labels.total === LABELS && prices.sync().labels.stale === 0, 10_000, 'labels current', () => prices.sync().labels);
  offset = SET_UP_AT - Date.now();
  frozen = null;
}, 30_000);

afterAll(async () => {
  await sim?.disconnect();
  await feeds?.close().catch(() => undefined);
  await gw?.stop();
  await hq?.stop();
  tmp.remove();
});

describe('a promotion with the WAN down', () => {
  it('switches at its start on the gateway clock and commands the labels; switches back at its end', async () => {
    expect(clock()).toBeLessThan(START);
    // Before the start: base price everywhere, labels show no promo.
    expect(prices.priceAt(gtinOf(1))).toMatchObject({ price: 499, source: 'base', promo: null });
    expect(sim.commands.every((c) => c.labels.every((l) => l.promo === undefined))).toBe(true);

    // WAN down: HQ is gone before the promotion starts.
    await hq.kill();
    await until(prices.changes, 'change', () => !prices.sync().hqConnected, 10_000, 'HQ connection down');
    expect(clock()).toBeLessThan(START);

    const promoCmd = new Promise<number>((resolve) => sim.on('command', (c: { labels: { promo?: unknown }[] }) => c.labels.some((l) => l.promo !== undefined) && resolve(clock())));
    const at = await promoCmd;
    expect(at).toBeGreaterThanOrEqual(START);
    expect(at - START).toBeLessThan(500);
    expect(prices.priceAt(gtinOf(1), START - 1)).toMatchObject({ price: 499, source: 'base' });
    expect(prices.priceAt(gtinOf(1), START)).toMatchObject({ price: 399, source: 'promo', promo: { id: 'promo-1', until: new Date(END).toISOString(), text: 'Happy hour' } });
    await until(prices.changes, 'change', () => prices.sync().labels.stale === 0, 10_000, 'promo labels acked', () => prices.sync().labels);
    const promoCommanded = new Set(sim.commands.flatMap((c) => c.labels.filter((l) => l.promo?.price === 399).map((l) => l.labelId)));
    expect(promoCommanded.size).toBe(LABELS);
    expect(prices.sync().hqConnected).toBe(false);

    const backCmd = new Promise<number>((resolve) => sim.on('command', (c: { labels: { promo?: unknown }[] }) => c.labels.some((l) => l.promo === undefined) && resolve(clock())));
    const back = await backCmd;
    expect(back).toBeGreaterThanOrEqual(END);
    expect(back - END).toBeLessThan(500);
    expect(prices.priceAt(gtinOf(1))).toMatchObject({ price: 499, source: 'base', promo: null });
    await until(prices.changes, 'change', () => prices.sync().labels.stale === 0, 10_000, 'labels back to base', () => prices.sync().labels);
  }, 20_000);
});
