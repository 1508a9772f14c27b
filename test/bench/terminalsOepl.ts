/**
 * OpenEPaperLink bench: 2,000 labels on one access point.
 *
 * Real parts: a real HQ Mosquitto publishes the signed catalog, prices and label bindings
 * (as test/bench/prices.ts does), the gateway in this process fans the prices out as `cmd/show`,
 * an in-process Bridge runs the oepl driver (built from its bridge config), and the driver talks
 * HTTP and WebSocket to the AP simulator, whose tags check in every `CHECK_IN_MS` (a real AP's base
 * interval is 40 s; a fast one here, so the figure is the software's, not the radio schedule's).
 * A label counts as acked only after its tag's check-in took the image.
 *
 *   first push  HQ publishes the label bindings → every label acked (uploads, check-ins, acks)
 *   reprice     a new price for every label → every label acked again
 * and the HTTP requests per label (the driver's counter and the simulator's, over the reprice).
 */
import os from 'node:os';
import { EventEmitter } from 'node:events';
import { startGateway } from '../helpers/gatewayHarness.js';
import { startMosquitto } from '../helpers/mosquitto.js';
import { createHqSigner } from '../sim/hqSigner.js';
import { connectHqFeeds, storeFeeds, until } from '../sim/hqFeeds.js';
import { OeplApSim } from '../../firmware-bridge/devices/oepl/sim.js';
import { simMac } from '../../firmware-bridge/devices/oepl/simDb.js';
import type { OeplDriver } from '../../firmware-bridge/devices/oepl/driver.js';
import { round, startBridge, type TerminalBenchRow } from './terminalRig.js';

export const CHECK_IN_MS = 1000;

export async function benchOepl(opts: { quick?: boolean; labels?: number; progress?: (s: string) => void } = {}): Promise<TerminalBenchRow[]> {
  const say = opts.progress ?? (() => undefined);
  const labels = opts.labels ?? 2000;
  const signer = createHqSigner({ kid: 'hq-bench' });
  const store = storeFeeds(labels, 1);
  const labelIds = store.labelsByAp.get('ap-1')!;
  const hq = await startMosquitto();
  const sim = new OeplApSim({ tags: labels, checkInMs: CHECK_IN_MS });
  const cleanups: (() => Promise<unknown>)[] = [() => hq.stop(), () => sim.stop()];
  try {
    await sim.start();
    const gw = await startGateway({
      devices: [{ kind: 'esl', id: 'ap-1', bridge: 'b1' }],
      bridges: ['b1'],
      // Not the default 64 KiB: the driver reports every tag's latest check-in in one `status`
      // event of up to 2,000 labels, which is larger than that (the bench prints its size), and the
      // broker drops a connection that sends a packet over the limit.
      maxPacketBytes: 1024 * 1024,
      extra: {
        hq: { url: hq.url, publicKeys: [{ kid: signer.kid, pem: signer.publicKeyPem }] },
        // A label is re-sent only if its tag has not taken it in a minute: no retries in the figures.
        esl: { tickMs: 50, ackTimeoutMs: 60_000, retryInitialMs: 1000, retryMaxMs: 10_000 },
      },
    });
    cleanups.unshift(() => gw.stop());
    const prices = gw.gw.prices!;
    const { bridge, drivers } = await startBridge(gw, 'b1', [
      {
        kind: 'esl',
        id: 'ap-1',
        protocol: 'oepl',
        http: { url: sim.url },
        options: { tags: Object.fromEntries(labelIds.map((l, i) => [l, simMac(i)])), deliveryTimeoutMs: 120_000, ackFlushMs: 50 },
      },
    ]);
    cleanups.unshift(() => bridge.stop());
    const driver = drivers[0] as OeplDriver;
    let largestEvent = { type: '', bytes: 0 };
    driver.on('event', (e) => {
      const bytes = Buffer.byteLength(JSON.stringify(e.data));
      if (bytes > largestEvent.bytes) largestEvent = { type: e.type, bytes };
    });

    // Re-checked on every committed esl event and every price change, never polled.
    const poke = new EventEmitter();
    gw.gw.onEvent((e) => e.kind === 'esl' && poke.emit('x'));
    prices.changes.on('change', () => poke.emit('x'));
    const allAcked = (version: number) => () => {
      const s = prices.sync();
      return s.versions['prices/store'] === version && s.labels.total === labels && s.labels.stale === 0;
    };
    const counts = () => ({ driver: driver.api.requests, sim: sim.requests, at: performance.now() });

    const feeds = await connectHqFeeds(hq.url, 'test-store', signer);
    cleanups.unshift(() => feeds.close());
    await feeds.publish('catalog', 'store', 1, store.catalog);
    await feeds.publish('prices', 'store', 1, store.prices);
    say(`oepl: first push of ${labels} labels to one AP (tags check in every ${CHECK_IN_MS} ms)`);
    const c0 = counts();
    await feeds.publish('labels', 'store', 1, store.labels);
    await until(poke, 'x', allAcked(1), 300_000, 'first push acked', () => prices.sync().labels);
    const c1 = counts();

    say('oepl: reprice of every label');
    const load0 = os.loadavg();
    const repriced = { ...store.prices, prices: store.prices.prices.map((p) => ({ ...p, price: p.price + 10 })) };
    const c2 = counts();
    await feeds.publish('prices', 'store', 2, repriced);
    await until(poke, 'x', allAcked(2), 300_000, 'reprice acked', () => prices.sync().labels);
    const c3 = counts();
    const load1 = os.loadavg();
    const uploads = [...sim.uploads.values()].reduce((a, b) => a + b, 0);
    say(`oepl: first push ${round((c1.at - c0.at) / 1000)} s, reprice ${round((c3.at - c2.at) / 1000)} s, ${round((c3.driver - c2.driver) / labels, 3)} requests per label`);

    const bench = `oepl-${labels}`;
    const row = (metric: string, value: number | null, unit: string): TerminalBenchRow => ({ bench, system: 'storegw', metric, value, unit });
    return [
      row('labels on one AP', labels, 'labels'),
      row('tag check-in interval (simulated)', CHECK_IN_MS, 'ms'),
      row('first push: HQ publish → all acked', round((c1.at - c0.at) / 1000, 3), 's'),
      row('reprice: HQ publish → all acked', round((c3.at - c2.at) / 1000, 3), 's'),
      row('reprice: labels acked per second', round(labels / ((c3.at - c2.at) / 1000), 1), 'labels/s'),
      row('HTTP requests per label, reprice (driver count)', round((c3.driver - c2.driver) / labels, 3), 'requests'),
      row('HTTP requests per label, reprice (AP count)', round((c3.sim - c2.sim) / labels, 3), 'requests'),
      row('HTTP requests per label, first push (driver count)', round((c1.driver - c0.driver) / labels, 3), 'requests'),
      row('uploads per label, both pushes', round(uploads / labels, 3), 'uploads'),
      row(`largest event from the driver (${largestEvent.type}), JSON payload`, round(largestEvent.bytes / 1024, 1), 'KiB'),
      row('load average 1 min, before reprice', round(load0[0]), ''),
      row('load average 1 min, after reprice', round(load1[0]), ''),
    ];
  } finally {
    for (const c of cleanups) await c().catch(() => undefined);
  }
}
