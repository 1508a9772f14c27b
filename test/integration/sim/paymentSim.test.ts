/**
 * The payment terminal simulator is idempotent on requestId, as a real terminal must be: the
 * gateway's command store re-sends a charge whose ack it did not hear (new cmdId, same requestId),
 * and that must not take the money twice. It runs each cmdId once: a command delivered
 * again is acked again and not answered with another result. Real gateway broker, the simulator
 * over MQTT.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startGateway, TEST_SECRET, type RunningGateway } from '../../helpers/gatewayHarness.js';
import { PaymentSim } from '../../sim/paymentSim.js';
import { topics } from '../../../gateway/protocol/topics.js';

let g: RunningGateway;
let sim: PaymentSim;

beforeAll(async () => {
  g = await startGateway({ devices: [{ kind: 'payment', id: 'pay-1' }] });
  sim = new PaymentSim({ url: g.mqttUrl, id: 'pay-1', password: TEST_SECRET });
  await sim.start();
});

afterAll(async () => {
  await sim?.stop();
  await g?.stop();
});

/** Resolves with the next `n` results the simulator sends. */
function nextResults(n: number): Promise<Record<string, unknown>[]> {
  const got: Record<string, unknown>[] = [];
  return new Promise((resolve) => {
    const on = (p: Record<string, unknown>) => {
      got.push(p);
      if (got.length === n) {
        sim.events.off('result', on);
        resolve(got);
      }
    };
    sim.events.on('result', on);
  });
}

describe('payment simulator', () => {
  it('a re-sent charge (same requestId, new cmdId) is charged once and its outcome told again', async () => {
    const results = nextResults(2);
    const charge = (cmdId: string) => g.gw.broker.publish(topics.cmd('payment', 'pay-1', 'charge'), JSON.stringify({ cmdId, requestId: 'req-1', amount: 1234, currency: 'EUR' }), 1);
    await charge('c-1');
    await charge('c-2');
    const [first, second] = await results;
    expect(sim.charges.filter((c) => c.requestId === 'req-1')).toHaveLength(1);
    expect(first).toMatchObject({ requestId: 'req-1', status: 'approved', amount: 1234 });
    expect(second).toMatchObject({ requestId: 'req-1', status: 'approved', amount: 1234, authCode: first.authCode });
  });

  it('a command delivered again (same cmdId) is acked again but answered once', async () => {
    let acks = 0;
    const threeAcks = new Promise<void>((resolve) =>
      g.gw.onEvent((e) => {
        if (e.kind === 'payment' && e.type === 'ack' && (JSON.parse(e.data) as { cmdId: string }).cmdId === 'c-9' && ++acks === 3) resolve();
      }),
    );
    const results = nextResults(1);
    const send = () => g.gw.broker.publish(topics.cmd('payment', 'pay-1', 'charge'), JSON.stringify({ cmdId: 'c-9', requestId: 'req-9', amount: 500, currency: 'EUR' }), 1);
    await send();
    await send();
    await send();
    expect(await results).toEqual([expect.objectContaining({ requestId: 'req-9', status: 'approved', amount: 500, currency: 'EUR' })]);
    await threeAcks;
    expect(sim.redelivered).toBe(2);
    expect(sim.results.filter((r) => r.requestId === 'req-9')).toHaveLength(1);
  });

  it('speaks the whole contract: prompts before the result, the terminal references, reversal by receipt number, end of day over its batch', async () => {
    sim.prompts = ['insertCard', 'enterPin'];
    const seen: { type: string; data: Record<string, unknown> }[] = [];
    const eod = new Promise<void>((resolve) =>
      g.gw.onEvent((e) => {
        if (e.kind !== 'payment') return;
        const data = JSON.parse(e.data) as Record<string, unknown>;
        if (['req-20', 'req-21', 'c-23'].includes(String(data.requestId ?? data.cmdId)) && e.type !== 'ack') seen.push({ type: e.type, data });
        if (e.type === 'endOfDay') resolve();
      }),
    );
    const results = nextResults(2);
    await g.gw.broker.publish(topics.cmd('payment', 'pay-1', 'charge'), JSON.stringify({ cmdId: 'c-20', requestId: 'req-20', amount: 700, currency: 'EUR' }), 1);
    await g.gw.broker.publish(topics.cmd('payment', 'pay-1', 'charge'), JSON.stringify({ cmdId: 'c-21', requestId: 'req-21', amount: 300, currency: 'EUR' }), 1);
    const [first, second] = await results;
    expect(first).toMatchObject({ requestId: 'req-20', status: 'approved', resultCode: 0, terminalId: '52500038', cardType: 'girocard', maskedPan: '************4771' });
    expect(first.receiptNo).not.toBe(second.receiptNo);
    expect((first.receipt as string[]).at(-2)).toBe('Betrag EUR 7.00');
    const reversed = new Promise((resolve) => sim.events.once('reverse', resolve));
    await g.gw.broker.publish(topics.cmd('payment', 'pay-1', 'reverse'), JSON.stringify({ cmdId: 'c-22', requestId: 'req-21', amount: 300, currency: 'EUR', receiptNo: second.receiptNo }), 1);
    expect(await reversed).toEqual({ requestId: 'req-21', amount: 300, currency: 'EUR', receiptNo: second.receiptNo });
    await g.gw.broker.publish(topics.cmd('payment', 'pay-1', 'endOfDay'), JSON.stringify({ cmdId: 'c-23' }), 1);
    await eod;
    // The gateway took every event as valid (its schemas), each request's in the terminal's order
    // (the two charges run at once); the reversed payment is out of the batch.
    const of = (id: string) => seen.filter((e) => (e.data.requestId ?? e.data.cmdId) === id).map((e) => [e.type, e.data.prompt ?? e.data.status ?? e.data.ok]);
    for (const id of ['req-20', 'req-21']) expect(of(id), id).toEqual([['status', 'insertCard'], ['status', 'enterPin'], ['result', 'approved']]);
    expect(of('c-23')).toEqual([['endOfDay', true]]);
    // Every approval before this test is in the batch too (req-1, req-9: 1234 + 500).
    expect(seen.at(-1)!.data).toMatchObject({ ok: true, count: 3, totalAmount: 1234 + 500 + 700, currency: 'EUR', resultCode: 0 });
    sim.prompts = [];
  });
});
