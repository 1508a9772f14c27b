/**
 * The unit files an installer copies to a real box: `systemd-analyze verify` accepts them
 * without a single warning, and they carry the promised supervision and hardening.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { parse } from 'yaml';
import { afterAll, describe, expect, it } from 'vitest';

const UNITS = ['systemd/storegw.service', 'systemd/storegw-bridge.service', 'systemd/storegw-kiosk.service', 'systemd/storegw-hq-ingest.service', 'systemd/storegw-hq-chain.service'];
// The Node the gateway and bridge units run: the pinned one `make deps` puts under .tools/node24.
const NODE = '/opt/storegw/.tools/node24/bin/node';

// systemd-analyze verify also checks that each Exec command exists and is executable. The units name
// their install folder /opt/storegw; verifying a copy that names this checkout instead checks them
// against what `make deps` really provides here (the Node binary at the path the units expect).
const checkoutUnits = mkdtempSync(join(tmpdir(), 'storegw-units-'));
afterAll(() => rmSync(checkoutUnits, { recursive: true, force: true }));

function verify(file: string): { status: number | null; output: string } {
  const copy = join(checkoutUnits, basename(file));
  writeFileSync(copy, readFileSync(file, 'utf8').replaceAll('/opt/storegw/', `${process.cwd()}/`));
  const r = spawnSync('systemd-analyze', ['verify', '--man=no', copy], { encoding: 'utf8' });
  return { status: r.status, output: `${r.stdout}${r.stderr}`.trim() };
}

describe('systemd units', () => {
  for (const unit of UNITS) {
    it(`${unit} passes systemd-analyze verify with no warning`, () => {
      expect(verify(unit)).toEqual({ status: 0, output: '' });
    });
  }

  it('would catch a broken unit (the check itself can fail)', () => {
    const bad = verify('test/integration/systemd/fixtures/broken.service');
    expect(bad.output).toMatch(/Unknown key|Failed to parse/);
  });

  it('runs the gateway and the bridge with the pinned Node 24 that built their native addons, not a system Node', () => {
    for (const unit of ['systemd/storegw.service', 'systemd/storegw-bridge.service']) {
      const execs = [...readFileSync(unit, 'utf8').matchAll(/^ExecStart(?:Pre)?=(\S+)/gm)].map((m) => m[1]);
      expect(execs.length, unit).toBeGreaterThan(0);
      for (const exec of execs) expect(exec, unit).toBe(NODE);
    }
    // The path the units name is where the Makefile installs that Node, and it is Node 24.
    expect(readFileSync('Makefile', 'utf8')).toMatch(/^NODE_HOME := \$\(CURDIR\)\/\.tools\/node24$/m);
    const r = spawnSync(NODE.replace('/opt/storegw/', ''), ['-v'], { encoding: 'utf8' });
    expect(r.stdout.trim()).toMatch(/^v24\./);
  });

  it('supervises the gateway and the bridge: notify + watchdog, restart on failure, a dedicated user, hardening', () => {
    for (const unit of ['systemd/storegw.service', 'systemd/storegw-bridge.service']) {
      const text = readFileSync(unit, 'utf8');
      for (const line of ['Type=notify', 'Restart=on-failure', 'NoNewPrivileges=true', 'ProtectSystem=strict', 'StandardOutput=journal']) expect(text, `${unit}: ${line}`).toContain(line);
      expect(text).toMatch(/^WatchdogSec=\d+/m);
      expect(text).toMatch(/^User=storegw/m);
    }
    expect(readFileSync('systemd/storegw.service', 'utf8')).toContain('ReadWritePaths=/var/lib/storegw');
    // Files the services write (databases, logs of the bridge) are the service user's only.
    for (const unit of UNITS) expect(readFileSync(unit, 'utf8'), unit).toMatch(/^UMask=0077$/m);
    // A refused config (exit 2) is not restarted in a loop.
    for (const unit of ['systemd/storegw.service', 'systemd/storegw-bridge.service']) expect(readFileSync(unit, 'utf8'), unit).toMatch(/^RestartPreventExitStatus=2$/m);
    expect(readFileSync('systemd/storegw.service', 'utf8')).toMatch(/^StateDirectoryMode=0700$/m);
    expect(readFileSync('systemd/storegw-bridge.service', 'utf8')).toMatch(/^SupplementaryGroups=.*dialout/m);
  });

  it('lets the bridge open on-board serial ports (ttyS, ttyAMA) besides USB ones, and every port the example config names', () => {
    const text = readFileSync('systemd/storegw-bridge.service', 'utf8');
    const allowed = [...text.matchAll(/^DeviceAllow=char-(\S+) rw$/gm)].map((m) => m[1]);
    for (const group of ['ttyUSB', 'ttyACM', 'ttyS', 'ttyAMA', 'hidraw', 'gpiochip']) expect(allowed, group).toContain(group);
    // /dev/ttyS1 is device group ttyS (the kernel's name in /proc/devices); by-id links point at ttyUSB/ttyACM.
    const example = parse(readFileSync('config/bridge-example.yaml', 'utf8')) as { devices: { serial?: { path: string } }[] };
    const ports = example.devices.flatMap((d) => (d.serial ? [d.serial.path] : [])).filter((p) => /^\/dev\/tty/.test(p));
    expect(ports.length).toBeGreaterThan(0);
    for (const port of ports) expect(allowed, port).toContain(port.replace(/^\/dev\//, '').replace(/\d+$/, ''));
  });

  it('starts the kiosk browser through the launcher, with the id and token from a root-only file, never on the command line', () => {
    const text = readFileSync('systemd/storegw-kiosk.service', 'utf8');
    expect(text).toMatch(/^EnvironmentFile=-\/etc\/storegw\/kiosk\.env$/m);
    expect(text).toMatch(/^RuntimeDirectory=storegw-kiosk$/m);
    expect(text).toMatch(/^RuntimeDirectoryMode=0700$/m);
    const exec = /^ExecStart=(.*)$/m.exec(text)![1].split(' ');
    expect(exec.slice(0, 3)).toEqual(['/bin/sh', '/opt/storegw/systemd/storegw-kiosk-launch.sh', '/usr/bin/chromium']);
    expect(exec).toContain('--kiosk');
    // The launcher appends the page itself: no address, fragment or token in the unit.
    expect(exec.filter((a) => /https?:|#|token/i.test(a))).toEqual([]);
    expect(text).not.toMatch(/^Environment=.*KIOSK_TOKEN/m);
    // The launcher the unit runs ships in the repository (installed under /opt/storegw).
    expect(existsSync(exec[1].replace('/opt/storegw/', ''))).toBe(true);
    expect(text).toMatch(/^RestartPreventExitStatus=2$/m);
  });
});
