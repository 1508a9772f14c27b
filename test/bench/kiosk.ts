/**
 * Kiosk bench: 4 kiosks active at once, each with its page open in real headless
 * Chromium (one page per kiosk, the built page from dist/kiosk: run `node build.mjs` first) and its
 * own scanner publishing scans over MQTT to the real gateway (in this process, so its `'hop'`
 * events can be read). HQ is a real Mosquitto that publishes the signed catalog and prices.
 *
 * scan-to-screen  scanner publish() called (here) → the new line's <tr> inserted in that kiosk's
 *                 page (a MutationObserver stamp), and → the next animation frame after it (the
 *                 line painted). Both clocks are `performance.timeOrigin + performance.now()` on
 *                 this machine; the page/Node offset is measured by round trips and subtracted.
 * hop             the gateway's own event in (ingest's monotonic stamp, whole ms) → the cart view
 *                 written to the kiosk's WebSocket, from `KioskService.changes` `'hop'`; split into
 *                 event in → outbox commit (observer) and commit → frame out.
 *
 * Each kiosk scans a distinct item (so every scan is a new line), waits until its page has shown
 * it, then pauses 100–300 ms (a shopper's pace, faster than a real one); a cart is cancelled and a
 * new one started every 20 lines so the page renders carts of a realistic size.
 */
import os from 'node:os';
import type { Page } from 'playwright-core';
import { startMosquitto } from '../helpers/mosquitto.js';
import { DEFAULT_DEVICES, startGateway, type TestDevice } from '../helpers/gatewayHarness.js';
import { launchBrowser } from '../helpers/browser.js';
import { createHqSigner } from '../sim/hqSigner.js';
import { connectHqFeeds, gtinOf, until } from '../sim/hqFeeds.js';
import { hashSecret } from '../../gateway/scryptHash.js';
import { Peripherals } from '../e2e/kioskFixture.js';
import { Samples } from './stats.js';

export interface KioskBenchRow {
  bench: string;
  system: 'storegw';
  metric: string;
  value: number | null;
  unit: string;
}

const KIOSKS = 4;
const CART_LINES = 20;
const round = (x: number, d = 2) => (Number.isFinite(x) ? Math.round(x * 10 ** d) / 10 ** d : null);
const nowMs = () => performance.timeOrigin + performance.now();

/** Page clock minus this process's clock, from the tightest of 20 round trips. */
async function clockOffset(page: Page): Promise<number> {
  let best = { rtt: Infinity, off: 0 };
  for (let i = 0; i < 20; i++) {
    const t0 = nowMs();
    const tp = await page.evaluate(() => performance.timeOrigin + performance.now());
    const t1 = nowMs();
    if (t1 - t0 < best.rtt) best = { rtt: t1 - t0, off: tp - (t0 + t1) / 2 };
  }
  return best.off;
}

