/**
 * The `storegw` command line as a real child process (`node dist/storegw.js …`): check-config,
 * run with a bad config, device add (also while the gateway runs), outbox stats|export while the
 * gateway runs, and the refusal of a non-demo config that accepts a demo password.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { stringify } from 'yaml';
import {
  GATEWAY_BIN,
  buildConfig,
  connectDevice,
  spawnGateway,
  ts,
  writeConfigFile,
  TEST_SECRET,
  type GatewayProcess,
} from '../../helpers/gatewayHarness.js';
import { tempDir } from '../../helpers/tmp.js';
import { hashSecret, verifySecret } from '../../../gateway/scryptHash.js';
import { DeviceStore } from '../../../gateway/devices/store.js';

beforeAll(() => {
  // `make test` builds first; a bare `npx vitest run` may not have.
  if (!existsSync(GATEWAY_BIN)) {
    const b = spawnSync(process.execPath, ['build.mjs'], { stdio: 'inherit' });
    if (b.status !== 0) throw new Error('node build.mjs failed');
  }
});

/** The environment without STOREGW_* overrides, so only the file counts. */
function cleanEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) if (!k.startsWith('STOREGW_')) env[k] = v;
  return { ...env, ...extra };
}

interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}
function cli(args: string[], env: Record<string, string> = {}): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const p = spawn(process.execPath, [GATEWAY_BIN, ...args], { env: cleanEnv(env), stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    p.stdout.on('data', (d: Buffer) => (stdout += d.toString('utf8')));
    p.stderr.on('data', (d: Buffer) => (stderr += d.toString('utf8')));
    p.once('error', reject);
    p.once('close', (code) => resolve({ code, stdout, stderr }));
  });
}

const tmp = tempDir('sgw-cli-');
afterAll(() => tmp.remove());
let n = 0;
/** A fresh folder (config file + data dir) inside the suite's temp folder. */
function sub(): { dir: string; dataDir: string } {
  const dir = path.join(tmp.dir, `case-${++n}`);
  return { dir, dataDir: path.join(dir, 'data') };
}
async function writeYaml(dir: string, o: Record<string, unknown>): Promise<string> {
  mkdirSync(dir, { recursive: true });
  const file = path.join(dir, 'storegw.yaml');
  writeFileSync(file, stringify(o), { mode: 0o600 });
  return file;
}

// The cases without a running gateway each write their own folder (sub()) and are mostly Node
// starts of the CLI: they run concurrently; the ones against the running gateway stay in order.
const THREE_ERRORS = [
  'storeId: must match pattern "^[A-Za-z0-9][A-Za-z0-9._:-]{0,63}$"',
  'mqtt.port: must be <= 65535',
  'devices[3].kind: must be one of "esl", "scale", "scanner", "rfid", "footfall", "light", "payment", "kiosk", "printer"',
];
async function threeErrorConfig(): Promise<string> {
  const { dir, dataDir } = sub();
  const raw = await buildConfig({ dataDir });
  (raw.devices as Record<string, unknown>[])[3].kind = 'toaster';
  raw.storeId = 'store one!';
  (raw.mqtt as Record<string, unknown>).port = 70000;
  return writeYaml(dir, raw);
}

