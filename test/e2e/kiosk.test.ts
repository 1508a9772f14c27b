/**
 * Self-checkout end to end: real Chromium on the kiosk page, a real gateway
 * (broker, SQLite), real Mosquitto as HQ with signed feeds, MQTT peripherals and a payment terminal
 * simulator. Each screen is saved under test-artifacts/screenshots/.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser, Page } from 'playwright-core';
import WebSocket from 'ws';
import { startMosquitto, type Mosquitto } from '../helpers/mosquitto.js';
import { DEFAULT_DEVICES, startGateway, TEST_PASSWORDS, TEST_SECRET, type RunningGateway } from '../helpers/gatewayHarness.js';
import { launchBrowser, screenshot } from '../helpers/browser.js';
import { createHqSigner } from '../sim/hqSigner.js';
import { connectHqFeeds, login, until } from '../sim/hqFeeds.js';
import { PaymentSim } from '../sim/paymentSim.js';
import { OutboxStore } from '../../gateway/outbox/store.js';
import type { CartView } from '../../gateway/protocol/schemas/kiosk.js';
import { minorToDecimal } from '../../gateway/protocol/currency.js';
import { CATALOG, CHEESE_CODE, EPC_6789, EPC_6790, G, KIOSK_DEVICES, kioskExtra, MEMBER, MEMBERS, Peripherals, PRICES, TOKENS } from './kioskFixture.js';

const signer = createHqSigner({ kid: 'hq-kiosk' });
let hq: Mosquitto;
let gw: RunningGateway;
let browser: Browser;
let dev: Peripherals;
let pay1: PaymentSim;
let pay2: PaymentSim;
let attendantCookie: string;
const lights: string[] = [];

const view = (k: string) => gw.gw.kiosk.view(k)!;
const waitView = (k: string, pred: (v: CartView) => boolean, what: string) => until(gw.gw.kiosk.changes, 'view', () => pred(view(k)), 10_000, what, () => ({ phase: view(k).phase, lines: view(k).lines.length, notice: view(k).notice, requests: view(k).requests }));

/** The installed fonts Chromium used to draw the text of `selector` (DevTools CSS.getPlatformFontsForNode). */
async function platformFonts(page: Page, selector: string): Promise<{ familyName: string; glyphCount: number }[]> {
  const cdp = await page.context().newCDPSession(page);
  await cdp.send('DOM.enable');
  await cdp.send('CSS.enable');
  const { root } = await cdp.send('DOM.getDocument', { depth: -1 });
  const { nodeId } = await cdp.send('DOM.querySelector', { nodeId: root.nodeId, selector: `${selector} span` });
  const { fonts } = await cdp.send('CSS.getPlatformFontsForNode', { nodeId });
  await cdp.detach();
  return fonts;
}

async function openKiosk(k: 'k1' | 'k2', size = { width: 1280, height: 800 }): Promise<Page> {
  const page = await browser.newPage({ viewport: size });
  await page.goto(`${gw.httpUrl}/kiosk/#k=${k}&t=${TOKENS[k]}`);
  await page.locator('[data-conn="online"]').waitFor();
  return page;
}

// Every committed kiosk record, seen as the gateway commits it (the uplink may already have moved
// older ones from the outbox to HQ, so the outbox alone is not the place to count them).
const kioskRecords: { type: string; deviceId: string; cls: string; data: Record<string, unknown> }[] = [];
function transactions(): Record<string, unknown>[] {
  return kioskRecords.filter((r) => r.type === 'transaction').map((r) => ({ ...r.data, _deviceId: r.deviceId, _cls: r.cls }));
}

