/**
 * The on-disk journals of the bridge's drivers (a terminal's payments, a printer's jobs): JSON
 * lines, one writer, each record appended and fsynced before the driver acts on it, read once at
 * start and rewritten then with only what is still needed (temp file, fsync, rename), so the file
 * stays small and a crash at any point leaves either the old or the new file. A line cut short by a
 * crash mid-append is skipped: the records before it stand.
 */
import { closeSync, fsyncSync, mkdirSync, openSync, readFileSync, renameSync, writeSync } from 'node:fs';
import path from 'node:path';

/** The last record per key in `file`, in the order of their last write (empty when there is no file). */
export function readLatest<R>(file: string, keyOf: (r: R) => unknown, valid: (r: R) => boolean): Map<string, R> {
  mkdirSync(path.dirname(file), { recursive: true });
  let text = '';
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
  const latest = new Map<string, R>();
  for (const line of text.split('\n')) {
    if (!line) continue;
    try {
      const r = JSON.parse(line) as R;
      const key = r !== null && typeof r === 'object' ? keyOf(r) : undefined;
      if (typeof key === 'string' && valid(r)) {
        latest.delete(key);
        latest.set(key, r);
      }
    } catch {
      // torn by a crash mid-append
    }
  }
  return latest;
}

/** Rewrites `file` with exactly `records` (crash-safe) and returns a descriptor that appends to it. */
export function rewriteForAppend(file: string, records: readonly unknown[]): number {
  const tmp = `${file}.tmp`;
  const fd = openSync(tmp, 'w', 0o600);
  writeSync(fd, records.map((r) => `${JSON.stringify(r)}\n`).join(''));
  fsyncSync(fd);
  closeSync(fd);
  renameSync(tmp, file);
  return openSync(file, 'a', 0o600);
}

/** Appends one record and fsyncs; returns only once it is on disk. */
export function appendRecord(fd: number, r: unknown): void {
  writeSync(fd, `${JSON.stringify(r)}\n`);
  fsyncSync(fd);
}
