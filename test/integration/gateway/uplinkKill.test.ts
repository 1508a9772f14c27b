/**
 * SIGKILL of a real gateway child process during upload, over several rounds, on the same data
 * folder, HQ a real Mosquitto with the HQ simulator's dedupe. A payment terminal publishes exact
 * records as fast as its window allows; each round the gateway is killed at a random moment while
 * batches are in flight. After the last round every exact record the gateway acknowledged to the
 * device is at HQ exactly once, with no gap in the exact seqs; the duplicates HQ saw (batches
 * re-sent after a kill, before their PUBACK was turned into a delete) are counted and reported.
 */
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import mqtt, { type MqttClient } from 'mqtt';
import { spawnGateway, writeConfigFile, TEST_SECRET, type GatewayProcess } from '../../helpers/gatewayHarness.js';
import { startMosquitto } from '../../helpers/mosquitto.js';
import { tempDir } from '../../helpers/tmp.js';
import { HqSim } from '../../sim/hqSim.js';

const tmp = tempDir('sgw-upkill-');
afterAll(() => tmp.remove());

const STORE = 'test-store';
const ROUNDS = 4;
const WINDOW = 32;

function flood(port: number, round: number, acked: Set<string>, onAck: () => void = () => undefined): { client: MqttClient; done: Promise<void> } {
  const client = mqtt.connect(`mqtt://127.0.0.1:${port}`, { username: 'payment/pay-1', password: TEST_SECRET, reconnectPeriod: 0 });
  let n = 0;
  let stopped = false;
  const done = new Promise<void>((resolve) => client.once('close', () => ((stopped = true), resolve())));
  const sendOne = (): void => {
    if (stopped) return;
    const id = `r${round}-${n++}`;
    client.publish('store/v1/dev/payment/pay-1/evt/result', JSON.stringify({ ts: new Date().toISOString(), requestId: id, status: 'approved', amount: n, currency: 'EUR' }), { qos: 1 }, (err) => {
      if (!err) {
        acked.add(id);
        onAck();
        sendOne();
      }
    });
  };
  client.once('connect', () => {
    for (let i = 0; i < WINDOW; i++) sendOne();
  });
  client.on('error', () => undefined);
  return { client, done };
}

describe('uplink under SIGKILL', () => {
  it(`delivers every acknowledged exact record exactly once over ${ROUNDS} kills`, async () => {
    const hqBroker = await startMosquitto();
    const hq = new HqSim({ url: hqBroker.url });
    await hq.start();
    const file = await writeConfigFile(tmp.dir, {
      dataDir: path.join(tmp.dir, 'data'),
      devices: [{ kind: 'payment', id: 'pay-1' }],
      extra: {
        hq: { url: hqBroker.url },
        prices: { enabled: false },
        // Small batches, sent at once: many PUBACK/delete boundaries for the kill to land on.
        uplink: { batchMaxRecords: 50, batchMaxAgeMs: 0, backoffInitialMs: 50, backoffMaxMs: 300 },
      },
    });
    const acked = new Set<string>();
    try {
      for (let round = 0; round <= ROUNDS; round++) {
        const gw: GatewayProcess = await spawnGateway(file);
        const target = acked.size + 500;
        let reached: () => void = () => undefined;
        const enough = new Promise<void>((resolve) => (reached = resolve));
        const f = flood(gw.mqttPort, round, acked, () => acked.size >= target && reached());
        if (round === ROUNDS) {
          // The last round runs to the end: publish a while, stop the device, let the backlog drain.
          await enough;
          await f.client.endAsync();
          await hq.waitFor((h) => h.records(STORE, 'exact').length >= acked.size, 30_000, 'every acked record at HQ');
          await gw.kill('SIGTERM');
          break;
        }
        // Kill while batches are flowing: after HQ got something new this round, at a random moment.
        const before = hq.totals(STORE).batches;
        await hq.waitFor((h) => h.totals(STORE).batches >= before + 3 + Math.floor(Math.random() * 10), 20_000, `round ${round}: batches flowing`);
        await gw.kill('SIGKILL');
        await f.done;
        await hq.waitFor((h) => (h.status(STORE) as { state?: string } | undefined)?.state === 'offline', 10_000, 'Last Will: offline');
      }
      const exact = hq.records(STORE, 'exact');
      const ids = exact.map((r) => String(r.data.requestId));
      expect(new Set(ids).size).toBe(ids.length); // once each after dedupe
      expect([...acked].filter((id) => !ids.includes(id))).toEqual([]); // every acked one
      expect(hq.exactGaps(STORE)).toEqual([]); // no gap in the seqs
      expect(hq.exactOutOfOrder(STORE)).toBe(0);
      expect(hq.totals(STORE).conflicts).toBe(0);
      const t = hq.totals(STORE);
      process.stdout.write(`sigkill: ${acked.size} acked, ${ids.length} at HQ, ${t.duplicates} duplicates dropped by HQ's dedupe, ${t.duplicateBatches} re-sent batches\n`);
    } finally {
      await hq.stop();
      await hqBroker.stop();
    }
  });
});
