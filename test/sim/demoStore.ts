/**
 * The living parts of the demo store beyond MQTT-native heartbeats: HQ signing and pushing feeds
 * (a catalog of ~2,000 items on two ESL access points, a price change every minute, a promotion),
 * ESL access point simulators, payment terminals, and the bridge with its byte-level simulators
 * over socat ptys. Used by `make demo` (test/sim/demo.ts).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, openSync } from 'node:fs';
import path from 'node:path';
import type { Config } from '../../gateway/config.js';
import { loadOrCreateHqSigner } from './hqSigner.js';
import { connectHqFeeds, gtinOf, storeFeeds, type HqFeeds } from './hqFeeds.js';
import { EslApSim } from './eslSim.js';
import { PaymentSim } from './paymentSim.js';
import { loadBridgeConfigFile } from '../../firmware-bridge/config.js';
import { startSerialSimulators, type SerialSimulators } from '../../firmware-bridge/simulators.js';

export const DEMO_LABELS = 2000;
const DEMO_DEVICE_SECRET = 'demo-device-secret';

export interface DemoPart {
  name: string;
  stop: () => Promise<void>;
}

/** HQ: signs with the demo key (config/demo-hq-signing-key.pem) and publishes the store's feeds. */
export async function startHq(cfg: Readonly<Config>, hqUrl: string, keyFile: string, say: (s: string) => void): Promise<DemoPart & { feeds: HqFeeds }> {
  const signer = loadOrCreateHqSigner(keyFile, cfg.hq?.publicKeys[0]?.kid ?? 'demo-hq-2026');
  const feeds = await connectHqFeeds(hqUrl, cfg.storeId, signer);
  const store = storeFeeds(DEMO_LABELS, 2);
  // A few items a shopper recognises at the kiosk (the first GTINs of the catalog).
  const named = ['Whole milk 1 L', 'Bananas (kg)', 'Lager beer 0.5 L (18+)', 'Sourdough bread', 'Free-range eggs 10'];
  named.forEach((name, i) => {
    store.catalog.items[i].name = name;
    if (i === 1) store.catalog.items[i].unit = 'kg';
    if (i === 2) store.catalog.items[i].ageRestriction = 18;
  });
  let version = Math.floor(Date.now() / 1000);
  const now = Date.now();
  const promo = { id: 'demo-promo-1', gtin: gtinOf(1), price: 99, start: new Date(now + 120_000).toISOString(), end: new Date(now + 600_000).toISOString(), text: 'Demo deal' };
  await feeds.publish('catalog', 'store', version, store.catalog);
  await feeds.publish('labels', 'store', version, store.labels);
  await feeds.publish('prices', 'store', version, { ...store.prices, promotions: [promo] });
  say(`HQ pushed a signed catalog of ${DEMO_LABELS} items, label bindings and prices (promotion on "${named[0]}" from ${promo.start.slice(11, 19)} UTC)`);
  const timer = setInterval(() => {
    version++;
    // Reprice 20 items a minute: a real HQ sends deltas all day.
    const i0 = (version * 20) % DEMO_LABELS;
    const rows = Array.from({ length: 20 }, (_, k) => ({ gtin: gtinOf(((i0 + k) % DEMO_LABELS) + 1), price: 100 + Math.floor(Math.random() * 900) }));
    feeds.publish('prices', 'store', version, { mode: 'delta', currency: 'EUR', prices: rows, promotions: [promo] }).then(
      () => say(`HQ: signed price change v${version} (20 items)`),
      (err: Error) => say(`HQ: price change failed: ${err.message}`),
    );
  }, 60_000);
  return {
    name: 'HQ simulator',
    feeds,
    stop: async () => {
      clearInterval(timer);
      await feeds.close();
    },
  };
}

/** ESL access points with the demo's labels, and payment terminals that approve. */
export async function startShelfAndTills(cfg: Readonly<Config>, url: string): Promise<DemoPart[]> {
  const parts: DemoPart[] = [];
  const store = storeFeeds(DEMO_LABELS, 2);
  for (const d of cfg.devices) {
    if (d.kind === 'esl') {
      const sim = new EslApSim({ url, apId: d.id, password: DEMO_DEVICE_SECRET, labels: store.labelsByAp.get(d.id) ?? [], radioRate: 100, commandLossRate: 0.01, statusEveryMs: 60_000 });
      await sim.connect();
      parts.push({ name: `esl ${d.id}`, stop: () => sim.disconnect() });
    } else if (d.kind === 'payment') {
      const sim = new PaymentSim({ url, id: d.id, password: DEMO_DEVICE_SECRET });
      await sim.start();
      parts.push({ name: `payment ${d.id}`, stop: () => sim.stop() });
    }
  }
  return parts;
}

/**
 * The bridge as its own process (dist/storegw-bridge.js) with the serial devices simulated over
 * socat ptys. HID and GPIO devices need real hardware: the bridge keeps retrying them and the ops
 * page shows them offline, which is what a store without that hardware would see.
 */
export async function startBridge(bridgeConfigFile: string, logDir: string): Promise<DemoPart> {
  const res = loadBridgeConfigFile(bridgeConfigFile);
  if (!res.ok) throw new Error(`${bridgeConfigFile}:\n  ${res.errors.join('\n  ')}`);
  const serial = res.config.devices.filter((d) => d.serial);
  for (const d of serial) mkdirSync(path.dirname(d.serial!.path), { recursive: true });
  const sims: SerialSimulators = await startSerialSimulators({ devices: serial }, { grams: 0 });
  mkdirSync(logDir, { recursive: true });
  const out = openSync(path.join(logDir, 'bridge.log'), 'a');
  const proc: ChildProcess = spawn(process.execPath, [path.resolve('dist/storegw-bridge.js'), '--config', bridgeConfigFile], { stdio: ['ignore', out, out] });
  return {
    name: 'bridge',
    stop: async () => {
      if (proc.exitCode === null && proc.signalCode === null) {
        const exited = new Promise((r) => proc.once('exit', r));
        proc.kill('SIGTERM');
        setTimeout(() => proc.kill('SIGKILL'), 3000).unref();
        await exited;
      }
      await sims.stop();
    },
  };
}
