/**
 * Shared parts of the kiosk sale crash suites: one gateway life at a time (a child
 * process that may halt itself at a named sale step, STOREGW_TEST_HALT_AT), kiosk k1's scanner,
 * its payment terminal (the simulator, one instance kept across the gateway's restarts, as a real
 * terminal keeps what it approved) and its page (a WebSocket), HQ's ingest, and the count of
 * sales and payment results over HQ's copy plus what is left in the outbox.
 */
import path from 'node:path';
import WebSocket from 'ws';
import { expect } from 'vitest';
import { startMosquitto, type Mosquitto } from '../helpers/mosquitto.js';
import { DEFAULT_DEVICES, spawnGateway, TEST_SECRET, writeConfigFile, type ConfigOptions, type GatewayProcess, type RunningGateway } from '../helpers/gatewayHarness.js';
import { tempDir } from '../helpers/tmp.js';
import { createHqSigner } from '../sim/hqSigner.js';
import { HqSim } from '../sim/hqSim.js';
import { PaymentSim } from '../sim/paymentSim.js';
import { G, KIOSK_DEVICES, kioskExtra, recordsEverywhere, seedCatalog, Peripherals, TOKENS } from './kioskFixture.js';

export const STEPS = ['scan', 'paySent', 'approved', 'recorded', 'forwarded', 'sessionSaved', 'thankYou'] as const;
export type Step = (typeof STEPS)[number];

export const signer = createHqSigner({ kid: 'hq-sale-crash' });
let tmp: ReturnType<typeof tempDir>;
let hq: Mosquitto;
let hqSim: HqSim;
let opts: ConfigOptions;
let configFile: string;
/** Kiosk k1's payment terminal. */
export let terminal: PaymentSim;

/** HQ, the catalog (and what `seed` adds through the same in-process gateway), the config file and the terminal (call in beforeAll). */
export async function setUpStore(seed?: (gw: RunningGateway, hqUrl: string) => Promise<void>): Promise<void> {
  tmp = tempDir('sgw-sale-crash-');
  hq = await startMosquitto();
  hqSim = new HqSim({ url: hq.url });
  await hqSim.start();
  opts = { dataDir: path.join(tmp.dir, 'data'), devices: [...DEFAULT_DEVICES, ...KIOSK_DEVICES], extra: await kioskExtra(hq.url, signer.publicKeyPem, signer.kid) };
  // The catalog once, in-process; the child finds it in prices.db.
  await seedCatalog(opts, hq.url, signer, undefined, seed && ((gw) => seed(gw, hq.url)));
  configFile = await writeConfigFile(tmp.dir, opts);
  terminal = new PaymentSim({ url: 'mqtt://127.0.0.1:1', id: 'pay-1', password: TEST_SECRET });
}

export async function tearDownStore(): Promise<void> {
  await terminal?.stop();
  await hqSim?.stop();
  await hq?.stop();
  tmp?.remove();
}

/** One life of the gateway with the kiosk k1's scanner, its terminal and its page (a WebSocket). */
export class Life {
  private constructor(
    readonly child: GatewayProcess,
    readonly dev: Peripherals,
    readonly page: Page,
  ) {}

  static async start(halt?: string): Promise<Life> {
    const child = await spawnGateway(configFile, halt ? { STOREGW_TEST_HALT_AT: halt } : {});
    const url = `mqtt://127.0.0.1:${child.mqttPort}`;
    const dev = await Peripherals.connect(url, KIOSK_DEVICES.filter((d) => d.id === 'sc-1'));
    terminal.url = url;
    await terminal.start();
    const page = await Page.open(`http://127.0.0.1:${child.httpPort}`);
    return new Life(child, dev, page);
  }

  /**
   * A sale: scan when the cart is empty, pay, until the kiosk shows "thank you"; resolves with that
   * session's id. A kiosk already on "thank you" counts unless `fresh` (then the next customer starts).
   */
  async sell(fresh = true): Promise<string> {
    const first = await this.page.next((m) => m.type === 'cart');
    if (first.phase === 'done' && !fresh) return first.sessionId;
    if (first.phase === 'done' || first.phase === 'cancelled') {
      this.page.send({ type: 'cancel' }); // "next customer"
      await this.page.next((m) => m.type === 'cart' && m.phase === 'idle');
    }
    let paid: number | null = null;
    for (;;) {
      const v = await this.page.next((m) => m.type === 'cart' && (m.phase === 'done' || ((m.phase === 'idle' || m.phase === 'shopping') && m.payment === null && m.requests.length === 0 && m.version !== paid)));
      if (v.phase === 'done') return v.sessionId;
      if (v.lines.length === 0) {
        await this.dev.scan('sc-1', G.milk);
        await this.page.next((m) => m.type === 'cart' && m.lines.length > 0);
        continue;
      }
      paid = v.version; // pay once per cart version: a declined or cancelled payment shows a new one
      this.page.send({ type: 'pay' });
    }
  }

