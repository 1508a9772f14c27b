import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { pino } from 'pino';
import { stringify } from 'yaml';
import { parseBridgeConfig, type BridgeConfig } from '../../../firmware-bridge/config.js';
import { createDrivers, type Transports } from '../../../firmware-bridge/driverFactory.js';
import { MemoryByteTransport, MemoryGpioInput, MemoryGpioOutput, MemoryHidTransport } from '../../../firmware-bridge/transports/memory.js';
import type { SerialOptions } from '../../../firmware-bridge/transports/serial.js';
import type { HidOptions } from '../../../firmware-bridge/transports/hid.js';

function config(devices: unknown[]): Readonly<BridgeConfig> {
  const r = parseBridgeConfig(stringify({ mqtt: { url: 'mqtt://127.0.0.1:1883', username: 'bridge/kb', password: 'p' }, devices }));
  if (!r.ok) throw new Error(r.errors.join('; '));
  return r.config;
}

/** Memory transports that remember what each device asked for. */
function recording() {
  const asked: { serial: [SerialOptions, string][]; hid: [HidOptions, string][]; gpioIn: [number, boolean][]; gpioOut: [number, boolean][] } = { serial: [], hid: [], gpioIn: [], gpioOut: [] };
  const ports = new Map<string, MemoryByteTransport>();
  const outs = new Map<number, MemoryGpioOutput>();
  const t: Transports = {
    serial: (o, id) => {
      asked.serial.push([o, id]);
      const p = new MemoryByteTransport(o.path);
      ports.set(id, p);
      return p;
    },
    hid: (o, id) => {
      asked.hid.push([o, id]);
      return new MemoryHidTransport();
    },
    gpioIn: (line, activeLow) => {
      asked.gpioIn.push([line, activeLow]);
      return new MemoryGpioInput(`gpio${line}`);
    },
    gpioOut: (line, activeLow) => {
      asked.gpioOut.push([line, activeLow]);
      const o = new MemoryGpioOutput(`gpio${line}`);
      outs.set(line, o);
      return o;
    },
    tcp: (o, id) => {
      const p = new MemoryByteTransport(`tcp://${o.host}:${o.port}`);
      ports.set(id, p);
      return p;
    },
  };
  return { t, asked, ports, outs };
}

const logger = pino({ level: 'silent' });

describe('driver factory: devices as data', () => {
  it('builds each protocol on the transport its config entry names, in config order', async () => {
    const c = config([
      { kind: 'scale', id: 's1', protocol: 'mtsics', serial: { path: '/dev/ttyUSB0', baudRate: 4800, parity: 'even', dataBits: 7 }, options: { mode: 'stream', model: 'Ariva' } },
      { kind: 'scale', id: 's2', protocol: 'toledoContinuous', serial: { path: '/dev/ttyS1' } },
      { kind: 'rfid', id: 'r1', protocol: 'chafon', serial: { path: '/dev/ttyUSB1', baudRate: 57600 }, options: { antennas: [2], autoStart: true } },
      { kind: 'scanner', id: 'h1', protocol: 'hidScanner', hid: { path: '/dev/hidraw3' }, options: { mode: 'pos' } },
      { kind: 'footfall', id: 'f1', protocol: 'beams', gpio: { beamA: 17, beamB: 27, activeLow: true } },
      { kind: 'light', id: 'l1', protocol: 'lightTower', gpio: { green: 5, amber: 6, red: 13 } },
    ]);
    const { t, asked, ports, outs } = recording();
    const drivers = createDrivers(c, { transports: t, logger });
    expect(drivers.map((d) => `${d.kind}/${d.id}`)).toEqual(['scale/s1', 'scale/s2', 'rfid/r1', 'scanner/h1', 'footfall/f1', 'light/l1']);
    expect(asked.serial.map(([o, id]) => [id, o.path, o.baudRate, o.parity, o.dataBits])).toEqual([
      ['s1', '/dev/ttyUSB0', 4800, 'even', 7],
      ['s2', '/dev/ttyS1', 9600, 'none', 8],
      ['r1', '/dev/ttyUSB1', 57600, 'none', 8],
    ]);
    expect(asked.hid).toEqual([[{ path: '/dev/hidraw3', vendorId: undefined, productId: undefined }, 'h1']]);
    expect(asked.gpioIn).toEqual([
      [17, true],
      [27, true],
    ]);
    expect(asked.gpioOut.map(([l]) => l)).toEqual([5, 6, 13]);
    expect(drivers[0].birth().model).toBe('Ariva');
    expect(drivers[3].birth().model).toBe('HID scanner (pos)');

    // The options reach the drivers: MT-SICS in stream mode sends SIR on open; the Chafon reader
    // starts inventory by itself on antenna 2 (UHFReader288M: antenna byte 0x80 + index).
    for (const d of drivers) await d.start();
    await new Promise((r) => setImmediate(r));
    expect(Buffer.concat(ports.get('s1')!.written).toString('latin1')).toBe('SIR\r\n');
    const inv = ports.get('r1')!.written[0];
    expect(inv[2]).toBe(0x01); // inventory command
    expect(inv[inv.length - 4]).toBe(0x81); // …, antenna, scanTime, CRC lo, CRC hi
    expect(drivers.every((d) => d.online)).toBe(true);
    expect(await drivers[5].command('set', { cmdId: 'c', color: 'green', mode: 'steady' })).toEqual({ ok: true });
    expect(outs.get(5)!.value).toBe(1);
    for (const d of [...drivers].reverse()) await d.stop();
  });

  it('config parsing never throws, whatever the YAML holds', () => {
    fc.assert(
      fc.property(fc.anything(), (x) => {
        const r = parseBridgeConfig((stringify(x) as string | undefined) ?? '');
        expect(typeof r.ok).toBe('boolean');
        if (!r.ok) expect(r.errors.length).toBeGreaterThan(0);
      }),
      { numRuns: 300 },
    );
    fc.assert(
      fc.property(fc.string(), (text) => {
        expect(typeof parseBridgeConfig(text).ok).toBe('boolean');
      }),
      { numRuns: 300 },
    );
  });
});
