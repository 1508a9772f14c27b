/**
 * Leftovers are bounded: dead letters live in their own file (deadletters.db), outside what the
 * outbox quota measures, so a device stuck sending bad payloads never makes the quota evict good
 * events; they are kept by age and by rows/bytes, what the bound drops is counted. The outbox WAL
 * is watched, and truncated once it outgrows its threshold and no reader holds it.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { statSync } from 'node:fs';
import path from 'node:path';
import type { MqttClient } from 'mqtt';
import { openDb } from '../../../gateway/db/sqlite.js';
import { connectDevice, metric, startGateway, ts, TEST_SECRET, type RunningGateway } from '../../helpers/gatewayHarness.js';
import { tempDir } from '../../helpers/tmp.js';

let g: RunningGateway | null = null;
const clients: MqttClient[] = [];
const dirs: { remove(): void }[] = [];
afterEach(async () => {
  for (const c of clients.splice(0)) await c.endAsync(true);
  await g?.stop();
  g = null;
  for (const d of dirs.splice(0)) d.remove();
});

async function gateway(data: Record<string, unknown>): Promise<RunningGateway> {
  const tmp = tempDir('sgw-dead-');
  dirs.push(tmp);
  g = await startGateway({ dataDir: tmp.dir, extra: { data: { dir: tmp.dir, ...data } } });
  return g;
}

async function device(id: string, kind = 'scale'): Promise<MqttClient> {
  const c = await connectDevice(g!.mqttUrl, `${kind}/${id}`, TEST_SECRET);
  clients.push(c);
  return c;
}

/** A bad payload of ~4 KB (breaks the schema: grams is text). */
function badPayload(i: number): string {
  return JSON.stringify({ ts: ts(), grams: `bad-${i}-${'x'.repeat(4000)}`, stable: true });
}

