/**
 * Ops users in real Chromium against a real gateway: an admin adds an attendant on the ops page
 * and reads the password shown once; a second browser logs in as that person and sees the
 * attendant's view; the admin disables them and the second browser is sent back to the login
 * (its session is revoked: the live feed ends and the next call answers 401), where the right
 * password is refused as disabled; enable + reset give a new one-time password that works.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { startGateway, TEST_PASSWORDS, type RunningGateway } from '../helpers/gatewayHarness.js';
import { launchBrowser, screenshot } from '../helpers/browser.js';
import { tempDir } from '../helpers/tmp.js';
import { ensureBuilt } from './opsBuild.js';

let g: RunningGateway;
let browser: Browser;
const tmp = tempDir('sgw-opsusers-e2e-');

beforeAll(async () => {
  // Chromium starts while the store sets up: nothing below needs it before the end.
  const launching = launchBrowser().then((b) => (browser = b));
  ensureBuilt();
  // The periodic recheck at its slowest: the second browser must be sent away by the revocation itself.
  g = await startGateway({ dataDir: tmp.dir, devices: [{ kind: 'footfall', id: 'door-1' }], extra: { ops: { healthEveryMs: 60_000 } } });
  await launching;
});
afterAll(async () => {
  await browser?.close();
  await g?.stop();
  tmp.remove();
});

async function openLogin(): Promise<{ ctx: BrowserContext; page: Page }> {
  const ctx = await browser.newContext({ viewport: { width: 1280, height: 800 } });
  const page = await ctx.newPage();
  page.setDefaultTimeout(10_000);
  await page.goto(`${g.httpUrl}/ops/`);
  return { ctx, page };
}

async function logIn(page: Page, username: string, password: string): Promise<void> {
  await page.fill('input[name=username]', username);
  await page.fill('input[name=password]', password);
  const answered = page.waitForResponse('**/api/login');
  await page.click('button[type=submit]');
  await answered;
}

