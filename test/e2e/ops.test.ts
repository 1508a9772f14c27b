/**
 * The ops page in real headless Chromium against a real gateway (built page from dist/kiosk/ops):
 * login and roles, cookies, a device dropping off live (keepalive timeout, no reload), a scripted
 * day whose numbers the page must show exactly, provisioning with the secret shown once, alert
 * acknowledge, and a screenshot of every view. The rate-limit test runs last: five failures lock
 * the test's address for the window.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { connectDevice, startGateway, TEST_PASSWORDS, TEST_SECRET, type RunningGateway } from '../helpers/gatewayHarness.js';
import { launchBrowser, openOps, screenshot } from '../helpers/browser.js';
import { tempDir } from '../helpers/tmp.js';
import { topics } from '../../gateway/protocol/topics.js';
import { localDayHour } from '../../gateway/kpi/kpis.js';
import { freezableProxy, saleRecord } from '../integration/gateway/opsClient.js';
import { ensureBuilt } from './opsBuild.js';

/** A zone without daylight saving (UTC+05:30), so a local hour is a fixed UTC instant. */
const TZ = 'Asia/Kolkata';
const TZ_OFFSET_MS = 5.5 * 3600_000;

let g: RunningGateway;
let browser: Browser;
const tmp = tempDir('sgw-ops-e2e-');

beforeAll(async () => {
  // Chromium starts while the store sets up: nothing below needs it before the end.
  const launching = launchBrowser().then((b) => (browser = b));
  ensureBuilt();
  g = await startGateway({
    dataDir: tmp.dir,
    devices: [
      { kind: 'footfall', id: 'door-1' },
      { kind: 'footfall', id: 'door-2' },
      { kind: 'kiosk', id: 'kiosk-1' },
      { kind: 'scale', id: 'scale-1' },
      { kind: 'esl', id: 'ap-1' },
    ],
    extra: { ops: { timezone: TZ, healthEveryMs: 200 } },
  });
  await launching;
});
afterAll(async () => {
  await browser?.close();
  await g?.stop();
  tmp.remove();
});

function loggedIn(user: keyof typeof TEST_PASSWORDS): Promise<{ ctx: BrowserContext; page: Page }> {
  return openOps(browser, g.httpUrl, user, TEST_PASSWORDS[user]);
}