  /** Resolves once the gateway logged that it stopped itself at its halt step. */
  halted(): Promise<void> {
    return new Promise((resolve) => {
      const seen = () => this.child.output.some((l) => l.includes('"test halt: stopped at a sale step"'));
      if (seen()) return resolve();
      const on = () => {
        if (!seen()) return;
        this.child.proc.stdout!.off('data', on);
        resolve();
      };
      this.child.proc.stdout!.on('data', on);
    });
  }

  async kill(): Promise<void> {
    await this.child.kill('SIGKILL');
    await this.end();
  }

  async stop(): Promise<void> {
    await this.end();
    await this.child.kill('SIGTERM');
  }

  private async end(): Promise<void> {
    this.page.close();
    await this.dev.close().catch(() => undefined);
    await terminal.stop();
  }
}

/** The kiosk page's socket: hello with k1's token, then every cart view it is sent. */
export class Page {
  private readonly msgs: any[] = [];
  private readonly waiters: { pred: (m: any) => boolean; resolve: (m: any) => void; reject: (e: Error) => void }[] = [];
  private constructor(private readonly ws: WebSocket) {
    ws.on('close', () => {
      for (const w of this.waiters.splice(0)) w.reject(new Error('the page lost its gateway'));
    });
    ws.on('message', (d) => {
      const m = JSON.parse(String(d));
      this.msgs.push(m);
      for (const w of this.waiters.splice(0)) if (w.pred(m)) w.resolve(m);
        else this.waiters.push(w);
    });
    ws.on('error', () => undefined);
  }

  static async open(base: string): Promise<Page> {
    const ws = new WebSocket(`${base.replace('http', 'ws')}/ws/kiosk`, { origin: base });
    await new Promise((r) => ws.once('open', r));
    const p = new Page(ws);
    p.send({ type: 'hello', kioskId: 'k1', token: TOKENS.k1 });
    await p.next((m) => m.type === 'welcome');
    return p;
  }

  send(m: object): void {
    this.ws.send(JSON.stringify(m));
  }

  /** The latest cart (or welcome) if it matches, else the next message that does. */
  next(pred: (m: any) => boolean): Promise<any> {
    const last = [...this.msgs].reverse().find((m) => m.type === 'cart' || m.type === 'welcome');
    this.msgs.splice(0, this.msgs.length, ...(last ? [last] : []));
    if (last && pred(last)) return Promise.resolve(last);
    return new Promise((resolve, reject) => this.waiters.push({ pred, resolve, reject }));
  }

  close(): void {
    this.ws.terminate();
  }
}

/**
 * Kills the gateway the `nth` time a sale reaches `step`, restarts it, and resolves with the
 * session the restarted kiosk brings to "thank you" (the one in progress, or a new sale).
 */
export async function crashAt(step: Step, nth = 1): Promise<string> {
  const life = await Life.start(`${step}:${nth}`);
  const halted = life.halted();
  // Sell until the halt: the sale that reaches the step the nth time never finishes in this life.
  const selling = (async () => {
    for (let i = 0; i < nth; i++) await life.sell();
  })().catch(() => undefined);
  await halted;
  await life.kill();
  await selling.catch(() => undefined);
  const after = await Life.start();
  const done = await after.sell(false); // not stuck: the restarted kiosk reaches "done"
  await after.stop();
  return done;
}

export function countRecords() {
  return recordsEverywhere(opts.dataDir, hqSim);
}

export async function expectExactSales(): Promise<void> {
  const recs = await countRecords();
  const sales = recs.filter((r) => r.kind === 'kiosk' && r.type === 'transaction');
  const saleRequests = sales.map((r) => (r.data.payment as { requestId: string }).requestId);
  const approved = terminal.charges.map((c) => c.requestId).filter((id) => terminal.outcome(id)?.status === 'approved');
  // Exactly one sale per approved payment, none without one, each at the charged amount.
  expect(saleRequests.slice().sort()).toEqual(approved.slice().sort());
  expect(new Set(saleRequests).size).toBe(saleRequests.length);
  for (const s of sales) expect((s.data.payment as { amount: number }).amount).toBe(s.data.total);
  // No payment request has two result records (no re-sent charge or repeated question answered twice).
  const results = new Map<string, number>();
  for (const r of recs.filter((x) => x.kind === 'payment' && x.type === 'result')) results.set(String(r.data.requestId), (results.get(String(r.data.requestId)) ?? 0) + 1);
  expect([...results.entries()].filter(([, n]) => n > 1)).toEqual([]);
}
