/**
 * A SQLite file whose writes all go through one worker thread (ownerWorker.mjs): the outbox's
 * group commit, the uplink's deletes and compaction, the quota's evictions and the checkpoints
 * are requests to that thread, answered in the order they were sent. One writer per file: no two
 * of them ever wait for each other's lock, and a commit's fsync never blocks the event loop.
 *
 * A request is a list of steps, each a statement (code, from the repository that owns the table)
 * and rows of bound values, run in one transaction when `tx` is set. Results come back as plain
 * rows (structured clone), so a step that returns many rows costs a copy: keep such reads small.
 */
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import { openDb, migrate } from './sqlite.js';

export interface Step {
  readonly sql: string;
  /** One list of bound values per execution of the statement. */
  readonly rows: readonly (readonly unknown[])[];
  /** 'all' returns the rows the statement yields; 'run' only counts changes. */
  readonly mode?: 'run' | 'all';
}

export interface StepResult {
  /** Rows changed (or returned, for a statement that yields rows). */
  changes: number;
  rows: unknown[];
}

/** Where the worker sits: beside this module, in the sources and in dist/ alike. */
export const OWNER_WORKER = new URL('./ownerWorker.mjs', import.meta.url);

interface Reply {
  id: number;
  ok: boolean;
  value?: unknown;
  error?: { message: string; code?: string; name?: string };
}

/** An error from the owner thread, with SQLite's code (SQLITE_BUSY, …) kept. */
export class OwnerError extends Error {
  constructor(
    message: string,
    readonly code: string | undefined,
  ) {
    // "SQLITE_BUSY: database is locked", as SQLite's own tools print it: logs and alerts name the code.
    super(code ? `${code}: ${message}` : message);
    this.name = 'OwnerError';
  }
}

export interface OwnerConnectionOptions {
  synchronous?: 'FULL' | 'NORMAL';
  busyTimeoutMs?: number;
  /** Extra pragmas as `name = value`, from code (never input). */
  pragmas?: readonly string[];
}

/** The worker thread and its connections. One per file is the intent; it may hold several connections to it. */
export class DbOwner {
  private worker: Worker | null = null;
  private nextId = 1;
  private readonly pending = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>();
  private dead: Error | null = null;
  /** The last request sent: answers come in order, so once it settled every earlier one had. */
  private last: Promise<unknown> = Promise.resolve();

  constructor(private readonly url: URL = OWNER_WORKER) {}

  start(): void {
    if (this.worker) return;
    if (!existsSync(fileURLToPath(this.url))) throw new Error(`SQLite owner worker not found: ${fileURLToPath(this.url)}`);
    const w = new Worker(this.url);
    w.on('message', (m: Reply) => {
      const p = this.pending.get(m.id);
      if (!p) return;
      this.pending.delete(m.id);
      if (m.ok) p.resolve(m.value);
      else p.reject(new OwnerError(m.error?.message ?? 'failed', m.error?.code));
    });
    const fail = (err: Error): void => {
      this.dead = err;
      for (const p of this.pending.values()) p.reject(err);
      this.pending.clear();
    };
    w.on('error', fail);
    w.on('exit', (code) => fail(new Error(`SQLite owner thread exited (${code})`)));
    this.worker = w;
  }

  /** Opens a connection to an existing file (the main thread created and migrated it). */
  async open(file: string, o: OwnerConnectionOptions = {}): Promise<OwnerConnection> {
    const sync = o.synchronous ?? 'FULL';
    if (sync !== 'FULL' && sync !== 'NORMAL') throw new RangeError('synchronous: must be FULL or NORMAL');
    const conn = (await this.request({ op: 'open', file, synchronous: sync, busyTimeoutMs: o.busyTimeoutMs ?? 5000, pragmas: o.pragmas ?? [] })) as number;
    return new OwnerConnection(this, conn);
  }

  /** Stops the thread once every request sent so far was answered. */
  async stop(): Promise<void> {
    const w = this.worker;
    if (!w) return;
    await this.last;
    this.worker = null;
    w.removeAllListeners('exit');
    await w.terminate();
  }

