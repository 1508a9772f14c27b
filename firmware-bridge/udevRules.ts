/**
 * udev rules for the bridge's HID scanners, written from its config by
 * `storegw-bridge udev-rules FILE` into /etc/udev/rules.d/70-storegw-scanners.rules. Pure: config in,
 * text or errors out.
 *
 * Per scanner (matched by USB vendor and product id):
 *  1. its hidraw node belongs to group plugdev, mode 0660: the bridge (SupplementaryGroups=plugdev in
 *     its unit) reads the scans there, nobody else;
 *  2. its keyboard interface is no input device for the desktop: ID_INPUT and the keyboard flags
 *     are cleared (the X server's udev hot-plug and libinput's udev backend add only ID_INPUT=1
 *     devices) and LIBINPUT_IGNORE_DEVICE=1 is set (libinput skips it however it is added, X with
 *     xf86-input-libinput and Wayland compositors alike). So a scan is never typed into the kiosk
 *     page's focused field.
 *
 * Why rules and not a grab: EVIOCGRAB on /dev/input/eventN (exclusive access while the fd is open)
 * needs an ioctl, which Node cannot make without a native addon, and it only holds while the bridge
 * runs: during a restart the scanner would type into the page again. Reading the scanner over
 * libusb instead (node-hid's other backend detaches the kernel driver, so no keyboard exists at all)
 * is a process-wide switch for every HID device of the bridge, needs raw USB device access in the
 * unit, and can leave the scanner detached after a crash. The rules hide the keyboard from the desktop
 * whether or not the bridge runs, need no new code on the box, and the bridge checks at every open
 * that they took effect (transports/hidInputNodes.ts). What they do not cover: the text console
 * while no desktop runs on it, and programs that read /dev/input as root.
 *
 * udev runs rules files in name order: 60-input-id.rules sets ID_INPUT, this 70- file then clears it,
 * and libinput's own 80-/90- rules do not touch these properties.
 */
import type { BridgeConfig } from './config.js';

export const RULES_FILE = '/etc/udev/rules.d/70-storegw-scanners.rules';

export type UdevRulesResult = { ok: true; text: string } | { ok: false; errors: string[] };

const hex4 = (n: number) => n.toString(16).padStart(4, '0');

/** The rules for every hidScanner of `config`; `source` names the config file in the header. */
export function scannerUdevRules(config: Readonly<BridgeConfig>, source: string): UdevRulesResult {
  const errors: string[] = [];
  const byUsbId = new Map<string, string[]>();
  config.devices.forEach((d, i) => {
    if (d.protocol !== 'hidScanner') return;
    const h = d.hid;
    if (!h || h.vendorId === undefined || h.productId === undefined) {
      errors.push(`devices[${i}].hid: udev rules match a scanner by vendorId and productId (give both; a /dev/hidrawN path changes with plug order and names no device for udev)`);
      return;
    }
    const key = `${hex4(h.vendorId)}:${hex4(h.productId)}`;
    byUsbId.set(key, [...(byUsbId.get(key) ?? []), `${d.id} (${String((d.options as { mode?: string } | undefined)?.mode ?? 'keyboard')} mode)`]);
  });
  if (errors.length > 0) return { ok: false, errors };
  const lines = [
    `# storegw-bridge: its HID scanners, written by \`storegw-bridge udev-rules ${source}\`.`,
    `# Install as ${RULES_FILE}, then: udevadm control --reload && udevadm trigger`,
    '# Per scanner: its hidraw node for the bridge only (group plugdev), and no keyboard for the desktop',
    '# (X server, libinput), so a scan never types into the kiosk page.',
  ];
  if (byUsbId.size === 0) lines.push('# (no hidScanner in this config)');
  for (const [key, ids] of byUsbId) {
    const [vid, pid] = key.split(':');
    const match = `ATTRS{idVendor}=="${vid}", ATTRS{idProduct}=="${pid}"`;
    lines.push(
      '',
      `# ${ids.join(', ')}: USB ${key}`,
      `SUBSYSTEM=="hidraw", ${match}, GROUP="plugdev", MODE="0660"`,
      `SUBSYSTEM=="input", ${match}, ENV{ID_INPUT}="", ENV{ID_INPUT_KEY}="", ENV{ID_INPUT_KEYBOARD}="", ENV{LIBINPUT_IGNORE_DEVICE}="1"`,
    );
  }
  return { ok: true, text: `${lines.join('\n')}\n` };
}
