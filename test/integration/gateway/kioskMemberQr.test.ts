/**
 * The member QR through the real gateway process: the reference member phone's QR scanned on the
 * kiosks' scanners (MQTT, as the bridge publishes it), carts read from the kiosk WebSocket.
 * - a valid QR makes the member known on the cart and prices the cart at the member's tier;
 * - the same QR again is refused as replayed, at the same kiosk and at the other one, and again
 *   after the gateway was SIGKILLed and restarted (kiosk.db keeps the use);
 * - an expired or revoked credential is refused with its reason, counted and logged without the
 *   member id or the QR text;
 * - the KPI counters keep the member as an HMAC under the store's key file, not a plain hash.
 * Every wait ends on a cart view (or the process's exit).
 */
import { createHash, createHmac } from 'node:crypto';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import WebSocket from 'ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { DEFAULT_DEVICES, metric, spawnGateway, TEST_SECRET, writeConfigFile, type GatewayProcess } from '../../helpers/gatewayHarness.js';
import { startMosquitto, type Mosquitto } from '../../helpers/mosquitto.js';
import { tempDir } from '../../helpers/tmp.js';
import { createHqSigner } from '../../sim/hqSigner.js';
import { MemberPhone } from '../../sim/memberPhone.js';
import { PaymentSim } from '../../sim/paymentSim.js';
import { openDb } from '../../../gateway/db/sqlite.js';
import { G, KIOSK_DEVICES, kioskExtra, MEMBER, Peripherals, seedCatalog, TOKENS } from '../../e2e/kioskFixture.js';

const signer = createHqSigner({ kid: 'hq-member' });
const nowS = () => Math.floor(Date.now() / 1000);
const phone = new MemberPhone(signer, { memberId: MEMBER, tier: 'gold', expires: nowS() + 30 * 86_400 });
const expired = new MemberPhone(signer, { memberId: MEMBER, tier: 'gold', expires: nowS() - 60 });
const REVOKED_CRED = 'baddecaf00000001';
const lost = new MemberPhone(signer, { memberId: 'M-2002', tier: 'gold', expires: nowS() + 30 * 86_400, credId: REVOKED_CRED });
const tmp = tempDir('sgw-kiosk-member-');
const dataDir = path.join(tmp.dir, 'data');
let hq: Mosquitto;
let configFile: string;
let gw: GatewayProcess | null = null;
let dev: Peripherals;
let pay: PaymentSim;
let k1: Kiosk;
let k2: Kiosk;

interface Cart {
  type: 'cart';
  version: number;
  phase: string;
  memberCode: string | null;
  lines: { gtin: string; price: number }[];
  total: number;
  notice: { code: string; detail?: string } | null;
}

/** A kiosk page's socket: every cart the gateway pushes, and a wait for one that matches. */
class Kiosk {
  readonly carts: Cart[] = [];
  private waiters: { pred: (c: Cart) => boolean; resolve: (c: Cart) => void }[] = [];
  private constructor(readonly ws: WebSocket) {
    ws.on('message', (d) => {
      const m = JSON.parse(String(d)) as Cart;
      if (m.type !== 'cart') return;
      this.carts.push(m);
      this.waiters = this.waiters.filter((w) => (w.pred(m) ? (w.resolve(m), false) : true));
    });
  }
  static async open(httpPort: number, kioskId: 'k1' | 'k2'): Promise<Kiosk> {
    const base = `http://127.0.0.1:${httpPort}`;
    const ws = new WebSocket(`ws://127.0.0.1:${httpPort}/ws/kiosk`, { origin: base });
    await new Promise((r, j) => (ws.once('open', r), ws.once('error', j)));
    const kiosk = new Kiosk(ws);
    const first = kiosk.next(() => true);
    ws.send(JSON.stringify({ type: 'hello', kioskId, token: TOKENS[kioskId] }));
    await first;
    return kiosk;
  }
  get last(): Cart {
    return this.carts[this.carts.length - 1];
  }
  /** The first cart after the current one that matches; fails after 10 s with the last cart. */
  after(pred: (c: Cart) => boolean, what: string): Promise<Cart> {
    const v = this.last.version;
    return this.next((c) => c.version > v && pred(c), what);
  }
  next(pred: (c: Cart) => boolean, what = 'a cart'): Promise<Cart> {
    if (this.carts.length > 0 && pred(this.last)) return Promise.resolve(this.last);
    return new Promise((resolve, reject) => {
      const t = setTimeout(() => reject(new Error(`timed out waiting for ${what}; last cart: ${JSON.stringify(this.last)}`)), 10_000);
      this.waiters.push({ pred, resolve: (c) => (clearTimeout(t), resolve(c)) });
    });
  }
}

async function start(): Promise<void> {
  gw = await spawnGateway(configFile);
  const url = `mqtt://127.0.0.1:${gw.mqttPort}`;
  dev = await Peripherals.connect(url, KIOSK_DEVICES.filter((d) => d.id === 'sc-1' || d.id === 'sc-2'));
  pay = new PaymentSim({ url, id: 'pay-1', password: TEST_SECRET });
  await pay.start();
  k1 = await Kiosk.open(gw.httpPort, 'k1');
  k2 = await Kiosk.open(gw.httpPort, 'k2');
}

async function stop(): Promise<void> {
  k1?.ws.close();
  k2?.ws.close();
  await dev?.close().catch(() => undefined);
  await pay?.stop().catch(() => undefined);
  await gw?.kill('SIGKILL');
}

const refused = (reason: string) => metric(`http://127.0.0.1:${gw!.httpPort}`, `storegw_member_qr_refused_total{reason="${reason}"}`);

