/**
 * Does the desktop read this HID scanner as a keyboard?
 *
 * A scanner in keyboard mode is also a keyboard to the kernel: next to the hidraw node the bridge
 * reads, it has an evdev node (/dev/input/eventN) that the X server or the Wayland compositor reads,
 * so each scan is typed into whatever field of the kiosk page has the focus (a member code field
 * would get a barcode). The bridge does not grab that node (EVIOCGRAB needs an ioctl, which Node
 * cannot make without a native addon); the udev rules of `storegw-bridge udev-rules` take the node
 * away from the desktop instead (README, "Installing on the store box"). This looks, read-only,
 * whether that worked: through sysfs from the hidraw node to its event nodes, and in udev's
 * database for the properties the desktop input stack goes by.
 *   - X server (udev hot-plug) and libinput's udev backend add only devices with ID_INPUT=1;
 *   - libinput skips a device with LIBINPUT_IGNORE_DEVICE set to anything but "0".
 * Paths are injected so tests build a fake /sys and /run/udev/data.
 */
import { readFile, readdir } from 'node:fs/promises';
import path from 'node:path';

export interface InputRoots {
  /** sysfs, normally /sys. */
  sys: string;
  /** udev's device database, normally /run/udev/data. */
  udevData: string;
}
export const SYSTEM_ROOTS: InputRoots = { sys: '/sys', udevData: '/run/udev/data' };

export interface HidMatch {
  /** /dev/hidrawN */
  path?: string;
  vendorId?: number;
  productId?: number;
}

async function list(dir: string): Promise<string[]> {
  try {
    return await readdir(dir);
  } catch {
    return [];
  }
}

async function read(file: string): Promise<string | null> {
  try {
    return await readFile(file, 'utf8');
  } catch {
    return null;
  }
}

/** `HID_ID=0003:000005E0:00001200` of a HID device's uevent: bus, vendor, product. */
export function parseHidId(uevent: string): { vendorId: number; productId: number } | null {
  const m = /^HID_ID=([0-9A-Fa-f]+):([0-9A-Fa-f]+):([0-9A-Fa-f]+)$/m.exec(uevent);
  return m ? { vendorId: parseInt(m[2], 16), productId: parseInt(m[3], 16) } : null;
}

/** The `E:KEY=value` properties of a udev database entry. */
export function parseUdevProperties(text: string): Map<string, string> {
  const props = new Map<string, string>();
  for (const line of text.split('\n')) {
    if (!line.startsWith('E:')) continue;
    const eq = line.indexOf('=');
    if (eq > 2) props.set(line.slice(2, eq), line.slice(eq + 1));
  }
  return props;
}

/** Whether the desktop takes an input node with these udev properties as a keyboard. */
export function isDesktopKeyboard(props: Map<string, string>): boolean {
  const keyboard = props.get('ID_INPUT_KEYBOARD') === '1' || props.get('ID_INPUT_KEY') === '1';
  const ignored = (props.get('LIBINPUT_IGNORE_DEVICE') ?? '0') !== '0';
  return props.get('ID_INPUT') === '1' && keyboard && !ignored;
}

/**
 * The event nodes (`/dev/input/event5`) of the matching HID devices that the desktop reads as a
 * keyboard. Empty when the rules are in place, when the device has no keyboard interface, or when
 * nothing can be told (no sysfs, no udev database).
 */
export async function desktopKeyboards(match: HidMatch, roots: InputRoots = SYSTEM_ROOTS): Promise<string[]> {
  const out: string[] = [];
  const hidrawDir = path.join(roots.sys, 'class', 'hidraw');
  for (const node of (await list(hidrawDir)).sort()) {
    const device = path.join(hidrawDir, node, 'device');
    if (match.path) {
      if (path.basename(match.path) !== node) continue;
    } else {
      const id = parseHidId((await read(path.join(device, 'uevent'))) ?? '');
      if (!id || id.vendorId !== match.vendorId || id.productId !== match.productId) continue;
    }
    for (const input of (await list(path.join(device, 'input'))).sort()) {
      for (const ev of (await list(path.join(device, 'input', input))).filter((e) => /^event\d+$/.test(e)).sort()) {
        const dev = (await read(path.join(device, 'input', input, ev, 'dev')))?.trim();
        if (!dev || !/^\d+:\d+$/.test(dev)) continue;
        const db = await read(path.join(roots.udevData, `c${dev}`));
        if (db !== null && isDesktopKeyboard(parseUdevProperties(db))) out.push(`/dev/input/${ev}`);
      }
    }
  }
  return out;
}
