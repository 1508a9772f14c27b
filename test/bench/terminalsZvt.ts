/**
 * ZVT bench: a kiosk payment on a real terminal path, pay → sale recorded.
 *
 * Real parts: the gateway (in this process, so its commits can be watched as they happen: real
 * broker, ingest, SQLite), its kiosk WebSocket (`ws`), a scanner over MQTT, an in-process Bridge
 * with the zvt driver on a real TCP connection to the ZVT terminal simulator, signed catalog and
 * prices from a real HQ Mosquitto.
 *
 * Each payment: a new session, one item scanned (its line on the cart), then `pay` sent on the
 * WebSocket (t0) → the kiosk's `transaction` record committed to the outbox (t1). The simulator
 * pauses `THINK_MS` twice in an approved authorization (card read, host answer), so the fixed
 * delay subtracted is 2 × THINK_MS; what is left is the gateway, MQTT both ways, the bridge, its
 * journal fsyncs and the ZVT exchange (ack, status, Status-Information, receipt, Completion).
 */
import os from 'node:os';
import path from 'node:path';
import { EventEmitter } from 'node:events';
import WebSocket from 'ws';
import { startGateway, type RunningGateway } from '../helpers/gatewayHarness.js';
import { startMosquitto } from '../helpers/mosquitto.js';
import { tempDir } from '../helpers/tmp.js';
import { createHqSigner } from '../sim/hqSigner.js';
import { connectHqFeeds, until } from '../sim/hqFeeds.js';
import { CATALOG, G, Peripherals, PRICES, TOKENS } from '../e2e/kioskFixture.js';
import { hashSecret } from '../../gateway/scryptHash.js';
import type { CartView } from '../../gateway/protocol/schemas/kiosk.js';
import { ZvtSim } from '../../firmware-bridge/devices/zvt/sim.js';
import { Samples } from './stats.js';
import { CommittedEvents, round, startBridge, type TerminalBenchRow } from './terminalRig.js';

/** The simulator's pause per step; an approved payment has two. */
export const THINK_MS = 20;
const FIXED_MS = 2 * THINK_MS;

