/**
 * HQ bench (`--module hq`): a chain of 1,000 light stores (test/sim/lightStores.ts: one MQTT
 * connection each, the batch envelope, verified acks) plus three real gateways (in this process,
 * `hq.delivery: ingest-ack`, a payment terminal each) into one Mosquitto (persistence on), the real
 * `dist/storegw-hq.js ingest` and a throwaway PostgreSQL, once with 4 ingest workers and once with 1:
 * 1. `paced`: every store offers one batch of 20 records every 5 s (4,000 records/s in all); ack
 *    latency is the time from a batch's first publish to its verified ack at the store;
 * 2. `drain`: every store sends its batches of 50 records as fast as its window of 2 un-acked
 *    batches allows; records/s is the records acked over the time to the last ack (also shown as
 *    PostgreSQL saw it: records stored between the first batch received and the last commit).
 * The ceiling (`postgresql`): the same record rows, as the ingest would write them, through
 * `COPY … FROM STDIN` (text format, psql's stdin) into a copy of the `records` table with its
 * primary key and index, in the same cluster: what PostgreSQL alone takes on this machine.
 * The 1,000 stores, their ack checks and the terminals share this process; the gateways, the
 * ingest's workers, Mosquitto and PostgreSQL are processes of their own. The drain reports each
 * one's CPU (% of a core, process and its children), so a reader sees what bounded the rate.
 */
import os from 'node:os';
import path from 'node:path';
import { spawn } from 'node:child_process';
import type { MqttClient } from 'mqtt';
import { readFileSync } from 'node:fs';
import { connectDevice, spawnGateway, TEST_SECRET, writeConfigFile, type GatewayProcess } from '../helpers/gatewayHarness.js';
import { tempDir } from '../helpers/tmp.js';
import { postgresBinDir } from '../helpers/postgres.js';
import { startIngestStack, type IngestStack } from '../integration/hq/ingestStack.js';
import { LightStores, lightRecord } from '../sim/lightStores.js';
import { Samples } from './stats.js';
import { cpuSeconds, machineBusySeconds, SelfCpuWindow } from './procStats.js';

export interface HqBenchRow {
  bench: string;
  system: 'storegw' | 'postgresql';
  metric: string;
  value: number | null;
  unit: string;
}

export interface BenchHqOptions {
  quick?: boolean;
  progress?: (s: string) => void;
  /** Worker counts to run, in order. Default [4, 1]. */
  workers?: number[];
}

const STORES = 1000;
const GATEWAYS = ['hq-bench-gw-1', 'hq-bench-gw-2', 'hq-bench-gw-3'];
const round = (v: number, d = 3): number | null => (Number.isFinite(v) ? Math.round(v * 10 ** d) / 10 ** d : null);
const load = (): string => os.loadavg().map((l) => l.toFixed(2)).join(' ');