  /** @internal */
  request(msg: Record<string, unknown>): Promise<unknown> {
    if (this.dead) return Promise.reject(this.dead);
    const w = this.worker;
    if (!w) return Promise.reject(new Error('SQLite owner thread not started'));
    const id = this.nextId++;
    const p = new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      w.postMessage({ ...msg, id });
    });
    this.last = p.catch(() => undefined);
    return p;
  }
}

/** One connection held by the owner thread. */
export class OwnerConnection {
  constructor(
    private readonly owner: DbOwner,
    private readonly conn: number,
  ) {}

  /** Runs the steps in order; with `tx`, in one transaction (BEGIN IMMEDIATE … COMMIT). */
  async steps(steps: readonly Step[], tx: boolean): Promise<StepResult[]> {
    return (await this.owner.request({ op: 'steps', conn: this.conn, steps, tx })) as StepResult[];
  }

  /** One statement, one execution, its rows. */
  async all<T>(sql: string, params: readonly unknown[] = []): Promise<T[]> {
    const [r] = await this.steps([{ sql, rows: [params], mode: 'all' }], false);
    return r!.rows as T[];
  }

  /** One statement, one execution, its first row. */
  async get<T>(sql: string, params: readonly unknown[] = []): Promise<T | undefined> {
    return (await this.all<T>(sql, params))[0];
  }

  /** One statement, one execution (its own transaction), the rows it changed. */
  async run(sql: string, params: readonly unknown[] = []): Promise<{ changes: number }> {
    const [r] = await this.steps([{ sql, rows: [params] }], false);
    return { changes: r!.changes };
  }

  async close(): Promise<void> {
    await this.owner.request({ op: 'close', conn: this.conn });
  }
}

/**
 * The writer thread the small stores share (device states, commands, kiosk, the outbox's
 * checkpointer): each thread costs ~10 MB of RSS, and these write a few rows at a time, so one
 * thread serves them all; it starts with its first user and stops with its last. The outbox's
 * group commit and the price feeds keep threads of their own, so a 60,000-row feed never queues a
 * device's commit.
 */
let shared: { owner: DbOwner; users: number } | null = null;

export function acquireSharedOwner(): { owner: DbOwner; release: () => Promise<void> } {
  if (!shared) {
    const owner = new DbOwner();
    owner.start();
    shared = { owner, users: 0 };
  }
  const s = shared;
  s.users++;
  let released = false;
  return {
    owner: s.owner,
    release: async () => {
      if (released) return;
      released = true;
      if (--s.users > 0) return;
      if (shared === s) shared = null;
      await s.owner.stop();
    },
  };
}

/** A store file whose reads and writes all go through a writer thread. */
export interface OwnedFile {
  readonly conn: OwnerConnection;
  /** Closes the connection and lets the thread go (stopped once it serves no file). */
  close(): Promise<void>;
}

/**
 * Opens a store the owned way: creates the file (0600) and runs its numbered migrations on a
 * short-lived connection of this thread, then hands the file to a writer thread: the shared one
 * by default, or one of its own (`ownThread`) for a store whose transactions are long.
 */
export async function openOwned(file: string, migrations: readonly string[], o: OwnerConnectionOptions & { ownThread?: boolean } = {}): Promise<OwnedFile> {
  const setup = await openDb(file, { synchronous: o.synchronous });
  try {
    await migrate(setup, migrations);
  } finally {
    await setup.close();
  }
  let owner: DbOwner;
  let release: () => Promise<void>;
  if (o.ownThread) {
    owner = new DbOwner();
    owner.start();
    release = () => owner.stop();
  } else {
    ({ owner, release } = acquireSharedOwner());
  }
  let conn: OwnerConnection;
  try {
    conn = await owner.open(file, o);
  } catch (err) {
    await release();
    throw err;
  }
  return {
    conn,
    close: async () => {
      await conn.close().catch(() => undefined);
      await release();
    },
  };
}
