/**
 * `storegw-hq sign` and `keys` take one keys folder's lock (hq/tools/dirLock.ts), through the real
 * `dist/storegw-hq.js`: a run waits while another live run holds it, a lock left by a killed run is
 * removed, concurrent signs hand out distinct versions; and a signing key or password file that
 * others can read is refused. The lock cases run real processes (the lock is between processes);
 * the refusals call the commands in this process (hqInProcess.ts): they decide before any lock.
 */
import { spawn, spawnSync } from 'node:child_process';
import { chmodSync, existsSync, readFileSync, unlinkSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tempDir } from '../../helpers/tmp.js';
import { hqInProcess } from './hqInProcess.js';

const HQ_BIN = path.resolve('dist/storegw-hq.js');
const tmp = tempDir('hq-lock-');
const keys = path.join(tmp.dir, 'keys');
const lock = path.join(keys, '.lock');
let signedFeed = '';
afterAll(() => tmp.remove());

interface Run {
  code: number | null;
  out: string;
  err: string;
}
/** Starts one `storegw-hq` run; `onErr` sees its stderr as it comes. */
function start(args: string[], onErr?: (text: string) => void): Promise<Run> {
  const child = spawn(process.execPath, [HQ_BIN, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stdout.setEncoding('utf8').on('data', (c: string) => (out += c));
  child.stderr.setEncoding('utf8').on('data', (c: string) => {
    err += c;
    onErr?.(err);
  });
  return new Promise((resolve) => child.once('close', (code) => resolve({ code, out, err })));
}
const sign = (scope: string, onErr?: (t: string) => void) => start(['sign', '--feed', 'catalog', '--scope', scope, '--in', 'hq/examples/catalog.csv', '--keys', keys], onErr);
const versionOf = (r: Run): number => (JSON.parse(JSON.parse(r.out).signed) as { version: number }).version;

beforeAll(async () => {
  const r = await start(['keys', 'new', '--dir', keys, '--kid', 'hq-1']);
  expect(r.code, r.err).toBe(0);
});

describe('storegw-hq keys folder lock', () => {
  it('waits while a live run holds the lock, and signs once it is released', async () => {
    writeFileSync(lock, `${process.pid}\n`);
    let waiting!: () => void;
    const saw = new Promise<void>((r) => (waiting = r));
    const run = sign('all', (t) => t.includes('waiting for') && waiting());
    await saw;
    expect(existsSync(path.join(keys, 'versions.json'))).toBe(false);
    unlinkSync(lock);
    const r = await run;
    expect(r.code, r.err).toBe(0);
    expect(r.err).toContain(`held by pid ${process.pid}`);
    expect(existsSync(lock)).toBe(false);
  });

  it('removes a lock left by a run that no longer exists', async () => {
    const gone = spawnSync(process.execPath, ['-e', '0']).pid!;
    writeFileSync(lock, `${gone}\n`);
    const r = await sign('all');
    expect(r.code, r.err).toBe(0);
    expect(r.err).toContain(`removed a stale lock ${lock} left by pid ${gone}`);
  });

  it('hands out distinct versions to concurrent signs of one feed and scope', async () => {
    const runs = await Promise.all([1, 2, 3].map(() => sign('store:s-1')));
    for (const r of runs) expect(r.code, r.err).toBe(0);
    const versions = runs.map(versionOf);
    expect(new Set(versions).size).toBe(3);
    signedFeed = runs[0].out;
    expect(JSON.parse(readFileSync(path.join(keys, 'versions.json'), 'utf8'))['catalog store:s-1']).toBe(Math.max(...versions));
  });

  it('refuses a signing key others can read, and a publish password file others can read', async () => {
    chmodSync(path.join(keys, 'hq-1.key.pem'), 0o644);
    const r = await hqInProcess('sign', ['--feed', 'catalog', '--scope', 'all', '--in', 'hq/examples/catalog.csv', '--keys', keys]);
    expect(r.code).toBe(2);
    expect(r.err).toContain('hq-1.key.pem: is mode 0644, must be readable by its owner only (0600)');
    chmodSync(path.join(keys, 'hq-1.key.pem'), 0o600);
    const pw = path.join(tmp.dir, 'pw');
    writeFileSync(pw, 'x\n', { mode: 0o644 });
    const signed = path.join(tmp.dir, 'c.json');
    writeFileSync(signed, signedFeed);
    const p = await hqInProcess('publish', [ '--mqtt', 'mqtt://127.0.0.1:1', '--user', 'u', '--password-file', pw, '--store', 's-1', signed]);
    expect(existsSync(lock)).toBe(false);
    expect(p.code).toBe(2);
    expect(p.err).toContain(`--password-file: ${pw} is mode 0644`);
  });
});
