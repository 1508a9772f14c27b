/**
 * The ingest's supervisor: forks N worker processes (this same program with an internal flag) and
 * forks again any that dies, after a backoff that grows while a slot keeps dying young. SIGTERM or
 * SIGINT stops every worker (each finishes or abandons its batch, see worker.ts) and exits 0.
 *
 * Processes rather than threads: a worker that crashes or is killed takes nothing else with it,
 * and its slot's broker session (same client id) gets its un-acknowledged batches back on restart.
 */
import { fork, type ChildProcess } from 'node:child_process';
import type { Logger } from 'pino';

export interface SupervisorOptions {
  workers: number;
  /** The program and arguments a worker for `slot` is forked with. */
  workerArgs: (slot: number) => { module: string; args: string[] };
  log: Logger;
  now?: () => number;
  /** A message a worker sent over its IPC channel. */
  onMessage?: (slot: number, message: unknown) => void;
  onRestart?: () => void;
}

/** Next restart delay: 200 ms doubling to 10 s while the slot dies within 30 s of its start. */
export function restartDelay(previousFailures: number): number {
  return Math.min(10_000, 200 * 2 ** Math.min(previousFailures, 6));
}

interface Slot {
  proc?: ChildProcess;
  startedAt: number;
  failures: number;
  timer?: NodeJS.Timeout;
}

export class Supervisor {
  private readonly slots: Slot[] = [];
  private stopping = false;
  /** Workers that died and were started again (what /metrics or a log search would count). */
  restarts = 0;
  private readonly now: () => number;

  constructor(private readonly opts: SupervisorOptions) {
    this.now = opts.now ?? Date.now;
  }

  start(): void {
    for (let i = 0; i < this.opts.workers; i++) {
      this.slots.push({ startedAt: 0, failures: 0 });
      this.spawn(i);
    }
  }

  /** The worker pids by slot (a test kills one). */
  pids(): number[] {
    return this.slots.map((s) => s.proc?.pid ?? 0);
  }

  private spawn(slot: number): void {
    const s = this.slots[slot];
    const { module, args } = this.opts.workerArgs(slot);
    const proc = fork(module, args, { stdio: 'inherit' });
    s.proc = proc;
    s.startedAt = this.now();
    this.opts.log.info({ worker: slot, workerPid: proc.pid }, 'worker started');
    proc.on('message', (m) => this.opts.onMessage?.(slot, m));
    proc.on('exit', (code, signal) => {
      if (s.proc !== proc) return;
      s.proc = undefined;
      if (this.stopping) return;
      const lived = this.now() - s.startedAt;
      s.failures = lived > 30_000 ? 0 : s.failures + 1;
      const delay = restartDelay(s.failures - 1);
      this.restarts++;
      this.opts.onRestart?.();
      this.opts.log.error({ worker: slot, workerPid: proc.pid, code, signal, livedMs: lived, restartInMs: delay, restarts: this.restarts }, 'worker died, restarting');
      s.timer = setTimeout(() => {
        s.timer = undefined;
        if (!this.stopping) this.spawn(slot);
      }, delay);
    });
  }

  /** SIGTERM to every worker; SIGKILL to any still running after `graceMs`. */
  async stop(graceMs = 15_000): Promise<void> {
    this.stopping = true;
    await Promise.all(
      this.slots.map(async (s) => {
        if (s.timer) clearTimeout(s.timer);
        const p = s.proc;
        if (!p || p.exitCode !== null || p.signalCode !== null) return;
        const exited = new Promise<void>((r) => p.once('exit', () => r()));
        p.kill('SIGTERM');
        const t = setTimeout(() => {
          this.opts.log.error({ workerPid: p.pid, graceMs }, 'worker did not stop in time, killed');
          p.kill('SIGKILL');
        }, graceMs);
        await exited;
        clearTimeout(t);
      }),
    );
  }
}
