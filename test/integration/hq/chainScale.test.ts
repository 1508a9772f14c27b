/**
 * A chain in one test: 60 light stores (test/sim/lightStores.ts: the batch envelope and the ack
 * check, no gateway) and three real gateways (`hq.delivery: ingest-ack`, a payment terminal each
 * publishing results through them) into one Mosquitto with persistence, the real ingest with three
 * workers and a real PostgreSQL. While they stream, an ingest worker is SIGKILLed, Mosquitto is
 * SIGKILLed and started again on its persistence file, and PostgreSQL is stopped immediately (a
 * crash: WAL replay) and started again. At the end every (store, seq) is in PostgreSQL exactly
 * once, every light store's batches were acked, and every gateway's outbox is empty.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { MqttClient } from 'mqtt';
import { connectDevice, metric, spawnGateway, TEST_SECRET, writeConfigFile, type GatewayProcess } from '../../helpers/gatewayHarness.js';
import { tempDir } from '../../helpers/tmp.js';
import { LightStores } from '../../sim/lightStores.js';
import type { HqSigner } from '../../sim/hqSigner.js';
import { startIngestStack, type IngestStack } from './ingestStack.js';

// The stream is paced (0.5 batches per second per store, four batches each: about eight seconds
// whatever the store count), so the kills land mid-stream with 60 stores as they do with 200; the
// bench (`make bench`, module hq) is where 1,000 stores are measured. More stores here would only
// cost CPU.
const STORES = 60;
const BATCHES = 4;
const RECORDS = 5;
const GATEWAYS = ['chain-gw-1', 'chain-gw-2', 'chain-gw-3'];
const PAYMENTS = 30;

let stack: IngestStack;
let light: LightStores;
const gateways: GatewayProcess[] = [];
const dirs: { remove(): void }[] = [];
const terminals: MqttClient[] = [];

beforeAll(async () => {
  // The gateways and the light stores' connections start once the broker listens, while
  // PostgreSQL and the ingest are still starting (a gateway re-sends any batch sent before the
  // ingest subscribed; the light stores send nothing before the test body).
  let clients: Promise<GatewayProcess[]> | undefined;
  stack = await startIngestStack({ workers: 3, persistence: true, ownCluster: true, onBroker: (mosq, signer) => (clients = startClients(mosq.url, signer)) });
  gateways.push(...(await clients!));
  for (const g of gateways) terminals.push(await connectDevice(`mqtt://127.0.0.1:${g.mqttPort}`, 'payment/pay-1', TEST_SECRET, { reconnectPeriod: 200 }));
}, 60_000);

/** Connects the light stores (sending nothing yet) and spawns the gateways. */
async function startClients(url: string, signer: HqSigner): Promise<GatewayProcess[]> {
  light = new LightStores({
    url,
    stores: STORES,
    publicKeys: { [signer.kid]: signer.publicKeyPem },
    recordsPerBatch: RECORDS,
    batchesPerStore: BATCHES,
    batchesPerSecond: 0.5,
    window: 2,
    resendMs: 1500,
  });
  const gwConfig = (storeId: string) => ({
    storeId,
    hq: { url, publicKeys: [{ kid: signer.kid, pem: signer.publicKeyPem }], delivery: 'ingest-ack', ackTimeoutMs: 1500, maxUnackedBatches: 16 },
    prices: { enabled: false },
    uplink: { batchMaxAgeMs: 0, backoffInitialMs: 50, backoffMaxMs: 300, checkIntervalMs: 60_000 },
    compaction: { windowMs: 60_000, intervalMs: 60_000 },
  });
  const spawnOne = async (id: string): Promise<GatewayProcess> => {
    const tmp = tempDir('chain-gw-');
    dirs.push(tmp);
    return spawnGateway(await writeConfigFile(tmp.dir, { dataDir: tmp.dir, devices: [{ kind: 'payment', id: 'pay-1' }], extra: gwConfig(id) }));
  };
  const [, ...gws] = await Promise.all([light.connect(), ...GATEWAYS.map(spawnOne)]);
  return gws;
}

afterAll(async () => {
  await light?.stop();
  for (const c of terminals) await c.endAsync(true).catch(() => undefined);
  await Promise.all(gateways.map((g) => g.kill('SIGTERM')));
  for (const d of dirs) d.remove();
  await stack?.stop();
});

