/**
 * The day's numbers are exact across SIGKILLs. A scripted store day runs
 * through a real gateway process: door counters (counts and crossings, in and out), kiosk sales
 * over the kiosk WebSocket with a real payment terminal simulator (some with a member card), HQ on
 * a real Mosquitto taking the batches (the uplink deletes what HQ has) and the `report/kpi`. At
 * seeded points the gateway is killed with SIGKILL — after a step was acknowledged, or in the middle
 * of a burst of door counts — and started again. At the end the day's numbers from the ops API and
 * HQ's last KPI report equal a recount of every record: `storegw outbox export` plus what HQ holds.
 *
 * Counters written apart from the records (say once a second) lose an acknowledged count to a kill
 * right after it, and the ops page then shows fewer visitors and sales than the records hold.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import path from 'node:path';
import { EventEmitter } from 'node:events';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import mqtt, { type MqttClient } from 'mqtt';
import WebSocket from 'ws';
import { startMosquitto, type Mosquitto } from '../../helpers/mosquitto.js';
import { connectDevice, DEFAULT_DEVICES, GATEWAY_BIN, spawnGateway, TEST_SECRET, writeConfigFile, type ConfigOptions, type GatewayProcess } from '../../helpers/gatewayHarness.js';
import { freePort } from '../../helpers/ports.js';
import { tempDir } from '../../helpers/tmp.js';
import { createHqSigner } from '../../sim/hqSigner.js';
import { until } from '../../sim/hqFeeds.js';
import { HqSim } from '../../sim/hqSim.js';
import { PaymentSim } from '../../sim/paymentSim.js';
import { OutboxStore } from '../../../gateway/outbox/store.js';
import type { BatchRecord } from '../../../gateway/protocol/envelopes.js';
import type { CartView } from '../../../gateway/protocol/schemas/kiosk.js';
import { topics } from '../../../gateway/protocol/topics.js';
import { login, api } from './opsClient.js';
import { G, KIOSK_DEVICES, kioskExtra, seedCatalog, MEMBER, Peripherals, TOKENS } from '../../e2e/kioskFixture.js';
import { mulberry32 } from '../../helpers/prng.js';

const SEED = Number(process.env.KPI_DAY_SEED ?? 20_261_125);
const STEPS = 30;
const run = promisify(execFile);
const signer = createHqSigner({ kid: 'hq-kpi' });
const tmp = tempDir('sgw-kpi-day-');

const rand = mulberry32(SEED);
const int = (lo: number, hi: number) => lo + Math.floor(rand() * (hi - lo + 1));

/** The kiosk page's side of the WebSocket: the latest cart view, and waits on it. */
class KioskSocket {
  view: CartView | null = null;
  private readonly ws: WebSocket;
  private constructor(ws: WebSocket) {
    this.ws = ws;
    ws.on('message', (d) => {
      const m = JSON.parse(String(d)) as { type: string };
      if (m.type === 'cart') this.view = m as CartView;
      ws.emit('view');
    });
  }
  static open(httpPort: number): Promise<KioskSocket> {
    return new Promise((resolve, reject) => {
      const ws = new WebSocket(`ws://127.0.0.1:${httpPort}/ws/kiosk`);
      ws.once('error', reject);
      ws.once('open', () => {
        ws.send(JSON.stringify({ type: 'hello', kioskId: 'k1', token: TOKENS.k1 }));
        resolve(new KioskSocket(ws));
      });
    });
  }
  send(m: object): void {
    this.ws.send(JSON.stringify(m));
  }
  until(pred: (v: CartView) => boolean, what: string): Promise<void> {
    return until(this.ws, 'view', () => this.view !== null && pred(this.view), 15_000, what, () => ({ phase: this.view?.phase, lines: this.view?.lines.length, notice: this.view?.notice, requests: this.view?.requests }));
  }
  close(): void {
    this.ws.terminate();
  }
}

let hq: Mosquitto;
let hqSim: HqSim;
let listener: MqttClient;
const reportArrived = new EventEmitter();
const reports: { lastSeq: number; day: string; totals: Record<string, unknown>; hours: Record<string, unknown>[] }[] = [];
let opts: ConfigOptions;
let configFile: string;
let child: GatewayProcess | null = null;
let bootId = '';
let doors: MqttClient[] = [];
let dev: Peripherals | null = null;
let pay: PaymentSim | null = null;
let kiosk: KioskSocket | null = null;
const log: string[] = [];

