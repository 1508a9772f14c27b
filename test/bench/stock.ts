/**
 * Stock bench: the gateway as its systemd unit runs it (a child process, test/bench/systems.ts),
 * a stock ledger that knows 50,000 GTINs, and 1,000 stock movements/s offered through the ops API
 * an attendant's page uses (`/api/stock/adjust`, `/receive`, `/return`, `/count`: each answers
 * after its `stockMove` record is durable) while the device ingest load of the fixed-rate bench
 * (5,000 QoS 1 events/s over 50 connections) runs. The same ingest load runs first without the
 * stock load, on the same gateway, so the two sets of ingest figures sit side by side.
 *
 * seeding            50,000 GTINs received as a store takes in goods: `POST /api/stock/receive`
 *                    with 200 scanned lines per request (the API's cap), 4 requests at a time
 * movements/s        stock API answers 200 within the window, per second (offered: 1,000/s;
 *                    at most 256 requests in flight, a request not sent because of that cap is
 *                    counted as not offered, so a stock path that cannot keep up shows as a rate)
 * movement latency   request sent → answer (the records durable), p50/p99
 * stock alone        the same movement load without ingest first: rate, latency, and the server's
 *                    CPU time per movement (CPU over the window / movements answered)
 * ingest             PUBACK p50/p99 and acknowledged events/s, without and with the stock load
 * stock.db           its size (with the WAL) after the run; server RSS at the end
 */
import { statSync } from 'node:fs';
import path from 'node:path';
import { closeClients, connectClients, fixedRate, type LoadResult } from './loadgen.js';
import { identities, startSystem } from './systems.js';
import { CpuWindow, memory } from './procStats.js';
import { Samples } from './stats.js';
import { gtinOf, login } from '../sim/hqFeeds.js';
import { TEST_PASSWORDS } from '../helpers/gatewayHarness.js';

export interface StockBenchRow {
  bench: string;
  system: 'storegw';
  metric: string;
  value: number | null;
  unit: string;
}

const GTINS = 50_000;
const SEED_LINES = 200;
const MOVE_RATE = 1000;
const MAX_IN_FLIGHT = 256;
const INGEST_RATE = 5000;
const CONNECTIONS = 50;
const round = (x: number | null, d = 2): number | null => (x !== null && Number.isFinite(x) ? Math.round(x * 10 ** d) / 10 ** d : null);
const MB = 1024 * 1024;

function fileSize(f: string): number {
  try {
    return statSync(f).size;
  } catch {
    return 0;
  }
}

async function post(url: string, cookie: string, route: string, body: unknown): Promise<number> {
  const res = await fetch(`${url}/api/stock/${route}`, { method: 'POST', headers: { cookie, 'content-type': 'application/json' }, body: JSON.stringify(body) });
  await res.arrayBuffer();
  return res.status;
}

/** One movement of the mix: half adjustments (−1), receipts, returns, a few counts. */
function movement(i: number, run: string): { route: string; body: unknown } {
  const gtin = gtinOf((i * 7919) % GTINS);
  const requestId = `bench-${run}-${i}`;
  const k = i % 20;
  if (k < 10) return { route: 'adjust', body: { requestId, gtin, qty: -1, reason: 'damaged' } };
  if (k < 16) return { route: 'receive', body: { requestId, lines: [{ gtin, qty: 1 }] } };
  if (k < 19) return { route: 'return', body: { requestId, gtin, qty: 1 } };
  return { route: 'count', body: { requestId, gtin, counted: 40 } };
}