/** Records waiting in a gateway's outbox, all classes (its /metrics). */
async function outboxDepth(httpUrl: string): Promise<number> {
  const text = await (await fetch(`${httpUrl}/metrics`)).text();
  return text
    .split('\n')
    .filter((l) => l.startsWith('storegw_outbox_depth{'))
    .reduce((n, l) => n + Number(l.slice(l.lastIndexOf(' ') + 1)), 0);
}

/** Payment results through each gateway, a few at a time, until PAYMENTS each. */
function payments(): Promise<void> {
  return Promise.all(
    terminals.map(async (c, gi) => {
      for (let i = 0; i < PAYMENTS; i++) {
        const body = { ts: new Date().toISOString(), requestId: `${GATEWAYS[gi]}-${i}`, status: 'approved', amount: 100 + i, currency: 'EUR' };
        await c.publishAsync('store/v1/dev/payment/pay-1/evt/result', JSON.stringify(body), { qos: 1 });
        // Spread over the stream: one payment per light store ack milestone.
        await light.acked(Math.floor(((i + 1) / PAYMENTS) * STORES * BATCHES * 0.8));
      }
    }),
  ).then(() => undefined);
}

it(`takes ${STORES} light stores and 3 gateways exactly once through worker, broker and PostgreSQL kills`, async () => {
  light.start();
  const paid = payments();
  const total = STORES * BATCHES;

  // 1. SIGKILL an ingest worker; its supervisor forks the slot again.
  await light.acked(Math.floor(total * 0.15));
  const victim = stack.lines.filter((l) => l.msg === 'worker started')[1];
  const from = stack.lines.length;
  process.kill(victim.workerPid as number, 'SIGKILL');
  await stack.waitLine((l) => l.msg === 'worker started' && l.worker === victim.worker, from);
  expect(light.stats.acksAccepted).toBeLessThan(total); // mid-stream, not after it

  // 2. The broker is killed hard and started again on its persistence file.
  await light.acked(Math.floor(total * 0.35));
  await stack.mosq.kill();
  await stack.mosq.start();
  expect(light.stats.acksAccepted).toBeLessThan(total);

  // 3. PostgreSQL crashes (no checkpoint) and comes back at once (WAL replay).
  await light.acked(Math.floor(total * 0.55));
  await stack.pg.restart({ immediate: true });
  expect(light.stats.acksAccepted).toBeLessThan(total);

  await light.allAcked();
  await paid;
  for (const g of gateways) {
    const url = `http://127.0.0.1:${g.httpPort}`;
    await expect.poll(() => outboxDepth(url), { timeout: 20_000 }).toBe(0);
    expect(await metric(url, 'storegw_hq_unacked_batches')).toBe(0);
  }

  expect(light.stats.refused).toEqual([]);
  expect(light.perStore().filter((s) => s.acked !== BATCHES || s.inFlight !== 0)).toEqual([]);
  const lightRows = (
    await stack.db.query<{ n: string; stores: string; bad: string }>(
      `SELECT count(*) AS n, count(DISTINCT store_id) AS stores,
              count(*) FILTER (WHERE seq < 1 OR seq > $1) AS bad
       FROM records WHERE store_id LIKE 'light-%'`,
      [BATCHES * RECORDS],
    )
  ).rows[0];
  // (store_id, seq) is the primary key: count = stores × seqs with every seq in range means each once.
  expect(lightRows).toEqual({ n: String(STORES * BATCHES * RECORDS), stores: String(STORES), bad: '0' });

  const gwRows = (
    await stack.db.query<{ store_id: string; n: string; ids: string }>(
      `SELECT store_id, count(*) AS n, count(DISTINCT record->'data'->>'requestId') AS ids
       FROM records WHERE store_id LIKE 'chain-gw-%' AND kind = 'payment' AND type = 'result' GROUP BY store_id ORDER BY store_id`,
    )
  ).rows;
  expect(gwRows).toEqual(GATEWAYS.map((id) => ({ store_id: id, n: String(PAYMENTS), ids: String(PAYMENTS) })));
  const conflicts = (await stack.db.query<{ n: string }>('SELECT count(*) AS n FROM record_conflicts')).rows[0].n;
  expect(conflicts).toBe('0');
  // The worker we killed is the only one that died: the broker and PostgreSQL crashes killed none.
  expect(stack.lines.filter((l) => l.msg === 'worker died, restarting').map((l) => l.workerPid)).toEqual([victim.workerPid]);
}, 90_000);
