/**
 * The bridge's check that the desktop does not read a scanner as a keyboard, against a
 * fake /sys and /run/udev/data laid out as the kernel and udev lay them out for a USB keyboard-wedge
 * scanner (hidraw node, HID device, input device, event node, udev database entry).
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { desktopKeyboards, parseHidId, type InputRoots } from '../../../../firmware-bridge/transports/hidInputNodes.js';
import { tempDir } from '../../../helpers/tmp.js';

const tmp = tempDir('sgw-hid-sysfs-');
afterAll(() => tmp.remove());

const KEYBOARD = ['E:ID_INPUT=1', 'E:ID_INPUT_KEY=1', 'E:ID_INPUT_KEYBOARD=1', 'E:ID_BUS=usb'];
const HIDDEN = ['E:ID_BUS=usb', 'E:LIBINPUT_IGNORE_DEVICE=1'];

/** One HID device: /sys/class/hidraw/<hidraw>/device/{uevent,input/inputN/eventN/dev} and its udev entry. */
function device(roots: InputRoots, o: { hidraw: string; hidId: string; event?: number; props?: string[] }): void {
  const dev = path.join(roots.sys, 'class', 'hidraw', o.hidraw, 'device');
  mkdirSync(dev, { recursive: true });
  writeFileSync(path.join(dev, 'uevent'), `DRIVER=hid-generic\nHID_ID=${o.hidId}\nHID_NAME=Scanner\n`);
  if (o.event === undefined) return;
  const ev = path.join(dev, 'input', `input${o.event}`, `event${o.event}`);
  mkdirSync(ev, { recursive: true });
  writeFileSync(path.join(ev, 'dev'), `13:${64 + o.event}\n`);
  mkdirSync(roots.udevData, { recursive: true });
  if (o.props) writeFileSync(path.join(roots.udevData, `c13:${64 + o.event}`), `S:input/by-id/usb-scanner-event-kbd\n${o.props.join('\n')}\nG:seat\n`);
}

function roots(name: string): InputRoots {
  return { sys: path.join(tmp.dir, name, 'sys'), udevData: path.join(tmp.dir, name, 'udev') };
}

describe('desktopKeyboards', () => {
  it('reads the USB id of a HID device', () => {
    expect(parseHidId('HID_ID=0003:000005E0:00001200\n')).toEqual({ vendorId: 0x05e0, productId: 0x1200 });
    expect(parseHidId('DRIVER=x\n')).toBeNull();
  });

  it('names the event node of a scanner the desktop still reads as a keyboard; nothing once the rules are in', async () => {
    const before = roots('before');
    device(before, { hidraw: 'hidraw0', hidId: '0003:000005E0:00001200', event: 5, props: KEYBOARD });
    device(before, { hidraw: 'hidraw1', hidId: '0003:0000046D:0000C52B', event: 6, props: KEYBOARD }); // the shop's real keyboard
    expect(await desktopKeyboards({ vendorId: 0x05e0, productId: 0x1200 }, before)).toEqual(['/dev/input/event5']);
    expect(await desktopKeyboards({ path: '/dev/hidraw0' }, before)).toEqual(['/dev/input/event5']);
    const after = roots('after');
    device(after, { hidraw: 'hidraw0', hidId: '0003:000005E0:00001200', event: 5, props: HIDDEN });
    expect(await desktopKeyboards({ vendorId: 0x05e0, productId: 0x1200 }, after)).toEqual([]);
  });

  it('says nothing it cannot tell: a POS-mode scanner without a keyboard, no udev database, no sysfs', async () => {
    const pos = roots('pos');
    device(pos, { hidraw: 'hidraw0', hidId: '0003:000005E0:00001200' });
    expect(await desktopKeyboards({ vendorId: 0x05e0, productId: 0x1200 }, pos)).toEqual([]);
    const noDb = roots('nodb');
    device(noDb, { hidraw: 'hidraw0', hidId: '0003:000005E0:00001200', event: 5 });
    expect(await desktopKeyboards({ vendorId: 0x05e0, productId: 0x1200 }, noDb)).toEqual([]);
    expect(await desktopKeyboards({ vendorId: 1, productId: 2 }, roots('nothing'))).toEqual([]);
  });
});
