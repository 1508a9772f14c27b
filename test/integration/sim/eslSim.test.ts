/**
 * The ESL access point simulator against a real gateway: the demo's APs serve 1,000
 * labels each; their status round went out as one message over the gateway's packet limit, the
 * gateway closed the connection, and the AP stayed away for good. A round now fits the limit, and
 * an AP whose connection is lost comes back by itself.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { metric, startGateway, TEST_SECRET, type RunningGateway } from '../../helpers/gatewayHarness.js';
import { EslApSim } from '../../sim/eslSim.js';

const LABELS = Array.from({ length: 1000 }, (_, i) => `L${String(i + 1).padStart(6, '0')}`);
const MAX_PACKET = 65536;
let g: RunningGateway;
let sim: EslApSim;
const statusLabels: string[] = [];
const waiters = new Set<() => void>();

function until(pred: () => boolean): Promise<void> {
  return new Promise((resolve) => {
    const check = () => {
      if (!pred()) return;
      waiters.delete(check);
      resolve();
    };
    waiters.add(check);
    check();
  });
}
const poke = () => {
  for (const w of [...waiters]) w();
};

beforeAll(async () => {
  g = await startGateway({ devices: [{ kind: 'esl', id: 'ap-1' }], maxPacketBytes: MAX_PACKET });
  g.gw.onEvent((e) => {
    if (e.kind === 'esl' && e.type === 'status') for (const l of (JSON.parse(e.data) as { labels: { labelId: string }[] }).labels) statusLabels.push(l.labelId);
    poke();
  });
  g.gw.registry.onChange(poke);
  sim = new EslApSim({ url: g.mqttUrl, apId: 'ap-1', password: TEST_SECRET, labels: LABELS, maxPacketBytes: MAX_PACKET, reconnectMs: 100 });
  await sim.connect();
}, 30_000);

afterAll(async () => {
  await sim?.disconnect();
  await g?.stop();
});

describe('ESL AP simulator', () => {
  it('sends a 1,000-label status round within the packet limit and stays connected', async () => {
    await sim.sendStatus();
    await until(() => statusLabels.length >= LABELS.length);
    expect([...statusLabels].sort()).toEqual(LABELS);
    expect(await metric(g.httpUrl, 'storegw_protocol_errors_total{reason="oversized"}')).toBe(0);
    expect(sim.client?.connected).toBe(true);
    expect(g.gw.registry.get('esl', 'ap-1')!.online).toBe(true);
  });

  it('comes back by itself after the gateway closed its connection', async () => {
    const device = g.gw.registry.get('esl', 'ap-1')!;
    const connectedAt = device.connectedAt;
    expect(g.gw.broker.disconnect('esl/ap-1')).toBe(1);
    await until(() => device.online && device.connectedAt !== connectedAt);
    // And it reports again on the new connection.
    const before = statusLabels.length;
    await sim.sendStatus();
    await until(() => statusLabels.length >= before + LABELS.length);
    expect(statusLabels.length - before).toBe(LABELS.length);
  });
});
