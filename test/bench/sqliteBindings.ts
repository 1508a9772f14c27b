/**
 * better-sqlite3 against node:sqlite for the outbox's group commit, both on the main thread: the
 * outbox schema (its numbered migrations), the outbox writer's pragmas (WAL, synchronous FULL, a 2 MB
 * page cache, journal_size_limit), one prepared INSERT run per row inside BEGIN IMMEDIATE … COMMIT, 100,000
 * rows in groups of 100. Each binding runs in a fresh child process (so RSS is its own), twice,
 * alternating. Prints ms and µs per row (wall: mostly the commits' fsyncs; CPU: the binding's own
 * cost), commit p50/p99 and RSS. Bundled into dist/ so that it finds node_modules:
 *   npx esbuild test/bench/sqliteBindings.ts --bundle --platform=node --format=esm \
 *     --packages=external --outfile=dist/sqliteBindings.mjs && node dist/sqliteBindings.mjs
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { OUTBOX_MIGRATIONS } from '../../gateway/outbox/migrations/index.js';
import { INSERT_EVENT } from '../../gateway/outbox/store.js';

const ROWS = Number(process.env.BENCH_ROWS ?? 100_000);
const GROUP = Number(process.env.BENCH_GROUP ?? 100);
const PRAGMAS = ['journal_mode = WAL', 'synchronous = FULL', 'foreign_keys = ON', 'cache_size = -2000', `journal_size_limit = ${64 * 1_048_576}`];

/** The little both bindings share: exec, a prepared statement's run. */
interface Conn {
  exec(sql: string): void;
  prepare(sql: string): { run(...params: unknown[]): unknown };
  close(): void;
}

function open(binding: string, file: string): Conn {
  const require = createRequire(import.meta.url);
  if (binding === 'node:sqlite') {
    const { DatabaseSync } = require('node:sqlite') as typeof import('node:sqlite');
    return new DatabaseSync(file) as unknown as Conn;
  }
  const Database = require('better-sqlite3') as typeof import('better-sqlite3');
  return new Database(file) as unknown as Conn;
}

function rssMb(): number {
  return process.memoryUsage().rss / 1_048_576;
}

function runOne(binding: string): void {
  const dir = mkdtempSync(path.join(tmpdir(), 'sgw-bind-'));
  try {
    const rss0 = rssMb();
    const db = open(binding, path.join(dir, 'outbox.db'));
    for (const p of PRAGMAS) db.exec(`PRAGMA ${p}`);
    for (const m of OUTBOX_MIGRATIONS) db.exec(m);
    const insert = db.prepare(INSERT_EVENT);
    const lat: number[] = [];
    let seq = 0;
    const data = '{"ts":"2026-12-05T10:00:00.000Z","code":"4006381333931"}';
    const cpu0 = process.cpuUsage();
    const t0 = performance.now();
    while (seq < ROWS) {
      const c0 = performance.now();
      db.exec('BEGIN IMMEDIATE');
      for (let i = 0; i < GROUP; i++) {
        seq++;
        insert.run(seq, 'exact', 'scanner', 'scan-1', 'scan', '2026-12-05T10:00:00.000Z', 1_764_928_800_000 + seq, 'boot-1', seq, data);
      }
      db.exec('COMMIT');
      lat.push(performance.now() - c0);
    }
    const ms = performance.now() - t0;
    const cpu = process.cpuUsage(cpu0);
    lat.sort((a, b) => a - b);
    const q = (p: number): string => lat[Math.min(lat.length - 1, Math.floor(p * lat.length))]!.toFixed(2);
    const rss = rssMb();
    db.close();
    process.stdout.write(
      `${binding.padEnd(14)} ${ROWS} rows in groups of ${GROUP}: ${ms.toFixed(0)} ms, ${((ms * 1000) / ROWS).toFixed(2)} µs/row (CPU ${((cpu.user + cpu.system) / ROWS).toFixed(2)} µs/row), commit p50 ${q(0.5)} / p99 ${q(0.99)} ms, RSS ${rss0.toFixed(0)} → ${rss.toFixed(0)} MB\n`,
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const which = process.argv[2];
if (which) {
  runOne(which);
} else {
  process.stdout.write(`node ${process.version}, better-sqlite3 ${createRequire(import.meta.url)('better-sqlite3/package.json').version}\n`);
  const self = fileURLToPath(import.meta.url);
  for (let round = 0; round < 2; round++) {
    for (const b of ['better-sqlite3', 'node:sqlite']) process.stdout.write(execFileSync(process.execPath, [self, b], { encoding: 'utf8' }));
  }
}