beforeAll(async () => {
  // Chromium starts while the store sets up: nothing below needs it before the end.
  const launching = launchBrowser().then((b) => (browser = b));
  hq = await startMosquitto();
  gw = await startGateway({ devices: [...DEFAULT_DEVICES, ...KIOSK_DEVICES], extra: await kioskExtra(hq.url, signer.publicKeyPem, signer.kid) });
  gw.gw.onEvent((e) => {
    if (e.kind === 'kiosk') kioskRecords.push({ type: e.type, deviceId: e.deviceId, cls: e.cls, data: JSON.parse(e.data) as Record<string, unknown> });
  });
  const feeds = await connectHqFeeds(hq.url, 'test-store', signer);
  const prices = gw.gw.prices!;
  const applied = () => prices.sync().feeds.applied;
  await feeds.publish('catalog', 'store', 1, CATALOG);
  await feeds.publish('prices', 'store', 1, PRICES);
  await feeds.publish('members', 'store', 1, MEMBERS);
  await until(prices.changes, 'change', () => applied() >= 3 && prices.priceAt(G.milk) !== null && prices.currentCatalog().members.size === 1, 10_000, 'feeds applied', () => prices.sync().feeds);
  await feeds.close();
  dev = await Peripherals.connect(gw.mqttUrl, KIOSK_DEVICES);
  await dev.subscribe('lt-1', 'store/v1/dev/light/lt-1/cmd/#', (_t, p) => lights.push((JSON.parse(p) as { color: string }).color));
  pay1 = new PaymentSim({ url: gw.mqttUrl, id: 'pay-1', password: TEST_SECRET });
  pay2 = new PaymentSim({ url: gw.mqttUrl, id: 'pay-2', password: TEST_SECRET });
  await pay1.start();
  await pay2.start();
  await launching;
  attendantCookie = await login(gw.httpUrl, 'attendant', TEST_PASSWORDS.attendant);
});

afterAll(async () => {
  await browser?.close();
  await pay1?.stop();
  await pay2?.stop();
  await dev?.close();
  await gw?.stop();
  await hq?.stop();
});