beforeAll(async () => {
  hq = await startMosquitto();
  const opts = { dataDir, devices: [...DEFAULT_DEVICES, ...KIOSK_DEVICES], extra: await kioskExtra(hq.url, signer.publicKeyPem, signer.kid) };
  await seedCatalog(opts, hq.url, signer, {
    mode: 'snapshot',
    members: [
      { code: MEMBER, tier: 'gold' },
      { code: 'M-2002', tier: 'gold', revoked: [REVOKED_CRED] },
    ],
  });
  configFile = await writeConfigFile(tmp.dir, opts);
  await start();
});

afterAll(async () => {
  await stop();
  await hq?.stop();
  tmp.remove();
});

describe('the member QR through the real gateway', () => {
  const qr = phone.present();

  it('a valid QR makes the member known on the cart, at the member price', async () => {
    await dev.scan('sc-1', G.milk);
    await k1.next((c) => c.lines.length === 1, 'the milk line');
    expect(k1.last.lines[0].price).toBe(129);
    await dev.scan('sc-1', qr);
    const c = await k1.next((x) => x.memberCode === MEMBER, 'the member on the cart');
    expect(c.notice).toEqual({ code: 'memberOk' });
    expect(c.lines).toEqual([expect.objectContaining({ gtin: G.milk, price: 99 })]);
    // Never read as a product code.
    expect(c.lines).toHaveLength(1);
  });

  it('the same QR again is refused as replayed at this kiosk and at the other', async () => {
    await dev.scan('sc-1', qr);
    const again = await k1.after((x) => x.notice !== null && x.notice.code !== 'memberOk', 'a refusal at k1');
    expect(again.notice?.code).toBe('memberQrReplayed');
    await dev.scan('sc-2', qr);
    const other = await k2.after((x) => x.notice !== null, 'a refusal at k2');
    expect(other.notice?.code).toBe('memberQrReplayed');
    expect(other.memberCode).toBeNull();
    expect(await refused('replayed')).toBe(2);
  });

  it('an expired credential and a revoked one are refused by name, counted, and logged without member ids', async () => {
    await dev.scan('sc-2', expired.present());
    expect((await k2.after((x) => x.notice?.code === 'memberQrExpired', 'expired')).memberCode).toBeNull();
    await dev.scan('sc-2', lost.present());
    expect((await k2.after((x) => x.notice?.code === 'memberQrRevoked', 'revoked')).memberCode).toBeNull();
    expect(await refused('expired')).toBe(1);
    expect(await refused('revoked')).toBe(1);
    const logged = gw!.output.filter((l) => l.includes('member QR refused'));
    expect(logged.map((l) => (JSON.parse(l) as { reason: string }).reason)).toEqual(['replayed', 'replayed', 'expired', 'revoked']);
    for (const l of logged) {
      expect(l).not.toContain(MEMBER);
      expect(l).not.toContain('M-2002');
      expect(l).not.toContain('MQ1:');
    }
  });

  it('mutated and random member QR texts from a scanner are each refused by name; the gateway keeps going (seeded)', async () => {
    const good = Buffer.from(phone.present().slice(4), 'base64url');
    const text = fc.oneof(
      fc.tuple(fc.integer({ min: 0, max: good.length - 1 }), fc.integer({ min: 1, max: 255 })).map(([at, xor]) => {
        const b = Buffer.from(good);
        b[at] ^= xor;
        return 'MQ1:' + b.toString('base64url');
      }),
      fc.integer({ min: 0, max: good.length - 1 }).map((cut) => 'MQ1:' + good.subarray(0, cut).toString('base64url')),
      fc.stringMatching(/^[A-Za-z0-9_-]{0,300}$/).map((s) => 'MQ1:' + s),
    );
    const named = /^memberQr(Malformed|UnknownKey|BadSignature|Expired|Revoked|WrongStore|OutsideWindow)$/;
    await fc.assert(
      fc.asyncProperty(text, async (t) => {
        const v = k2.last.version;
        await dev.scan('sc-2', t);
        const c = await k2.next((x) => x.version > v, 'the answer to a scanned member QR');
        expect(c.notice?.code).toMatch(named);
        expect(c.memberCode).toBeNull();
        expect(c.lines).toEqual([]);
      }),
      { seed: 1807, numRuns: 25 },
    );
  });

  it('after a SIGKILL and a restart the used QR is still refused; a fresh one from the same phone is accepted (with a symbology identifier)', async () => {
    await stop();
    await start();
    await dev.scan('sc-2', qr);
    expect((await k2.after((x) => x.notice !== null, 'a refusal after the restart')).notice?.code).toBe('memberQrReplayed');
    // This scanner sends the QR Code symbology identifier in front (ISO/IEC 15424 `]Q1`).
    await dev.scan('sc-2', `]Q1${phone.present()}`);
    expect((await k2.after((x) => x.memberCode === MEMBER, 'the member at k2')).notice).toEqual({ code: 'memberOk' });
  });

  it("a member's sale is kept in the KPIs as an HMAC under the store's key, not a plain SHA-256", async () => {
    expect(k1.last.memberCode).toBe(MEMBER); // the session came back from kiosk.db
    k1.ws.send(JSON.stringify({ type: 'pay' }));
    await k1.next((x) => x.phase === 'done', 'the thank-you screen');
    await stop();
    gw = null;
    const key = readFileSync(path.join(dataDir, 'member-hash.key'));
    const unkeyed = createHash('sha256').update(`storegw-member:${MEMBER}`).digest('hex');
    const db = await openDb(path.join(dataDir, 'outbox.db'), { readonly: true });
    const hashes = (await db.all<{ hash: string }>('SELECT hash FROM kpi_member')).map((r) => r.hash);
    await db.close();
    expect(hashes).toEqual([createHmac('sha256', key).update(unkeyed).digest('hex')]);
  });
});
