/**
 * The scanners' udev rules: written from the bridge config, matched by USB id, and the
 * properties they set are exactly what makes the desktop (X server, libinput) leave the keyboard
 * alone, as the bridge's own check reads them.
 */
import { describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { parseBridgeConfig, type BridgeConfig } from '../../../firmware-bridge/config.js';
import { scannerUdevRules } from '../../../firmware-bridge/udevRules.js';
import { isDesktopKeyboard } from '../../../firmware-bridge/transports/hidInputNodes.js';

function config(devices: unknown[]): Readonly<BridgeConfig> {
  const r = parseBridgeConfig(stringify({ mqtt: { url: 'mqtt://127.0.0.1:1883', username: 'bridge/kb', password: 'demo-bridge-secret' }, devices }));
  if (!r.ok) throw new Error(r.errors.join('; '));
  return r.config;
}

const scanner = (id: string, hid: Record<string, unknown>, mode = 'keyboard') => ({ kind: 'scanner', id, protocol: 'hidScanner', hid, options: { mode } });

/** Applies the ENV{…}="…" assignments of the rule lines that match `subsystem` to udev properties. */
function apply(rules: string, subsystem: string, props: Map<string, string>): Map<string, string> {
  const out = new Map(props);
  for (const line of rules.split('\n').filter((l) => l.startsWith(`SUBSYSTEM=="${subsystem}"`))) {
    for (const [, key, value] of line.matchAll(/ENV\{(\w+)\}="([^"]*)"/g)) {
      if (value === '') out.delete(key);
      else out.set(key, value);
    }
  }
  return out;
}

describe('scannerUdevRules', () => {
  it('gives each scanner its hidraw node for the bridge and takes its keyboard from the desktop', () => {
    const r = scannerUdevRules(config([scanner('k1-scanner', { vendorId: 0x05e0, productId: 0x1200 }), { kind: 'scale', id: 's', protocol: 'mtsics', serial: { path: '/dev/ttyS0' } }]), '/etc/storegw/bridge.yaml');
    expect(r.ok).toBe(true);
    const text = (r as { text: string }).text;
    const rules = text.split('\n').filter((l) => l && !l.startsWith('#'));
    expect(rules).toEqual([
      'SUBSYSTEM=="hidraw", ATTRS{idVendor}=="05e0", ATTRS{idProduct}=="1200", GROUP="plugdev", MODE="0660"',
      'SUBSYSTEM=="input", ATTRS{idVendor}=="05e0", ATTRS{idProduct}=="1200", ENV{ID_INPUT}="", ENV{ID_INPUT_KEY}="", ENV{ID_INPUT_KEYBOARD}="", ENV{LIBINPUT_IGNORE_DEVICE}="1"',
    ]);
    expect(text).toContain('# k1-scanner (keyboard mode): USB 05e0:1200');
    expect(text).toContain('storegw-bridge udev-rules /etc/storegw/bridge.yaml');
    // What input_id gives a USB keyboard-wedge scanner, before and after the rules.
    const asKeyboard = new Map([['ID_INPUT', '1'], ['ID_INPUT_KEY', '1'], ['ID_INPUT_KEYBOARD', '1'], ['ID_BUS', 'usb']]);
    expect(isDesktopKeyboard(asKeyboard)).toBe(true);
    expect(isDesktopKeyboard(apply(text, 'input', asKeyboard))).toBe(false);
    expect(apply(text, 'input', asKeyboard).get('LIBINPUT_IGNORE_DEVICE')).toBe('1');
    expect(apply(text, 'input', asKeyboard).has('ID_INPUT')).toBe(false);
  });

  it('writes one block for two scanners of one model, and says so when there is none', () => {
    const two = scannerUdevRules(config([scanner('a', { vendorId: 0x0c2e, productId: 0x0b61 }), scanner('b', { vendorId: 0x0c2e, productId: 0x0b61 }, 'pos')]), 'f');
    expect(two.ok && two.text.match(/^SUBSYSTEM=="input"/gm)).toHaveLength(1);
    expect(two.ok && two.text).toContain('# a (keyboard mode), b (pos mode): USB 0c2e:0b61');
    const none = scannerUdevRules(config([{ kind: 'scale', id: 's', protocol: 'mtsics', serial: { path: '/dev/ttyS0' } }]), 'f');
    expect(none.ok && none.text).toContain('# (no hidScanner in this config)');
    expect(none.ok && none.text).not.toMatch(/^SUBSYSTEM/m);
  });

  it('refuses a scanner given by hidraw path only, naming the field', () => {
    const r = scannerUdevRules(config([scanner('k1-scanner', { vendorId: 0x05e0, productId: 0x1200 }), scanner('k2-scanner', { path: '/dev/hidraw3' })]), 'f');
    expect(r).toEqual({ ok: false, errors: [expect.stringMatching(/^devices\[1\]\.hid: udev rules match a scanner by vendorId and productId/)] });
  });
});
