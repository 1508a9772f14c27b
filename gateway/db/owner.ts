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
import { Worker, type ResourceLimits } from 'node:worker_threads';
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

/** What a writer thread reports about its life (the composition root logs and counts it). */
export interface OwnerSupervision {
  /** The thread died (an exception, out of memory): its in-flight requests were refused. */
  onExit?(e: { error: Error; exits: number; restartInMs: number | null }): void;
  /** A new thread opened every connection again; requests are served again. */
  onRestarted?(e: { restarts: number; downMs: number }): void;
  /** A restart failed `maxRestarts` times in a row: the thread stays down and every request fails. */
  onGaveUp?(e: { error: Error }): void;
  /** Restarts in a row before giving up. Default 5. */
  maxRestarts?: number;
  /** Backoff before a restart: base doubled per failed attempt in a row, capped. Default 100 / 5000 ms. */
  restartBaseMs?: number;
  restartMaxMs?: number;
  /** V8 heap limits of the thread (a writer needs little: it holds statements and one request at a time). */
  resourceLimits?: ResourceLimits;
  /** Tests only: the first thread exits inside the n-th transaction that starts with `sql`, before COMMIT. */
  testExitAt?: { nth: number; sql: string };
}

/**
 * A writer's heaps: it keeps prepared statements and one request's rows at a time, so a small
 * young generation is enough (V8 grows it to 16 MB or more per isolate otherwise, resident once
 * touched). The old generation limit is a ceiling for a large request (a 60,000-row feed arrives as
 * one structured clone), not a reservation.
 */
export const WRITER_LIMITS: ResourceLimits = { maxYoungGenerationSizeMb: 4, maxOldGenerationSizeMb: 256, stackSizeMb: 4 };

/** The code of every request a dead writer thread refused: it was not committed. */
export const WRITER_DOWN = 'SGW_ERR_DB_WRITER_DOWN';

export type OwnerState = 'idle' | 'up' | 'restarting' | 'failed' | 'stopped';

interface OpenConn {
  file: string;
  synchronous: 'FULL' | 'NORMAL';
  busyTimeoutMs: number;
  pragmas: readonly string[];
}

/**
 * The worker thread and its connections. One per file is the intent; it may hold several
 * connections to it. When the thread dies, the requests it had not answered fail (none of them
 * committed: SQLite rolls back a transaction whose connection went away), and a new thread opens
 * every connection again after a backoff; until then requests fail at once with WRITER_DOWN, so
 * nothing is acknowledged that is not durable.
 */
export class DbOwner {
  private worker: Worker | null = null;
  private nextId = 1;
  private nextConn = 1;
  private readonly pending = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>();
  /** Why requests are refused now (the thread is down), or null. */
  private down: Error | null = null;
  private downSince = 0;
  private readonly conns = new Map<number, OpenConn>();
  private restartTimer: NodeJS.Timeout | null = null;
  private calmTimer: NodeJS.Timeout | null = null;
  /** Failed attempts in a row (reset once a restarted thread stays up a minute). */
  private attempts = 0;
  private generation = 0;
  /** The last request sent: answers come in order, so once it settled every earlier one had. */
  private last: Promise<unknown> = Promise.resolve();
  state: OwnerState = 'idle';
  /** Threads that died, and threads started again, since start(). */
  exits = 0;
  restarts = 0;

  constructor(
    private readonly sup: OwnerSupervision = {},
    private readonly url: URL = OWNER_WORKER,
  ) {}

  start(): void {
    // Once only: a thread that died is started again by its own backoff, not by a new user.
    if (this.state !== 'idle') return;
    if (!existsSync(fileURLToPath(this.url))) throw new Error(`SQLite owner worker not found: ${fileURLToPath(this.url)}`);
    this.spawn();
    this.state = 'up';
  }

  private spawn(): Worker {
    const gen = ++this.generation;
    const exitAt = gen === 1 ? this.sup.testExitAt : undefined;
    const w = new Worker(this.url, { resourceLimits: this.sup.resourceLimits ?? WRITER_LIMITS, ...(exitAt ? { workerData: { testExitAt: exitAt } } : {}) });
    w.on('message', (m: Reply) => {
      const p = this.pending.get(m.id);
      if (!p) return;
      this.pending.delete(m.id);
      if (m.ok) p.resolve(m.value);
      else p.reject(new OwnerError(m.error?.message ?? 'failed', m.error?.code));
    });
    let cause = '';
    w.on('error', (err) => (cause = err.message));
    w.on('exit', (code) => {
      if (this.worker !== w) return;
      this.died(new OwnerError(`SQLite writer thread exited (code ${code}${cause ? `, ${cause}` : ''}); requests it had not answered were not committed`, WRITER_DOWN));
    });
    this.worker = w;
    return w;
  }

  private died(err: Error): void {
    this.worker = null;
    this.exits++;
    if (this.calmTimer) clearTimeout(this.calmTimer);
    this.calmTimer = null;
    if (!this.down) {
      this.down = err;
      this.downSince = performance.now();
    }
    for (const p of this.pending.values()) p.reject(err);
    this.pending.clear();
    this.last = Promise.resolve();
    const max = this.sup.maxRestarts ?? 5;
    if (this.state === 'stopped') return;
    if (this.attempts >= max) {
      this.state = 'failed';
      this.sup.onExit?.({ error: err, exits: this.exits, restartInMs: null });
      this.sup.onGaveUp?.({ error: err });
      return;
    }
    const delay = Math.min((this.sup.restartBaseMs ?? 100) * 2 ** this.attempts, this.sup.restartMaxMs ?? 5000);
    this.attempts++;
    this.state = 'restarting';
    this.sup.onExit?.({ error: err, exits: this.exits, restartInMs: delay });
    this.restartTimer = setTimeout(() => {
      this.restartTimer = null;
      void this.restart();
    }, delay);
  }