describe('kiosk checkout in Chromium', () => {
  it('a whole purchase: scans, produce, variable-measure, RFID, age check by an attendant, member, paid → the exact record', async () => {
    const page = await openKiosk('k1');
    await screenshot(page, 'kiosk-01-welcome');
    await page.getByTestId('welcome').waitFor();

    await dev.scan('sc-1', G.milk);
    await dev.scan('sc-1', G.milk);
    await dev.scan('sc-1', G.bread);
    await page.locator('[data-testid="line"][data-gtin="' + G.bread + '"]').waitFor();
    expect(await page.getByTestId('qty').first().textContent()).toBe('2');

    // Produce: the lookup step, a stable weight from the produce scale, then the picture list.
    await page.getByTestId('produce-open').click();
    await dev.weight('ps-1', 1234, false);
    await dev.weight('ps-1', 1234, true);
    await page.getByTestId('produce-weight').filter({ hasText: '1.234 kg' }).waitFor();
    await screenshot(page, 'kiosk-02-produce');
    await page.getByTestId(`produce-${G.apples}`).click();
    await page.locator(`[data-testid="line"][data-gtin="${G.apples}"]`).waitFor();

    // Variable-measure (DE, weight embedded), RFID basket (one serial read twice).
    await dev.scan('sc-1', CHEESE_CODE);
    await dev.rfid('rf-1', EPC_6789);
    await dev.rfid('rf-1', EPC_6789);
    await dev.rfid('rf-1', EPC_6790);
    await waitView('k1', (v) => v.lines.find((l) => l.gtin === G.shirt)?.qty === 2, 'two shirts');

    // An unknown code: a clear message and a call for help.
    await dev.scan('sc-1', '4000000000000');
    await page.locator('[data-testid="notice"]').waitFor();
    expect(await page.getByTestId('notice').getAttribute('data-code')).toMatch(/badCode|unknownItem/);

    // Age-restricted: amber, payment refused until an attendant approves through the API.
    await dev.scan('sc-1', G.wine);
    await page.getByTestId('request-age').waitFor();
    await screenshot(page, 'kiosk-03-age-check');
    await page.getByTestId('pay').click();
    await page.locator('[data-testid="notice"][data-code="ageCheck"]').waitFor();
    const queue = (await (await fetch(`${gw.httpUrl}/api/attendant/queue`, { headers: { cookie: attendantCookie } })).json()) as { requests: { requestId: string; kioskId: string; kind: string }[] };
    const age = queue.requests.find((r) => r.kioskId === 'k1' && r.kind === 'age')!;
    expect(age).toBeDefined();
    const viewer = await login(gw.httpUrl, 'viewer', TEST_PASSWORDS.viewer);
    expect((await fetch(`${gw.httpUrl}/api/attendant/${age.requestId}/approve`, { method: 'POST', headers: { cookie: viewer } })).status).toBe(403);
    const ok = await fetch(`${gw.httpUrl}/api/attendant/${age.requestId}/approve`, { method: 'POST', headers: { cookie: attendantCookie } });
    expect(ok.status).toBe(200);
    await page.getByTestId('request-age').waitFor({ state: 'detached' });

    // Member: member prices and savings.
    await page.getByTestId('member-open').click();
    await page.getByTestId('member-input').fill(MEMBER);
    await page.getByTestId('member-input').press('Enter');
    // The screen shows the member masked (the last characters) with the tier.
    await page.getByTestId('member').filter({ hasText: '****001' }).waitFor();
    const v = view('k1');
    const milk = v.lines.find((l) => l.gtin === G.milk)!;
    expect(milk).toMatchObject({ qty: 2, unitPrice: 99, price: 198, saving: 60 });
    expect(v.lines.find((l) => l.gtin === G.apples)).toMatchObject({ grams: 1234, price: 369 });
    expect(v.lines.find((l) => l.gtin === G.cheese)).toMatchObject({ grams: 1250, price: 1863 });
    const expectedTotal = 198 + 250 + 369 + 1863 + 3000 + 899;
    expect(v.total).toBe(expectedTotal);
    expect(await page.getByTestId('total').textContent()).toContain(minorToDecimal(expectedTotal, 'EUR'));
    await screenshot(page, 'kiosk-04-cart');
    await page.getByTestId('lang').click();
    await page.locator('.k-app[lang="zh-CN"]').waitFor();
    // The shopper sees Chinese glyphs, not empty boxes: Chromium says which installed font drew the
    // pay button's text (`make deps` installs fonts-wqy-microhei; without a CJK font this fails).
    const fonts = await platformFonts(page, '[data-testid="pay"]');
    expect(fonts.some((f) => /WenQuanYi|Noto Sans CJK|Droid Sans Fallback/i.test(f.familyName) && f.glyphCount > 0), JSON.stringify(fonts)).toBe(true);
    await screenshot(page, 'kiosk-05-cart-zh');
    await page.getByTestId('lang').click();

    // Pay: the terminal approves; "thank you" only after the record is committed.
    await page.getByTestId('pay').click();
    await page.getByTestId('thanks').waitFor();
    await screenshot(page, 'kiosk-06-thanks');
    const txId = await page.getByTestId('transaction-id').textContent();
    const recs = transactions().filter((t) => t.transactionId === txId);
    expect(recs).toHaveLength(1);
    const rec = recs[0] as { _deviceId: string; _cls: string; total: number; subtotal: number; discounts: number; memberCode: string; lines: { gtin: string; qty: number; price: number; grams?: number; serials?: string[] }[]; payment: { amount: number; authCode: string }; attendant: { decision: string; by: string }[] };
    expect(rec._deviceId).toBe('k1');
    expect(rec._cls).toBe('exact');
    expect(rec.total).toBe(expectedTotal);
    expect(rec.subtotal - rec.discounts).toBe(expectedTotal);
    expect(rec.memberCode).toBe(MEMBER);
    expect(rec.payment.amount).toBe(expectedTotal);
    expect(rec.payment.authCode).toMatch(/^A\d+/);
    expect(rec.lines.map((l) => [l.gtin, l.qty, l.price])).toEqual([
      [G.milk, 2, 198],
      [G.bread, 1, 250],
      [G.apples, 1, 369],
      [G.cheese, 1, 1863],
      [G.shirt, 2, 3000],
      [G.wine, 1, 899],
    ]);
    expect(rec.lines.find((l) => l.gtin === G.shirt)!.serials).toEqual(['6789', '6790']);
    // VAT per rate, taken out of each rate's gross once: 7 % of 26.80 incl. = 1.75, 19 % of 38.99 incl. = 6.23.
    expect((rec as unknown as { vat: unknown }).vat).toEqual([
      { rateBp: 1900, gross: 3899, net: 3276, vat: 623 },
      { rateBp: 700, gross: 2680, net: 2505, vat: 175 },
    ]);
    expect(await page.locator('[data-testid="receipt-vat"]').allTextContents()).toEqual(['incl. VAT 19 %: €6.23 (net €32.76)', 'incl. VAT 7 %: €1.75 (net €25.05)']);
    expect(rec.attendant).toMatchObject([{ decision: 'approved', by: 'attendant' }]);
    expect(pay1.charges.at(-1)!.amount).toBe(expectedTotal);
    // The attendant's approval is an exact record too; the light went amber for the age check.
    const att = kioskRecords.filter((r) => r.type === 'attendant');
    expect(att.map((r) => r.data)).toContainEqual(expect.objectContaining({ requestId: age.requestId, kioskId: 'k1', decision: 'approved', by: 'attendant' }));
    expect(lights).toContain('amber');
    // Back to a new customer.
    await page.getByRole('button', { name: 'Done' }).click();
    await page.getByTestId('welcome').waitFor();
    await page.close();
  });

  it('payment declined: the cart stays and says so', async () => {
    const page = await openKiosk('k1', { width: 1024, height: 768 });
    pay1.mode = 'decline';
    await dev.scan('sc-1', G.bread);
    await page.locator('[data-testid="line"]').waitFor();
    await page.getByTestId('pay').click();
    await page.locator('[data-testid="notice"][data-code="payment_declined"]').waitFor();
    await screenshot(page, 'kiosk-07-declined-1024');
    expect(view('k1').phase).toBe('shopping');
    expect(view('k1').lines).toHaveLength(1);
    pay1.mode = 'approve';
    await page.getByTestId('cancel').click();
    await page.close();
    await waitView('k1', (v) => v.phase === 'cancelled', 'cancelled');
  });

  it('a bagging-area mismatch blocks and clears', async () => {
    const page = await openKiosk('k2', { width: 1920, height: 1080 });
    await dev.weight('bs-2', 0);
    await dev.scan('sc-2', G.milk);
    await page.locator('[data-testid="line"]').waitFor();
    await dev.weight('bs-2', 1035);
    await waitView('k2', (v) => v.bagging.state === 'ok' && v.lines.length === 1, 'milk bagged');
    await dev.weight('bs-2', 1735); // something unscanned
    await page.getByTestId('request-security').waitFor();
    expect(view('k2').phase).toBe('needsAttendant');
    await screenshot(page, 'kiosk-08-bagging-1920');
    await page.getByTestId('pay').click(); // the shopper is told why paying waits
    await page.locator('[data-testid="notice"][data-code="needsAttendant"]').waitFor();
    expect(view('k2').phase).toBe('needsAttendant');
    await dev.weight('bs-2', 1031); // taken out again
    await page.getByTestId('request-security').waitFor({ state: 'detached' });
    expect(view('k2').phase).toBe('shopping');
    // Again, then an attendant override clears it.
    await dev.weight('bs-2', 1500);
    await waitView('k2', (v) => v.requests.some((r) => r.kind === 'security'), 'security again');
    const id = view('k2').requests[0].requestId;
    expect((await fetch(`${gw.httpUrl}/api/attendant/${id}/approve`, { method: 'POST', headers: { cookie: attendantCookie } })).status).toBe(200);
    await waitView('k2', (v) => v.phase === 'shopping' && v.bagging.state === 'ok', 'override');
    await page.close();
  });
});