export async function benchZvt(opts: { quick?: boolean; progress?: (s: string) => void } = {}): Promise<TerminalBenchRow[]> {
  const say = opts.progress ?? (() => undefined);
  const n = opts.quick ? 50 : 200;
  const warmup = 5;
  const signer = createHqSigner({ kid: 'hq-bench' });
  const hq = await startMosquitto();
  const tmp = tempDir('sgw-bench-zvt-');
  const sim = new ZvtSim({ thinkMs: THINK_MS });
  const cleanups: (() => Promise<unknown>)[] = [async () => tmp.remove(), () => hq.stop(), () => sim.stop()];
  try {
    await sim.start();
    const gw: RunningGateway = await startGateway({
      devices: [
        { kind: 'scanner', id: 'sc-1' },
        { kind: 'payment', id: 'pt-1', bridge: 'kb' },
      ],
      bridges: ['kb'],
      extra: {
        hq: { url: hq.url, publicKeys: [{ kid: signer.kid, pem: signer.publicKeyPem }] },
        kiosks: [{ id: 'k1', tokenHash: await hashSecret(TOKENS.k1, 4) }],
        kiosk: { region: 'DE', currency: 'EUR', doneResetMs: 600_000, devices: { k1: { scanner: 'sc-1', payment: 'pt-1' } } },
      },
    });
    cleanups.unshift(() => gw.stop());
    const events = new CommittedEvents(gw);
    const feeds = await connectHqFeeds(hq.url, 'test-store', signer);
    await feeds.publish('catalog', 'store', 1, CATALOG);
    await feeds.publish('prices', 'store', 1, PRICES);
    const p = gw.gw.prices!;
    await until(p.changes, 'change', () => p.priceAt(G.bread) !== null, 10_000, 'feeds applied');
    await feeds.close();

    // The idle Status Enquiry is off so that no exchange of its own sits in front of a charge.
    const { bridge } = await startBridge(gw, 'kb', [
      {
        kind: 'payment',
        id: 'pt-1',
        protocol: 'zvt',
        tcp: { host: '127.0.0.1', port: sim.port },
        options: { stateDir: path.join(tmp.dir, 'zvt'), currency: 'EUR', statusIntervalMs: 0 },
      },
    ]);
    cleanups.unshift(() => bridge.stop());
    const registry = new EventEmitter();
    const off = gw.gw.registry.onChange(() => registry.emit('change'));
    await until(registry, 'change', () => gw.gw.registry.get('payment', 'pt-1')?.online === true, 10_000, 'the terminal online').finally(off);

    const dev = await Peripherals.connect(gw.mqttUrl, [{ kind: 'scanner', id: 'sc-1' }]);
    cleanups.unshift(() => dev.close());
    let cart: CartView | null = null;
    const carts = new EventEmitter();
    const ws = new WebSocket(`${gw.httpUrl.replace('http', 'ws')}/ws/kiosk`, { origin: gw.httpUrl });
    cleanups.unshift(async () => ws.close());
    ws.on('message', (d) => {
      const m = JSON.parse(String(d)) as { type: string };
      if (m.type === 'cart') {
        cart = m as CartView;
        carts.emit('cart');
      }
    });
    await new Promise((resolve, reject) => (ws.once('open', resolve), ws.once('error', reject)));
    ws.send(JSON.stringify({ type: 'hello', kioskId: 'k1', token: TOKENS.k1 }));
    await until(carts, 'cart', () => cart !== null, 10_000, 'the first cart');

    const total = new Samples();
    const toResult = new Samples();
    const pay = async (record: boolean) => {
      if ((cart as CartView | null)?.phase === 'done') {
        ws.send(JSON.stringify({ type: 'cancel' }));
        await until(carts, 'cart', () => cart?.phase === 'idle', 10_000, 'a new session', () => cart?.phase);
      }
      await dev.scan('sc-1', G.bread);
      await until(carts, 'cart', () => cart?.lines.length === 1, 10_000, 'the scanned line', () => cart?.lines);
      const sale = events.next((e) => e.kind === 'kiosk' && e.type === 'transaction', 'the sale recorded');
      const result = events.next((e, d) => e.kind === 'payment' && e.type === 'result' && d.status === 'approved', 'the approval');
      const t0 = performance.now();
      ws.send(JSON.stringify({ type: 'pay' }));
      const [r, s] = await Promise.all([result, sale]);
      await until(carts, 'cart', () => cart?.phase === 'done', 10_000, 'the done screen', () => cart?.phase);
      if (record) {
        total.add(s.at - t0 - FIXED_MS);
        toResult.add(r.at - t0 - FIXED_MS);
      }
    };

    say(`zvt: ${warmup} warm-up payments, then ${n} measured (simulator think ${THINK_MS} ms × 2 per payment)`);
    for (let i = 0; i < warmup; i++) await pay(false);
    const load0 = os.loadavg();
    const w0 = performance.now();
    for (let i = 0; i < n; i++) await pay(true);
    const seconds = (performance.now() - w0) / 1000;
    const load1 = os.loadavg();
    const approved = sim.books.transactions.filter((t) => t.kind === 'payment' && t.committed && !t.reversed).length;
    say(`zvt: pay → sale recorded p50 ${round(total.percentile(50))} / p99 ${round(total.percentile(99))} ms (less ${FIXED_MS} ms), ${approved} committed at the terminal`);

    const bench = 'zvt-pay';
    const row = (metric: string, value: number | null, unit: string): TerminalBenchRow => ({ bench, system: 'storegw', metric, value, unit });
    return [
      row('payments measured', total.count, 'payments'),
      row('simulator fixed delay subtracted (2 × think)', FIXED_MS, 'ms'),
      row('pay → sale recorded p50', round(total.percentile(50)), 'ms'),
      row('pay → sale recorded p99', round(total.percentile(99)), 'ms'),
      row('pay → sale recorded max', round(total.max()), 'ms'),
      row('pay → approval committed p50', round(toResult.percentile(50)), 'ms'),
      row('pay → approval committed p99', round(toResult.percentile(99)), 'ms'),
      row('payments per second (one kiosk, serial)', round(total.count / seconds), 'payments/s'),
      row('committed at the terminal, not reversed', approved, 'payments'),
      row('load average 1 min, before', round(load0[0]), ''),
      row('load average 1 min, after', round(load1[0]), ''),
    ];
  } finally {
    for (const c of cleanups) await c().catch(() => undefined);
  }
}

