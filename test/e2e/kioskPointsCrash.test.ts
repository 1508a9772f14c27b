/**
 * A sale that spends points, the gateway killed with SIGKILL at the step boundaries where its points
 * are in doubt: the sale forwarded to the outbox but its points records not yet written, and a
 * pointsChange record written but not yet marked in the ledger. (The sale's own steps, and that
 * the points rows commit with the sale, are the sale crash suite's and the ledger's.) The real
 * gateway process halts itself at the named step
 * (STOREGW_TEST_HALT_AT) and the test SIGKILLs it there. HQ is unreachable throughout (the
 * loyalty feed came before), so every record stays in the outbox where the test reads it.
 *
 * After the run: every approved payment has one sale; each sale spent its 100 points once and
 * earned once (one ledger row per kind, one pointsChange entry id per row, a record repeated after a
 * crash carries the same entry id and data); and the kiosk offers exactly the starting balance less
 * what was spent plus what was earned.
 */
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import Database from 'better-sqlite3';
import { startMosquitto } from '../helpers/mosquitto.js';
import { DEFAULT_DEVICES, spawnGateway, startGateway, TEST_SECRET, writeConfigFile, type ConfigOptions, type GatewayProcess } from '../helpers/gatewayHarness.js';
import { tempDir } from '../helpers/tmp.js';
import { createHqSigner } from '../sim/hqSigner.js';
import { connectHqFeeds, until } from '../sim/hqFeeds.js';
import { PaymentSim } from '../sim/paymentSim.js';
import { OutboxStore } from '../../gateway/outbox/store.js';
import { CATALOG, G, KIOSK_DEVICES, kioskExtra, MEMBER, MEMBERS, Peripherals, PRICES } from './kioskFixture.js';
import { Page } from './saleCrashFixture.js';

const STEPS = ['forwarded', 'pointsRecorded'] as const;
const START = 5000;
const SPEND = 100;
const signer = createHqSigner({ kid: 'hq-points-crash' });
const tmp = tempDir('sgw-points-crash-');
let opts: ConfigOptions;
let configFile: string;
const terminal = new PaymentSim({ url: 'mqtt://127.0.0.1:1', id: 'pay-1', password: TEST_SECRET });

beforeAll(async () => {
  const hq = await startMosquitto({ persistence: false });
  opts = { dataDir: path.join(tmp.dir, 'data'), devices: [...DEFAULT_DEVICES, ...KIOSK_DEVICES], extra: await kioskExtra(hq.url, signer.publicKeyPem, signer.kid) };
  // The feeds once, in-process; the child processes find them in prices.db and kiosk.db.
  const seed = await startGateway({ ...opts, mqttPort: 0, httpPort: 0 });
  const feeds = await connectHqFeeds(hq.url, 'test-store', signer);
  await feeds.publish('catalog', 'store', 1, CATALOG);
  await feeds.publish('prices', 'store', 1, PRICES);
  await feeds.publish('members', 'store', 1, MEMBERS);
  await feeds.publish('loyalty', 'store', 1, { mode: 'snapshot', program: 'club', earn: { pointsPerUnit: 1, perMinor: 100 }, spend: { valuePoints: 1, valueMinor: 1, minPoints: 100, maxShareBp: 5000 }, balances: [{ memberId: MEMBER, points: START, asOf: new Date(Date.now() - 60_000).toISOString() }] });
  const p = seed.gw.prices!;
  await until(p.changes, 'change', () => p.sync().feeds.applied >= 3 && p.currentCatalog().members.has(MEMBER), 10_000, 'price feeds applied');
  await until(seed.gw.kiosk.changes, 'loyalty', () => (seed.gw.kiosk.points.loyaltyFeed?.applied ?? 0) >= 1, 10_000, 'loyalty applied');
  await feeds.close();
  await seed.stop();
  await hq.stop(); // HQ unreachable from here on
  configFile = await writeConfigFile(tmp.dir, opts);
}, 60_000);

afterAll(async () => {
  await terminal.stop();
  tmp.remove();
});

interface Life {
  child: GatewayProcess;
  dev: Peripherals;
  page: Page;
}

async function life(halt?: string): Promise<Life> {
  const child = await spawnGateway(configFile, halt ? { STOREGW_TEST_HALT_AT: halt } : {});
  const url = `mqtt://127.0.0.1:${child.mqttPort}`;
  const dev = await Peripherals.connect(url, KIOSK_DEVICES.filter((d) => d.id === 'sc-1'));
  terminal.url = url;
  await terminal.start();
  const page = await Page.open(`http://127.0.0.1:${child.httpPort}`);
  return { child, dev, page };
}

async function end(l: Life, signal: NodeJS.Signals): Promise<void> {
  if (signal === 'SIGKILL') await l.child.kill('SIGKILL');
  l.page.close();
  await l.dev.close().catch(() => undefined);
  await terminal.stop();
  if (signal === 'SIGTERM') await l.child.kill('SIGTERM');
}

