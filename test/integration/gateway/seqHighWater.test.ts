/**
 * A seq is never reused: once the uplink (or the quota, or compaction) deleted every row, the
 * high-water mark its delete transaction raised still tells a restarted gateway where to go on.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { connectDevice, startGateway, ts, TEST_SECRET } from '../../helpers/gatewayHarness.js';
import { tempDir } from '../../helpers/tmp.js';

const tmp = tempDir('sgw-seq-');
afterAll(() => tmp.remove());

async function publish(mqttUrl: string, n: number): Promise<void> {
  const c = await connectDevice(mqttUrl, 'scale/scale-1', TEST_SECRET);
  for (let i = 0; i < n; i++) await c.publishAsync('store/v1/dev/scale/scale-1/evt/weight', JSON.stringify({ ts: ts(), grams: i, stable: true }), { qos: 1 });
  await c.endAsync();
}

describe('the seq high-water mark', () => {
  it('survives deleting every row, by the uplink and by eviction, across restarts', async () => {
    let g = await startGateway({ dataDir: tmp.dir });
    await publish(g.mqttUrl, 3);
    const seqs = (await g.gw.outbox.read(0, 100)).map((r) => r.seq);
    expect(seqs).toEqual([1, 2, 3]);
    expect(await g.gw.uplink.store.deleteSeqs(seqs)).toBe(3);
    await g.stop();

    g = await startGateway({ dataDir: tmp.dir });
    expect(g.gw.ingest.lastSeq).toBe(3);
    await publish(g.mqttUrl, 2);
    expect((await g.gw.outbox.read(0, 100)).map((r) => r.seq)).toEqual([4, 5]);
    await g.gw.uplink.store.evictOldest('sampled', 10);
    expect(g.gw.outbox.counts.snapshot()).toEqual({});
    await g.stop();

    g = await startGateway({ dataDir: tmp.dir });
    expect(g.gw.ingest.lastSeq).toBe(5);
    await g.stop();
  });
});