describe.concurrent('storegw check-config', () => {
  it('prints each of three errors with its path and exits 2', async () => {
    const file = await threeErrorConfig();
    const r = await cli(['check-config', file]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(`${file} has 3 error(s):`);
    for (const e of THREE_ERRORS) expect(r.stderr).toContain(`  ${e}\n`);
    expect(r.stdout).toBe('');
  });

  it('accepts config/demo.yaml and exits 0', async () => {
    const r = await cli(['check-config', 'config/demo.yaml']);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toBe('config/demo.yaml: OK (store demo-store, 17 devices, 3 ops users)\n');
  });

  it('a missing file and a missing argument exit 2', async () => {
    // Independent runs that write nothing: concurrently (each is a Node start).
    const [r, u] = await Promise.all([cli(['check-config', path.join(tmp.dir, 'nope.yaml')]), cli(['check-config'])]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('ENOENT');
    expect(u.code).toBe(2);
    expect(u.stderr).toContain('usage:');
  });
});

describe.concurrent('storegw run with a bad config', () => {
  it('exits 2 with the same words as check-config', async () => {
    const file = await threeErrorConfig();
    const r = await cli(['run', '--config', file]);
    expect(r.code).toBe(2);
    for (const e of THREE_ERRORS) expect(r.stderr).toContain(`  ${e}\n`);
  });

  it('refuses a non-demo config that accepts a demo password: exit 2, the message names the field', async () => {
    const { dir, dataDir } = sub();
    const raw = await buildConfig({ dataDir });
    const users = raw.opsUsers as { username: string; passwordHash: string }[];
    users[0].passwordHash = await hashSecret('demo-admin', 4);
    const file = await writeYaml(dir, raw);
    const r = await cli(['run', '--config', file]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(`opsUsers[0].passwordHash: accepts the published demo secret "demo-admin"`);
    expect(existsSync(path.join(dataDir, 'outbox.db'))).toBe(false); // refused before touching data
  });
});

/** Every byte of every file in the data folder (db, -wal, -shm) as latin1 text, to grep. */
function dataBytes(dataDir: string): string {
  return readdirSync(dataDir, { withFileTypes: true })
    .filter((f) => f.isFile())
    .map((f) => readFileSync(path.join(dataDir, f.name)).toString('latin1'))
    .join('\n');
}

describe.concurrent('storegw device add', () => {
  it('prints {"username","password"} once, stores only a hash, refuses a duplicate', async () => {
    const { dir, dataDir } = sub();
    mkdirSync(dir, { recursive: true });
    const file = await writeConfigFile(dir, { dataDir });
    const r = await cli(['device', 'add', '--config', file, '--kind', 'rfid', '--id', 'new-1', '--location', 'shelf 4']);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const lines = r.stdout.trim().split('\n');
    expect(lines).toHaveLength(1);
    const creds = JSON.parse(lines[0]) as { username: string; password: string };
    expect(Object.keys(creds)).toEqual(['username', 'password']);
    expect(creds.username).toBe('rfid/new-1');
    expect(creds.password.length).toBeGreaterThanOrEqual(24);

    // only a hash in the database, and it is the hash of that password
    expect(dataBytes(dataDir)).not.toContain(creds.password);
    const store = new DeviceStore(path.join(dataDir, 'state.db'));
    await store.start();
    try {
      const row = await store.findProvisioned('rfid', 'new-1');
      expect(row).toMatchObject({ kind: 'rfid', id: 'new-1', location: 'shelf 4', disabled: false });
      expect(row!.secretHash).not.toContain(creds.password);
      expect(await verifySecret(creds.password, row!.secretHash)).toBe(true);
    } finally {
      await store.stop();
    }

    const again = await cli(['device', 'add', '--config', file, '--kind', 'rfid', '--id', 'new-1']);
    expect(again.code).toBe(1);
    expect(again.stdout).toBe('');
    expect(again.stderr).toContain('rfid/new-1 is already provisioned');
  });

  it('refuses a device declared in the config file, a bad kind and a bad id', async () => {
    const { dir, dataDir } = sub();
    mkdirSync(dir, { recursive: true });
    const file = await writeConfigFile(dir, { dataDir });
    // Three refusals, none of which provisions anything: concurrently (each is a Node start).
    const [declared, kind, id] = await Promise.all([
      cli(['device', 'add', '--config', file, '--kind', 'footfall', '--id', 'door-1']),
      cli(['device', 'add', '--config', file, '--kind', 'toaster', '--id', 't-1']),
      cli(['device', 'add', '--config', file, '--kind', 'rfid', '--id', 'a/b']),
    ]);
    expect(declared.code).toBe(1);
    expect(declared.stdout).toBe('');
    expect(declared.stderr).toContain('footfall/door-1 is declared in the config file');
    expect(kind.code).toBe(2);
    expect(kind.stderr).toContain('--kind: must be one of esl, scale');
    expect(id.code).toBe(2);
    expect(id.stderr).toContain('--id: must be');
    expect(id.stdout + kind.stdout).toBe('');
  });
});

describe('with the gateway running', () => {
  let gw: GatewayProcess;
  let file: string;
  let dataDir: string;
  beforeAll(async () => {
    const s = sub();
    dataDir = s.dataDir;
    mkdirSync(s.dir, { recursive: true });
    file = await writeConfigFile(s.dir, { dataDir });
    gw = await spawnGateway(file, cleanEnv() as Record<string, string>);
  });
  afterAll(async () => {
    if (gw) expect(await gw.kill('SIGTERM')).toBe(0);
  });

  it('a device added while it runs connects right away with that password; an unprovisioned one gets CONNACK 5', async () => {
    const url = `mqtt://127.0.0.1:${gw.mqttPort}`;
    await expect(connectDevice(url, 'rfid/live-1', TEST_SECRET)).rejects.toMatchObject({ code: 5 });
    const r = await cli(['device', 'add', '--config', file, '--kind', 'rfid', '--id', 'live-1']);
    expect(r.code).toBe(0);
    const creds = JSON.parse(r.stdout) as { username: string; password: string };
    await expect(connectDevice(url, creds.username, 'not-the-password')).rejects.toMatchObject({ code: 4 });
    const c = await connectDevice(url, creds.username, creds.password);
    expect(c.connected).toBe(true);
    // it may publish under its own topic and the event is stored
    await c.publishAsync('store/v1/dev/rfid/live-1/evt/read', JSON.stringify({ ts: ts(), epc: '3034257BF7194E4000001A85', antenna: 1, rssi: -50 }), { qos: 1 });
    await c.endAsync();
    await expect(connectDevice(url, 'rfid/never-added', creds.password)).rejects.toMatchObject({ code: 5 });
    expect(dataBytes(dataDir)).not.toContain(creds.password);
  });

  it('outbox stats and export read the outbox while the gateway runs', async () => {
    const url = `mqtt://127.0.0.1:${gw.mqttPort}`;
    const before = JSON.parse((await cli(['outbox', 'stats', '--config', file])).stdout) as Record<string, { count: number; minSeq: number; maxSeq: number }>;
    const base = Object.values(before).reduce((m, s) => Math.max(m, s.maxSeq), 0);

    const door = await connectDevice(url, 'footfall/door-1', TEST_SECRET);
    const scale = await connectDevice(url, 'scale/scale-1', TEST_SECRET);
    const sent: { topic: string; data: Record<string, unknown> }[] = [
      { topic: 'store/v1/dev/footfall/door-1/evt/count', data: { ts: '2026-11-25T09:00:00.000Z', in: 3, out: 1 } },
      { topic: 'store/v1/dev/footfall/door-1/evt/count', data: { ts: '2026-11-25T09:01:00.000Z', in: 2, out: 0 } },
      { topic: 'store/v1/dev/footfall/door-1/evt/heartbeat', data: { ts: '2026-11-25T09:01:30.000Z', uptimeS: 90 } },
      { topic: 'store/v1/dev/scale/scale-1/evt/weight', data: { ts: '2026-11-25T09:02:00.000Z', grams: 1250, stable: true } },
      { topic: 'store/v1/dev/footfall/door-1/evt/alert', data: { ts: '2026-11-25T09:03:00.000Z', code: 'DOOR_AJAR', severity: 'warning', message: 'open 5 min' } },
    ];
    // one at a time, so the seq order is the send order; each resolves on its PUBACK (committed)
    for (const s of sent) await (s.topic.includes('/scale/') ? scale : door).publishAsync(s.topic, JSON.stringify(s.data), { qos: 1 });
    await door.endAsync();
    await scale.endAsync();

    const st = await cli(['outbox', 'stats', '--config', file]);
    expect(st.stderr).toBe('');
    expect(st.code).toBe(0);
    const stats = JSON.parse(st.stdout) as Record<string, { count: number; minSeq: number; maxSeq: number }>;
    const grew = (cls: string) => stats[cls].count - (before[cls]?.count ?? 0);
    expect(grew('aggregate')).toBe(2);
    expect(grew('latest')).toBe(1);
    expect(grew('sampled')).toBe(1);
    expect(grew('exact')).toBe(1);
    expect(stats.aggregate.maxSeq).toBe(base + 2);
    expect(stats.exact.maxSeq).toBe(base + 5);

    const ex = await cli(['outbox', 'export', '--config', file, '--from', String(base + 1)]);
    expect(ex.stderr).toBe('');
    expect(ex.code).toBe(0);
    const records = ex.stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(records.map((r) => r.seq)).toEqual([base + 1, base + 2, base + 3, base + 4, base + 5]);
    const cls = ['aggregate', 'aggregate', 'latest', 'sampled', 'exact'];
    records.forEach((r, i) => {
      const [, , , kind, deviceId, , type] = sent[i].topic.split('/');
      expect(r).toMatchObject({ seq: base + 1 + i, class: cls[i], kind, deviceId, type, ts: sent[i].data.ts, data: sent[i].data });
      expect(Object.keys(r).slice(0, 7)).toEqual(['seq', 'class', 'kind', 'deviceId', 'type', 'ts', 'data']);
    });

    const [tail, bad] = await Promise.all([
      cli(['outbox', 'export', '--config', file, '--from', String(base + 4)]),
      cli(['outbox', 'export', '--config', file, '--from', 'abc']),
    ]);
    expect(tail.stdout.trim().split('\n').map((l) => (JSON.parse(l) as { seq: number }).seq)).toEqual([base + 4, base + 5]);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('--from: must be a non-negative integer');
  });
});
