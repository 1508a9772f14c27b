/**
 * Both programs as systemd runs them: the built dist files as child processes, with
 * NOTIFY_SOCKET pointing at a datagram socket the test reads and a 1 s watchdog. Each says READY=1
 * at start, WATCHDOG=1 at half the interval (each ping well inside the watchdog), STOPPING=1 on
 * SIGTERM, and exits 0. The bridge used to say nothing: its unit (Type=notify, WatchdogSec=30)
 * would have been killed and restarted in a loop.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { stringify } from 'yaml';
import { afterAll, describe, expect, it } from 'vitest';
import { startGateway, spawnGateway, TEST_SECRET, writeConfigFile } from '../../helpers/gatewayHarness.js';
import { openNotifySocket, type NotifySocket } from '../../helpers/notifySocket.js';
import { tempDir } from '../../helpers/tmp.js';

const WATCHDOG_USEC = 1_000_000;
const WATCHDOG_MS = WATCHDOG_USEC / 1000;
// Pings come every 500 ms; a gap this long means a ping came at (or after) the watchdog's deadline.
const LATE_MS = 0.9 * WATCHDOG_MS;
const PINGS = 4;

const cleanups: (() => Promise<void> | void)[] = [];
afterAll(async () => {
  for (const c of cleanups.reverse()) await c();
});

function notifyEnv(sock: NotifySocket): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(process.env)) if (v !== undefined && !k.startsWith('WATCHDOG_') && k !== 'NOTIFY_SOCKET') env[k] = v;
  return { ...env, NOTIFY_SOCKET: sock.path, WATCHDOG_USEC: String(WATCHDOG_USEC) };
}

/** READY=1, then PINGS watchdog pings each within the interval, then STOPPING=1 on SIGTERM and exit 0. */
async function expectSupervised(sock: NotifySocket, proc: ChildProcess): Promise<void> {
  const exited = once(proc, 'exit') as Promise<[number | null, NodeJS.Signals | null]>;
  const ready = await sock.nth('READY=1', 1);
  const pings = [];
  for (let i = 1; i <= PINGS; i++) pings.push(await sock.nth('WATCHDOG=1', i));
  const times = [ready.atMs, ...pings.map((p) => p.atMs)];
  const gaps = times.slice(1).map((t, i) => t - times[i]);
  expect(gaps.every((g) => g < LATE_MS), `ping gaps ${gaps.join(', ')} ms with a ${WATCHDOG_MS} ms watchdog`).toBe(true);
  expect(sock.received.filter((r) => r.state === 'STOPPING=1')).toEqual([]);
  proc.kill('SIGTERM');
  const [stopping, [code, signal]] = await Promise.all([sock.nth('STOPPING=1', 1), exited]);
  expect(stopping.atMs).toBeGreaterThanOrEqual(pings.at(-1)!.atMs);
  expect({ code, signal }).toEqual({ code: 0, signal: null });
  // Every message went out through systemd-notify's barrier (no --no-block): the sender waited
  // until the socket's reader had taken it, so systemd can attribute it to the unit.
  const barriers = sock.received.filter((r) => r.state === 'BARRIER=1');
  expect(barriers.length).toBeGreaterThanOrEqual(PINGS + 2);
  expect(barriers.every((b) => b.fds === 1)).toBe(true);
  // The order systemd sees: READY first, STOPPING last, nothing after it.
  const states = sock.received.map((r) => r.state).filter((s) => s !== 'BARRIER=1');
  expect(states[0]).toBe('READY=1');
  expect(states.at(-1)).toBe('STOPPING=1');
}

describe('sd_notify as installed', () => {
  it('storegw: READY=1, WATCHDOG=1 within the interval, STOPPING=1 on SIGTERM, exit 0', async () => {
    const tmp = tempDir('sgw-notify-gw-');
    cleanups.push(() => tmp.remove());
    const sock = await openNotifySocket();
    cleanups.push(() => sock.close());
    const file = await writeConfigFile(tmp.dir, { dataDir: path.join(tmp.dir, 'data') });
    const gw = await spawnGateway(file, notifyEnv(sock));
    cleanups.push(async () => void (await gw.kill('SIGKILL')));
    await expectSupervised(sock, gw.proc);
  });

  it('storegw-bridge: READY=1 once its devices are started, WATCHDOG=1 within the interval, STOPPING=1 on SIGTERM, exit 0', async () => {
    const tmp = tempDir('sgw-notify-bridge-');
    cleanups.push(() => tmp.remove());
    const gw = await startGateway({ dataDir: path.join(tmp.dir, 'gw'), devices: [{ kind: 'scale', id: 'k1-produce', bridge: 'kb' }], bridges: ['kb'] });
    cleanups.push(() => gw.stop());
    const secret = path.join(tmp.dir, 'bridge.secret');
    writeFileSync(secret, `${TEST_SECRET}\n`, { mode: 0o600 });
    const cfg = path.join(tmp.dir, 'bridge.yaml');
    // The scale's port does not exist: the bridge is ready anyway and keeps trying it (a USB
    // adapter plugged in later), as it keeps trying the gateway.
    writeFileSync(
      cfg,
      stringify({
        log: { level: 'warn' },
        mqtt: { url: gw.mqttUrl, username: 'bridge/kb', passwordFile: secret },
        devices: [{ kind: 'scale', id: 'k1-produce', protocol: 'mtsics', serial: { path: path.join(tmp.dir, 'no-such-port') }, options: { mode: 'stream' } }],
      }),
      { mode: 0o600 },
    );
    const sock = await openNotifySocket();
    cleanups.push(() => sock.close());
    const proc = spawn(process.execPath, [path.resolve('dist/storegw-bridge.js'), '--config', cfg], { env: notifyEnv(sock), stdio: ['ignore', 'ignore', 'inherit'] });
    cleanups.push(() => void (proc.exitCode === null && proc.signalCode === null && proc.kill('SIGKILL')));
    await expectSupervised(sock, proc);
  });
});
