/**
 * The data folder holds the outbox (sales, payments), device state and ops users: the service
 * user's alone. New files get that from the process umask (main.ts); this puts right what an older
 * version, another tool or a restore left behind: folders 0700, files 0600. SQLite creates a
 * database's -wal and -shm with the database file's own mode, so fixing the .db files before they
 * are opened keeps those private too.
 */
import { chmodSync, lstatSync, mkdirSync, readdirSync } from 'node:fs';
import path from 'node:path';

/** Creates `dir` (0700) or tightens it and everything under it; returns how many modes it changed. */
export function secureDataDir(dir: string): number {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  return tighten(dir, true);
}

function tighten(p: string, isDir: boolean): number {
  let changed = 0;
  const want = isDir ? 0o700 : 0o600;
  // Symlinks are left alone: chmod would follow them out of the folder.
  if ((lstatSync(p).mode & 0o777 & ~want) !== 0) {
    chmodSync(p, lstatSync(p).mode & want);
    changed++;
  }
  if (!isDir) return changed;
  for (const e of readdirSync(p, { withFileTypes: true })) {
    if (e.isDirectory()) changed += tighten(path.join(p, e.name), true);
    else if (e.isFile()) changed += tighten(path.join(p, e.name), false);
  }
  return changed;
}