async function boot(): Promise<void> {
  child = await spawnGateway(configFile);
  bootId = (JSON.parse(child.output.find((l) => l.includes('"storegw ready"'))!) as { bootId: string }).bootId;
  const url = `mqtt://127.0.0.1:${child.mqttPort}`;
  pay = new PaymentSim({ url, id: 'pay-1', password: TEST_SECRET });
  // Independent clients of the new process: connected side by side.
  [doors, dev, , kiosk] = await Promise.all([
    Promise.all([connectDevice(url, 'footfall/door-1', TEST_SECRET), connectDevice(url, 'footfall/door-2', TEST_SECRET)]),
    Peripherals.connect(url, KIOSK_DEVICES.filter((d) => d.id === 'sc-1')),
    pay.start(),
    KioskSocket.open(child.httpPort),
  ]);
  await kiosk.until(() => true, 'the first cart view');
}

/** SIGKILL, then drop every client of the dead process (their errors are expected). */
async function kill(): Promise<void> {
  await child!.kill('SIGKILL');
  kiosk?.close();
  for (const c of doors) c.end(true);
  await dev?.close().catch(() => undefined);
  await pay?.stop().catch(() => undefined);
}

function doorEvent(): { door: number; type: 'count' | 'cross'; data: object } {
  const door = int(0, 1);
  if (rand() < 0.6) return { door, type: 'count', data: { in: int(0, 6), out: int(0, 4) } };
  return { door, type: 'cross', data: { direction: rand() < 0.55 ? 'in' : 'out' } };
}

function publishDoor(e: ReturnType<typeof doorEvent>): Promise<unknown> {
  const id = e.door === 0 ? 'door-1' : 'door-2';
  return doors[e.door].publishAsync(topics.evt('footfall', id, e.type), JSON.stringify({ ts: new Date().toISOString(), ...e.data }), { qos: 1 });
}

/** Door counts, each acknowledged before the next. */
async function footfall(n: number): Promise<void> {
  for (let i = 0; i < n; i++) await publishDoor(doorEvent());
}

/** A burst of door counts in flight at once; the gateway is killed after `ackedBeforeKill` PUBACKs. */
async function burstThenKill(n: number, ackedBeforeKill: number): Promise<void> {
  let acked = 0;
  let release!: () => void;
  const enough = new Promise<void>((r) => (release = r));
  for (let i = 0; i < n; i++) {
    publishDoor(doorEvent()).then(
      () => ++acked >= ackedBeforeKill && release(),
      () => undefined, // in flight when the gateway died: the device would send it again later
    );
  }
  await enough;
  await kill();
}

/** One shopper at kiosk k1: items scanned, maybe a member card, paid, receipt shown, next shopper. */
async function sale(items: number, member: boolean): Promise<void> {
  const k = kiosk!;
  if (k.view!.phase === 'done' || k.view!.phase === 'cancelled') {
    k.send({ type: 'cancel' }); // the previous shopper's receipt (the kill came before the reset)
    await k.until((v) => v.phase !== 'done' && v.phase !== 'cancelled', 'next shopper');
  }
  const before = k.view!.lines.reduce((n, l) => n + l.qty, 0);
  for (let i = 0; i < items; i++) {
    await dev!.scan('sc-1', rand() < 0.5 ? G.milk : G.bread);
    await k.until((v) => v.lines.reduce((n, l) => n + l.qty, 0) === before + i + 1, `item ${i + 1} in the cart`);
  }
  if (member) {
    k.send({ type: 'member', code: MEMBER });
    await k.until((v) => v.memberCode === MEMBER, 'member card taken');
  }
  k.send({ type: 'pay' });
  await k.until((v) => v.phase === 'done' && v.receipt !== null, 'receipt');
  k.send({ type: 'cancel' });
  await k.until((v) => v.phase !== 'done', 'next shopper');
}

interface Counts {
  visitors: number;
  transactions: number;
  sales: number;
  memberTransactions: number;
  repeatTransactions: number;
}
const zero = (): Counts => ({ visitors: 0, transactions: 0, sales: 0, memberTransactions: 0, repeatTransactions: 0 });

/**
 * Recounts the KPIs from records, written apart from gateway/kpi (the store's zone is UTC here):
 * a raw door count adds its `in` at its `ts` hour, a raw crossing "in" adds one, a compacted door
 * record adds its `in` at its minute; a sale adds itself and its total at its `ts` hour, a member's
 * first sale is a member sale and every later one a repeat.
 */
