/**
 * /metrics serves the outbox depth from counters kept on append and delete, so a scrape never
 * scans the events table on the writer connection (a `COUNT(*) … GROUP BY` per scrape used to),
 * and the values stay exact against a recount across appends, uplink deletes, compaction-style
 * replaces and quota evictions.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import path from 'node:path';
import type { MqttClient } from 'mqtt';
import { openDb } from '../../../gateway/db/sqlite.js';
import { connectDevice, startGateway, ts, TEST_SECRET, type RunningGateway } from '../../helpers/gatewayHarness.js';

let g: RunningGateway;
let door: MqttClient;
let scale: MqttClient;
const statements: string[] = [];

beforeAll(async () => {
  g = await startGateway();
  door = await connectDevice(g.mqttUrl, 'footfall/door-1', TEST_SECRET);
  scale = await connectDevice(g.mqttUrl, 'scale/scale-1', TEST_SECRET);
  g.gw.outbox.database.onStatement((sql) => statements.push(sql));
});
afterAll(async () => {
  await door.endAsync();
  await scale.endAsync();
  await g.stop();
});

/** storegw_outbox_depth per class as /metrics shows it. */
async function scrapeDepth(): Promise<Record<string, number>> {
  const text = await (await fetch(`${g.httpUrl}/metrics`)).text();
  const out: Record<string, number> = {};
  for (const m of text.matchAll(/^storegw_outbox_depth\{class="([a-z]+)"\} (\d+)$/gm)) if (Number(m[2]) > 0) out[m[1]] = Number(m[2]);
  return out;
}

/** The truth, counted on a connection of our own. */
async function recount(): Promise<Record<string, number>> {
  const db = await openDb(path.join(g.dataDir, 'outbox.db'), { readonly: true });
  const rows = await db.all<{ cls: string; n: number }>('SELECT cls, COUNT(*) AS n FROM events GROUP BY cls');
  await db.close();
  return Object.fromEntries(rows.filter((r) => r.n > 0).map((r) => [r.cls, r.n]));
}

async function publishSome(n: number): Promise<void> {
  for (let i = 0; i < n; i++) {
    await door.publishAsync('store/v1/dev/footfall/door-1/evt/count', JSON.stringify({ ts: ts(), in: 1, out: 0 }), { qos: 1 });
    await scale.publishAsync('store/v1/dev/scale/scale-1/evt/weight', JSON.stringify({ ts: ts(), grams: i, stable: true }), { qos: 1 });
    await scale.publishAsync('store/v1/dev/scale/scale-1/evt/alert', JSON.stringify({ ts: ts(), code: 'X', severity: 'info', message: `m${i}` }), { qos: 1 });
  }
}

describe('/metrics outbox depth from counters', () => {
  it('a scrape runs no statement on the outbox writer connection', async () => {
    await publishSome(5);
    await g.gw.ingest.drain();
    statements.length = 0;
    for (let i = 0; i < 5; i++) await scrapeDepth();
    expect(statements).toEqual([]);
  });

  it('the depth stays exact across appends, deletes, replaces and evictions', async () => {
    await publishSome(20);
    await g.gw.ingest.drain();
    expect(await scrapeDepth()).toEqual(await recount());

    // The uplink deletes what HQ acknowledged (mixed classes in one call).
    const some = (await g.gw.outbox.read(0, 1000)).filter((_, i) => i % 3 === 0).map((r) => r.seq);
    await g.gw.uplink.store.deleteSeqs([...some, 999_999]);
    expect(await scrapeDepth()).toEqual(await recount());

    // The quota evicts the oldest of a class.
    await g.gw.uplink.store.evictOldest('sampled', 7);
    expect(await scrapeDepth()).toEqual(await recount());

    // The compactor replaces raw rows by one compact record.
    const all = await g.gw.outbox.read(0, 1000);
    const raw = all.filter((r) => r.cls === 'sampled').slice(0, 4);
    expect(raw.length, JSON.stringify(all.map((r) => r.cls))).toBe(4);
    const last = raw[raw.length - 1];
    await g.gw.uplink.store.replaceWithCompact(
      'sampled',
      raw.map((r) => r.seq),
      [{ seq: last.seq, seqFrom: raw[0].seq, class: 'sampled', kind: last.kind, deviceId: last.deviceId, type: last.type, ts: last.ts, recvTs: last.recvTs, bootId: last.bootId, monoMs: last.monoMs, data: { grams: 1, stable: true } }],
    );
    expect(await scrapeDepth()).toEqual(await recount());

    await publishSome(3);
    await g.gw.ingest.drain();
    expect(await scrapeDepth()).toEqual(await recount());
  });
});