describe('ops users on the ops page', () => {
  it('adds an attendant, who logs in elsewhere; disabling sends that browser back to the login', async () => {
    const admin = await openLogin();
    await logIn(admin.page, 'admin', TEST_PASSWORDS.admin);
    await admin.page.waitForSelector('[data-live="up"]');
    await admin.page.click('nav a:has-text("Admin")');
    await admin.page.waitForSelector('[data-testid="user-row-viewer"][data-source="config"]');
    // Config users are read-only: no controls in their rows.
    expect(await admin.page.locator('[data-testid="user-row-viewer"] button, [data-testid="user-row-viewer"] select').count()).toBe(0);

    await admin.page.fill('[data-testid="user-add-username"]', 'tina');
    await admin.page.selectOption('[data-testid="user-add-role"]', 'attendant');
    await admin.page.click('[data-testid="user-add-submit"]');
    const shown = await admin.page.waitForSelector('[data-testid="user-password"][data-password-for="tina"]');
    expect(await shown.textContent()).toContain('Copy it now, it will not be shown again.');
    const password = (await admin.page.textContent('[data-testid="user-password-value"]'))!;
    expect(password).toMatch(/^[A-Za-z0-9_-]{16,}$/);
    await admin.page.waitForSelector('[data-testid="user-row-tina"][data-source="store"][data-role="attendant"][data-state="enabled"]');
    await screenshot(admin.page, 'ops-users-added');
    await admin.page.click('[data-testid="user-password-done"]');
    expect(await admin.page.locator('[data-testid="user-password"]').count()).toBe(0);

    // A second browser: the new person logs in and sees the attendant's view (checkout actions, no admin).
    const tina = await openLogin();
    await logIn(tina.page, 'tina', password);
    await tina.page.waitForSelector('[data-live="up"]');
    expect(await tina.page.textContent('.ops-user')).toContain('tina (attendant)');
    expect(await tina.page.locator('nav a', { hasText: 'Admin' }).count()).toBe(0);
    await tina.page.click('nav a:has-text("Checkout")');
    // The attendant's queue (a viewer would see "Approvals need the attendant role" instead).
    await tina.page.waitForSelector('[data-queue="empty"]');
    expect(await tina.page.evaluate(() => fetch('/api/attendant/queue').then((r) => r.status))).toBe(200);
    await screenshot(tina.page, 'ops-users-attendant-view');

    // Disabled: the second browser's session ends; its next call is refused and it shows the login.
    await admin.page.click('[data-testid="user-disable-tina"]');
    await admin.page.waitForSelector('[data-testid="user-disable-tina"]:text("Confirm disable")'); // asked twice
    expect(await admin.page.getAttribute('[data-testid="user-row-tina"]', 'data-state')).toBe('enabled');
    await admin.page.click('[data-testid="user-disable-tina"]');
    await admin.page.waitForSelector('[data-testid="user-row-tina"][data-state="disabled"]');
    await screenshot(admin.page, 'ops-users-disabled');
    await tina.page.evaluate(() => (location.hash = '#/day'));
    await tina.page.waitForSelector('input[name=username]', { timeout: 5000 });
    expect(await tina.page.evaluate(() => fetch('/api/attendant/queue').then((r) => r.status))).toBe(401);
    await logIn(tina.page, 'tina', password);
    // Waits for this text: right after the answer the page may still show the previous message.
    await tina.page.waitForSelector('[role=alert]:text-is("This user is disabled. Ask a store admin.")', { timeout: 5000 });
    await screenshot(tina.page, 'ops-users-disabled-login');

    // Enabled and reset: the old password no longer works, the new one (shown once) does.
    await admin.page.click('[data-testid="user-enable-tina"]');
    await admin.page.waitForSelector('[data-testid="user-row-tina"][data-state="enabled"]');
    await admin.page.click('[data-testid="user-reset-tina"]');
    await admin.page.click('[data-testid="user-reset-tina"]:text("Confirm reset")');
    await admin.page.waitForSelector('[data-testid="user-password"][data-password-for="tina"]');
    const fresh = (await admin.page.textContent('[data-testid="user-password-value"]'))!;
    expect(fresh).not.toBe(password);
    await logIn(tina.page, 'tina', password);
    // Waits for this text: right after the answer the page may still show the previous message.
    await tina.page.waitForSelector('[role=alert]:text-is("Wrong username or password.")', { timeout: 5000 });
    await logIn(tina.page, 'tina', fresh);
    await tina.page.waitForSelector('[data-live="up"]');

    // A role change from the page ends the session too; the next login has the new role.
    await admin.page.selectOption('[data-testid="user-role-tina"]', 'viewer');
    await admin.page.waitForSelector('[data-testid="user-row-tina"][data-role="viewer"]');
    await tina.page.waitForSelector('input[name=username]', { timeout: 5000 });
    await logIn(tina.page, 'tina', fresh);
    await tina.page.waitForSelector('[data-live="up"]');
    expect(await tina.page.textContent('.ops-user')).toContain('tina (viewer)');
    await screenshot(admin.page, 'ops-users');
    await tina.ctx.close();
    await admin.ctx.close();
  });

  it('lets a person change their own password on the page', async () => {
    const admin = await openLogin();
    await logIn(admin.page, 'admin', TEST_PASSWORDS.admin);
    await admin.page.click('nav a:has-text("Admin")');
    // The config file's admin changes its password in the file: the page offers no button for it.
    expect(await admin.page.locator('[data-testid="my-password-open"]').count()).toBe(0);
    await admin.page.fill('[data-testid="user-add-username"]', 'paul');
    await admin.page.click('[data-testid="user-add-submit"]');
    const first = (await (await admin.page.waitForSelector('[data-password-for="paul"] [data-testid="user-password-value"]')).textContent())!;
    await admin.ctx.close();

    const paul = await openLogin();
    await logIn(paul.page, 'paul', first);
    await paul.page.waitForSelector('[data-live="up"]');
    await paul.page.click('[data-testid="my-password-open"]');
    await paul.page.fill('[data-testid="my-password-current"]', 'not-my-password');
    await paul.page.fill('[data-testid="my-password-next"]', 'paul-chose-this-1');
    await paul.page.click('[data-testid="my-password-submit"]');
    expect(await (await paul.page.waitForSelector('[data-testid="my-password-result"]')).textContent()).toBe('The current password is wrong.');
    await paul.page.fill('[data-testid="my-password-current"]', first);
    await paul.page.fill('[data-testid="my-password-next"]', 'paul-chose-this-1');
    await paul.page.click('[data-testid="my-password-submit"]');
    await paul.page.waitForSelector('[data-testid="my-password-result"]:text("Password changed.")');
    await screenshot(paul.page, 'ops-users-own-password');
    // Still logged in here; the new password is the one that works now.
    expect(await paul.page.evaluate(() => fetch('/api/me').then((r) => r.status))).toBe(200);
    const res = await fetch(`${g.httpUrl}/api/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ username: 'paul', password: 'paul-chose-this-1' }) });
    expect(res.status).toBe(200);
    await paul.ctx.close();
  });
});
