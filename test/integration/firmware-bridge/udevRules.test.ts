/**
 * `storegw-bridge udev-rules FILE` as an installer runs it, from the built dist file: the
 * rules shipped in systemd/ are exactly what it writes for config/bridge-example.yaml, and a scanner
 * the rules cannot name is refused with exit 2 and the field.
 */
import { spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { stringify } from 'yaml';
import { afterAll, describe, expect, it } from 'vitest';
import { tempDir } from '../../helpers/tmp.js';

const BIN = path.resolve('dist/storegw-bridge.js');
const tmp = tempDir('sgw-udev-rules-');
afterAll(() => tmp.remove());

const run = (...args: string[]) => spawnSync(process.execPath, [BIN, ...args], { encoding: 'utf8' });

describe('storegw-bridge udev-rules', () => {
  it('writes the rules shipped as systemd/70-storegw-scanners.rules for the example config', () => {
    const r = run('udev-rules', 'config/bridge-example.yaml');
    expect({ status: r.status, stderr: r.stderr }).toEqual({ status: 0, stderr: '' });
    expect(r.stdout).toBe(readFileSync('systemd/70-storegw-scanners.rules', 'utf8'));
    expect(r.stdout).toMatch(/^SUBSYSTEM=="input", ATTRS\{idVendor\}=="05e0", ATTRS\{idProduct\}=="1200", .*ENV\{LIBINPUT_IGNORE_DEVICE\}="1"$/m);
  });

  it('refuses a keyboard scanner known only by its hidraw path (exit 2, the field named); no file, usage', () => {
    const file = path.join(tmp.dir, 'bridge.yaml');
    writeFileSync(
      file,
      stringify({
        mqtt: { url: 'mqtt://127.0.0.1:1883', username: 'bridge/kb', password: 'demo-bridge-secret' },
        devices: [{ kind: 'scanner', id: 'k1-scanner', protocol: 'hidScanner', hid: { path: '/dev/hidraw0' }, options: { mode: 'keyboard' } }],
      }),
    );
    const r = run('udev-rules', file);
    expect(r.status).toBe(2);
    expect(r.stdout).toBe('');
    expect(r.stderr).toMatch(/^devices\[0\]\.hid: udev rules match a scanner by vendorId and productId/);
    const usage = run('udev-rules');
    expect(usage.status).toBe(2);
    expect(usage.stderr).toContain('storegw-bridge udev-rules FILE');
  });
});