function recount(records: BatchRecord[]): Map<string, Counts[]> {
  const days = new Map<string, Counts[]>();
  const cell = (iso: string) => {
    const d = new Date(iso);
    const day = d.toISOString().slice(0, 10);
    if (!days.has(day)) days.set(day, Array.from({ length: 24 }, zero));
    return days.get(day)![d.getUTCHours()];
  };
  const members = new Set<string>();
  for (const r of [...records].sort((a, b) => a.seq - b.seq)) {
    const data = r.data as Record<string, unknown>;
    if (r.kind === 'footfall' && r.seqFrom !== undefined && r.seqFrom !== null) cell(String(data.minute)).visitors += Number(data.in);
    else if (r.kind === 'footfall' && r.type === 'count') cell(r.ts).visitors += Number(data.in);
    else if (r.kind === 'footfall' && r.type === 'cross' && data.direction === 'in') cell(r.ts).visitors += 1;
    else if (r.kind === 'kiosk' && r.type === 'transaction') {
      const c = cell(r.ts);
      c.transactions += 1;
      c.sales += Number(data.total);
      const m = typeof data.memberCode === 'string' ? data.memberCode : null;
      if (m) {
        c.memberTransactions += 1;
        if (members.has(m)) c.repeatTransactions += 1;
        members.add(m);
      }
    }
  }
  return days;
}

const pick = (c: Record<string, unknown>): Counts => ({ visitors: c.visitors as number, transactions: c.transactions as number, sales: c.sales as number, memberTransactions: c.memberTransactions as number, repeatTransactions: c.repeatTransactions as number });
const sum = (hours: Counts[]): Counts => hours.reduce((a, h) => ({ visitors: a.visitors + h.visitors, transactions: a.transactions + h.transactions, sales: a.sales + h.sales, memberTransactions: a.memberTransactions + h.memberTransactions, repeatTransactions: a.repeatTransactions + h.repeatTransactions }), zero());

beforeAll(async () => {
  hq = await startMosquitto();
  hqSim = new HqSim({ url: hq.url });
  await hqSim.start();
  listener = await mqtt.connectAsync(hq.url, { reconnectPeriod: 200 });
  listener.on('message', (_t, p) => {
    if (p.length > 0) reports.push(JSON.parse(p.toString()) as (typeof reports)[number]);
    reportArrived.emit('report');
  });
  await listener.subscribeAsync('hq/v1/store/test-store/report/kpi', { qos: 1 });
  opts = {
    dataDir: path.join(tmp.dir, 'data'),
    devices: [...DEFAULT_DEVICES, ...KIOSK_DEVICES],
    mqttPort: await freePort(),
    httpPort: await freePort(),
    extra: {
      ...(await kioskExtra(hq.url, signer.publicKeyPem, signer.kid)),
      ops: { timezone: 'UTC', kpiReportEveryMs: 100 },
      // Short windows: door counts are compacted, sent to HQ and deleted from the outbox during the day.
      compaction: { windowMs: 2000, aggregateBucketMs: 1000 },
      uplink: { batchMaxAgeMs: 20 },
    },
  };
  await seedCatalog(opts, hq.url, signer); // the catalog once, in-process; the child finds it in prices.db
  configFile = await writeConfigFile(tmp.dir, opts);
});

afterAll(async () => {
  kiosk?.close();
  for (const c of doors) c.end(true);
  await dev?.close().catch(() => undefined);
  await pay?.stop().catch(() => undefined);
  await child?.kill('SIGKILL');
  listener?.end(true);
  await hqSim?.stop();
  await hq?.stop();
  tmp.remove();
});

