/**
 * The living parts of the demo store beyond MQTT-native heartbeats: HQ signing and pushing feeds
 * (a catalog of ~2,000 grocery items on two ESL access points, a price change every minute, a promotion),
 * ESL access point simulators, payment terminals, and the bridge with its byte-level simulators
 * over socat ptys. Used by `make demo` (test/sim/demo.ts).
 */
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { pino } from 'pino';
import path from 'node:path';
import type { Config } from '../../gateway/config.js';
import { loadOrCreateHqSigner } from './hqSigner.js';
import { HqSim } from './hqSim.js';
import { connectHqFeeds, gtinOf, storeFeeds, type HqFeeds } from './hqFeeds.js';
import { MemberPhone } from './memberPhone.js';
import { EslApSim } from './eslSim.js';
import { PaymentSim } from './paymentSim.js';
import { loadBridgeConfigFile, type BridgeConfig } from '../../firmware-bridge/config.js';
import { startSerialSimulators, type SerialSimulators } from '../../firmware-bridge/simulators.js';
import { readPassword } from '../../firmware-bridge/config.js';
import { createDrivers, hardwareTransports, type Transports } from '../../firmware-bridge/driverFactory.js';
import { Bridge } from '../../firmware-bridge/bridge.js';
import { MemoryGpioInput, MemoryGpioOutput, MemoryHidTransport } from '../../firmware-bridge/transports/memory.js';
import { encodeKeyboard } from '../../firmware-bridge/devices/hidScanner/codec.js';
import { createLogger } from '../../gateway/log.js';
import { topics } from '../../gateway/protocol/topics.js';
import { encodeSgtin96, sgtinFieldsFromGtin } from '../../gateway/kiosk/sgtin.js';
import { scaledMs } from './demoTimeScale.js';
import type { SimTag } from '../../firmware-bridge/devices/chafon/sim.js';
import { nameDemoCatalog } from './demoCatalog.js';
import { writeProducePictures } from './demoPictures.js';
import { startLanDevices } from './demoLanDevices.js';
import { ShelfReaderSim } from './shelfReaderSim.js';

export const DEMO_LABELS = 2000;
const DEMO_DEVICE_SECRET = 'demo-device-secret';
/** How often the demo's terminals and access points check in: well inside the gateway's staleness limits. */
const CHECK_IN_MS = 30_000;
/** The bridge's heartbeat for the devices it holds open (its own default, restated to be scaled). */
const BRIDGE_HEARTBEAT_MS = 30_000;

/**
 * What lies in kiosk 1's basket: RFID tags (SGTIN-96) of catalog items, a sourdough bread and two
 * boxes of eggs (items 4 and 5 of the demo catalog, sold each). Tags of items the catalog does not
 * have would make the kiosk call for help from the first second.
 */
export function demoBasketTags(): SimTag[] {
  const tag = (n: number, serial: number, rssi: number): SimTag => {
    const f = sgtinFieldsFromGtin(`0${gtinOf(n)}`, 7);
    if (!f.ok) throw new Error(`demo tag for item ${n}: ${f.reason}`);
    const e = encodeSgtin96({ filter: 1, companyPrefix: f.companyPrefix, itemReference: f.itemReference, serial });
    if (!e.ok) throw new Error(`demo tag for item ${n}: ${e.reason}`);
    return { epc: e.hex, rssi, antenna: 1 };
  };
  return [tag(4, 40001, 0x6b), tag(5, 50001, 0x5a), tag(5, 50002, 0x48)];
}

export interface DemoPart {
  name: string;
  stop: () => Promise<void>;
}

/**
 * HQ: signs with the demo key (config/demo-hq-signing-key.pem) and publishes the store's feeds.
 * `priced` resolves once the gateway's price report to HQ shows the catalog and prices in use: the
 * kiosk's devices start after that, so a basket read at once never meets an empty catalog.
 */
