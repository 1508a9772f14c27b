/**
 * Dead letters (bad device payloads, kept for diagnosis) in a file of their own, `deadletters.db`
 * beside the outbox: the outbox quota measures only outbox.db, so a device stuck sending bad
 * payloads can never make the quota evict good events. They are bounded here instead: by age
 * (`maxAgeDays`), by rows and by bytes (the newest are kept), pruned periodically and as soon as
 * an append passes a bound by a tenth. Rows and bytes are counters (counted once at start).
 */
import { type Db } from '../db/sqlite.js';
import { openStore } from '../db/openStore.js';
import type { OwnerConnection } from '../db/owner.js';

export interface DeadLetter {
  recvTs: number;
  kind: string;
  deviceId: string;
  topic: string;
  code: string;
  reason: string;
  payload: string;
}

export interface DeadLetterLimits {
  maxAgeDays: number;
  maxRows: number;
  maxBytes: number;
  pruneEveryMs: number;
}

export const DEFAULT_DEAD_LETTER_LIMITS: DeadLetterLimits = { maxAgeDays: 7, maxRows: 10_000, maxBytes: 16 * 1_048_576, pruneEveryMs: 60_000 };

export type DropReason = 'age' | 'rows' | 'bytes';

const MIGRATIONS: readonly string[] = [
  // 1: `size` is the row's text bytes (UTF-8), so the byte bound needs no scan.
  `CREATE TABLE dead_letters (
     id INTEGER PRIMARY KEY,
     recv_ts INTEGER NOT NULL,
     kind TEXT NOT NULL,
     device_id TEXT NOT NULL,
     topic TEXT NOT NULL,
     code TEXT NOT NULL,
     reason TEXT NOT NULL,
     payload TEXT NOT NULL,
     size INTEGER NOT NULL
   );
   CREATE INDEX dead_letters_device ON dead_letters (device_id, id);
   CREATE INDEX dead_letters_recv ON dead_letters (recv_ts)`,
];

// One prepared statement run per row inside the group's transaction; no value becomes SQL text.
const INSERT = 'INSERT INTO dead_letters (recv_ts, kind, device_id, topic, code, reason, payload, size) VALUES (?, ?, ?, ?, ?, ?, ?, ?)';

export function sizeOf(d: DeadLetter): number {
  return Buffer.byteLength(d.kind) + Buffer.byteLength(d.deviceId) + Buffer.byteLength(d.topic) + Buffer.byteLength(d.code) + Buffer.byteLength(d.reason) + Buffer.byteLength(d.payload);
}

export class DeadLetterStore {
  private db!: Db;
  /** The writer thread's connection (outbox/store.ts sets it); without one, writes run here. */
  private writer: OwnerConnection | null = null;
  private queue: Promise<unknown> = Promise.resolve();
  private timer: NodeJS.Timeout | null = null;
  private pruning: Promise<void> | null = null;
  rows = 0;
  bytes = 0;

  constructor(
    readonly file: string,
    private readonly o: {
      readonly?: boolean;
      limits?: DeadLetterLimits;
      now?: () => number;
      /** Told of every row a bound dropped (a metric). */
      onDropped?: (reason: DropReason, n: number) => void;
      onError?: (err: Error) => void;
    } = {},
  ) {}

  private get limits(): DeadLetterLimits {
    return this.o.limits ?? DEFAULT_DEAD_LETTER_LIMITS;
  }

  /** Sends appends and pruning through the file's writer thread (null: back to this connection). */
  useWriter(conn: OwnerConnection | null): void {
    this.writer = conn;
  }

  get started(): boolean {
    return this.db !== undefined;
  }

