// The thread that owns a SQLite file's write connection (gateway/db/owner.ts starts it). Every
// write to the file runs here, one request at a time, so a commit's fsync (and the wait for
// another connection's lock) blocks this thread, never the gateway's event loop.
//
// Plain JavaScript on purpose: a worker thread cannot load TypeScript, and the same file serves
// the bundle (dist/) and the sources under test. It knows no table: a request is a list of steps
// (SQL text that is code in the repositories, plus rows of bound values) and the answer is their
// results. Statements are prepared once per connection and cached by their text.
import { parentPort, workerData } from 'node:worker_threads';
import Database from 'better-sqlite3';

/** @type {Map<number, { db: import('better-sqlite3').Database, cache: Map<string, import('better-sqlite3').Statement> }>} */
const conns = new Map();
// Tests only (the writer-restart test): the thread exits inside the n-th transaction whose first
// statement is `sql`, after its statements ran and before COMMIT, as a crash or an out-of-memory
// there would.
const exitOn = workerData?.testExitAt;
let exitIn = exitOn?.nth ?? 0;

function statement(c, sql) {
  let s = c.cache.get(sql);
  if (!s) {
    s = c.db.prepare(sql);
    s.numbered = /\?\d/.test(sql);
    c.cache.set(sql, s);
  }
  return s;
}

// SQLite binds numbers, strings, bigints, buffers and null: a boolean binds as 0/1, a missing value
// as NULL. Numbered parameters (`?1`: one value used twice) come from an object keyed by number.
function bind(params, numbered) {
  const out = params.map((v) => (v === undefined ? null : typeof v === 'boolean' ? (v ? 1 : 0) : v));
  if (!numbered) return out;
  const named = {};
  out.forEach((v, i) => (named[i + 1] = v));
  return [named];
}

/** One step: `rows` holds one parameter list per execution. */
function runStep(c, step) {
  const s = statement(c, step.sql);
  let changes = 0;
  const out = [];
  for (const params of step.rows) {
    if (s.reader) {
      const got = s.all(...bind(params, s.numbered));
      changes += got.length;
      if (step.mode === 'all') for (const r of got) out.push(r);
    } else {
      changes += s.run(...bind(params, s.numbered)).changes;
    }
  }
  return { changes, rows: out };
}

function handle(msg) {
  switch (msg.op) {
    case 'open': {
      const db = new Database(msg.file, { fileMustExist: true, timeout: msg.busyTimeoutMs });
      // Values from a fixed set (owner.ts checks them); a PRAGMA binds nothing.
      // cache_size: SQLite's default 2 MB per connection, not better-sqlite3's 16 MB (db/sqlite.ts, CACHE_SIZE).
      db.exec(`PRAGMA journal_mode = WAL; PRAGMA synchronous = ${msg.synchronous === 'NORMAL' ? 'NORMAL' : 'FULL'}; PRAGMA foreign_keys = ON; PRAGMA cache_size = -2000`);
      for (const p of msg.pragmas ?? []) db.exec(`PRAGMA ${p}`);
      // The id is the main thread's: a restarted thread opens the same connections under the same ids.
      conns.set(msg.conn, { db, cache: new Map() });
      return msg.conn;
    }
    case 'steps': {
      const c = conns.get(msg.conn);
      if (!c) throw new Error(`connection ${msg.conn} is not open`);
      if (!msg.tx) return msg.steps.map((s) => runStep(c, s));
      return c.db.transaction(() => {
        const out = msg.steps.map((s) => runStep(c, s));
        if (exitIn > 0 && msg.steps[0]?.sql === exitOn.sql && --exitIn === 0) process.exit(70);
        return out;
      }).immediate();
    }
    case 'close': {
      const c = conns.get(msg.conn);
      if (!c) return null;
      conns.delete(msg.conn);
      c.cache.clear();
      c.db.close();
      return null;
    }
    default:
      throw new Error(`unknown request ${String(msg.op)}`);
  }
}

parentPort.on('message', (msg) => {
  try {
    parentPort.postMessage({ id: msg.id, ok: true, value: handle(msg) });
  } catch (err) {
    parentPort.postMessage({ id: msg.id, ok: false, error: { message: String(err?.message ?? err), code: err?.code, name: err?.name } });
  }
});
