/**
 * A QoS 1 PUBACK means the event is on disk: the gateway runs as a child process, devices publish
 * as fast as they can, the test SIGKILLs the gateway at random moments over several rounds and
 * restarts it on the same data folder. Every acknowledged event is in the outbox exactly once, and
 * sequence numbers strictly increase across restarts and are never reused.
 */
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import mqtt, { type MqttClient } from 'mqtt';
import { spawnGateway, writeConfigFile, TEST_SECRET, type GatewayProcess, type TestDevice } from '../../helpers/gatewayHarness.js';
import { tempDir } from '../../helpers/tmp.js';
import { OutboxStore } from '../../../gateway/outbox/store.js';

const tmp = tempDir('sgw-dur-');
afterAll(() => tmp.remove());

const DEVICES: TestDevice[] = Array.from({ length: 6 }, (_, i) => ({ kind: 'scale', id: `s${i}` }));
const ROUNDS = 5;
const WINDOW = 64; // publishes in flight per client

/** One device publishing QoS 1 as fast as its window allows until the connection dies. */
function flood(port: number, dev: TestDevice, round: number, acked: Set<string>): { client: MqttClient; done: Promise<void> } {
  const client = mqtt.connect(`mqtt://127.0.0.1:${port}`, { username: `${dev.kind}/${dev.id}`, password: TEST_SECRET, reconnectPeriod: 0, clean: true });
  let n = 0;
  let stopped = false;
  const done = new Promise<void>((resolve) => {
    client.once('close', () => {
      stopped = true;
      resolve();
    });
  });
  const sendOne = () => {
    if (stopped) return;
    const id = `${dev.id}-r${round}-${n++}`;
    client.publish(`store/v1/dev/scale/${dev.id}/evt/weight`, JSON.stringify({ ts: new Date().toISOString(), grams: n, stable: true, id }), { qos: 1 }, (err) => {
      if (!err) {
        acked.add(id);
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

describe('durability under SIGKILL', () => {
  it(`keeps every acknowledged event exactly once over ${ROUNDS} kills, seq never reused`, async () => {
    const dataDir = path.join(tmp.dir, 'data');
    const file = await writeConfigFile(tmp.dir, { dataDir, devices: DEVICES });
    const acked = new Set<string>();
    const lastSeqAtStart: number[] = [];
    for (let round = 0; round < ROUNDS; round++) {
      const gw: GatewayProcess = await spawnGateway(file);
      lastSeqAtStart.push(gw.lastSeq);
      const before = acked.size;
      const floods = DEVICES.map((d) => flood(gw.mqttPort, d, round, acked));
      // Wait until this round has real traffic acknowledged, then kill at a random later moment.
      const deadline = Date.now() + 20_000;
      while (acked.size < before + 500 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 5));
      expect(acked.size).toBeGreaterThan(before);
      await new Promise((r) => setTimeout(r, Math.floor(Math.random() * 300)));
      const code = await gw.kill('SIGKILL');
      expect(code).toBeNull(); // killed by the signal, not exited
      await Promise.all(floods.map((f) => f.done));
      for (const f of floods) f.client.end(true);
    }

    const store = new OutboxStore(path.join(dataDir, 'outbox.db'), { readonly: true });
    await store.start();
    try {
      const rows = await store.read(0, 10_000_000);
      const count = new Map<string, number>();
      let prev = 0;
      for (const r of rows) {
        expect(r.seq).toBeGreaterThan(prev); // strictly increasing
        prev = r.seq;
        const id = String(r.data.id);
        count.set(id, (count.get(id) ?? 0) + 1);
      }
      const missing = [...acked].filter((id) => !count.has(id));
      expect(missing).toEqual([]);
      const doubled = [...count].filter(([, c]) => c > 1);
      expect(doubled).toEqual([]);
      // Never reused: everything written in round r has a seq above everything of earlier rounds,
      // and the seq each restart reported is at least the highest seq committed before it.
      const maxSeqOfRound = new Map<number, number>();
      const minSeqOfRound = new Map<number, number>();
      for (const r of rows) {
        const round = Number(/-r(\d+)-/.exec(String(r.data.id))![1]);
        maxSeqOfRound.set(round, Math.max(maxSeqOfRound.get(round) ?? 0, r.seq));
        minSeqOfRound.set(round, Math.min(minSeqOfRound.get(round) ?? Infinity, r.seq));
      }
      for (let round = 1; round < ROUNDS; round++) {
        if (!minSeqOfRound.has(round)) continue;
        expect(minSeqOfRound.get(round)!).toBeGreaterThan(maxSeqOfRound.get(round - 1) ?? 0);
        expect(lastSeqAtStart[round]).toBeGreaterThanOrEqual(maxSeqOfRound.get(round - 1) ?? 0);
      }
      expect(acked.size).toBeGreaterThan(ROUNDS * 500);
    } finally {
      await store.stop();
    }
  }, 180_000);
});
