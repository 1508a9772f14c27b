/**
 * A writer thread for a store that writes rarely (the price feeds: a few a day): started at its
 * first write and stopped once it has been idle for `idleMs`, so its V8 isolate (~13-19 MB of RSS)
 * is resident around a feed, not all day. Reads stay on the store's own connection.
 */
import { DbOwner, type OwnerConnection, type OwnerConnectionOptions, type OwnerSupervision, type Step, type StepResult } from './owner.js';

export interface LazyWriterOptions extends OwnerConnectionOptions {
  /** How long the thread stays after its last write. Default 30 s. */
  idleMs?: number;
  supervision?: OwnerSupervision;
}

export class LazyWriter {
  private owner: DbOwner | null = null;
  private conn: Promise<OwnerConnection> | null = null;
  private idleTimer: NodeJS.Timeout | null = null;
  private busy = 0;
  /** Threads started so far (tests, diagnostics). */
  starts = 0;

  constructor(
    private readonly file: string,
    private readonly o: LazyWriterOptions = {},
  ) {}

  /** Whether a thread is running now. */
  get running(): boolean {
    return this.owner !== null;
  }

  /** Runs the steps on the writer thread, starting it first if it is not running. */
  async steps(steps: readonly Step[], tx: boolean): Promise<StepResult[]> {
    this.busy++;
    if (this.idleTimer) clearTimeout(this.idleTimer);
    this.idleTimer = null;
    try {
      const c = await (this.conn ??= this.open());
      return await c.steps(steps, tx);
    } finally {
      if (--this.busy === 0) this.armIdle();
    }
  }

  private async open(): Promise<OwnerConnection> {
    const owner = new DbOwner(this.o.supervision);
    owner.start();
    this.owner = owner;
    this.starts++;
    try {
      return await owner.open(this.file, this.o);
    } catch (err) {
      this.owner = null;
      this.conn = null;
      await owner.stop();
      throw err;
    }
  }

  private armIdle(): void {
    this.idleTimer = setTimeout(() => void this.release(), this.o.idleMs ?? 30_000);
    this.idleTimer.unref();
  }

  private async release(): Promise<void> {
    this.idleTimer = null;
    if (this.busy > 0) return;
    const owner = this.owner;
    this.owner = null;
    this.conn = null;
    // Its connection closes with the thread, after every request sent was answered.
    await owner?.stop();
  }

  async stop(): Promise<void> {
    if (this.idleTimer) clearTimeout(this.idleTimer);
    this.idleTimer = null;
    await this.release();
  }
}
