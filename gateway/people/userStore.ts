/**
 * Ops users repository (users.db): people added from the ops page. Only the scrypt hash of a
 * password is stored, never the password. Users of the config file are not stored
 * here: they stay authoritative and read-only, so their names are refused at create.
 */
import { type Db } from '../db/sqlite.js';
import { openStore } from '../db/openStore.js';

export type UserRole = 'viewer' | 'attendant' | 'admin';

const MIGRATIONS: readonly string[] = [
  `CREATE TABLE ops_users (
     username TEXT PRIMARY KEY,
     role TEXT NOT NULL CHECK (role IN ('viewer', 'attendant', 'admin')),
     password_hash TEXT NOT NULL,
     disabled INTEGER NOT NULL DEFAULT 0,
     created_at INTEGER NOT NULL,
     updated_at INTEGER NOT NULL,
     created_by TEXT NOT NULL,
     password_changed_at INTEGER NOT NULL
   )`,
];

export interface StoredUser {
  username: string;
  role: UserRole;
  passwordHash: string;
  disabled: boolean;
  createdAt: number;
  updatedAt: number;
  createdBy: string;
  passwordChangedAt: number;
}

interface Row {
  username: string;
  role: UserRole;
  password_hash: string;
  disabled: number;
  created_at: number;
  updated_at: number;
  created_by: string;
  password_changed_at: number;
}

const COLUMNS = 'username, role, password_hash, disabled, created_at, updated_at, created_by, password_changed_at';

function fromRow(r: Row): StoredUser {
  return {
    username: r.username,
    role: r.role,
    passwordHash: r.password_hash,
    disabled: r.disabled === 1,
    createdAt: r.created_at,
    updatedAt: r.updated_at,
    createdBy: r.created_by,
    passwordChangedAt: r.password_changed_at,
  };
}

export type CreateResult = 'created' | 'exists' | 'reserved';

export class UserStore {
  private db!: Db;
  private readonly reserved: ReadonlySet<string>;

  /** `reservedNames`: the config file's usernames (compared case-insensitively, so "Admin" also keeps "admin" out). */
  constructor(
    private readonly file: string,
    reservedNames: readonly string[] = [],
  ) {
    this.reserved = new Set(reservedNames.map((n) => n.toLowerCase()));
  }

  async start(): Promise<void> {
    this.db = await openStore(this.file, { migrations: MIGRATIONS });
  }

  async stop(): Promise<void> {
    if (this.db) await this.db.close();
  }

  async list(): Promise<StoredUser[]> {
    return (await this.db.all<Row>(`SELECT ${COLUMNS} FROM ops_users ORDER BY username`)).map(fromRow);
  }

  async find(username: string): Promise<StoredUser | undefined> {
    const r = await this.db.get<Row>(`SELECT ${COLUMNS} FROM ops_users WHERE username = ?`, [username]);
    return r ? fromRow(r) : undefined;
  }

  async create(u: { username: string; role: UserRole; passwordHash: string; createdBy: string }, now: number): Promise<CreateResult> {
    if (this.reserved.has(u.username.toLowerCase())) return 'reserved';
    // ON CONFLICT, not OR IGNORE: OR IGNORE would also swallow a CHECK failure as "exists".
    const res = await this.db.run(
      `INSERT INTO ops_users (${COLUMNS}) VALUES (?, ?, ?, 0, ?, ?, ?, ?) ON CONFLICT (username) DO NOTHING`,
      [u.username, u.role, u.passwordHash, now, now, u.createdBy, now],
    );
    return res.changes > 0 ? 'created' : 'exists';
  }

  /** Each setter answers whether the user exists. */
  async setRole(username: string, role: UserRole, now: number): Promise<boolean> {
    return this.update('role = ?', [role], username, now);
  }

  async setDisabled(username: string, disabled: boolean, now: number): Promise<boolean> {
    return this.update('disabled = ?', [disabled ? 1 : 0], username, now);
  }

  async setPasswordHash(username: string, passwordHash: string, now: number): Promise<boolean> {
    return this.update('password_hash = ?, password_changed_at = ?', [passwordHash, now], username, now);
  }

  private async update(set: string, params: unknown[], username: string, now: number): Promise<boolean> {
    const res = await this.db.run(`UPDATE ops_users SET ${set}, updated_at = ? WHERE username = ?`, [...params, now, username]);
    return res.changes > 0;
  }
}