export async function startHq(cfg: Readonly<Config>, hqUrl: string, keyFile: string, say: (s: string) => void, timeScale = 1): Promise<DemoPart & { feeds: HqFeeds; priced: Promise<void>; memberPhone: MemberPhone }> {
  const signer = loadOrCreateHqSigner(keyFile, cfg.hq?.publicKeys[0]?.kid ?? 'demo-hq-2026');
  const feeds = await connectHqFeeds(hqUrl, cfg.storeId, signer);
  feeds.client.on('error', () => undefined); // HQ going away (Ctrl-C reaches Mosquitto too) is not a crash
  // HQ's ingest: takes the store's batches and acknowledges each (the demo runs hq.delivery: ingest-ack).
  // Its ack versions start above every earlier run's (fewer than 1,000 acks a millisecond): the
  // gateway keeps the versions it accepted in data/demo and refuses a repeated one as a replay.
  const ingest = new HqSim({ url: hqUrl, acker: signer, ackVersionFrom: Date.now() * 1000 });
  await ingest.start();
  const store = storeFeeds(DEMO_LABELS, 2);
  const { named, pictures } = nameDemoCatalog(store);
  writeProducePictures(cfg.data.dir, pictures);
  let version = Math.floor(Date.now() / 1000);
  const first = version;
  const priced = new Promise<void>((resolve) => {
    const inUse = (versions: Record<string, number>, feed: string) => Object.entries(versions).some(([k, v]) => k.startsWith(`${feed}/`) && v >= first);
    feeds.client.on('message', (_topic, payload) => {
      try {
        const r = JSON.parse(payload.toString('utf8')) as { versions?: Record<string, number> };
        if (r.versions && inUse(r.versions, 'catalog') && inUse(r.versions, 'prices')) resolve();
      } catch {
        // not a report we read
      }
    });
  });
  await feeds.client.subscribeAsync(topics.hqReport(cfg.storeId, 'prices'), { qos: 1 });
  const now = Date.now();
  const promo = { id: 'demo-promo-1', gtin: gtinOf(1), price: 99, start: new Date(now + scaledMs(120_000, timeScale)).toISOString(), end: new Date(now + scaledMs(600_000, timeScale)).toISOString(), text: 'Demo deal' };
  await feeds.publish('catalog', 'store', version, store.catalog);
  await feeds.publish('labels', 'store', version, store.labels);
  // A gold member (the member app's reference phone) pays less for the milk.
  store.prices.prices[0].memberPrices = { gold: store.prices.prices[0].price - 20 };
  await feeds.publish('prices', 'store', version, { ...store.prices, promotions: [promo] });
  await feeds.publish('members', 'store', version, { mode: 'snapshot', members: [{ code: 'M-DEMO-1', tier: 'gold' }] });
  // Points (1 per euro; 600 on the member's account to spend) and a basket coupon anyone can type
  // at a kiosk: without these feeds a member's sale earns nothing and the ops page's member
  // numbers stay at zero however long the demo runs.
  await feeds.publish('loyalty', 'store', version, { mode: 'snapshot', program: 'demo-club', earn: { pointsPerUnit: 1, perMinor: 100 }, spend: { valuePoints: 1, valueMinor: 1, minPoints: 100, maxShareBp: 5000 }, balances: [{ memberId: 'M-DEMO-1', points: 600, asOf: new Date(now).toISOString() }] });
  await feeds.publish('coupons', 'store', version, { mode: 'snapshot', coupons: [{ id: 'DEMO1', label: { en: '1 € off from 5 €', zh: '满 5 欧减 1 欧' }, target: { kind: 'basket' }, amountOff: 100, minSpend: 500, stacking: 'combinable', use: 'multi', code: 'DEMO1' }], revoked: [] });
  const memberPhone = new MemberPhone(signer, { memberId: 'M-DEMO-1', tier: 'gold', expires: Math.floor(now / 1000) + 30 * 86_400 });
  say(`HQ pushed a signed catalog of ${DEMO_LABELS} items (${pictures.length} kinds of loose produce, pictures in ${cfg.data.dir}/produce-images), label bindings and prices (promotion on "${named[0]}" from ${promo.start.slice(11, 19)} UTC), loyalty points (1 a euro) and coupon code DEMO1 (1 € off from 5 €)`);
  const timer = setInterval(() => {
    version++;
    // Reprice 20 items a minute: a real HQ sends deltas all day.
    const i0 = (version * 20) % DEMO_LABELS;
    const rows = Array.from({ length: 20 }, (_, k) => ({ gtin: gtinOf(((i0 + k) % DEMO_LABELS) + 1), price: 100 + Math.floor(Math.random() * 900) }));
    feeds.publish('prices', 'store', version, { mode: 'delta', currency: 'EUR', prices: rows, promotions: [promo] }).then(
      () => say(`HQ: signed price change v${version} (20 items)`),
      (err: Error) => say(`HQ: price change failed: ${err.message}`),
    );
  }, scaledMs(60_000, timeScale));
  return {
    name: 'HQ simulator',
    feeds,
    priced,
    memberPhone,
    stop: async () => {
      clearInterval(timer);
      await feeds.close();
      await ingest.stop();
    },
  };
}

