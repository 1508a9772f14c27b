/**
 * The data folder holds the outbox (sales, payments), device state and ops users: the service
 * user's alone. New files get that from the process umask (main.ts); this puts right what an older
 * version, another tool or a restore left behind: folders 0700, files 0600. SQLite creates a
 * database's -wal and -shm with the database file's own mode, so fixing the .db files before they
 * are opened keeps those private too.
 */
import { chmodSync, lstatSync, mkdirSync, readdirSync } from 'node:fs';
import path from 'node:path';

/**
 * Creates `dir` (0700) or tightens it and what it directly holds (the gateway writes no deeper);
 * returns how many modes it changed. Not recursive on purpose: a `data.dir` set by mistake to a
 * home or a shared folder must not have a whole tree re-moded.
 */
export function secureDataDir(dir: string): number {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  let changed = tighten(dir, 0o700);
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    // Symlinks are left alone: chmod would follow them out of the folder.
    if (e.isDirectory()) changed += tighten(path.join(dir, e.name), 0o700);
    else if (e.isFile()) changed += tighten(path.join(dir, e.name), 0o600);
  }
  return changed;
}

function tighten(p: string, want: number): number {
  const mode = lstatSync(p).mode & 0o777;
  if ((mode & ~want) === 0) return 0;
  chmodSync(p, mode & want);
  return 1;
}
