/**
 * One member everywhere, on the kiosk page in real Chromium against a real gateway: the member
 * app's QR (the reference phone, test/sim/memberPhone.ts) is typed by the scanner sim; the cart
 * shows the member masked, with tier and points; a coupon is applied, points are spent, the sale
 * is paid, and the thank-you screen's QR reads back, module by module, as the e-receipt URL of the
 * transaction the gateway committed (with that coupon and those points). The same QR again, an
 * expired credential and a revoked one are refused with their named message on the screen.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser, Page } from 'playwright-core';
import { startMosquitto, type Mosquitto } from '../helpers/mosquitto.js';
import { DEFAULT_DEVICES, startGateway, TEST_SECRET, type RunningGateway } from '../helpers/gatewayHarness.js';
import { launchBrowser } from '../helpers/browser.js';
import { createHqSigner } from '../sim/hqSigner.js';
import { connectHqFeeds, until } from '../sim/hqFeeds.js';
import { MemberPhone } from '../sim/memberPhone.js';
import { PaymentSim } from '../sim/paymentSim.js';
import type { NewEvent } from '../../gateway/outbox/store.js';
import { maskMemberId } from '../../gateway/kiosk/receiptModel.js';
import { CATALOG, G, KIOSK_DEVICES, kioskExtra, MEMBER, Peripherals, PRICES, TOKENS } from './kioskFixture.js';
import { darkModules, modulesOfPath } from './receiptQr.js';

const QR_URL = 'https://receipts.example/r/{transactionId}';
const signer = createHqSigner({ kid: 'hq-member-page' });
const nowS = () => Math.floor(Date.now() / 1000);
const REVOKED_CRED = 'baddecaf00000002';
const phone = new MemberPhone(signer, { memberId: MEMBER, tier: 'gold', expires: nowS() + 30 * 86_400 });
const expired = new MemberPhone(signer, { memberId: MEMBER, tier: 'gold', expires: nowS() - 60 });
const lost = new MemberPhone(signer, { memberId: 'M-2002', tier: 'gold', expires: nowS() + 30 * 86_400, credId: REVOKED_CRED });
let browser: Browser;
let hq: Mosquitto;
let gw: RunningGateway;
let dev: Peripherals;
let pay: PaymentSim;
let page: Page;
const committed: NewEvent[] = [];

beforeAll(async () => {
  const launched = launchBrowser();
  hq = await startMosquitto({ persistence: false });
  gw = await startGateway({ devices: [...DEFAULT_DEVICES, ...KIOSK_DEVICES], extra: await kioskExtra(hq.url, signer.publicKeyPem, signer.kid, { language: 'en', receipt: { qrUrl: QR_URL } }) });
  gw.gw.onEvent((e) => void committed.push(e));
  const feeds = await connectHqFeeds(hq.url, 'test-store', signer);
  await feeds.publish('catalog', 'store', 1, CATALOG);
  await feeds.publish('prices', 'store', 1, PRICES);
  await feeds.publish('members', 'store', 1, { mode: 'snapshot', members: [{ code: MEMBER, tier: 'gold' }, { code: 'M-2002', tier: 'gold', revoked: [REVOKED_CRED] }] });
  await feeds.publish('loyalty', 'store', 1, { mode: 'snapshot', program: 'club', earn: { pointsPerUnit: 1, perMinor: 100 }, spend: { valuePoints: 1, valueMinor: 1, minPoints: 100, maxShareBp: 5000 }, balances: [{ memberId: MEMBER, points: 300, asOf: new Date(Date.now() - 60_000).toISOString() }] });
  await feeds.publish('coupons', 'all', 1, { mode: 'snapshot', coupons: [{ id: 'MIN5', label: { en: '1 € off from 5 €' }, target: { kind: 'basket' }, amountOff: 100, minSpend: 500, stacking: 'combinable', use: 'multi', code: 'SPEND5' }], revoked: [] });
  const p = gw.gw.prices!;
  const k = gw.gw.kiosk;
  await until(p.changes, 'change', () => p.sync().feeds.applied >= 3 && p.currentCatalog().members.has('M-2002'), 10_000, 'price feeds applied');
  await until(k.changes, 'loyalty', () => (k.points.loyaltyFeed?.applied ?? 0) >= 1, 10_000, 'loyalty applied');
  await until(k.changes, 'coupons', () => (k.coupons.feed?.applied ?? 0) >= 1, 10_000, 'coupons applied');
  await feeds.close();
  dev = await Peripherals.connect(gw.mqttUrl, KIOSK_DEVICES.filter((d) => d.id === 'sc-1' || d.id === 'pay-1'));
  pay = new PaymentSim({ url: gw.mqttUrl, id: 'pay-1', password: TEST_SECRET });
  await pay.start();
  browser = await launched;
  page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
  page.setDefaultTimeout(8000);
  await page.goto(`${gw.httpUrl}/kiosk/#k=k1&t=${TOKENS.k1}`);
  await page.locator('[data-conn="online"]').waitFor();
}, 60_000);

afterAll(async () => {
  await browser?.close();
  await pay?.stop();
  await dev?.close();
  await gw?.stop();
  await hq?.stop();
});

const text = async (testId: string) => ((await page.getByTestId(testId).first().textContent()) ?? '').replace(/\s/g, ' ').trim();
const notice = async (code: string) => {
  await page.locator(`[data-testid="notice"][data-code="${code}"]`).waitFor();
  return text('notice');
};
const qr = phone.present();

describe('the member app QR on the kiosk page', () => {
  it('scan the QR → the member masked with tier and points → coupon → points → pay → the receipt QR is this transaction', async () => {
    await dev.scan('sc-1', G.shirt);
    await page.locator(`[data-testid="line"][data-gtin="${G.shirt}"]`).waitFor();
    await dev.scan('sc-1', qr);
    await notice('memberOk');
    expect(await text('member-id')).toBe(maskMemberId(MEMBER));
    expect(maskMemberId(MEMBER)).toBe('****001');
    expect(await text('member-tier')).toContain('gold');
    expect(await page.getByTestId('member').textContent()).not.toContain(MEMBER);
    expect(await text('points-available')).toBe('300');

    await page.getByTestId('coupon-open').click();
    await page.getByTestId('coupon-input').fill('SPEND5');
    await page.getByTestId('coupon-input').press('Enter');
    await page.locator('[data-testid="coupon"][data-coupon="MIN5"][data-applied="true"]').waitFor();
    await page.getByTestId('total').filter({ hasText: '14.00' }).waitFor();

    await page.getByTestId('points-use').click();
    await notice('pointsApplied');
    // 300 points at 1 ct each off the 14.00 after the coupon.
    await page.getByTestId('total').filter({ hasText: '11.00' }).waitFor();

    await page.getByTestId('pay').click();
    await page.getByTestId('thanks').waitFor();
    await page.getByTestId('receipt-qr').waitFor();
    const txId = (await page.getByTestId('transaction-id').textContent())!;
    const sales = committed.filter((e) => e.kind === 'kiosk' && e.type === 'transaction').map((e) => JSON.parse(e.data) as { transactionId: string; total: number; coupons: { couponId: string }[]; points: { spent: number }; memberCode: string });
    expect(sales).toHaveLength(1);
    expect(sales[0]).toMatchObject({ transactionId: txId, total: 1100, memberCode: MEMBER, coupons: [{ couponId: 'MIN5' }], points: { spent: 300 } });
    expect(pay.charges.at(-1)?.amount).toBe(1100);
    const url = QR_URL.replace('{transactionId}', encodeURIComponent(txId));
    const path = (await page.locator('[data-testid="receipt-qr"] svg path').getAttribute('d'))!;
    expect(modulesOfPath(path, 4, 16)).toEqual(darkModules(url));
  });

  it('the same QR again, an expired card and a revoked one are refused with their message on the screen', async () => {
    await page.getByTestId('new-customer').click();
    await page.getByTestId('thanks').waitFor({ state: 'detached' });
    await dev.scan('sc-1', G.milk);
    await page.locator(`[data-testid="line"][data-gtin="${G.milk}"]`).waitFor();
    await dev.scan('sc-1', qr);
    expect(await notice('memberQrReplayed')).toBe('This member code was already used. Show a new code.');
    await dev.scan('sc-1', expired.present());
    expect(await notice('memberQrExpired')).toBe('Your membership card in the app has expired. Refresh it in the app while online.');
    await dev.scan('sc-1', lost.present());
    expect(await notice('memberQrRevoked')).toBe('This member card is no longer valid. Please ask staff.');
    expect(await page.getByTestId('member').count()).toBe(0);
  });
});
