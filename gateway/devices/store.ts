/**
 * Registry repository (state.db): provisioned devices (hash only, never the secret) and the last
 * known state of every device, so a restarted gateway lists every device at once with its history.
 */
import { openOwned, type OwnedFile, type OwnerConnection } from '../db/owner.js';

const MIGRATIONS: readonly string[] = [
  `CREATE TABLE provisioned (
     kind TEXT NOT NULL, id TEXT NOT NULL, secret_hash TEXT NOT NULL, location TEXT,
     disabled INTEGER NOT NULL DEFAULT 0, created_at INTEGER NOT NULL,
     PRIMARY KEY (kind, id)
   );
   CREATE TABLE device_state (
     kind TEXT NOT NULL, id TEXT NOT NULL, last_seen INTEGER, birth TEXT, last_events TEXT NOT NULL DEFAULT '{}',
     events INTEGER NOT NULL DEFAULT 0, rejects TEXT NOT NULL DEFAULT '{}',
     PRIMARY KEY (kind, id)
   )`,
];

export interface ProvisionedRow {
  kind: string;
  id: string;
  secretHash: string;
  location: string | null;
  disabled: boolean;
  createdAt: number;
}

export interface StateRow {
  kind: string;
  id: string;
  lastSeen: number | null;
  birth: unknown;
  lastEvents: Record<string, unknown>;
  events: number;
  rejects: Record<string, number>;
}

export class DeviceStore {
  /** The file's connection, held by its writer thread (db/owner.ts): a flush of thousands of device states commits off the event loop. */
  private db!: OwnerConnection;
  private owned: OwnedFile | null = null;
  constructor(private readonly file: string) {}

  async start(): Promise<void> {
    const f = await openOwned(this.file, MIGRATIONS, { synchronous: 'NORMAL' });
    this.owned = f;
    this.db = f.conn;
  }

  async stop(): Promise<void> {
    await this.owned?.close();
    this.owned = null;
  }

  async provisioned(): Promise<ProvisionedRow[]> {
    const rows = await this.db.all<{ kind: string; id: string; secret_hash: string; location: string | null; disabled: number; created_at: number }>(
      'SELECT kind, id, secret_hash, location, disabled, created_at FROM provisioned',
    );
    return rows.map((r) => ({ kind: r.kind, id: r.id, secretHash: r.secret_hash, location: r.location, disabled: r.disabled === 1, createdAt: r.created_at }));
  }

  async findProvisioned(kind: string, id: string): Promise<ProvisionedRow | undefined> {
    return (await this.provisioned()).find((r) => r.kind === kind && r.id === id);
  }

  /** Adds a device or replaces its secret (rotation); returns false if it existed and `replace` is off. */
  async provision(row: Omit<ProvisionedRow, 'createdAt'>, now: number, replace = false): Promise<boolean> {
    const sql = replace
      ? `INSERT INTO provisioned (kind, id, secret_hash, location, disabled, created_at) VALUES (?, ?, ?, ?, ?, ?)
         ON CONFLICT (kind, id) DO UPDATE SET secret_hash = excluded.secret_hash, disabled = excluded.disabled`
      : 'INSERT OR IGNORE INTO provisioned (kind, id, secret_hash, location, disabled, created_at) VALUES (?, ?, ?, ?, ?, ?)';
    const res = await this.db.run(sql, [row.kind, row.id, row.secretHash, row.location, row.disabled ? 1 : 0, now]);
    return res.changes > 0;
  }

  async setDisabled(kind: string, id: string, disabled: boolean): Promise<void> {
    await this.db.run('UPDATE provisioned SET disabled = ? WHERE kind = ? AND id = ?', [disabled ? 1 : 0, kind, id]);
  }

  /** The newest last-seen wall time of any device, or null (the boot clock check's evidence). */
  async lastSeenMax(): Promise<number | null> {
    const row = await this.db.get<{ t: number | null }>('SELECT max(last_seen) AS t FROM device_state');
    return row?.t ?? null;
  }

  async states(): Promise<StateRow[]> {
    const rows = await this.db.all<{ kind: string; id: string; last_seen: number | null; birth: string | null; last_events: string; events: number; rejects: string }>(
      'SELECT kind, id, last_seen, birth, last_events, events, rejects FROM device_state',
    );
    return rows.map((r) => ({
      kind: r.kind,
      id: r.id,
      lastSeen: r.last_seen,
      birth: r.birth ? JSON.parse(r.birth) : null,
      lastEvents: JSON.parse(r.last_events) as Record<string, unknown>,
      events: r.events,
      rejects: JSON.parse(r.rejects) as Record<string, number>,
    }));
  }

  async saveStates(rows: StateRow[]): Promise<void> {
    if (rows.length === 0) return;
    const payload = JSON.stringify(
      rows.map((r) => [r.kind, r.id, r.lastSeen, r.birth === null ? null : JSON.stringify(r.birth), JSON.stringify(r.lastEvents), r.events, JSON.stringify(r.rejects)]),
    );
    await this.db.run(
      `INSERT INTO device_state (kind, id, last_seen, birth, last_events, events, rejects)
       SELECT value->>0, value->>1, value->>2, value->>3, value->>4, value->>5, value->>6 FROM json_each(?)
       WHERE true
       ON CONFLICT (kind, id) DO UPDATE SET last_seen = excluded.last_seen, birth = excluded.birth,
         last_events = excluded.last_events, events = excluded.events, rejects = excluded.rejects`,
      [payload],
    );
  }
}
