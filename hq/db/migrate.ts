/**
 * Schema migrations for HQ's database: numbered SQL files in this folder (bundled as text), applied
 * in order, each in its own transaction, recorded in `schema_migrations`. Every ingest worker runs
 * this at start; a session advisory lock makes the N workers take turns, so exactly one applies a
 * migration and the others find it done.
 */
import type { ClientBase } from 'pg';
import init001 from './001_init.sql';
import chainView002 from './002_chain_view.sql';
import hardening003 from './003_hardening.sql';

export interface Migration {
  version: number;
  name: string;
  sql: string;
}

/** Add a line per new file; never change a released one. */
export const MIGRATIONS: readonly Migration[] = [
  { version: 1, name: '001_init', sql: init001 },
  { version: 2, name: '002_chain_view', sql: chainView002 },
  { version: 3, name: '003_hardening', sql: hardening003 },
];

/** Any constant of our own: the key of the advisory lock the workers serialise on. */
const MIGRATION_LOCK = 0x5347_4871; // "SGHq"

/** Applies the migrations not yet applied; returns the versions it applied. */
export async function migrate(client: ClientBase, migrations: readonly Migration[] = MIGRATIONS): Promise<number[]> {
  await client.query('SELECT pg_advisory_lock($1)', [MIGRATION_LOCK]);
  try {
    await client.query(
      'CREATE TABLE IF NOT EXISTS schema_migrations (version integer PRIMARY KEY, name text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())',
    );
    const { rows } = await client.query<{ version: number }>('SELECT version FROM schema_migrations');
    const done = new Set(rows.map((r) => r.version));
    const applied: number[] = [];
    for (const m of [...migrations].sort((a, b) => a.version - b.version)) {
      if (done.has(m.version)) continue;
      await client.query('BEGIN');
      try {
        await client.query(m.sql);
        await client.query('INSERT INTO schema_migrations (version, name) VALUES ($1, $2)', [m.version, m.name]);
        await client.query('COMMIT');
      } catch (err) {
        await client.query('ROLLBACK');
        throw new Error(`migration ${m.name}: ${(err as Error).message}`);
      }
      applied.push(m.version);
    }
    return applied;
  } finally {
    await client.query('SELECT pg_advisory_unlock($1)', [MIGRATION_LOCK]);
  }
}
