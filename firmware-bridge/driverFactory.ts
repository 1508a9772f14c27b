/**
 * Devices as data (zigbee2mqtt style): a config entry names a protocol and its port; this builds the
 * driver on the transport the entry describes. The transports themselves come from a `Transports`
 * object, so tests and the bench pass memory HID/GPIO transports and the driver path stays real.
 */
import type { Logger } from 'pino';
import type { BridgeConfig, BridgeDeviceConfig } from './config.js';
import type { DeviceDriver } from './devices/deviceDriver.js';
import type { BackoffOptions } from './devices/serialLink.js';
import type { ByteTransport, GpioInput, GpioOutput, HidTransport } from './transports/transport.js';
import type { SerialOptions } from './transports/serial.js';
import type { HidOptions } from './transports/hid.js';
import type { TcpOptions } from './transports/tcp.js';
import { MtsicsDriver, type MtsicsDriverOptions } from './devices/mtsics/driver.js';
import { ToledoDriver, type ToledoDriverOptions } from './devices/toledoContinuous/driver.js';
import { ChafonDriver, type ChafonDriverOptions } from './devices/chafon/driver.js';
import { HidScannerDriver, type HidScannerDriverOptions } from './devices/hidScanner/driver.js';
import { BeamsDriver } from './devices/beams/driver.js';
import type { BeamsConfig } from './devices/beams/codec.js';
import { LightTowerDriver } from './devices/lightTower/driver.js';
import type { FlashSchedule } from './devices/lightTower/codec.js';
import { EscposDriver, type EscposDriverOptions } from './devices/escpos/driver.js';
import { OeplDriver, type OeplDriverOptions } from './devices/oepl/driver.js';
import { ZvtDriver, type ZvtDriverOptions } from './devices/zvt/driver.js';
import { ZvtSerialTransport } from './devices/zvt/serialTransport.js';

/** Where the bytes, reports and edges come from; `deviceId` lets a test hand each device its own. */
export interface Transports {
  serial(o: SerialOptions, deviceId: string): ByteTransport;
  hid(o: HidOptions, deviceId: string): HidTransport;
  gpioIn(line: number, activeLow: boolean, deviceId: string): GpioInput;
  gpioOut(line: number, activeLow: boolean, deviceId: string): GpioOutput;
  tcp(o: TcpOptions, deviceId: string): ByteTransport;
}

/** The real transports (serialport, node-hid, onoff), loaded lazily so nothing native loads at import. */
export async function hardwareTransports(now: () => number): Promise<Transports> {
  const [{ SerialTransport }, { NodeHidTransport }, { OnoffGpioInput, OnoffGpioOutput }, { TcpTransport }] = await Promise.all([
    import('./transports/serial.js'),
    import('./transports/hid.js'),
    import('./transports/gpio.js'),
    import('./transports/tcp.js'),
  ]);
  return {
    serial: (o) => new SerialTransport(o),
    hid: (o) => new NodeHidTransport(o),
    gpioIn: (line, activeLow) => new OnoffGpioInput({ line, activeLow, now }),
    gpioOut: (line, activeLow) => new OnoffGpioOutput({ line, activeLow }),
    tcp: (o) => new TcpTransport(o),
  };
}

export interface DriverContext {
  transports: Transports;
  logger: Logger;
  now?: () => number;
  portBackoff?: BackoffOptions;
}

/** One driver for one config entry (the config was checked: kind, port and options match the protocol). */
export function createDriver(d: Readonly<BridgeDeviceConfig>, ctx: DriverContext): DeviceDriver {
  const base = { id: d.id, logger: ctx.logger, now: ctx.now };
  const o = d.options as Record<string, unknown>;
  const serial = (): ByteTransport => ctx.transports.serial({ ...(d.serial as SerialOptions) }, d.id);
  switch (d.protocol) {
    case 'mtsics':
      return new MtsicsDriver({ ...base, ...(o as Partial<MtsicsDriverOptions>), transport: serial(), backoff: ctx.portBackoff });
    case 'toledoContinuous':
      return new ToledoDriver({ ...base, ...(o as Partial<ToledoDriverOptions>), transport: serial(), backoff: ctx.portBackoff });
    case 'chafon':
      return new ChafonDriver({ ...base, ...(o as Partial<ChafonDriverOptions>), transport: serial(), backoff: ctx.portBackoff });
    case 'hidScanner': {
      const h = d.hid!;
      const transport = ctx.transports.hid({ path: h.path, vendorId: h.vendorId, productId: h.productId }, d.id);
      return new HidScannerDriver({ ...base, ...(o as Partial<HidScannerDriverOptions>), mode: (o.mode as 'keyboard' | 'pos') ?? 'keyboard', transport, backoff: ctx.portBackoff });
    }
    case 'beams': {
      const g = d.gpio!;
      return new BeamsDriver({
        ...base,
        beamA: ctx.transports.gpioIn(g.beamA!, g.activeLow, d.id),
        beamB: ctx.transports.gpioIn(g.beamB!, g.activeLow, d.id),
        config: o as Partial<BeamsConfig>,
      });
    }
    case 'lightTower': {
      const g = d.gpio!;
      return new LightTowerDriver({
        ...base,
        lines: {
          green: ctx.transports.gpioOut(g.green!, g.activeLow, d.id),
          amber: ctx.transports.gpioOut(g.amber!, g.activeLow, d.id),
          red: ctx.transports.gpioOut(g.red!, g.activeLow, d.id),
        },
        flash: o.flash as FlashSchedule | undefined,
      });
    }
    case 'escpos': {
      // A network printer on its raw port, else the serial line.
      const transport = d.tcp ? ctx.transports.tcp({ ...d.tcp }, d.id) : serial();
      return new EscposDriver({ ...base, ...(o as Partial<EscposDriverOptions>), transport, backoff: ctx.portBackoff });
    }
    case 'oepl':
      // An AP on the LAN: its HTTP API through node's fetch, its WebSocket through `ws`.
      return new OeplDriver({ ...base, ...(o as Partial<OeplDriverOptions>), url: d.http!.url });
    case 'zvt': {
      // On RS-232 every APDU travels in a DLE STX … ETX frame with ACK/NAK; on TCP it goes bare.
      const transport = d.tcp
        ? ctx.transports.tcp({ ...d.tcp }, d.id)
        : new ZvtSerialTransport(serial(), { ackTimeoutMs: o.serialAckTimeoutMs as number | undefined });
      return new ZvtDriver({ ...base, ...(o as Partial<ZvtDriverOptions>), stateDir: o.stateDir as string, transport, backoff: ctx.portBackoff });
    }
  }
}

/** Every driver of a config, in config order. */
export function createDrivers(c: Readonly<BridgeConfig>, ctx: DriverContext): DeviceDriver[] {
  return c.devices.map((d) => createDriver(d, { ...ctx, portBackoff: ctx.portBackoff ?? c.portBackoff }));
}