/**
 * ESL access points with the demo's labels, and payment terminals that approve. An AP's status
 * round (1,000 labels) is split to fit the gateway's packet limit: one message over it closed the
 * AP's connection, and the AP did not come back. APs reconnect after a lost connection.
 */
export async function startShelfAndTills(cfg: Readonly<Config>, url: string, timeScale = 1): Promise<DemoPart[]> {
  const parts: DemoPart[] = [];
  const store = storeFeeds(DEMO_LABELS, 2);
  for (const d of cfg.devices) {
    if (d.bridge) continue; // the bridge's own devices (an OEPL AP, a ZVT terminal) come with it
    if (d.kind === 'esl') {
      const sim = new EslApSim({
        url,
        apId: d.id,
        password: DEMO_DEVICE_SECRET,
        labels: store.labelsByAp.get(d.id) ?? [],
        radioRate: 100,
        commandLossRate: 0.01,
        statusEveryMs: scaledMs(60_000, timeScale),
        maxPacketBytes: cfg.mqtt.maxPacketBytes,
        reconnectMs: 1000,
      });
      await sim.connect();
      parts.push({ name: `esl ${d.id}`, stop: () => sim.disconnect() });
    } else if (d.kind === 'payment') {
      const sim = new PaymentSim({ url, id: d.id, password: DEMO_DEVICE_SECRET, heartbeatMs: scaledMs(CHECK_IN_MS, timeScale) });
      await sim.start();
      parts.push({ name: `payment ${d.id}`, stop: () => sim.stop() });
    } else if (d.kind === 'rfid' && cfg.shelves.some((sh) => sh.reader === d.id)) {
      // The shelf holds units of items 4 and 5 other than the ones in kiosk 1's basket (serials 4xxxx, 5xxxx).
      const stock = new Map([4, 5].map((n) => [gtinOf(n), [2, 3, 4, 5].map((k) => n * 10_000 + k)]));
      const sim = new ShelfReaderSim({ url, id: d.id, password: DEMO_DEVICE_SECRET, stock, cycleMs: scaledMs(20_000, timeScale), takeEveryMs: scaledMs(90_000, timeScale), gapEveryMs: scaledMs(300_000, timeScale), gapForMs: scaledMs(150_000, timeScale) });
      await sim.start();
      parts.push({ name: `shelf reader ${d.id}`, stop: () => sim.stop() });
      await bookShelfStock(cfg, [...stock.keys()]);
    }
  }
  return parts;
}

/**
 * The bridge with the demo's hardware simulated at the byte level: the serial devices (MT-SICS and
 * Toledo scales, the Chafon reader) over socat ptys through the real serial transport, the HID
 * scanner through the memory HID transport fed with the exact boot-keyboard reports a scanner sends
 * (`scan(code)`), and the light tower on memory GPIO lines; the LAN devices (ZVT terminal, receipt
 * printer, OEPL access point) are simulators on free local ports (demoLanDevices.ts), their ZVT
 * journal under `dataDir`. The bridge itself is the real one (firmware-bridge/bridge.ts), in this
 * process so the demo can press the scanner's trigger. Its log goes to `logFile`; the ptys live in
 * `ptyDir`, made for this run and removed on stop.
 */
