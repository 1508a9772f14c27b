/**
 * The bridge as its own process: `storegw-bridge --config FILE`, bundled from firmware-bridge/main.ts
 * the way build.mjs bundles it, against the real gateway. It keeps its devices through a gateway
 * restart (reconnect with backoff, birth and state again), and SIGTERM stops it cleanly.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { build } from 'esbuild';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { startGateway, TEST_SECRET, type RunningGateway } from '../../helpers/gatewayHarness.js';
import { tempDir } from '../../helpers/tmp.js';
import type { NewEvent } from '../../../gateway/outbox/store.js';
import { startSerialSimulators, type SerialSimulators } from '../../../firmware-bridge/simulators.js';
import type { MtsicsSim } from '../../../firmware-bridge/devices/mtsics/sim.js';

let tmp: { dir: string; remove: () => void };
let bin: string;
let binDir: string;
const children: ChildProcess[] = [];
const stops: (() => Promise<void>)[] = [];

beforeAll(async () => {
  tmp = tempDir('sgw-bridge-main-');
  // Inside the repository so the bundle's external packages resolve from node_modules.
  mkdirSync('node_modules/.cache', { recursive: true });
  binDir = mkdtempSync(path.resolve('node_modules/.cache/storegw-bridge-test-'));
  bin = path.join(binDir, 'storegw-bridge.js');
  await build({ entryPoints: ['firmware-bridge/main.ts'], outfile: bin, bundle: true, platform: 'node', format: 'esm', target: 'node24', tsconfig: 'tsconfig.server.json', packages: 'external', logLevel: 'warning' });
}, 30_000);

afterAll(async () => {
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  for (const s of stops.reverse()) await s().catch(() => undefined);
  tmp.remove();
  rmSync(binDir, { recursive: true, force: true });
});

/** Runs the bridge binary; output lines are collected. */
function runBridge(args: string[]): { proc: ChildProcess; lines: string[]; exited: Promise<[number | null, NodeJS.Signals | null]>; line(match: (l: string) => boolean): Promise<string> } {
  const proc = spawn(process.execPath, [bin, ...args], { cwd: path.resolve('.'), stdio: ['ignore', 'pipe', 'pipe'] });
  children.push(proc);
  const lines: string[] = [];
  const waiters = new Set<() => void>();
  let buf = '';
  const add = (d: Buffer) => {
    buf += d.toString('utf8');
    let nl: number;
    while ((nl = buf.indexOf('\n')) >= 0) {
      lines.push(buf.slice(0, nl));
      buf = buf.slice(nl + 1);
    }
    for (const w of [...waiters]) w();
  };
  proc.stdout!.on('data', add);
  proc.stderr!.on('data', add);
  const exited = once(proc, 'exit') as Promise<[number | null, NodeJS.Signals | null]>;
  return {
    proc,
    lines,
    exited,
    line: (match) =>
      new Promise((resolve) => {
        const w = () => {
          const hit = lines.find(match);
          if (hit === undefined) return;
          waiters.delete(w);
          resolve(hit);
        };
        waiters.add(w);
        w();
      }),
  };
}

function onCommitted(gw: RunningGateway) {
  const committed: NewEvent[] = [];
  const waiters = new Set<() => void>();
  gw.gw.onEvent((e) => {
    committed.push(e);
    for (const w of [...waiters]) w();
  });
  return (match: (e: NewEvent) => boolean) =>
    new Promise<NewEvent>((resolve) => {
      const w = () => {
        const hit = committed.find(match);
        if (!hit) return;
        waiters.delete(w);
        resolve(hit);
      };
      waiters.add(w);
      w();
    });
}

function registryOnline(gw: RunningGateway, id: string, online: boolean): Promise<void> {
  return new Promise((resolve) => {
    if (gw.gw.registry.get('scale', id)!.online === online) return resolve();
    const off = gw.gw.registry.onChange((d) => {
      if (d.id === id && d.online === online) {
        off();
        resolve();
      }
    });
  });
}

