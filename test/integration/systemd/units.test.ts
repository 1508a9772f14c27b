/**
 * The unit files an installer copies to a real box (issue 9): `systemd-analyze verify` accepts them
 * without a single warning, and they carry the promised supervision and hardening.
 */
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';

const UNITS = ['systemd/storegw.service', 'systemd/storegw-bridge.service', 'systemd/storegw-kiosk.service'];

function verify(file: string): { status: number | null; output: string } {
  const r = spawnSync('systemd-analyze', ['verify', '--man=no', file], { encoding: 'utf8' });
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
});
