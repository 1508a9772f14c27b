/**
 * The bundle path of feed checking (gateway/prices/feedCheck.ts): the gateway runs as a child
 * process from dist/storegw.js (`node build.mjs` first), which must find dist/feedWorker.js beside
 * itself and check HQ feeds in that worker thread — a valid feed applied, a forged and a malformed
 * one rejected with their codes, the same as the inline path the in-process tests use.
 */
import { existsSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startMosquitto, type Mosquitto } from '../../helpers/mosquitto.js';
import { GATEWAY_BIN, metric, spawnGateway, TEST_PASSWORDS, writeConfigFile, type GatewayProcess } from '../../helpers/gatewayHarness.js';
import { tempDir } from '../../helpers/tmp.js';
import { createHqSigner } from '../../sim/hqSigner.js';
import { connectHqFeeds, gtinOf, login, type HqFeeds } from '../../sim/hqFeeds.js';
import type { SyncReport } from '../../../gateway/prices/prices.js';

const tmp = tempDir('sgw-pworker-');
const signer = createHqSigner({ kid: 'hq-test' });
const rogue = createHqSigner({ kid: 'hq-test' });
let hq: Mosquitto;
let feeds: HqFeeds;
let gw: GatewayProcess;

/** The parsed JSON log lines of the child so far. */
function logs(): Record<string, unknown>[] {
  return gw.output.filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as Record<string, unknown>);
}

async function waitFor<T>(what: string, get: () => Promise<T | undefined> | T | undefined, timeoutMs = 20_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await get();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

beforeAll(async () => {
  hq = await startMosquitto();
  feeds = await connectHqFeeds(hq.url, 'test-store', signer);
  const file = await writeConfigFile(tmp.dir, { dataDir: path.join(tmp.dir, 'data'), extra: { hq: { url: hq.url, publicKeys: [{ kid: signer.kid, pem: signer.publicKeyPem }] }, log: { level: 'info' } } });
  gw = await spawnGateway(file);
});
afterAll(async () => {
  await gw?.kill('SIGTERM');
  await feeds?.close();
  await hq?.stop();
  tmp.remove();
});

describe('feed checking in the bundle (dist/storegw.js + dist/feedWorker.js)', () => {
  it('finds the worker beside the bundle and checks every feed there', async () => {
    const worker = path.join(path.dirname(GATEWAY_BIN), 'feedWorker.js');
    expect(existsSync(worker)).toBe(true);
    const ready = logs().find((j) => j.msg === 'feed checking ready');
    expect(ready).toMatchObject({ mode: 'worker', worker });

    const items = { mode: 'snapshot', items: Array.from({ length: 2000 }, (_, i) => ({ gtin: gtinOf(i + 1), name: `item ${i + 1}`, unit: 'each' })) };
    await feeds.publish('catalog', 'store', 1, items);
    await feeds.publish('prices', 'store', 1, { mode: 'snapshot', currency: 'EUR', prices: [{ gtin: gtinOf(1), price: 249 }], promotions: [] });
    await feeds.publishRaw('prices', 'store', rogue.sign({ feed: 'prices', scope: 'store:test-store', version: 2, issuedAt: new Date().toISOString(), body: { mode: 'snapshot', currency: 'EUR', prices: [], promotions: [] } }));
    await feeds.publish('prices', 'store', 3, { mode: 'snapshot', currency: 'EUR', prices: [{ gtin: 'not-a-gtin', price: 1 }], promotions: [] });

    const httpUrl = `http://127.0.0.1:${gw.httpPort}`;
    const cookie = await login(httpUrl, 'viewer', TEST_PASSWORDS.viewer);
    const sync = await waitFor('two feeds applied and two rejected', async () => {
      const s = (await (await fetch(`${httpUrl}/api/prices/sync`, { headers: { cookie } })).json()) as SyncReport;
      return s.feeds.applied === 2 && s.feeds.rejected === 2 ? s : undefined;
    });
    expect(sync.appliedVersions).toEqual({ 'catalog/store': 1, 'prices/store': 1 });
    expect(sync.alerts.map((a) => a.code)).toEqual(['SGW_ERR_FEED_BAD_SIGNATURE', 'SGW_ERR_FEED_BAD_BODY']);
    expect(sync.alerts[1].reason).toMatch(/signed\.body\.prices\[0\]\.gtin/);
    expect(await metric(httpUrl, 'storegw_feed_rejects_total{feed="prices",code="SGW_ERR_FEED_BAD_SIGNATURE"}')).toBe(1);
    expect(logs().filter((j) => j.msg === 'feed applied').map((j) => [j.feed, j.version])).toEqual([
      ['catalog', 1],
      ['prices', 1],
    ]);
    // No fallback happened: nothing was checked on the main thread.
    expect(logs().some((j) => typeof j.msg === 'string' && j.msg.startsWith('feed worker'))).toBe(false);
  }, 60_000);
});