describe('login and roles', () => {
  it('refuses an unauthenticated API call with 401 and says so on a bad password', async () => {
    const ctx = await browser.newContext();
    const page = await ctx.newPage();
    await page.goto(`${g.httpUrl}/ops/`);
    expect(await page.evaluate(() => fetch('/api/devices').then((r) => r.status))).toBe(401);
    expect(await page.evaluate(() => fetch('/api/events').then((r) => r.status))).toBe(401);
    await screenshot(page, 'ops-login');
    await page.fill('input[name=username]', 'admin');
    await page.fill('input[name=password]', 'not-the-password');
    await page.click('button[type=submit]');
    const msg = await page.waitForSelector('[role=alert]');
    expect(await msg.textContent()).toBe('Wrong username or password.');
    await screenshot(page, 'ops-login-bad-password');
    await ctx.close();
  });

  it('keeps the session in an HttpOnly SameSite=Strict cookie the page cannot read', async () => {
    const { ctx, page } = await loggedIn('viewer');
    const cookie = (await ctx.cookies()).find((c) => c.name === 'sgw_session');
    expect(cookie).toMatchObject({ httpOnly: true, sameSite: 'Strict' });
    expect(await page.evaluate(() => document.cookie)).not.toContain('sgw_session');
    await ctx.close();
  });

  it('lets a viewer see but not approve or manage: no buttons, and the API answers 403', async () => {
    const { ctx, page } = await loggedIn('viewer');
    expect(await page.locator('nav a', { hasText: 'Admin' }).count()).toBe(0);
    await page.click('nav a:has-text("Checkout")');
    await page.waitForSelector('[data-panel="queue"]');
    expect(await page.locator('button', { hasText: 'Approve' }).count()).toBe(0);
    const statuses = await page.evaluate(async () => {
      const post = (u: string) => fetch(u, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' }).then((r) => r.status);
      return [await post('/api/attendant/req-1/approve'), await post('/api/alerts/1/ack'), await post('/api/admin/devices/scale/x/disable')];
    });
    expect(statuses).toEqual([403, 403, 403]);
    await screenshot(page, 'ops-checkout-viewer');
    await ctx.close();
  });
});

describe('live devices', () => {
  it('turns a device offline on the open page, without a reload, within 1.5x its keepalive', async () => {
    const { ctx, page } = await loggedIn('viewer');
    await page.evaluate(() => ((window as unknown as { marker: number }).marker = 42));
    const proxy = await freezableProxy(g.gw.mqttPort);
    const dev = await connectDevice(`mqtt://127.0.0.1:${proxy.port}`, 'footfall/door-2', TEST_SECRET, { keepalive: 1 });
    dev.on('error', () => undefined);
    await dev.publishAsync(topics.evt('footfall', 'door-2', 'heartbeat'), JSON.stringify({ ts: new Date().toISOString(), uptimeS: 5, batteryPct: 87 }), { qos: 1 });
    // One bad event: rejected with a reason, counted on the row, listed in the detail.
    await dev.publishAsync(topics.evt('footfall', 'door-2', 'count'), JSON.stringify({ ts: new Date().toISOString(), in: 'many', out: 0 }), { qos: 1 });
    await page.waitForSelector('tr[data-device="footfall/door-2"][data-health="online"]');
    await page.waitForSelector('tr[data-device="footfall/door-2"] td.warn:text("1")');
    await screenshot(page, 'ops-devices');
    const t0 = Date.now();
    proxy.freeze();
    await page.waitForSelector('tr[data-device="footfall/door-2"][data-health="offline"]', { timeout: 5000 });
    expect(Date.now() - t0).toBeLessThanOrEqual(1500 + 700);
    expect(await page.evaluate(() => (window as unknown as { marker: number }).marker)).toBe(42);
    // Filter and detail.
    await page.selectOption('select[name=state]', 'offline');
    expect(await page.locator('tr[data-device="footfall/door-2"]').count()).toBe(1);
    expect(await page.locator('tr[data-health="online"]').count()).toBe(0);
    await page.click('tr[data-device="footfall/door-2"] a');
    const detail = await page.waitForSelector('[data-detail="footfall/door-2"]');
    expect(await detail.textContent()).toContain('heartbeat');
    const reject = await page.waitForSelector('[data-detail="footfall/door-2"] tr[data-reject="SGW_ERR_SCHEMA"]');
    expect(await reject.textContent()).toContain('in');
    await screenshot(page, 'ops-device-detail');
    dev.end(true);
    await proxy.close();
    await ctx.close();
  });
});

/** The UTC instant of local `hour:minute` today (or `daysBack` days earlier) in the store's zone. */
function localToday(hour: number, minute: number, daysBack = 0): string {
  const { day } = localDayHour(Date.now(), TZ);
  const [y, m, d] = day.split('-').map(Number);
  return new Date(Date.UTC(y, m - 1, d - daysBack, hour, minute) - TZ_OFFSET_MS).toISOString();
}

function commitSale(data: Record<string, unknown>): Promise<void> {
  const kiosk = g.gw.registry.get('kiosk', 'kiosk-1')!;
  return new Promise((resolve, reject) =>
    g.gw.ingest.handle(kiosk, 'transaction', topics.evt('kiosk', 'kiosk-1', 'transaction'), Buffer.from(JSON.stringify(data)), (err, rejected) =>
      err ? reject(err) : rejected ? reject(new Error(`rejected: ${kiosk.lastReject?.reason}`)) : resolve(),
    ),
  );
}

describe('the day’s numbers', () => {
  it('shows exactly the numbers of a scripted day (footfall over MQTT, kiosk sales as exact records)', async () => {
    const { ctx, page } = await loggedIn('viewer');
    await page.click('nav a:has-text("Day")');
    await page.waitForSelector('[data-kpi="visitors"]');
    const door1 = await connectDevice(g.mqttUrl, 'footfall/door-1', TEST_SECRET);
    const door2 = await connectDevice(g.mqttUrl, 'footfall/door-2', TEST_SECRET);
    const count = (c: typeof door1, id: string, ts: string, inn: number, out: number) => c.publishAsync(topics.evt('footfall', id, 'count'), JSON.stringify({ ts, in: inn, out }), { qos: 1 });
    // 09h: 10 + 1 crossing in (+1 out, not a visitor); 12h: 25; 17h: 14 → 50 visitors.
    await count(door1, 'door-1', localToday(9, 5), 10, 3);
    await door2.publishAsync(topics.evt('footfall', 'door-2', 'cross'), JSON.stringify({ ts: localToday(9, 10), direction: 'in' }), { qos: 1 });
    await door2.publishAsync(topics.evt('footfall', 'door-2', 'cross'), JSON.stringify({ ts: localToday(9, 11), direction: 'out' }), { qos: 1 });
    await count(door1, 'door-1', localToday(12, 0), 25, 20);
    await count(door1, 'door-1', localToday(17, 30), 14, 0);
    // Yesterday evening: counted on yesterday's page, not today's.
    await count(door1, 'door-1', localToday(20, 0, 1), 9, 9);
    door1.end(true);
    door2.end(true);
    // 6 sales, 145.00 EUR; members A, B, A (repeat), B (repeat), C → repeat rate 2/5.
    const sales: [number, number, number, string | undefined][] = [
      [9, 20, 1250, 'M-A'],
      [12, 5, 3480, 'M-B'],
      [12, 15, 999, undefined],
      [12, 40, 2271, 'M-A'],
      [17, 0, 5000, 'M-B'],
      [17, 45, 1500, 'M-C'],
    ];
    for (const [i, [h, min, total, member]] of sales.entries()) await commitSale(saleRecord({ ts: localToday(h, min), transactionId: `day-${i}`, total, memberCode: member }));

    // Intl for the page's locale (en-GB), money with the currency's digits.
    const expected = { visitors: '50', transactions: '6', conversion: '12.0%', averageBasket: '€24.17', repeatRate: '40.0%', sales: '€145.00' };
    await page.waitForFunction(
      (exp) => Object.entries(exp).every(([k, v]) => document.querySelector(`[data-kpi="${k}"] .value`)?.textContent === v),
      expected,
      { timeout: 5000 },
    ).catch(() => undefined);
    const shown = await page.evaluate(() => Object.fromEntries(Array.from(document.querySelectorAll('[data-kpi]')).map((e) => [e.getAttribute('data-kpi'), e.querySelector('.value')?.textContent])));
    expect(shown).toEqual(expected);
    const hours = await page.evaluate(() =>
      Array.from(document.querySelectorAll('table.hours tbody tr')).map((tr) => [tr.getAttribute('data-hour'), ...Array.from(tr.querySelectorAll('td[data-col]')).map((td) => td.textContent)]),
    );
    expect(hours).toEqual([
      ['9', '11', '1', '9.1%', '€12.50', '€12.50'],
      ['12', '25', '3', '12.0%', '€22.50', '€67.50'],
      ['17', '14', '2', '14.3%', '€32.50', '€65.00'],
    ]);
    expect(await page.locator('svg.ops-chart[data-chart="visitors-transactions"] g[data-hour]').count()).toBe(24);
    // What members make visible: 4 of the 6 sales had a member (member share of sales), no points
    // or coupons in these records; the member charts are there too.
    expect(await page.textContent('[data-member-kpi="memberShare"] .value')).toBe(`${((100 * (1250 + 3480 + 2271 + 5000 + 1500)) / 14500).toFixed(1)}%`);
    expect(await page.locator('svg.ops-chart[data-chart="couponRedemptions-couponRedemptions"] g[data-hour]').count()).toBe(24);
    await screenshot(page, 'ops-day');

    const yesterday = localDayHour(Date.parse(localToday(20, 0, 1)), TZ).day;
    await page.fill('input[name=day]', yesterday);
    await page.waitForSelector(`h2:has-text("${yesterday}")`);
    expect(await page.textContent('[data-kpi="visitors"] .value')).toBe('9');
    expect(await page.textContent('tr[data-hour="20"] td[data-col="visitors"]')).toBe('9');
    await page.click('button:has-text("Back to today")');
    await page.waitForSelector('[data-kpi="visitors"] .value:text-is("50")');
    await ctx.close();
  });
});

describe('views of an admin', () => {
  it('provisions a device with its secret shown once, acknowledges an alert, and shows every view', async () => {
    const { ctx, page } = await loggedIn('admin');
    await page.click('nav a:has-text("Admin")');
    await page.selectOption('select[name=kind]', 'scale');
    await page.fill('input[name=id]', 'scale-7');
    await page.fill('input[name=location]', 'deli');
    await page.click('button:has-text("Add device")');
    const code = await page.waitForSelector('[data-secret-for="scale/scale-7"] code');
    const password = (await code.textContent())!;
    await page.waitForSelector('tr[data-provisioned="scale/scale-7"]');
    await page.waitForSelector('tr[data-user="viewer"]');
    await screenshot(page, 'ops-admin');
    const dev = await connectDevice(g.mqttUrl, 'scale/scale-7', password);
    await page.click('button:has-text("Done, hide it")');
    expect(await page.locator('[data-secret-for]').count()).toBe(0);
    const closed = new Promise<void>((r) => dev.once('close', () => r()));
    await page.click('tr[data-provisioned="scale/scale-7"] button:has-text("Disable")');
    await closed;
    await page.waitForSelector('tr[data-provisioned="scale/scale-7"] button:has-text("Enable")');
    dev.end(true);

    await page.click('nav a:has-text("Uplink")');
    const door = await connectDevice(g.mqttUrl, 'footfall/door-1', TEST_SECRET);
    await door.publishAsync(topics.evt('footfall', 'door-1', 'alert'), JSON.stringify({ ts: new Date().toISOString(), code: 'DOOR_AJAR', severity: 'warning', message: 'entrance door open for 5 min' }), { qos: 1 });
    door.end(true);
    await page.waitForSelector('tr[data-code="DOOR_AJAR"]:has(button)');
    await screenshot(page, 'ops-uplink-alerts');
    await page.click('tr[data-code="DOOR_AJAR"] button:has-text("Acknowledge")');
    expect(await (await page.waitForSelector('tr[data-code="DOOR_AJAR"].acked')).textContent()).toContain('admin');

    await page.click('nav a:has-text("Shelf")');
    await page.waitForSelector('[data-labels], [data-panel="labels"]');
    await screenshot(page, 'ops-shelf');
    await page.click('nav a:has-text("Checkout")');
    await page.waitForSelector('[data-queue="empty"], [data-request], [data-panel="queue"]');
    await screenshot(page, 'ops-checkout');
    await ctx.close();
  });
});

describe('rate limit (last: it locks this address)', () => {
  it('says "too many attempts" after repeated failures', async () => {
    const ctx = await browser.newContext();
    const page = await ctx.newPage();
    await page.goto(`${g.httpUrl}/ops/`);
    let text = '';
    for (let i = 0; i < 8 && !text.startsWith('Too many'); i++) {
      await page.fill('input[name=username]', 'attendant');
      await page.fill('input[name=password]', `wrong-${i}`);
      const answered = page.waitForResponse('**/api/login');
      await page.click('button[type=submit]');
      await answered;
      text = (await page.locator('[role=alert]').textContent()) ?? '';
    }
    expect(text).toBe('Too many attempts. Wait a few minutes and try again.');
    // Even the right password is refused while locked.
    await page.fill('input[name=password]', TEST_PASSWORDS.attendant);
    const answered = page.waitForResponse('**/api/login');
    await page.click('button[type=submit]');
    expect((await answered).status()).toBe(429);
    await screenshot(page, 'ops-login-rate-limited');
    await ctx.close();
  });
});