/** Polls `probe` until it holds (each try is a real read), failing after `ms`. */
async function until(probe: () => Promise<boolean> | boolean, what: string, ms = 20_000): Promise<void> {
  const end = Date.now() + ms;
  while (!(await probe())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe('dead letters never push good events out of the outbox quota', () => {
  it('a device stuck on bad payloads: no good event evicted', async () => {
    await gateway({ quotaBytes: 1_048_576 });
    const scale = await device('scale-1');
    for (let i = 0; i < 20; i++) await scale.publishAsync('store/v1/dev/scale/scale-1/evt/weight', JSON.stringify({ ts: ts(), grams: i, stable: true }), { qos: 1 });
    for (let i = 0; i < 400; i++) await scale.publishAsync('store/v1/dev/scale/scale-1/evt/weight', badPayload(i), { qos: 1 });
    await g!.gw.uplink.checkNow();
    expect(await metric(g!.httpUrl, 'storegw_outbox_evicted_total{class="sampled"}')).toBe(0);
    expect(g!.gw.outbox.counts.snapshot()).toEqual({ sampled: 20 });
  });
});

describe('dead letters are bounded and counted', () => {
  it('keeps at most maxRows, counts what the bound dropped, newest kept', async () => {
    await gateway({ quotaBytes: 64 * 1_048_576, deadLetters: { maxRows: 100, pruneEveryMs: 1000 } });
    const scale = await device('scale-1');
    for (let i = 0; i < 160; i++) await scale.publishAsync('store/v1/dev/scale/scale-1/evt/weight', badPayload(i), { qos: 1 });
    await until(async () => (await metric(g!.httpUrl, 'storegw_dead_letters')) <= 100, 'the row bound');
    const kept = await metric(g!.httpUrl, 'storegw_dead_letters');
    const dropped = await metric(g!.httpUrl, 'storegw_dead_letters_dropped_total{reason="rows"}');
    expect(kept + dropped).toBe(160);
    const db = await openDb(path.join(g!.dataDir, 'deadletters.db'), { readonly: true });
    const n = await db.get<{ n: number }>('SELECT COUNT(*) AS n FROM dead_letters');
    await db.close();
    expect(n!.n).toBe(kept);
    const newest = await g!.gw.outbox.recentDeadLetters('scale-1', 1);
    expect(newest[0].payload).toContain('bad-159-');
  });

  it('keeps at most maxBytes of dead-letter text (the newest)', async () => {
    await gateway({ quotaBytes: 64 * 1_048_576, deadLetters: { maxBytes: 65_536, pruneEveryMs: 1000 } });
    const scale = await device('scale-1');
    for (let i = 0; i < 40; i++) await scale.publishAsync('store/v1/dev/scale/scale-1/evt/weight', badPayload(i), { qos: 1 });
    await until(async () => (await metric(g!.httpUrl, 'storegw_dead_letters_bytes')) <= 65_536, 'the byte bound');
    const kept = await metric(g!.httpUrl, 'storegw_dead_letters');
    expect(kept).toBeGreaterThan(0);
    expect(kept + (await metric(g!.httpUrl, 'storegw_dead_letters_dropped_total{reason="bytes"}'))).toBe(40);
    expect((await g!.gw.outbox.recentDeadLetters('scale-1', 1))[0].payload).toContain('bad-39-');
  });

  it('drops dead letters older than maxAgeDays', async () => {
    await gateway({ quotaBytes: 64 * 1_048_576, deadLetters: { maxAgeDays: 1, pruneEveryMs: 1000 } });
    const scale = await device('scale-1');
    for (let i = 0; i < 5; i++) await scale.publishAsync('store/v1/dev/scale/scale-1/evt/weight', badPayload(i), { qos: 1 });
    // Age them by two days on our own connection (the gateway's clock is the real one).
    const db = await openDb(path.join(g!.dataDir, 'deadletters.db'));
    await db.run('UPDATE dead_letters SET recv_ts = recv_ts - ?', [2 * 86_400_000]);
    await db.close();
    await until(async () => (await metric(g!.httpUrl, 'storegw_dead_letters_dropped_total{reason="age"}')) === 5, 'the age bound');
    expect(await metric(g!.httpUrl, 'storegw_dead_letters')).toBe(0);
  });
});

describe('dead letters written before they had their own file', () => {
  it('move to deadletters.db on start, verbatim, and the outbox no longer holds them', async () => {
    const tmp = tempDir('sgw-dead-old-');
    dirs.push(tmp);
    // An outbox at migration 2, as the previous release left it, with two dead letters.
    const old = await openDb(path.join(tmp.dir, 'outbox.db'));
    const { migrate } = await import('../../../gateway/db/sqlite.js');
    const { OUTBOX_MIGRATIONS } = await import('../../../gateway/outbox/migrations/index.js');
    await migrate(old, OUTBOX_MIGRATIONS.slice(0, 2));
    for (const p of ["a$&b '\\ \u0000", 'second 😀']) {
      await old.run('INSERT INTO dead_letters (recv_ts, kind, device_id, topic, code, reason, payload) VALUES (?, ?, ?, ?, ?, ?, ?)', [Date.now(), 'scale', 'scale-1', 't', 'SGW_ERR_SCHEMA', 'data.grams: must be integer', p]);
    }
    await old.close();
    g = await startGateway({ dataDir: tmp.dir, extra: { data: { dir: tmp.dir, quotaBytes: 64 * 1_048_576 } } });
    const moved = await g.gw.outbox.recentDeadLetters('scale-1', 10);
    expect(moved.map((d) => d.payload)).toEqual(['second 😀', "a$&b '\\ \u0000"]);
    expect(await metric(g.httpUrl, 'storegw_dead_letters')).toBe(2);
    const db = await openDb(path.join(tmp.dir, 'outbox.db'), { readonly: true });
    const t = await db.get<{ n: number }>("SELECT COUNT(*) AS n FROM sqlite_schema WHERE name = 'dead_letters'");
    await db.close();
    expect(t!.n).toBe(0);
  });
});

describe('the outbox WAL is watched and truncated', () => {
  it('a WAL grown past the threshold while a reader held it is truncated once the reader lets go', async () => {
    await gateway({ quotaBytes: 64 * 1_048_576, walTruncateBytes: 262_144 });
    const wal = path.join(g!.dataDir, 'outbox.db-wal');
    // A reader holding a snapshot keeps checkpoints from resetting the WAL: it grows.
    const reader = await openDb(path.join(g!.dataDir, 'outbox.db'), { readonly: true });
    await reader.exec('BEGIN');
    await reader.get('SELECT COUNT(*) FROM events');
    const scale = await device('scale-1');
    const big = 'y'.repeat(3000);
    for (let i = 0; i < 300; i++) await scale.publishAsync('store/v1/dev/scale/scale-1/evt/weight', JSON.stringify({ ts: ts(), grams: i, stable: true, note: big }), { qos: 1 });
    expect(statSync(wal).size).toBeGreaterThan(262_144);
    await until(async () => (await metric(g!.httpUrl, 'storegw_outbox_wal_bytes')) > 262_144, 'the WAL metric');
    await reader.exec('COMMIT');
    await reader.close();
    await until(() => statSync(wal).size === 0, 'the WAL truncated');
    await until(async () => (await metric(g!.httpUrl, 'storegw_outbox_wal_bytes')) === 0, 'the WAL metric back to 0');
    expect(g!.gw.outbox.counts.snapshot()).toEqual({ sampled: 300 });
  });
});
