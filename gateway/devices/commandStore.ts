/**
 * Command repository (commands.db): every device command from the moment it is asked for until
 * the device acks it, fails, or it expires; finished ones stay a while as history for ops.
 *
 * Its own file rather than state.db: state.db is written with synchronous=NORMAL by the registry's
 * flush timer, while a command must survive a power loss once it may have reached a device
 * (FULL, like the outbox), and its write path should not queue behind registry flushes.
 */
import { openOwned, type OwnedFile, type OwnerConnection } from '../db/owner.js';
import type { DeviceKind } from '../protocol/topics.js';
import type { CommandState, PendingCommand } from './commandPolicy.js';

const MIGRATIONS: readonly string[] = [
  `CREATE TABLE commands (
     cmd_id TEXT PRIMARY KEY, kind TEXT NOT NULL, device_id TEXT NOT NULL, type TEXT NOT NULL,
     payload TEXT NOT NULL, source TEXT NOT NULL, created_at INTEGER NOT NULL, expires_at INTEGER NOT NULL,
     attempts INTEGER NOT NULL DEFAULT 0, last_sent_at INTEGER,
     state TEXT NOT NULL CHECK (state IN ('pending', 'acked', 'failed', 'expired')),
     ack_error TEXT, acked_at INTEGER, finished_at INTEGER
   );
   CREATE INDEX commands_pending ON commands (state, created_at);
   CREATE INDEX commands_device ON commands (kind, device_id, created_at)`,
];

export interface CommandRow extends PendingCommand {
  source: string;
  state: CommandState;
  /** The device's error (ok:false), or why the gateway gave up (expired, no ack). */
  error: string | null;
  ackedAt: number | null;
  finishedAt: number | null;
}

interface RawRow {
  cmd_id: string;
  kind: string;
  device_id: string;
  type: string;
  payload: string;
  source: string;
  created_at: number;
  expires_at: number;
  attempts: number;
  last_sent_at: number | null;
  state: CommandState;
  ack_error: string | null;
  acked_at: number | null;
  finished_at: number | null;
}

const COLS = 'cmd_id, kind, device_id, type, payload, source, created_at, expires_at, attempts, last_sent_at, state, ack_error, acked_at, finished_at';

function toRow(r: RawRow): CommandRow {
  const { cmdId: _id, ...data } = JSON.parse(r.payload) as Record<string, unknown>;
  return {
    cmdId: r.cmd_id,
    kind: r.kind as DeviceKind,
    deviceId: r.device_id,
    type: r.type,
    data,
    source: r.source,
    createdAt: r.created_at,
    expiresAt: r.expires_at,
    attempts: r.attempts,
    lastSentAt: r.last_sent_at,
    state: r.state,
    error: r.ack_error,
    ackedAt: r.acked_at,
    finishedAt: r.finished_at,
  };
}

export type AckOutcome = 'acked' | 'failed' | 'duplicate' | 'unknown';

export class CommandStore {
  /** The file's connection, held by its writer thread (db/owner.ts): a command's fsync (synchronous FULL) never blocks the event loop. */
  private db!: OwnerConnection;
  private owned: OwnedFile | null = null;
  constructor(private readonly file: string) {}

  async start(): Promise<void> {
    const f = await openOwned(this.file, MIGRATIONS, { synchronous: 'FULL' });
    this.owned = f;
    this.db = f.conn;
  }

  async stop(): Promise<void> {
    await this.owned?.close();
    this.owned = null;
  }

  /** A new pending command; `sentAt` set when it goes out at once (it counts as attempt 1). */
  async insert(c: { cmdId: string; kind: DeviceKind; deviceId: string; type: string; payload: string; source: string; createdAt: number; expiresAt: number; sentAt: number | null }): Promise<void> {
    await this.db.run(
      `INSERT INTO commands (cmd_id, kind, device_id, type, payload, source, created_at, expires_at, attempts, last_sent_at, state)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 'pending')`,
      [c.cmdId, c.kind, c.deviceId, c.type, c.payload, c.source, c.createdAt, c.expiresAt, c.sentAt === null ? 0 : 1, c.sentAt],
    );
  }

