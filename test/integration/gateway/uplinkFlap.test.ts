/**
 * HQ flapping: the HQ Mosquitto is SIGKILLed and started again on the same port, over and over,
 * while devices publish. Nothing is lost and nothing is duplicated past HQ's dedupe; exact records
 * arrive in order.
 *
 * The WAN gate (uplinkWan.ts) sits between the gateway and Mosquitto because a killed Mosquitto
 * forgets every subscription: after a restart the HQ simulator must be subscribed again before the
 * gateway may publish. So each cycle: close the gate and kill Mosquitto (the gateway's connection
 * drops), start Mosquitto, wait until the sim receives again, open the gate (the gateway's next
 * reconnect attempt gets through).
 */
import { describe, expect, it } from 'vitest';
import mqtt from 'mqtt';
import { connectDevice, startGateway, TEST_SECRET } from '../../helpers/gatewayHarness.js';
import { startMosquitto } from '../../helpers/mosquitto.js';
import { HqSim } from '../../sim/hqSim.js';
import { wanGate } from './uplinkWan.js';

const STORE = 'test-store';
const FLAPS = 6;

/** Resolves once the sim receives on the (restarted) broker: a probe status is re-sent until it arrives. */
async function simListening(hq: HqSim, url: string, n: number): Promise<void> {
  const probe = await mqtt.connectAsync(url, { reconnectPeriod: 100 });
  const topic = `hq/v1/store/probe/status`;
  const send = (): void => void probe.publish(topic, String(n), { qos: 0 });
  send();
  const t = setInterval(send, 50); // no event exists for "the sim has resubscribed": poll with a deadline
  try {
    await hq.waitFor((h) => h.status('probe') === n, 10_000, 'sim resubscribed');
  } finally {
    clearInterval(t);
    await probe.endAsync(true);
  }
}

describe('HQ flapping', () => {
  it(`loses nothing and duplicates nothing past the dedupe over ${FLAPS} HQ restarts`, async () => {
    const hqBroker = await startMosquitto();
    const hq = new HqSim({ url: hqBroker.url });
    await hq.start();
    const gate = await wanGate(hqBroker.port);
    const gw = await startGateway({
      devices: [{ kind: 'payment', id: 'pay-1' }],
      extra: {
        hq: { url: gate.url },
        prices: { enabled: false },
        uplink: { batchMaxRecords: 40, batchMaxAgeMs: 0, backoffInitialMs: 50, backoffMaxMs: 200, connectTimeoutMs: 2000 },
      },
    });
    const pay = await connectDevice(gw.mqttUrl, 'payment/pay-1', TEST_SECRET);
    const acked: string[] = [];
    let stop = false;
    let n = 0;
    const publisher = (async () => {
      while (!stop) {
        const batch = Array.from({ length: 20 }, () => `f-${n++}`);
        await Promise.all(batch.map((id) => pay.publishAsync('store/v1/dev/payment/pay-1/evt/result', JSON.stringify({ ts: new Date().toISOString(), requestId: id, status: 'approved', amount: 1 }), { qos: 1 })));
        acked.push(...batch);
      }
    })();
    try {
      for (let flap = 0; flap < FLAPS; flap++) {
        const before = hq.totals(STORE).batches;
        await hq.waitFor((h) => h.totals(STORE).batches >= before + 2, 15_000, `flap ${flap}: batches flowing`);
        gate.cut();
        await hqBroker.kill();
        await hqBroker.start();
        await simListening(hq, hqBroker.url, flap);
        gate.open();
      }
      stop = true;
      await publisher;
      await hq.waitFor((h) => h.records(STORE, 'exact').length >= acked.length, 30_000, 'every acked record at HQ');
      const ids = hq.records(STORE, 'exact').map((r) => String(r.data.requestId));
      expect(new Set(ids).size).toBe(ids.length);
      const have = new Set(ids);
      expect(acked.filter((id) => !have.has(id))).toEqual([]);
      expect(hq.exactOutOfOrder(STORE)).toBe(0);
      expect(hq.exactGaps(STORE)).toEqual([]);
      expect(hq.totals(STORE).conflicts).toBe(0);
      expect(gw.gw.uplink.uplink!.state.connects).toBeGreaterThanOrEqual(FLAPS + 1);
      process.stdout.write(`flapping: ${acked.length} acked, ${ids.length} at HQ, ${hq.totals(STORE).duplicates} duplicates dropped, ${gw.gw.uplink.uplink!.state.connects} connects\n`);
    } finally {
      stop = true;
      await publisher.catch(() => undefined);
      await pay.endAsync(true);
      await gw.stop();
      await gate.close();
      await hq.stop();
      await hqBroker.stop();
    }
  });
});
