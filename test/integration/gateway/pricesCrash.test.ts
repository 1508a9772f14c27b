/**
 * A feed applies atomically: the gateway runs as a child process
 * (dist/storegw.js), HQ (a real Mosquitto) publishes a large catalog snapshot, and the test
 * SIGKILLs the gateway the moment it logs "applying feed" — inside the SQLite transaction. The
 * prices.db left behind holds the old catalog or the new one, never a mix; and since the PUBACK
 * goes to HQ only after the commit, the restarted gateway gets the feed again and applies it.
 */
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startMosquitto, type Mosquitto } from '../../helpers/mosquitto.js';
import { spawnGateway, writeConfigFile, type GatewayProcess } from '../../helpers/gatewayHarness.js';
import { tempDir } from '../../helpers/tmp.js';
import { createHqSigner } from '../../sim/hqSigner.js';
import { connectHqFeeds, gtinOf, type HqFeeds } from '../../sim/hqFeeds.js';
import { PriceStore } from '../../../gateway/prices/store.js';

const OLD_ITEMS = 100_000;
const NEW_ITEMS = 90_000;
const ROUNDS = 3;

const tmp = tempDir('sgw-pcrash-');
const signer = createHqSigner({ kid: 'hq-test' });
let hq: Mosquitto;
let feeds: HqFeeds;

function catalog(n: number, tag: string) {
  return { mode: 'snapshot', items: Array.from({ length: n }, (_, i) => ({ gtin: gtinOf(i + 1), name: `${tag} item ${i + 1}`, unit: 'each' })) };
}

/** Resolves with the first stdout line of the child that matches. */
function line(gw: GatewayProcess, match: (j: Record<string, unknown>) => boolean): Promise<Record<string, unknown>> {
  // Lines already read by the harness first; then new ones (synchronously, so none slips between).
  for (const l of gw.output) {
    if (!l.startsWith('{')) continue;
    const j = JSON.parse(l) as Record<string, unknown>;
    if (match(j)) return Promise.resolve(j);
  }
  return new Promise((resolve) => {
    let buf = '';
    const onData = (d: Buffer) => {
      buf += d.toString('utf8');
      let nl: number;
      while ((nl = buf.indexOf('\n')) >= 0) {
        const l = buf.slice(0, nl);
        buf = buf.slice(nl + 1);
        if (!l.startsWith('{')) continue;
        const j = JSON.parse(l) as Record<string, unknown>;
        if (match(j)) {
          gw.proc.stdout!.off('data', onData);
          resolve(j);
          return;
        }
      }
    };
    gw.proc.stdout!.on('data', onData);
  });
}

async function census(dataDir: string) {
  const s = new PriceStore(path.join(dataDir, 'prices.db'));
  await s.start();
  try {
    return { items: (await s.versionCensus()).item, versions: await s.versions() };
  } finally {
    await s.stop();
  }
}

beforeAll(async () => {
  hq = await startMosquitto();
  feeds = await connectHqFeeds(hq.url, 'test-store', signer);
});
afterAll(async () => {
  await feeds?.close();
  await hq?.stop();
  tmp.remove();
});

describe('SIGKILL during a large catalog apply', () => {
  it(`leaves the old or the new catalog, never a mix (${ROUNDS} rounds), and the feed is applied after restart`, async () => {
    const dataDir = path.join(tmp.dir, 'data');
    const file = await writeConfigFile(tmp.dir, { dataDir, extra: { hq: { url: hq.url, publicKeys: [{ kid: signer.kid, pem: signer.publicKeyPem }] }, log: { level: 'info' } } });

    let gw = await spawnGateway(file);
    const first = line(gw, (j) => j.msg === 'feed applied' && j.version === 1);
    await feeds.publish('catalog', 'store', 1, catalog(OLD_ITEMS, 'old'));
    await first;

    const outcomes: string[] = [];
    for (let round = 0; round < ROUNDS; round++) {
      const version = 2 + round;
      const oldVersion = version - 1;
      const oldCount = round === 0 ? OLD_ITEMS : round % 2 === 1 ? NEW_ITEMS : OLD_ITEMS;
      const newCount = round % 2 === 0 ? NEW_ITEMS : OLD_ITEMS;
      const applying = line(gw, (j) => j.msg === 'applying feed' && j.version === version);
      await feeds.publish('catalog', 'store', version, catalog(newCount, `v${version}`));
      await applying;
      await gw.kill('SIGKILL');

      const c = await census(dataDir);
      // Exactly one version in the table, with its full row count, and the version row agrees.
      expect(c.items).toHaveLength(1);
      const v = c.items[0].ver;
      expect([oldVersion, version]).toContain(v);
      expect(c.items[0].rows).toBe(v === version ? newCount : oldCount);
      expect(c.versions.find((r) => r.feed === 'catalog')?.version).toBe(v);
      outcomes.push(v === version ? 'new' : 'old');

      // Restarted on the same folder, the gateway gets the un-acknowledged feed again from HQ.
      gw = await spawnGateway(file);
      if (v !== version) await line(gw, (j) => j.msg === 'feed applied' && j.version === version);
    }
    await gw.kill('SIGTERM');
    const end = await census(dataDir);
    expect(end.items).toEqual([{ scope: 'store', ver: 1 + ROUNDS, rows: ROUNDS % 2 === 1 ? NEW_ITEMS : OLD_ITEMS }]);
    // Which side of the commit each kill landed on (both are correct; a mix never is).
    console.info(`pricesCrash outcomes: ${outcomes.join(', ')}`);
  }, 90_000);
});