  async start(): Promise<void> {
    this.db = await openStore(this.file, { readonly: this.o.readonly, synchronous: 'FULL', migrations: MIGRATIONS });
    if (this.o.readonly) return;
    const r = await this.db.get<{ n: number; b: number | null }>('SELECT COUNT(*) AS n, SUM(size) AS b FROM dead_letters');
    this.rows = r?.n ?? 0;
    this.bytes = r?.b ?? 0;
    await this.prune();
    this.timer = setInterval(() => this.schedulePrune(), this.limits.pruneEveryMs);
    this.timer.unref();
  }

  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    await this.pruning?.catch(() => undefined);
    if (this.db) {
      if (!this.o.readonly) await this.db.exec('PRAGMA wal_checkpoint(TRUNCATE)').catch(() => undefined);
      await this.db.close();
    }
  }

  /** One durable transaction for a group's dead letters. */
  async append(dead: readonly DeadLetter[]): Promise<void> {
    if (dead.length === 0) return;
    const sizes = dead.map(sizeOf);
    const rows = dead.map((d, i) => [d.recvTs, d.kind, d.deviceId, d.topic, d.code, d.reason, d.payload, sizes[i]]);
    await this.serial(async () => {
      if (this.writer) await this.writer.steps([{ sql: INSERT, rows }], true);
      else {
        const insert = this.db.prepare(INSERT);
        this.db.tx(() => rows.forEach((r) => insert.run(...r)));
      }
    });
    this.rows += dead.length;
    for (const s of sizes) this.bytes += s;
    const l = this.limits;
    if (this.rows > l.maxRows * 1.1 || this.bytes > l.maxBytes * 1.1) this.schedulePrune();
  }

  async recent(deviceId: string, limit: number): Promise<DeadLetter[]> {
    return this.serial(() =>
      this.db.all<DeadLetter>(
        'SELECT recv_ts AS recvTs, kind, device_id AS deviceId, topic, code, reason, payload FROM dead_letters WHERE device_id = ? ORDER BY id DESC LIMIT ?',
        [deviceId, limit],
      ),
    );
  }

  /** Every dead letter in arrival order, `limit` from id `fromId` (an export). */
  async page(fromId: number, limit: number): Promise<(DeadLetter & { id: number })[]> {
    return this.serial(() =>
      this.db.all<DeadLetter & { id: number }>(
        'SELECT id, recv_ts AS recvTs, kind, device_id AS deviceId, topic, code, reason, payload FROM dead_letters WHERE id >= ? ORDER BY id LIMIT ?',
        [fromId, limit],
      ),
    );
  }

  private schedulePrune(): void {
    this.pruning ??= this.prune()
      .catch((err: Error) => this.o.onError?.(err))
      .finally(() => {
        this.pruning = null;
      });
  }

  /** Drops what is past a bound: too old first, then the oldest beyond the row and byte bounds. */
  async prune(): Promise<void> {
    const l = this.limits;
    const now = (this.o.now ?? Date.now)();
    await this.drop('age', 'DELETE FROM dead_letters WHERE recv_ts < ?1 RETURNING size', [now - l.maxAgeDays * 86_400_000]);
    if (this.rows > l.maxRows) {
      await this.drop('rows', 'DELETE FROM dead_letters WHERE id IN (SELECT id FROM dead_letters ORDER BY id LIMIT ?1) RETURNING size', [this.rows - l.maxRows]);
    }
    if (this.bytes > l.maxBytes) {
      // The newest rows whose running total stays within maxBytes are kept.
      await this.drop(
        'bytes',
        `DELETE FROM dead_letters WHERE id <= (SELECT id FROM (SELECT id, SUM(size) OVER (ORDER BY id DESC) AS acc FROM dead_letters) WHERE acc > ?1 ORDER BY id DESC LIMIT 1) RETURNING size`,
        [l.maxBytes],
      );
    }
  }

  private async drop(reason: DropReason, sql: string, params: unknown[]): Promise<void> {
    const gone = await this.serial(async () => (this.writer ? ((await this.writer.steps([{ sql, rows: [params], mode: 'all' }], true))[0]!.rows as { size: number }[]) : this.db.allNow<{ size: number }>(sql, params)));
    if (gone.length === 0) return;
    this.rows -= gone.length;
    for (const g of gone) this.bytes -= g.size;
    this.o.onDropped?.(reason, gone.length);
  }

  private serial<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.queue.then(fn, fn);
    this.queue = run.catch(() => undefined);
    return run;
  }
}