describe('tampering', () => {
  function kioskSocket(kioskId: string, token: string): Promise<{ ws: WebSocket; msgs: Record<string, unknown>[]; closed: Promise<number> }> {
    return new Promise((resolve, reject) => {
      const ws = new WebSocket(`${gw.httpUrl.replace('http', 'ws')}/ws/kiosk`);
      const msgs: Record<string, unknown>[] = [];
      const closed = new Promise<number>((r) => ws.on('close', (code) => r(code)));
      ws.on('message', (d) => msgs.push(JSON.parse(String(d)) as Record<string, unknown>));
      ws.on('open', () => {
        ws.send(JSON.stringify({ type: 'hello', kioskId, token }));
        resolve({ ws, msgs, closed });
      });
      ws.on('error', reject);
    });
  }

  it('a price or total sent over the WebSocket is ignored', async () => {
    const s = await kioskSocket('k2', TOKENS.k2);
    await until(s.ws, 'message', () => s.msgs.some((m) => m.type === 'cart'), 10_000, 'first view');
    const lineId = view('k2').lines[0].lineId;
    s.ws.send(JSON.stringify({ type: 'setQty', lineId, qty: 2, price: 1, unitPrice: 1, total: 1 }));
    await waitView('k2', (v) => v.lines[0].qty === 2, 'qty 2');
    expect(view('k2').lines[0].price).toBe(258);
    expect(view('k2').total).toBe(258);
    s.ws.send(JSON.stringify({ type: 'scan', code: G.wine, price: 1 })); // not demo: ignored
    s.ws.send(JSON.stringify({ type: 'pay', amount: 1, total: 1 }));
    await waitView('k2', (v) => v.phase === 'paying' || v.phase === 'done', 'paying');
    await until(pay2.events, 'charge', () => pay2.charges.length > 0, 10_000, 'charge');
    expect(pay2.charges.at(-1)!.amount).toBe(258);
    expect(view('k2').lines.some((l) => l.gtin === G.wine)).toBe(false);
    s.ws.close();
  });

  it('a kiosk token cannot reach ops or admin endpoints', async () => {
    for (const url of ['/api/devices', '/api/attendant/queue', '/api/kiosks']) {
      for (const headers of [{ authorization: `Bearer ${TOKENS.k1}` }, { cookie: `sgw_session=${TOKENS.k1}` }] as Record<string, string>[]) {
        expect((await fetch(`${gw.httpUrl}${url}`, { headers })).status).toBe(401);
      }
    }
  });

  it('one kiosk cannot see another kiosk\'s session', async () => {
    const wrong = await kioskSocket('k1', TOKENS.k2);
    expect(await wrong.closed).toBe(4401);
    expect(wrong.msgs.filter((m) => m.type === 'cart')).toEqual([]);
    const k1 = await kioskSocket('k1', TOKENS.k1);
    await until(k1.ws, 'message', () => k1.msgs.some((m) => m.type === 'cart'), 10_000, 'k1 view');
    await dev.weight('bs-2', 1600); // a change on k2
    await dev.scan('sc-1', G.milk); // and on k1
    await waitView('k1', (v) => v.lines.length === 1, 'k1 milk');
    await until(k1.ws, 'message', () => k1.msgs.filter((m) => m.type === 'cart').some((m) => (m.lines as unknown[]).length === 1), 10_000, 'k1 frame');
    expect(k1.msgs.filter((m) => m.type === 'cart').every((m) => m.kioskId === 'k1')).toBe(true);
    k1.ws.close();
  });
});
