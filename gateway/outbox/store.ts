/**
 * The outbox repository: the durable half of ingest. One transaction appends a whole group of
 * events (one prepared INSERT run per row inside it: one fsync per group, never per event); the
 * group's dead letters commit beside it in deadletters.db. A group that moves the day's numbers
 * commits its KPI increments in that same transaction (`companion`). The sequence high-water mark is raised by the
 * transactions that delete rows (uplink/store.ts), so a seq is never reused even after the uplink
 * deleted everything below it.
 */
import { existsSync } from 'node:fs';
import { stat } from 'node:fs/promises';
import path from 'node:path';
import { openDb, migrate, type Db } from '../db/sqlite.js';
import { acquireSharedOwner, type DbOwner, type OwnerConnection, type Step } from '../db/owner.js';
import { DeadLetterStore, type DeadLetter, type DeadLetterLimits, type DropReason } from './deadLetters.js';
import { OUTBOX_MIGRATIONS } from './migrations/index.js';
import { OutboxCounts } from './counts.js';
import type { EventClass } from '../protocol/schemas/index.js';
import type { OutboxRecord } from '../protocol/envelopes.js';
import type { DeviceKind } from '../protocol/topics.js';

export interface NewEvent {
  seq: number;
  cls: EventClass;
  kind: DeviceKind;
  deviceId: string;
  type: string;
  ts: string;
  recvTs: number;
  monoMs: number;
  /** The payload as JSON text (validated). */
  data: string;
}

export type { DeadLetter } from './deadLetters.js';

/** One outbox row; declared once, beside the batch record it becomes (protocol/envelopes.ts). */
export type { OutboxRecord } from '../protocol/envelopes.js';

/** What became of a group's two halves: null where it committed, else why it did not. */
export interface GroupOutcome {
  events: Error | null;
  dead: Error | null;
}

/**
 * Rows that commit in the same transaction as a group of events (the KPI counters, so a
 * crash keeps both or neither). Never throws from `prepare`: a bug there must not stop ingest.
 */
export interface GroupCompanion {
  /** What this group adds, or null when it adds nothing (the append then stays one statement). */
  prepare(events: readonly NewEvent[]): CompanionWrite | null;
}

export interface CompanionWrite {
  /** Its statements, run by the outbox's writer thread inside the group's transaction. */
  steps(): Step[];
  /** Called once the transaction committed (not when it rolled back). */
  committed(): void;
}

export interface ClassStats {
  count: number;
  minSeq: number | null;
  maxSeq: number | null;
}

// One prepared statement, run once per event inside the group's transaction (better-sqlite3's
// batch idiom): every value is a bound parameter.
export const INSERT_EVENT = `INSERT INTO events (seq, cls, kind, device_id, type, ts, recv_ts, boot_id, mono_ms, data)
  VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`;

export interface OutboxOptions {
  readonly?: boolean;
  checkpointEveryMs?: number;
  /** The WAL is truncated (not only reset) once it passes this many bytes and no reader holds it. */
  walTruncateBytes?: number;
  deadLetters?: DeadLetterLimits;
  onDeadLettersDropped?: (reason: DropReason, n: number) => void;
  onError?: (err: Error) => void;
}

export class OutboxStore {
  /** The main thread's connection: reads, and the migrations at start. */
  private db!: Db;
  /** The thread that owns outbox.db's (and deadletters.db's) writes: the shared one of db/owner.ts. */
  private thread: { owner: DbOwner; release: () => Promise<void> } | null = null;
  private writerConn: OwnerConnection | null = null;
  /** Dead letters live in their own file (deadletters.db), outside what the quota measures. */
  readonly dead: DeadLetterStore;
  /** Bytes of outbox.db-wal at the last checkpoint (the quota does not count it). */
  walBytes = 0;
  /** When the last group was appended (monotonic ms): a WAL is truncated only in a lull. */
  private lastAppendAt = 0;
  private checkpointer: OwnerConnection | null = null;
  private deadConn: OwnerConnection | null = null;
  private checkpointTimer: NodeJS.Timeout | null = null;
  /** Rows per class, kept on every committed change (this store's appends, the uplink's deletes). */
  readonly counts = new OutboxCounts();
  /** Writes that commit with each group (the KPI counters); set before ingest starts. */
  companion: GroupCompanion | null = null;
  constructor(
    private readonly file: string,
    private readonly opts: OutboxOptions = {},
  ) {
    this.dead = new DeadLetterStore(path.join(path.dirname(file), 'deadletters.db'), {
      readonly: opts.readonly,
      limits: opts.deadLetters,
      onDropped: opts.onDeadLettersDropped,
      onError: opts.onError,
    });
  }

