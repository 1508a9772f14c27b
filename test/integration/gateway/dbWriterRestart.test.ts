/**
 * The SQLite writer thread dies (here: inside a group commit, before COMMIT, through the test-only
 * STOREGW_TEST_WRITER_EXIT_AT hook) while devices flood QoS 1 events at a real gateway process.
 * The death is logged and counted, the process keeps running, a new thread opens the files again
 * and /healthz says so; every event acknowledged before, during or after the death is in the
 * outbox exactly once after a SIGKILL, and the events of the group that died were not acknowledged.
 */
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import mqtt, { type MqttClient } from 'mqtt';
import { metric, spawnGateway, writeConfigFile, TEST_SECRET, type GatewayProcess, type TestDevice } from '../../helpers/gatewayHarness.js';
import { tempDir } from '../../helpers/tmp.js';
import { OutboxStore } from '../../../gateway/outbox/store.js';

const tmp = tempDir('sgw-writer-');
afterAll(() => tmp.remove());

const DEVICES: TestDevice[] = Array.from({ length: 4 }, (_, i) => ({ kind: 'scale', id: `s${i}` }));
const WINDOW = 16;

/** One device publishing QoS 1 with WINDOW in flight until its connection closes or `stop()`. */
function flood(port: number, dev: TestDevice, phase: string, acked: Set<string>, sent: Set<string>): { client: MqttClient; stop: () => void; closed: Promise<void> } {
  const client = mqtt.connect(`mqtt://127.0.0.1:${port}`, { username: `${dev.kind}/${dev.id}`, password: TEST_SECRET, reconnectPeriod: 0, clean: true });
  let n = 0;
  let stopped = false;
  const closed = new Promise<void>((resolve) => client.once('close', () => resolve()));
  void closed.then(() => (stopped = true));
  const sendOne = (): void => {
    if (stopped) return;
    const id = `${dev.id}-${phase}-${n++}`;
    sent.add(id);
    client.publish(`store/v1/dev/scale/${dev.id}/evt/weight`, JSON.stringify({ ts: new Date().toISOString(), grams: n, stable: true, id }), { qos: 1 }, (err) => {
      if (err) return;
      acked.add(id);
      sendOne();
    });
  };
  client.once('connect', () => {
    for (let i = 0; i < WINDOW; i++) sendOne();
  });
  client.on('error', () => undefined);
  return { client, stop: () => (stopped = true), closed };
}

/** Resolves once `probe` holds; each try reads the real process (its log or its HTTP API). */
async function until(probe: () => boolean | Promise<boolean>, what: string, ms = 15_000): Promise<void> {
  const end = Date.now() + ms;
  while (!(await probe())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

interface Health {
  ok: boolean;
  checks: { dbWriter: { state: string; exits: number; restarts: number } };
}

describe('a SQLite writer thread that dies', () => {
  it('is logged, counted and restarted; nothing acknowledged is lost, the process keeps running', async () => {
    const dataDir = path.join(tmp.dir, 'data');
    const file = await writeConfigFile(tmp.dir, { dataDir, devices: DEVICES });
    // The 40th group commit dies: under the flood, well after the first acknowledgements.
    const gw: GatewayProcess = await spawnGateway(file, { STOREGW_TEST_WRITER_EXIT_AT: '40' });
    const http = `http://127.0.0.1:${gw.httpPort}`;
    const health = async (): Promise<{ status: number; body: Health }> => {
      const r = await fetch(`${http}/healthz`);
      return { status: r.status, body: (await r.json()) as Health };
    };
    const acked = new Set<string>();
    const sent = new Set<string>();
    try {
      expect((await health()).body.checks.dbWriter).toEqual({ state: 'up', exits: 0, restarts: 0 });

      // Before and during the death: floods until the thread died and came back.
      const before = DEVICES.map((d) => flood(gw.mqttPort, d, 'before', acked, sent));
      await until(() => gw.output.some((l) => l.includes('SQLite writer thread died')), 'the death in the log');
      const deathLine = JSON.parse(gw.output.find((l) => l.includes('SQLite writer thread died'))!) as { level: string; module: string; err: { message: string; code?: string } };
      expect(deathLine.level).toBe('error');
      expect(deathLine.module).toBe('db');
      expect(deathLine.err.message).toContain('SGW_ERR_DB_WRITER_DOWN');
      await until(async () => (await health()).body.checks.dbWriter.state === 'up', 'the restart');
      for (const f of before) f.stop();
      await Promise.all(before.map((f) => f.client.endAsync(true)));
      const ackedBefore = acked.size;
      expect(ackedBefore).toBeGreaterThan(0);
      // The group that died was in flight: some events were sent and never acknowledged.
      expect(sent.size).toBeGreaterThan(acked.size);

      // After: the same devices commit again through the new thread.
      const after = DEVICES.map((d) => flood(gw.mqttPort, d, 'after', acked, sent));
      await until(() => acked.size >= ackedBefore + 200, 'acknowledgements after the restart');
      for (const f of after) f.stop();
      await Promise.all(after.map((f) => f.client.endAsync()));

      const h = await health();
      expect(h.status).toBe(200);
      expect(h.body.ok).toBe(true);
      expect(h.body.checks.dbWriter).toEqual({ state: 'up', exits: 1, restarts: 1 });
      expect(await metric(http, 'storegw_db_writer_exits_total')).toBe(1);
      expect(await metric(http, 'storegw_db_writer_restarts_total')).toBe(1);
      expect(gw.proc.exitCode).toBeNull();
    } finally {
      await gw.kill('SIGKILL');
    }

    // Acknowledged means on disk: after a SIGKILL every acknowledged event is there, once.
    const store = new OutboxStore(path.join(dataDir, 'outbox.db'), { readonly: true });
    await store.start();
    try {
      const count = new Map<string, number>();
      for (const r of await store.read(0, 1_000_000)) {
        const id = String(r.data.id);
        count.set(id, (count.get(id) ?? 0) + 1);
      }
      expect([...acked].filter((id) => !count.has(id))).toEqual([]);
      expect([...count].filter(([, c]) => c > 1)).toEqual([]);
      expect([...count.keys()].filter((id) => !sent.has(id))).toEqual([]);
    } finally {
      await store.stop();
    }
  }, 60_000);
});