export async function benchHq(opts: BenchHqOptions = {}): Promise<HqBenchRow[]> {
  const progress = opts.progress ?? (() => undefined);
  const rows: HqBenchRow[] = [];
  const P = {
    pacedBatches: opts.quick ? 3 : 6,
    pacedRecords: 20,
    pacedPerSecond: 0.2,
    drainBatches: opts.quick ? 3 : 8,
    drainRecords: 50,
    paymentsPerSecond: 10,
  };
  for (const workers of opts.workers ?? [4, 1]) {
    const bench = `hq-workers-${workers}`;
    const row = (metric: string, value: number, unit: string, system: HqBenchRow['system'] = 'storegw'): void => {
      rows.push({ bench, system, metric, value: round(value), unit });
    };
    progress(`  ${workers} worker(s): starting PostgreSQL, Mosquitto, the ingest, 3 gateways (load ${load()})`);
    const stack = await startIngestStack({ workers, persistence: true, ownCluster: true });
    const chain = await startChain(stack);
    try {
      // 1. Paced: ack latency at a steady offered load.
      const paced = new LightStores({
        url: stack.mosq.url,
        stores: STORES,
        prefix: `paced${workers}-`,
        publicKeys: { [stack.signer.kid]: stack.signer.publicKeyPem },
        recordsPerBatch: P.pacedRecords,
        batchesPerStore: P.pacedBatches,
        batchesPerSecond: P.pacedPerSecond,
        window: 4,
        // Long: a re-send would measure the timeout, not the ingest.
        resendMs: 60_000,
      });
      let t = Date.now();
      await paced.connect();
      row('stores_connect', (Date.now() - t) / 1000, 's');
      const lat = new Samples();
      paced.onLatency = (ms) => lat.add(ms);
      progress(`  ${workers} worker(s): paced, ${STORES} stores × ${P.pacedBatches} batches of ${P.pacedRecords} records, one per ${1 / P.pacedPerSecond} s each`);
      chain.startPayments(P.paymentsPerSecond);
      paced.start();
      await paced.allAcked();
      row('paced_offered', STORES * P.pacedPerSecond * P.pacedRecords, 'records/s');
      row('ack_p50', lat.percentile(50), 'ms');
      row('ack_p99', lat.percentile(99), 'ms');
      row('ack_max', lat.max(), 'ms');
      row('paced_refused_acks', paced.stats.refused.length, 'count');
      await paced.stop();

      // 2. Drain: as fast as the ingest takes it.
      const drain = new LightStores({
        url: stack.mosq.url,
        stores: STORES,
        prefix: `drain${workers}-`,
        publicKeys: { [stack.signer.kid]: stack.signer.publicKeyPem },
        recordsPerBatch: P.drainRecords,
        batchesPerStore: P.drainBatches,
        window: 2,
        resendMs: 60_000,
      });
      await drain.connect();
      const dlat = new Samples();
      drain.onLatency = (ms) => dlat.add(ms);
      const records = STORES * P.drainBatches * P.drainRecords;
      progress(`  ${workers} worker(s): drain, ${records.toLocaleString('en-US')} records (${STORES} stores × ${P.drainBatches} batches of ${P.drainRecords}, 2 in flight each)`);
      const cpu = cpuWindows({ loadgen: [], ingest: [stack.ingest.pid!], postgresql: [stack.pg.pid()], mosquitto: [stack.mosq.pid], gateways: chain.pids });
      t = Date.now();
      drain.start();
      await drain.allAcked();
      const wall = (Date.now() - t) / 1000;
      row('records_per_s', records / wall, 'records/s');
      for (const [who, pct] of Object.entries(cpu.stop())) row(`drain_cpu_${who}`, pct, '% of a core');
      const pgSide = (
        await stack.db.query<{ stored: string; s: number }>(
          `SELECT sum(stored) AS stored, extract(epoch FROM max(committed_at) - min(received_at))::float8 AS s FROM batches WHERE store_id LIKE $1`,
          [`drain${workers}-%`],
        )
      ).rows[0];
      row('records_per_s_pg_window', Number(pgSide.stored) / pgSide.s, 'records/s');
      row('drain_ack_p50', dlat.percentile(50), 'ms');
      row('drain_ack_p99', dlat.percentile(99), 'ms');
      row('drain_refused_acks', drain.stats.refused.length, 'count');
      row('resent_batches', paced.stats.resends + drain.stats.resends, 'count');
      await drain.stop();

      // The gateways' records, every one through ingest-ack.
      const sent = await chain.stopPayments();
      const gw = await chain.drained(stack);
      row('gateway_payments_sent', sent, 'records');
      row('gateway_payments_in_postgresql', gw, 'records');
      progress(`  ${workers} worker(s): ${records.toLocaleString('en-US')} records in ${wall.toFixed(1)} s; paced ack p50/p99 ${lat.percentile(50).toFixed(0)}/${lat.percentile(99).toFixed(0)} ms (load ${load()})`);

      if (workers === (opts.workers ?? [4, 1])[0]) {
        progress(`  the ceiling: COPY of ${records.toLocaleString('en-US')} record rows through psql (load ${load()})`);
        const copy = await copyCeiling(stack, records);
        rows.push({ bench: 'hq-ceiling', system: 'postgresql', metric: 'copy_records_per_s', value: round(records / copy), unit: 'records/s' });
      }
    } finally {
      await chain.stop();
      await stack.stop();
    }
  }
  return rows;
}

