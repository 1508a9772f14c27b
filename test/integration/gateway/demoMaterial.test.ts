/**
 * Published demo material in a real config, through the real process: a `demo: false` config that
 * holds any demo secret, kiosk token or the demo HQ public key (under whatever kid) exits non-zero
 * and names the field; `run` and `check-config` alike. The demo config itself still starts.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawn, spawnSync } from 'node:child_process';
import { createPrivateKey, createPublicKey } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { stringify } from 'yaml';
import { GATEWAY_BIN, buildConfig, spawnGateway } from '../../helpers/gatewayHarness.js';
import { tempDir } from '../../helpers/tmp.js';
import { freePort } from '../../helpers/ports.js';
import { hashSecret } from '../../../gateway/scryptHash.js';

beforeAll(() => {
  if (!existsSync(GATEWAY_BIN)) {
    const b = spawnSync(process.execPath, ['build.mjs'], { stdio: 'inherit' });
    if (b.status !== 0) throw new Error('node build.mjs failed');
  }
});

const tmp = tempDir('sgw-demo-');
afterAll(() => tmp.remove());
let n = 0;

function cleanEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) if (!k.startsWith('STOREGW_')) env[k] = v;
  return { ...env, ...extra };
}

/** Runs the CLI to its exit; a gateway that gets as far as "storegw ready" is stopped and reported as `code: 'ready'`. */
function cli(args: string[], env: Record<string, string> = {}): Promise<{ code: number | null | 'ready'; stderr: string; stdout: string }> {
  return new Promise((resolve, reject) => {
    const p = spawn(process.execPath, [GATEWAY_BIN, ...args], { env: cleanEnv(env), stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    p.stdout.on('data', (d: Buffer) => {
      stdout += d.toString('utf8');
      if (stdout.includes('"storegw ready"')) {
        p.once('close', () => resolve({ code: 'ready', stdout, stderr }));
        p.kill('SIGKILL');
      }
    });
    p.stderr.on('data', (d: Buffer) => (stderr += d.toString('utf8')));
    p.once('error', reject);
    p.once('close', (code) => {
      if (!stdout.includes('"storegw ready"')) resolve({ code, stdout, stderr });
    });
  });
}

/** The demo config's own text, so the test follows whatever the repository publishes. */
const demoYaml = readFileSync('config/demo.yaml', 'utf8');
/** The demo HQ public key, derived from the private key the repository publishes. */
const demoPublicPem = createPublicKey(createPrivateKey(readFileSync('config/demo-hq-signing-key.pem', 'utf8'))).export({ type: 'spki', format: 'pem' }).toString();
const demoKioskHash = /tokenHash: "([^"]+)"/.exec(demoYaml)![1];

async function configWith(extra: Record<string, unknown>): Promise<string> {
  const dir = path.join(tmp.dir, `c${n++}`);
  mkdirSync(dir);
  const file = path.join(dir, 'storegw.yaml');
  writeFileSync(file, stringify(await buildConfig({ dataDir: path.join(dir, 'data'), extra })));
  chmodSync(file, 0o600);
  return file;
}

/** An Ed25519 public key PEM from a fixed seed byte (not the demo's). */
const keyPem = (seed: string) => createPublicKey(createPrivateKey({ key: Buffer.from('302e020100300506032b657004220420' + seed.repeat(32), 'hex'), format: 'der', type: 'pkcs8' })).export({ type: 'spki', format: 'pem' }).toString();
const hq = (pem: string, kid = 'store-hq-2027') => ({ hq: { url: 'mqtt://127.0.0.1:1', publicKeys: [{ kid: 'real-hq', pem: keyPem('11') }, { kid, pem }] } });

describe('demo material in a demo: false config', () => {
  const cases: [string, () => Promise<Record<string, unknown>>, RegExp][] = [
    ['the demo HQ public key under another kid', async () => hq(demoPublicPem), /hq\.publicKeys\[1\]\.pem: .*demo HQ/],
    ['the demo HQ public key re-wrapped (CRLF, no trailing newline)', async () => hq(demoPublicPem.trim().replace(/\n/g, '\r\n'), 'demo-hq-2026'), /hq\.publicKeys\[1\]\.pem: .*demo HQ/],
    ['the demo kiosk token hash copied from demo.yaml', async () => ({ kiosks: [{ id: 'k9', tokenHash: demoKioskHash }] }), /kiosks\[0\]\.tokenHash: .*demo-kiosk-token/],
    ['the demo kiosk token hashed afresh', async () => ({ kiosks: [{ id: 'k2', tokenHash: await hashSecret('demo-kiosk-token', 4) }] }), /kiosks\[0\]\.tokenHash: .*demo-kiosk-token/],
    ['a demo ops password', async () => ({ opsUsers: [{ username: 'boss', role: 'admin', passwordHash: await hashSecret('demo-admin', 4) }] }), /opsUsers\[0\]\.passwordHash: .*demo-admin/],
  ];
  for (const [name, extra, message] of cases) {
    it(`refuses to run with ${name}, naming the field`, async () => {
      const file = await configWith(await extra());
      // Two independent processes on a file neither writes: run side by side.
      const [run, check] = await Promise.all([cli(['run', '--config', file]), cli(['check-config', file])]);
      expect(run.code, run.stderr).not.toBe(0);
      expect(run.stderr).toMatch(message);
      expect(check.code, check.stdout).toBe(2);
      expect(check.stderr).toMatch(message);
    });
  }

  it('starts a clean config with its own HQ key', async () => {
    const file = await configWith(hq(keyPem('22')));
    const gw = await spawnGateway(file, { STOREGW_DATA_DIR: path.join(path.dirname(file), 'data') });
    expect(await gw.kill('SIGTERM')).toBe(0);
  });

  it('still starts the demo config itself (demo: true)', async () => {
    const data = path.join(tmp.dir, 'demo-data');
    // HQ on a port nobody listens on: the demo's own (1884) may be a developer's running `make demo`,
    // whose gateway would see a second demo-store at its HQ and stop sending (DUPLICATE_STORE_ID).
    const hqUrl = `mqtt://127.0.0.1:${await freePort()}`;
    const gw = await spawnGateway(path.resolve('config/demo.yaml'), { STOREGW_DATA_DIR: data, STOREGW_MQTT_PORT: '0', STOREGW_HTTP_PORT: '0', STOREGW_HQ_URL: hqUrl, STOREGW_LOG_LEVEL: 'info' });
    expect(gw.mqttPort).toBeGreaterThan(0);
    expect(await gw.kill('SIGTERM')).toBe(0);
  });
});
