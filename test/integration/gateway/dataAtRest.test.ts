/**
 * Data at rest through the real process: after traffic, the data folder is 0700 and every file in
 * it (SQLite databases with their -wal/-shm, anything else) 0600, also when an older version left
 * them world-readable; a secrets file (the config, `hq.passwordFile`) others can read refuses start,
 * naming the file.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawn, spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { stringify } from 'yaml';
import { GATEWAY_BIN, buildConfig, connectDevice, spawnGateway, ts, TEST_SECRET } from '../../helpers/gatewayHarness.js';
import { tempDir } from '../../helpers/tmp.js';
import { OutboxStore } from '../../../gateway/outbox/store.js';

beforeAll(() => {
  if (!existsSync(GATEWAY_BIN)) {
    const b = spawnSync(process.execPath, ['build.mjs'], { stdio: 'inherit' });
    if (b.status !== 0) throw new Error('node build.mjs failed');
  }
});

const tmp = tempDir('sgw-rest-');
afterAll(() => tmp.remove());

/** Every folder and file under `dir` (the folder itself first), with its permission bits. */
function modes(dir: string): { path: string; dir: boolean; mode: number }[] {
  const out = [{ path: dir, dir: true, mode: statSync(dir).mode & 0o777 }];
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) out.push(...modes(p));
    else if (e.isFile()) out.push({ path: p, dir: false, mode: statSync(p).mode & 0o777 });
  }
  return out;
}

/** Runs `storegw run` until it exits, or until it is ready (then it is killed: `code: 'ready'`). */
function run(file: string): Promise<{ code: number | null | 'ready'; stderr: string }> {
  return new Promise((resolve) => {
    const p = spawn(process.execPath, [GATEWAY_BIN, 'run', '--config', file], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    p.stderr.on('data', (d: Buffer) => (stderr += d.toString('utf8')));
    p.stdout.on('data', (d: Buffer) => {
      stdout += d.toString('utf8');
      if (stdout.includes('"storegw ready"')) p.kill('SIGKILL');
    });
    p.once('close', (code) => resolve({ code: stdout.includes('"storegw ready"') ? 'ready' : code, stderr }));
  });
}

describe('data at rest', () => {
  it('keeps the data folder 0700 and every file in it 0600 after traffic, fixing what an older version left', async () => {
    const dir = path.join(tmp.dir, 'traffic');
    const data = path.join(dir, 'data');
    mkdirSync(data, { recursive: true, mode: 0o755 });
    chmodSync(data, 0o755);
    // An older version ran with the default umask: a world-readable outbox and a stray file.
    const old = new OutboxStore(path.join(data, 'outbox.db'));
    await old.start();
    await old.stop();
    chmodSync(path.join(data, 'outbox.db'), 0o644);
    writeFileSync(path.join(data, 'notes.txt'), 'left by an older version\n', { mode: 0o644 });
    mkdirSync(path.join(data, 'old'), { mode: 0o755 });
    chmodSync(path.join(data, 'old'), 0o755);
    writeFileSync(path.join(data, 'x.db'), '', { mode: 0o666 });
    chmodSync(path.join(data, 'x.db'), 0o666);

    const file = path.join(dir, 'storegw.yaml');
    writeFileSync(file, stringify(await buildConfig({ dataDir: data })), { mode: 0o600 });
    const gw = await spawnGateway(file);
    try {
      const c = await connectDevice(`mqtt://127.0.0.1:${gw.mqttPort}`, 'footfall/door-1', TEST_SECRET);
      for (let i = 0; i < 20; i++) await c.publishAsync('store/v1/dev/footfall/door-1/evt/count', JSON.stringify({ ts: ts(), in: i, out: 0 }), { qos: 1 });
      await c.endAsync();
      const login = await fetch(`http://127.0.0.1:${gw.httpPort}/api/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ username: 'admin', password: 'admin-pass-1' }) });
      expect(login.status).toBe(200);

      const all = modes(data);
      expect(all.map((m) => path.basename(m.path))).toEqual(expect.arrayContaining(['outbox.db', 'outbox.db-wal', 'outbox.db-shm', 'state.db', 'notes.txt', 'x.db']));
      const loose = all.filter((m) => m.mode !== (m.dir ? 0o700 : 0o600)).map((m) => `${path.relative(data, m.path) || '.'} ${m.mode.toString(8)}`);
      expect(loose).toEqual([]);
    } finally {
      await gw.kill();
    }
  });

  it('refuses to start when a secrets file can be read by others, naming it', async () => {
    const dir = path.join(tmp.dir, 'secrets');
    mkdirSync(dir);
    const pw = path.join(dir, 'hq-password');
    writeFileSync(pw, 'an-hq-password\n', { mode: 0o644 });
    chmodSync(pw, 0o644);
    const file = path.join(dir, 'storegw.yaml');
    writeFileSync(file, stringify(await buildConfig({ dataDir: path.join(dir, 'data'), extra: { hq: { url: 'mqtt://127.0.0.1:1', username: 'store', passwordFile: pw }, prices: { enabled: false } } })), { mode: 0o600 });
    chmodSync(file, 0o600);

    const loosePassword = await run(file);
    expect(loosePassword.code).not.toBe('ready');
    expect(loosePassword.code).not.toBe(0);
    expect(loosePassword.stderr).toMatch(/hq\.passwordFile: .*hq-password.*(group|others).*0644/);

    chmodSync(pw, 0o600);
    chmodSync(file, 0o644);
    const looseConfig = await run(file);
    expect(looseConfig.code).not.toBe('ready');
    expect(looseConfig.stderr).toMatch(/storegw\.yaml.*others.*0644/);

    chmodSync(file, 0o640);
    const ok = await run(file);
    expect(ok.code, ok.stderr).toBe('ready');
  });
});