/** CPU of process trees over a window, % of one core; `loadgen` is this process; `machine` all cores. */
function cpuWindows(groups: Record<string, number[]>): { stop(): Record<string, number> } {
  const self = new SelfCpuWindow();
  const sum = (pids: number[]): number => pids.reduce((n, p) => n + treeCpu(p), 0);
  const c0 = Object.fromEntries(Object.entries(groups).map(([k, pids]) => [k, sum(pids)]));
  const m0 = machineBusySeconds();
  const t0 = performance.now();
  self.start();
  return {
    stop() {
      const dt = (performance.now() - t0) / 1000;
      const out: Record<string, number> = {};
      for (const [k, pids] of Object.entries(groups)) out[k] = k === 'loadgen' ? self.stop() : ((sum(pids) - c0[k]) / dt) * 100;
      out.machine = ((machineBusySeconds() - m0) / dt) * 100;
      return out;
    },
  };
}

/** CPU seconds of a process and its descendants (/proc/<pid>/task/<pid>/children); 0 once gone. */
function treeCpu(pid: number): number {
  let total = 0;
  try {
    total += cpuSeconds(pid);
    for (const c of readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean)) total += treeCpu(Number(c));
  } catch {
    // exited meanwhile
  }
  return total;
}

interface Chain {
  pids: number[];
  startPayments(perSecond: number): void;
  /** Stops the terminals' stream; resolves with how many results were published in all. */
  stopPayments(): Promise<number>;
  /** Waits until every gateway's outbox is empty; resolves with the payment results PostgreSQL holds. */
  drained(stack: IngestStack): Promise<number>;
  stop(): Promise<void>;
}

async function startChain(stack: IngestStack): Promise<Chain> {
  const config = (storeId: string) => ({
    storeId,
    hq: { url: stack.mosq.url, publicKeys: [{ kid: stack.signer.kid, pem: stack.signer.publicKeyPem }], delivery: 'ingest-ack', ackTimeoutMs: 30_000, maxUnackedBatches: 16 },
    prices: { enabled: false },
    uplink: { batchMaxAgeMs: 200, backoffInitialMs: 50, backoffMaxMs: 1000, checkIntervalMs: 60_000 },
    compaction: { windowMs: 60_000, intervalMs: 60_000 },
  });
  const dirs = GATEWAYS.map(() => tempDir('hq-bench-gw-'));
  const gateways: GatewayProcess[] = await Promise.all(
    GATEWAYS.map(async (id, i) => spawnGateway(await writeConfigFile(dirs[i].dir, { dataDir: dirs[i].dir, devices: [{ kind: 'payment', id: 'pay-1' }], extra: config(id) }))),
  );
  const terminals: MqttClient[] = await Promise.all(gateways.map((g) => connectDevice(`mqtt://127.0.0.1:${g.mqttPort}`, 'payment/pay-1', TEST_SECRET, { reconnectPeriod: 200 })));
  let timer: NodeJS.Timeout | undefined;
  let sent = 0;
  const pending = new Set<Promise<unknown>>();
  return {
    pids: gateways.map((g) => g.proc.pid!),
    startPayments(perSecond) {
      timer = setInterval(() => {
        for (const [i, c] of terminals.entries()) {
          const n = sent++;
          const body = { ts: new Date().toISOString(), requestId: `${GATEWAYS[i]}-${n}`, status: 'approved', amount: 100 + (n % 900), currency: 'EUR' };
          const p = c.publishAsync('store/v1/dev/payment/pay-1/evt/result', JSON.stringify(body), { qos: 1 });
          pending.add(p);
          void p.finally(() => pending.delete(p));
        }
      }, 1000 / perSecond);
    },
    async stopPayments() {
      if (timer) clearInterval(timer);
      await Promise.all(pending);
      return sent;
    },
    async drained(s) {
      for (const g of gateways) {
        while ((await outboxLeft(`http://127.0.0.1:${g.httpPort}`)) > 0) await new Promise((r) => setTimeout(r, 100));
      }
      const r = await s.db.query<{ n: string }>(`SELECT count(*) AS n FROM records WHERE store_id LIKE 'hq-bench-gw-%' AND kind = 'payment' AND type = 'result'`);
      return Number(r.rows[0].n);
    },
    async stop() {
      if (timer) clearInterval(timer);
      await Promise.all(terminals.map((c) => c.endAsync(true).catch(() => undefined)));
      await Promise.all(gateways.map((g) => g.kill('SIGTERM')));
      for (const d of dirs) d.remove();
    },
  };
}