export async function benchKiosk(opts: { quick?: boolean; progress?: (s: string) => void } = {}): Promise<KioskBenchRow[]> {
  const progress = opts.progress ?? (() => {});
  const scansPerKiosk = opts.quick ? 60 : 250;
  const ids = Array.from({ length: KIOSKS }, (_, i) => `k${i + 1}`);
  const tokens = Object.fromEntries(ids.map((id) => [id, `bench-kiosk-token-${id}-0000`]));
  const devices: TestDevice[] = ids.map((_, i) => ({ kind: 'scanner', id: `sc-${i + 1}` }));
  const items = Array.from({ length: CART_LINES }, (_, i) => ({ gtin: gtinOf(i + 1), name: `Item ${i + 1}`, unit: 'each' as const }));

  const signer = createHqSigner({ kid: 'hq-bench' });
  const hq = await startMosquitto();
  const cleanups: (() => Promise<unknown>)[] = [() => hq.stop()];
  try {
    const gw = await startGateway({
      devices: [...DEFAULT_DEVICES, ...devices],
      extra: {
        hq: { url: hq.url, publicKeys: [{ kid: signer.kid, pem: signer.publicKeyPem }] },
        kiosks: await Promise.all(ids.map(async (id) => ({ id, tokenHash: await hashSecret(tokens[id], 4) }))),
        kiosk: { currency: 'EUR', doneResetMs: 600_000, devices: Object.fromEntries(ids.map((id, i) => [id, { scanner: `sc-${i + 1}` }])) },
      },
    });
    cleanups.unshift(() => gw.stop());
    const prices = gw.gw.prices!;
    const feeds = await connectHqFeeds(hq.url, 'test-store', signer);
    await feeds.publish('catalog', 'store', 1, { mode: 'snapshot', items });
    await feeds.publish('prices', 'store', 1, { mode: 'snapshot', currency: 'EUR', prices: items.map((it, i) => ({ gtin: it.gtin, price: 100 + i })), promotions: [] });
    await until(prices.changes, 'change', () => prices.priceAt(items[CART_LINES - 1].gtin) !== null && prices.priceAt(items[0].gtin) !== null, 20_000, 'bench feeds applied');
    await feeds.close();

    const dev = await Peripherals.connect(gw.mqttUrl, devices);
    cleanups.unshift(() => dev.close());
    const browser = await launchBrowser();
    cleanups.unshift(() => browser.close());

    // Per page: a MutationObserver stamps each inserted line row (DOM) and the frame after it (paint).
    type Seen = { gtin: string; dom: number; frame: number };
    const waiters = new Map<string, (s: Seen) => void>(); // `${kioskId}/${gtin}` → resolve
    const pages: Page[] = [];
    const offsets: number[] = [];
    for (const id of ids) {
      const page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
      await page.exposeFunction('__benchSeen', (s: Seen) => waiters.get(`${id}/${s.gtin}`)?.(s));
      await page.addInitScript(() => {
        const w = window as unknown as { __benchSeen: (s: { gtin: string; dom: number; frame: number }) => void };
        new MutationObserver((records) => {
          const dom = performance.timeOrigin + performance.now();
          for (const r of records)
            r.addedNodes.forEach((n) => {
              if (!(n instanceof HTMLElement)) return;
              const rows = n.matches('[data-testid="line"]') ? [n] : Array.from(n.querySelectorAll<HTMLElement>('[data-testid="line"]'));
              for (const row of rows) {
                const gtin = row.dataset.gtin ?? '';
                // rAF runs before the frame is painted, the task after it once it was.
                requestAnimationFrame(() => setTimeout(() => w.__benchSeen({ gtin, dom, frame: performance.timeOrigin + performance.now() }), 0));
              }
            });
        }).observe(document, { childList: true, subtree: true });
      });
      await page.goto(`${gw.httpUrl}/kiosk/#k=${id}&t=${tokens[id]}`);
      await page.locator('[data-conn="online"]').waitFor();
      offsets.push(await clockOffset(page));
      pages.push(page);
    }
    progress(`kiosk: ${KIOSKS} pages online, clock offsets ${offsets.map((o) => o.toFixed(2)).join(', ')} ms`);

    // The hop split in two (the gateway's mono clock is this process's performance.now()):
    // event in → committed to the outbox (ingest's group commit, fsync) and committed → frame out
    // (kiosk.db session save, FULL sync, then the view). Scans are serialized per kiosk: FIFO pairs.
    const hop = new Samples();
    const toCommit = new Samples();
    const afterCommit = new Samples();
    const committed = new Map<string, number[]>(ids.map((id) => [id, []]));
    const kioskOfScanner = new Map(ids.map((id, i) => [`sc-${i + 1}`, id]));
    let measuring = false;
    gw.gw.onEvent((e) => {
      const k = e.kind === 'scanner' && e.type === 'scan' ? kioskOfScanner.get(e.deviceId) : undefined;
      if (!k) return;
      const t = performance.now();
      committed.get(k)!.push(t);
      if (measuring) toCommit.add(t - e.monoMs);
    });
    gw.gw.kiosk.changes.on('hop', (k: string, ms: number) => {
      const t = committed.get(k)?.shift();
      if (!measuring) return;
      hop.add(ms);
      if (t !== undefined) afterCommit.add(performance.now() - t);
    });
    const dom = new Samples();
    const frame = new Samples();
    const load0 = os.loadavg();

    const runKiosk = async (i: number, scans: number, record: boolean) => {
      const id = ids[i];
      for (let n = 0; n < scans; n++) {
        const k = n % CART_LINES;
        if (k === 0 && n > 0) {
          // Cancel, then "Done": a fresh empty cart for the next shopper.
          await gw.gw.kiosk.intent(id, { type: 'cancel' });
          await gw.gw.kiosk.intent(id, { type: 'cancel' });
        }
        const gtin = items[k].gtin;
        const seen = new Promise<Seen>((resolve, reject) => {
          const t = setTimeout(() => reject(new Error(`${id}: line ${gtin} not shown within 10 s`)), 10_000);
          waiters.set(`${id}/${gtin}`, (s) => {
            clearTimeout(t);
            waiters.delete(`${id}/${gtin}`);
            resolve(s);
          });
        });
        const t0 = nowMs();
        await dev.scan(`sc-${i + 1}`, gtin);
        const s = await seen;
        if (record) {
          dom.add(s.dom - offsets[i] - t0);
          frame.add(s.frame - offsets[i] - t0);
        }
        await new Promise((r) => setTimeout(r, 100 + Math.random() * 200)); // shopper's pace
      }
      await gw.gw.kiosk.intent(id, { type: 'cancel' });
      await gw.gw.kiosk.intent(id, { type: 'cancel' });
    };

    progress('kiosk: warm-up (10 scans per kiosk)');
    await Promise.all(ids.map((_, i) => runKiosk(i, 10, false)));
    progress(`kiosk: measuring ${scansPerKiosk} scans per kiosk, ${KIOSKS} kiosks at once`);
    measuring = true;
    const w0 = performance.now();
    await Promise.all(ids.map((_, i) => runKiosk(i, scansPerKiosk, true)));
    const seconds = (performance.now() - w0) / 1000;
    measuring = false;
    const load1 = os.loadavg();

    const row = (metric: string, value: number | null, unit: string): KioskBenchRow => ({ bench: 'kiosk', system: 'storegw', metric, value, unit });
    return [
      row('scans measured', dom.count, 'scans'),
      row('scan rate (4 kiosks)', round(dom.count / seconds, 1), 'scans/s'),
      row('scan-to-screen (DOM) p50', round(dom.percentile(50)), 'ms'),
      row('scan-to-screen (DOM) p95', round(dom.percentile(95)), 'ms'),
      row('scan-to-screen (DOM) p99', round(dom.percentile(99)), 'ms'),
      row('scan-to-screen (frame) p50', round(frame.percentile(50)), 'ms'),
      row('scan-to-screen (frame) p95', round(frame.percentile(95)), 'ms'),
      row('scan-to-screen (frame) p99', round(frame.percentile(99)), 'ms'),
      row('scan-to-screen (frame) max', round(frame.max()), 'ms'),
      row('gateway hop p50', round(hop.percentile(50)), 'ms'),
      row('gateway hop p99', round(hop.percentile(99)), 'ms'),
      row('gateway hop max', round(hop.max()), 'ms'),
      row('hop samples', hop.count, 'events'),
      row('hop: in → outbox commit p50', round(toCommit.percentile(50)), 'ms'),
      row('hop: in → outbox commit p99', round(toCommit.percentile(99)), 'ms'),
      row('hop: commit → frame out p50', round(afterCommit.percentile(50)), 'ms'),
      row('hop: commit → frame out p99', round(afterCommit.percentile(99)), 'ms'),
      row('load average 1 min, before', round(load0[0]), ''),
      row('load average 1 min, after', round(load1[0]), ''),
      row('cores', os.cpus().length, ''),
    ];
  } finally {
    for (const c of cleanups) await c().catch(() => {});
  }
}
