/**
 * Acks are not retained: anyone who may publish on a store's ack topic at HQ's broker can send
 * them by the thousand. A flood of forged acks is counted one by one, but writes only a few
 * FEED_REJECTED records per refusal code and minute into the outbox (which would otherwise fill
 * and carry the flood back to HQ). One Mosquitto, one in-process gateway with `hq.delivery: ingest-ack`.
 */
import mqtt from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { metric, startGateway, type RunningGateway } from '../../helpers/gatewayHarness.js';
import { startMosquitto, type Mosquitto } from '../../helpers/mosquitto.js';
import { createHqSigner } from '../../sim/hqSigner.js';
import { signAck } from '../../sim/hqAcker.js';
import { topics } from '../../../gateway/protocol/topics.js';
import type { NewEvent } from '../../../gateway/outbox/store.js';

const STORE = 'test-store';
const signer = createHqSigner({ kid: 'hq-test' });
let broker: Mosquitto;
let g: RunningGateway;
const alerts: NewEvent[] = [];

beforeAll(async () => {
  broker = await startMosquitto();
  g = await startGateway({
    extra: { hq: { url: broker.url, publicKeys: [{ kid: signer.kid, pem: signer.publicKeyPem }], delivery: 'ingest-ack' }, prices: { enabled: false } },
  });
  g.gw.onEvent((e) => {
    if (e.type === 'alert') alerts.push(e);
  });
});
afterAll(async () => {
  await g?.stop();
  await broker?.stop();
});

describe('ingest acks flooding a store', () => {
  it('counts every forged ack, and records only a few of them', async () => {
    await expect.poll(() => g.gw.uplink.acks?.connected ?? false, { timeout: 10_000 }).toBe(true);
    const forger = createHqSigner({ kid: 'hq-test' }); // HQ's key id, another key
    const attacker = await mqtt.connectAsync(broker.url, { clientId: 'flooder' });
    const N = 60;
    for (let i = 0; i < N; i++) {
      const ack = signAck(forger, STORE, 1000 + i, { batchId: `${STORE}:1-${i + 1}`, seqFrom: 1, seqTo: i + 1, records: i + 1 }, 'sha256:' + '0'.repeat(64), { stored: i + 1, duplicates: 0, conflicts: 0 });
      await attacker.publishAsync(topics.hqAck(STORE), ack, { qos: 1 });
    }
    await attacker.endAsync();
    await expect.poll(() => g.gw.uplink.acks!.rejected, { timeout: 15_000 }).toBe(N);
    expect(await metric(g.httpUrl, 'storegw_hq_acks_total{result="SGW_ERR_FEED_BAD_SIGNATURE"}')).toBe(N);
    // A record written after the refusals: once it is committed, every earlier record is too.
    await g.gw.uplink.selfRecords.record('FEED_REJECTED', 'info', 'marker', {});
    await expect.poll(() => alerts.some((e) => (JSON.parse(e.data) as { message: string }).message === 'marker'), { timeout: 10_000 }).toBe(true);
    const forged = alerts.filter((e) => (JSON.parse(e.data) as { feedRejected?: { code?: string } }).feedRejected?.code === 'SGW_ERR_FEED_BAD_SIGNATURE');
    expect(forged).toHaveLength(5);
    expect(JSON.parse(forged[0].data)).toMatchObject({ code: 'FEED_REJECTED', feedRejected: { feed: 'ingestAck', code: 'SGW_ERR_FEED_BAD_SIGNATURE', suppressed: 0 } });
  });
});