/** Records in a gateway's outbox plus batches HQ has not acked (its /metrics). */
async function outboxLeft(httpUrl: string): Promise<number> {
  const text = await (await fetch(`${httpUrl}/metrics`)).text();
  return text
    .split('\n')
    .filter((l) => l.startsWith('storegw_outbox_depth{') || l.startsWith('storegw_hq_unacked_batches '))
    .reduce((n, l) => n + Number(l.slice(l.lastIndexOf(' ') + 1)), 0);
}

/** COPY text format: backslash, tab, newline and carriage return escaped (PostgreSQL docs, COPY, "Text Format"). */
function copyField(v: string | number | null): string {
  if (v === null) return '\\N';
  return String(v).replace(/\\/g, '\\\\').replace(/\t/g, '\\t').replace(/\n/g, '\\n').replace(/\r/g, '\\r');
}

/** Seconds for psql to COPY `n` record rows (the drain's shape) into a fresh copy of `records`. */
async function copyCeiling(stack: IngestStack, n: number): Promise<number> {
  await stack.db.query('DROP TABLE IF EXISTS records_ceiling');
  await stack.db.query('CREATE TABLE records_ceiling (LIKE records INCLUDING ALL)');
  const parts: string[] = [];
  const t0 = Date.now();
  for (let i = 0; i < n; i++) {
    const storeId = `ceiling-${String(i % STORES).padStart(4, '0')}`;
    const r = lightRecord(storeId, 1 + Math.floor(i / STORES), t0);
    const batchId = `${storeId}:${r.seq}`;
    parts.push(
      [storeId, r.seq, null, r.class, r.kind, r.deviceId, r.type, r.ts, new Date(r.recvTs!).toISOString(), batchId, JSON.stringify(r)].map(copyField).join('\t') + '\n',
    );
  }
  const input = Buffer.from(parts.join(''), 'utf8');
  const psql = path.join(postgresBinDir(), 'psql');
  const args = ['-X', '-q', '-v', 'ON_ERROR_STOP=1', '-d', stack.pg.connectionString, '-c', 'COPY records_ceiling (store_id, seq, seq_from, class, kind, device_id, type, ts, recv_ts, batch_id, record) FROM STDIN'];
  const t = process.hrtime.bigint();
  await new Promise<void>((resolve, reject) => {
    const p = spawn(psql, args, { stdio: ['pipe', 'ignore', 'pipe'] });
    let err = '';
    p.stderr.setEncoding('utf8').on('data', (d: string) => (err += d));
    p.on('error', reject);
    p.on('exit', (code) => (code === 0 ? resolve() : reject(new Error(`psql COPY exited ${code}: ${err.trim()}`))));
    p.stdin.end(input);
  });
  const s = Number(process.hrtime.bigint() - t) / 1e9;
  const got = Number((await stack.db.query<{ n: string }>('SELECT count(*) AS n FROM records_ceiling')).rows[0].n);
  if (got !== n) throw new Error(`COPY ceiling: ${got} rows, expected ${n}`);
  return s;
}