  async start(): Promise<void> {
    this.db = await openDb(this.file, { readonly: this.opts.readonly, synchronous: 'FULL' });
    if (this.opts.readonly) {
      if (existsSync(this.dead.file)) await this.dead.start();
      return;
    }
    await this.dead.start();
    await this.moveOldDeadLetters();
    await migrate(this.db, OUTBOX_MIGRATIONS);
    // The only full count: from here on the counts move with each commit.
    this.counts.reset(await this.db.all<{ cls: string; n: number }>('SELECT cls, COUNT(*) AS n FROM events GROUP BY cls'));
    // This read connection never checkpoints; the writer below does.
    await this.db.exec('PRAGMA wal_autocheckpoint = 0');
    this.thread = acquireSharedOwner();
    const owner = this.thread.owner;
    // When the log restarts on its own (a checkpoint caught up), SQLite trims the file to this size
    // (an integer the config schema checked; a PRAGMA binds nothing).
    const limit = Math.trunc(this.opts.walTruncateBytes ?? 64 * 1_048_576);
    // The writer checkpoints itself (SQLite's automatic PASSIVE checkpoint once the WAL holds
    // ~1,000 pages), between two group commits on its own thread. Measured: a separate
    // connection copying the WAL every second on another thread put its copy and fsync beside the
    // commits' fsyncs and raised the PUBACK p99 at 5,000 events/s from ~12 to ~41-66 ms; with the
    // writer's own checkpoint it is back to ~12 ms (BENCHMARKS.md, session 4). The checkpointer
    // below only measures the WAL and truncates it (see checkpoint()).
    this.writerConn = await owner.open(this.file, { synchronous: 'FULL', pragmas: [`journal_size_limit = ${limit}`] });
    // The checkpointer is a connection of the same thread: its TRUNCATE runs between two group
    // commits, never beside one.
    this.checkpointer = await owner.open(this.file, { synchronous: 'FULL', busyTimeoutMs: 0, pragmas: ['wal_autocheckpoint = 0'] });
    this.deadConn = await owner.open(this.dead.file, { synchronous: 'FULL' });
    this.dead.useWriter(this.deadConn);
    this.checkpointTimer = setInterval(() => {
      this.checkpoint().catch(() => undefined); // a busy checkpoint simply tries again next time
    }, this.opts.checkpointEveryMs ?? 1000);
    this.checkpointTimer.unref();
  }

  async stop(): Promise<void> {
    if (this.checkpointTimer) clearInterval(this.checkpointTimer);
    this.checkpointTimer = null;
    if (this.checkpointer) {
      await this.checkpointer.steps([{ sql: 'PRAGMA wal_checkpoint(TRUNCATE)', rows: [[]] }], false).catch(() => undefined);
      await this.checkpointer.close().catch(() => undefined);
      this.checkpointer = null;
    }
    if (this.writerConn) await this.writerConn.close().catch(() => undefined);
    this.writerConn = null;
    this.dead.useWriter(null);
    if (this.deadConn) await this.deadConn.close().catch(() => undefined);
    this.deadConn = null;
    // The thread stops once its last user released it, after every request sent was answered.
    await this.thread?.release();
    this.thread = null;
    await this.dead.stop();
    if (this.db) await this.db.close();
  }

  /**
   * The connection every write to outbox.db goes through (the uplink's deletes and compaction too),
   * held by the writer thread; null when read-only or not started.
   */
  get writer(): OwnerConnection | null {
    return this.writerConn;
  }

  /**
   * Dead letters written before they had their own file move there (newest first up to the row
   * bound) before migration 3 drops the old table.
   */
  private async moveOldDeadLetters(): Promise<void> {
    const v = await this.db.get<{ user_version: number }>('PRAGMA user_version');
    if ((v?.user_version ?? 0) >= 3) return;
    const t = await this.db.get<{ n: number }>("SELECT COUNT(*) AS n FROM sqlite_schema WHERE type = 'table' AND name = 'dead_letters'");
    if (!t || t.n === 0) return;
    const rows = await this.db.all<DeadLetter>(
      'SELECT recv_ts AS recvTs, kind, device_id AS deviceId, topic, code, reason, payload FROM dead_letters ORDER BY id DESC LIMIT ?',
      [(this.opts.deadLetters?.maxRows ?? 10_000)],
    );
    await this.dead.append(rows.reverse());
  }

