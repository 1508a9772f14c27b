/**
 * A dead letter that cannot be stored fails only its own item: the good events committed in the
 * same group are acknowledged once (were they failed too, their devices would re-send events that
 * are already stored, and HQ would count them twice under new seqs). Another connection holds
 * deadletters.db's write lock, so the dead-letter half of the group gets SQLITE_BUSY.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import path from 'node:path';
import { openDb, type Db } from '../../../gateway/db/sqlite.js';
import { connectDevice, startGateway, ts, TEST_SECRET, type RunningGateway } from '../../helpers/gatewayHarness.js';

let g: RunningGateway;
beforeAll(async () => {
  g = await startGateway({});
});
afterAll(async () => {
  await g?.stop();
});

describe('a failed dead-letter commit', () => {
  it('acknowledges the good events of its group exactly once and leaves the bad one unacknowledged', async () => {
    // The dead-letter file exists once the gateway started; hold its write lock.
    const locker: Db = await openDb(path.join(g.dataDir, 'deadletters.db'));
    await locker.exec('PRAGMA busy_timeout = 0');
    await locker.exec('BEGIN IMMEDIATE');
    const good = await connectDevice(g.mqttUrl, 'footfall/door-1', TEST_SECRET, { reconnectPeriod: 0 });
    const bad1 = await connectDevice(g.mqttUrl, 'footfall/door-2', TEST_SECRET, { reconnectPeriod: 0 });
    const bad2 = await connectDevice(g.mqttUrl, 'scale/scale-1', TEST_SECRET, { reconnectPeriod: 0 });
    const before = await g.gw.outbox.lastSeq();
    const outcome = (c: typeof good) => new Promise<'closed'>((resolve) => c.once('close', () => resolve('closed')));
    // The first bad payload's group waits on the lock (busy_timeout); what arrives meanwhile goes
    // into the next group together: a good event and a second dead letter.
    bad1.publish('store/v1/dev/footfall/door-2/evt/count', JSON.stringify({ ts: ts(), in: 'seven' }), { qos: 1 });
    const deadline = Date.now() + 10_000;
    while (!g.gw.ingest.commitStats.inFlight && Date.now() < deadline) await new Promise((r) => setTimeout(r, 5));
    expect(g.gw.ingest.commitStats.inFlight).toBe(true);
    const goodAnswer = Promise.race([good.publishAsync('store/v1/dev/footfall/door-1/evt/count', JSON.stringify({ ts: ts(), in: 7, out: 0, note: 'good' }), { qos: 1 }).then(() => 'acked' as const), outcome(good)]);
    let bad2Acked = false;
    const bad2Gone = outcome(bad2);
    bad2.publish('store/v1/dev/scale/scale-1/evt/weight', JSON.stringify({ ts: ts(), grams: 'heavy', stable: true }), { qos: 1 }, () => (bad2Acked = true));
    // Before: the dead-letter failure failed the whole group, so the stored good event was not acknowledged.
    expect(await goodAnswer).toBe('acked');
    await bad2Gone; // its own storage failed: no PUBACK, the connection closes, the device will re-send
    await locker.exec('ROLLBACK');
    await locker.close();
    expect(bad2Acked).toBe(false);
    const recs = (await g.gw.outbox.read(before + 1, 100)).filter((r) => r.kind === 'footfall' || r.kind === 'scale');
    expect(recs.map((r) => [r.deviceId, r.data])).toEqual([['door-1', expect.objectContaining({ in: 7, note: 'good' })]]);
    await good.endAsync();
    bad1.end(true);
    bad2.end(true);
  }, 60_000);
});