  /** Counts one more attempt; written before the publish, like the insert. */
  async markSent(cmdId: string, at: number): Promise<void> {
    await this.markSentMany([cmdId], at);
  }

  /** One statement (one fsync) for a whole re-send after a reconnect. */
  async markSentMany(cmdIds: readonly string[], at: number): Promise<void> {
    if (cmdIds.length === 0) return;
    await this.db.run("UPDATE commands SET attempts = attempts + 1, last_sent_at = ? WHERE cmd_id IN (SELECT value FROM json_each(?)) AND state = 'pending'", [at, JSON.stringify(cmdIds)]);
  }

  /**
   * The device's answer. The first answer wins: a re-sent command is acked again and that second
   * ack changes nothing. An answer after the gateway gave up (expired, no ack) is still the truth.
   */
  async ack(cmdId: string, ok: boolean, error: string | null, at: number): Promise<AckOutcome> {
    const res = await this.db.run(
      'UPDATE commands SET state = ?, ack_error = ?, acked_at = ?, finished_at = ? WHERE cmd_id = ? AND acked_at IS NULL',
      [ok ? 'acked' : 'failed', ok ? null : (error ?? 'failed'), at, at, cmdId],
    );
    if (res.changes > 0) return ok ? 'acked' : 'failed';
    return (await this.db.get('SELECT 1 FROM commands WHERE cmd_id = ?', [cmdId])) ? 'duplicate' : 'unknown';
  }

  /** The gateway gives up on a pending command (TTL, superseded, too many attempts). */
  async finish(cmdId: string, state: 'expired' | 'failed', reason: string, at: number): Promise<boolean> {
    const res = await this.db.run("UPDATE commands SET state = ?, ack_error = ?, finished_at = ? WHERE cmd_id = ? AND state = 'pending'", [state, reason, at, cmdId]);
    return res.changes > 0;
  }

  async get(cmdId: string): Promise<CommandRow | undefined> {
    const r = await this.db.get<RawRow>(`SELECT ${COLS} FROM commands WHERE cmd_id = ?`, [cmdId]);
    return r ? toRow(r) : undefined;
  }

  /** Pending commands in the order they were asked for; of one device, or of all. */
  async pending(kind?: DeviceKind, deviceId?: string): Promise<CommandRow[]> {
    const rows =
      kind === undefined
        ? await this.db.all<RawRow>(`SELECT ${COLS} FROM commands WHERE state = 'pending' ORDER BY created_at, rowid`)
        : await this.db.all<RawRow>(`SELECT ${COLS} FROM commands WHERE state = 'pending' AND kind = ? AND device_id = ? ORDER BY created_at, rowid`, [kind, deviceId]);
    return rows.map(toRow);
  }

  /** Finished commands of one device, newest first. */
  async recent(kind: DeviceKind, deviceId: string, limit: number): Promise<CommandRow[]> {
    const rows = await this.db.all<RawRow>(
      `SELECT ${COLS} FROM commands WHERE kind = ? AND device_id = ? AND state != 'pending' ORDER BY created_at DESC, rowid DESC LIMIT ?`,
      [kind, deviceId, limit],
    );
    return rows.map(toRow);
  }

  /** Drops finished commands older than `before`, and beyond the newest `keepPerDevice` of each device. */
  async prune(before: number, keepPerDevice: number): Promise<number> {
    const res = await this.db.run(
      `DELETE FROM commands WHERE state != 'pending' AND (COALESCE(finished_at, created_at) < ? OR rowid IN (
         SELECT rowid FROM (SELECT rowid, ROW_NUMBER() OVER (PARTITION BY kind, device_id ORDER BY created_at DESC, rowid DESC) AS n
                            FROM commands WHERE state != 'pending') WHERE n > ?))`,
      [before, keepPerDevice],
    );
    return res.changes;
  }
}
