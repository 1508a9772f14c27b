/**
 * A database of its own in the run's shared PostgreSQL cluster (test/helpers/pgGlobalSetup.ts), for
 * test files that never stop or restart PostgreSQL. Outside vitest (the bench imports the same
 * stacks) there is no shared cluster: `sharedDatabase()` resolves to undefined and the caller
 * starts its own.
 */
import type { Postgres } from './postgres.js';

declare module 'vitest' {
  export interface ProvidedContext {
    /** Base URL of the shared-cluster endpoint (POST /db creates a database, DELETE /db/NAME drops it). */
    pgSharedUrl: string;
  }
}

export async function sharedDatabase(): Promise<Postgres | undefined> {
  if (!process.env.VITEST) return undefined;
  const { inject } = await import('vitest');
  const base = inject('pgSharedUrl');
  if (!base) return undefined;
  const res = await fetch(`${base}/db`, { method: 'POST' });
  if (!res.ok) throw new Error(`shared PostgreSQL cluster: ${res.status} ${await res.text()}`);
  const db = (await res.json()) as { name: string; port: number; dir: string; connectionString: string };
  const shared = (what: string) => () => {
    throw new Error(`${what} on the shared PostgreSQL cluster: a test that stops PostgreSQL starts its own (ownCluster)`);
  };
  return {
    port: db.port,
    dir: db.dir,
    connectionString: db.connectionString,
    pid: shared('pid()'),
    restart: shared('restart()'),
    start: shared('start()'),
    stop: shared('stop()'),
    async remove() {
      await fetch(`${base}/db/${db.name}`, { method: 'DELETE' });
    },
  };
}