describe('a store day with SIGKILLs', () => {
  it(`ends with the day's numbers equal to a recount of the exported records and HQ's (seed ${SEED})`, async () => {
    await boot();
    // Seeded kill points: four steps of the day end with a SIGKILL (two of them mid-burst), and
    // the day itself ends with one.
    const kills = new Map<number, 'after' | 'burst'>();
    while (kills.size < 4) kills.set(int(2, STEPS - 2), kills.size < 2 ? 'burst' : 'after');
    for (let step = 0; step < STEPS; step++) {
      const k = kills.get(step);
      if (k === 'burst') {
        const n = int(20, 40);
        const acked = int(1, n - 1);
        log.push(`${step}: burst ${n}, kill after ${acked} acks`);
        await burstThenKill(n, acked);
        await boot();
        continue;
      }
      if (rand() < 0.6) {
        const n = int(1, 8);
        log.push(`${step}: ${n} door events`);
        await footfall(n);
      } else {
        const items = int(1, 3);
        const member = rand() < 0.5;
        log.push(`${step}: sale of ${items}${member ? ' with member card' : ''}`);
        await sale(items, member);
      }
      if (k === 'after') {
        log.push(`${step}: SIGKILL`);
        await kill();
        await boot();
      }
    }

    // The ops API (what the ops page shows) and HQ's last KPI report, with the gateway still running.
    const httpUrl = `http://127.0.0.1:${child!.httpPort}`;
    const cookie = await login(httpUrl, 'viewer');
    const kpiOf = async (q: string) => (await api(httpUrl, cookie, 'GET', `/api/kpi${q}`)).json as { day: string; totals: Record<string, unknown>; hours: Record<string, unknown>[] };
    const today = await kpiOf('');
    // A day that ran across midnight has records of yesterday too.
    const yesterday = await kpiOf(`?day=${new Date(Date.parse(`${today.day}T12:00:00Z`) - 86_400_000).toISOString().slice(0, 10)}`);
    const latest = () => reports.filter((r) => r.day === today.day).at(-1);
    await until(reportArrived, 'report', () => latest() !== undefined && JSON.stringify(pick(latest()!.totals)) === JSON.stringify(pick(today.totals)), 10_000, "HQ's KPI report to reach the API's numbers", () => ({ report: latest() && pick(latest()!.totals), api: pick(today.totals) }));
    expect(latest()!.hours.map(pick)).toEqual(today.hours.map(pick));

    // Stop the day for good, then recount: what is left in the outbox plus what HQ holds.
    await kill();
    // The Will ("offline" for this boot) follows every batch HQ's broker acknowledged to the gateway.
    await hqSim.waitFor((h) => (h.status('test-store') as { state?: string; bootId?: string } | undefined)?.bootId === bootId && (h.status('test-store') as { state: string }).state === 'offline', 10_000, 'the last boot offline at HQ');
    const { stdout } = await run(process.execPath, [GATEWAY_BIN, 'outbox', 'export', '--config', configFile], { maxBuffer: 64 * 1024 * 1024 });
    const exported = stdout.split('\n').filter(Boolean).map((l) => JSON.parse(l) as BatchRecord);
    const atHq = hqSim.records('test-store');
    const bySeq = new Map<number, BatchRecord>();
    for (const r of [...atHq, ...exported]) bySeq.set(r.seq, r);
    // Every seq the gateway ever committed is in one of the two (raw, compacted or exact).
    const outbox = new OutboxStore(path.join(opts.dataDir, 'outbox.db'), { readonly: true });
    await outbox.start();
    const lastSeq = await outbox.lastSeq();
    await outbox.stop();
    const covered = new Set<number>();
    for (const r of bySeq.values()) for (let s = r.seqFrom ?? r.seq; s <= r.seq; s++) covered.add(s);
    const holes = Array.from({ length: lastSeq }, (_, i) => i + 1).filter((s) => !covered.has(s));
    expect(holes, 'seqs neither exported nor at HQ').toEqual([]);
    expect(atHq.some((r) => r.kind === 'kiosk' && r.type === 'transaction'), 'sales delivered to HQ (and deleted from the outbox)').toBe(true);
    expect(atHq.some((r) => r.kind === 'footfall'), 'door counts compacted and delivered to HQ').toBe(true);

    const expected = recount([...bySeq.values()]);
    expect(expected.has(today.day), `records of ${today.day}`).toBe(true);
    const day = expected.get(today.day)!;
    expect(sum(day).transactions, 'sales in the scripted day').toBeGreaterThan(3);
    expect(sum(day).repeatTransactions, 'repeat member sales in the scripted day').toBeGreaterThan(0);
    expect({ log, totals: pick(today.totals) }).toEqual({ log, totals: sum(day) });
    expect(today.hours.map(pick)).toEqual(day);
    for (const [d, hours] of expected) {
      expect([today.day, yesterday.day], `records of ${d}`).toContain(d);
      expect((d === today.day ? today : yesterday).hours.map(pick), d).toEqual(hours);
    }
  });
});
