/**
 * One writer at a time per keys folder. `sign` reads the last version of a feed and writes the
 * next; two runs at once could both read the same last version and hand out one version twice
 * (within the same millisecond the time floor does not separate them), and a store would then
 * refuse the second feed as a replay. `keys new|rotate|retire` rewrite keyring.json the same way.
 *
 * The lock is a file created with O_CREAT|O_EXCL (`wx`), which the kernel creates for exactly one
 * process (POSIX open(2)); it holds the owner's pid. A lock whose pid no longer runs was left by a
 * killed run and is removed (only if it still names that pid when removed). A live holder is
 * waited for, up to `timeoutMs`, then the run fails naming the holder.
 */
import { closeSync, openSync, readFileSync, unlinkSync, writeSync } from 'node:fs';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

export const lockPath = (dir: string): string => path.join(dir, '.lock');

export class DirLockError extends Error {}

function holder(file: string): number | null {
  try {
    const pid = Number.parseInt(readFileSync(file, 'utf8'), 10);
    return Number.isSafeInteger(pid) && pid > 0 ? pid : null;
  } catch {
    return null;
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    // EPERM: it runs, as another user.
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

export interface DirLockOptions {
  timeoutMs?: number;
  /** Told once when the lock is held by another run, and when a stale lock was removed. */
  note?: (msg: string) => void;
}

/** Runs `fn` holding the folder's lock; the lock is released however `fn` ends. */
export async function withDirLock<T>(dir: string, fn: () => T | Promise<T>, o: DirLockOptions = {}): Promise<T> {
  const file = lockPath(dir);
  const deadline = Date.now() + (o.timeoutMs ?? 30_000);
  let told = false;
  for (let wait = 20; ; wait = Math.min(500, wait * 2)) {
    try {
      const fd = openSync(file, 'wx', 0o600);
      try {
        writeSync(fd, `${process.pid}\n`);
      } finally {
        closeSync(fd);
      }
      break;
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      // No such folder: nothing to protect, and the caller reports the folder itself.
      if (code === 'ENOENT') return fn();
      if (code !== 'EEXIST') throw err;
    }
    const pid = holder(file);
    if (pid !== null && !alive(pid)) {
      // Re-read right before removing: another run may have broken it and taken it meanwhile.
      if (holder(file) === pid) {
        try {
          unlinkSync(file);
          o.note?.(`removed a stale lock ${file} left by pid ${pid}`);
        } catch {
          // gone already
        }
      }
      continue;
    }
    if (Date.now() >= deadline) throw new DirLockError(`${file}: held by pid ${pid ?? '?'}; another sign or keys run is using ${dir}`);
    if (!told) o.note?.(`waiting for ${file}, held by pid ${pid ?? '?'}`);
    told = true;
    await sleep(wait);
  }
  try {
    return await fn();
  } finally {
    try {
      unlinkSync(file);
    } catch {
      // removed by hand: nothing to release
    }
  }
}