  /** The highest seq ever handed out (committed), from the high-water mark. */
  async lastSeq(): Promise<number> {
    const row = await this.db.get<{ v: number }>("SELECT v FROM meta WHERE k = 'seq'");
    const max = await this.db.get<{ m: number | null }>('SELECT MAX(seq) AS m FROM events');
    return Math.max(row?.v ?? 0, max?.m ?? 0);
  }

  /**
   * One durable transaction for a group of events, and one for its dead letters (their own file).
   * Every value is a bound parameter: a device's text is never SQL, whatever characters it holds.
   */
  async appendGroup(events: NewEvent[], dead: DeadLetter[], bootId: string): Promise<GroupOutcome> {
    // The two files commit one after the other on the writer thread; the group's callbacks run
    // after both, so nothing is acknowledged before it is durable. Each half answers
    // for its own items: were a failed dead-letter commit to fail the events beside it, their
    // devices would re-send events that are already stored (duplicates under new seqs).
    const [ev, dl] = await Promise.allSettled([events.length > 0 ? this.appendEvents(events, bootId) : undefined, this.dead.append(dead)]);
    const outcome: GroupOutcome = { events: ev.status === 'rejected' ? (ev.reason as Error) : null, dead: dl.status === 'rejected' ? (dl.reason as Error) : null };
    if (outcome.events && outcome.dead) throw outcome.events;
    return outcome;
  }

  /**
   * The group's events in one transaction (BEGIN IMMEDIATE … COMMIT, one fsync at COMMIT), with the
   * companion's rows (KPI increments) when it has any, so a crash keeps both or neither. It runs
   * on the writer thread, which answers requests one at a time: no other write joins it, and the
   * event loop goes on while it commits. The seq high-water mark is kept by
   * whoever deletes rows (uplink/store.ts), so an append needs no statement of its own for it.
   */
  private async appendEvents(events: NewEvent[], bootId: string): Promise<void> {
    if (!this.writerConn) throw new Error('outbox: not started for writing');
    this.lastAppendAt = performance.now();
    const extra = this.companion?.prepare(events) ?? null;
    const steps: Step[] = [{ sql: INSERT_EVENT, rows: events.map((e) => [e.seq, e.cls, e.kind, e.deviceId, e.type, e.ts, e.recvTs, bootId, e.monoMs, e.data]) }];
    if (extra) steps.push(...extra.steps());
    await this.writerConn.steps(steps, true);
    this.counts.addEach(events.map((e) => e.cls), 1);
    try {
      extra?.committed();
    } catch (err) {
      // The rows are durable: failing the group now would make its devices send them again.
      this.opts.onError?.(err as Error);
    }
  }

  /**
   * Measures the WAL (the writer's automatic checkpoints copy it into the database as it grows)
   * and gives its bytes back when it has grown past `walTruncateBytes`.
   */
  async checkpoint(): Promise<void> {
    if (!this.checkpointer) return;
    this.walBytes = await walSize(this.file);
    const limit = this.opts.walTruncateBytes ?? 64 * 1_048_576;
    if (this.walBytes <= limit) return;
    // A reader holding an old snapshot, or writes that never pause long enough for a checkpoint to
    // catch up, let the WAL grow outside the quota (the writer's journal_size_limit trims it when
    // the log restarts on its own). TRUNCATE gives the bytes back, but it holds the write lock
    // while it copies what is left, and every device's commit waits behind it: measured, a 64 MiB
    // WAL truncated under 5,000 events/s put 60-110 ms into PUBACKs. So it runs in a lull (no
    // append for a second), and under writes that never pause only past 4x the limit, one stall
    // to keep the disk bounded. With a reader still on an old snapshot it reports busy at once
    // (busy_timeout 0) and is tried again next tick.
    const lull = performance.now() - this.lastAppendAt > 1000;
    if (!lull && this.walBytes <= limit * 4) return;
    await this.checkpointer.steps([{ sql: 'PRAGMA wal_checkpoint(TRUNCATE)', rows: [[]] }], false);
    this.walBytes = await walSize(this.file);
  }