/** Paced stock movements for `seconds`: the offered rate held by a 1 ms timer, capped in flight. */
async function stockLoad(url: string, cookie: string, seconds: number, run: string): Promise<{ ok: number; failed: number; skipped: number; latency: Samples; rate: number; firstFailure?: string }> {
  const latency = new Samples();
  let ok = 0;
  let failed = 0;
  let skipped = 0;
  let inFlight = 0;
  let due = 0;
  let firstFailure: string | undefined;
  const t0 = performance.now();
  const sent: Promise<void>[] = [];
  await new Promise<void>((resolve) => {
    const timer = setInterval(() => {
      const now = performance.now();
      if (now - t0 >= seconds * 1000) {
        clearInterval(timer);
        resolve();
        return;
      }
      const target = Math.floor(((now - t0) * MOVE_RATE) / 1000);
      while (due < target) {
        const i = due++;
        if (inFlight >= MAX_IN_FLIGHT) {
          skipped++;
          continue;
        }
        inFlight++;
        const m = movement(i, run);
        const at = performance.now();
        sent.push(
          post(url, cookie, m.route, m.body).then(
            (status) => {
              inFlight--;
              if (status === 200) {
                ok++;
                latency.add(performance.now() - at);
              } else {
                failed++;
                firstFailure ??= `${m.route}: HTTP ${status}`;
              }
            },
            (err: Error) => {
              inFlight--;
              failed++;
              firstFailure ??= `${m.route}: ${err.message}`;
            },
          ),
        );
      }
    }, 1);
  });
  const elapsed = (performance.now() - t0) / 1000;
  await Promise.all(sent);
  return { ok, failed, skipped, latency, rate: ok / elapsed, firstFailure };
}

