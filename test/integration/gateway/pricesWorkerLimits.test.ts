/**
 * A poison feed: the gateway runs as a child process from the bundle (dist/storegw.js with
 * dist/feedWorker.js beside it) with a small feed-worker heap (`prices.feedWorker`). HQ's broker
 * delivers a 3 MB envelope holding a million empty arrays, which needs far more heap to parse
 * than that: the worker dies of it. The feed is refused for good (SGW_ERR_FEED_POISON, a
 * FEED_REJECTED record, acknowledged so HQ does not send it again), it is never re-checked on the
 * main thread, the gateway lives, and a new worker checks and applies the next feed.
 */
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startMosquitto, type Mosquitto } from '../../helpers/mosquitto.js';
import { metric, spawnGateway, TEST_PASSWORDS, writeConfigFile, type GatewayProcess } from '../../helpers/gatewayHarness.js';
import { tempDir } from '../../helpers/tmp.js';
import { createHqSigner } from '../../sim/hqSigner.js';
import { connectHqFeeds, gtinOf, login, type HqFeeds } from '../../sim/hqFeeds.js';
import type { SyncReport } from '../../../gateway/prices/prices.js';

const tmp = tempDir('sgw-pwlimits-');
const signer = createHqSigner({ kid: 'hq-test' });
let hq: Mosquitto;
let feeds: HqFeeds;
let gw: GatewayProcess;
let httpUrl: string;
let cookie: string;

function logs(): Record<string, unknown>[] {
  return gw.output.filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as Record<string, unknown>);
}
async function sync(): Promise<SyncReport> {
  return (await (await fetch(`${httpUrl}/api/prices/sync`, { headers: { cookie } })).json()) as SyncReport;
}
/** Polls the child's HTTP API (it is another process: there is no event to wait on here). */
async function waitFor<T>(what: string, get: () => Promise<T | undefined>, timeoutMs = 30_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await get();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

beforeAll(async () => {
  hq = await startMosquitto();
  feeds = await connectHqFeeds(hq.url, 'test-store', signer);
  const file = await writeConfigFile(tmp.dir, {
    dataDir: path.join(tmp.dir, 'data'),
    extra: { hq: { url: hq.url, publicKeys: [{ kid: signer.kid, pem: signer.publicKeyPem }] }, prices: { feedWorker: { maxOldGenerationSizeMb: 16, maxYoungGenerationSizeMb: 8 } }, log: { level: 'info' } },
  });
  gw = await spawnGateway(file);
  httpUrl = `http://127.0.0.1:${gw.httpPort}`;
  cookie = await login(httpUrl, 'viewer', TEST_PASSWORDS.viewer);
}, 60_000);
afterAll(async () => {
  await gw?.kill('SIGTERM');
  await feeds?.close();
  await hq?.stop();
  tmp.remove();
});

describe('a feed that kills the feed worker', () => {
  it('is refused for good, never re-run on the main thread; the gateway lives and a new worker applies the next feed', async () => {
    expect(logs().find((j) => j.msg === 'feed checking ready')).toMatchObject({ mode: 'worker' });
    await feeds.publish('catalog', 'store', 1, { mode: 'snapshot', items: [{ gtin: gtinOf(1), name: 'Milk', unit: 'each' }] });
    const poison = `{"kid":"${signer.kid}","pad":[${Array(1_000_000).fill('[]').join(',')}]}`;
    await feeds.publishRaw('prices', 'store', poison);
    const s = await waitFor('the poison feed refused', async () => {
      const r = await sync();
      return r.alerts.some((a) => a.code === 'SGW_ERR_FEED_POISON') ? r : undefined;
    });
    const alert = s.alerts.find((a) => a.code === 'SGW_ERR_FEED_POISON')!;
    expect(alert.feed).toBe('prices');
    expect(alert.reason).toMatch(/killed the feed worker.*not re-run on the main thread/);
    expect(await metric(httpUrl, 'storegw_feed_rejects_total{feed="prices",code="SGW_ERR_FEED_POISON"}')).toBe(1);
    expect(gw.proc.exitCode).toBeNull();
    expect(logs().some((j) => j.msg === 'feed rejected' && j.code === 'SGW_ERR_FEED_POISON')).toBe(true);

    await feeds.publish('prices', 'store', 1, { mode: 'snapshot', currency: 'EUR', prices: [{ gtin: gtinOf(1), price: 249 }], promotions: [] });
    const after = await waitFor('the next feed applied', async () => {
      const r = await sync();
      return r.appliedVersions['prices/store'] === 1 ? r : undefined;
    });
    expect(after.feeds).toEqual({ applied: 2, rejected: 1 });
    // The worker died once; nothing was checked on the main thread, before or after.
    expect(logs().filter((j) => typeof j.msg === 'string' && j.msg.startsWith('feed worker died'))).toHaveLength(1);
    expect(logs().some((j) => typeof j.msg === 'string' && /main thread/.test(j.msg) && !/refused/.test(j.msg))).toBe(false);
    expect(gw.proc.exitCode).toBeNull();
  }, 90_000);
});
