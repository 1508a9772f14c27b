/**
 * Hostile HQ feeds against the bundle: the gateway runs as a child process (dist/storegw.js with
 * its feed worker, a 24 MB worker heap) and a seeded fast-check run sends memory bombs under the
 * size cap — a million tiny arrays or objects, deep nesting, long keys, huge number literals —
 * unsigned in the envelope and validly signed inside `signed`. For every payload: the process
 * lives, the feed is refused with a known code (SGW_ERR_FEED_POISON when it killed the worker)
 * and nothing is applied; afterwards a valid feed is checked by a new worker and applied.
 */
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { startMosquitto, type Mosquitto } from '../helpers/mosquitto.js';
import { spawnGateway, TEST_PASSWORDS, writeConfigFile, type GatewayProcess } from '../helpers/gatewayHarness.js';
import { tempDir } from '../helpers/tmp.js';
import { createHqSigner } from '../sim/hqSigner.js';
import { connectHqFeeds, gtinOf, login, type HqFeeds } from '../sim/hqFeeds.js';
import type { SyncReport } from '../../gateway/prices/prices.js';

// Ten seeded bombs by default (most cost a worker restart); this seed's first ten are each of the
// five shapes both signed and unsigned, which the test checks. STOREGW_TEST_FUZZ_RUNS=N runs more.
const SEED = 3302;
const RUNS = Number(process.env.STOREGW_TEST_FUZZ_RUNS ?? 10);
const MAX_FEED = 4 * 1024 * 1024;
const tmp = tempDir('sgw-hostile-worker-');
const signer = createHqSigner({ kid: 'hq-hostile' });
const CODES = new Set(['SGW_ERR_FEED_POISON', 'SGW_ERR_FEED_NOT_JSON', 'SGW_ERR_FEED_ENVELOPE', 'SGW_ERR_FEED_SIGNED_SHAPE', 'SGW_ERR_FEED_BAD_BODY', 'SGW_ERR_FEED_TOO_LARGE']);
let hq: Mosquitto;
let feeds: HqFeeds;
let gw: GatewayProcess;
let httpUrl: string;
let cookie: string;
const tally = { cases: 0, refused: {} as Record<string, number>, kinds: new Set<string>() };

async function sync(): Promise<SyncReport> {
  return (await (await fetch(`${httpUrl}/api/prices/sync`, { headers: { cookie } })).json()) as SyncReport;
}
/** Polls the child's HTTP API: another process, no event to wait on. */
async function waitFor<T>(what: string, get: () => Promise<T | undefined>, timeoutMs = 30_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await get();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** A JSON text that is cheap to send and dear to parse, just under `bytes`. */
const bomb = fc.record({
  shape: fc.constantFrom('arrays', 'objects', 'deep', 'keys', 'numbers'),
  fill: fc.double({ min: 0.3, max: 0.95, noNaN: true }),
});
function bombText(shape: string, bytes: number): string {
  switch (shape) {
    case 'arrays':
      return `[${Array(Math.floor(bytes / 3)).fill('[]').join(',')}]`;
    case 'objects':
      return `[${Array(Math.floor(bytes / 3)).fill('{}').join(',')}]`;
    case 'deep':
      return '['.repeat(Math.floor(bytes / 2)) + ']'.repeat(Math.floor(bytes / 2));
    case 'keys':
      return `{${Array.from({ length: Math.floor(bytes / 12) }, (_, i) => `"k${i.toString(36)}":0`).join(',')}}`;
    default:
      return `[${Array(Math.floor(bytes / 8)).fill('1e99999').join(',')}]`;
  }
}

beforeAll(async () => {
  hq = await startMosquitto();
  feeds = await connectHqFeeds(hq.url, 'test-store', signer);
  const file = await writeConfigFile(tmp.dir, {
    dataDir: path.join(tmp.dir, 'data'),
    extra: {
      hq: { url: hq.url, publicKeys: [{ kid: signer.kid, pem: signer.publicKeyPem }] },
      prices: { maxFeedBytes: MAX_FEED, feedWorker: { maxOldGenerationSizeMb: 24, maxYoungGenerationSizeMb: 8 } },
      log: { level: 'info' },
    },
  });
  gw = await spawnGateway(file);
  httpUrl = `http://127.0.0.1:${gw.httpPort}`;
  cookie = await login(httpUrl, 'viewer', TEST_PASSWORDS.viewer);
  await feeds.publish('catalog', 'store', 1, { mode: 'snapshot', items: [{ gtin: gtinOf(1), name: 'Milk', unit: 'each' }] });
  await feeds.publish('prices', 'store', 1, { mode: 'snapshot', currency: 'EUR', prices: [{ gtin: gtinOf(1), price: 100 }], promotions: [] });
  await waitFor('first feeds applied', async () => ((await sync()).feeds.applied === 2 ? true : undefined));
}, 60_000);
afterAll(async () => {
  await gw?.kill('SIGTERM');
  await feeds?.close();
  await hq?.stop();
  tmp.remove();
  console.info(`hostile hqFeedsWorker: ${tally.cases} memory bombs, refused by code ${JSON.stringify(tally.refused)}`);
});

describe('memory bombs through the bundle and its feed worker', () => {
  it(`each of ${RUNS} bombs is refused by code, nothing applied, the process lives; then a valid feed applies`, async () => {
    await fc.assert(
      fc.asyncProperty(bomb, fc.boolean(), async ({ shape, fill }, signed) => {
        tally.cases++;
        tally.kinds.add(`${shape} ${signed ? 'signed' : 'unsigned'}`);
        const before = await sync();
        const text = bombText(shape, Math.floor((MAX_FEED - 512) * fill));
        const payload = signed
          ? signer.signText(`{"feed":"prices","scope":"store:test-store","version":${before.appliedVersions['prices/store'] + 1},"issuedAt":"${new Date().toISOString()}","body":${text}}`)
          : `{"kid":"${signer.kid}","pad":${text}}`;
        await feeds.publishRaw('prices', 'store', payload);
        const after = await waitFor('bomb handled', async () => {
          const s = await sync();
          return s.feeds.rejected > before.feeds.rejected ? s : undefined;
        });
        const alert = after.alerts.at(-1)!;
        tally.refused[alert.code] = (tally.refused[alert.code] ?? 0) + 1;
        expect(CODES.has(alert.code), `${alert.code}: ${alert.reason}`).toBe(true);
        expect(after.feeds.applied).toBe(before.feeds.applied);
        expect(after.appliedVersions).toEqual(before.appliedVersions);
        expect(gw.proc.exitCode).toBeNull();
      }),
      { seed: SEED, numRuns: RUNS },
    );
    if (RUNS >= 10) expect(tally.kinds.size, [...tally.kinds].join(', ')).toBe(10);
    const s = await sync();
    await feeds.publish('prices', 'store', s.appliedVersions['prices/store'] + 1, { mode: 'snapshot', currency: 'EUR', prices: [{ gtin: gtinOf(1), price: 321 }], promotions: [] });
    await waitFor('a valid feed after the bombs', async () => ((await sync()).feeds.applied === s.feeds.applied + 1 ? true : undefined));
    expect(gw.proc.exitCode).toBeNull();
  }, 240_000);
});
