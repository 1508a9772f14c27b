/**
 * Ops users managed from the ops page, against a real gateway (real SQLite users.db): add → the
 * shown password logs in and is nowhere in the file; role change, reset and disable end the
 * person's sessions and live feed at once; config users are read-only; an admin cannot lock the
 * store out (self, last admin); roles, 401/403 and 400 naming the field; users survive a restart;
 * a wrong current password counts toward the login rate limit (last: it locks the address).
 */
import { readFileSync, existsSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startGateway, TEST_PASSWORDS, type RunningGateway } from '../../helpers/gatewayHarness.js';
import { tempDir } from '../../helpers/tmp.js';
import { hashSecret } from '../../../gateway/scryptHash.js';
import { api, login, SseReader } from './opsClient.js';

const tmp = tempDir('sgw-opsusers-');
let g: RunningGateway;
let admin: string;
/** One-time passwords the gateway showed, by username. */
const shown: Record<string, string> = {};

/** The session cookie of `username`, or the refusal status. */
async function loginAs(username: string, password: string): Promise<{ status: number; cookie: string | null; body: any }> {
  const res = await fetch(`${g.httpUrl}/api/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ username, password }) });
  const cookie = res.headers.getSetCookie().find((c) => c.startsWith('sgw_session='))?.split(';')[0] ?? null;
  return { status: res.status, cookie, body: await res.json() };
}

async function addUser(username: string, role: string): Promise<string> {
  const r = await api(g.httpUrl, admin, 'POST', '/api/admin/users', { username, role });
  expect(r.status).toBe(201);
  shown[username] = r.json.password;
  return r.json.password;
}

async function loggedIn(username: string): Promise<string> {
  const r = await loginAs(username, shown[username]);
  expect(r.status).toBe(200);
  return r.cookie!;
}

// healthEveryMs at its maximum: a feed that ends within the test ended by revocation, not by the periodic recheck.
const start = (extra: Record<string, unknown> = {}) => startGateway({ dataDir: tmp.dir, extra: { ops: { healthEveryMs: 60_000 }, ...extra } });

beforeAll(async () => {
  g = await start();
  admin = await login(g.httpUrl, 'admin');
});
afterAll(async () => {
  await g?.gw.stop();
  tmp.remove();
});

describe('access and bodies', () => {
  it('answers 401 without a session and 403 to a viewer or attendant on every admin route', async () => {
    expect((await api(g.httpUrl, null, 'GET', '/api/admin/users')).status).toBe(401);
    expect((await api(g.httpUrl, null, 'POST', '/api/admin/users', { username: 'zed', role: 'viewer' })).status).toBe(401);
    expect((await api(g.httpUrl, null, 'POST', '/api/me/password', { current: 'x', next: 'long-enough-1' })).status).toBe(401);
    for (const who of ['viewer', 'attendant'] as const) {
      const c = await login(g.httpUrl, who);
      expect((await api(g.httpUrl, c, 'GET', '/api/admin/users')).status).toBe(403);
      expect((await api(g.httpUrl, c, 'POST', '/api/admin/users', { username: 'zed', role: 'admin' })).status).toBe(403);
      expect((await api(g.httpUrl, c, 'POST', '/api/admin/users/viewer/role', { role: 'admin' })).status).toBe(403);
      expect((await api(g.httpUrl, c, 'POST', '/api/admin/users/viewer/disable', {})).status).toBe(403);
    }
    expect((await api(g.httpUrl, admin, 'GET', '/api/admin/users')).json.users.some((u: { username: string }) => u.username === 'zed')).toBe(false);
  });

  it('refuses a bad body with 400 naming the field', async () => {
    const bad = async (url: string, body: unknown) => {
      const r = await api(g.httpUrl, admin, 'POST', url, body);
      expect(r.status).toBe(400);
      expect(r.json.code).toBe('SGW_ERR_SCHEMA');
      return r.json.message as string;
    };
    expect(await bad('/api/admin/users', { username: 'ok-name', role: 'root' })).toContain('body.role');
    expect(await bad('/api/admin/users', { username: 'Has Space', role: 'viewer' })).toContain('body.username');
    expect(await bad('/api/admin/users', { username: '1digit', role: 'viewer' })).toContain('body.username');
    expect(await bad('/api/admin/users', { username: 'ok-name', role: 'viewer', password: 'mine' })).toContain('body.password');
    expect(await bad('/api/admin/users/viewer/role', {})).toContain('body.role');
    expect(await bad('/api/admin/users/viewer/disable', { now: true })).toContain('body.now');
    const viewer = await login(g.httpUrl, 'viewer');
    const r = await api(g.httpUrl, viewer, 'POST', '/api/me/password', { current: TEST_PASSWORDS.viewer, next: 'short' });
    expect(r.status).toBe(400);
    expect(r.json.message).toContain('body.next');
  });

  it('never changes state on GET', async () => {
    expect((await api(g.httpUrl, admin, 'GET', '/api/admin/users/viewer/disable')).status).toBe(404);
  });
});

describe('adding users', () => {
  it('adds a user whose one-time password logs in with the given role, and lists it as a store user', async () => {
    const pw = await addUser('anna', 'attendant');
    expect(pw).toMatch(/^[A-Za-z0-9_-]{16,}$/);
    const r = await loginAs('anna', pw);
    expect(r.status).toBe(200);
    expect(r.body).toEqual({ username: 'anna', role: 'attendant', source: 'store' });
    const list = await api(g.httpUrl, admin, 'GET', '/api/admin/users');
    expect(list.json.writable).toBe(true);
    expect(list.json.users).toContainEqual({ username: 'anna', role: 'attendant', source: 'store', disabled: false, createdAt: expect.any(Number), createdBy: 'admin' });
    expect(list.json.users).toContainEqual({ username: 'viewer', role: 'viewer', source: 'config', disabled: false, createdAt: null, createdBy: null });
    expect(g.logs.some((l) => l.msg === 'ops user added' && l.by === 'admin' && l.username === 'anna')).toBe(true);
  });

  it('stores only the scrypt hash: the shown password is not in the database files', async () => {
    const pw = shown.anna;
    const bytes = Buffer.concat(['users.db', 'users.db-wal'].map((f) => path.join(g.dataDir, f)).filter(existsSync).map((f) => readFileSync(f)));
    expect(bytes.includes(Buffer.from('anna'))).toBe(true);
    expect(bytes.includes(Buffer.from('scrypt$15$'))).toBe(true);
    expect(bytes.includes(Buffer.from(pw))).toBe(false);
    expect(g.logs.some((l) => JSON.stringify(l).includes(pw))).toBe(false);
  });

  it('refuses an existing name (store or config) with 409', async () => {
    const dup = await api(g.httpUrl, admin, 'POST', '/api/admin/users', { username: 'anna', role: 'viewer' });
    expect(dup.status).toBe(409);
    expect(dup.json.code).toBe('SGW_ERR_CONFLICT');
    expect((await api(g.httpUrl, admin, 'POST', '/api/admin/users', { username: 'viewer', role: 'admin' })).status).toBe(409);
  });
});

describe('changes end sessions at once', () => {
  it('a role change ends the session and its live feed; the next login has the new role', async () => {
    await addUser('rolf', 'attendant');
    const c = await loggedIn('rolf');
    const sse = await SseReader.open(g.httpUrl, c);
    await sse.next((f) => f.event === 'hello');
    const r = await api(g.httpUrl, admin, 'POST', '/api/admin/users/rolf/role', { role: 'viewer' });
    expect(r.status).toBe(200);
    expect(r.json).toMatchObject({ username: 'rolf', role: 'viewer', source: 'store' });
    await sse.ended;
    expect((await api(g.httpUrl, c, 'GET', '/api/me')).status).toBe(401);
    expect((await loginAs('rolf', shown.rolf)).body).toEqual({ username: 'rolf', role: 'viewer', source: 'store' });
    expect(g.logs.some((l) => l.msg === 'ops user role changed' && l.by === 'admin' && l.username === 'rolf' && l.revoked === 1)).toBe(true);
  });

  it('a reset ends the session; the old password stops working, the new one (shown once) works', async () => {
    await addUser('rita', 'viewer');
    const c = await loggedIn('rita');
    const r = await api(g.httpUrl, admin, 'POST', '/api/admin/users/rita/reset', {});
    expect(r.status).toBe(200);
    expect(r.json.password).toMatch(/^[A-Za-z0-9_-]{16,}$/);
    expect(r.json.password).not.toBe(shown.rita);
    expect((await api(g.httpUrl, c, 'GET', '/api/devices')).status).toBe(401);
    expect((await loginAs('rita', shown.rita)).status).toBe(401);
    expect((await loginAs('rita', r.json.password)).status).toBe(200);
    shown.rita = r.json.password;
  });

  it('disable ends the session and refuses the right password; enable lets the person back in', async () => {
    await addUser('dirk', 'attendant');
    const c = await loggedIn('dirk');
    const sse = await SseReader.open(g.httpUrl, c);
    await sse.next((f) => f.event === 'hello');
    expect((await api(g.httpUrl, admin, 'POST', '/api/admin/users/dirk/disable', {})).json).toMatchObject({ username: 'dirk', disabled: true });
    await sse.ended;
    expect((await api(g.httpUrl, c, 'GET', '/api/attendant/queue')).status).toBe(401);
    const refused = await loginAs('dirk', shown.dirk);
    expect(refused.status).toBe(401);
    expect(refused.body.message).toBe('this user is disabled; ask a store admin');
    expect((await api(g.httpUrl, admin, 'GET', '/api/admin/users')).json.users).toContainEqual(expect.objectContaining({ username: 'dirk', disabled: true }));
    expect((await api(g.httpUrl, admin, 'POST', '/api/admin/users/dirk/enable', {})).json).toMatchObject({ disabled: false });
    expect((await loginAs('dirk', shown.dirk)).status).toBe(200);
  });

  it('leaves other users’ sessions alone', async () => {
    const anna = await loggedIn('anna');
    await api(g.httpUrl, admin, 'POST', '/api/admin/users/dirk/disable', {});
    expect((await api(g.httpUrl, anna, 'GET', '/api/me')).status).toBe(200);
    // The config file's admin is told where it lives (the page offers no password change for it).
    expect((await api(g.httpUrl, admin, 'GET', '/api/me')).json).toEqual({ username: 'admin', role: 'admin', source: 'config' });
  });
});

describe('what cannot be changed here', () => {
  it('answers 409 for config users and 404 for unknown ones', async () => {
    for (const [action, body] of [['role', { role: 'admin' }], ['reset', {}], ['disable', {}], ['enable', {}]] as const) {
      const r = await api(g.httpUrl, admin, 'POST', `/api/admin/users/viewer/${action}`, body);
      expect(r.status).toBe(409);
      expect(r.json).toEqual({ code: 'SGW_ERR_CONFLICT', message: 'viewer is declared in the config file; change it there' });
      expect((await api(g.httpUrl, admin, 'POST', `/api/admin/users/nobody/${action}`, body)).status).toBe(404);
    }
    expect((await login(g.httpUrl, 'viewer')).length).toBeGreaterThan(0);
  });

  it('keeps an admin from disabling, demoting or resetting themselves', async () => {
    await addUser('boss', 'admin');
    const boss = await loggedIn('boss');
    const self = async (action: string, body: unknown) => api(g.httpUrl, boss, 'POST', `/api/admin/users/boss/${action}`, body);
    expect(await self('disable', {})).toEqual({ status: 409, json: { code: 'SGW_ERR_CONFLICT', message: 'you cannot disable yourself; ask another admin' } });
    expect((await self('role', { role: 'attendant' })).json.message).toBe('you cannot take the admin role from yourself; ask another admin');
    expect((await self('reset', {})).status).toBe(409);
    expect((await api(g.httpUrl, boss, 'GET', '/api/me')).json).toEqual({ username: 'boss', role: 'admin', source: 'store' });
  });
});

describe('own password', () => {
  it('changes a store user’s own password: this session stays, the others end', async () => {
    await addUser('olga', 'viewer');
    const here = await loggedIn('olga');
    const there = await loggedIn('olga');
    expect((await api(g.httpUrl, here, 'POST', '/api/me/password', { current: 'not-it-at-all', next: 'olga-new-pass-1' })).status).toBe(403);
    expect((await api(g.httpUrl, here, 'POST', '/api/me/password', { current: shown.olga, next: 'olga' })).status).toBe(400);
    const r = await api(g.httpUrl, here, 'POST', '/api/me/password', { current: shown.olga, next: 'olga-new-pass-1' });
    expect(r).toEqual({ status: 200, json: { ok: true, otherSessionsEnded: 1 } });
    expect((await api(g.httpUrl, here, 'GET', '/api/me')).status).toBe(200);
    expect((await api(g.httpUrl, there, 'GET', '/api/me')).status).toBe(401);
    expect((await loginAs('olga', shown.olga)).status).toBe(401);
    expect((await loginAs('olga', 'olga-new-pass-1')).status).toBe(200);
    shown.olga = 'olga-new-pass-1';
  });

  it('refuses the username as the new password, and config users (changed in the file)', async () => {
    await addUser('victor.long', 'viewer');
    const c = await loggedIn('victor.long');
    const r = await api(g.httpUrl, c, 'POST', '/api/me/password', { current: shown['victor.long'], next: 'VICTOR.LONG' });
    expect(r.status).toBe(400);
    expect(r.json.message).toBe('body.next: must not be the username');
    const viewer = await login(g.httpUrl, 'viewer');
    expect((await api(g.httpUrl, viewer, 'POST', '/api/me/password', { current: TEST_PASSWORDS.viewer, next: 'viewer-new-pass' })).status).toBe(409);
  });
});

describe('after a restart', () => {
  it('keeps every user, state and password; with no config admin, the last store admin is protected', async () => {
    await g.gw.stop();
    // The config now declares no admin: boss (from users.db) is the store's only admin.
    g = await start({ opsUsers: [{ username: 'viewer', role: 'viewer', passwordHash: await hashSecret(TEST_PASSWORDS.viewer, 4) }] });
    expect((await loginAs('anna', shown.anna)).status).toBe(200);
    expect((await loginAs('olga', 'olga-new-pass-1')).status).toBe(200);
    expect((await loginAs('dirk', shown.dirk)).body.message).toBe('this user is disabled; ask a store admin');
    const boss = (await loginAs('boss', shown.boss)).cookie!;
    const list = (await api(g.httpUrl, boss, 'GET', '/api/admin/users')).json.users.map((u: { username: string }) => u.username);
    expect(list).toEqual(['anna', 'boss', 'dirk', 'olga', 'rita', 'rolf', 'victor.long', 'viewer']);
    const last = await api(g.httpUrl, boss, 'POST', '/api/admin/users/boss/role', { role: 'viewer' });
    expect(last).toEqual({ status: 409, json: { code: 'SGW_ERR_CONFLICT', message: 'boss is the last enabled admin; make another admin first' } });
    expect((await api(g.httpUrl, boss, 'POST', '/api/admin/users/boss/disable', {})).json.message).toBe('boss is the last enabled admin; make another admin first');
    // With a second admin, boss may demote that one again.
    expect((await api(g.httpUrl, boss, 'POST', '/api/admin/users/anna/role', { role: 'admin' })).status).toBe(200);
    expect((await api(g.httpUrl, boss, 'POST', '/api/admin/users/anna/role', { role: 'attendant' })).status).toBe(200);
    admin = boss;
  });
});

describe('rate limit (last: it locks this address)', () => {
  it('counts a wrong current password like a failed login', async () => {
    const c = await loggedIn('rita');
    const statuses: number[] = [];
    for (let i = 0; i < 6; i++) statuses.push((await api(g.httpUrl, c, 'POST', '/api/me/password', { current: `wrong-${i}`, next: 'rita-new-pass-1' })).status);
    expect(statuses).toEqual([403, 403, 403, 403, 403, 429]);
    // The login of this person is locked by the same count, even with the right password.
    expect((await loginAs('rita', shown.rita)).status).toBe(429);
  });
});