export async function startBridge(bridgeConfigFile: string, logFile: string, dataDir: string, timeScale = 1): Promise<DemoPart & { scan: (code: string) => void; ptyDir: string }> {
  const res = loadBridgeConfigFile(bridgeConfigFile);
  if (!res.ok) throw new Error(`${bridgeConfigFile}:\n  ${res.errors.join('\n  ')}`);
  // The ptys go to a folder of this run's own: two demos at once (a developer's and the test
  // suite's) on the config's fixed paths took each other's serial devices away.
  const ptyDir = mkdtempSync(path.join(tmpdir(), 'storegw-demo-pty-'));
  const config: BridgeConfig = {
    ...res.config,
    devices: res.config.devices.map((d) => (d.serial ? { ...d, serial: { ...d.serial, path: path.join(ptyDir, path.basename(d.serial.path)) } } : d)),
  };
  const removePtyDir = () => rmSync(ptyDir, { recursive: true, force: true });
  const serial = config.devices.filter((d) => d.serial);
  let sims: SerialSimulators;
  try {
    sims = await startSerialSimulators({ devices: serial }, { grams: 0, tags: demoBasketTags() });
  } catch (err) {
    removePtyDir();
    throw err;
  }
  const lan = await startLanDevices(config.devices, dataDir, storeFeeds(DEMO_LABELS, 2).labelsByAp, timeScale).catch(async (err: unknown) => {
    await sims.stop();
    removePtyDir();
    throw err;
  });
  config.devices = lan.devices;
  mkdirSync(path.dirname(logFile), { recursive: true });
  const logger = createLogger({ name: 'storegw-bridge', level: 'info', stream: pino.destination({ dest: logFile, sync: false, mode: 0o600, append: false }) });
  const hw = await hardwareTransports(Date.now);
  const hids = new Map<string, MemoryHidTransport>();
  const transports: Transports = {
    serial: hw.serial,
    hid: (_o, id) => {
      const t = new MemoryHidTransport(`demo-hid-${id}`);
      hids.set(id, t);
      return t;
    },
    gpioIn: (line) => new MemoryGpioInput(`demo-gpio-${line}`),
    gpioOut: (line) => new MemoryGpioOutput(`demo-gpio-${line}`),
    tcp: hw.tcp,
  };
  const bridge = new Bridge({ url: config.mqtt.url, username: config.mqtt.username, password: readPassword(config), drivers: createDrivers(config, { transports, logger, now: Date.now }), logger, heartbeatMs: scaledMs(BRIDGE_HEARTBEAT_MS, timeScale) });
  await bridge.start();
  return {
    name: 'bridge',
    ptyDir,
    scan: (code: string) => {
      for (const t of hids.values()) for (const report of encodeKeyboard(code)) t.feed(report);
    },
    stop: async () => {
      await bridge.stop();
      await lan.stop();
      await sims.stop();
      removePtyDir();
      logger.flush();
    },
  };
}

/**
 * The bakery's morning delivery, booked once as the demo attendant would on the ops page (the same
 * request id every run, so a restarted demo books it once): with stock on hand, a gap on the shelf
 * shows as "in stock, not on the shelf" rather than out of stock.
 */
async function bookShelfStock(cfg: Readonly<Config>, gtins: string[]): Promise<void> {
  await receive(cfg, await attendantCookie(cfg), 'demo-bakery-morning', gtins.map((gtin) => ({ gtin, qty: 12 })), 'demo bakery delivery');
}

/**
 * The store's opening stock: two dozen of every catalog item, received in chunks of the ops API's
 * 200 lines (fixed request ids: a restarted demo books it once). Without it every item a demo
 * shopper buys goes below zero on hand, which a store with real stock never shows.
 */
export async function bookOpeningStock(cfg: Readonly<Config>, items: number): Promise<void> {
  const cookie = await attendantCookie(cfg);
  for (let first = 1, chunk = 0; first <= items; first += 200, chunk++) {
    const lines = Array.from({ length: Math.min(200, items - first + 1) }, (_, k) => ({ gtin: gtinOf(first + k), qty: 24 }));
    await receive(cfg, cookie, `demo-opening-stock-${chunk}`, lines, 'demo opening stock');
  }
}

async function attendantCookie(cfg: Readonly<Config>): Promise<string> {
  const login = await fetch(`${opsBase(cfg)}/api/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ username: 'attendant', password: 'demo-attendant' }) });
  const cookie = login.headers.getSetCookie().find((c) => c.startsWith('sgw_session='))?.split(';')[0];
  if (login.status !== 200 || !cookie) throw new Error(`demo stock: login as attendant answered ${login.status}`);
  return cookie;
}

async function receive(cfg: Readonly<Config>, cookie: string, requestId: string, lines: { gtin: string; qty: number }[], ref: string): Promise<void> {
  const r = await fetch(`${opsBase(cfg)}/api/stock/receive`, { method: 'POST', headers: { 'content-type': 'application/json', cookie }, body: JSON.stringify({ requestId, lines, ref }) });
  if (r.status !== 200) throw new Error(`demo stock ${requestId}: receive answered ${r.status} ${await r.text()}`);
}

function opsBase(cfg: Readonly<Config>): string {
  return `http://127.0.0.1:${cfg.http.port ?? 8080}`;
}
