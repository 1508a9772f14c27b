/**
 * The ingest's secrets: the real `dist/storegw-hq.js ingest` refuses a password file, or a config
 * that holds a password, that its group or others can read (exit 2, naming the field), and never
 * logs a password. No broker or database is needed: a refused config exits before connecting.
 */
import { spawn, spawnSync } from 'node:child_process';
import { chmodSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { createHqSigner } from '../../sim/hqSigner.js';
import { tempDir } from '../../helpers/tmp.js';
import { HQ_BIN } from './ingestStack.js';

const tmp = tempDir('hq-secrets-');
afterAll(() => tmp.remove());
const signer = createHqSigner({ kid: 'k' });
writeFileSync(path.join(tmp.dir, 'k.pem'), signer.privateKeyPem, { mode: 0o600 });

function config(name: string, lines: string[], mode: number): string {
  const file = path.join(tmp.dir, name);
  writeFileSync(file, [...lines, 'signing:', '  kid: k', '  privateKeyFile: k.pem', 'workers: 1', ''].join('\n'));
  chmodSync(file, mode);
  return file;
}
const run = (cfg: string) => spawnSync(process.execPath, [HQ_BIN, 'ingest', '--config', cfg], { encoding: 'utf8', timeout: 10_000 });

describe('storegw-hq ingest secrets', () => {
  it('refuses password files its group or others can read, naming each field (exit 2)', () => {
    writeFileSync(path.join(tmp.dir, 'mqtt.pw'), 's3cret\n', { mode: 0o644 });
    writeFileSync(path.join(tmp.dir, 'pg.pw'), 's3cret\n', { mode: 0o640 });
    const cfg = config('files.yaml', ['mqtt:', '  url: mqtt://127.0.0.1:1', '  passwordFile: mqtt.pw', 'postgres:', '  host: 127.0.0.1', '  user: hq', '  passwordFile: pg.pw'], 0o644);
    const r = run(cfg);
    expect(r.status).toBe(2);
    expect(r.stderr).toContain('config.mqtt.passwordFile: mqtt.pw is mode 0644, must be readable by its owner only (0600)');
    expect(r.stderr).toContain('config.postgres.passwordFile: pg.pw is mode 0640');
  });

  it('refuses a config file that holds a password unless it is private', () => {
    const cfg = config('inline.yaml', ['mqtt:', '  url: mqtt://127.0.0.1:1', 'postgres:', '  connectionString: postgres://hq:s3cret@127.0.0.1:1/hq'], 0o644);
    const r = run(cfg);
    expect(r.status).toBe(2);
    expect(r.stderr).toContain(`config: ${cfg} is mode 0644, must be readable by its owner only (0600) (it holds config.postgres.connectionString`);
    expect(r.stderr).not.toContain('s3cret');
  });

  it('logs the broker without its password', async () => {
    const cfg = config('url.yaml', ['mqtt:', '  url: mqtt://hq:s3cret@127.0.0.1:1', 'postgres:', '  connectionString: postgres://hq@127.0.0.1:1/hq'], 0o600);
    const child = spawn(process.execPath, [HQ_BIN, 'ingest', '--config', cfg], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    const started = new Promise<string>((resolve) => {
      child.stdout.setEncoding('utf8').on('data', (c: string) => {
        out += c;
        const line = out.split('\n').find((l) => l.includes('"ingest started"'));
        if (line) resolve(line);
      });
    });
    const line = JSON.parse(await started) as { broker: string };
    const exited = new Promise((r) => child.once('exit', r));
    child.kill('SIGTERM');
    await exited;
    expect(line.broker).toBe('mqtt://hq:***@127.0.0.1:1');
    expect(out).not.toContain('s3cret');
  });
});
