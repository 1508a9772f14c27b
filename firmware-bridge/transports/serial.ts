/**
 * A serial port (or a pty) as a ByteTransport, through the `serialport` package. Every `open()`
 * creates a fresh SerialPort, so a port that vanished (USB unplug) can be opened again on the same
 * path once it is back.
 */
import { EventEmitter } from 'node:events';
import { realpath } from 'node:fs/promises';
import { SerialPort } from 'serialport';
import type { ByteTransport, ByteTransportEvents } from './transport.js';

export interface SerialOptions {
  path: string;
  baudRate?: number;
  dataBits?: 5 | 6 | 7 | 8;
  parity?: 'none' | 'even' | 'odd' | 'mark' | 'space';
  stopBits?: 1 | 1.5 | 2;
  /** Software flow control (MT-SICS factory setting on some balances; devices/mtsics/README.md §Link). */
  xon?: boolean;
  rtscts?: boolean;
  /**
   * How often to check that the device path still leads to the opened device (default 1000 ms; 0
   * turns it off). A port that is only read from may not notice a hang-up (seen with ptys), but its
   * node vanishes or is replaced on unplug and replug.
   */
  presenceCheckMs?: number;
}

export function assertSerialOptions(o: SerialOptions): void {
  if (typeof o.path !== 'string' || o.path.length === 0) throw new TypeError('serial.path: must be a non-empty string');
  if (o.baudRate !== undefined && (!Number.isInteger(o.baudRate) || o.baudRate <= 0)) {
    throw new TypeError('serial.baudRate: must be a positive integer');
  }
}

export class SerialTransport extends EventEmitter<ByteTransportEvents> implements ByteTransport {
  private port: SerialPort | null = null;
  private presence: NodeJS.Timeout | null = null;
  private vanished: Error | null = null;

  constructor(private readonly options: SerialOptions) {
    super();
    assertSerialOptions(options);
  }

  get name(): string {
    return this.options.path;
  }

  get isOpen(): boolean {
    return this.port?.isOpen ?? false;
  }

  async open(): Promise<void> {
    if (this.port) return;
    const o = this.options;
    const port = new SerialPort({
      path: o.path,
      baudRate: o.baudRate ?? 9600,
      dataBits: o.dataBits ?? 8,
      parity: o.parity ?? 'none',
      stopBits: o.stopBits ?? 1,
      xon: o.xon ?? false,
      xoff: o.xon ?? false,
      rtscts: o.rtscts ?? false,
      autoOpen: false,
    });
    await new Promise<void>((resolve, reject) => port.open((err) => (err ? reject(err) : resolve())));
    this.port = port;
    this.vanished = null;
    port.on('data', (chunk: Buffer) => this.emit('data', chunk));
    port.on('error', (err: Error) => this.emit('error', err));
    port.on('close', (err?: Error | null) => {
      if (this.port === port) this.port = null;
      this.stopPresence();
      this.emit('close', err ?? this.vanished ?? undefined);
    });
    await this.startPresence(port);
  }

  private async startPresence(port: SerialPort): Promise<void> {
    const every = this.options.presenceCheckMs ?? 1000;
    if (every <= 0) return;
    const device = await realpath(this.options.path).catch(() => null);
    if (device === null) return;
    this.presence = setInterval(() => {
      realpath(this.options.path).then(
        (now) => (now === device ? undefined : this.lose(port, `${this.options.path} now leads to ${now}`)),
        () => this.lose(port, `${this.options.path} vanished`),
      );
    }, every);
  }

  private stopPresence(): void {
    if (this.presence) clearInterval(this.presence);
    this.presence = null;
  }

  private lose(port: SerialPort, why: string): void {
    if (this.port !== port || !port.isOpen) return;
    this.vanished = Object.assign(new Error(why), { disconnected: true });
    port.close(() => undefined);
  }

  async close(): Promise<void> {
    const port = this.port;
    this.stopPresence();
    if (!port) return;
    this.port = null;
    // Closed on purpose, and its owner has stopped listening: a write still in flight may fail now
    // (EIO when the far end of a pty went at the same moment, as on Ctrl-C), and serialport emits
    // that as 'error' too, which with no listener would end the process.
    port.removeAllListeners('error');
    port.on('error', () => undefined);
    if (!port.isOpen) return;
    await new Promise<void>((resolve) => port.close(() => resolve()));
  }

  async write(data: Buffer): Promise<void> {
    const port = this.port;
    if (!port || !port.isOpen) throw new Error(`${this.name}: port is not open`);
    await new Promise<void>((resolve, reject) => {
      port.write(data, (err) => (err ? reject(err) : resolve()));
    });
  }
}
