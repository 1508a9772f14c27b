/**
 * Shared set-up of the kiosk suites: the store's catalog as signed HQ feeds, two kiosks with their
 * peripherals, and small device clients that publish what a scanner, scale or RFID reader sends.
 */
import type { MqttClient } from 'mqtt';
import { hashSecret } from '../../gateway/scryptHash.js';
import { topics } from '../../gateway/protocol/topics.js';
import { encodeSgtin96 } from '../../gateway/kiosk/sgtin.js';
import type { ConfigOptions, RunningGateway, TestDevice } from '../helpers/gatewayHarness.js';
import { connectDevice, startGateway, TEST_SECRET } from '../helpers/gatewayHarness.js';
import { connectHqFeeds, until } from '../sim/hqFeeds.js';
import type { HqSigner } from '../sim/hqSigner.js';
import type { HqSim } from '../sim/hqSim.js';
import { OutboxStore } from '../../gateway/outbox/store.js';
import path from 'node:path';

export const TOKENS = { k1: 'kiosk-one-token-123456', k2: 'kiosk-two-token-654321' } as const;

export const G = {
  milk: '4006381333931',
  bread: '5901234123457',
  wine: '9501101531000',
  apples: '2000000000008',
  cheese: '2812340000002', // the lookup key of the DE weight code 2812347012503 (1.250 kg)
  shirt: '80614141123458', // SGTIN-96 3074257BF7194E4000001A85 (serial 6789)
};
export const CHEESE_CODE = '2812347012503';
export const EPC_6789 = '3074257BF7194E4000001A85';
export const EPC_6790 = (() => {
  const r = encodeSgtin96({ filter: 3, companyPrefix: '0614141', itemReference: '812345', serial: 6790 });
  if (!r.ok) throw new Error(r.reason);
  return r.hex;
})();
export const MEMBER = 'M-1001';

export const CATALOG = {
  mode: 'snapshot',
  items: [
    // German VAT: food 7 %, the rest 19 % (basis points).
    { gtin: G.milk, name: 'Milk 1 L', unit: 'each', expectedWeightG: 1030, weightToleranceG: 20, vatRateBp: 700 },
    { gtin: G.bread, name: 'Bread', unit: 'each', expectedWeightG: 500, weightToleranceG: 25, vatRateBp: 700 },
    { gtin: G.wine, name: 'Red wine', unit: 'each', ageRestriction: 18, expectedWeightG: 1300, weightToleranceG: 30, vatRateBp: 1900 },
    { gtin: G.apples, name: 'Apples', unit: 'kg', fields: { plu: '4131' }, vatRateBp: 700 },
    { gtin: G.cheese, name: 'Gouda', unit: 'kg', vatRateBp: 700 },
    { gtin: G.shirt, name: 'T-shirt', unit: 'each', vatRateBp: 1900 },
  ],
};
export const PRICES = {
  mode: 'snapshot',
  currency: 'EUR',
  prices: [
    { gtin: G.milk, price: 129, memberPrices: { gold: 99 } },
    { gtin: G.bread, price: 250 },
    { gtin: G.wine, price: 899 },
    { gtin: G.apples, price: 299 },
    { gtin: G.cheese, price: 1490 },
    { gtin: G.shirt, price: 1500 },
  ],
  promotions: [],
};
export const MEMBERS = { mode: 'snapshot', members: [{ code: MEMBER, tier: 'gold' }] };

export const KIOSK_DEVICES: TestDevice[] = [
  { kind: 'scanner', id: 'sc-1' },
  { kind: 'scale', id: 'ps-1' },
  { kind: 'rfid', id: 'rf-1' },
  { kind: 'light', id: 'lt-1' },
  { kind: 'payment', id: 'pay-1' },
  { kind: 'scanner', id: 'sc-2' },
  { kind: 'scale', id: 'bs-2' },
  { kind: 'light', id: 'lt-2' },
  { kind: 'payment', id: 'pay-2' },
];