function halted(child: GatewayProcess): Promise<void> {
  return new Promise((resolve) => {
    const seen = () => child.output.some((line) => line.includes('"test halt: stopped at a sale step"'));
    if (seen()) return resolve();
    const on = () => {
      if (!seen()) return;
      child.proc.stdout!.off('data', on);
      resolve();
    };
    child.proc.stdout!.on('data', on);
  });
}

/** A fresh cart at k1 with the member and a shirt, spending SPEND points. */
async function cartWithPoints(page: Page): Promise<void> {
  const first = await page.next((m) => m.type === 'cart');
  if (first.phase === 'done' || first.phase === 'cancelled') {
    page.send({ type: 'cancel' });
    await page.next((m) => m.type === 'cart' && m.phase === 'idle');
  }
  page.send({ type: 'member', code: MEMBER });
  await page.next((m) => m.type === 'cart' && m.points !== undefined);
}

/** Pays (again, if a payment was cancelled) until the kiosk says "thank you". */
async function finish(l: Life): Promise<void> {
  let paid: number | null = null;
  for (;;) {
    const v = await l.page.next((m) => m.type === 'cart' && (m.phase === 'done' || ((m.phase === 'shopping' || m.phase === 'idle') && m.payment === null && m.requests.length === 0 && m.version !== paid)));
    if (v.phase === 'done') return;
    if (v.lines.length === 0) {
      await l.dev.scan('sc-1', G.shirt);
      await l.page.next((m) => m.type === 'cart' && m.lines.length > 0);
      continue;
    }
    if (v.points?.spent !== SPEND) {
      l.page.send({ type: 'spendPoints', points: SPEND });
      await l.page.next((m) => m.type === 'cart' && m.points?.spent === SPEND);
      continue;
    }
    paid = v.version;
    l.page.send({ type: 'pay' });
  }
}

describe('a sale spending points, killed at every step boundary', () => {
  for (const [i, step] of STEPS.entries()) {
    it(`killed at "${step}": the restarted kiosk finishes the sale, its points counted once`, async () => {
      const l = await life(`${step}:1`);
      const stop = halted(l.child);
      await cartWithPoints(l.page);
      const selling = finish(l).catch(() => undefined);
      await stop;
      await end(l, 'SIGKILL');
      await selling;
      const after = await life();
      try {
        await finish(after);
        if (i === STEPS.length - 1) await expectExactPoints(after);
      } finally {
        await end(after, 'SIGTERM');
      }
    });
  }
});

/** Every sale spent its points once and earned once; the balance the kiosk offers is exact. */
async function expectExactPoints(l: Life): Promise<void> {
  const outbox = new OutboxStore(path.join(opts.dataDir!, 'outbox.db'), { readonly: true });
  await outbox.start();
  const recs = (await outbox.read(0, 1_000_000)).filter((r) => r.kind === 'kiosk');
  await outbox.stop();
  const approved = terminal.charges.map((c) => c.requestId).filter((id) => terminal.outcome(id)?.status === 'approved');
  const sales = recs.filter((r) => r.type === 'transaction');
  expect(sales.map((s) => (s.data.payment as { requestId: string }).requestId).sort()).toEqual(approved.slice().sort());
  expect(sales).toHaveLength(STEPS.length);

  const db = new Database(path.join(opts.dataDir!, 'kiosk.db'), { readonly: true });
  const ledger = db.prepare('SELECT transaction_id AS tx, kind, delta, seq FROM points_ledger ORDER BY tx, kind').all() as { tx: string; kind: string; delta: number; seq: number | null }[];
  db.close();
  let earned = 0;
  for (const s of sales) {
    const pts = s.data.points as { spent: number; earned: number };
    expect(pts.spent).toBe(SPEND);
    expect(ledger.filter((r) => r.tx === s.data.transactionId).map((r) => [r.kind, r.delta])).toEqual([['earn', pts.earned], ['spend', -SPEND]]);
    earned += pts.earned;
  }
  expect(ledger).toHaveLength(2 * sales.length);
  expect(ledger.every((r) => r.seq !== null)).toBe(true);
  // One entry id per ledger row; a record sent again after a crash is the same change.
  const byEntry = new Map<string, unknown>();
  for (const c of recs.filter((r) => r.type === 'pointsChange')) {
    const { ts: _ts, ...rest } = c.data as Record<string, unknown>;
    if (byEntry.has(String(c.data.entryId))) expect(rest).toEqual(byEntry.get(String(c.data.entryId)));
    byEntry.set(String(c.data.entryId), rest);
  }
  expect([...byEntry.keys()].sort()).toEqual(ledger.map((r) => `test-store:${r.tx}:${r.kind}`).sort());

  await cartWithPoints(l.page);
  const v = await l.page.next((m) => m.type === 'cart' && m.points !== undefined);
  expect(v.points.available).toBe(START - SPEND * sales.length + earned);
}