  async stats(): Promise<Record<string, ClassStats>> {
    const rows = await this.db.all<{ cls: string; n: number; lo: number; hi: number }>('SELECT cls, COUNT(*) AS n, MIN(seq) AS lo, MAX(seq) AS hi FROM events GROUP BY cls');
    const out: Record<string, ClassStats> = {};
    for (const r of rows) out[r.cls] = { count: r.n, minSeq: r.lo, maxSeq: r.hi };
    return out;
  }

  /** Rows in the outbox (from the counts, no query). */
  depth(): number {
    return this.counts.total;
  }

  /** Dead letters kept now (a counter, no query). */
  deadLetterCount(): number {
    return this.dead.rows;
  }

  async recentDeadLetters(deviceId: string, limit = 20): Promise<DeadLetter[]> {
    if (!this.dead.started) return []; // read-only and no dead letter file yet
    return this.dead.recent(deviceId, limit);
  }

  /** Records in seq order from `fromSeq` (inclusive), at most `limit`. */
  async read(fromSeq: number, limit: number): Promise<OutboxRecord[]> {
    const rows = await this.db.all<EventRow>('SELECT seq, cls, kind, device_id, type, ts, recv_ts, boot_id, mono_ms, data FROM events WHERE seq >= ? ORDER BY seq LIMIT ?', [fromSeq, limit]);
    return rows.map(outboxRecordOf);
  }

  /**
   * The sale committed for a payment request, if any: kept by the same transaction as the
   * record and never deleted by the uplink, so the answer holds after HQ took the record.
   */
  async saleFor(requestId: string): Promise<{ seq: number; transactionId: string; kioskId: string } | null> {
    const r = await this.db.get<{ seq: number; transaction_id: string; kiosk_id: string }>('SELECT seq, transaction_id, kiosk_id FROM sale_keys WHERE request_id = ?', [requestId]);
    return r ? { seq: r.seq, transactionId: r.transaction_id, kioskId: r.kiosk_id } : null;
  }

  /** The last `result` a payment request got from its terminal (kept like saleFor), or null. */
  async paymentResultFor(requestId: string): Promise<{ seq: number; deviceId: string; data: Record<string, unknown> } | null> {
    const r = await this.db.get<{ seq: number; device_id: string; data: string }>('SELECT seq, device_id, data FROM payment_results WHERE request_id = ?', [requestId]);
    return r ? { seq: r.seq, deviceId: r.device_id, data: JSON.parse(r.data) as Record<string, unknown> } : null;
  }

  /** The seq of the `pickup` or `handover` record committed for an order, if any (kept like saleFor). */
  async recordKey(type: 'pickup' | 'handover' | 'stockMove' | 'saleVoided', orderId: string): Promise<number | null> {
    const r = await this.db.get<{ seq: number }>('SELECT seq FROM record_keys WHERE type = ? AND key = ?', [type, orderId]);
    return r?.seq ?? null;
  }

  /** Forgets sale keys and payment results below `seq` (no payment that old is open). */
  async pruneSettlement(belowSeq: number): Promise<void> {
    if (!this.writerConn) throw new Error('outbox: not started for writing');
    await this.writerConn.steps([{ sql: 'DELETE FROM sale_keys WHERE seq < ?', rows: [[belowSeq]] }, { sql: 'DELETE FROM payment_results WHERE seq < ?', rows: [[belowSeq]] }], true);
  }

  get database(): Db {
    return this.db;
  }
}

async function walSize(dbFile: string): Promise<number> {
  return (await stat(`${dbFile}-wal`).catch(() => null))?.size ?? 0;
}

/** An `events` row as the outbox reads it (the uplink's store reads the same columns). */
export interface EventRow {
  seq: number;
  cls: EventClass;
  kind: DeviceKind;
  device_id: string;
  type: string;
  ts: string;
  recv_ts: number;
  boot_id: string;
  mono_ms: number;
  data: string;
}

/** One `events` row as an OutboxRecord (`data` parsed). */
export function outboxRecordOf(r: EventRow): OutboxRecord {
  return { seq: r.seq, cls: r.cls, kind: r.kind, deviceId: r.device_id, type: r.type, ts: r.ts, recvTs: r.recv_ts, bootId: r.boot_id, monoMs: r.mono_ms, data: JSON.parse(r.data) as Record<string, unknown> };
}