export async function benchStock(opts: { quick?: boolean; progress?: (s: string) => void } = {}): Promise<StockBenchRow[]> {
  const progress = opts.progress ?? (() => {});
  const seconds = opts.quick ? 8 : 30;
  const out: StockBenchRow[] = [];
  const row = (metric: string, value: number | null, unit: string): void => void out.push({ bench: 'stock', system: 'storegw', metric, value: round(value), unit });
  const s = await startSystem('storegw', CONNECTIONS);
  try {
    const url = s.httpUrl!;
    const cookie = await login(url, 'attendant', TEST_PASSWORDS.attendant);

    progress(`  stock: receiving ${GTINS.toLocaleString('en-US')} GTINs through /api/stock/receive, ${SEED_LINES} lines per request`);
    const tSeed = performance.now();
    const requests = Array.from({ length: GTINS / SEED_LINES }, (_, r) => r);
    const seedWorker = async (): Promise<void> => {
      for (let r = requests.shift(); r !== undefined; r = requests.shift()) {
        const lines = Array.from({ length: SEED_LINES }, (_, j) => ({ gtin: gtinOf(r * SEED_LINES + j), qty: 50 }));
        const status = await post(url, cookie, 'receive', { requestId: `bench-seed-${r}`, lines, ref: 'bench-seed' });
        if (status !== 200) throw new Error(`seed receive ${r}: HTTP ${status}`);
      }
    };
    await Promise.all([seedWorker(), seedWorker(), seedWorker(), seedWorker()]);
    const seedS = (performance.now() - tSeed) / 1000;
    row('seed_gtins', GTINS, 'GTINs');
    row('seed_rate', GTINS / seedS, 'movements/s');
    progress(`  stock: seeded in ${seedS.toFixed(1)} s (${Math.round(GTINS / seedS)} movements/s)`);

    const clients = await connectClients(s.url, identities(CONNECTIONS, 'stock-bench'), true);
    for (const l of clients) {
      l.c.on('error', (err) => progress(`  stock: ${l.id.username}: ${err.message}`));
    }
    // Server CPU over each measuring window: on a shared box the rates above fall with what the
    // others run, CPU time per movement does much less.
    const cpu = new CpuWindow(s.pid);
    let cpuPct = 0;
    const onWindow = (phase: 'start' | 'end'): void => (phase === 'start' ? cpu.start() : void (cpuPct = cpu.stop()));
    const ingest = (): Promise<LoadResult> => fixedRate(clients, { rate: INGEST_RATE, warmupS: 1, seconds, onWindow });
    const ingestRows = (tag: string, r: LoadResult): void => {
      row(`ingest_events_per_s_${tag}`, r.rate, 'events/s');
      row(`ingest_puback_p50_${tag}`, r.latency.percentile(50), 'ms');
      row(`ingest_puback_p99_${tag}`, r.latency.percentile(99), 'ms');
    };

    progress(`  stock: ingest alone, ${INGEST_RATE}/s over ${CONNECTIONS} connections for ${seconds} s`);
    const alone = await ingest();
    ingestRows('alone', alone);
    const cpuAlone = cpuPct;
    row('server_cpu_alone', cpuAlone, '% of a core');
    progress(`  stock: ingest alone ${Math.round(alone.rate)}/s, PUBACK p50 ${alone.latency.percentile(50).toFixed(2)} / p99 ${alone.latency.percentile(99).toFixed(2)} ms`);

    progress(`  stock: the same ingest with ${MOVE_RATE} stock movements/s offered through the ops API`);
    const [both, moves] = await Promise.all([ingest(), (async () => {
      // Starts with the ingest's measuring window (after its 1 s warm-up).
      await new Promise((r) => setTimeout(r, 1000));
      return stockLoad(url, cookie, seconds, 'mv');
    })()]);
    ingestRows('with_stock', both);
    row('movements_offered', MOVE_RATE, 'movements/s');
    row('movements_per_s', moves.rate, 'movements/s');
    row('movements_not_sent_cap', moves.skipped, 'count');
    row('movements_failed', moves.failed, 'count');
    row('movement_latency_p50', moves.latency.percentile(50), 'ms');
    row('movement_latency_p99', moves.latency.percentile(99), 'ms');
    row('server_cpu_with_stock', cpuPct, '% of a core');
    // What the stock load added, per movement (the ingest's share taken out at its achieved rate).
    // Not measured when the server got less CPU with the stock load than without it: it was waiting
    // (for a core on a busy box, or for its disk), and the difference says nothing about stock.
    const ingestShare = alone.rate > 0 ? (cpuAlone * both.rate) / alone.rate : 0;
    const added = cpuPct - ingestShare;
    row('server_cpu_per_movement', moves.rate > 0 && added > 0 ? (added / 100) * (1e6 / moves.rate) : null, 'µs');
    await closeClients(clients);
    progress(
      `  stock: ${Math.round(moves.rate)} movements/s (${moves.skipped} not sent at the in-flight cap, ${moves.failed} failed${moves.firstFailure ? `: ${moves.firstFailure}` : ''}), ` +
        `latency p50 ${moves.latency.percentile(50).toFixed(1)} / p99 ${moves.latency.percentile(99).toFixed(1)} ms; ` +
        `ingest with it ${Math.round(both.rate)}/s, PUBACK p50 ${both.latency.percentile(50).toFixed(2)} / p99 ${both.latency.percentile(99).toFixed(2)} ms`,
    );
    // Last, the stock load alone (run before the ingest phases, their MQTT clients were reset and
    // the load generator died; the cause is not found yet): its rate and latency, and the server's
    // CPU per movement (CPU time over the window / movements answered), the figure a busy shared
    // box distorts least.
    progress(`  stock: ${MOVE_RATE} stock movements/s offered alone for ${seconds} s`);
    const cpuMoves = new CpuWindow(s.pid);
    cpuMoves.start();
    const movesAlone = await stockLoad(url, cookie, seconds, 'solo');
    const cpuMovesPct = cpuMoves.stop();
    row('movements_per_s_alone', movesAlone.rate, 'movements/s');
    row('movement_latency_p50_alone', movesAlone.latency.percentile(50), 'ms');
    row('movement_latency_p99_alone', movesAlone.latency.percentile(99), 'ms');
    row('server_cpu_stock_alone', cpuMovesPct, '% of a core');
    row('server_cpu_per_movement_alone', movesAlone.rate > 0 ? (cpuMovesPct / 100) * (1e6 / movesAlone.rate) : null, 'µs');
    progress(
      `  stock alone: ${Math.round(movesAlone.rate)} movements/s (${movesAlone.skipped} not sent at the cap, ${movesAlone.failed} failed), latency p50 ${movesAlone.latency.percentile(50).toFixed(1)} / p99 ${movesAlone.latency.percentile(99).toFixed(1)} ms, ` +
        `server ${cpuMovesPct.toFixed(0)}% of a core = ${movesAlone.rate > 0 ? Math.round(((cpuMovesPct / 100) * 1e6) / movesAlone.rate) : '-'} µs CPU per movement`,
    );

    const db = path.join(s.dataDir!, 'stock.db');
    row('stock_db_size', (fileSize(db) + fileSize(`${db}-wal`)) / MB, 'MB');
    row('server_rss', memory(s.pid).rss / MB, 'MB');
  } finally {
    const w = s.warnings?.();
    if (w && w.count > 0) progress(`  stock: the gateway logged ${w.count} warning/error line(s): ${w.samples.join('; ')}`);
    await s.stop();
  }
  return out;
}
