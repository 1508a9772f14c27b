/**
 * Feed checking on both paths: in a worker thread (the worker is bundled with esbuild into a temp
 * folder, as build.mjs does for dist/) and inline on the main thread (what the TypeScript sources
 * get under vitest, where no built worker sits next to feedCheck.ts). Both must give the same
 * verdicts and the same table writes; a worker that cannot start or dies costs no feed.
 */
import { rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import v8 from 'node:v8';
import { build } from 'esbuild';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from '../../../../gateway/log.js';
import { checkFeed, createPriceFeedVerifier, FeedChecker, type CheckedFeed } from '../../../../gateway/prices/feedCheck.js';
import { prepareFeedRows } from '../../../../gateway/prices/feedRows.js';
import type { FeedVerifyContext } from '../../../../gateway/protocol/feedVerify.js';
import { createHqSigner } from '../../../sim/hqSigner.js';
import { gtinOf, storeFeeds } from '../../../sim/hqFeeds.js';
import { ConfigSchema } from '../../../../gateway/config.js';
import { tempDir } from '../../../helpers/tmp.js';

const STORE = 'store-7';
const hq = createHqSigner({ kid: 'hq-2026' });
const rogue = createHqSigner({ kid: 'hq-2026' });
const keys = { [hq.kid]: hq.publicKeyPem };
const log = createLogger({ level: process.env.DBG ? 'debug' : 'silent' });
const tmp = tempDir('sgw-feedcheck-');
// The built worker keeps npm packages external (as build.mjs does), so it must sit inside the repo
// to find node_modules: test-artifacts/ is git-ignored.
const workerDir = path.resolve('test-artifacts', `feedWorker-${process.pid}`);
let workerUrl: URL;

const at = '2026-03-01T06:00:00.000Z';
const ctx = (lastVersion?: number): FeedVerifyContext => ({ feed: 'prices', topicScope: 'store', lastVersion });
const prices = (price: number, baseVersion = 1) => ({ mode: 'delta', baseVersion, currency: 'EUR', prices: [{ gtin: '2000000000017', price }, { gtin: '2000000000024', price: 5, currency: 'SEK' }], remove: ['2000000000031'] });
const signed = (body: unknown, version = 2, signer = hq) => Buffer.from(signer.sign({ feed: 'prices', scope: `store:${STORE}`, version, issuedAt: at, body }));

/** Every case both paths must agree on. */
const CASES: [string, Buffer, FeedVerifyContext][] = [
  ['valid delta', signed(prices(120)), ctx(1)],
  ['forged signature', signed(prices(1), 2, rogue), ctx(1)],
  ['stale version', signed(prices(120), 1), ctx(1)],
  ['bad body', signed({ mode: 'delta', baseVersion: 1, currency: 'EUR', prices: [{ gtin: 'x', price: -1 }] }), ctx(1)],
  ['not JSON', Buffer.from('{"kid":'), ctx()],
];

beforeAll(async () => {
  // The same bundle options as build.mjs; the worker is found by its URL, as beside dist/storegw.js.
  const outfile = path.join(workerDir, 'feedWorker.js');
  await build({ entryPoints: ['gateway/prices/feedWorker.ts'], outfile, bundle: true, platform: 'node', format: 'esm', target: 'node24', tsconfig: 'tsconfig.server.json', packages: 'external', logLevel: 'warning' });
  workerUrl = pathToFileURL(outfile);
});
afterAll(() => {
  tmp.remove();
  rmSync(workerDir, { recursive: true, force: true });
});

describe('FeedChecker', () => {
  it('runs inline when no built worker sits next to feedCheck.ts (the sources under vitest)', async () => {
    const c = new FeedChecker({ storeId: STORE, keys, log });
    expect(c.mode).toBe('inline');
    await c.start();
    const r = await c.check(signed(prices(120)), ctx(1));
    expect(r).toMatchObject({ ok: true, feed: 'prices', version: 2, kid: hq.kid });
    expect(c.checked).toEqual({ worker: 0, inline: 1, poison: 0 });
    await c.stop();
  });

  it('a worker thread gives the same verdicts and table writes as the inline path', async () => {
    const w = new FeedChecker({ storeId: STORE, keys, log, workerUrl });
    const inline = new FeedChecker({ storeId: STORE, keys, log, workerUrl: null });
    expect(w.mode).toBe('worker');
    expect(inline.mode).toBe('inline');
    await w.start();
    await inline.start();
    try {
      // Concurrent requests are answered by id.
      const fromWorker = await Promise.all(CASES.map(([, p, c]) => w.check(p, c)));
      for (const [i, [name, p, c]] of CASES.entries()) expect(fromWorker[i], name).toEqual(await inline.check(p, c));
      // Really answered by the worker (a worker that failed to start would fall back silently).
      expect(w.checked).toEqual({ worker: CASES.length, inline: 0, poison: 0 });
      expect(fromWorker.map((r) => (r.ok ? 'ok' : r.code))).toEqual(['ok', 'SGW_ERR_FEED_BAD_SIGNATURE', 'SGW_ERR_FEED_STALE_VERSION', 'SGW_ERR_FEED_BAD_BODY', 'SGW_ERR_FEED_NOT_JSON']);
      const ok = fromWorker[0] as Extract<CheckedFeed, { ok: true }>;
      // The row without a currency took the feed's; removals go through as their own JSON text.
      expect(ok.prepared).toEqual({
        snapshot: false,
        tables: [
          { table: 'price', rows: JSON.stringify([{ gtin: '2000000000017', price: 120, currency: 'EUR' }, { gtin: '2000000000024', price: 5, currency: 'SEK' }]), remove: '["2000000000031"]' },
          // ajv's default for `promotions` is [] (useDefaults): nothing to write.
          { table: 'promotion', rows: null, remove: null },
        ],
      });
    } finally {
      await w.stop();
      await inline.stop();
    }
  });

  it('bad keys throw at start on either path', async () => {
    await expect(new FeedChecker({ storeId: STORE, keys: { k: 'not a pem' }, log, workerUrl }).start()).rejects.toThrow(/keys\["k"\]: is not a PEM public key/);
    await expect(new FeedChecker({ storeId: STORE, keys: {}, log, workerUrl: null }).start()).rejects.toThrow(/^keys: at least one/);
  });

  it('a worker that cannot start leaves checking to the main thread; a feed in a worker that dies is refused, never re-run inline', async () => {
    const broken = path.join(tmp.dir, 'broken.js');
    writeFileSync(broken, "throw new Error('boom at import');\n");
    const c = new FeedChecker({ storeId: STORE, keys, log, workerUrl: pathToFileURL(broken) });
    await c.start();
    expect(await c.check(signed(prices(130)), ctx(1))).toMatchObject({ ok: true, version: 2 });
    expect(c.checked).toEqual({ worker: 0, inline: 1, poison: 0 });
    await c.stop();

    const w = new FeedChecker({ storeId: STORE, keys, log, workerUrl });
    await w.start();
    const pending = w.check(signed(prices(140)), ctx(1));
    // Kill it while the request is in flight.
    await (w as unknown as { worker: { terminate(): Promise<number> } }).worker.terminate();
    expect(await pending).toMatchObject({ ok: false, code: 'SGW_ERR_FEED_POISON', reason: /killed the feed worker/ });
    expect(w.checked.inline).toBe(0);
    // The next feeds get a new worker.
    expect(await w.check(signed(prices(160, 3), 4), ctx(3))).toMatchObject({ ok: true, version: 4 });
    expect((w as unknown as { worker: unknown }).worker).not.toBeNull();
    expect(w.checked.worker).toBeGreaterThanOrEqual(1);
    await w.stop();
  });

  it("checks a 100k-item catalog of ~40 MB within the default worker limits (prices.feedWorker)", async () => {
    const fw = ConfigSchema.properties.prices.properties.feedWorker.properties;
    const limits = { maxOldGenerationSizeMb: fw.maxOldGenerationSizeMb.default as number, maxYoungGenerationSizeMb: fw.maxYoungGenerationSizeMb.default as number, stackSizeMb: fw.stackSizeMb.default as number };
    const items = Array.from({ length: 100_000 }, (_, i) => ({ gtin: gtinOf(i + 1), name: `Item ${i + 1} ${'n'.repeat(100)}`, unit: 'each', expectedWeightG: 500, weightToleranceG: 10, vatRateBp: 1900, template: 'std', fields: { brand: 'b'.repeat(60), origin: 'DE' } }));
    const payload = Buffer.from(hq.sign({ feed: 'catalog', scope: `store:${STORE}`, version: 1, issuedAt: at, body: { mode: 'snapshot', items } }));
    expect(payload.length).toBeGreaterThan(32 * 1024 * 1024);
    const w = new FeedChecker({ storeId: STORE, keys, log, workerUrl, resourceLimits: limits });
    await w.start();
    expect(await w.check(payload, { feed: 'catalog', topicScope: 'store', lastVersion: undefined })).toMatchObject({ ok: true, version: 1 });
    expect(w.checked).toEqual({ worker: 1, inline: 0, poison: 0 });
    await w.stop();
  }, 120_000);

  it('measures what the main thread pays to receive a 60k-row feed: a body object vs prepared strings', () => {
    const body = storeFeeds(60_000, 20).prices;
    const verify = createPriceFeedVerifier({ storeId: STORE, keys });
    const r = checkFeed(verify, Buffer.from(hq.sign({ feed: 'prices', scope: `store:${STORE}`, version: 1, issuedAt: at, body })), ctx());
    expect(r.ok).toBe(true);
    const prepared = (r as Extract<CheckedFeed, { ok: true }>).prepared;
    expect(prepared).toEqual(prepareFeedRows('prices', body));
    // postMessage uses V8's serializer; the receiving thread pays the deserialize.
    const time = (x: unknown) => {
      const buf = v8.serialize(x);
      const t0 = performance.now();
      v8.deserialize(buf);
      return performance.now() - t0;
    };
    const best = (x: unknown) => Math.min(time(x), time(x), time(x));
    const asObject = best(body);
    const asStrings = best(r);
    console.info(`main-thread deserialize of a 60k-row prices feed: body object ${asObject.toFixed(1)} ms, prepared strings ${asStrings.toFixed(2)} ms`);
    expect(asStrings).toBeLessThan(asObject);
  });
});