  /** A new thread, every connection opened again with the same id, then requests flow again. */
  private async restart(): Promise<void> {
    if (this.state !== 'restarting') return;
    const w = this.spawn();
    try {
      await Promise.all([...this.conns].map(([conn, c]) => this.send(w, { op: 'open', conn, ...c })));
    } catch (err) {
      // A thread that cannot open its files is no better: it dies and the backoff goes on.
      if (this.worker === w) {
        this.worker = null;
        w.removeAllListeners('exit');
        await w.terminate();
        this.died(err as Error);
      }
      return;
    }
    if (this.worker !== w || this.state !== 'restarting') return;
    const downMs = performance.now() - this.downSince;
    this.down = null;
    this.state = 'up';
    this.restarts++;
    this.calmTimer = setTimeout(() => (this.attempts = 0), 60_000);
    this.calmTimer.unref();
    this.sup.onRestarted?.({ restarts: this.restarts, downMs });
  }

  /** Opens a connection to an existing file (the main thread created and migrated it). */
  async open(file: string, o: OwnerConnectionOptions = {}): Promise<OwnerConnection> {
    const sync = o.synchronous ?? 'FULL';
    if (sync !== 'FULL' && sync !== 'NORMAL') throw new RangeError('synchronous: must be FULL or NORMAL');
    const conn = this.nextConn++;
    const c: OpenConn = { file, synchronous: sync, busyTimeoutMs: o.busyTimeoutMs ?? 5000, pragmas: o.pragmas ?? [] };
    await this.request({ op: 'open', conn, ...c });
    // Kept so that a new thread opens it again the same way.
    this.conns.set(conn, c);
    return new OwnerConnection(this, conn);
  }

  /** @internal A connection closed: a restarted thread does not open it again. */
  forget(conn: number): void {
    this.conns.delete(conn);
  }

  /** Stops the thread once every request sent so far was answered. */
  async stop(): Promise<void> {
    this.state = 'stopped';
    if (this.restartTimer) clearTimeout(this.restartTimer);
    if (this.calmTimer) clearTimeout(this.calmTimer);
    this.restartTimer = this.calmTimer = null;
    const w = this.worker;
    if (!w) return;
    await this.last;
    this.worker = null;
    w.removeAllListeners('exit');
    await w.terminate();
  }

  /** @internal */
  request(msg: Record<string, unknown>): Promise<unknown> {
    if (this.down) return Promise.reject(this.down);
    const w = this.worker;
    if (!w) return Promise.reject(new Error('SQLite owner thread not started'));
    const p = this.send(w, msg);
    this.last = p.catch(() => undefined);
    return p;
  }

  private send(w: Worker, msg: Record<string, unknown>): Promise<unknown> {
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      w.postMessage({ ...msg, id });
    });
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
    this.owner.forget(this.conn);
    await this.owner.request({ op: 'close', conn: this.conn });
  }
}

/**
 * The writer thread the stores share: the outbox's group commit, its dead letters and
 * checkpoints, device states, commands, the kiosk's sales. Each thread is a V8 isolate costing
 * ~13-19 MB of RSS (BENCHMARKS.md, "Memory and the writer threads"), and one thread commits these
 * one after the other as SQLite would anyway with one writer per file; the price feeds keep a thread of
 * their own, so a 60,000-row feed never queues a device's commit. It starts with its first user
 * and stops with its last; the gateway provides it (provideSharedOwner) so that its deaths are
 * logged, counted and restarted.
 */
let shared: { owner: DbOwner; users: number } | null = null;

export function acquireSharedOwner(): { owner: DbOwner; release: () => Promise<void> } {
  if (!shared) shared = { owner: new DbOwner(), users: 0 };
  const s = shared;
  s.owner.start();
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

/**
 * Makes `owner` (built with the supervision of the composition root) the shared thread; the
 * caller holds it until its release, after the stores released theirs. A second gateway in the
 * same process (tests run several side by side; a store box runs one) joins the running thread
 * instead: its files still have one writer connection each, and the first gateway's supervision
 * restarts the thread for both. `owner` is then not used and is returned unstarted.
 */
export function provideSharedOwner(owner: DbOwner): { owner: DbOwner; release: () => Promise<void>; joined: boolean } {
  if (shared) return { ...acquireSharedOwner(), joined: true };
  shared = { owner, users: 0 };
  return { ...acquireSharedOwner(), joined: false };
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
 * by default, or one of its own (`ownThread`) for a store whose transactions are long, supervised
 * by `supervision` (its deaths logged and counted by the composition root, like the shared one's).
 */
export async function openOwned(file: string, migrations: readonly string[], o: OwnerConnectionOptions & { ownThread?: boolean; supervision?: OwnerSupervision } = {}): Promise<OwnedFile> {
  const setup = await openDb(file, { synchronous: o.synchronous });
  try {
    await migrate(setup, migrations);
  } finally {
    await setup.close();
  }
  let owner: DbOwner;
  let release: () => Promise<void>;
  if (o.ownThread) {
    owner = new DbOwner(o.supervision);
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
