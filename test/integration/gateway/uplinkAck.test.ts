/**
 * `hq.delivery`, against a real HQ Mosquitto with the HQ simulator (test/sim/hqSim.ts):
 * - broker-puback (the weaker mode): a broker with no subscriber at all acknowledges and forgets,
 *   and the rows are gone from the outbox all the same;
 * - ingest-ack: with nothing acknowledging, the rows stay and the batch is sent again after
 *   `hq.ackTimeoutMs`; forged, wrong-scope, unknown-batch, other-digest and replayed acks delete
 *   nothing and are counted by code, a batch sent `hq.stuckBatchAttempts` times raises HQ_BATCH_UNACKED, and neither do seeded garbage or acks with one field off; a good ack deletes exactly its batch; once HQ acks, the
 *   outbox drains and HQ holds every record once, in order.
 * One Mosquitto and one gateway per mode.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { MqttClient } from 'mqtt';
import fc from 'fast-check';
import { connectDevice, metric, startGateway, TEST_SECRET, type RunningGateway } from '../../helpers/gatewayHarness.js';
import { startMosquitto, type Mosquitto } from '../../helpers/mosquitto.js';
import { HqSim } from '../../sim/hqSim.js';
import { createHqSigner } from '../../sim/hqSigner.js';
import { signAck } from '../../sim/hqAcker.js';

const STORE = 'test-store';
const signer = createHqSigner({ kid: 'hq-test' });
let hqBroker: Mosquitto;
let hq: HqSim;
const clients: MqttClient[] = [];
const gateways: RunningGateway[] = [];

beforeAll(async () => {
  hqBroker = await startMosquitto();
  hq = new HqSim({ url: hqBroker.url, acker: signer });
  hq.acking = false;
  await hq.start();
});
afterAll(async () => {
  for (const c of clients.splice(0)) await c.endAsync(true);
  for (const g of gateways.splice(0)) await g.stop();
  await hq.stop();
  await hqBroker.stop();
});

function config(delivery: 'broker-puback' | 'ingest-ack', url = hqBroker.url) {
  return {
    // ackTimeoutMs: the ingest-ack test waits one out for the re-send; nothing else depends on its length.
    hq: { url, publicKeys: [{ kid: signer.kid, pem: signer.publicKeyPem }], delivery, ackTimeoutMs: 500, maxUnackedBatches: 64, stuckBatchAttempts: 2 },
    prices: { enabled: false },
    uplink: { batchMaxAgeMs: 0, backoffInitialMs: 50, backoffMaxMs: 300, checkIntervalMs: 60_000 },
    compaction: { windowMs: 60_000, intervalMs: 60_000 },
  };
}

async function payments(g: RunningGateway, tag: string, n: number): Promise<void> {
  const pay = await connectDevice(g.mqttUrl, 'payment/pay-1', TEST_SECRET);
  clients.push(pay);
  for (let i = 0; i < n; i++) {
    await pay.publishAsync('store/v1/dev/payment/pay-1/evt/result', JSON.stringify({ ts: new Date().toISOString(), requestId: `${tag}-${i}`, status: 'approved', amount: 100 + i, currency: 'EUR' }), { qos: 1 });
  }
}

const exactRows = async (g: RunningGateway): Promise<number> => (await g.gw.uplink.store.summary()).rows.exact ?? 0;

describe('hq.delivery', () => {
  it('broker-puback (weaker): a broker with no subscriber acknowledges, and the rows are gone anyway', async () => {
    // A broker of its own that nobody subscribes to: it acknowledges every batch and drops it.
    const empty = await startMosquitto();
    try {
      const g = await startGateway({ devices: [{ kind: 'payment', id: 'pay-1' }], extra: config('broker-puback', empty.url) });
      try {
        await payments(g, 'p', 5);
        await expect.poll(() => exactRows(g), { timeout: 10_000 }).toBe(0);
        expect(g.gw.uplink.uplink!.state.recordsSent).toBeGreaterThanOrEqual(5); // "delivered", and lost
        expect((await g.gw.uplink.status()).delivery).toMatchObject({ mode: 'broker-puback', unackedBatches: 0 });
      } finally {
        await g.stop();
      }
    } finally {
      await empty.stop();
    }
  });

  it('ingest-ack: rows stay until a good ack names their batch; bad acks delete nothing and are counted', async () => {
    const g = await startGateway({ devices: [{ kind: 'payment', id: 'pay-1' }], extra: config('ingest-ack') });
    gateways.push(g);
    await expect.poll(() => g.gw.uplink.acks?.connected ?? false, { timeout: 10_000 }).toBe(true);
    await payments(g, 'a', 12);
    await hq.waitFor((h) => h.records(STORE, 'exact').length >= 12, 10_000, '12 records at HQ');
    // No ack: after the timeout the first batch comes again, and the rows are still there.
    const first = hq.batchLog.find((b) => b.storeId === STORE)!;
    await hq.waitFor((h) => h.batchLog.filter((b) => b.batchId === first.batchId).length >= 2, 10_000, 'the unacked batch re-sent');
    expect(hq.totals(STORE).conflicts).toBe(0);
    expect(await exactRows(g)).toBe(12);
    const before = await g.gw.uplink.status();
    expect(before.delivery.mode).toBe('ingest-ack');
    expect(before.delivery.unackedBatches).toBeGreaterThanOrEqual(1);
    expect(await metric(g.httpUrl, 'storegw_hq_resent_batches_total')).toBeGreaterThanOrEqual(1);
    // Its second send (hq.stuckBatchAttempts: 2) raised HQ_BATCH_UNACKED, once, naming the batch.
    const stuck = () => hq.records(STORE, 'exact').filter((r) => r.type === 'alert' && (r.data as { code?: string }).code === 'HQ_BATCH_UNACKED' && (r.data as { unacked?: { batchId?: string } }).unacked?.batchId === first.batchId);
    await hq.waitFor(() => stuck().length > 0, 10_000, 'HQ_BATCH_UNACKED for the unacked batch');
    expect(stuck()[0]!.data).toMatchObject({ severity: 'critical', unacked: { batchId: first.batchId, seqFrom: first.seqFrom, seqTo: first.seqTo, records: first.records, attempts: 2 } });

    const other = createHqSigner({ kid: 'hq-test' }); // same kid, another key: a forgery
    const unknownKid = createHqSigner({ kid: 'not-ours' });
    const bad: [string, string][] = [
      ['SGW_ERR_FEED_BAD_SIGNATURE', signAck(other, STORE, 900, first, first.digest, { stored: first.records, duplicates: 0, conflicts: 0 })],
      ['SGW_ERR_FEED_UNKNOWN_KID', signAck(unknownKid, STORE, 901, first, first.digest, { stored: first.records, duplicates: 0, conflicts: 0 })],
      ['SGW_ERR_FEED_WRONG_SCOPE', signAck(signer, 'other-store', 902, first, first.digest, { stored: first.records, duplicates: 0, conflicts: 0 })],
      ['SGW_ERR_ACK_MISMATCH', signAck(signer, STORE, 903, first, 'sha256:' + '0'.repeat(64), { stored: first.records, duplicates: 0, conflicts: 0 })],
      ['SGW_ERR_ACK_MISMATCH', signAck(signer, STORE, 904, { ...first, seqTo: first.seqTo + 1 }, first.digest, { stored: first.records, duplicates: 0, conflicts: 0 })],
      ['SGW_ERR_ACK_NOT_IN_FLIGHT', signAck(signer, STORE, 905, { ...first, batchId: `${STORE}:0-0` }, first.digest, { stored: first.records, duplicates: 0, conflicts: 0 })],
      ['SGW_ERR_FEED_BAD_BODY', signAck(signer, STORE, 906, first, 'md5:x', { stored: first.records, duplicates: 0, conflicts: 0 })],
    ];
    for (const [, envelope] of bad) await hq.publishRawAck(STORE, envelope);
    await expect.poll(() => g.gw.uplink.acks!.rejected, { timeout: 10_000 }).toBe(bad.length);
    for (const code of new Set(bad.map(([c]) => c))) {
      expect(await metric(g.httpUrl, `storegw_hq_acks_total{result="${code}"}`)).toBe(bad.filter(([c]) => c === code).length);
    }
    expect(g.gw.uplink.acks!.accepted).toBe(0);
    expect(await exactRows(g)).toBeGreaterThanOrEqual(12); // nothing deleted (FEED_REJECTED records were added)

    // Seeded: garbage, and correctly signed acks with one field off, never delete a row.
    const counts = { stored: first.records, duplicates: 0, conflicts: 0 };
    const field = fc.constantFrom('batchId', 'seqFrom', 'seqTo', 'records', 'digest', 'stored');
    const ackArb = fc.oneof(
      fc.string({ maxLength: 200 }).map((text) => ({ payload: text })),
      fc.record({ f: field, n: fc.nat(1_000_000), v: fc.integer({ min: 10_000, max: 1_000_000_000 }) }).map(({ f, n, v }) => {
        const h = { batchId: first.batchId, seqFrom: first.seqFrom, seqTo: first.seqTo, records: first.records };
        let digest = first.digest;
        const c = { ...counts };
        if (f === 'batchId') h.batchId = `${STORE}:${n}-x`;
        else if (f === 'digest') digest = 'sha256:' + n.toString(16).padStart(64, 'f');
        else if (f === 'stored') c.stored += 1 + n;
        else h[f] += 1 + n;
        return { payload: signAck(signer, STORE, v, h, digest, c) };
      }),
    );
    const refusedBefore = g.gw.uplink.acks!.rejected;
    const RUNS = 40;
    await fc.assert(
      fc.asyncProperty(ackArb, async (a) => {
        await hq.publishRawAck(STORE, a.payload);
      }),
      { seed: 2020, numRuns: RUNS },
    );
    await expect.poll(() => g.gw.uplink.acks!.rejected, { timeout: 10_000 }).toBe(refusedBefore + RUNS);
    expect(g.gw.uplink.acks!.accepted).toBe(0);
    expect(await g.gw.uplink.deliveryStore!.get(first.batchId)).not.toBeNull();

    // A good ack deletes exactly its batch.
    const good = signAck(signer, STORE, 5000, first, first.digest, { stored: first.records, duplicates: 0, conflicts: 0 });
    const rowsBefore = await exactRows(g);
    await hq.publishRawAck(STORE, good);
    await expect.poll(() => g.gw.uplink.acks!.accepted, { timeout: 10_000 }).toBe(1);
    expect(await exactRows(g)).toBe(rowsBefore - first.records);
    expect(await g.gw.uplink.deliveryStore!.get(first.batchId)).toBeNull();
    // The same ack again is a replay.
    await hq.publishRawAck(STORE, good);
    await expect.poll(() => metric(g.httpUrl, 'storegw_hq_acks_total{result="SGW_ERR_FEED_STALE_VERSION"}'), { timeout: 10_000 }).toBe(1);
    const st = (await g.gw.uplink.status()).delivery;
    expect(st.acksAccepted).toBe(1);
    expect(st.lastAckAt).not.toBeNull();

    // HQ acks from now on: the outbox drains.
    hq.acking = true;
    await expect.poll(async () => (await g.gw.uplink.status()).delivery.unackedBatches, { timeout: 15_000 }).toBe(0);
    await expect.poll(() => exactRows(g), { timeout: 15_000 }).toBe(0);
    const exact = hq.records(STORE, 'exact').filter((r) => r.kind === 'payment');
    expect(exact.map((r) => r.data.requestId)).toEqual(Array.from({ length: 12 }, (_, i) => `a-${i}`));
    expect(hq.exactOutOfOrder(STORE)).toBe(0);
    expect(hq.totals(STORE).conflicts).toBe(0);
    expect(await metric(g.httpUrl, 'storegw_hq_unacked_batches')).toBe(0);
  });
});
