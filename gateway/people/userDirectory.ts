/**
 * Every ops user the gateway knows: the config file's (authoritative, read-only, source 'config')
 * and those added from the ops page (users.db, source 'store'). Logins look people up here, in
 * memory; every change goes through the store first and then this map, one change at a time, so
 * the last-admin rule cannot be raced by two admins clicking at once.
 */
import { randomBytes } from 'node:crypto';
import type { Config } from '../config.js';
import type { Logger } from '../log.js';
import { hashSecret, PASSWORD_COST } from '../scryptHash.js';
import type { UserRole, UserStore, StoredUser } from './userStore.js';
import { refuseChange, type UserChange, type UserFacts } from './userPolicy.js';
import type { OpsUserView } from '../protocol/schemas/api/people.js';

export interface DirectoryUser extends UserFacts {
  passwordHash: string;
}

/** One row of `GET /api/admin/users` (the API's contract). */
export type { OpsUserView } from '../protocol/schemas/api/people.js';

export type ChangeResult =
  | { ok: true; user: OpsUserView; password?: string; changed: boolean }
  | { ok: false; code: 'SGW_ERR_NOT_FOUND' | 'SGW_ERR_CONFLICT'; message: string };

/** A generated password, shown once: 144 random bits as 24 base64url characters. */
export function newOpsPassword(): string {
  return randomBytes(18).toString('base64url');
}

export interface UserDirectoryOptions {
  configUsers: Config['opsUsers'];
  store: UserStore;
  log: Logger;
  now: () => number;
  /** log2 of the scrypt N for stored passwords (people: PASSWORD_COST). */
  passwordCost?: number;
}

export class UserDirectory {
  private readonly config = new Map<string, DirectoryUser>();
  private readonly stored = new Map<string, StoredUser>();
  private tail: Promise<unknown> = Promise.resolve();
  private readonly log: Logger;

  constructor(private readonly o: UserDirectoryOptions) {
    this.log = o.log.child({ module: 'users' });
  }

  async start(): Promise<void> {
    for (const u of this.o.configUsers) this.config.set(u.username, { username: u.username, role: u.role, passwordHash: u.passwordHash, disabled: false, source: 'config' });
    for (const u of await this.o.store.list()) {
      // A name the config file took later: the config wins, the stored row stays unused.
      if (this.config.has(u.username)) this.log.warn({ username: u.username }, 'a stored ops user is shadowed by the config file; the config entry is used');
      else this.stored.set(u.username, u);
    }
  }

  stop(): void {
    this.stored.clear();
    this.config.clear();
  }

  /** The login view of a user; config first. */
  find(username: string): DirectoryUser | undefined {
    const c = this.config.get(username);
    if (c) return c;
    const s = this.stored.get(username);
    return s ? { username: s.username, role: s.role, passwordHash: s.passwordHash, disabled: s.disabled, source: 'store' } : undefined;
  }

  list(): OpsUserView[] {
    const conf = [...this.config.values()].map((u) => ({ username: u.username, role: u.role, source: 'config' as const, disabled: false, createdAt: null, createdBy: null }));
    return [...conf, ...[...this.stored.values()].map(view)].sort((a, b) => a.username.localeCompare(b.username));
  }

  /** Adds a store user with a generated password (returned once; only its hash is kept). */
  async add(username: string, role: UserRole, by: string): Promise<ChangeResult> {
    const password = newOpsPassword();
    const passwordHash = await hashSecret(password, this.o.passwordCost ?? PASSWORD_COST);
    return this.serial(async () => {
      if (this.find(username) || [...this.config.keys()].some((n) => n.toLowerCase() === username)) return conflict(`${username} exists already`);
      const res = await this.o.store.create({ username, role, passwordHash, createdBy: by }, this.o.now());
      if (res !== 'created') return conflict(`${username} exists already`);
      return { ok: true, user: await this.reload(username), password, changed: true };
    });
  }

  /** A role change, disable/enable or a password reset of a store user by admin `by`. */
  async change(by: string, username: string, change: UserChange): Promise<ChangeResult> {
    const hash = change.kind === 'reset' ? await this.newHash() : null;
    return this.serial(async () => {
      const target = this.find(username);
      if (!target) return { ok: false, code: 'SGW_ERR_NOT_FOUND', message: `no ops user ${username}` };
      if (target.source === 'config') return conflict(`${username} is declared in the config file; change it there`);
      const refused = refuseChange(this.facts(), by, target, change);
      if (refused) return conflict(refused);
      const t = this.o.now();
      let changed = true;
      if (change.kind === 'role') {
        changed = target.role !== change.role;
        if (changed) await this.o.store.setRole(username, change.role, t);
      } else if (change.kind === 'disable' || change.kind === 'enable') {
        changed = target.disabled !== (change.kind === 'disable');
        if (changed) await this.o.store.setDisabled(username, change.kind === 'disable', t);
      } else {
        await this.o.store.setPasswordHash(username, hash!.hash, t);
      }
      return { ok: true, user: await this.reload(username), changed, ...(hash ? { password: hash.password } : {}) };
    });
  }

  /** A person's own new password (already checked against the current one by the caller). */
  async setOwnPassword(username: string, next: string): Promise<ChangeResult> {
    const passwordHash = await hashSecret(next, this.o.passwordCost ?? PASSWORD_COST);
    return this.serial(async () => {
      const u = this.find(username);
      if (!u) return { ok: false, code: 'SGW_ERR_NOT_FOUND', message: `no ops user ${username}` };
      if (u.source === 'config') return conflict(`${username} is declared in the config file; change it there`);
      await this.o.store.setPasswordHash(username, passwordHash, this.o.now());
      return { ok: true, user: await this.reload(username), changed: true };
    });
  }

  private facts(): UserFacts[] {
    return [...this.config.values(), ...[...this.stored.values()].map((s) => ({ username: s.username, role: s.role, disabled: s.disabled, source: 'store' as const }))];
  }

  private async newHash(): Promise<{ password: string; hash: string }> {
    const password = newOpsPassword();
    return { password, hash: await hashSecret(password, this.o.passwordCost ?? PASSWORD_COST) };
  }

  private async reload(username: string): Promise<OpsUserView> {
    const row = await this.o.store.find(username);
    if (!row) throw new Error(`ops user ${username} vanished from users.db`);
    this.stored.set(username, row);
    return view(row);
  }

  /** Runs changes one after another (a failing one does not block the next). */
  private serial<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.tail.then(fn, fn);
    this.tail = run.catch(() => undefined);
    return run;
  }
}

function view(s: StoredUser): OpsUserView {
  return { username: s.username, role: s.role, source: 'store', disabled: s.disabled, createdAt: s.createdAt, createdBy: s.createdBy };
}

function conflict(message: string): ChangeResult {
  return { ok: false, code: 'SGW_ERR_CONFLICT', message };
}