describe('storegw-bridge process', () => {
  it('check-config prints errors with their paths and exits 2', async () => {
    const file = path.join(tmp.dir, 'bad.yaml');
    writeFileSync(file, stringify({ mqtt: { url: 'mqtt://127.0.0.1:1', username: 'bridge/kb', password: 'x' }, devices: [{ kind: 'scale', id: 's', protocol: 'mtsics', serial: {} }] }));
    const r = runBridge(['check-config', file]);
    const [code] = await r.exited;
    expect(code).toBe(2);
    expect(r.lines).toContain('devices[0].serial.path: is required');
    const r2 = runBridge(['--config', file]);
    expect((await r2.exited)[0]).toBe(2);
    expect(r2.lines.join('\n')).toMatch(/has 1 error\(s\):\n {2}devices\[0\]\.serial\.path: is required/);
  });

  it('refuses a password file others can read, naming it', async () => {
    const secret = path.join(tmp.dir, 'loose.secret');
    writeFileSync(secret, 'x\n', { mode: 0o644 });
    chmodSync(secret, 0o644);
    const file = path.join(tmp.dir, 'loose.yaml');
    writeFileSync(file, stringify({ mqtt: { url: 'mqtt://127.0.0.1:1', username: 'bridge/kb', passwordFile: secret }, devices: [{ kind: 'scale', id: 's', protocol: 'mtsics', serial: { path: '/dev/null' } }] }));
    const r = runBridge(['--config', file]);
    expect((await r.exited)[0]).toBe(2);
    expect(r.lines.join('\n')).toMatch(/mqtt\.passwordFile: .*loose\.secret .*group\/others \(mode 0644\)/);
    // An inline password makes the config file itself a secrets file.
    const inline = path.join(tmp.dir, 'inline.yaml');
    writeFileSync(inline, stringify({ mqtt: { url: 'mqtt://127.0.0.1:1', username: 'bridge/kb', password: 'a-real-secret' }, devices: [{ kind: 'scale', id: 's', protocol: 'mtsics', serial: { path: '/dev/null' } }] }), { mode: 0o644 });
    chmodSync(inline, 0o644);
    const r2 = runBridge(['--config', inline]);
    expect((await r2.exited)[0]).toBe(2);
    expect(r2.lines.join('\n')).toMatch(/mqtt\.password: .*inline\.yaml .*\(mode 0644\).*inline/);
  });

  it('publishes weights, survives a gateway restart, and stops on SIGTERM marking its device offline', async () => {
    const dataDir = path.join(tmp.dir, 'gw');
    let gw = await startGateway({ dataDir, devices: [{ kind: 'scale', id: 'k1-produce', bridge: 'kb' }], bridges: ['kb'] });
    stops.push(() => gw.stop());
    const port = gw.gw.mqttPort;
    const cfg = {
      log: { level: 'info' },
      mqtt: { url: gw.mqttUrl, username: 'bridge/kb', passwordFile: 'bridge.secret', reconnect: { initialMs: 50, maxMs: 300 } },
      devices: [{ kind: 'scale', id: 'k1-produce', protocol: 'mtsics', serial: { path: path.join(tmp.dir, 'pty', 'k1-produce'), presenceCheckMs: 100 }, options: { mode: 'stream' } }],
    };
    writeFileSync(path.join(tmp.dir, 'bridge.secret'), `${TEST_SECRET}\n`, { mode: 0o600 });
    const file = path.join(tmp.dir, 'bridge.yaml');
    writeFileSync(file, stringify(cfg));
    const sims: SerialSimulators = await startSerialSimulators(cfg as never, { mtsics: { streamIntervalMs: 50 }, grams: 410 });
    stops.push(() => sims.stop());

    let committed = onCommitted(gw);
    const online = registryOnline(gw, 'k1-produce', true);
    const b = runBridge(['--config', file]);
    await b.line((l) => l.includes('"storegw-bridge ready"'));
    await online;
    await committed((e) => e.deviceId === 'k1-produce' && JSON.parse(e.data).grams === 410);

    // The gateway goes away and comes back on the same port and data: the bridge reconnects by itself.
    await gw.stop();
    gw = await startGateway({ dataDir, mqttPort: port, devices: [{ kind: 'scale', id: 'k1-produce', bridge: 'kb' }], bridges: ['kb'] });
    committed = onCommitted(gw);
    const back = registryOnline(gw, 'k1-produce', true);
    (sims.sims.get('k1-produce') as MtsicsSim).setWeight(520);
    await back;
    await committed((e) => e.deviceId === 'k1-produce' && JSON.parse(e.data).grams === 520);
    expect(gw.gw.registry.get('scale', 'k1-produce')!.birth).toMatchObject({ model: 'MT-SICS balance', bridge: 'kb' });

    const offline = registryOnline(gw, 'k1-produce', false);
    b.proc.kill('SIGTERM');
    expect(await b.exited).toEqual([0, null]);
    await offline;
    const stopped = await b.line((l) => l.includes('"stopped"'));
    expect(JSON.parse(stopped).stats[0]).toMatchObject({ id: 'k1-produce', invalid: 0, rejects: 0, dropped: 0, badFrames: 0 });
    expect(gw.gw.registry.get('scale', 'k1-produce')!.rejects).toEqual({});
    expect(await gw.gw.outbox.recentDeadLetters('k1-produce')).toEqual([]);
  });
});
