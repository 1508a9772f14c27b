/**
 * A throwaway PostgreSQL cluster (Debian package) for tests: initdb into a fresh temp folder, one
 * postmaster on a free loopback port (its unix socket in the same folder). One cluster per test
 * file: initdb takes one to two seconds.
 *
 * PostgreSQL refuses to run as root, and tests run as root on CI and on the dev box: the folder is
 * handed to the Debian user `postgres` and every binary runs through `runuser -u postgres --`.
 * Run as any other user, the binaries are run directly.
 */
import { execFile, execFileSync } from 'node:child_process';
import { chownSync, existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { freePort } from './ports.js';
import { tempDir } from './tmp.js';

const run = promisify(execFile);

export interface PostgresOptions {
  maxConnections?: number;
}

export interface Postgres {
  port: number;
  dir: string;
  /** `postgres://postgres@127.0.0.1:{port}/postgres` (trust auth on loopback: a test cluster). */
  connectionString: string;
  /** The postmaster's pid (changes on restart). */
  pid(): number;
  /** Stops and starts again; `immediate` is a crash (`pg_ctl stop -m immediate`: no checkpoint, WAL replay on start). */
  restart(opts?: { immediate?: boolean }): Promise<void>;
  start(): Promise<void>;
  stop(opts?: { immediate?: boolean }): Promise<void>;
  /** Stops the cluster and removes its folder. */
  remove(): Promise<void>;
}

/** The folder of initdb/pg_ctl: `pg_config --bindir`, else the newest /usr/lib/postgresql/N/bin. */
export function postgresBinDir(): string {
  const candidates: string[] = [];
  try {
    candidates.push(execFileSync('pg_config', ['--bindir'], { encoding: 'utf8' }).trim());
  } catch {
    // no pg_config on PATH: look where Debian puts the server binaries
  }
  if (existsSync('/usr/lib/postgresql')) {
    const versions = readdirSync('/usr/lib/postgresql').filter((v) => /^\d+$/.test(v)).sort((a, b) => Number(b) - Number(a));
    for (const v of versions) candidates.push(`/usr/lib/postgresql/${v}/bin`);
  }
  // Debian's pg_config (libpq-dev) may name a client-only folder: take the first with initdb.
  const dir = candidates.find((d) => existsSync(path.join(d, 'initdb')));
  if (!dir) throw new Error(`PostgreSQL server binaries not found (looked in ${candidates.join(', ') || 'pg_config, /usr/lib/postgresql'}): run make deps`);
  return dir;
}

const asRoot = process.getuid?.() === 0;

function pgUserIds(): { uid: number; gid: number } {
  const id = (flag: string): number => Number(execFileSync('id', [flag, 'postgres'], { encoding: 'utf8' }).trim());
  return { uid: id('-u'), gid: id('-g') };
}

/** Runs a PostgreSQL binary as a non-root user. */
async function pgRun(bin: string, args: string[]): Promise<string> {
  const [file, argv] = asRoot ? ['runuser', ['-u', 'postgres', '--', bin, ...args]] : [bin, args];
  const { stdout } = await run(file, argv, { encoding: 'utf8', timeout: 30_000 });
  return stdout;
}

export async function startPostgres(opts: PostgresOptions = {}): Promise<Postgres> {
  const bin = postgresBinDir();
  const tmp = tempDir('pg-');
  const data = path.join(tmp.dir, 'data');
  if (asRoot) {
    const { uid, gid } = pgUserIds();
    chownSync(tmp.dir, uid, gid);
  }
  await pgRun(path.join(bin, 'initdb'), ['-D', data, '-U', 'postgres', '-A', 'trust', '-E', 'UTF8', '--locale=C', '--no-sync']);
  const port = await freePort();
  // fsync=off: tests kill processes (postgres, the ingest), never the machine. A killed postgres
  // loses nothing the kernel already has in its page cache, so WAL replay after `-m immediate` is
  // tested for real; only a power cut would need the fsyncs, and those cost seconds per test here.
  // synchronous_commit stays on: with it off a commit returns before its WAL leaves PostgreSQL's
  // own memory, and an immediate stop would lose acknowledged batches.
  const conf = [
    `port = ${port}`,
    `listen_addresses = '127.0.0.1'`,
    `unix_socket_directories = '${tmp.dir}'`,
    `max_connections = ${opts.maxConnections ?? 50}`,
    'fsync = off',
    'full_page_writes = off',
    'shared_buffers = 32MB',
    'log_min_messages = warning',
  ];
  writeFileSync(path.join(data, 'postgresql.auto.conf'), conf.join('\n') + '\n');
  const log = path.join(tmp.dir, 'postgres.log');
  if (asRoot) {
    const { uid, gid } = pgUserIds();
    chownSync(path.join(data, 'postgresql.auto.conf'), uid, gid);
  }
  const pgCtl = path.join(bin, 'pg_ctl');

  const pg: Postgres = {
    port,
    dir: tmp.dir,
    connectionString: `postgres://postgres@127.0.0.1:${port}/postgres`,
    pid: () => Number(readFileSync(path.join(data, 'postmaster.pid'), 'utf8').split('\n')[0]),
    async start() {
      await pgRun(pgCtl, ['-D', data, '-l', log, '-w', '-t', '30', 'start']);
    },
    async stop(o = {}) {
      if (!existsSync(path.join(data, 'postmaster.pid'))) return;
      await pgRun(pgCtl, ['-D', data, '-m', o.immediate ? 'immediate' : 'fast', '-w', '-t', '30', 'stop']);
    },
    async restart(o = {}) {
      await pg.stop(o);
      await pg.start();
    },
    async remove() {
      try {
        await pg.stop({ immediate: true });
      } finally {
        tmp.remove();
      }
    },
  };
  await pg.start();
  return pg;
}
