/**
 * How every store file is opened: created private (0600), the connection pragmas of `openDb`,
 * refused when a newer gateway wrote it, then brought up to date with its numbered migrations
 * (each in its own transaction, `migrate`). A thin layer over sqlite.ts, so the stores only say
 * which file, how durable and which migrations.
 */
import { closeSync, openSync } from 'node:fs';
import { SgwError } from '../errors.js';
import { migrate, openDb, type Db, type OpenOptions } from './sqlite.js';

export interface StoreSpec extends OpenOptions {
  /** Schema changes, numbered from 1 by their place in the list; never edit or reorder a shipped one. */
  migrations: readonly string[];
}

export async function openStore(file: string, spec: StoreSpec): Promise<Db> {
  // SQLite creates a new database with the process umask (often 0644), and gives its -wal and -shm
  // files the database file's permissions (os_unix.c, findCreateFileMode): a file that is 0600 from
  // its first byte keeps sales and credentials private, WAL included, whatever the umask.
  if (!spec.readonly) closeSync(openSync(file, 'a', 0o600));
  const db = await openDb(file, spec);
  try {
    await refuseNewerSchema(db, spec.migrations.length);
    if (!spec.readonly) await migrate(db, spec.migrations);
  } catch (err) {
    await db.close().catch(() => undefined);
    throw err;
  }
  return db;
}

/**
 * A file whose schema version is past the last migration this build knows was written by a newer
 * gateway (a rollback): its tables may not mean what this code thinks, so it is not touched.
 */
async function refuseNewerSchema(db: Db, known: number): Promise<void> {
  const row = await db.get<{ user_version: number }>('PRAGMA user_version');
  const have = row?.user_version ?? 0;
  if (have > known) {
    throw new SgwError('SGW_ERR_CONFIG', `${db.file}: schema version ${have} is newer than this gateway knows (${known}); it was written by a newer storegw: run that version, or restore a backup of this file`);
  }
}
