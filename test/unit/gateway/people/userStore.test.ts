/**
 * users.db on a real SQLite file in a temp folder: the migration, create with config names
 * reserved, role/disable/password changes with their timestamps, and a reopen that keeps it all.
 * The directory above it: config users win over a stored namesake.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { Writable } from 'node:stream';
import path from 'node:path';
import { UserStore } from '../../../../gateway/people/userStore.js';
import { UserDirectory } from '../../../../gateway/people/userDirectory.js';
import { openDb } from '../../../../gateway/db/sqlite.js';
import { createLogger } from '../../../../gateway/log.js';
import { hashSecret, verifySecret } from '../../../../gateway/scryptHash.js';
import { tempDir } from '../../../helpers/tmp.js';

let tmp: ReturnType<typeof tempDir>;
let file: string;
let store: UserStore;
const H = 'scrypt$4$8$1$c2FsdHNhbHRzYWx0c2FsdA==$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=';

beforeEach(async () => {
  tmp = tempDir('sgw-users-');
  file = path.join(tmp.dir, 'users.db');
  store = new UserStore(file, ['admin', 'Boss']);
  await store.start();
});
afterEach(async () => {
  await store.stop();
  tmp.remove();
});

describe('UserStore', () => {
  it('migrates a new file to version 1, in WAL mode, and leaves it there on reopen', async () => {
    await store.stop();
    store = new UserStore(file);
    await store.start();
    const db = await openDb(file, { readonly: true });
    expect(await db.get('PRAGMA user_version')).toEqual({ user_version: 1 });
    expect(await db.get('PRAGMA journal_mode')).toEqual({ journal_mode: 'wal' });
    const cols = (await db.all<{ name: string }>('PRAGMA table_info(ops_users)')).map((c) => c.name).sort();
    expect(cols).toEqual(['created_at', 'created_by', 'disabled', 'password_changed_at', 'password_hash', 'role', 'updated_at', 'username']);
    await db.close();
  });

  it('creates a user once, refuses a duplicate and any config name (case-insensitively)', async () => {
    expect(await store.create({ username: 'anna', role: 'attendant', passwordHash: H, createdBy: 'admin' }, 1000)).toBe('created');
    expect(await store.create({ username: 'anna', role: 'admin', passwordHash: H, createdBy: 'admin' }, 2000)).toBe('exists');
    expect(await store.create({ username: 'admin', role: 'admin', passwordHash: H, createdBy: 'admin' }, 2000)).toBe('reserved');
    expect(await store.create({ username: 'boss', role: 'admin', passwordHash: H, createdBy: 'admin' }, 2000)).toBe('reserved');
    expect(await store.find('anna')).toEqual({ username: 'anna', role: 'attendant', passwordHash: H, disabled: false, createdAt: 1000, updatedAt: 1000, createdBy: 'admin', passwordChangedAt: 1000 });
    expect((await store.list()).map((u) => u.username)).toEqual(['anna']);
    expect(await store.find('admin')).toBeUndefined();
  });

  it('changes role, disabled and password hash, stamping updated_at (and password_changed_at for the hash only)', async () => {
    await store.create({ username: 'ben', role: 'viewer', passwordHash: H, createdBy: 'admin' }, 1000);
    expect(await store.setRole('ben', 'admin', 2000)).toBe(true);
    expect(await store.setDisabled('ben', true, 3000)).toBe(true);
    expect(await store.find('ben')).toMatchObject({ role: 'admin', disabled: true, updatedAt: 3000, passwordChangedAt: 1000 });
    const h2 = await hashSecret('another-password', 4);
    expect(await store.setPasswordHash('ben', h2, 4000)).toBe(true);
    expect(await store.find('ben')).toMatchObject({ passwordHash: h2, updatedAt: 4000, passwordChangedAt: 4000 });
    expect(await store.setDisabled('nobody', true, 5000)).toBe(false);
  });

  it('refuses a role outside viewer/attendant/admin at the SQL level too', async () => {
    await expect(store.create({ username: 'eve', role: 'root' as never, passwordHash: H, createdBy: 'admin' }, 1)).rejects.toThrow(/CHECK constraint/);
  });

  it('keeps every user and change across a reopen', async () => {
    await store.create({ username: 'cara', role: 'attendant', passwordHash: H, createdBy: 'admin' }, 1000);
    await store.setDisabled('cara', true, 2000);
    await store.stop();
    store = new UserStore(file, ['admin']);
    await store.start();
    expect(await store.find('cara')).toMatchObject({ role: 'attendant', disabled: true, createdBy: 'admin', updatedAt: 2000 });
  });
});

describe('UserDirectory over the store', () => {
  const log = createLogger({ level: 'warn', stream: new Writable({ write: (_c, _e, cb) => cb() }) });

  it('lets a config user win over a stored namesake, and lists each name once', async () => {
    // A row that predates the config entry of the same name (the config file was edited later).
    const plain = new UserStore(file);
    await plain.start();
    await plain.create({ username: 'dora', role: 'admin', passwordHash: H, createdBy: 'admin' }, 1000);
    await plain.stop();
    const configHash = await hashSecret('dora-config-pass', 4);
    const dir = new UserDirectory({ configUsers: [{ username: 'dora', role: 'viewer', passwordHash: configHash }], store, log, now: () => 5000, passwordCost: 4 });
    await dir.start();
    expect(dir.find('dora')).toMatchObject({ source: 'config', role: 'viewer', passwordHash: configHash });
    expect(dir.list().filter((u) => u.username === 'dora')).toEqual([{ username: 'dora', role: 'viewer', source: 'config', disabled: false, createdAt: null, createdBy: null }]);
    expect(await dir.change('admin', 'dora', { kind: 'disable' })).toEqual({ ok: false, code: 'SGW_ERR_CONFLICT', message: 'dora is declared in the config file; change it there' });
  });

  it('adds a user with a generated password whose hash verifies, and refuses a config name', async () => {
    const dir = new UserDirectory({ configUsers: [{ username: 'admin', role: 'admin', passwordHash: H }], store, log, now: () => 7000, passwordCost: 4 });
    await dir.start();
    const res = await dir.add('erin', 'attendant', 'admin');
    if (!res.ok) throw new Error(res.message);
    expect(res.password).toMatch(/^[A-Za-z0-9_-]{24}$/);
    expect(await verifySecret(res.password!, (await store.find('erin'))!.passwordHash)).toBe(true);
    expect(dir.find('erin')).toMatchObject({ source: 'store', role: 'attendant', disabled: false });
    expect(await dir.add('admin', 'viewer', 'admin')).toMatchObject({ ok: false, code: 'SGW_ERR_CONFLICT' });
    expect(await dir.add('erin', 'viewer', 'admin')).toMatchObject({ ok: false, code: 'SGW_ERR_CONFLICT' });
  });
});