export async function kioskExtra(hqUrl: string, publicKeyPem: string, kid: string, more: Record<string, unknown> = {}): Promise<Record<string, unknown>> {
  return {
    hq: { url: hqUrl, publicKeys: [{ kid, pem: publicKeyPem }] },
    kiosks: [
      { id: 'k1', tokenHash: await hashSecret(TOKENS.k1, 4) },
      { id: 'k2', tokenHash: await hashSecret(TOKENS.k2, 4) },
    ],
    kiosk: {
      region: 'DE',
      currency: 'EUR',
      paymentTimeoutMs: 5000,
      paymentUnknownMs: 5000,
      doneResetMs: 60_000,
      devices: {
        k1: { scanner: 'sc-1', produceScale: 'ps-1', rfid: 'rf-1', light: 'lt-1', payment: 'pay-1' },
        k2: { scanner: 'sc-2', baggingScale: 'bs-2', light: 'lt-2', payment: 'pay-2' },
      },
      ...more,
    },
  };
}

/**
 * Puts the store's catalog, prices and members into the data folder of `opts` through a gateway
 * run in-process once (so the set-up can wait for the feeds to apply); child processes started on
 * the same folder later find them in prices.db. `more` seeds what else a suite needs through the
 * same gateway (one in-process start instead of two).
 */
export async function seedCatalog(opts: Partial<ConfigOptions>, hqUrl: string, signer: HqSigner, members: object = MEMBERS, more?: (seed: RunningGateway) => Promise<void>): Promise<void> {
  const seed = await startGateway({ ...opts, mqttPort: 0, httpPort: 0 });
  try {
    const feeds = await connectHqFeeds(hqUrl, 'test-store', signer);
    await feeds.publish('catalog', 'store', 1, CATALOG);
    await feeds.publish('prices', 'store', 1, PRICES);
    await feeds.publish('members', 'store', 1, members);
    const p = seed.gw.prices!;
    await until(p.changes, 'change', () => p.sync().feeds.applied >= 3 && p.priceAt(G.milk) !== null, 10_000, 'feeds applied');
    await feeds.close();
    await more?.(seed);
  } finally {
    await seed.stop();
  }
}

/**
 * Every record the store ever committed, by seq: what HQ received plus what is still in the
 * outbox of `dataDir` (read-only), so a test counts sales wherever they are.
 */
export async function recordsEverywhere(dataDir: string, hq: HqSim, storeId = 'test-store'): Promise<{ seq: number; kind: string; type: string; data: Record<string, unknown> }[]> {
  const outbox = new OutboxStore(path.join(dataDir, 'outbox.db'), { readonly: true });
  await outbox.start();
  const local = (await outbox.read(0, 1_000_000)).map((r) => ({ seq: r.seq, kind: r.kind, type: r.type, data: r.data }));
  await outbox.stop();
  const all = new Map<number, { seq: number; kind: string; type: string; data: Record<string, unknown> }>();
  for (const r of hq.records(storeId)) all.set(r.seq, { seq: r.seq, kind: r.kind, type: r.type, data: r.data });
  for (const r of local) all.set(r.seq, r);
  return [...all.values()];
}

/** One MQTT client per peripheral, publishing as that device. */
export class Peripherals {
  private constructor(private readonly clients: Map<string, MqttClient>) {}

  static async connect(url: string, devices: TestDevice[]): Promise<Peripherals> {
    // All at once: the devices are independent of each other.
    const ds = devices.filter((d) => d.kind !== 'payment');
    const clients = await Promise.all(ds.map((d) => connectDevice(url, `${d.kind}/${d.id}`, TEST_SECRET)));
    return new Peripherals(new Map(ds.map((d, i) => [d.id, clients[i]])));
  }

  private pub(kind: 'scanner' | 'scale' | 'rfid', id: string, type: string, data: object) {
    return this.clients.get(id)!.publishAsync(topics.evt(kind, id, type), JSON.stringify({ ts: new Date().toISOString(), ...data }), { qos: 1 });
  }
  scan(id: string, code: string) {
    return this.pub('scanner', id, 'scan', { code });
  }
  weight(id: string, grams: number, stable = true) {
    return this.pub('scale', id, 'weight', { grams, stable });
  }
  rfid(id: string, epc: string) {
    return this.pub('rfid', id, 'read', { epc, antenna: 1, rssi: -50 });
  }
  subscribe(id: string, filter: string, fn: (topic: string, payload: string) => void) {
    const c = this.clients.get(id)!;
    c.on('message', (t, p) => fn(t, p.toString('utf8')));
    return c.subscribeAsync(filter, { qos: 1 });
  }
  async close() {
    await Promise.all([...this.clients.values()].map((c) => c.endAsync()));
  }
}
