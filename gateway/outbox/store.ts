/**
 * The outbox repository: the durable half of ingest. One transaction appends a whole group of
 * events (one `INSERT … SELECT … FROM json_each(?)` statement, ~250k rows/s on this machine class,
 * DESIGN step 3), their dead letters, and the sequence high-water mark, so a seq is never reused
 * even after the uplink deleted everything below it.
 */
import { openDb, migrate, type Db } from '../db/sqlite.js';
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

export interface DeadLetter {
  recvTs: number;
  kind: string;
  deviceId: string;
  topic: string;
  code: string;
  reason: string;
  payload: string;
}

/** One outbox row; declared once, beside the batch record it becomes (protocol/envelopes.ts). */
export type { OutboxRecord } from '../protocol/envelopes.js';

export interface ClassStats {
  count: number;
  minSeq: number | null;
  maxSeq: number | null;
}

// The rows travel as ONE bound JSON parameter and SQLite unpacks them (json_each): one statement
// per group whatever its size, and no value ever becomes SQL text.
const INSERT_EVENTS = `INSERT INTO events (seq, cls, kind, device_id, type, ts, recv_ts, boot_id, mono_ms, data)
  SELECT value->>0, value->>1, value->>2, value->>3, value->>4, value->>5, value->>6, ?2, value->>7, value->>8
  FROM json_each(?1)`;
const INSERT_DEAD = `INSERT INTO dead_letters (recv_ts, kind, device_id, topic, code, reason, payload)
  SELECT value->>0, value->>1, value->>2, value->>3, value->>4, value->>5, value->>6 FROM json_each(?1)`;
const RAISE_SEQ = "UPDATE meta SET v = ?1 WHERE k = 'seq' AND v < ?1";

export class OutboxStore {
  private db!: Db;
  private checkpointer: Db | null = null;
  private checkpointTimer: NodeJS.Timeout | null = null;
  private queue: Promise<unknown> = Promise.resolve();
  /** Rows per class, kept on every committed change (this store's appends, the uplink's deletes). */
  readonly counts = new OutboxCounts();
  constructor(
    private readonly file: string,
    private readonly opts: { readonly?: boolean; checkpointEveryMs?: number } = {},
  ) {}

  async start(): Promise<void> {
    this.db = await openDb(this.file, { readonly: this.opts.readonly, synchronous: 'FULL' });
    if (this.opts.readonly) return;
    await migrate(this.db, OUTBOX_MIGRATIONS);
    // The only full count: from here on the counts move with each commit.
    this.counts.reset(await this.db.all<{ cls: string; n: number }>('SELECT cls, COUNT(*) AS n FROM events GROUP BY cls'));
    await this.db.exec('PRAGMA wal_autocheckpoint = 0');
    this.checkpointer = await openDb(this.file, { synchronous: 'FULL' });
    this.checkpointTimer = setInterval(() => {
      this.checkpoint().catch(() => undefined); // a busy checkpoint simply tries again next time
    }, this.opts.checkpointEveryMs ?? 1000);
    this.checkpointTimer.unref();
  }

  async stop(): Promise<void> {
    if (this.checkpointTimer) clearInterval(this.checkpointTimer);
    this.checkpointTimer = null;
    if (this.checkpointer) {
      await this.checkpointer.exec('PRAGMA wal_checkpoint(TRUNCATE)').catch(() => undefined);
      await this.checkpointer.close();
      this.checkpointer = null;
    }
    if (this.db) await this.db.close();
  }

  /** The highest seq ever handed out (committed), from the high-water mark. */
  async lastSeq(): Promise<number> {
    const row = await this.serial(() => this.db.get<{ v: number }>("SELECT v FROM meta WHERE k = 'seq'"));
    const max = await this.serial(() => this.db.get<{ m: number | null }>('SELECT MAX(seq) AS m FROM events'));
    return Math.max(row?.v ?? 0, max?.m ?? 0);
  }

  /**
   * One durable transaction for a group of events and dead letters. Every value is a bound
   * parameter: a device's text is never SQL, whatever characters it holds.
   */
  async appendGroup(events: NewEvent[], dead: DeadLetter[], bootId: string, highSeq: number): Promise<void> {
    await this.tx(async () => {
      if (events.length > 0) {
        const rows = events.map((e) => [e.seq, e.cls, e.kind, e.deviceId, e.type, e.ts, e.recvTs, e.monoMs, e.data]);
        await this.db.run(INSERT_EVENTS, [JSON.stringify(rows), bootId]);
      }
      if (dead.length > 0) {
        const rows = dead.map((d) => [d.recvTs, d.kind, d.deviceId, d.topic, d.code, d.reason, d.payload]);
        await this.db.run(INSERT_DEAD, [JSON.stringify(rows)]);
      }
      await this.db.run(RAISE_SEQ, [Math.trunc(highSeq)]);
    });
    this.counts.addEach(events.map((e) => e.cls), 1);
  }

  /**
   * One transaction at a time on the writer connection, and reads queue behind it: the `sqlite3`
   * package runs statements of one connection as they come, so a read issued mid-transaction
   * would see rows that may yet roll back.
   */
  private tx(fn: () => Promise<void>): Promise<void> {
    return this.serial(async () => {
      await this.db.exec('BEGIN IMMEDIATE');
      try {
        await fn();
        await this.db.exec('COMMIT');
      } catch (err) {
        await this.db.exec('ROLLBACK').catch(() => undefined);
        throw err;
      }
    });
  }

  private serial<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.queue.then(fn, fn);
    this.queue = run.catch(() => undefined);
    return run;
  }

  /**
   * Copies the WAL into the database on a second connection, so commits never pay for it
   * (the writer's automatic checkpoint is off). PASSIVE: it never blocks the writer.
   */
  async checkpoint(): Promise<void> {
    if (this.checkpointer) await this.checkpointer.exec('PRAGMA wal_checkpoint(PASSIVE)');
  }

  async stats(): Promise<Record<string, ClassStats>> {
    const rows = await this.serial(() =>
      this.db.all<{ cls: string; n: number; lo: number; hi: number }>('SELECT cls, COUNT(*) AS n, MIN(seq) AS lo, MAX(seq) AS hi FROM events GROUP BY cls'),
    );
    const out: Record<string, ClassStats> = {};
    for (const r of rows) out[r.cls] = { count: r.n, minSeq: r.lo, maxSeq: r.hi };
    return out;
  }

  /** Rows in the outbox (from the counts, no query). */
  depth(): number {
    return this.counts.total;
  }

  async deadLetterCount(): Promise<number> {
    const row = await this.db.get<{ n: number }>('SELECT COUNT(*) AS n FROM dead_letters');
    return row?.n ?? 0;
  }

  async recentDeadLetters(deviceId: string, limit = 20): Promise<DeadLetter[]> {
    return this.serial(() =>
      this.db.all<DeadLetter>(
        `SELECT recv_ts AS recvTs, kind, device_id AS deviceId, topic, code, reason, payload FROM dead_letters
         WHERE device_id = ? ORDER BY id DESC LIMIT ?`,
        [deviceId, limit],
      ),
    );
  }

  /** Records in seq order from `fromSeq` (inclusive), at most `limit`. */
  async read(fromSeq: number, limit: number): Promise<OutboxRecord[]> {
    const rows = await this.serial(() => this.db.all<EventRow>('SELECT seq, cls, kind, device_id, type, ts, recv_ts, boot_id, mono_ms, data FROM events WHERE seq >= ? ORDER BY seq LIMIT ?', [fromSeq, limit]));
    return rows.map(outboxRecordOf);
  }

  get database(): Db {
    return this.db;
  }
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
